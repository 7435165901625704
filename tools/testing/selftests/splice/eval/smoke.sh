# SPDX-License-Identifier: GPL-2.0
# The evaluation's smoke workload (guest.sh, klp-guest.sh source this file):
# smoke succeeds when the common paths of the patched kernel still work.
smoke() {
	ls -R /proc/self >/dev/null 2>&1 || return 1
	cat /proc/version /proc/interrupts >/dev/null || return 1
	echo data | cat | cat >/dev/null || return 1
	sh -c 'exit 3'; [ $? -eq 3 ] || return 1
	mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo x >/tmp/m/f &&
		umount /tmp/m || return 1
	# ext4 on a loop device where the kernel has both: mount, a file and a
	# symlink (ext4_get_link), unmount (ext4_put_super).
	if grep -qw ext4 /proc/filesystems && [ -e /dev/loop-control ]; then
		[ -f /tmp/ext4.img ] || { dd if=/dev/zero of=/tmp/ext4.img bs=1k count=2048 2>/dev/null &&
			mke2fs -q /tmp/ext4.img >/dev/null 2>&1; } || return 1
		mount -t ext4 -o loop /tmp/ext4.img /tmp/m && echo x >/tmp/m/f &&
			ln -sf f /tmp/m/l && [ "$(cat /tmp/m/l)" = x ] && umount /tmp/m || return 1
	fi
	unshare -p -f true 2>/dev/null
	cat /sys/kernel/tracing/available_events >/dev/null 2>&1
	return 0
}


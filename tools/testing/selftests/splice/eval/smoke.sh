# SPDX-License-Identifier: GPL-2.0
# The evaluation's smoke workload (guest.sh, klp-guest.sh source this file):
# smoke succeeds when the common paths of the patched kernel still work.
smoke() {
	ls -R /proc/self >/dev/null 2>&1 || return 1
	cat /proc/version /proc/interrupts >/dev/null || return 1
	# /proc/interrupts has its CPU header once, on the first line, whether
	# it is read at once or a few bytes at a time.
	[ "$(head -n 1 /proc/interrupts | grep -c CPU0)" = 1 ] &&
		[ "$(grep -c CPU0 /proc/interrupts)" = 1 ] &&
		[ "$(dd if=/proc/interrupts bs=7 2>/dev/null | grep -c CPU0)" = 1 ] || return 1
	echo data | cat | cat >/dev/null || return 1
	# Paths of fixes no common command takes (splice-probe, probe/).
	splice-probe pipe-fasync >/dev/null || return 1
	if [ -d /proc/sys/fs/inotify ]; then
		splice-probe inotify >/dev/null || return 1
	fi
	if [ -e /proc/net/tcp ]; then
		splice-probe tcp-getsockopt >/dev/null || return 1
	fi
	if [ -e /proc/sys/kernel/io_uring_disabled ]; then
		splice-probe io-uring >/dev/null || return 1
	fi
	sh -c 'exit 3'; [ $? -eq 3 ] || return 1
	mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo x >/tmp/m/f &&
		umount /tmp/m || return 1
	# ext4 on a loop device where the kernel has both: mount, a file, a
	# symlink too long to be stored in the inode (ext4_get_link), unmount
	# (ext4_put_super).
	if grep -qw ext4 /proc/filesystems && [ -e /dev/loop-control ]; then
		local l long=
		while [ ${#long} -lt 80 ]; do long=$long./; done
		dd if=/dev/zero of=/tmp/ext4.img bs=1k count=2048 2>/dev/null &&
			l=$(losetup -f) && losetup "$l" /tmp/ext4.img || return 1
		mke2fs -q "$l" >/dev/null 2>&1 && mount -t ext4 "$l" /tmp/m &&
			echo x >/tmp/m/f && ln -s "${long}f" /tmp/m/l &&
			[ "$(cat /tmp/m/l)" = x ] && umount /tmp/m
		local rc=$?
		grep -q ' /tmp/m ' /proc/mounts && umount /tmp/m
		losetup -d "$l"
		[ $rc -eq 0 ] || return 1
	fi
	# Netlink, where the kernel has it: a request to the kernel's
	# rtnetlink socket, bound at boot, and the same in a new network
	# namespace, whose socket is bound now.
	if [ -e /proc/net/netlink ]; then
		ip link show lo >/dev/null || return 1
		if [ -e /proc/self/ns/net ]; then
			unshare -n ip link show lo >/dev/null || return 1
			# A route with two next hops, where the kernel has them
			# (fib_rebalance()); only to reach that code.
			unshare -n sh -c 'ip link set lo up &&
				ip route add 10.9.9.0/24 nexthop dev lo weight 1 nexthop dev lo weight 2' \
				>/dev/null 2>&1
		fi
	fi
	# A process in a new PID namespace, where the kernel has them: its
	# exit runs the namespace's teardown (zap_pid_ns_processes()).
	if [ -e /proc/self/ns/pid ]; then
		unshare -p -f true || return 1
	fi
	cat /sys/kernel/tracing/available_events >/dev/null 2>&1
	return 0
}


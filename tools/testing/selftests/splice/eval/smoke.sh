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
	unshare -p -f true 2>/dev/null
	cat /sys/kernel/tracing/available_events >/dev/null 2>&1
	return 0
}


#!/bin/sh
# Real fixes from Debian 7.2.12 -> 7.2.13 (../stable/), made by splice-create:
# each pack is loaded, checked against the running kernel, applied, the
# system is exercised (files, pipes, processes, mounts, tracing), and the
# pack is reversed and unloaded.
. "$(dirname "$0")/../lib.sh"
dir=/splice/stable
ls $dir/*.ko >/dev/null 2>&1 || { echo "SKIP: no stable packs"; exit 4; }
exercise() {
	ls -R /proc/self >/dev/null 2>&1
	cat /proc/version /proc/cmdline >/dev/null
	echo data | cat | cat >/dev/null
	sh -c 'exit 3'; [ $? -eq 3 ] || fail "a child's exit status was lost"
	mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo x >/tmp/m/f &&
		umount /tmp/m || fail "mount/umount while applied"
	cat /sys/kernel/tracing/available_events >/dev/null 2>&1
	return 0
}
n=0
for ko in $dir/*.ko; do
	before=$(ls /sys/kernel/splice)
	insmod "$ko" || fail "insmod $ko"
	name=
	for p in $(ls /sys/kernel/splice); do
		echo "$before" | grep -qx "$p" || name=$p
	done
	[ -n "$name" ] || fail "$ko registered no pack"
	d=/sys/kernel/splice/$name
	ko=$ko loaded="$d|$ko $loaded"
	act check
	act apply
	echo "$name: $(cut -d' ' -f1 $d/targets | tr '\n' ' ')"
	exercise
	act reverse
	exercise
	rmmod "$(basename "$ko" .ko)" || fail "rmmod $ko"
	n=$((n + 1))
done
echo "ok: $n real fixes checked, applied and reversed"

#!/bin/sh
# The kernel booted into our initramfs with the expected release and SMP.
release=$(uname -r)
echo "kernel $release, $(grep -c ^processor /proc/cpuinfo) CPUs"
case "$release" in
7.2.*) ;;
*) echo "unexpected kernel release $release"; exit 1 ;;
esac
[ "$(grep -c ^processor /proc/cpuinfo)" -ge 2 ] || { echo "expected at least 2 CPUs"; exit 1; }
# Booted with call depth tracking asked for (check.sh's vm-stuff run), the
# kernel must have taken it: the run is evidence for it only then.
if tr ' ' '\n' </proc/cmdline | grep -qx 'retbleed=stuff'; then
	r=$(cat /sys/devices/system/cpu/vulnerabilities/retbleed 2>&1)
	echo "retbleed: $r"
	case "$r" in
	*Stuffing*) ;;
	*) echo "booted with retbleed=stuff, but the kernel did not take it"; exit 1 ;;
	esac
fi

#!/bin/sh
# The kernel booted into our initramfs with the expected release and SMP.
release=$(uname -r)
echo "kernel $release, $(grep -c ^processor /proc/cpuinfo) CPUs"
case "$release" in
7.2.*) ;;
*) echo "unexpected kernel release $release"; exit 1 ;;
esac
[ "$(grep -c ^processor /proc/cpuinfo)" -ge 2 ] || { echo "expected at least 2 CPUs"; exit 1; }

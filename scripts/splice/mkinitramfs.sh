#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make the initramfs of the splice test VM:
#
#   mkinitramfs.sh OUT.cpio.gz [DIR...]
#
# It holds busybox (static), the /init and guest tests from
# tools/testing/selftests/splice/, and the contents of each DIR copied under
# /splice/ (the CLI in bin/, packs in packs/, sample modules, ...).
. "$(dirname "$0")/lib.sh"

out=$1; shift
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || busybox=/bin/busybox
interp=$(readelf -l "$busybox" 2>/dev/null | grep -c 'program interpreter' || true)
[ "$interp" = 0 ] || die "$busybox is not statically linked (install busybox-static)"

root=$(mktemp -d "$SPLICE_BUILD/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,splice/bin,splice/selftests}
cp "$busybox" "$root/bin/busybox"
sel=$SPLICE_SRC/tools/testing/selftests/splice
cp "$sel/init" "$root/init"
cp -r "$sel/run.sh" "$sel/bench.sh" "$sel/lib.sh" "$sel/trace.sh" "$sel/stress.sh" "$sel/tests" "$sel/eval" "$root/splice/selftests/"
for d in "$@"; do
	[ -d "$d" ] || die "initramfs input $d is not a directory"
	cp -r "$d"/. "$root/splice/"
done
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"

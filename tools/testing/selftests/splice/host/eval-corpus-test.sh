#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# eval-corpus.sh on two made-up source trees and a made-up built tree: a
# changed C file of the kernel is in the corpus, a changed host program
# (built for the build machine, no -D__KERNEL__) is not, and is named.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for v in 7.2.12-1 7.2.13-1; do
	t=$dir/build/sources/tree-$v
	mkdir -p "$t/kernel" "$t/scripts"
	echo "int f(void) { return ${v%%-*}; }" | tr -d . >"$t/kernel/a.c"
	echo "int main(void) { return ${v##*.}; }" >"$t/scripts/host.c"
	touch "$t/.splice-extracted"
done
# The next version's package, for its changelog.
pkg=$dir/pkg
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/doc/linux-source-7.2"
printf 'Package: linux-source-7.2\nVersion: 7.2.13-1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' >"$pkg/DEBIAN/control"
printf 'linux (7.2.13-1) unstable; urgency=medium\n\n  * New upstream stable update:\n    - kernel: fix a\n\nlinux (7.2.12-1) unstable; urgency=medium\n' |
	gzip >"$pkg/usr/share/doc/linux-source-7.2/changelog.Debian.gz"
mkdir -p "$dir/cache/debs"
dpkg-deb --build "$pkg" "$dir/cache/debs/linux-source-7.2_7.2.13-1_all.deb" >/dev/null
# The built tree: a kernel object and a host program's.
kt=$dir/tree
mkdir -p "$kt/kernel" "$kt/scripts"
touch "$kt/kernel/a.o" "$kt/scripts/host.o"
echo 'savedcmd_kernel/a.o := gcc -nostdinc -D__KERNEL__ -c -o kernel/a.o kernel/a.c' >"$kt/kernel/.a.o.cmd"
echo 'savedcmd_scripts/host.o := gcc -O2 -c -o scripts/host.o scripts/host.c' >"$kt/scripts/.host.o.cmd"

out=$(SPLICE_SRC=$src SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache KERNEL_TREE=$kt KERNEL_VERSION=7.2.12 \
	"$src/scripts/splice/eval-corpus.sh" 7.2.12-1 7.2.13-1 "$dir/out" 2>&1)
check "the corpus is made" test -f "$dir/out/corpus.json"
built() { python3 -c "import json,sys; r={x['file']: x['built'] for x in json.load(open(sys.argv[1]))}; print(r.get(sys.argv[2]))" "$dir/out/corpus.json" "$1"; }
check "a changed C file of the kernel is in it" test "$(built kernel/a.c)" = True
check "... with its patch" test -s "$dir/out/patches/kernel-a.diff"
check "a changed host program is not" test "$(built scripts/host.c)" = False
check "... and no patch is made of it" test ! -e "$dir/out/patches/scripts-host.diff"
check "... and it is named as left out" grep -q "left out, as host programs (no -D__KERNEL__): scripts/host.c" <<<"$out"
finish eval-corpus

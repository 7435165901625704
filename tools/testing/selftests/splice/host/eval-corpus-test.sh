#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# eval-corpus.sh on two made-up source trees and a made-up built tree: a
# changed C file of the kernel is in the corpus, a changed host program
# (built for the build machine, no -D__KERNEL__) is not, and is named; a
# changed header named like a file is not glued to its patch (eval.sh adds it
# only if the file does not compile without it); a file that calls a function
# another file's change adds is one patch with it.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for v in 7.2.12-1 7.2.13-1; do
	t=$dir/build/sources/tree-$v
	mkdir -p "$t/kernel" "$t/scripts" "$t/include"
	echo "int f(void) { return ${v%%-*}; }" | tr -d . >"$t/kernel/a.c"
	echo "int main(void) { return ${v##*.}; }" >"$t/scripts/host.c"
	echo "#define A_LIMIT ${v%%-*}" >"$t/include/a.h"
	echo "int h(void) { return ${v%%-*}; }" | tr -d . >"$t/kernel/c.c"
	touch "$t/.splice-extracted"
done
# The fix of a.c adds f2(), which b.c starts calling.
printf 'int f2(int x)\n{\n\treturn x;\n}\n' >>"$dir/build/sources/tree-7.2.13-1/kernel/a.c"
echo 'int g(void) { return 1; }' >"$dir/build/sources/tree-7.2.12-1/kernel/b.c"
echo 'int g(void) { return f2(1); }' >"$dir/build/sources/tree-7.2.13-1/kernel/b.c"
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
touch "$kt/kernel/a.o" "$kt/kernel/b.o" "$kt/kernel/c.o" "$kt/scripts/host.o"
for o in a b c; do
	printf 'savedcmd_kernel/%s.o := gcc -nostdinc -D__KERNEL__ -c -o kernel/%s.o kernel/%s.c\n\ndeps_kernel/%s.o := \\\n  include/a.h \\\n' \
		$o $o $o $o >"$kt/kernel/.$o.o.cmd"
done
echo 'savedcmd_scripts/host.o := gcc -O2 -c -o scripts/host.o scripts/host.c' >"$kt/scripts/.host.o.cmd"

out=$(SPLICE_SRC=$src SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache KERNEL_TREE=$kt KERNEL_VERSION=7.2.12 \
	"$src/scripts/splice/eval-corpus.sh" 7.2.12-1 7.2.13-1 "$dir/out" 2>&1)
check "the corpus is made" test -f "$dir/out/corpus.json"
built() { python3 -c "import json,sys; r={x['file']: x['built'] for x in json.load(open(sys.argv[1]))}; print(r.get(sys.argv[2]))" "$dir/out/corpus.json" "$1"; }
patch_of() { python3 -c "import json,sys; r={x['file']: x for x in json.load(open(sys.argv[1]))}; print(r[sys.argv[2]][sys.argv[3]])" "$dir/out/corpus.json" "$1" "$2"; }
check "a changed C file of the kernel is in it" test "$(built kernel/c.c)" = True
check "... with its patch" test -s "$dir/out/patches/kernel-c.diff"
check "... without the changed header named like a file it includes" \
	bash -c "! grep -q 'include/a.h' '$dir/out/patches/'*.diff"
check "a file calling what another's change adds is one patch with it" \
	test -s "$dir/out/patches/kernel-a__kernel-b.diff"
check "... instead of one each" test ! -e "$dir/out/patches/kernel-a.diff" -a ! -e "$dir/out/patches/kernel-b.diff"
check "... both files in the corpus under it" \
	test "$(patch_of kernel/a.c patch) $(patch_of kernel/b.c patch)" = "kernel-a__kernel-b kernel-a__kernel-b"
check "... saying why" grep -q "kernel-a adds f2(), which kernel-b calls" <<<"$(patch_of kernel/b.c group)"
check "a changed host program is not" test "$(built scripts/host.c)" = False
check "... and no patch is made of it" test ! -e "$dir/out/patches/scripts-host.diff"
check "... and it is named as left out" grep -q "left out, as host programs (no -D__KERNEL__): scripts/host.c" <<<"$out"
finish eval-corpus

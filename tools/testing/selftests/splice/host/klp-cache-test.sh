#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host test of klp.sh's copy of klp-build's original build: one copy, kept in
# the cache (Debian's configuration makes a 17 GB build: a second copy beside
# the cache filled the disk), written with its stamp last, restored after
# each run with this checkout's paths, and taken up by another checkout. The
# builds are stood in for by files; klp_make, which would run make, does
# nothing.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"

# checkout DIR: the variables of a checkout whose build folder is DIR/build,
# sharing the cache $t/cache, then lib.sh and klp.sh. The host's toolchain
# whatever make check runs with (SPLICE_CONFIG=debian's is a build root): the
# tests stand in for the toolchain where it matters.
checkout() {
	SPLICE_BUILD=$1/build SPLICE_CACHE=$t/cache KERNEL_VERSION=7.2.12 \
		KERNEL_TREE=$1/build/linux-7.2.12 SPLICE_TREE_CACHE=1 \
		SPLICE_CONFIG=test SPLICE_TOOLCHAIN=host
	export SPLICE_BUILD SPLICE_CACHE KERNEL_VERSION KERNEL_TREE SPLICE_TREE_CACHE \
		SPLICE_CONFIG SPLICE_TOOLCHAIN
	. "$src/scripts/splice/lib.sh"
	. "$src/scripts/splice/klp.sh"
	klp_make() { :; }
	set +e
}

not() { ! "$@"; }

# A built tree of checkout A, with a .cmd file that names it.
a=$t/a
mkdir -p "$a/build/linux-7.2.12/kernel"
printf 'CONFIG_SPLICE=y\n' >"$a/build/linux-7.2.12/.config"
printf 'savedcmd_kernel/fork.o := gcc -I%s/include\n' "$a/build/klp/linux-7.2.12" \
	>"$a/build/linux-7.2.12/kernel/.fork.o.cmd"
checkout "$a"
klp_prepare >/dev/null 2>&1
check "the first run copies the built tree" test -f "$klp_tree/kernel/.fork.o.cmd"
check "nothing to reuse yet" test "$klp_reuse" = 0

# klp-build built the original kernel: it is kept once, in the cache.
mkdir -p "$klp_tree/klp-tmp/1-orig"
touch "$klp_tree/klp-tmp/1-orig/.complete"
echo "$klp_stamp" >"$klp_tree.stamp"
klp_keep_orig >/dev/null 2>&1
check "the original build is in the cache" test -f "$t/cache/klp/linux-7.2.12/klp-tmp/1-orig/.complete"
check "with its stamp" test "$(cat "$t/cache/klp/linux-7.2.12.stamp")" = "$klp_stamp"
check "and no second copy beside the tree" test ! -e "$klp_tree.orig"

# A run changes the tree; the restore brings back the original build.
echo patched >"$klp_tree/kernel/fork.o"
klp_restore
check "a restore drops what a run left" test ! -e "$klp_tree/kernel/fork.o"
check "and keeps this checkout's paths" grep -qF "$a/build/klp/linux-7.2.12/include" \
	"$klp_tree/kernel/.fork.o.cmd"

# Checkout B takes the original build from the cache, with its own paths.
b=$t/b
mkdir -p "$b/build/linux-7.2.12"
cp "$a/build/linux-7.2.12/.config" "$b/build/linux-7.2.12/.config"
checkout "$b"
klp_prepare >/dev/null 2>&1
check "another checkout reuses the cache" test "$klp_reuse" = 1
check "with its paths" grep -qF "$b/build/klp/linux-7.2.12/include" "$klp_tree/kernel/.fork.o.cmd"
check "without copying it again" test ! -e "$klp_tree.orig"

# klp-build's outcome of a fix is kept beside the original build: another
# checkout on this machine (CI clones one) takes it up as it takes up the
# build, instead of an hour of klp-build runs on Debian's configuration.
printf 'diff of a fix\n' >"$t/kept.diff"
check "no outcome before a run" not klp_kept "$t/kept.diff" "$t/kept.log" "$t/kept.ko"
checkout "$a"
klp_prepare >/dev/null 2>&1
echo "log of the run" >"$t/run.log"
echo "module" >"$t/run.ko"
klp_status=ok klp_secs=261.5 klp_mode=reuse
klp_keep "$t/kept.diff" "$t/run.log" "$t/run.ko"
checkout "$b"
klp_prepare >/dev/null 2>&1
klp_status= klp_secs= klp_mode=
check "another checkout takes up a kept outcome" klp_kept "$t/kept.diff" "$t/kept.log" "$t/kept.ko"
check "with its status, time and mode" test "$klp_status $klp_secs $klp_mode" = "ok 261.5 reuse"
check "its log" grep -qx "log of the run" "$t/kept.log"
check "and its module" grep -qx "module" "$t/kept.ko"
printf 'another fix\n' >"$t/other.diff"
check "not another fix's" not klp_kept "$t/other.diff" "$t/kept.log" "$t/kept.ko"
stamp=$klp_stamp klp_stamp=another-kernel
check "nor on another kernel" not klp_kept "$t/kept.diff" "$t/kept.log" "$t/kept.ko"
klp_stamp=$stamp
# A failed run keeps no module: none is taken up.
rm -f "$t/kept.ko"
klp_status=failed klp_secs=3.2 klp_mode=reuse
klp_keep "$t/other.diff" "$t/run.log" "$t/none.ko"
check "a failure is kept too" klp_kept "$t/other.diff" "$t/kept.log" "$t/kept.ko"
check "without a module" test ! -e "$t/kept.ko"

# An evaluation stopped while klp-build ran (a session's end, ^C) leaves the
# tree patched: the next run starts from the original build again, not from
# what the stopped run left.
mkdir -p "$klp_tree/scripts/livepatch"
printf '#!/bin/sh
echo patched >kernel/fork.o
kill -9 "$(cat %s/pid)"
' "$t" >"$klp_tree/scripts/livepatch/klp-build"
chmod +x "$klp_tree/scripts/livepatch/klp-build"
{ (
	echo "$BASHPID" >"$t/pid"
	TC=()
	kbuild_cc() { :; }
	klp_build "$t/fix.diff" "$t/fix.ko" "$t/klp.log"
) >/dev/null; } 2>/dev/null
check "the stopped run left the tree patched" test -f "$klp_tree/kernel/fork.o"
klp_prepare >/dev/null 2>&1
check "the next run undoes it" test ! -e "$klp_tree/kernel/fork.o"
check "and reuses the original build" test "$klp_reuse" = 1

# A copy cut short (no stamp: the disk filled) is not taken up.
rm -rf "$b/build/klp"
rm "$t/cache/klp/linux-7.2.12.stamp"
klp_prepare >/dev/null 2>&1
check "a copy without its stamp is not reused" test "$klp_reuse" = 0

# klp-build runs with the kernel's toolchain: through the build root's
# command prefix (TC), with the configuration's compiler as make's CC. With
# the host's gcc, Kbuild rebuilt Debian's gcc-16 kernel with gcc 12 and the
# livepatches were for that kernel.
mkdir -p "$klp_tree/scripts/livepatch"
printf '#!/bin/sh
echo "MAKEFLAGS=$MAKEFLAGS" >"%s/klp-env"
' "$t" >"$klp_tree/scripts/livepatch/klp-build"
chmod +x "$klp_tree/scripts/livepatch/klp-build"
kbuild_cc() { echo x86_64-linux-gnu-gcc-16; }
TC=(env SPLICE_IN_BUILDROOT=yes)
klp_reuse=0
klp_build "$t/fix.diff" "$t/fix.ko" "$t/klp.log" >/dev/null 2>&1
check "klp-build is run with the configuration's compiler as make's CC" \
	grep -qx "MAKEFLAGS=CC=x86_64-linux-gnu-gcc-16" "$t/klp-env"

# klp-build stopped for want of a tool is no outcome of the fix: the
# evaluation stops and names the tool (a build root without patchutils had
# every fix of the Debian evaluation "failed" in 0.1 s, and kept so).
# failing_klp_build LINE...: klp_build with a klp-build that prints the LINEs
# and fails; sets out (what klp_build said) and rc.
failing_klp_build() {
	{
		echo '#!/bin/sh'
		printf "echo '%s' >&2\n" "$@"
		echo 'exit 1'
	} >"$klp_tree/scripts/livepatch/klp-build"
	out=$( (klp_build "$t/fix.diff" "$t/fix.ko" "$t/klp.log") 2>&1)
	rc=$?
}
failing_klp_build "error: klp-build: recountdiff not found (install patchutils)"
check "a klp-build that cannot run stops the evaluation" test "$rc" != 0
check "naming what it lacks" grep -q "recountdiff not found (install patchutils)" <<<"$out"
check "and leaves no busy mark (it changed nothing)" test ! -e "$klp_tree.busy"
failing_klp_build "./scripts/livepatch/klp-build: line 336: gawk: command not found" \
	"error: klp-build: line 338: sort -u"
check "so does one that finds no program it runs" test "$rc" != 0
check "naming the program" grep -q "gawk: command not found" <<<"$out"
# An objtool built where libxxhash was missing has no klp subcommand, which
# klp-build checks first; Kbuild rebuilds objtool once the toolchain has it.
failing_klp_build "error: klp-build: objtool not built with KLP support; install xxhash-devel/libxxhash-dev (version >= 0.8) and recompile"
check "an objtool without klp stops the run" test "$rc" != 0
check "naming libxxhash-dev" grep -q "libxxhash-dev" <<<"$out"

# The toolchain klp-build runs with must have the programs it runs: said
# before any build, with their packages.
mkdir -p "$t/bin"
ln -s "$(command -v sh)" "$t/bin/sh"
out=$( (TC=(env PATH="$t/bin"); klp_prepare) 2>&1)
rc=$?
check "a toolchain without klp-build's programs is refused up front" test "$rc" != 0
check "naming each with its package" grep -q "recountdiff (package patchutils), gawk (package gawk)" <<<"$out"

finish klp-cache

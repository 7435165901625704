#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host test of retarget_tree (scripts/splice/lib.sh), which a copy of a built
# tree taken from the cache (fetch-kernel.sh, klp.sh) goes through: the
# absolute paths Kbuild recorded in .cmd and .d files name the new place, and
# those files keep their times, so that make rebuilds nothing for the move.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"
# lib.sh of the scripts wants a build folder for its logs.
SPLICE_BUILD=$t/build . "$src/scripts/splice/lib.sh"
set +e

old=/old/build/linux-7.2.12
new=/new/place/build/linux-7.2.12
mkdir -p "$t/tree/kernel" "$t/tree/rust"
printf 'savedcmd_kernel/fork.o := gcc -I%s/include -c kernel/fork.c\n' "$old" >"$t/tree/kernel/.fork.o.cmd"
printf 'rust/kernel.o: %s/rust/kernel/lib.rs\n' "$old" >"$t/tree/rust/kernel.d"
printf '/* %s */\n' "$old" >"$t/tree/kernel/fork.c"
printf 'savedcmd_x := true\n' >"$t/tree/kernel/.other.o.cmd"
touch -d '2026-01-02 03:04:05' "$t/tree/kernel/.fork.o.cmd" "$t/tree/rust/kernel.d" \
	"$t/tree/kernel/fork.c" "$t/tree/kernel/.other.o.cmd"
before=$(stat -c %Y "$t/tree/kernel/.fork.o.cmd")

retarget_tree "$t/tree" "$old" "$new"
check "a .cmd file names the new place" grep -qF -e "-I$new/include" "$t/tree/kernel/.fork.o.cmd"
check "a .d file names the new place" grep -qF "$new/rust/kernel/lib.rs" "$t/tree/rust/kernel.d"
check "no .cmd or .d file names the old place" \
	test -z "$(grep -rlF "$old" "$t/tree" --include='*.cmd' --include='*.d' --include='.*.cmd')"
check "a rewritten file keeps its time" test "$(stat -c %Y "$t/tree/kernel/.fork.o.cmd")" = "$before"
check "sources are left alone" grep -qF "$old" "$t/tree/kernel/fork.c"
check "a file without the path is left alone" test "$(stat -c %Y "$t/tree/kernel/.other.o.cmd")" = "$before"

cp -a "$t/tree" "$t/same"
retarget_tree "$t/same" "$new" "$new"
check "the same place changes nothing" diff -r "$t/tree" "$t/same"
retarget_tree "$t/same" "" "$new"
check "no old place changes nothing" diff -r "$t/tree" "$t/same"
# The scripts run with errexit and pipefail: a place no file names is no error.
(set -eo pipefail; retarget_tree "$t/same" /nowhere/build "$new")
check "a place no file names is no error" test $? -eq 0
check "a place no file names changes nothing" diff -r "$t/tree" "$t/same"
finish tree-cache

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# eval-headers.sh: the changed headers a fix does not compile without, for
# whichever tool did not compile it (splice-create, or klp-build when splice
# refused the fix before compiling). Only a header the fix's object includes,
# preferably one whose added lines name what the compiler missed, each
# recorded with why; a failure of the tool's own is not a compile failure.
# Then the table names klp-build's headers as it names splice's.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
t=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$t"' EXIT
. "$src/scripts/splice/lib.sh"
. "$src/scripts/splice/eval-headers.sh"
set +e
not_() { ! "$@"; }

# Two versions of a tree: the fix changes block/bsg-lib.c and the prototype
# in include/linux/bsg-lib.h; another fix changes include/linux/other.h, which
# bsg-lib.c includes too, and include/linux/far.h, which it does not.
SPLICE_BUILD=$t/build KERNEL_TREE=$t/build/linux base_deb=A next_deb=B out=$t/out
old=$SPLICE_BUILD/sources/tree-A new=$SPLICE_BUILD/sources/tree-B
for d in "$old" "$new"; do mkdir -p "$d/block" "$d/include/linux"; done
echo 'int bsg_setup_queue(int q);' >"$old/include/linux/bsg-lib.h"
echo 'int bsg_setup_queue(int q, int depth);' >"$new/include/linux/bsg-lib.h"
echo 'struct other { int a; };' >"$old/include/linux/other.h"
echo 'struct other { int a; int b; };' >"$new/include/linux/other.h"
echo 'int far;' >"$old/include/linux/far.h"
echo 'long far;' >"$new/include/linux/far.h"
echo 'int bsg_setup_queue(int q) { return q; }' >"$old/block/bsg-lib.c"
echo 'int bsg_setup_queue(int q, int depth) { return q + depth; }' >"$new/block/bsg-lib.c"
mkdir -p "$out/patches" "$KERNEL_TREE/block"
file_diff "$old" "$new" block/bsg-lib.c >"$out/patches/bsg.diff"
printf '%s\n' block/bsg-lib.c include/linux/bsg-lib.h include/linux/far.h include/linux/other.h \
	>"$out/changed-files"
printf 'savedcmd_block/bsg-lib.o := gcc block/bsg-lib.c\nsource_block/bsg-lib.o := block/bsg-lib.c\ndeps_block/bsg-lib.o := include/linux/bsg-lib.h include/linux/other.h\n' \
	>"$KERNEL_TREE/block/.bsg-lib.o.cmd"

# klp-build's log when the compiler refuses the file's diff alone.
cat >"$t/klp.log" <<'LOG'
  CC      block/bsg-lib.o
block/bsg-lib.c:1:5: error: conflicting types for ‘bsg_setup_queue’; have ‘int(int,  int)’
make[3]: *** [scripts/Makefile.build:287: block/bsg-lib.o] Error 1
error: klp-build: build failed
LOG
check "a compiler's error is a compile failure" compile_failed "$t/klp.log"
printf 'objtool: changed data: __UNIQUE_ID_ddebug_1\nerror: klp-build: objtool klp diff failed\n' >"$t/own.log"
check "klp-build's own refusal is not" not_ compile_failed "$t/own.log"
printf 'error: klp-build: no changes detected\n' >"$t/none.log"
check "nor is a fix with no change" not_ compile_failed "$t/none.log"

with_headers bsg "$t/klp.log" "$out/klp/bsg.headers.diff" "$out/klp/headers-used"
check "the headers are found" test $? = 0
check "the diff holds the file's change" grep -qxF -- '--- a/block/bsg-lib.c' "$out/klp/bsg.headers.diff"
check "and the header naming what the compiler missed" \
	grep -qxF -- '--- a/include/linux/bsg-lib.h' "$out/klp/bsg.headers.diff"
check "not a header it includes that names nothing missed" \
	not_ grep -qF 'other.h' "$out/klp/bsg.headers.diff"
check "nor one it does not include" not_ grep -qF 'far.h' "$out/klp/bsg.headers.diff"
check "recorded for klp-build with why" \
	test "$(cat "$out/klp/headers-used")" = "bsg include/linux/bsg-lib.h missed:bsg_setup_queue"
check "and not for splice" test ! -e "$out/splice/headers-used"

# A second round whose log names nothing: every header left that it includes.
printf 'block/bsg-lib.c:2:1: error: expected expression\n' >"$t/klp2.log"
with_headers bsg "$t/klp2.log" "$out/klp/bsg.headers.diff" "$out/klp/headers-used"
check "a later round adds what is left" grep -qxF -- '--- a/include/linux/other.h' "$out/klp/bsg.headers.diff"
check "keeping the earlier round's" grep -qxF -- '--- a/include/linux/bsg-lib.h' "$out/klp/bsg.headers.diff"
check "and says all" grep -qx "bsg include/linux/other.h all" "$out/klp/headers-used"
with_headers bsg "$t/klp2.log" "$out/klp/bsg.headers.diff" "$out/klp/headers-used"
check "with none left, no further round" test $? != 0

# The prototype's changed line is its continuation (bsg-lib.h in 7.2.13: the
# name stays on the context line above): still that header alone, not every
# header the object includes (all six, in the first Debian run, one of which
# klp-build's fix-patch-lines then broke).
printf 'int wrap_setup(int q,\n\tint d);\n' >"$old/include/linux/wrap.h"
printf 'int wrap_setup(int q,\n\tint d, int e);\n' >"$new/include/linux/wrap.h"
echo 'int wrap_setup(int q, int d) { return q; }' >"$old/block/wrap.c"
echo 'int wrap_setup(int q, int d, int e) { return q; }' >"$new/block/wrap.c"
file_diff "$old" "$new" block/wrap.c >"$out/patches/wrap.diff"
printf '%s\n' block/wrap.c include/linux/other.h include/linux/wrap.h >>"$out/changed-files"
printf 'savedcmd_block/wrap.o := gcc block/wrap.c\ndeps_block/wrap.o := include/linux/other.h include/linux/wrap.h\n' \
	>"$KERNEL_TREE/block/.wrap.o.cmd"
echo "block/wrap.c:1:5: error: conflicting types for ‘wrap_setup’; have ‘int(int,  int,  int)’" >"$t/wrap.log"
with_headers wrap "$t/wrap.log" "$out/klp/wrap.headers.diff" "$t/wrap.used"
check "a name on the context line of its header's change finds that header" \
	grep -qxF -- '--- a/include/linux/wrap.h' "$out/klp/wrap.headers.diff"
check "and that header alone" not_ grep -qF 'other.h' "$out/klp/wrap.headers.diff"
check "recorded with the name" test "$(cat "$t/wrap.used")" = "wrap include/linux/wrap.h missed:wrap_setup"

# The prototype changed, so its callers did too (scsi_transport_fc.c's
# bsg_setup_queue() in 7.2.13): the changed C files whose changes use the
# name come with the header; a changed C file that does not use it stays out.
printf 'int c(void)\n{\n\treturn wrap_setup(1,\n\t\t2);\n}\n' >"$old/block/caller.c"
printf 'int c(void)\n{\n\treturn wrap_setup(1,\n\t\t2, 3);\n}\n' >"$new/block/caller.c"
echo 'int u;' >"$old/block/unrelated.c"
echo 'long u;' >"$new/block/unrelated.c"
printf '%s\n' block/caller.c block/unrelated.c >>"$out/changed-files"
rm -f "$out/klp/wrap.headers.diff" "$t/wrap.used"
with_headers wrap "$t/wrap.log" "$out/klp/wrap.headers.diff" "$t/wrap.used"
check "a caller whose change uses the changed prototype comes with it" \
	grep -qxF -- '--- a/block/caller.c' "$out/klp/wrap.headers.diff"
check "recorded as using it" grep -qx "wrap block/caller.c uses:wrap_setup" "$t/wrap.used"
check "a changed file that does not use it stays out" not_ grep -qF 'unrelated.c' "$out/klp/wrap.headers.diff"

# The header came first (the fix's diff held it, or a round before did) and
# the compiler now names the prototype in a caller: the callers, not every
# header the object includes.
{ cat "$out/patches/wrap.diff"; file_diff "$old" "$new" include/linux/wrap.h; } >"$t/wrap2.diff"
rm -f "$t/wrap2.used"
echo "block/caller.c:3:9: error: too few arguments to function ‘wrap_setup’; expected 3, have 2" >"$t/wrap2.log"
with_headers wrap "$t/wrap2.log" "$t/wrap2.diff" "$t/wrap2.used"
check "with the header in already, the callers come in a later round" \
	test "$(cat "$t/wrap2.used")" = "wrap block/caller.c uses:wrap_setup"

# The table: klp-build's row says it was given the headers, and which.
mkdir -p "$out/splice"
echo '[{"patch": "bsg", "file": "block/bsg-lib.c", "hunks": 1}]' >"$out/corpus.json"
echo "bsg refused 1.0 alone" >"$out/splice/outcomes"
echo "splice-create: include/linux/bsg-lib.h: the fix's header layout changes (bsg_setup_queue)" >"$out/splice/bsg.log"
echo "bsg ok 300.5 reuse klp-headers" >"$out/klp/outcomes"
python3 "$src/scripts/splice/eval-table.py" "$out" 7.2.12 7.2.13 bsg >"$t/table.out" 2>&1
check "the table is made" test $? = 0
check "klp-build's row names the headers it was given" \
	grep -qF "built (with the headers it does not compile without: include/linux/bsg-lib.h for bsg_setup_queue, include/linux/other.h)" \
	"$out/results.md"
printf 'bsg block/caller.c uses:bsg_setup_queue\n' >>"$out/klp/headers-used"
python3 "$src/scripts/splice/eval-table.py" "$out" 7.2.12 7.2.13 bsg >"$t/table.out" 2>&1
check "and the callers, saying what they use" \
	grep -qF "include/linux/other.h, block/caller.c (which uses bsg_setup_queue))" "$out/results.md"
check "results.json says which diff klp-build got" \
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["rows"][0]["klp_build"]; sys.exit(r["diff"] != "klp-headers")' \
	"$out/results.json"
finish eval-headers

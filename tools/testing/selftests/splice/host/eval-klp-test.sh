#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# eval-klp.sh: klp-build on one fix of the evaluation. A fix splice refused
# before compiling it gets the changed headers klp-build's compiler asked
# for, round by round (at most three), and its outcome line says so; a
# refusal of klp-build's own gets no round; a fix splice-create compiled with
# its headers is given them from the start; EVAL_KLP_LIMIT stops a round and
# leaves the round before, log included; a later run takes the kept outcomes
# and runs nothing. klp-build and the header search are stood in for.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
t=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"
. "$src/scripts/splice/lib.sh"
. "$src/scripts/splice/eval-headers.sh"
. "$src/scripts/splice/eval-klp.sh"
set +e
not_() { ! "$@"; }
say() { echo "$*" >>"$t/said"; }

# The stand-ins. needs[P]: the headers P does not compile without;
# objtool[P]: klp-build refuses P itself. klp-build compiles a diff that holds
# every header P needs; its outcomes are kept by the diff's checksum.
declare -A needs=() objtool=()
headers=(include/linux/a.h include/linux/b.h include/linux/c.h include/linux/d.h)
key() { sha256sum <"$1" | cut -c 1-16; }
klp_build() {
	local diff=$1 ko=$2 log=$3 p h
	p=$(basename "$ko" .ko)
	p=${p#livepatch-}
	klp_status=ok klp_secs=100.5 klp_mode=reuse klp_error=
	echo "Building patched kernel" >"$log"
	for h in ${needs[$p]:-}; do
		if ! grep -qxF -- "--- a/$h" "$diff"; then
			echo "block/$p.c:1:5: error: conflicting types for ‘${p}_setup’" >>"$log"
			klp_status=failed
			return
		fi
	done
	if [ -n "${objtool[$p]:-}" ]; then
		echo "vmlinux.o: error: objtool: changed data: ${p}_table" >>"$log"
		klp_status=failed
		return
	fi
	echo module >"$ko"
}
klp_keep() {
	mkdir -p "$t/kept/$(key "$1")"
	echo "$klp_status $klp_secs $klp_mode" >"$t/kept/$(key "$1")/outcome"
	cp "$2" "$t/kept/$(key "$1")/log"
	[ ! -f "$3" ] || cp "$3" "$t/kept/$(key "$1")/ko"
}
klp_kept() {
	local k=$t/kept/$(key "$1")
	[ -f "$k/outcome" ] || return 1
	read -r klp_status klp_secs klp_mode <"$k/outcome"
	cp "$k/log" "$2"
	[ ! -f "$k/ko" ] || cp "$k/ko" "$3"
}
# with_headers P LOG DIFF RECORD: the next of $headers not in DIFF yet.
with_headers() {
	local p=$1 diff=$3 h
	[ -f "$diff" ] || cp "$out/patches/$p.diff" "$diff"
	for h in "${headers[@]}"; do
		grep -qxF -- "--- a/$h" "$diff" && continue
		printf -- '--- a/%s\n+++ b/%s\n' "$h" "$h" >>"$diff"
		echo "$p $h all" >>"$4"
		return 0
	done
	return 1
}

# evaluation: a fresh $out/klp, as eval.sh's step 4 makes it, and the fixes'
# diffs; splice-create compiled bsg and more with two headers (step 2).
evaluation() {
	out=$t/out ran=0
	rm -rf "$out/klp" "$t/said"
	mkdir -p "$out/klp" "$out/patches" "$out/splice"
	for p in one two never obj bsg more plain fresh; do
		printf -- '--- a/block/%s.c\n+++ b/block/%s.c\n' "$p" "$p" >"$out/patches/$p.diff"
	done
	for p in bsg more; do
		echo splice >"$out/splice/$p.alone.log"
		{ cat "$out/patches/$p.diff"; printf -- '--- a/%s\n' "${headers[@]:0:2}"; } >"$out/patches/$p.headers.diff"
	done
}
# outcome P: P's line of the outcomes, without its seconds.
outcome() { awk -v p="$1" '$1 == p { print $1, $2, $4, $5 }' "$out/klp/outcomes"; }

needs=([one]="include/linux/a.h" [two]="include/linux/a.h include/linux/b.h"
	[never]="include/linux/z.h" [bsg]="include/linux/a.h include/linux/b.h"
	[more]="include/linux/a.h include/linux/b.h include/linux/c.h")
objtool=([obj]=1)
evaluation
klp_patch one
check "a fix needing one header is built with it" test "$(outcome one)" = "one ok reuse klp-headers"
check "its module is there" test -f "$out/klp/livepatch-one.ko"
check "its log is the round that built it" not_ grep -q 'error:' "$out/klp/one.log"
check "the log of the fix alone is kept beside it" grep -q 'conflicting types' "$out/klp/one.alone.log"
check "the header given is recorded" grep -qx "one include/linux/a.h all" "$out/klp/headers-used"
check "two runs were made" test $ran = 2
check "the round is said" grep -q '^klp-build one: does not compile alone; again with the changed headers it includes (round 1)$' "$t/said"
klp_patch two
check "two headers: two rounds" test "$(outcome two)" = "two ok reuse klp-headers"
check "three runs for it" test $ran = 5
klp_patch never
check "a fix no header makes compile stops after three rounds" test "$(outcome never)" = "never failed reuse klp-headers"
check "four runs for it" test $ran = 9
check "its first log is the fix alone's" grep -q 'conflicting types' "$out/klp/never.alone.log"
klp_patch obj
check "klp-build's own refusal gets no round" test "$(outcome obj)" = "obj failed reuse alone"
check "one run for it" test $ran = 10
check "and its log stays where it is" test -f "$out/klp/obj.log" -a ! -e "$out/klp/obj.alone.log"
klp_patch bsg
check "a fix splice compiled with its headers gets them from the start" test "$(outcome bsg)" = "bsg ok reuse headers"
check "one run for it" test $ran = 11
check "and no round of klp-build's" not_ test -e "$out/klp/bsg.headers.diff"
klp_patch more
check "nor when it does not compile with them" test "$(outcome more)" = "more failed reuse headers"
check "one run for that" test $ran = 12

# A later evaluation: the outcomes kept, nothing run again.
cp "$out/klp/outcomes" "$t/first"
evaluation
for p in one two never obj bsg more; do klp_patch $p; done
check "a later run takes every kept outcome" test $ran = 0
check "with the same lines" diff -u <(cut -d' ' -f 1,2,4,5 "$t/first") <(cut -d' ' -f 1,2,4,5 "$out/klp/outcomes")
check "saying where they come from" grep -q '^klp-build one: ok (.* s, from an earlier run)$' "$t/said"
check "and the modules" test -f "$out/klp/livepatch-two.ko"

# EVAL_KLP_LIMIT: no run left for the round, or for the fix at all.
needs[plain]=include/linux/d.h
evaluation
EVAL_KLP_LIMIT=1
klp_patch plain
check "the limit stops a round: the fix alone's outcome stands" test "$(outcome plain)" = "plain failed reuse alone"
check "with its log where the table reads it" grep -q 'conflicting types' "$out/klp/plain.log"
check "and no log of a round" test ! -e "$out/klp/plain.alone.log"
rm "$out/klp/outcomes"
klp_patch fresh
check "no run left: a fix not run before is skipped" test $? != 0
check "and has no outcome" test ! -s "$out/klp/outcomes"
unset EVAL_KLP_LIMIT
finish eval-klp

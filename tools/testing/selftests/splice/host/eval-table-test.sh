#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# eval-table.py's verdicts on a made-up evaluation: a pack passes only with
# evidence (every target ran while applied, and is an ordinary build's code),
# a refusal with a named reason passes, a pack applied without that evidence
# (not run, a tracer that counted nothing, code_busy) is a skip, never a
# pass; a guest run that failed or did not finish fails the evaluation,
# whatever the packs' lines say. klp-build's totals name the patches it did
# not run on (a partial run is not a comparison of the whole corpus).
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

ok="load=ok check=ok apply=ok smoke=ok reverse=ok unload=ok cause=none match_ns=1000 pause_ns=1000 sig=unchecked"
# evaluation LINE_OF_Q [STATUS [DONE]]: pack p ran and is evidenced, q as
# LINE_OF_Q says, r is refused (no functional change); the guest exited
# with STATUS (0) and said "eval: done" unless DONE is "no".
evaluation() {
	local o=$dir/out
	rm -rf "$o"
	mkdir -p "$o/splice"
	printf '[%s]\n' \
		'{"patch": "p", "file": "fs/p.c", "hunks": 1}, {"patch": "q", "file": "fs/q.c", "hunks": 1}, {"patch": "r", "file": "fs/r.c", "hunks": 1}' \
		>"$o/corpus.json"
	printf 'p pack 1.0\nq pack 1.0\nr refused 1.0\n' >"$o/splice/outcomes"
	for f in p q; do
		echo "{\"pack\": {\"targets\": [{\"function\": \"${f}f\"}]}, \"equivalence\": [{\"function\": \"${f}f\", \"difference\": null}]}" \
			>"$o/splice/$f.json"
	done
	echo "splice-create: fs/r.o: no functional change: the compiled code of fs/r.c is the same" >"$o/splice/r.log"
	{
		echo "eval p $ok exercised=1/1 ran=pf:3 behaves=unobservable old=-"
		echo "eval q $1"
		[ "${3:-}" = no ] || echo "eval: done"
	} >"$o/guest.log"
	echo "${2:-0}" >"$o/guest.status"
	python3 "$src/scripts/splice/eval-table.py" "$o" 7.2.12 7.2.13 p q r >"$dir/table.out" 2>&1
	echo $? >"$dir/table.rc"
}
says() { grep -qx "$1" "$dir/table.out"; }
exits() { [ "$(cat "$dir/table.rc")" = "$1" ]; }

evaluation "$ok exercised=1/1 ran=qf:2 behaves=fixed old=back"
check "packs that ran pass, a named refusal passes" says "eval: 3 passed, 0 failed, 0 skipped"
check "and the evaluation succeeds" exits 0
evaluation "$ok exercised=0/1 ran=qf:0 behaves=unobservable old=-"
check "a pack whose target did not run is skipped, not passed" says "eval: 2 passed, 0 failed, 1 skipped"
check "and named" grep -q "SKIP (applied, not every target shown to run): q" "$dir/table.out"
evaluation "$ok exercised=0/0 ran=none behaves=unobservable old=-"
check "a pack the tracer counted nothing of is skipped" says "eval: 2 passed, 0 failed, 1 skipped"
evaluation "load=ok check=ok apply=failed smoke=skipped reverse=skipped unload=ok cause=code_busy match_ns=1 pause_ns=0 sig=unchecked exercised=0/0 ran=none behaves=unchecked old=-"
check "a pack refused as busy is skipped" says "eval: 2 passed, 0 failed, 1 skipped"
evaluation "$ok exercised=1/1 ran=qf:2 behaves=fixed old=back" 1
check "a guest run that failed fails the evaluation" says "eval: 3 passed, 1 failed, 0 skipped"
check "and names its log" grep -q "BUG: the guest run failed (exit 1).*guest.log" "$dir/table.out"
check "with a failing exit" exits 1
evaluation "$ok exercised=1/1 ran=qf:2 behaves=fixed old=back" 0 no
check "a guest run that did not finish fails the evaluation" says "eval: 3 passed, 1 failed, 0 skipped"
evaluation "load=ok check=ok apply=failed smoke=skipped reverse=skipped unload=ok cause=no_match match_ns=1 pause_ns=0 sig=unchecked exercised=0/0 ran=none behaves=unchecked old=-"
check "a pack that fails to apply on its own kernel is a failure" says "eval: 2 passed, 1 failed, 0 skipped"

# klp-build ran on p alone (EVAL_KLP_LIMIT, or a run stopped): its totals say
# they cover that one, not the three.
evaluation "$ok exercised=1/1 ran=qf:2 behaves=fixed old=back"
mkdir -p "$dir/out/klp"
echo "p ok 300.5 reuse alone" >"$dir/out/klp/outcomes"
python3 "$src/scripts/splice/eval-table.py" "$dir/out" 7.2.12 7.2.13 p q r >"$dir/table.out" 2>&1
check "klp-build's totals name the patches it did not run on" \
	grep -qF "klp-build: 1 of 1 built (100%); not run on 2 of the 3 patches (EVAL_KLP_LIMIT, EVAL_KLP=0 or a run stopped): its figures are of the 1 it ran on" "$dir/table.out"
check "and results.json counts them" \
	python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["totals"]; sys.exit(t["klp_build_not_run"] != 2)' "$dir/out/results.json"
finish eval-table

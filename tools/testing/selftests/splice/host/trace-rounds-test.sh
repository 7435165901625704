#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# trace.sh's count of a pack's replacements that have no ftrace sites: a
# hardware breakpoint at each, and x86 has four, so a pack with more targets
# is counted in rounds of four, the workload run once a round. Before, the
# targets past the fourth were "uncounted" and could never be shown to run
# (the ring buffer fix has seven on the test kernel, nine on Debian's). The
# breakpoints are stood in for by a splice-probe that counts a call of each
# address the workload wrote to a file.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
t=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"

mkdir -p "$t/bin" "$t/tracing" "$t/pack"
# A function tracer that knows nothing of the pack's module: breakpoints.
: >"$t/tracing/set_ftrace_filter"
echo "vfs_read" >"$t/tracing/available_filter_functions"
cat >"$t/bin/splice-probe" <<PROBE
#!/bin/sh
# exec-count READY STOP ADDR...: a call of ADDR for each line of it written
# to $t/called while counting.
[ "\$1" = exec-count ] || exit 2
ready=\$2 stop=\$3
shift 3
[ \$# -le 4 ] || { echo "exec-count: 1 to 4 addresses"; exit 2; }
echo "\$*" >>"$t/rounds"
: >"$t/called"
: >"\$ready"
while [ ! -e "\$stop" ]; do sleep 0.05; done
for a in "\$@"; do echo "\$a \$(grep -cx "\$a" "$t/called")"; done
PROBE
chmod +x "$t/bin/splice-probe"
PATH=$t/bin:$PATH

# Seven targets with replacements, one without (not counted), one unreached.
for i in 1 2 3 4 5 6 7; do
	echo "f$i 0xffffffff8100000$i 0xffffffffc000000$i applied"
done >"$t/pack/targets"
echo "f8 0xffffffff81000008 - applied" >>"$t/pack/targets"
echo "f9 0xffffffff81000009 0xffffffffc0000009 applied" >>"$t/pack/targets"

. "$src/tools/testing/selftests/splice/trace.sh"
tracefs=$t/tracing
set +e
not_() { ! "$@"; }

check "seven targets to count take two rounds" test "$(trace_rounds mod "$t/pack" f9)" = 2
check "four take one" test "$(trace_rounds mod "$t/pack" f5 f6 f7 f9)" = 1
echo "vfs_read [mod]" >>"$t/tracing/available_filter_functions"
check "a module with ftrace sites takes one" test "$(trace_rounds mod "$t/pack" f9)" = 1
echo "vfs_read" >"$t/tracing/available_filter_functions"

# The workload calls every replacement but f3's.
workload() {
	printf 'ffffffffc000000%s\n' 1 2 4 5 6 7 >>"$t/called"
}
: >"$t/called"
rounds=$(trace_rounds mod "$t/pack" f9)
trace_round=1
while :; do
	trace_module mod "$t/pack" f9 >"$t/why" || break
	workload
	[ $trace_round -lt "$rounds" ] || break
	trace_round_end
	trace_round=$((trace_round + 1))
done
exercised_targets "$t/pack" f9 >"$t/ex"
check "a round of breakpoints for every four targets" test "$(wc -l <"$t/rounds")" = 2
check "each round four at most" test "$(awk '{ print NF }' "$t/rounds" | sort -n | tail -n 1)" = 4
check "every target with a replacement is counted" not_ grep -q "f[1-7]=uncounted" "$t/ex"
check "those that ran, in every round" grep -q "exercised: 6 of 9 targets ran" "$t/ex"
check "f5 to f7 counted in the second round" grep -q "f5=1 f6=1 f7=1" "$t/ex"
check "the one that did not run is missing" test "$ex_missing" = " f3 f8"
check "a target without a replacement is uncounted" grep -q "f8=uncounted" "$t/ex"
check "the unreached one is named so" grep -q "f9=unreached" "$t/ex"
check "the next count starts with round 1" test "$trace_round" = 1

# A later count of another pack starts afresh: nothing of this one's is kept.
printf 'g1 0xffffffff81000011 0xffffffffc0000011 applied\n' >"$t/pack/targets"
: >"$t/rounds"
trace_module mod "$t/pack" >"$t/why"
exercised_targets "$t/pack" >"$t/ex"
check "a new count keeps nothing of the last" grep -q "exercised: 0 of 1 targets ran (g1=0)" "$t/ex"
finish trace-rounds

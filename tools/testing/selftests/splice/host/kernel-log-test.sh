#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernel-log-check.sh: what counts as trouble in a guest's kernel log.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
chk=$src/scripts/splice/kernel-log-check.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

boot='[    1.0] Run /init as init process
[    2.0] splice: pack "x" loaded'
# The freezer names a task that refused to freeze with its stack: the
# pid_namespace tests provoke it on purpose, and it is no kernel problem.
printf '%s\n%s\n' "$boot" '[   22.4] Freezing user space processes failed after 1.026 seconds (1 tasks refusing to freeze, wq_busy=0):
[   22.4] task:splice-probe    state:R  running task     stack:0     pid:1744
[   22.4] Call Trace:
[   22.4]  <TASK>
[   22.4]  ? zap_pid_ns_processes+0x110/0x140
[   22.4]  </TASK>' >"$dir/freezer"
echo "$boot" >"$dir/clean"
check "a clean boot passes" "$chk" "$dir/clean"
check "the freezer's stack of a task that refused to freeze passes" "$chk" "$dir/freezer"
for report in 'WARNING: CPU: 1 PID: 80 at kernel/splice/patch.rs:10 run+0x1/0x2' \
	'BUG: kernel NULL pointer dereference, address: 0000000000000008' \
	'Oops: general protection fault, probably for non-canonical address' \
	'Kernel panic - not syncing: Attempted to kill init!' \
	'INFO: task splice:99 blocked for more than 120 seconds.' \
	'watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [splice:99]' \
	'rcu: INFO: rcu_preempt self-detected stall on CPU' \
	'UBSAN: array-index-out-of-bounds in kernel/splice/shadow.rs:3:4' \
	'BUG: KASAN: slab-use-after-free in splice_shadow_get+0x1/0x2' \
	'kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)'; do
	printf '%s\n[   3.0] %s\n[   3.0] Call Trace:\n' "$boot" "$report" >"$dir/bad"
	out=$("$chk" "$dir/bad")
	rc=$?
	check "fails on: ${report:0:40}" test $rc -ne 0
	check "names the line: ${report:0:40}" grep -qF "${report:0:30}" <<<"$out"
done
check "a missing log is trouble" bash -c "! '$chk' '$dir/none'"
finish kernel-log

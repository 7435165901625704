#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernel-log-check.sh CONSOLE_LOG
#
# Exit 1 and print the lines (at most 5, with line numbers) when the kernel
# log shows trouble: a panic, BUG, oops, WARNING, a general protection fault,
# a hung task, a soft or hard lockup, an RCU stall, or a UBSAN, KASAN, KFENCE
# or kmemleak report. Exit 0 otherwise.
#
# A bare "Call Trace:" is not trouble by itself: the freezer prints the stack
# of a task that refused to freeze (which the pid_namespace tests provoke on
# purpose), and sysrq prints stacks on request. Every report of a real
# problem has one of the headers above before its trace.
set -euo pipefail
log=$1
[ -f "$log" ] || { echo "    no kernel log at $log"; exit 1; }
pattern='Kernel panic|BUG:|Oops|general protection fault|WARNING:|INFO: task .* blocked for more than|soft lockup|hard LOCKUP|rcu: INFO: rcu_.* stall|self-detected stall|UBSAN:|KASAN:|KFENCE:|kmemleak: [0-9]+ new suspected'
if grep -qE "$pattern" "$log"; then
	grep -nE "$pattern" "$log" | head -5 | sed 's/^/    /'
	exit 1
fi
exit 0

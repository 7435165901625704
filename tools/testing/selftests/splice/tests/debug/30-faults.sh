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
# Each action is first run once with a fault it cannot reach (the
# millionth allocation), which tells how many allocations of splice's it makes
# (a check about 400, an insmod 12); the sweep then fails them one by one,
# printing its progress to the kernel log. The sweeps of check, apply and
# reverse run inside splice-probe (fail-sweep). This sweep once seemed to hang
# the guest: it printed nothing for ten minutes and more while it counted
# kmemleak's own allocations too (1,500 in a check, each failure of those
# followed by an apply and a reverse, as the action went on), with a fork for
# every step; it ran, slowly (seen with VM_QEMU_ARGS="-gdb tcp::1234").
dbg=/sys/kernel/debug
[ -w /proc/thread-self/fail-nth ] || fail "no /proc/thread-self/fail-nth: the debug kernel has CONFIG_FAULT_INJECTION"
# Every allocation may fail, the sleeping ones and order 0 pages too; no
# stack dump for each (the kernel log would be thousands of lines).
for f in failslab fail_page_alloc; do
	echo N >$dbg/$f/ignore-gfp-wait || fail "$f/ignore-gfp-wait"
	echo 0 >$dbg/$f/verbose || fail "$f/verbose"
done
echo 0 >$dbg/fail_page_alloc/min-order || fail "fail_page_alloc/min-order"
# Slab allocations fail in the caches marked for it (cache-filter): all that
# can be marked (a cache merged with others cannot) but kmemleak's own. Its
# object for each allocation is allocated too, with splice's code on the
# stack; failed, it comes from kmemleak's reserve, so the action goes on as
# if nothing failed: half the steps of a sweep tested nothing.
marked=0
for c in /sys/kernel/slab/*/failslab; do
	case $c in */kmemleak_*) continue ;; esac
	echo 1 >"$c" 2>/dev/null && marked=$((marked + 1))
done
[ $marked -gt 0 ] || fail "no slab cache takes failslab (/sys/kernel/slab/*/failslab)"
echo Y >$dbg/failslab/cache-filter || fail "failslab/cache-filter"
echo "failslab: $marked slab caches marked (not kmemleak's)"
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

# probe N CMD...: "splice-probe fail-nth N CMD..."; sets $out to its line and
# $result to its result (ok or the error text).
probe() {
	splice-probe fail-nth "$@" >/tmp/fail-nth.out 2>&1 || fail "splice-probe fail-nth $*: $(cat /tmp/fail-nth.out)"
	read -r out </tmp/fail-nth.out
	result=${out#*: *: }
	result=${result%%;*}
}

# sweep WHAT UNDO CMD... (the insmod sweep): how many allocations of splice's CMD makes (the
# millionth not reached: the count is a million less what was left), with
# UNDO run after that counting run to put things back; then "splice-probe
# fail-nth N CMD..." for N = 1... until the fault is not reached, and after
# each, "after_$WHAT N RESULT" checks the state (RESULT: ok or the error;
# $before: the stage before).
sweep() {
	what=$1 undo=$2; shift 2
	probe 1000000 "$@"
	case $out in *"fault not reached ("*) ;; *) fail "$what: the counting run reached the millionth allocation: $out" ;; esac
	[ "$result" = ok ] || fail "$what without a fault: $result"
	left=${out##*not reached (}
	total=$((1000000 - ${left%% left)*}))
	$undo
	echo "30-faults: $what makes $total allocations of splice's; failing each in turn" >/dev/kmsg
	n=1
	while :; do
		read -r before 2>/dev/null <"$d/stage" || before=none
		probe $n "$@"
		"after_$what" $n "$result"
		case $out in *"fault not reached"*) break ;; esac
		[ $((n % 50)) -ne 0 ] || echo "30-faults: $what: allocation $n of $total failed as expected" >/dev/kmsg
		n=$((n + 1))
		[ $n -le $((total + 50)) ] || fail "$what: still reaching the fault at allocation $n, of $total counted"
	done
	# A sweep that injected nothing shows nothing.
	[ $n -gt 1 ] || fail "$what: no allocation of splice's reached the fault (is the filter's range splice's code?)"
	echo "$what: $((n - 1)) allocation(s) failed in turn (counted: $total), each left the kernel as it was"
}

after_insmod() {
	if [ "$2" = ok ]; then
		stage_is loaded
		rmmod $mod || fail "rmmod after insmod $1"
	else
		[ -d "$d" ] && fail "insmod with allocation $1 failing ($2) left $d"
		while read -r m _; do
			[ "$m" = "$mod" ] && fail "insmod with allocation $1 failing ($2) left $mod loaded"
		done </proc/modules
	fi
	return 0
}
sweep insmod "rmmod $mod" insmod "$ko"
load

# check, apply and reverse: the sweep runs in splice-probe (fail-sweep), one
# process instead of a fork per allocation. After a success (also one where
# splice tolerated the failed allocation) it goes on with the actions named
# last, which must succeed.
sweep_stage() {
	out=$(splice-probe fail-sweep "$d" "$1" $target/value 42 63 "$2") || fail "$out"
	echo "$out"
}
sweep_stage check apply,reverse
sweep_stage apply reverse
act apply
sweep_stage reverse apply
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

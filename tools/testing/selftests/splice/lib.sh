# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest tests, which source this file:
#
#	. "$(dirname "$0")/../lib.sh"
#	use_pack target-value	# sets d=/sys/kernel/splice/target-value, ko=...
#
# A test exits 0 on success, 4 when what it needs was not built (skip), and 1
# through fail() otherwise.

packs=/splice/packs
target=/sys/kernel/splice_target
loaded=
saved_tries=$(cat /sys/kernel/splice/tries)
saved_delay=$(cat /sys/kernel/splice/retry_delay_ms)

# cleanup: leave the kernel as the test found it, for the tests after a
# failure: release held kthreads, reverse and unload the packs this test
# loaded (newest first), restore the tunables.
cleanup() {
	echo 0 >$target/hold 2>/dev/null
	echo none >$target/fail_hook 2>/dev/null
	# The kprobe 27-kprobes puts on a jump site, which would refuse later applies.
	echo '-:splice_test/at_site' >>/sys/kernel/tracing/kprobe_events 2>/dev/null
	sleep 0.2
	for p in $loaded; do
		pd=${p%%|*}
		[ "$(cat "$pd/stage" 2>/dev/null)" = applied ] && echo reverse >"$pd/stage" 2>/dev/null
		rmmod "$(basename "${p#*|}" .ko)" 2>/dev/null
	done
	loaded=
	echo "$saved_tries" >/sys/kernel/splice/tries
	echo "$saved_delay" >/sys/kernel/splice/retry_delay_ms
}

fail() {
	echo "FAIL: $*"
	if [ -n "$d" ] && [ -d "$d" ]; then
		echo "stage: $(cat "$d/stage"), abort_cause: $(cat "$d/abort_cause")"
		sed 's/^/conflicts: /' "$d/conflicts"
	fi
	dmesg | grep -i splice | tail -8
	cleanup
	exit 1
}

# use_pack NAME: the pack NAME (from its .ko in $packs), not loaded yet.
use_pack() {
	ko=$packs/splice_$(echo "$1" | tr - _).ko
	d=/sys/kernel/splice/$1
	[ -f "$ko" ] || { echo "SKIP: $ko not built"; exit 4; }
}

# load: insmod the current pack; it must register in stage loaded.
load() {
	insmod "$ko" || fail "insmod $ko"
	loaded="$d|$ko $loaded"
	stage_is loaded
}

unload() {
	rmmod "$(basename "$ko" .ko)" || fail "rmmod $(basename "$ko" .ko)"
	[ -d "$d" ] && fail "$d still exists after rmmod"
	return 0
}

# forced_out_reversed MOD PACK: after rmmod -f MOD while its pack PACK was
# applied, the module and the pack are gone, the target runs its own code
# again (value 42: without the reverse, the read would run the freed
# replacement), and the kernel log says the pack was reversed first.
forced_out_reversed() {
	grep -q "^$1 " /proc/modules && fail "$1 still loaded after rmmod -f"
	[ -d "/sys/kernel/splice/$2" ] && fail "/sys/kernel/splice/$2 still there after rmmod -f"
	is $target/value 42
	dmesg | grep -q "pack \"$2\": its module was forced out while applied; reversed" ||
		fail "the kernel log does not say the forced-out pack $2 was reversed"
}

# works_again APPLIED: after a forced unload, the current pack loads, applies
# (the target reads APPLIED), reverses (42) and unloads again: the kernel
# works on.
works_again() {
	load
	act apply
	is $target/value "$1"
	act reverse
	is $target/value 42
	unload
}

stage_is() {
	[ "$(cat "$d/stage")" = "$1" ] || fail "stage is $(cat "$d/stage"), expected $1"
}

# act ACTION [CAUSE MESSAGE]: write ACTION to the stage file. Without CAUSE it
# must succeed; with CAUSE it must fail with that abort cause, and with the
# errno whose text is MESSAGE. The kernel log must say what became of it: an
# apply or reverse that went through, or why an action failed.
act() {
	kmsg_mark
	if echo "$1" >"$d/stage" 2>/tmp/act.err; then
		[ -z "$2" ] || fail "$1 succeeded, expected $2"
		case $1 in
		apply) log_says "\"$(basename "$d")\": applied" ;;
		reverse) log_says "\"$(basename "$d")\": reversed" ;;
		esac
		return 0
	fi
	[ -n "$2" ] || fail "$1 failed: $(cat /tmp/act.err)"
	[ "$(cat "$d/abort_cause")" = "$2" ] ||
		fail "$1: abort_cause $(cat "$d/abort_cause"), expected $2"
	grep -q "$3" /tmp/act.err || fail "$1: error '$(cat /tmp/act.err)', expected '$3'"
	log_says "\"$(basename "$d")\": $1 failed: $2"
	return 0
}

# kmsg_mark: a line in the kernel log ($kmsg_at) from which log_says looks
# (run.sh lifts the rate limit of /dev/kmsg for the tests: printk_devkmsg).
kmsg_marks=0
kmsg_mark() {
	kmsg_marks=$((kmsg_marks + 1))
	kmsg_at="splice-test: mark $$.$kmsg_marks"
	echo "$kmsg_at" >/dev/kmsg || fail "cannot write to /dev/kmsg"
}

# log_says TEXT: a line of the kernel log since the last mark holds TEXT.
log_says() {
	dmesg >/tmp/logged.txt
	grep -qF "$kmsg_at" /tmp/logged.txt ||
		fail "the kernel log lacks the mark '$kmsg_at' (is /dev/kmsg rate-limited? printk_devkmsg is $(cat /proc/sys/kernel/printk_devkmsg))"
	awk -v m="$kmsg_at" 'index($0, m) { on = 1 } on' /tmp/logged.txt | grep -qF "$1" ||
		fail "the kernel log does not say '$1' (since '$kmsg_at')"
}

# is FILE VALUE: FILE reads VALUE.
is() {
	[ "$(cat "$1")" = "$2" ] || fail "$1 is '$(cat "$1")', expected '$2'"
}

# wait_for FILE VALUE: until FILE reads VALUE, for up to 10 s.
wait_for() {
	i=0
	while [ "$(cat "$1")" != "$2" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "$1 never became '$2' (is '$(cat "$1")')"
		sleep 0.1
	done
}

# act_in_background ACTION: write ACTION to the current pack's stage in the
# background; act_ended then says whether it ended, act_wait waits for it (10 s
# at most) and fails unless it succeeded.
act_in_background() {
	rm -f /tmp/act.done
	(echo "$1" >"$d/stage" 2>/tmp/act.bg.err; echo $? >/tmp/act.done) &
}

act_ended() {
	[ -e /tmp/act.done ]
}

act_wait() {
	i=0
	while ! act_ended; do
		i=$((i + 1)); [ $i -le 100 ] || fail "the background action never ended"
		sleep 0.1
	done
	[ "$(cat /tmp/act.done)" = 0 ] || fail "the background action failed: $(cat /tmp/act.bg.err), $(cat "$d/abort_cause")"
}

# held_busy ACTION STAGE VALUE: with the kthread splice-hold asleep in
# splice_target_hold() (the target-value pack's target), ACTION, tried 3 times,
# fails with code_busy naming it, and leaves STAGE and the target's VALUE;
# the kthread is still there on return (held_release lets it go).
held_busy() {
	echo 3 >/sys/kernel/splice/tries
	echo 1 >$target/hold || fail "starting the holder"
	wait_for $target/hold 1
	pid=$(pid_of splice-hold) || fail "no splice-hold kthread"
	act "$1" code_busy "busy"
	stage_is "$2"
	grep -q "^splice-hold $pid splice_target_hold 0x" $d/conflicts ||
		fail "$1: conflicts does not name splice-hold $pid in splice_target_hold: '$(cat $d/conflicts)'"
	is $target/value "$3"
}

held_release() {
	echo 0 >$target/hold
	wait_for $target/hold 0
}

# pid_of COMM: the pid of the task named COMM.
pid_of() {
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] && { echo "${p#/proc/}"; return 0; }
	done
	return 1
}

# Evidence that a pack's replacements ran (trace.sh counts their calls).
# trace_pack [UNREACHED...]: start counting the calls of the current pack
#   module ($ko; of pack $d: a module without ftrace sites is counted at the
#   entries of its targets' replacements, but those in UNREACHED).
# trace_workload WORKLOAD [UNREACHED...]: trace_pack, then the function
#   WORKLOAD, once for each round of counting a pack without ftrace sites
#   takes (four targets a round).
# exercised [UNREACHED...]: after trace_pack and a workload: prints
#   "exercised: N of M targets ran (f=c ...)"; fails unless every target of
#   $d ran, but those named in UNREACHED (which the test says why it cannot
#   reach).
# lib.sh and trace.sh sit side by side (mkinitramfs.sh puts them in
# /splice/selftests); lib.sh is sourced both from there (bench.sh) and from
# tests/, so the folder is named rather than taken from $0.
. "${SPLICE_SELFTESTS:-/splice/selftests}/trace.sh"
trace_pack() {
	trace_module "$(basename "$ko" .ko)" "$d" "$@" >/tmp/trace.why || fail "$(cat /tmp/trace.why)"
}

trace_workload() {
	local workload=$1 rounds
	shift
	rounds=$(trace_rounds "$(basename "$ko" .ko)" "$d" "$@")
	trace_round=1
	while :; do
		trace_pack "$@"
		$workload
		[ $trace_round -lt $rounds ] || break
		trace_round_end
		trace_round=$((trace_round + 1))
	done
}

exercised() {
	exercised_targets "$d" "$@"
	[ -z "$ex_missing" ] || fail "$(basename "$ko" .ko): no call of the replacement of$ex_missing while applied"
	return 0
}

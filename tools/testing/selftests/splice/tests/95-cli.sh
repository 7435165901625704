#!/bin/sh
# The admin command, splice, on the running kernel: each command, and the
# exit code and message of each class of failure (admin-guide.rst, "The
# splice command"). Packs are loaded through the command, so cleanup() (which
# reverses and removes what use_pack/load registered) is told about them.
. "$(dirname "$0")/../lib.sh"
command -v splice >/dev/null || { echo "SKIP: splice not built"; exit 4; }
root=/sys/kernel/splice

# cli CODE ARGS...: run splice ARGS; it must exit with CODE. Output in $out.
cli() {
	want=$1; shift
	out=$(splice "$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || fail "splice $*: exit $rc, expected $want: $out"
}
# says TEXT: the last command's output holds TEXT.
says() {
	echo "$out" | grep -q -- "$1" || fail "output lacks '$1': $out"
}
# load_cli NAME: load pack NAME with the command (and register it for cleanup).
load_cli() {
	use_pack "$1"
	cli 0 load "$ko"
	loaded="$d|$ko $loaded"
	says "as pack $1"
}

cli 0 status
says "patch level: $(uname -r)"
says "^effective version: $(uname -r)$"
cli 0 --json status
says '"present":true'

load_cli target-value
cli 15 load "$ko"
says "already loaded"
cli 0 list
says "^target-value  *loaded  *2 "
cli 0 show splice_target_value
says "stage:       loaded"
cli 0 check target-value
says "fits the running kernel"
is $target/value 42
cli 0 apply target-value
is $target/value 63
cli 0 --json show target-value
says '"stage":"applied"'
says '"function":"splice_target_compute"'
cli 0 status
says "patch level: $(uname -r) + target-value"
# A pack that does not say whose fixes it carries is named in the effective
# version (the stable set's and the demo's say: tests 91, make demo).
says "^effective version: $(uname -r) + target-value$"
cli 0 --json status
says '"effective_version":"'"$(uname -r)"' + target-value"'
says '"carried":\[{"fixed_in":"","fixes":\[\],"pack":"target-value"}\]'
# For monitoring (node_exporter's textfile collector).
cli 0 status --prometheus
says '^splice_pack_applied{pack="target-value"} 1$'
says '^splice_packs_applied 1$'
says "^splice_present{kernel_release=\"$(uname -r)\",.*} 1$"
cli 6 apply target-value
says "already applied"
cli 6 unload target-value
says "reverse it first"
[ -d $d ] || fail "unload of an applied pack removed it"

# A pack applied on top: reversing the lower one first is a conflict.
value_d=$d
load_cli target-stacked
cli 0 apply target-stacked
is $target/value 84
cli 15 reverse target-value
says "conflicting_pack"
cli 0 reverse target-stacked
cli 0 unload target-stacked
d=$value_d

# A task in the code: code busy, naming it; nothing changes.
echo 2 >$root/tries
echo 20 >$root/retry_delay_ms
echo 1 >$target/hold
wait_for $target/hold 1
pid=$(pid_of splice-hold) || fail "no splice-hold kthread"
cli 11 reverse target-value
says "code_busy"
says "splice-hold (pid $pid) in splice_target_hold"
says "tried 2 times"
says "trying again later is safe"
is $target/value 63
# The same failure under --json, with tries set for this action alone.
cli 11 --json reverse target-value --tries 3 --retry-delay 10
says '"abort_cause":"code_busy"'
says '"tries":3'
says "\"pid\":$pid"
says '"stage":"applied"'
[ "$(cat $root/tries)" = 2 ] || fail "--tries 3 was not put back: tries is $(cat $root/tries)"
is $target/value 63
echo 0 >$target/hold
wait_for $target/hold 0
cli 0 reverse target-value
is $target/value 42
cli 6 reverse target-value
cli 0 unload target-value
[ -d $d ] && fail "unload left $d"
cli 4 show target-value
says "no pack named"

# Causes: the exit code of each class.
load_cli target-other-source
cli 10 apply target-other-source
says "no_match"
cli 0 unload target-other-source

load_cli mod-greeting
cli 12 check mod-greeting
says "target_not_loaded"
cli 0 unload mod-greeting

load_cli target-hooks
echo pre-apply >$target/fail_hook
cli 13 apply target-hooks
says "hook_failed"
echo none >$target/fail_hook
cli 0 unload target-hooks

# Files that are not packs.
cli 14 load /splice/selftests/run.sh
says "not a kernel module"
head -c 4096 $packs/splice_target_value.ko >/tmp/truncated.ko
cli 14 load /tmp/truncated.ko
cli 4 load /splice/packs/absent.ko
cli 0 list
says "no packs loaded"
cleanup
echo "ok: every command, and exit codes 4, 6, 10, 11, 12, 13, 14, 15"

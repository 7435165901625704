#!/bin/sh
# Hooks and shadow data (pack target-hooks, which has a hook of every kind and
# counts reads of /sys/kernel/splice_target/value in shadow data). A failing
# pre or check hook aborts with hook_failed, the fail hook runs, and nothing
# stays applied; a failing apply or post hook is logged and ignored; without failures the hooks run in order; the shadow counts
# from 1 after each apply, because reverse frees it.
. "$(dirname "$0")/../lib.sh"
use_pack target-hooks
is $target/value 42
load
for kind in pre-apply check-apply; do
	echo >$target/events
	echo $kind >$target/fail_hook
	act apply hook_failed "canceled"
	log_says "\"target-hooks\": hook_failed: its $kind hook"
	stage_is loaded
	is $target/value 42
	case $kind in
	pre-apply) is $target/events "pre-apply fail-apply" ;;
	check-apply) is $target/events "pre-apply check-apply fail-apply" ;;
	esac
done
# Apply and post hooks run once the switch is done: they cannot fail. One that
# returns an error is logged and ignored; the action stands, the fail hook
# does not run.
for kind in apply post-apply; do
	echo $kind >$target/fail_hook
	echo >$target/events
	act apply
	is $target/events "pre-apply check-apply apply post-apply"
	is $target/value "42 (read 1 times since the fix)"
	log_says "\"target-hooks\": its $kind hook"
	echo none >$target/fail_hook
	act reverse
	is $target/value 42
done
echo none >$target/fail_hook
echo >$target/events
act apply
is $target/events "pre-apply check-apply apply post-apply"
is $target/value "42 (read 1 times since the fix)"
is $target/value "42 (read 2 times since the fix)"

echo check-reverse >$target/fail_hook
echo >$target/events
act reverse hook_failed "canceled"
log_says "\"target-hooks\": hook_failed: its check-reverse hook"
stage_is applied
is $target/events "pre-reverse check-reverse fail-reverse"
is $target/value "42 (read 3 times since the fix)"
echo none >$target/fail_hook
echo >$target/events
act reverse
is $target/events "pre-reverse check-reverse reverse post-reverse"
is $target/value 42
act apply
is $target/value "42 (read 1 times since the fix)"
act reverse
unload
echo >$target/events
echo "ok: hook_failed left nothing applied; hooks ran in order; shadow data freed on reverse"

#!/bin/sh
# A pack made from source that is not the running kernel's (here:
# splice_target_compute multiplies by 5, the kernel's by 2) is refused by
# run-pre matching with no_match, for check and for apply, and changes
# nothing, whatever its kernel release and build-id say.
. "$(dirname "$0")/../lib.sh"
use_pack target-other-source
is $target/value 42
load
act check no_match "Exec format error"
stage_is loaded
act apply no_match "Exec format error"
stage_is loaded
is $target/value 42
dmesg | grep -q "target-other-source.*no_match.*splice_target_compute" ||
	fail "the kernel log does not say which function did not match"
[ -z "$(cat $d/targets)" ] || fail "targets listed after no_match: $(cat $d/targets)"
unload
echo "ok: no_match on check and apply, nothing changed"

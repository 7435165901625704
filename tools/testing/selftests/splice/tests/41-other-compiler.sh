#!/bin/sh
# The fix of target-value, compiled by another compiler (Debian's gcc-16 for
# this kernel built by the host's gcc, splice-create --any-compiler): the
# source is the running kernel's, the code is not, and run-pre matching
# refuses it with no_match on check and apply; nothing changes.
. "$(dirname "$0")/../lib.sh"
use_pack target-other-compiler
is $target/value 42
load
act check no_match "Exec format error"
stage_is loaded
act apply no_match "Exec format error"
stage_is loaded
is $target/value 42
dmesg | grep -q "target-other-compiler.*no_match" ||
	fail "the kernel log does not say which function did not match"
unload
echo "ok: a pack of another compiler is refused with no_match, nothing changed"

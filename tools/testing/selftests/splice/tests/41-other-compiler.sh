#!/bin/sh
# The fix of target-value, compiled by another compiler (Debian's gcc-16 for
# the test kernel built by the host's gcc, splice-create --any-compiler; gcc-15
# for Debian's kernel built by gcc-16, from a copy of the tree configured for
# it): the source is the running kernel's, the code is not, and run-pre
# matching refuses it with no_match on check and apply; nothing changes.
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

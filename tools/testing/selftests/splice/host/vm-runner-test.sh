#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The VM runner must fail a guest that panics, and name the console log.
# Boots the built kernel with an init that exits at once (busybox run as
# init prints its help and exits, so the kernel panics).
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
: "${KERNEL_TREE:=$src/build/linux-${KERNEL_VERSION:-7.2.12}}"
. "$(dirname "$0")/lib.sh"
if ! [ -f "$KERNEL_TREE/arch/x86/boot/bzImage" ]; then
	skip "the VM runner on a panicking guest" "no kernel built in $KERNEL_TREE (make build first)"
	finish vm-runner
	exit
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
VM_NAME=runner-selftest VM_TIMEOUT=60 VM_APPEND="rdinit=/bin/busybox" \
	"$src/scripts/splice/vm.sh" test >"$out" 2>&1
rc=$?
check "a panicking guest fails the run" test $rc -ne 0
check "the panic is reported with the console log" grep -q 'not ok - kernel log free of panics.*console: .*runner-selftest/console.log' "$out"
check "missing guest results are reported" grep -q 'not ok - guest tests ran to the end' "$out"
check "the run ends with a failure count" grep -qE '^vm: [0-9]+ passed, [1-9][0-9]* failed, [0-9]+ skipped$' "$out"
finish vm-runner

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tally.sh, which make check (check.sh) and host/run.sh count test commands
# with: passes, failures and skips from the last totals line; a command that
# fails with no failure counted, prints no totals or counts no test at all
# is a failure, never a silent pass.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
# counts TEXT RC EXPECTED: tally.sh of output TEXT and status RC gives EXPECTED.
counts() { [ "$(printf '%s\n' "$1" | "$src/scripts/splice/tally.sh" - "$2")" = "$3" ]; }

check "passes" counts "x: 3 passed, 0 failed" 0 "3 0 0"
check "skips apart" counts "x: 3 passed, 0 failed, 2 skipped" 0 "3 0 2"
check "the last totals line" counts $'x: 1 passed, 0 failed\ny: 4 passed, 1 failed' 1 "4 1 0"
check "failures as counted" counts "x: 2 passed, 3 failed" 1 "2 3 0"
check "a failing exit with none counted is one" counts "x: 2 passed, 0 failed" 1 "2 1 0"
check "no totals line is a failure" counts "something went wrong" 0 "0 1 0"
check "nothing at all is a failure" counts "" 0 "0 1 0"
check "counting no test is a failure" counts "x: 0 passed, 0 failed" 0 "0 1 0"
check "a skip alone is not" counts "x: 0 passed, 0 failed, 1 skipped" 0 "0 0 1"
# host/run.sh itself, with a test that ran nothing beside one that passes.
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/tools/testing/selftests/splice/host" "$dir/scripts/splice"
cp "$src/scripts/splice/tally.sh" "$dir/scripts/splice/"
h=$dir/tools/testing/selftests/splice/host
cp "$src/tools/testing/selftests/splice/host/run.sh" "$src/tools/testing/selftests/splice/host/lib.sh" "$h/"
printf '#!/bin/sh\necho "a: 2 passed, 0 failed"\n' >"$h/a-test.sh"
printf '#!/bin/sh\nexit 0\n' >"$h/b-test.sh"
chmod +x "$h"/*-test.sh
out=$("$h/run.sh" 2>&1)
rc=$?
check "host/run.sh counts a test that ran nothing as a failure" grep -qx "host: 2 passed, 1 failed, 0 skipped" <<<"$out"
check "and fails" test $rc -ne 0
finish tally

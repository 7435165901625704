#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest test runner (tools/testing/selftests/splice/run.sh), run on the
# host with stand-in tests: a test that fails while a process it started in
# the background still runs is reported as failed, with its message, and the
# run goes on to the next test and to its final line. (32-races.sh, failing
# under retbleed=stuff, left its reader running: the runner waited for the
# reader's end of its output and the guest run hung until the host's 600 s
# timeout, with no line for that test or any after it.)
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"

mkdir -p "$t/tests"
cp "$src/tools/testing/selftests/splice/run.sh" "$t/run.sh"
# The stand-in reader ends when this test's folder is gone, and after 30 s
# at most: it must not outlive the host tests (it holds their output).
printf '#!/bin/sh\ni=0\nwhile [ -d %s ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done &\necho "FAIL: the reader is still running"\nexit 1\n' \
	"$t/tests" >"$t/tests/10-leaves-a-reader.sh"
printf '#!/bin/sh\necho fine\n' >"$t/tests/20-next.sh"
out=$(timeout 20 sh "$t/run.sh" 2>&1)
rc=$?
check "the run ends although a test left a process running" test "$rc" != 124
check "the test is reported failed" grep -qx "not ok 1 leaves-a-reader # exit status 1" <<<"$out"
check "with its message" grep -qx "# FAIL: the reader is still running" <<<"$out"
check "the next test runs" grep -qx "ok 2 next" <<<"$out"
check "and the run says it is done" grep -qx "# splice-guest: done" <<<"$out"

# splice_tests= runs the tests it names; a name no test has is a failure (a
# list in check.sh that outlived a renamed test would otherwise run less
# than it says, and pass).
echo "console=ttyS0 splice_tests=next,no-such-test,20-next" >"$t/cmdline"
out=$(SPLICE_CMDLINE=$t/cmdline timeout 20 sh "$t/run.sh" 2>&1)
check "splice_tests: the plan counts the named tests" grep -qx "1..2" <<<"$out"
check "splice_tests: a name no test has fails" grep -qx "not ok 1 no-such-test # no such test" <<<"$out"
check "splice_tests: the named test runs" grep -qx "ok 2 next" <<<"$out"
others=$(grep -c "leaves-a-reader" <<<"$out")
check "splice_tests: the others do not" test "$others" = 0
# In the order of tests/, each once: a test named twice runs once.
ran=$(grep -c "^ok [0-9]* next" <<<"$out")
check "splice_tests: a test named twice runs once" test "$ran" = 1
echo "splice_tests=next,leaves-a-reader" >"$t/cmdline"
out=$(SPLICE_CMDLINE=$t/cmdline timeout 20 sh "$t/run.sh" 2>&1)
check "splice_tests: the tests run in the order of tests/" grep -qx "ok 2 next" <<<"$out"
finish guest-runner

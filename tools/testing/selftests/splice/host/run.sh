#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the host-side tests of the build scripts (*-test.sh here); each ends
# with "NAME: N passed, N failed[, N skipped]". Prints the totals the same
# way; a test that ran nothing is a failure (scripts/splice/tally.sh).
here=$(dirname "$0")
tally=$here/../../../../../scripts/splice/tally.sh
pass=0
fail=0
skip=0
for t in "$here"/*-test.sh; do
	out=$("$t" 2>&1)
	rc=$?
	echo "$out" | grep -v '^ok - '
	# A test that died (a die() of the script it tests), or ran nothing,
	# says nothing itself: tally.sh counts it as a failure.
	echo "$out" | grep -qE '[0-9]+ passed, [0-9]+ failed' ||
		echo "$(basename "$t" .sh): ended with exit $rc before its totals"
	read -r p f k < <(echo "$out" | "$tally" - $rc)
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + k))
done
echo "host: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

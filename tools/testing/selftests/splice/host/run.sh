#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the host-side tests of the build scripts (*-test.sh here); each ends
# with "NAME: N passed, N failed". Prints the totals the same way.
here=$(dirname "$0")
pass=0
fail=0
for t in "$here"/*-test.sh; do
	out=$("$t" 2>&1)
	rc=$?
	echo "$out" | grep -v '^ok - '
	line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	p=$(echo "$line" | sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2/p')
	f=$(echo "$line" | sed -nE 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\3/p')
	[ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
	# A test that died (a die() of the script it tests) says nothing itself.
	[ -n "$line" ] || echo "$(basename "$t" .sh): ended with exit $rc before its totals"
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
done
echo "host: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tally.sh LOG RC: the counts of a test command that printed LOG ("-": read
# it from stdin) and exited with RC, as "PASSED FAILED SKIPPED", from its
# last "N passed, N failed[, N skipped]" line. A skip is neither a pass nor a
# failure. One failure is counted for a command that failed with none
# counted, for one that printed no such line, and for one that counted no
# test at all: a test that ran nothing shows nothing, and must not pass.
set -uo pipefail
log=${1:?usage: tally.sh LOG RC}
rc=${2:?usage: tally.sh LOG RC}
[ "$log" = - ] && log=/dev/stdin
line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
p=0 f=0 k=0
if [ -n "$line" ]; then
	p=$(echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2/')
	f=$(echo "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\3/')
	k=$(echo "$line" | sed -nE 's/.* failed, ([0-9]+) skipped.*/\1/p')
	k=${k:-0}
fi
if [ "$f" -eq 0 ] && { [ "$rc" -ne 0 ] || [ $((p + k)) -eq 0 ]; }; then
	f=1
fi
echo "$p $f $k"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the splice guest tests and print the results as KTAP.
#
# Each test is an executable tests/NN-name.sh: exit 0 is a pass, 4 a skip
# (KSFT_SKIP), anything else a failure. Its output is printed as KTAP
# diagnostics. The last line, "# splice-guest: done", tells the host that the
# run finished; without it the host counts the run as failed.
#
# splice_tests=NAME,... on the kernel command line (VM_APPEND) runs only those
# tests (NAME as in tests/NN-NAME.sh, or NN-NAME); a NAME no test has fails.
# SPLICE_CMDLINE: another file to read the command line from (the host test).
here=$(dirname "$0")
tests=$(ls "$here"/tests/*.sh 2>/dev/null)
only=$(tr ' ' '\n' <"${SPLICE_CMDLINE:-/proc/cmdline}" | sed -n 's/^splice_tests=//p' | tr ',' ' ')
# A name no test has is a failure of its own (unknown), not a test left out.
unknown=
# named FILE NAME...: whether test file FILE is one of the NAMEs.
named() {
	b=$(basename "$1" .sh)
	shift
	for o in "$@"; do
		[ "$o" = "$b" ] || [ "$o" = "${b#[0-9][0-9]-}" ] && return 0
	done
	return 1
}
if [ -n "$only" ]; then
	# In the order of tests/, each once, whatever the order of the names.
	picked=
	for t in $tests; do
		named "$t" $only && picked="$picked $t"
	done
	for o in $only; do
		found=
		for t in $tests; do named "$t" "$o" && found=1; done
		[ -n "$found" ] || unknown="$unknown $o"
	done
	tests=$picked
fi
# splice_debug=1 (the debug kernel, scripts/splice/debug-check.sh): then the
# tests of tests/debug/, which need its fault injection and kmemleak.
if tr ' ' '\n' <"${SPLICE_CMDLINE:-/proc/cmdline}" | grep -qx 'splice_debug=1'; then
	tests="$tests $(ls "$here"/tests/debug/*.sh 2>/dev/null)"
	# What boot and KUnit left is not the guest tests' (80-kmemleak.sh).
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null
	echo clear >/sys/kernel/debug/kmemleak 2>/dev/null
fi
n=0
for t in $tests $unknown; do n=$((n + 1)); done

# leftovers: the packs a test left registered (it must leave the kernel as it
# found it, or the tests after it fail for its sake). Each is reversed and
# unloaded (a test pack's module is splice_NAME), and named.
leftovers() {
	for s in /sys/kernel/splice/*/stage; do
		[ -f "$s" ] || continue
		p=$(basename "$(dirname "$s")")
		echo "$p ($(cat "$s"))"
		[ "$(cat "$s")" = applied ] && echo reverse >"$s" 2>/dev/null
		rmmod "splice_$(echo "$p" | tr - _)" 2>/dev/null
	done
}
# The tests mark the kernel log before each action (lib.sh: kmsg_mark), more
# often than /dev/kmsg's rate limit lets through: lifted for the run, unless
# the command line fixed it (then lib.sh says the marks are missing).
devkmsg=$(cat /proc/sys/kernel/printk_devkmsg 2>/dev/null)
echo on >/proc/sys/kernel/printk_devkmsg 2>/dev/null
echo "KTAP version 1"
echo "1..$n"
i=0
for o in $unknown; do
	i=$((i + 1))
	echo "# splice_tests= names $o, which no tests/NN-$o.sh is"
	echo "not ok $i $o # no such test"
done
for t in $tests; do
	i=$((i + 1))
	name=$(basename "$t" .sh)
	name=${name#[0-9][0-9]-}
	# Into a file of its own, not through a pipe: a test that fails while a
	# process it started in the background runs (32-races.sh's reader) would
	# keep the pipe open, and the run would wait for it until the host's
	# timeout, with no line for this test or any after it.
	sh "$t" >"/tmp/splice-test.$i.out" 2>&1
	rc=$?
	out=$(cat "/tmp/splice-test.$i.out")
	left=$(leftovers)
	if [ -n "$left" ]; then
		out="$out
FAIL: the test left packs registered: $(echo $left)"
		[ $rc = 0 ] || [ $rc = 4 ] && rc=1
	fi
	[ -n "$out" ] && echo "$out" | sed 's/^/# /'
	case $rc in
	0) echo "ok $i $name" ;;
	4) echo "ok $i $name # SKIP" ;;
	*) echo "not ok $i $name # exit status $rc" ;;
	esac
done
[ -z "$devkmsg" ] || echo "$devkmsg" >/proc/sys/kernel/printk_devkmsg 2>/dev/null
echo "# splice-guest: done"

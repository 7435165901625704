# SPDX-License-Identifier: GPL-2.0
# Shared by the host tests: source it, call check for each assertion and
# finish NAME at the end (prints "NAME: N passed, N failed, N skipped" and
# sets the exit status); skip names a check that cannot run here, and why.
pass=0
fail=0
skip=0
# check NAME CMD...: CMD succeeding is a pass.
check() {
	local name=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok - $name"; else fail=$((fail + 1)); echo "not ok - $name"; fi
}
# skip NAME REASON: a check not made here (neither a pass nor a failure).
skip() {
	skip=$((skip + 1))
	echo "skip - $1: $2"
}
finish() {
	echo "$1: $pass passed, $fail failed, $skip skipped"
	[ $fail -eq 0 ]
}

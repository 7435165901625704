# SPDX-License-Identifier: GPL-2.0
# Shared by the host tests: source it, call check for each assertion and
# finish NAME at the end (prints "NAME: N passed, N failed" and sets the exit
# status).
pass=0
fail=0
# check NAME CMD...: CMD succeeding is a pass.
check() {
	local name=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok - $name"; else fail=$((fail + 1)); echo "not ok - $name"; fi
}
finish() {
	echo "$1: $pass passed, $fail failed"
	[ $fail -eq 0 ]
}

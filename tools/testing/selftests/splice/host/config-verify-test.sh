#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host test of scripts/splice/config-verify.sh: it must name every requested
# option that did not take effect, and accept a config that has them all.
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
v=$src/scripts/splice/config-verify.sh
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"
cat >"$t/frag" <<'F'
# comment
CONFIG_A=y
CONFIG_B=m
CONFIG_N=8
# CONFIG_D is not set
F
printf 'CONFIG_A=y\nCONFIG_B=m\nCONFIG_N=8\n# CONFIG_D is not set\n' >"$t/good"
printf 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_N=4\nCONFIG_D=y\n' >"$t/bad"

"$v" "$t/good" "$t/frag" >"$t/out" 2>&1
check "a config with every option passes" test $? -eq 0
"$v" "$t/bad" "$t/frag" >"$t/out" 2>&1
check "a config missing options fails" test $? -ne 0
check "names an option that is not set" grep -q 'CONFIG_B=m: got # CONFIG_B is not set' "$t/out"
check "names an option with another value" grep -q 'CONFIG_N=8: got CONFIG_N=4' "$t/out"
check "names an option that must be off" grep -q '# CONFIG_D is not set: got CONFIG_D=y' "$t/out"
check "counts them" grep -q '^3 requested option' "$t/out"
printf 'CONFIG_A=y\n' >"$t/short"
"$v" "$t/short" "$t/frag" >"$t/out" 2>&1
check "names an absent option" grep -q 'CONFIG_B=m: got CONFIG_B absent' "$t/out"
finish config-verify

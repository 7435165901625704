#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# config-verify.sh DOTCONFIG FRAGMENT...
#
# Check that every option the fragments ask for is in DOTCONFIG as asked:
# "CONFIG_X=v" must appear as written, "# CONFIG_X is not set" must not be
# set. Lists each option that is not, with what DOTCONFIG has instead, and
# exits 1 if there is any.
set -euo pipefail
dotconfig=$1; shift
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		opt=${line%%=*}
		if ! grep -qxF "$line" "$dotconfig"; then
			got=$(grep -E "^$opt=|^# $opt is not set" "$dotconfig" || echo "$opt absent")
			echo "    $line: got $got"
			missing=$((missing + 1))
		fi
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -qE "^$opt=" "$dotconfig"; then
			echo "    $line: got $(grep -E "^$opt=" "$dotconfig")"
			missing=$((missing + 1))
		fi
		;;
	esac
done < <(cat "$@")
if [ $missing -gt 0 ]; then
	echo "$missing requested option(s) not set as asked in $dotconfig"
	exit 1
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run-cases.sh DIR: runs the generator on each case of DIR/cases (NAME OUTCOME
# [MESSAGE]; see catalogue/cases; OUTCOME "park" is a pack of function
# MESSAGE, which some task always sleeps in: the guest expects its apply to be
# refused as code_busy, naming MESSAGE, unless the tasks are parked) against
# the built tree. Packs, named
# <DIR's name>-NAME, go to $SPLICE_BUILD/guest/<DIR's name>/ for the guest
# tests; refusals, and that building a pack module warns of nothing (objtool),
# are checked here. Prints "<DIR's name>: N passed, N failed".
here=$(cd "${1:?usage: run-cases.sh DIR}" && pwd)
group=$(basename "$here")
. "$(dirname "$0")/../../../../scripts/splice/lib.sh"
tool=$SPLICE_TOOLS/splice-create
out=$SPLICE_BUILD/$group
dest=$SPLICE_BUILD/guest/$group
rm -rf "$out" "$dest"
mkdir -p "$out" "$dest"
# Pack names: cat-NAME for the catalogue, the directory's name otherwise.
prefix=$group
[ "$group" = catalogue ] && prefix=cat
pass=0
fail=0
while IFS=$'\t' read -r name outcome message; do
	case $name in ''|'#'*) continue ;; esac
	log=$out/$name.log
	if "$tool" --tree "$KERNEL_TREE" --patch "$here/$name.diff" --name "$prefix-$name" \
		-o "$out/splice_${prefix}_$(echo "$name" | tr - _).ko" --report "$out/$name.json" \
		>"$log" 2>&1; then made=yes; else made=no; fi
	case $outcome in
	pack | park)
		if [ $made = yes ] && [ "$outcome" = pack ] && [ -n "$message" ] &&
			! grep -Eq "$message" "$log"; then
			echo "not ok - $name: pack made, but its log does not say '$message' (log: $log)"
			fail=$((fail + 1))
		elif [ $made = yes ]; then
			cp "$out/splice_${prefix}_$(echo "$name" | tr - _).ko" "$dest/"
			# park: MESSAGE is a function some task always sleeps in.
			[ "$outcome" = park ] && echo "$prefix-$name $message" >>"$dest/park"
			echo "ok - $name: pack made ($(grep -o 'target [^ ]*' "$log" | sed 's/target //' | tr '\n' ' '))"
			pass=$((pass + 1))
			# objtool checks the carried code when Kbuild builds the module, and makes
			# its ORC data: a warning means code it could not follow.
			if grep -q 'warning:' "$log"; then
				grep 'warning:' "$log" | head -n 3 | sed 's/^/    /'
				echo "not ok - $name: the module build warned (log: $log)"
				fail=$((fail + 1))
			else
				echo "ok - $name: the module build warned of nothing"
				pass=$((pass + 1))
			fi
		else
			tail -n 5 "$log" | sed 's/^/    /'
			echo "not ok - $name: no pack (log: $log)"
			fail=$((fail + 1))
		fi
		;;
	refuse)
		# The report says why too.
		if [ $made = no ] && grep -Eq "$message" "$log" &&
			python3 -c 'import json, re, sys; sys.exit(not re.search(sys.argv[2], json.load(open(sys.argv[1]))["refused"]))' \
				"$out/$name.json" "$message" 2>/dev/null; then
			echo "ok - $name: refused: $(grep -E "$message" "$log" | head -n 1 | cut -c1-160)"
			pass=$((pass + 1))
		else
			tail -n 5 "$log" | sed 's/^/    /'
			echo "not ok - $name: expected a refusal matching '$message', in its log and report (log: $log)"
			fail=$((fail + 1))
		fi
		;;
	*)
		echo "not ok - $name: unknown outcome '$outcome'"
		fail=$((fail + 1))
		;;
	esac
done <"$here/cases"
echo "$group: $pass passed, $fail failed"
[ $fail -eq 0 ]

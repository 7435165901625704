#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run-cases.sh DIR: runs the generator on each case of DIR/cases (NAME OUTCOME
# [targets=F,...] [targets@TOOLCHAIN=F,...] [MESSAGE]; see catalogue/cases; OUTCOME "park" is a pack of function
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
# A set of real fixes is made of diffs of one point release (DIR/BASE): on
# another one they are not the fixes of the running source. Counted as skips.
if [ -f "$here/BASE" ] && [ "$(cat "$here/BASE")" != "$KERNEL_VERSION" ]; then
	n=$(grep -cvE '^(#|$)' "$here/cases")
	echo "SKIP: $group: its $n fixes are diffs of $(cat "$here/BASE"), the tree is $KERNEL_VERSION"
	echo "$group: 0 passed, 0 failed, $n skipped"
	exit 0
fi
# A set of real fixes of one point release names the release they come from
# (DIR/NEXT): its packs say they carry fixes of it; the guest checks they say so.
next=
if [ -f "$here/NEXT" ]; then
	next=$(cat "$here/NEXT")
	cp "$here/NEXT" "$dest/NEXT"
fi
# Pack names: cat-NAME for the catalogue, the directory's name otherwise.
prefix=$group
[ "$group" = catalogue ] && prefix=cat
pass=0
fail=0
while IFS=$'\t' read -r name outcome message; do
	case $name in ''|'#'*) continue ;; esac
	expected=
	case $message in targets=*)
		expected=${message%%$'\t'*}
		expected=${expected#targets=}
		case $message in *$'\t'*) message=${message#*$'\t'} ;; *) message= ;; esac
		# targets@TOOLCHAIN=F,...: what another compiler makes of the fix (its inlining
		# decides which callers change), used with SPLICE_TOOLCHAIN=TOOLCHAIN.
		while case $message in targets@*=*) true ;; *) false ;; esac; do
			field=${message%%$'\t'*}
			tc_name=${field#targets@}
			tc_name=${tc_name%%=*}
			[ "$tc_name" = "$SPLICE_TOOLCHAIN" ] && expected=${field#*=}
			case $message in *$'\t'*) message=${message#*$'\t'} ;; *) message= ;; esac
		done
		;;
	*)
		if [ "$outcome" = pack ] || [ "$outcome" = park ]; then
			echo "not ok - $name: the case names no expected targets (targets=F,... after $outcome)"
			fail=$((fail + 1))
			continue
		fi
		;;
	esac
	log=$out/$name.log
	if tc "$tool" --tree "$KERNEL_TREE" --patch "$here/$name.diff" --name "$prefix-$name" \
		${next:+--fixed-in "$next"} \
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
			# The guest's evidence that the pack does what its fix does.
			[ -f "$here/$name.sh" ] && cp "$here/$name.sh" "$dest/splice_${prefix}_$(echo "$name" | tr - _).sh"
			# park: MESSAGE is a function some task always sleeps in.
			[ "$outcome" = park ] && echo "$prefix-$name $message" >>"$dest/park"
			echo "ok - $name: pack made ($(grep -o 'target [^ ]*' "$log" | sed 's/target //' | tr '\n' ' '))"
			pass=$((pass + 1))
			# The targets the case expects, no more and no fewer. A clone's suffix
			# (do_move_mount.isra.0) is the compiler's name for the function; a
			# target written NAME? is one some compilers inline a change into and
			# others do not (the case file says why).
			got=$(python3 -c '
import json, re, sys
names = (t.get("rust") or t["function"] for t in json.load(open(sys.argv[1]))["pack"]["targets"])
want = [w for w in sys.argv[2].split(",") if w]
must = {w for w in want if not w.endswith("?")}
may = {w[:-1] for w in want if w.endswith("?")}
got = sorted(re.sub(r"(\.(isra|constprop|part|cold)\.[0-9]+)+$", "", n) for n in names)
print(",".join(n for n in got if n not in may) or "-")' "$out/$name.json" "$expected")
			want=$(echo "$expected" | tr ',' '\n' | sed '/^$/d;/?$/d' | sort | paste -sd, -)
			if [ "$got" = "${want:--}" ]; then
				echo "ok - $name: the targets are the expected ones"
				pass=$((pass + 1))
			else
				echo "not ok - $name: targets $got, the case expects $want"
				fail=$((fail + 1))
			fi
			# Each target is the code an ordinary build of the fixed file makes.
			equiv=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
v, n = r.get("equivalence", []), len(r["pack"]["targets"])
bad = [x["function"] + ": " + x["difference"] for x in v if x["difference"]]
print("%d %d %s" % (len(v) - len(bad), n, "; ".join(bad)))' "$out/$name.json")
			read -r same total why <<<"$equiv"
			if [ "$same" = "$total" ]; then
				echo "ok - $name: equivalent to a rebuild: $same of $total targets"
				pass=$((pass + 1))
			else
				echo "not ok - $name: equivalent to a rebuild: $same of $total targets ($why)"
				fail=$((fail + 1))
			fi
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

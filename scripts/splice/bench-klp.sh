#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# splice-create and upstream klp-build side by side, in one run, on the same
# real fixes and the same tree (make bench-klp):
#
#   bench-klp.sh [FIX...]     FIX: a diff of tools/testing/selftests/splice/stable/
#                             without .diff (default: fs-pipe kernel-workqueue
#                             fs-namespace)
#
# klp-build (scripts/livepatch/klp-build of the 7.2 tree) needs a tree it may
# clean and rebuild with -ffunction-sections -fdata-sections: it runs in a
# copy of the built tree, $SPLICE_BUILD/klp/linux-$KERNEL_VERSION, with the
# same source and .config. Its first fix pays for the build of the original
# kernel (that is what klp-build does for a new kernel); for the next fixes it
# is told to reuse it (--short-circuit=2), which is klp-build at its fastest.
# Prints seconds for each and the ratio; writes $SPLICE_BUILD/klp/bench.json.
# Fails only if splice-create fails; a klp-build failure is reported.
. "$(dirname "$0")/lib.sh"

fixes=("$@")
[ ${#fixes[@]} -gt 0 ] || fixes=(fs-pipe kernel-workqueue fs-namespace)
dir=$SPLICE_SRC/tools/testing/selftests/splice/stable
klp=$SPLICE_BUILD/klp
tree=$klp/linux-$KERNEL_VERSION
out=$klp/out
mkdir -p "$klp" "$out"
for f in "${fixes[@]}"; do [ -f "$dir/$f.diff" ] || die "no fix $dir/$f.diff"; done
[ -x "$SPLICE_TOOLS/splice-create" ] || build_tools

# The original kernel klp-build built (klp-tmp/1-orig) is reused while the
# running kernel's vmlinux is the same (as eval.sh does); BENCH_KLP_FULL=1
# measures a first build again.
stamp=$(sha256 "$KERNEL_TREE/vmlinux")
if [ -d "$tree/klp-tmp/1-orig" ] && [ "$(cat "$klp/stamp" 2>/dev/null)" = "$stamp" ] &&
	[ -z "${BENCH_KLP_FULL:-}" ]; then
	say "klp-build reuses its original kernel build in $tree"
else
	say "copying the built tree for klp-build ($tree)"
	rsync -a --delete "$KERNEL_TREE/" "$tree/"
	rm -rf "$tree/klp-tmp" "$klp/stamp"
fi

now() { date +%s.%N; }
secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }

results=()
first=1
for f in "${fixes[@]}"; do
	t0=$(now)
	"$SPLICE_TOOLS/splice-create" -q --tree "$KERNEL_TREE" --patch "$dir/$f.diff" \
		--name "klpbench-$f" -o "$out/splice_$f.ko" || die "splice-create failed for $f"
	s=$(secs "$t0" "$(now)")

	short=()
	[ -f "$klp/stamp" ] && first=0
	[ $first = 1 ] || short=(--short-circuit=2)
	mode=$([ $first = 1 ] && echo "full" || echo "reuse")
	say "klp-build $f ($mode$([ $first = 1 ] && echo ': builds the original kernel first, minutes'))"
	t0=$(now)
	if (cd "$tree" && ./scripts/livepatch/klp-build -T -j "$(nproc)" "${short[@]}" \
		-o "$out/livepatch-$f.ko" "$dir/$f.diff") >"$out/klp-build-$f.log" 2>&1; then
		k=$(secs "$t0" "$(now)")
		kok=ok
		[ $first = 1 ] && echo "$stamp" >"$klp/stamp"
		first=0
	else
		k=$(secs "$t0" "$(now)")
		kok="failed: $(grep -m1 'error' "$out/klp-build-$f.log" | cut -c1-100)"
		warn "klp-build failed for $f (log: $out/klp-build-$f.log)"
	fi
	ratio=$(echo "scale=0; $k / $s" | bc)
	say "$f: splice-create $s s, klp-build $k s ($mode, $kok): ${ratio}x"
	results+=("$f $s $k $mode $ratio $kok")
done

echo
echo "diff -> module on $(nproc) CPUs, seconds (same tree, same fixes):"
printf '  %-20s %14s %14s %8s %7s  %s\n' fix splice-create klp-build klp-mode ratio klp-result
for r in "${results[@]}"; do
	read -r f s k mode ratio kok <<<"$r"
	printf '  %-20s %14s %14s %8s %6sx  %s\n' "$f" "$s" "$k" "$mode" "$ratio" "$kok"
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
rows = []
for line in sys.stdin:
    f, s, k, mode, ratio, res = line.split(" ", 5)
    rows.append({"fix": f, "splice_create_s": float(s), "klp_build_s": float(k),
                 "klp_build_mode": mode, "ratio": int(ratio), "klp_build": res.strip()})
json.dump(rows, open(sys.argv[1], "w"), indent=1)
' "$klp/bench.json"
say "figures in $klp/bench.json"

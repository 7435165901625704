#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# splice-create and upstream klp-build side by side, in one run, on the same
# real fixes and the same tree (make bench-klp):
#
#   bench-klp.sh [FIX...]     FIX: a diff of tools/testing/selftests/splice/stable/
#                             without .diff (default: fs-pipe kernel-workqueue
#                             fs-namespace)
#
# klp-build (scripts/livepatch/klp-build of the 7.2 tree) runs as klp.sh
# says: in a copy of the built tree; its first run pays for the build of the
# original kernel (what klp-build does for a new kernel), later runs, also of
# later invocations, reuse it (--short-circuit=2), which is klp-build at its
# fastest. KLP_FULL=1 measures the first build again.
# Prints seconds for each and the ratio; writes $SPLICE_BUILD/klp/bench.json.
# Fails only if splice-create fails; a klp-build failure is reported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/klp.sh"

fixes=("$@")
[ ${#fixes[@]} -gt 0 ] || fixes=(fs-pipe kernel-workqueue fs-namespace)
dir=$SPLICE_SRC/tools/testing/selftests/splice/stable
out=$SPLICE_BUILD/klp/out
mkdir -p "$out"
for f in "${fixes[@]}"; do [ -f "$dir/$f.diff" ] || die "no fix $dir/$f.diff"; done
build_tools # cargo: a no-op when the tools are up to date
klp_prepare

now() { date +%s.%N; }
secs() { printf '%.1f' "$(echo "$2 - $1" | bc)"; }

results=()
for f in "${fixes[@]}"; do
	t0=$(now)
	tc "$SPLICE_TOOLS/splice-create" -q --tree "$KERNEL_TREE" --patch "$dir/$f.diff" \
		--name "klpbench-$f" -o "$out/splice_$f.ko" || die "splice-create failed for $f"
	s=$(secs "$t0" "$(now)")
	klp_build "$dir/$f.diff" "$out/livepatch-$f.ko" "$out/klp-build-$f.log"
	k=$(printf '%.1f' "$klp_secs")
	kok=$klp_status${klp_error:+: $klp_error}
	[ $klp_status = ok ] || warn "klp-build failed for $f (log: $out/klp-build-$f.log)"
	ratio=$(echo "scale=0; $k / $s" | bc)
	say "$f: splice-create $s s, klp-build $k s ($klp_mode, $kok): ${ratio}x"
	results+=("$f $s $k $klp_mode $ratio $kok")
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
' "$klp_dir/bench.json"
say "figures in $klp_dir/bench.json"

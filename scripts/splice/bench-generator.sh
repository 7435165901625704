#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The generator benchmark: time from a diff to a pack module on the built
# tree, by phase, for real one-file fixes (tools/testing/selftests/splice/
# stable/). Prints figures; fails only if a pack cannot be made.
. "$(dirname "$0")/lib.sh"
tool=$SPLICE_TOOLS/splice-create
dir=$SPLICE_SRC/tools/testing/selftests/splice/stable
out=$SPLICE_BUILD/bench-generator
rm -rf "$out"
mkdir -p "$out"
# The fixes are diffs of stable/BASE: on another release there is nothing to time.
base=$(cat "$dir/BASE")
if [ "$KERNEL_VERSION" != "$base" ]; then
	echo "bench-generator: not run: its fixes are diffs of $base, the tree is $KERNEL_VERSION"
	exit 0
fi
echo "splice-create on $(nproc) CPUs, seconds by phase:"
printf '  %-34s %8s %8s %8s %8s %8s %8s\n' fix prepare objects compile compare module total
for fix in fs-pipe kernel-workqueue fs-namespace; do
	start=$(date +%s.%N)
	tc "$tool" -q --tree "$KERNEL_TREE" --patch "$dir/$fix.diff" --name "bench-$fix" \
		-o "$out/$fix.ko" --report "$out/$fix.json" || die "no pack for $fix"
	total=$(echo "$(date +%s.%N) - $start" | bc)
	python3 - "$out/$fix.json" "$fix" "$total" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = {x["name"]: x["seconds"] for x in r["phases"]}
print("  %-34s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f" % (sys.argv[2],
      p.get("prepare", 0), p.get("objects", 0), p.get("compile", 0),
      p.get("compare", 0), p.get("module", 0), float(sys.argv[3])))
PY
done

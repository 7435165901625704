#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The unit and end-to-end tests of tools/splice (cargo test), totalled as
# "tools: N passed, N failed".
. "$(dirname "$0")/lib.sh"
src=${SPLICE_SRC:-$(cd "$(dirname "$0")/../../../../.." && pwd)}
target=${SPLICE_BUILD:-$src/build}/tools-target
# The tests that read a built kernel tree are #[ignore]d for a plain cargo
# test; here they run, on the tree make built (KERNEL_TREE, as the Makefile
# exports it), and fail if it is missing.
: "${KERNEL_TREE:=${SPLICE_BUILD:-$src/build}/linux-${KERNEL_VERSION:-7.2.12}}"
export KERNEL_TREE
out=$(cargo test --release -j "$(nproc)" --manifest-path "$src/tools/splice/Cargo.toml" \
	--target-dir "$target" -- --include-ignored 2>&1)
rc=$?
echo "$out" | grep -E '^test .* (FAILED|ignored)|panicked|^error' | head -20
p=$(echo "$out" | sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\1/p' | paste -sd+ | bc)
f=$(echo "$out" | sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\2/p' | paste -sd+ | bc)
p=${p:-0}
f=${f:-0}
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "tools: $p passed, $f failed"
[ "$f" -eq 0 ]

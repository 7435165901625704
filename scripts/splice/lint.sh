#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Style checks that the kernel build does not do by itself.
#
# - rustfmt --check, with the kernel's .rustfmt.toml, on the kernel-side Rust
#   files of this repository.
# - cargo fmt --check and cargo clippy (warnings are errors) on tools/splice.
# Kernel-side clippy needs no step here: build-kernel.sh builds with CLIPPY=1
# and the test config sets CONFIG_WERROR, so a clippy or rustc warning fails
# the build.
. "$(dirname "$0")/lib.sh"

pass=0
fail=0
cd "$SPLICE_SRC"
while IFS= read -r f; do
	if rustfmt --edition 2021 --config-path "$KERNEL_TREE/.rustfmt.toml" --check "$f" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "not ok - rustfmt: $f (fix: rustfmt --edition 2021 --config-path $KERNEL_TREE/.rustfmt.toml $f)"
	fi
done < <(find kernel rust samples -name '*.rs' 2>/dev/null | LC_ALL=C sort)

manifest=$SPLICE_SRC/tools/splice/Cargo.toml
if cargo fmt --manifest-path "$manifest" --check >/dev/null 2>&1; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	echo "not ok - cargo fmt: tools/splice (fix: cargo fmt --manifest-path tools/splice/Cargo.toml)"
fi
if cargo clippy --manifest-path "$manifest" --release -j "$(nproc)" --all-targets \
	--target-dir "$SPLICE_BUILD/tools-clippy" -- -D warnings >"$SPLICE_LOGS/clippy-tools.log" 2>&1; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	echo "not ok - cargo clippy: tools/splice (log: $SPLICE_LOGS/clippy-tools.log)"
	grep -E '^(warning|error)' -A3 "$SPLICE_LOGS/clippy-tools.log" | head -20
fi
echo "lint: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Makes the sample packs of samples/splice/packs/ with the generator,
# splice-create, against the built kernel tree. A pack NAME is:
#
#   NAME.diff    the fix, a unified diff against the tree
#   NAME.base    optional: diffs (one per line, relative to that directory)
#                that the running kernel's source has on top of the tree:
#                another pack's fix for a stacked pack, or other source
#                altogether (base/*.diff) for the no_match test
#
# Output: $SPLICE_BUILD/guest/packs/splice_NAME.ko (and NAME.json, the
# generator's report, in $SPLICE_BUILD/packs/), and the sample target modules
# in $SPLICE_BUILD/guest/modules/; the admin command and splice-probe (the
# guest tests' probes of fixed behaviour) in $SPLICE_BUILD/guest/bin/.
. "$(dirname "$0")/lib.sh"

tree=$KERNEL_TREE
tool=$SPLICE_TOOLS/splice-create
packs=$SPLICE_SRC/samples/splice/packs
out=$SPLICE_BUILD/packs
dest=$SPLICE_BUILD/guest/packs
modules=$SPLICE_BUILD/guest/modules
rm -rf "$dest" "$modules" "$out"
mkdir -p "$dest" "$modules" "$out"

say "building splice-create and splice"
build_tools
mkdir -p "$SPLICE_BUILD/guest/bin"
cp "$SPLICE_TOOLS/splice" "$SPLICE_BUILD/guest/bin/"
# The programs the guest tests reach a fix's code with and observe it by.
build_probe "$SPLICE_BUILD/guest/bin"

for diff in "$packs"/*.diff; do
	name=$(basename "$diff" .diff)
	base=()
	if [ -f "$packs/$name.base" ]; then
		while read -r b; do
			[ -n "$b" ] && base+=(--base "$packs/$b")
		done <"$packs/$name.base"
	fi
	mod=splice_$(echo "$name" | tr - _)
	tc "$tool" --tree "$tree" --patch "$diff" "${base[@]}" --name "$name" \
		--description "sample pack $name" -o "$dest/$mod.ko" \
		--report "$out/$name.json" --work "$out/$name" >"$out/$name.log" 2>&1 ||
		{ tail -n 20 "$out/$name.log"; die "splice-create failed for $name (log: $out/$name.log)"; }
	say "pack $name: $(grep -o 'target [^ ]*' "$out/$name.log" | sed 's/target //' | tr '\n' ' ')"
done
# The same fix as target-value compiled by another compiler: Debian's gcc-16
# (the build root) for the host's gcc test kernel. Run-pre matching must
# refuse it with no_match (tests/41-other-compiler.sh). A kernel built with
# Debian's compiler has no other one here to compare with; that test skips.
# Debian's toolchain is the one its configuration of DEBIAN_TOOLCHAIN_VERSION
# names (the build root has that compiler), whatever the tree's version: an
# older point release's linux-config may have left the archive.
if [ "$SPLICE_TOOLCHAIN" = host ]; then
	DEBIAN_CONFIG_VERSION=${DEBIAN_TOOLCHAIN_VERSION:-7.2.12-1} "$SPLICE_SRC/scripts/splice/fetch-config.sh"
	SPLICE_TOOLCHAIN=debian bash -c '. "$SPLICE_SRC/scripts/splice/lib.sh"; tc "$@"' other \
		"$tool" --any-compiler --tree "$tree" --patch "$packs/target-value.diff" \
		--name target-other-compiler --description "target-value compiled by Debian's compiler" \
		-o "$dest/splice_target_other_compiler.ko" --report "$out/target-other-compiler.json" \
		--work "$out/target-other-compiler" >"$out/target-other-compiler.log" 2>&1 ||
		{ tail -n 20 "$out/target-other-compiler.log"; die "splice-create failed for target-other-compiler (log: $out/target-other-compiler.log)"; }
	say "pack target-other-compiler: $(sed -n 's/.*prints .\(.*\)., the tree was built with .\(.*\). (CONFIG.*/\1 for a kernel of \2/p' "$out/target-other-compiler.log" | head -n 1)"
fi
cp "$tree"/samples/splice/*.ko "$tree"/samples/livepatch/livepatch-sample.ko "$modules/"
say "packs: $(ls "$dest" | tr '\n' ' ')"
say "sample modules: $(ls "$modules" | tr '\n' ' ')"

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
#   NAME.args    optional: more options of splice-create, on one line
#                (--replace for the cumulative packs of tests/52-replace.sh)
#   NAME.series  instead of NAME.diff: diffs (one per line, relative to that
#                directory) given as several --patch, applied in order
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

for diff in "$packs"/*.diff "$packs"/*.series; do
	name=$(basename "${diff%.*}")
	patches=(--patch "$diff")
	if [ "${diff##*.}" = series ]; then
		patches=()
		while read -r p; do
			[ -n "$p" ] && patches+=(--patch "$packs/$p")
		done <"$diff"
	fi
	base=()
	if [ -f "$packs/$name.base" ]; then
		while read -r b; do
			[ -n "$b" ] && base+=(--base "$packs/$b")
		done <"$packs/$name.base"
	fi
	args=()
	[ -f "$packs/$name.args" ] && read -ra args <"$packs/$name.args"
	mod=splice_$(echo "$name" | tr - _)
	tc "$tool" --tree "$tree" "${patches[@]}" "${base[@]}" "${args[@]}" --name "$name" \
		--description "sample pack $name" -o "$dest/$mod.ko" \
		--report "$out/$name.json" --work "$out/$name" >"$out/$name.log" 2>&1 ||
		{ tail -n 20 "$out/$name.log"; die "splice-create failed for $name (log: $out/$name.log)"; }
	say "pack $name: $(grep -o 'target [^ ]*' "$out/$name.log" | sed 's/target //' | tr '\n' ' ')"
done
# The same fix as target-value compiled by another compiler. Run-pre matching
# must refuse it with no_match (tests/41-other-compiler.sh). For the host's gcc
# test kernel: Debian's gcc-16 (the build root; --any-compiler). Debian's
# toolchain is the one its configuration of DEBIAN_TOOLCHAIN_VERSION names
# (the build root has that compiler), whatever the tree's version: an older
# point release's linux-config may have left the archive. For a kernel built
# with Debian's compiler: the build root's gcc one major version before, from
# a copy of the tree configured for it (a configuration records what its
# compiler can do: gcc-15 does not compile headers configured for gcc-16's
# counted_by on pointers), whose recorded compile commands (.cmd, which
# splice-create runs) name it, without the option gcc-16 alone has
# (-fdiagnostics-show-context, diagnostics only). gcc-15 and gcc-16 make
# the same code of most of splice_target.c, not of splice_target_hold(), a
# target of the fix. The copy, without the objects, is dropped after.
if [ "$SPLICE_TOOLCHAIN" = debian ]; then
	other=$("$SPLICE_SRC/scripts/splice/buildroot.sh" other-cc "$DEBIAN_CONFIG")
	otree=$SPLICE_BUILD/other-cc/$(basename "$tree")
	mkdir -p "$otree"
	rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='*.a' --exclude=klp-tmp \
		"$tree/" "$otree/" || die "cannot copy $tree to $otree for the other compiler"
	run_logged "$out/other-cc-config.log" tc make -C "$otree" -s CC="$other" olddefconfig syncconfig ||
		die "cannot configure $otree for $other (log: $out/other-cc-config.log)"
	cc=$(kbuild_cc)
	retarget_tree "$otree" "$cc " "$other "
	retarget_tree "$otree" " -fdiagnostics-show-context=2" ""
	tc "$tool" --tree "$otree" --patch "$packs/target-value.diff" \
		--name target-other-compiler --description "target-value compiled by $other" \
		-o "$dest/splice_target_other_compiler.ko" --report "$out/target-other-compiler.json" \
		--work "$out/target-other-compiler" >"$out/target-other-compiler.log" 2>&1 ||
		{ tail -n 20 "$out/target-other-compiler.log"; die "splice-create failed for target-other-compiler (log: $out/target-other-compiler.log)"; }
	rm -rf "$otree"
	say "pack target-other-compiler: $other for a kernel of $(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$tree/.config")"
elif [ "$SPLICE_TOOLCHAIN" = host ]; then
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

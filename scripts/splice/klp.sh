# SPDX-License-Identifier: GPL-2.0
# Upstream klp-build on the built kernel's source, for eval.sh and
# bench-klp.sh (which source this file after lib.sh):
#
#   klp_prepare             the tree klp-build may clean and rebuild
#   klp_build DIFF KO LOG   klp-build on DIFF; sets klp_status (ok, failed),
#                           klp_secs, klp_mode (full, reuse), klp_error
#
# klp-build builds the whole original kernel with -ffunction-sections
# -fdata-sections, so it runs in a copy of the built tree with the same source
# and .config, $SPLICE_BUILD/klp/linux-$KERNEL_VERSION[-eval]. The first run pays for
# that build; later runs reuse it (--short-circuit=2) while the kernel's
# version and .config are the same (KLP_FULL=1 measures a first build again).
# Every run starts from that original build: klp-build leaves the objects of
# the patched build behind and the files it reverted newer than them, so the
# next run would rebuild whatever includes them (all of fs/ after a change to
# a header fs.h includes) and count it against the next fix, and a failed run
# can leave the tree so that later runs fail ("objtool: FILE symbol
# mismatch"). After the first run the tree is brought back to the original
# build (klp_keep_orig) and copied ($klp_tree.orig); after each run it is
# restored from that copy. A run that reuses the original build is bounded
# by EVAL_KLP_TIMEOUT seconds (900): a fix whose headers rebuild most of the
# kernel is then reported as not finished, as splice-create's is.
# The original build is also kept in $SPLICE_CACHE/klp (as tree-cache.sh keeps
# the kernel tree), so that a fresh clone on this machine (CI runs in one)
# does not build it again.

klp_dir=$SPLICE_BUILD/klp
klp_tree=$klp_dir/$(basename "$KERNEL_TREE")
klp_snap=$klp_tree.orig
klp_cache=$SPLICE_CACHE/klp/$(basename "$KERNEL_TREE")

klp_prepare() {
	# The kernel klp-build works on: its version and configuration. splice's
	# own code, which the kernel it copies includes, does not matter to it.
	klp_stamp=$( { echo "$KERNEL_VERSION"; cat "$KERNEL_TREE/.config"; } | sha256sum | cut -d' ' -f1)
	klp_reuse=0
	mkdir -p "$klp_dir"
	# The copy earlier versions of this file kept after each success is not
	# the original build: drop it.
	rm -rf "$klp_tree.snapshot"
	if [ -f "$klp_tree/klp-tmp/1-orig/.complete" ] && [ -z "${KLP_FULL:-}" ] &&
		[ "$(cat "$klp_tree.stamp" 2>/dev/null)" = "$klp_stamp" ]; then
		say "klp-build reuses its build of the original kernel in $klp_tree"
		klp_reuse=1
		[ -f "$klp_snap/klp-tmp/1-orig/.complete" ] || klp_keep_orig
	elif [ -f "$klp_cache/klp-tmp/1-orig/.complete" ] && [ -z "${KLP_FULL:-}" ] &&
		[ "$(cat "$klp_cache.stamp" 2>/dev/null)" = "$klp_stamp" ]; then
		say "klp-build reuses its build of the original kernel kept in $klp_cache"
		rsync -a --delete "$klp_cache/" "$klp_tree/"
		# Paths of klp-build's tree and of the kernel tree it was copied from.
		retarget_tree "$klp_tree" "$(sed -n 1p "$klp_cache.origin" 2>/dev/null || true)" \
			"$(realpath -m "$klp_tree")"
		retarget_tree "$klp_tree" "$(sed -n 2p "$klp_cache.origin" 2>/dev/null || true)" \
			"$(realpath -m "$KERNEL_TREE")"
		echo "$klp_stamp" >"$klp_tree.stamp"
		klp_reuse=1
		klp_keep_orig
		# The cache has this build already: it is not saved again.
	else
		say "copying the built tree for klp-build ($klp_tree)"
		rsync -a --delete "$KERNEL_TREE/" "$klp_tree/"
		rm -rf "$klp_tree/klp-tmp" "$klp_tree.stamp" "$klp_snap"
	fi
}

# klp_make LOG TARGET...: make TARGETs in klp-build's tree with klp-build's own
# make variables (its build_kernel()), so nothing it built is rebuilt for them.
klp_make() {
	local log=$1
	shift
	run_logged "$log" make -C "$klp_tree" -s -j"$(nproc)" KBUILD_MODPOST_WARN=1 KLP_SYMIDS=1 \
		"KCFLAGS=-ffunction-sections -fdata-sections" "$@"
}

# klp_keep_orig: bring klp-build's tree back to its original build and copy
# it; every later run starts from the copy. The files a run patched and
# reverted are newer than the objects built from the patched ones: a build
# recompiles just those.
klp_keep_orig() {
	say "bringing klp-build's tree back to the original build (log: $SPLICE_LOGS/klp-settle.log)"
	klp_make "$SPLICE_LOGS/klp-settle.log" vmlinux modules
	rm -rf "$klp_snap"
	rsync -a --delete "$klp_tree/" "$klp_snap/"
}

# klp_save_cache: keep the original build just made ($klp_snap) in
# $klp_cache, with the paths it was built at and its stamp.
klp_save_cache() {
	[ "${SPLICE_TREE_CACHE:-1}" = 1 ] || return 0
	mkdir -p "$klp_cache"
	rm -f "$klp_cache.stamp"
	rsync -a --delete "$klp_snap/" "$klp_cache/"
	printf '%s\n' "$(realpath -m "$klp_tree")" "$(realpath -m "$KERNEL_TREE")" >"$klp_cache.origin"
	cat "$klp_tree.stamp" >"$klp_cache.stamp"
	say "saved klp-build's original build to $klp_cache"
}

klp_build() {
	local diff ko log t0 short=() bound=()
	diff=$(realpath "$1") ko=$(realpath -m "$2") log=$3
	if [ $klp_reuse = 1 ]; then
		short=(--short-circuit=2)
		bound=(timeout -s INT -k 60 "${EVAL_KLP_TIMEOUT:-900}")
	fi
	klp_mode=$([ $klp_reuse = 1 ] && echo reuse || echo full)
	say "klp-build $(basename "$diff" .diff)$([ $klp_reuse = 0 ] && echo ' (builds the original kernel first: minutes)')"
	t0=$(date +%s.%N)
	if (cd "$klp_tree" && "${bound[@]}" ./scripts/livepatch/klp-build -T -j "$(nproc)" "${short[@]}" \
		-o "$ko" "$diff") >"$log" 2>&1; then
		klp_status=ok klp_error=
	else
		klp_status=failed
		klp_error=$(grep -m1 -E 'error' "$log" | cut -c1-120)
		if [ ${#bound[@]} -gt 0 ] &&
			[ "$(echo "$(date +%s.%N) - $t0 >= ${EVAL_KLP_TIMEOUT:-900}" | bc)" = 1 ]; then
			klp_error="not finished after ${EVAL_KLP_TIMEOUT:-900} s"
			echo "splice eval: $klp_error" >>"$log"
		fi
	fi
	klp_secs=$(echo "$(date +%s.%N) - $t0" | bc)
	if [ $klp_reuse = 1 ]; then
		rsync -a --delete "$klp_snap/" "$klp_tree/"
	elif [ -f "$klp_tree/klp-tmp/1-orig/.complete" ]; then
		# The original kernel was built, whatever became of the fix.
		echo "$klp_stamp" >"$klp_tree.stamp"
		klp_reuse=1
		klp_keep_orig
		klp_save_cache
	fi
}

# klp_kernel: build the bzImage of klp-build's tree, the kernel its livepatch
# modules are made for (built the way klp-build requires: the same make
# variables as its own builds, on the original build restored after its
# last run: only the image is linked). Sets klp_bzimage.
klp_kernel() {
	local log=$SPLICE_LOGS/klp-kernel.log
	say "building the bzImage of klp-build's kernel ($klp_tree; log: $log)"
	klp_make "$log" bzImage
	klp_bzimage=$klp_tree/arch/x86/boot/bzImage
}

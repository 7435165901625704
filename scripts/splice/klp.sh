# SPDX-License-Identifier: GPL-2.0
# Upstream klp-build on the built kernel's source, for eval.sh and
# bench-klp.sh (which source this file after lib.sh):
#
#   klp_prepare             the tree klp-build may clean and rebuild
#   klp_build DIFF KO LOG   klp-build on DIFF; sets klp_status (ok, failed),
#                           klp_secs, klp_mode (full, reuse), klp_error
#   klp_keep DIFF LOG KO    keep that outcome of DIFF on this kernel
#   klp_kept DIFF LOG KO    an outcome kept earlier: sets klp_status, klp_secs
#                           and klp_mode, writes LOG (and KO when it built one)
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
# build (klp_keep_orig) and copied; after each run it is restored from that
# copy (klp_restore). A run that reuses the original build is bounded
# by EVAL_KLP_TIMEOUT seconds (900): a fix whose headers rebuild most of the
# kernel is then reported as not finished, as splice-create's is.
# The copy is kept in $SPLICE_CACHE/klp (as tree-cache.sh keeps the kernel
# tree), so that a fresh clone on this machine (CI runs in one) does not build
# it again; with SPLICE_TREE_CACHE=0, beside the tree ($klp_tree.orig). One
# copy, not two: Debian's configuration makes a 17 GB original build.
# The outcome of each fix is kept beside it, by the fix's diff and the kernel
# (klp_stamp): an evaluation that stopped goes on where it was, and a fresh
# clone does not run klp-build again on fixes it ran on (45 of them take
# three hours on Debian's configuration).

klp_dir=$SPLICE_BUILD/klp
klp_tree=$klp_dir/$(basename "$KERNEL_TREE")
klp_cache=$SPLICE_CACHE/klp/$(basename "$KERNEL_TREE")
if [ "${SPLICE_TREE_CACHE:-1}" = 1 ]; then
	klp_snap=$klp_cache klp_outcomes=$SPLICE_CACHE/klp/outcomes
else
	klp_snap=$klp_tree.orig klp_outcomes=$klp_dir/cache
fi

klp_prepare() {
	# The kernel klp-build works on: its version and configuration. splice's
	# own code, which the kernel it copies includes, does not matter to it.
	# With Debian's toolchain, its compiler too: outcomes of runs before
	# klp-build ran in the build root (with the host's compiler, on a kernel
	# it rebuilt) are not taken up.
	local cc
	cc=$(kbuild_cc)
	klp_stamp=$( { echo "$KERNEL_VERSION"; cat "$KERNEL_TREE/.config"; [ -z "$cc" ] || echo "klp-cc=$cc"; } |
		sha256sum | cut -d' ' -f1)
	klp_reuse=0
	mkdir -p "$klp_dir"
	# The copies earlier versions of this file kept beside the tree (after each
	# success; of the original build, besides the cache's): drop them.
	rm -rf "$klp_tree.snapshot"
	[ "$klp_snap" = "$klp_tree.orig" ] || rm -rf "$klp_tree.orig"
	# A run cut short (the evaluation stopped while klp-build ran) left the
	# tree patched ($klp_tree.busy): it is not the original build any more.
	if [ -f "$klp_tree/klp-tmp/1-orig/.complete" ] && [ -z "${KLP_FULL:-}" ] &&
		[ ! -e "$klp_tree.busy" ] &&
		[ "$(cat "$klp_tree.stamp" 2>/dev/null)" = "$klp_stamp" ]; then
		say "klp-build reuses its build of the original kernel in $klp_tree"
		klp_reuse=1
		klp_snap_holds "$klp_stamp" || klp_keep_orig
	elif klp_snap_holds "$klp_stamp" && [ -z "${KLP_FULL:-}" ]; then
		say "klp-build reuses its build of the original kernel kept in $klp_snap"
		klp_restore
		echo "$klp_stamp" >"$klp_tree.stamp"
		klp_reuse=1
	else
		say "copying the built tree for klp-build ($klp_tree)"
		rsync -a --delete "$KERNEL_TREE/" "$klp_tree/"
		rm -rf "$klp_tree/klp-tmp" "$klp_tree.stamp" "$klp_snap"
	fi
	rm -f "$klp_tree.busy"
	klp_tools
}

# klp_tools: the programs klp-build runs besides the compiler and make, each
# with its Debian package, must be where it runs (the build root, with
# Debian's toolchain): said before any build, all of them at once.
klp_tools() {
	local missing
	missing=$(tc sh -c 'for p in recountdiff:patchutils gawk:gawk patch:patch \
		objcopy:binutils cmp:diffutils; do
		command -v "${p%%:*}" >/dev/null || printf "%s (package %s), " "${p%%:*}" "${p#*:}"
	done')
	[ -z "$missing" ] ||
		die "klp-build needs ${missing%, }, which the toolchain it runs with lacks${TC[*]:+ (the build root: buildroot.sh installs them)}"
}

# klp_make LOG TARGET...: make TARGETs in klp-build's tree with klp-build's own
# make variables (its build_kernel()), so nothing it built is rebuilt for them.
klp_make() {
	local log=$1
	shift
	run_logged "$log" kmake -C "$klp_tree" -s -j"$(nproc)" KBUILD_MODPOST_WARN=1 KLP_SYMIDS=1 \
		"KCFLAGS=-ffunction-sections -fdata-sections" "$@"
}

# klp_snap_holds STAMP: whether the copy of the original build is whole and of
# the kernel of STAMP.
klp_snap_holds() {
	[ -f "$klp_snap/klp-tmp/1-orig/.complete" ] &&
		[ "$(cat "$klp_snap.stamp" 2>/dev/null)" = "$1" ]
}

# klp_keep_orig: bring klp-build's tree back to its original build and copy
# it ($klp_snap, with the paths it was built at and its stamp, written last:
# a copy cut short has none); every later run starts from the copy. The
# files a run patched and reverted are newer than the objects built from the
# patched ones: a build recompiles just those.
klp_keep_orig() {
	say "bringing klp-build's tree back to the original build (log: $SPLICE_LOGS/klp-settle.log)"
	klp_make "$SPLICE_LOGS/klp-settle.log" vmlinux modules
	rm -f "$klp_snap.stamp"
	mkdir -p "$klp_snap"
	rsync -a --delete "$klp_tree/" "$klp_snap/" ||
		die "cannot copy klp-build's original build to $klp_snap (disk full? df -h $(dirname "$klp_snap"))"
	printf '%s\n' "$(realpath -m "$klp_tree")" "$(realpath -m "$KERNEL_TREE")" >"$klp_snap.origin"
	cat "$klp_tree.stamp" >"$klp_snap.stamp"
	say "kept klp-build's original build in $klp_snap"
}

# klp_restore: klp-build's tree as the copy of the original build, with the
# paths of this checkout (the copy may come from another one).
klp_restore() {
	rsync -a --delete "$klp_snap/" "$klp_tree/"
	retarget_tree "$klp_tree" "$(sed -n 1p "$klp_snap.origin" 2>/dev/null || true)" \
		"$(realpath -m "$klp_tree")"
	retarget_tree "$klp_tree" "$(sed -n 2p "$klp_snap.origin" 2>/dev/null || true)" \
		"$(realpath -m "$KERNEL_TREE")"
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
	# Until the tree is the original build again: a run that never gets there
	# (the evaluation stopped) leaves this for klp_prepare.
	: >"$klp_tree.busy"
	# With the kernel's toolchain, as the kernel was built: Debian's in its build
	# root (the make variable CC reaches klp-build's makes through MAKEFLAGS).
	# Another compiler would make Kbuild build the whole original kernel again
	# with it, and the livepatch would be for that kernel, not the running one.
	local cc
	cc=$(kbuild_cc)
	if (cd "$klp_tree" && "${bound[@]}" "${TC[@]}" env ${cc:+MAKEFLAGS=CC=$cc} \
		./scripts/livepatch/klp-build -T -j "$(nproc)" "${short[@]}" -o "$ko" "$diff") >"$log" 2>&1; then
		klp_status=ok klp_error=
	else
		# klp-build stopped before it looked at the fix, for want of a tool:
		# no outcome of the fix, and none of the next ones would be either.
		if grep -qE 'klp-build: .*(not found \(install|not built with KLP support|command not found)' "$log"; then
			rm -f "$klp_tree.busy"
			die "klp-build cannot run: $(grep -m1 -E 'klp-build: .*(not found|KLP support)' "$log") (log: $log)"
		fi
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
		klp_restore
	elif [ -f "$klp_tree/klp-tmp/1-orig/.complete" ]; then
		# The original kernel was built, whatever became of the fix.
		echo "$klp_stamp" >"$klp_tree.stamp"
		klp_reuse=1
		klp_keep_orig
	fi
	rm -f "$klp_tree.busy"
}

# klp_outcome DIFF: the folder of DIFF's outcome on this kernel.
klp_outcome() {
	echo "$klp_outcomes/$( { cat "$1"; echo "$klp_stamp"; } | sha256sum | cut -c1-16)"
}

klp_keep() {
	local kept
	kept=$(klp_outcome "$1")
	rm -rf "$kept"
	mkdir -p "$kept"
	cp "$2" "$kept/log"
	[ ! -f "$3" ] || cp "$3" "$kept/livepatch.ko"
	# Written last: a folder without it (a run cut short) is no outcome.
	echo "$klp_status $klp_secs $klp_mode" >"$kept/outcome"
}

klp_kept() {
	local kept
	kept=$(klp_outcome "$1")
	[ -f "$kept/outcome" ] || return 1
	read -r klp_status klp_secs klp_mode <"$kept/outcome"
	cp "$kept/log" "$2"
	[ ! -f "$kept/livepatch.ko" ] || cp "$kept/livepatch.ko" "$3"
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

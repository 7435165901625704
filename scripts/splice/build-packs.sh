#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the sample packs of samples/splice/packs/ against the built kernel
# tree. A pack NAME is described by:
#
#   NAME.object  the object the patch changes, and the module it is linked
#                into if it is not vmlinux: "fs/proc/version.o" or
#                "samples/splice/splice_target_mod.o splice_target_mod"
#   NAME.diff    the patch, on one source file
#   NAME.base    optional: diffs (one per line, in this directory) applied to
#                the source first, for a pack made from other source than
#                the running kernel's: stacked on another pack's fix, or
#                simply different (the no_match test)
#
# The object is compiled before and after the patch with the tree's own
# command line plus -ffunction-sections -fdata-sections; objtool runs on the
# pre object as it ran on the kernel's; `splice-create assemble` makes the
# pack and Kbuild (M=) builds its module. Until the generator (tools/splice,
# issue 4) drives Kbuild itself, this is the Kbuild rule for the samples.
# Output: $SPLICE_BUILD/guest/packs/*.ko, and the sample target modules in
# $SPLICE_BUILD/guest/modules/.
. "$(dirname "$0")/lib.sh"

tree=$KERNEL_TREE
tool=$SPLICE_BUILD/tools-target/release/splice-create
out=$SPLICE_BUILD/packs
dest=$SPLICE_BUILD/guest/packs
modules=$SPLICE_BUILD/guest/modules
rm -rf "$dest" "$modules"
objtool_args=$(grep -o 'objtool/objtool [^;]*' "$tree/.vmlinux.o.cmd" | head -1 |
	sed 's/^objtool\/objtool //; s/ --link vmlinux.o$//; s/--ibt //')
[ -n "$objtool_args" ] || die "cannot find objtool's arguments in $tree/.vmlinux.o.cmd"

say "building splice-create"
run_logged "$SPLICE_BUILD/logs/tools-build.log" cargo build --release -j "$(nproc)" \
	--manifest-path "$SPLICE_SRC/tools/splice/Cargo.toml" \
	--target-dir "$SPLICE_BUILD/tools-target"

# compile SRC OBJ OUT [extra flags]: the tree's command for OBJ, on SRC, to
# OUT, then objtool as the tree ran it: in the same command for module
# objects, on vmlinux.o (objtool_args) for the others.
compile() {
	local src=$1 obj=$2 o=$3; shift 3
	local cmdfile=$tree/$(dirname "$obj")/.$(basename "$obj").cmd
	local cmd otool
	cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
	[ -n "$cmd" ] || die "no build command for $obj in $cmdfile"
	otool=
	case $cmd in
	*" ; ./tools/objtool/objtool "*)
		otool=${cmd#* ; ./tools/objtool/objtool }
		otool=${otool% $obj*}
		cmd=${cmd%% ; *}
		;;
	esac
	cmd=${cmd//-Wp,-MMD,$(dirname "$obj")\/.$(basename "$obj").d/-Wp,-MMD,$o.d}
	cmd=${cmd/ -o $obj / -o $o }
	cmd=${cmd%"${cmd##*[![:space:]]}"}
	cmd=${cmd% ${obj%.o}.c}
	(cd "$tree" && eval "$cmd -ffunction-sections -fdata-sections $* $src") ||
		die "compiling $src failed"
	OBJTOOL_ARGS=${otool:-$objtool_args}
}

mkdir -p "$dest" "$modules"
release=$(cat "$tree/include/config/kernel.release")
for spec in "$SPLICE_SRC"/samples/splice/packs/*.object; do
	name=$(basename "$spec" .object)
	diff=${spec%.object}.diff
	read -r obj module <"$spec" || die "$spec: empty"
	[ -f "$diff" ] || die "$spec: no $diff"
	src=${obj%.o}.c
	w=$out/$name
	rm -rf "$w"
	mkdir -p "$w"
	say "pack $name: $obj${module:+ (module $module)}"
	# The source the pack is made from: the tree's, or the tree's with the base diffs.
	pre_src=$src
	quote=()
	if [ -f "${spec%.object}.base" ]; then
		cp "$tree/$src" "$w/pre.c"
		while read -r b; do
			[ -n "$b" ] || continue
			patch -s --fuzz=0 "$w/pre.c" <"$SPLICE_SRC/samples/splice/packs/$b" ||
				die "base $b of $name does not apply to $src"
		done <"${spec%.object}.base"
		pre_src=$w/pre.c
		quote=(-iquote "$tree/$(dirname "$src")")
	fi
	compile "$pre_src" "$obj" "$w/pre.o" "${quote[@]}"
	(cd "$tree" && eval "./tools/objtool/objtool $OBJTOOL_ARGS $w/pre.o") ||
		die "objtool on $w/pre.o failed"
	if [ "$pre_src" = "$src" ]; then
		cp "$tree/$src" "$w/pre.c"
	fi
	patch -s --fuzz=0 -o "$w/post.c" "$w/pre.c" <"$diff" ||
		die "$diff does not apply to $src"
	compile "$w/post.c" "$obj" "$w/post.o" -iquote "$tree/$(dirname "$src")"
	"$tool" assemble --pre "$w/pre.o" --post "$w/post.o" --object-name "$obj" \
		${module:+--module "$module"} \
		--name "$name" --description "sample pack $name ($src)" \
		--release "$release" --vmlinux "$tree/vmlinux" \
		--symvers "$tree/Module.symvers" --auto-targets --out "$w/module" ||
		die "splice-create assemble failed for $name"
	run_logged "$SPLICE_BUILD/logs/pack-$name.log" make -C "$tree" M="$w/module" modules
	cp "$w/module"/splice_*.ko "$dest/"
done
cp "$tree"/samples/splice/*.ko "$modules/"
say "packs: $(ls "$dest" | tr '\n' ' ')"
say "sample modules: $(ls "$modules" | tr '\n' ' ')"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the sample packs of samples/splice/packs/ against the built kernel
# tree: for each NAME.diff (a one-file patch) and NAME.object (the object it
# changes), compiles the object before and after the patch with the tree's
# own command line plus -ffunction-sections -fdata-sections, runs objtool on
# the pre object as the kernel's link does, assembles the pack with
# `splice-create assemble` and builds the pack module with Kbuild (M=).
# Until the generator (tools/splice, issue 4) drives Kbuild itself, this is
# the Kbuild rule for the samples. Output: $SPLICE_BUILD/guest/packs/*.ko.
. "$(dirname "$0")/lib.sh"

tree=$KERNEL_TREE
tool=$SPLICE_BUILD/tools-target/release/splice-create
out=$SPLICE_BUILD/packs
dest=$SPLICE_BUILD/guest/packs
objtool_args=$(grep -o 'objtool/objtool [^;]*' "$tree/.vmlinux.o.cmd" | head -1 |
	sed 's/^objtool\/objtool //; s/ --link vmlinux.o$//; s/--ibt //')
[ -n "$objtool_args" ] || die "cannot find objtool's arguments in $tree/.vmlinux.o.cmd"

say "building splice-create"
run_logged "$SPLICE_BUILD/logs/tools-build.log" cargo build --release -j "$(nproc)" \
	--manifest-path "$SPLICE_SRC/tools/splice/Cargo.toml" \
	--target-dir "$SPLICE_BUILD/tools-target"

# compile SRC OBJ OUT [extra flags]: the tree's command for OBJ, on SRC, to OUT.
compile() {
	local src=$1 obj=$2 o=$3; shift 3
	local cmdfile=$tree/$(dirname "$obj")/.$(basename "$obj").cmd
	local cmd
	cmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmdfile")
	[ -n "$cmd" ] || die "no build command for $obj in $cmdfile"
	cmd=${cmd//-Wp,-MMD,$(dirname "$obj")\/.$(basename "$obj").d/-Wp,-MMD,$o.d}
	cmd=${cmd/ -o $obj / -o $o }
	cmd=${cmd%"${cmd##*[![:space:]]}"}
	cmd=${cmd% ${obj%.o}.c}
	(cd "$tree" && eval "$cmd -ffunction-sections -fdata-sections $* $src") ||
		die "compiling $src failed"
}

mkdir -p "$dest"
release=$(cat "$tree/include/config/kernel.release")
for diff in "$SPLICE_SRC"/samples/splice/packs/*.diff; do
	name=$(basename "$diff" .diff)
	obj=$(cat "${diff%.diff}.object")
	src=${obj%.o}.c
	w=$out/$name
	rm -rf "$w"
	mkdir -p "$w"
	say "pack $name: $obj"
	compile "$src" "$obj" "$w/pre.o"
	# The running kernel's objects went through objtool at its link: so does the
	# pre code. The post code goes through it when Kbuild links the pack module.
	(cd "$tree" && ./tools/objtool/objtool $objtool_args "$w/pre.o") ||
		die "objtool on $w/pre.o failed"
	patch -s --fuzz=0 -o "$w/post.c" "$tree/$src" <"$diff" ||
		die "$diff does not apply to $src"
	compile "$w/post.c" "$obj" "$w/post.o" -iquote "$tree/$(dirname "$src")"
	"$tool" assemble --pre "$w/pre.o" --post "$w/post.o" --object-name "$obj" \
		--name "$name" --description "sample pack $name ($src)" \
		--release "$release" --vmlinux "$tree/vmlinux" \
		--symvers "$tree/Module.symvers" --auto-targets --out "$w/module" ||
		die "splice-create assemble failed for $name"
	cp "$w/module/repl.o_shipped" "$w/module/repl.o"
	run_logged "$SPLICE_BUILD/logs/pack-$name.log" make -C "$tree" M="$w/module" modules
	cp "$w/module"/splice_*.ko "$dest/"
done
say "packs: $(ls "$dest" | tr '\n' ' ')"

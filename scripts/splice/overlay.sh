#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Put splice into the kernel tree KERNEL_TREE:
#
# 1. Our files sit at their kernel-tree paths in this repository (kernel/splice/,
#    rust/kernel/*.rs, samples/splice/, Documentation/splice/, ...). They are
#    copied into the tree, only when their content changed, so Kbuild rebuilds
#    only what we touched. A file of ours may not replace a kernel file: edits
#    to kernel files are patches. Files we removed are removed from the tree.
# 2. The patches in scripts/splice/patches/ are applied in order. Each applied
#    patch is recorded in the tree; a patch that changed since is reversed and
#    applied again, one that no longer applies stops the build.
#
# Re-running is idempotent.
. "$(dirname "$0")/lib.sh"

TREE=${1:-$KERNEL_TREE}
OVERLAY_DIRS="arch Documentation include kernel lib rust samples"
STATE=$TREE/.splice
PATCHDIR=$SPLICE_SRC/scripts/splice/patches
[ -f "$TREE/Makefile" ] || die "no kernel tree at $TREE (run scripts/splice/fetch-kernel.sh first)"
mkdir -p "$STATE/patches"

# --- 1. files ---------------------------------------------------------------
manifest=$STATE/overlay.manifest
touch "$manifest"
new_manifest=$(mktemp)
trap 'rm -f "$new_manifest"' EXIT
(cd "$SPLICE_SRC" && for d in $OVERLAY_DIRS; do if [ -d "$d" ]; then find "$d" -type f; fi; done) |
	LC_ALL=C sort >"$new_manifest"

copied=0
while IFS= read -r rel; do
	dst=$TREE/$rel
	if [ -e "$dst" ] && ! grep -qxF "$rel" "$manifest"; then
		die "$rel would replace a file of the kernel tree; change kernel files with a patch in scripts/splice/patches/"
	fi
	if ! cmp -s "$SPLICE_SRC/$rel" "$dst"; then
		mkdir -p "$(dirname "$dst")"
		cp "$SPLICE_SRC/$rel" "$dst"
		copied=$((copied + 1))
	fi
done <"$new_manifest"

removed=0
while IFS= read -r rel; do
	if ! grep -qxF "$rel" "$new_manifest"; then
		rm -f "$TREE/$rel"
		removed=$((removed + 1))
	fi
done <"$manifest"
cp "$new_manifest" "$manifest"

# --- 2. patches -------------------------------------------------------------
mapfile -t want < <(cd "$PATCHDIR" && ls -1 ./*.patch 2>/dev/null | sed 's|^\./||' | LC_ALL=C sort)
mapfile -t have < <(cd "$STATE/patches" && ls -1 ./*.patch 2>/dev/null | sed 's|^\./||' | LC_ALL=C sort)

# The applied patches stay as long as they match the wanted ones in order.
keep=0
while [ $keep -lt ${#have[@]} ] && [ $keep -lt ${#want[@]} ] &&
	[ "${have[$keep]}" = "${want[$keep]}" ] &&
	cmp -s "$STATE/patches/${have[$keep]}" "$PATCHDIR/${want[$keep]}"; do
	keep=$((keep + 1))
done

for ((i = ${#have[@]} - 1; i >= keep; i--)); do
	p=${have[$i]}
	say "reversing changed or removed patch $p"
	log=$SPLICE_LOGS/overlay-reverse-$p.log
	patch -d "$TREE" -p1 --fuzz=0 -R --no-backup-if-mismatch <"$STATE/patches/$p" >"$log" 2>&1 ||
		die "the applied patch $p cannot be reversed (log: $log); remove $TREE (make distclean) to start from clean sources"
	rm -f "$STATE/patches/$p"
done

for ((i = keep; i < ${#want[@]}; i++)); do
	p=${want[$i]}
	log=$SPLICE_LOGS/overlay-$p.log
	if ! patch -d "$TREE" -p1 --fuzz=0 --forward --dry-run <"$PATCHDIR/$p" >"$log" 2>&1; then
		die "patch $p does not apply to linux-$KERNEL_VERSION (log: $log)"
	fi
	patch -d "$TREE" -p1 --fuzz=0 --forward --no-backup-if-mismatch <"$PATCHDIR/$p" >>"$log" 2>&1 ||
		die "patch $p failed (log: $log)"
	cp "$PATCHDIR/$p" "$STATE/patches/$p"
	say "applied $p"
done

# --- 3. backports -----------------------------------------------------------
# Fixes of later 7.2 releases that an older one needs to build as splice
# builds it (patches/backports/). Each is applied where it applies, skipped
# where the release has it already (it applies in reverse), and stops the
# build otherwise.
backported=0
mkdir -p "$STATE/backports"
for f in "$PATCHDIR"/backports/*.patch; do
	[ -f "$f" ] || continue
	p=$(basename "$f")
	log=$SPLICE_LOGS/overlay-backport-$p.log
	if cmp -s "$f" "$STATE/backports/$p"; then
		backported=$((backported + 1))
		continue
	fi
	if patch -d "$TREE" -p1 --fuzz=0 --forward --dry-run <"$f" >"$log" 2>&1; then
		patch -d "$TREE" -p1 --fuzz=0 --forward --no-backup-if-mismatch <"$f" >>"$log" 2>&1 ||
			die "backport $p failed (log: $log)"
		cp "$f" "$STATE/backports/$p"
		backported=$((backported + 1))
		say "backported $p"
	elif patch -d "$TREE" -p1 --fuzz=0 -R --dry-run <"$f" >>"$log" 2>&1; then
		say "linux-$KERNEL_VERSION has $p already"
	else
		die "backport $p neither applies to linux-$KERNEL_VERSION nor is in it (log: $log)"
	fi
done

say "overlay: $copied file(s) updated, $removed removed, ${#want[@]} patch(es) and $backported backport(s) in place"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Keep a copy of the built kernel tree in $SPLICE_CACHE/trees, so that a fresh
# clone on the same machine (CI runs in one) starts from a built tree instead
# of a full kernel build. fetch-kernel.sh restores it; Kbuild then rebuilds
# only what the overlay changed.
#
#   tree-cache.sh save
. "$(dirname "$0")/lib.sh"

[ "${1:-}" = save ] || die "usage: tree-cache.sh save"
[ "${SPLICE_TREE_CACHE:-1}" = 1 ] || exit 0
deb_version=$(cat "$KERNEL_TREE/.splice/debian-version" 2>/dev/null) ||
	die "$KERNEL_TREE has no .splice/debian-version (not made by fetch-kernel.sh)"
dst=$SPLICE_CACHE/trees/linux-$deb_version$SPLICE_TREE_SUFFIX
mkdir -p "$dst"
realpath "$KERNEL_TREE" >"$KERNEL_TREE/.splice/origin"
rsync -a --delete "$KERNEL_TREE/" "$dst/"
say "saved the built tree to $dst"

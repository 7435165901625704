#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's linux-source-7.2 at KERNEL_VERSION and extract it into
# KERNEL_TREE (or into $1 when given).
#
# The package is fetched and cached by apt.sh (deb_fetch): checked against
# the archive's SHA-256 and the pinned list in kernel-sources.sha256.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

PACKAGE=linux-source-7.2
DEB_VERSION=${KERNEL_DEB_VERSION:-$(deb_resolve "$KERNEL_VERSION")}
TREE=${1:-$KERNEL_TREE}

deb_fetch "$PACKAGE" "$DEB_VERSION" all "$SPLICE_SRC/scripts/splice/kernel-sources.sha256"

sum=$(sha256 "$DEB")
if [ -f "$TREE/.splice/source" ] && [ "$(cat "$TREE/.splice/source")" = "$sum" ]; then
	say "source tree $TREE is up to date"
	exit 0
fi

# A tree built earlier from the same package, kept in the cache by tree-cache.sh,
# saves the first full kernel build of a fresh clone. SPLICE_PRISTINE=1 asks for
# the package's source only (the cached tree has splice in it).
cached=$SPLICE_CACHE/trees/linux-$DEB_VERSION$SPLICE_TREE_SUFFIX
if [ -z "${SPLICE_PRISTINE:-}" ] && [ -f "$cached/.splice/source" ] && [ "$(cat "$cached/.splice/source")" = "$sum" ] && ! [ -e "$TREE" ]; then
	say "copying the cached built tree $cached"
	mkdir -p "$(dirname "$TREE")"
	rm -rf "$TREE.tmp"
	cp -a "$cached" "$TREE.tmp"
	here=$(realpath -m "$TREE")
	retarget_tree "$TREE.tmp" "$(cat "$cached/.splice/origin" 2>/dev/null || true)" "$here"
	echo "$here" >"$TREE.tmp/.splice/origin"
	mv "$TREE.tmp" "$TREE"
	exit 0
fi

[ -e "$TREE" ] && die "$TREE exists but was not extracted from $DEB; remove it (make distclean) to extract anew"
say "extracting $PACKAGE $DEB_VERSION into $TREE"
work=$(mktemp -d "$SPLICE_BUILD/extract.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$DEB" "$work/deb"
tarball=$(find "$work/deb/usr/src" -name 'linux-source-*.tar.*' | head -n 1)
[ -n "$tarball" ] || die "$DEB holds no linux-source tarball"
mkdir -p "$work/src"
tar -xf "$tarball" -C "$work/src"
top=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -f "$top/Makefile" ] || die "$tarball holds no kernel tree"
version=$(make -s -C "$top" kernelversion 2>/dev/null)
[ "$version" = "$KERNEL_VERSION" ] || die "$DEB holds kernel $version, expected $KERNEL_VERSION"
mkdir -p "$top/.splice"
echo "$sum" >"$top/.splice/source"
echo "$DEB_VERSION" >"$top/.splice/debian-version"
mv "$top" "$TREE"
say "kernel $version source ready"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's linux-source-7.2 at KERNEL_VERSION and extract it into
# KERNEL_TREE (or into $1 when given).
#
# apt runs with a private sources list and state folder under the build
# folder; the system's apt configuration is never touched. The .deb is kept
# in $SPLICE_CACHE/debs, so a second run (or a second clone) downloads
# nothing. Checksums: apt checks the package against the signed archive
# index, and this script checks it against the SHA-256 apt reports and
# against the pinned list in kernel-sources.sha256.
. "$(dirname "$0")/lib.sh"

PACKAGE=linux-source-7.2
DEB_VERSION=${KERNEL_DEB_VERSION:-$KERNEL_VERSION-1}
TREE=${1:-$KERNEL_TREE}
PINS=$SPLICE_SRC/scripts/splice/kernel-sources.sha256
SUITES="sid forky trixie-backports"
APTDIR=$SPLICE_BUILD/apt
DEBDIR=$SPLICE_CACHE/debs
DEB=$DEBDIR/${PACKAGE}_${DEB_VERSION}_all.deb

pinned=$(awk -v v="$DEB_VERSION" '$2 == v { print $1 }' "$PINS")

apt_opts=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State=$APTDIR/state" -o "Dir::State::Status=$APTDIR/state/status"
	-o "Dir::Cache=$APTDIR/cache" -o Acquire::Languages=none
	-o APT::Get::List-Cleanup=false -o Debug::NoLocking=true -o APT::Sandbox::User=root
	-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
	-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
	-o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)

apt_setup() {
	mkdir -p "$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial"
	touch "$APTDIR/state/status"
	: >"$APTDIR/sources.list"
	for s in $SUITES; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main" \
			>>"$APTDIR/sources.list"
	done
	say "reading Debian's package index ($SUITES)"
	run_logged "$SPLICE_LOGS/fetch-apt-update.log" apt-get "${apt_opts[@]}" update
}

# The SHA-256 apt reports for $PACKAGE=$DEB_VERSION, empty if it has none.
apt_sha256() {
	apt-cache "${apt_opts[@]}" show "$PACKAGE=$DEB_VERSION" 2>/dev/null |
		awk '/^SHA256:/ { print $2; exit }'
}

if [ -f "$DEB" ] && [ -n "$pinned" ] && [ "$(sha256 "$DEB")" = "$pinned" ]; then
	say "using cached $PACKAGE $DEB_VERSION ($DEB)"
else
	rm -f "$DEB"
	apt_setup
	expected=$(apt_sha256)
	if [ -z "$expected" ]; then
		available=$(apt-cache "${apt_opts[@]}" madison "$PACKAGE" 2>/dev/null |
			awk -F'|' '{ gsub(/ /, "", $2); printf "%s ", $2 }')
		die "$PACKAGE $DEB_VERSION is not in Debian's archive ($SUITES) any more; available: ${available:-none}. Set KERNEL_VERSION (and KERNEL_DEB_VERSION) to one of them."
	fi
	if [ -n "$pinned" ] && [ "$pinned" != "$expected" ]; then
		die "$PACKAGE $DEB_VERSION: the archive's SHA-256 $expected differs from the pinned $pinned ($PINS)"
	fi
	[ -n "$pinned" ] || warn "$PACKAGE $DEB_VERSION is not pinned in $PINS; trusting the archive's SHA-256"
	say "downloading $PACKAGE $DEB_VERSION"
	mkdir -p "$DEBDIR"
	tmp=$(mktemp -d "$APTDIR/download.XXXXXX")
	(cd "$tmp" && run_logged "$SPLICE_LOGS/fetch-download.log" \
		apt-get "${apt_opts[@]}" download "$PACKAGE=$DEB_VERSION")
	got=$(find "$tmp" -name '*.deb' | head -n 1)
	[ -n "$got" ] || die "apt-get download produced no .deb (log: $SPLICE_LOGS/fetch-download.log)"
	actual=$(sha256 "$got")
	[ "$actual" = "$expected" ] || die "checksum mismatch for $got: $actual, expected $expected"
	mv "$got" "$DEB"
	rm -rf "$tmp"
fi

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

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Per-file diffs between two Debian linux-source-7.2 versions:
#
#   stable-diff.sh BASE NEXT OUT FILE...
#
# BASE and NEXT: kernel versions or Debian versions (see apt.sh, deb_resolve).
#
# For each FILE (a path in the kernel tree, e.g. kernel/pid_namespace.c),
# writes OUT/<FILE with / as ->.diff, the diff -u of the file from the BASE
# package to the NEXT one (a/ and b/ prefixes, no dates), and prints the
# lines of NEXT's Debian changelog entry that name upstream fixes into
# OUT/changelog. Packages are fetched (and checked) by fetch-kernel.sh's rules
# into $SPLICE_CACHE/debs; files are extracted once into
# $SPLICE_BUILD/sources/VERSION/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

base=${1:?usage: stable-diff.sh BASE NEXT OUT FILE...}
next=${2:?usage: stable-diff.sh BASE NEXT OUT FILE...}
out=${3:?usage: stable-diff.sh BASE NEXT OUT FILE...}
shift 3
[ $# -gt 0 ] || die "no files given"
mkdir -p "$out"

base=$(deb_resolve "$base")
next=$(deb_resolve "$next")
deb_of() { echo "$DEBDIR/linux-source-7.2_$1_all.deb"; }

# extract VERSION FILE...: the files of that version's source tarball into
# $SPLICE_BUILD/sources/VERSION/, those not extracted yet.
extract() {
	local v=$1 deb dir missing=() f
	shift
	deb=$(deb_of "$v")
	if [ ! -f "$deb" ]; then
		# Fetches and checks the package; the tree it extracts is not needed.
		SPLICE_PRISTINE=1 KERNEL_VERSION=${v%%-*} KERNEL_DEB_VERSION=$v "$SPLICE_SRC/scripts/splice/fetch-kernel.sh" \
			"$SPLICE_BUILD/sources/tree-$v" >&2 ||
			die "cannot fetch linux-source-7.2 $v"
		rm -rf "$SPLICE_BUILD/sources/tree-$v"
	fi
	dir=$SPLICE_BUILD/sources/$v
	for f in "$@"; do [ -f "$dir/$f" ] || missing+=("linux-source-7.2/$f"); done
	[ ${#missing[@]} -gt 0 ] || return 0
	mkdir -p "$dir"
	say "extracting ${#missing[@]} file(s) from linux-source-7.2 $v"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/linux-source-7.2.tar.xz |
		tar -xJ -C "$dir" --strip-components=1 "${missing[@]}" ||
		die "$(basename "$deb") lacks one of: $*"
}

extract "$base" "$@"
extract "$next" "$@"
for f in "$@"; do
	d=$out/$(echo "$f" | tr / -)
	d=${d%.c}.diff
	file_diff "$SPLICE_BUILD/sources/$base" "$SPLICE_BUILD/sources/$next" "$f" >"$d"
	[ -s "$d" ] || die "$f is the same in $base and $next"
	say "$(basename "$d"): $(grep -c '^@@' "$d") hunk(s)"
done
changelog_subjects "$(deb_of "$next")" "$base" >"$out/changelog"

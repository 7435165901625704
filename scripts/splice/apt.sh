# SPDX-License-Identifier: GPL-2.0
# Fetching one Debian package into the cache. Source after lib.sh.
#
#   deb_fetch PACKAGE VERSION ARCH PINS   sets DEB to the cached .deb
#
# apt runs with a private sources list and state folder under the build
# folder; the system's apt configuration is never touched. The .deb is kept
# in $SPLICE_CACHE/debs with the SHA-256 the archive gave for it beside it
# (NAME.deb.sha256), so a second run (or a second clone) downloads nothing,
# whether the version is pinned or not. Checksums: apt checks the package
# against the signed archive index; this checks it against the SHA-256 apt
# reports and against the pinned list PINS ("<sha256>  <version>" lines).

APT_SUITES=${APT_SUITES:-sid forky trixie-backports}
APTDIR=$SPLICE_BUILD/apt
DEBDIR=$SPLICE_CACHE/debs

apt_opts=(-o "Dir::Etc::SourceList=$APTDIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State=$APTDIR/state" -o "Dir::State::Status=$APTDIR/state/status"
	-o "Dir::Cache=$APTDIR/cache" -o Acquire::Languages=none
	-o APT::Get::List-Cleanup=false -o Debug::NoLocking=true -o APT::Sandbox::User=root
	-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
	-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
	-o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)

apt_ready=
apt_setup() {
	[ -z "$apt_ready" ] || return 0
	mkdir -p "$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial"
	touch "$APTDIR/state/status"
	: >"$APTDIR/sources.list"
	for s in $APT_SUITES; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $s main" \
			>>"$APTDIR/sources.list"
	done
	say "reading Debian's package index ($APT_SUITES)"
	apt_update
	apt_ready=1
}

# apt_update: apt-get update, which exits 0 when a suite's index could not be
# fetched ("W: Failed to fetch ..."): such a line is a failure here, named with
# its log, as an index without that suite would lack its versions.
apt_update() {
	local log=$SPLICE_LOGS/fetch-apt-update.log
	run_logged "$log" apt-get "${apt_opts[@]}" update
	if grep -qE '^(W|E): (Failed to fetch|Some index files failed)' "$log"; then
		grep -E '^(W|E):' "$log" | sed 's/^/    /' >&2
		die "Debian's package index is incomplete: a suite could not be read (log: $log)"
	fi
}

# apt_refresh: read the index once more (a version missing from a fresh index
# may be a mirror caught mid-update).
apt_refresh() {
	say "reading Debian's package index again"
	apt_update
}

# apt_sha256 PACKAGE VERSION ARCH: the SHA-256 apt reports, empty if it has none
# (apt-cache fails for a version it does not know: not an error here).
apt_sha256() {
	{ apt-cache "${apt_opts[@]}" show "$1:$3=$2" 2>/dev/null || true; } |
		awk '/^SHA256:/ { print $2; exit }'
}

# apt_versions PACKAGE: the versions of PACKAGE in the archive, on one line.
apt_versions() {
	{ apt-cache "${apt_opts[@]}" madison "$1" 2>/dev/null || true; } |
		awk -F'|' '{ gsub(/ /, "", $2); printf "%s ", $2 }'
}

deb_fetch() {
	local package=$1 version=$2 arch=$3 pins=$4 pinned expected got actual tmp
	DEB=$DEBDIR/${package}_${version}_$arch.deb
	pinned=$(awk -v v="$version" '$2 == v { print $1 }' "$pins" 2>/dev/null || true)
	if [ -f "$DEB" ]; then
		actual=$(sha256 "$DEB")
		if [ -n "$pinned" ] && [ "$actual" = "$pinned" ]; then
			say "using cached $package $version ($DEB)"
			return 0
		fi
		if [ -z "$pinned" ] && [ -f "$DEB.sha256" ] && [ "$actual" = "$(cat "$DEB.sha256")" ]; then
			say "using cached $package $version ($DEB; not pinned in $pins, checked against the archive's SHA-256 of its download)"
			return 0
		fi
	fi
	rm -f "$DEB" "$DEB.sha256"
	apt_setup
	expected=$(apt_sha256 "$package" "$version" "$arch")
	if [ -z "$expected" ]; then
		apt_refresh
		expected=$(apt_sha256 "$package" "$version" "$arch")
	fi
	if [ -z "$expected" ]; then
		die "$package $version is not in Debian's archive ($APT_SUITES) any more; available: $(apt_versions "$package" | sed 's/ $//' || true)${pinned:+ (pinned in $pins)}. Choose one of them."
	fi
	if [ -n "$pinned" ] && [ "$pinned" != "$expected" ]; then
		die "$package $version: the archive's SHA-256 $expected differs from the pinned $pinned ($pins)"
	fi
	[ -n "$pinned" ] || warn "$package $version is not pinned in $pins; trusting the archive's SHA-256"
	say "downloading $package $version"
	mkdir -p "$DEBDIR"
	tmp=$(mktemp -d "$APTDIR/download.XXXXXX")
	(cd "$tmp" && run_logged "$SPLICE_LOGS/fetch-download.log" \
		apt-get "${apt_opts[@]}" download "$package:$arch=$version")
	got=$(find "$tmp" -name '*.deb' | head -n 1)
	[ -n "$got" ] || die "apt-get download of $package $version produced no .deb (log: $SPLICE_LOGS/fetch-download.log)"
	actual=$(sha256 "$got")
	[ "$actual" = "$expected" ] || die "checksum mismatch for $package $version: $actual, the archive says $expected"
	mv "$got" "$DEB"
	echo "$expected" >"$DEB.sha256"
	rm -rf "$tmp"
}

# deb_resolve VERSION: the Debian version of linux-source-7.2 for kernel
# VERSION. A Debian version (it has a '-') is taken as it is. Otherwise: a
# cached package of that kernel version (the pinned one first), else the
# archive's "VERSION-1" or, when there is none, its other build of VERSION
# (backports' "VERSION-1~bpo13+1"). Dies naming the versions the archive has
# when there is no such version.
deb_resolve() {
	local v=$1 pins=$SPLICE_SRC/scripts/splice/kernel-sources.sha256 d all
	case $v in *-*) echo "$v"; return 0 ;; esac
	for d in $(awk -v v="$v" 'index($2, v "-") == 1 { print $2 }' "$pins"); do
		[ -f "$DEBDIR/linux-source-7.2_${d}_all.deb" ] && { echo "$d"; return 0; }
	done
	for d in "$DEBDIR"/linux-source-7.2_"$v"-*_all.deb; do
		[ -f "$d.sha256" ] || continue
		d=${d##*/linux-source-7.2_}
		echo "${d%_all.deb}"
		return 0
	done
	apt_setup >&2
	all=$(apt_versions linux-source-7.2)
	for d in $all; do [ "$d" = "$v-1" ] && { echo "$d"; return 0; }; done
	for d in $all; do case $d in "$v"-*) echo "$d"; return 0 ;; esac; done
	die "linux-source-7.2 for kernel $v is not in Debian's archive ($APT_SUITES); it has: ${all:-nothing}"
}

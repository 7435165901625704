#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Debian plumbing that needs no download: which Debian version a kernel
# version means (apt.sh deb_resolve), the cache of an unpinned package, and
# the report of options that differ from Debian's configuration
# (config-diff.sh).
set -uo pipefail
src=$(cd "$(dirname "$0")/../../../../.." && pwd)
. "$(dirname "$0")/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# In a subshell: lib.sh and apt.sh set -e and define die.
resolve() {
	(SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache SPLICE_SRC=$src
		. "$src/scripts/splice/lib.sh"; . "$src/scripts/splice/apt.sh"
		apt_setup() { echo "apt_setup called" >&2; exit 9; }
		deb_resolve "$1")
}
fetch() {
	(SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache SPLICE_SRC=$src
		. "$src/scripts/splice/lib.sh"; . "$src/scripts/splice/apt.sh"
		apt_setup() { echo "apt_setup called" >&2; exit 9; }
		deb_fetch "$1" "$2" all /dev/null && echo "DEB=$DEB")
}

check "a Debian version is taken as it is" test "$(resolve 7.2.11-1~bpo13+1)" = 7.2.11-1~bpo13+1
mkdir -p "$dir/cache/debs"
deb=$dir/cache/debs/linux-source-7.2_7.2.11-1~bpo13+1_all.deb
echo package >"$deb"
sha256sum "$deb" | cut -d' ' -f1 >"$deb.sha256"
check "a kernel version finds its cached backports package" test "$(resolve 7.2.11)" = 7.2.11-1~bpo13+1
out=$(fetch linux-source-7.2 7.2.11-1~bpo13+1 2>&1)
check "an unpinned package in the cache is used without apt" grep -q "using cached linux-source-7.2 7.2.11-1~bpo13+1" <<<"$out"
check "... and names its file" grep -qF "DEB=$deb" <<<"$out"
echo changed >"$deb"
out=$(fetch linux-source-7.2 7.2.11-1~bpo13+1 2>&1)
check "a cached package that no longer has its SHA-256 is fetched again" grep -q "apt_setup called" <<<"$out"
check "... and the bad copy is gone" test ! -e "$deb"

# A version the archive's index does not have (it left, or the index came
# without the suite that had it): apt-cache fails, and that must reach the named
# error, after the index is read once more, not end the script silently.
missing() {
	(SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache SPLICE_SRC=$src
		. "$src/scripts/splice/lib.sh"; . "$src/scripts/splice/apt.sh"
		apt_setup() { apt_ready=1; echo "index read" >&2; }
		apt_refresh() { echo "index read again" >&2; }
		apt-cache() {
			case "$*" in
			*madison*) echo " linux-source-7.2 | 7.2.12-1 | http://deb.debian.org/debian forky/main all Packages" ;;
			*) echo "E: No packages found" >&2; return 100 ;;
			esac
		}
		deb_fetch linux-source-7.2 7.2.99-1 all /dev/null)
}
out=$(missing 2>&1)
check "a version not in the index is named, with the versions there are" \
	grep -q "linux-source-7.2 7.2.99-1 is not in Debian's archive .* available: 7.2.12-1" <<<"$out"
check "... after the index was read once more" grep -q "index read again" <<<"$out"

# fetch-config.sh: the configuration of the tree's Debian version, or with
# DEBIAN_CONFIG_VERSION that of another, for the toolchain it names alone (a
# 7.2.6 test tree whose linux-config left the archive).
pkg=$dir/pkg
mkdir -p "$pkg/DEBIAN" "$pkg/usr/src/linux-config-7.2"
printf 'Package: linux-config-7.2\nVersion: 7.2.11-1~bpo13+1\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n' >"$pkg/DEBIAN/control"
printf '# Linux/x86 7.2.11 Kernel Configuration\nCONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0"\n' |
	xz >"$pkg/usr/src/linux-config-7.2/config.amd64_none_cloud-amd64.xz"
cdeb=$dir/cache/debs/linux-config-7.2_7.2.11-1~bpo13+1_amd64.deb
dpkg-deb --build "$pkg" "$cdeb" >/dev/null
sha256sum "$cdeb" | cut -d' ' -f1 >"$cdeb.sha256"
tree=$dir/tree
mkdir -p "$tree/.splice"
echo 7.2.6-1~bpo13+1 >"$tree/.splice/debian-version"
fetch_config() {
	(SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache SPLICE_SRC=$src KERNEL_TREE=$tree KERNEL_VERSION=7.2.6 \
		"$src/scripts/splice/fetch-config.sh" 2>&1)
}
out=$(DEBIAN_CONFIG_VERSION=7.2.11-1~bpo13+1 fetch_config)
check "DEBIAN_CONFIG_VERSION takes another version's configuration for its toolchain" \
	grep -q 'CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-16' "$tree/.splice/debian-cloud-amd64.config"
rm -f "$tree/.splice/debian-cloud-amd64.config"*
echo 7.2.11-1~bpo13+1 >"$tree/.splice/debian-version"
out=$(fetch_config)
check "without it, a configuration of another Linux version is refused by name" \
	grep -q "holds a configuration of Linux 7.2.11, the tree is 7.2.6" <<<"$out"
check "... and none is left in place" test ! -e "$tree/.splice/debian-cloud-amd64.config"

cat >"$dir/debian" <<'CFG'
CONFIG_A=y
# CONFIG_B is not set
CONFIG_C=m
CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0"
CFG
cat >"$dir/ours" <<'CFG'
CONFIG_A=y
CONFIG_B=y
CONFIG_D=y
CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0"
CFG
printf '# B: the tests need it.\nCONFIG_B=y\n' >"$dir/frag"
out=$("$src/scripts/splice/config-diff.sh" "$dir/debian" "$dir/ours" "$dir/frag")
check "config-diff counts the differences" grep -q "^3 option(s) differ" <<<"$out"
check "config-diff gives the fragment's reason" grep -q "CONFIG_B: Debian n, here y: B: the tests need it." <<<"$out"
check "config-diff names a derived change" grep -q "CONFIG_D: Debian unset, here y: derived by Kconfig" <<<"$out"
check "config-diff names a module that is gone" grep -q "CONFIG_C: Debian m, here unset" <<<"$out"
no_line() { ! grep -q "$1" <<<"$2"; }
check "config-diff leaves an unchanged option out" no_line CONFIG_A "$out"
# make check builds the target-other-compiler pack with Debian's compiler, in a
# build root mmdebstrap makes, whatever the kernel's toolchain: a fresh machine
# must get mmdebstrap from deps.sh with the default toolchain too.
pkgs=$(SPLICE_SRC=$src SPLICE_BUILD=$dir/build SPLICE_CACHE=$dir/cache SPLICE_TOOLCHAIN= \
	"$src/scripts/splice/deps.sh" --packages 2>&1)
check "deps.sh --packages lists the Debian packages" grep -qw qemu-system-x86 <<<"$pkgs"
check "... mmdebstrap among them with the host toolchain (make check's build root)" \
	grep -qw mmdebstrap <<<"$pkgs"

finish debian

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's own kernel configuration for the tree's version: package
# linux-config-7.2 of the same Debian version as the tree's linux-source-7.2,
# flavour DEBIAN_FLAVOUR (cloud-amd64; amd64 for the full one, rt-amd64),
# into $DEBIAN_CONFIG. The package is fetched, checked and cached by apt.sh
# (pins: debian-configs.sha256).
#
# Used by SPLICE_CONFIG=debian (the configuration) and SPLICE_TOOLCHAIN=debian
# (the compilers the configuration names).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

#
# DEBIAN_CONFIG_VERSION=V takes the configuration of Debian version V instead,
# for the toolchain it names alone (SPLICE_TOOLCHAIN=debian for a tree of our
# own configuration): a point release whose linux-config left the archive
# still gets Debian's compiler.
TREE=$KERNEL_TREE
if [ -n "${DEBIAN_CONFIG_VERSION:-}" ]; then
	version=$DEBIAN_CONFIG_VERSION
else
	[ -f "$TREE/.splice/debian-version" ] || die "$TREE has no .splice/debian-version: fetch the source first (fetch-kernel.sh)"
	version=$(cat "$TREE/.splice/debian-version")
fi
deb_fetch linux-config-7.2 "$version" amd64 "$SPLICE_SRC/scripts/splice/debian-configs.sha256"

member=./usr/src/linux-config-7.2/config.amd64_none_$DEBIAN_FLAVOUR.xz
if [ -f "$DEBIAN_CONFIG" ] && [ "$(cat "$DEBIAN_CONFIG.source" 2>/dev/null)" = "$(sha256 "$DEB") $member" ]; then
	say "Debian's $DEBIAN_FLAVOUR configuration of $version is in place"
	exit 0
fi
tmp=$DEBIAN_CONFIG.tmp
if ! dpkg-deb --fsys-tarfile "$DEB" | tar -xO "$member" 2>/dev/null | xz -dc >"$tmp" || ! [ -s "$tmp" ]; then
	rm -f "$tmp"
	have=$(dpkg-deb -c "$DEB" | sed -n 's|.*/config\.amd64_none_\(.*\)\.xz$|\1|p' | tr '\n' ' ')
	die "linux-config-7.2 $version has no flavour '$DEBIAN_FLAVOUR' (it has: $have); set DEBIAN_FLAVOUR to one of them"
fi
got=$(sed -n 's/^# Linux\/x86 \([^ ]*\) Kernel Configuration$/\1/p' "$tmp")
if [ -z "${DEBIAN_CONFIG_VERSION:-}" ] && [ "$got" != "$KERNEL_VERSION" ]; then
	rm -f "$tmp"
	die "linux-config-7.2 $version holds a configuration of Linux $got, the tree is $KERNEL_VERSION"
fi
mv "$tmp" "$DEBIAN_CONFIG"
echo "$(sha256 "$DEB") $member" >"$DEBIAN_CONFIG.source"
say "Debian's $DEBIAN_FLAVOUR configuration of $version: $(grep -c '=y$' "$DEBIAN_CONFIG") built in, $(grep -c '=m$' "$DEBIAN_CONFIG") modules; compiler: $(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$DEBIAN_CONFIG")"

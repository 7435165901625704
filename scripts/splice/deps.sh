#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and testing splice needs, only what is missing.
#
#   Debian packages   apt-get install (needs root)
#   rust-src          rustup component add
#   bindgen-cli       cargo install --locked, pinned, into $SPLICE_CACHE
#   libclang          PyPI wheel libclang (ships libclang.so), pinned, in a
#                     venv in $SPLICE_CACHE; used through LIBCLANG_PATH
#
#   deps.sh --packages  print the Debian packages it would install, and stop
. "$(dirname "$0")/lib.sh"

DEB_PACKAGES="bc bison busybox-static cpio flex gawk gcc git libelf-dev libssl-dev
	libxxhash-dev make patch patchutils python3 python3-venv qemu-system-x86 rsync strace
	xz-utils zstd dwarves mmdebstrap lintian openssh-client e2fsprogs"
# mmdebstrap makes the build root of Debian's toolchain (buildroot.sh): for
# SPLICE_TOOLCHAIN=debian, and in every make check, whose target-other-compiler
# pack is compiled by Debian's compiler (build-packs.sh); and the Debian guest
# of make check-fleet (debian-guest.sh), reached with ssh. lintian checks the
# packages `splice package` makes (its test in tools/splice); strace shows the
# syscalls of `splice apply --all` (its crash marker is synced before the apply).
if [ "${1:-}" = --packages ]; then
	echo $DEB_PACKAGES
	exit 0
fi
BINDGEN_VERSION=${BINDGEN_VERSION:-0.73.0}
LIBCLANG_VERSION=${LIBCLANG_VERSION:-18.1.1}

missing=()
for p in $DEB_PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing Debian packages (install them as root): ${missing[*]}"
	say "installing Debian packages: ${missing[*]}"
	log=$SPLICE_LOGS/deps-apt.log
	run_logged "$log" apt-get update
	DEBIAN_FRONTEND=noninteractive run_logged "$log.install" \
		apt-get install -y --no-install-recommends "${missing[@]}"
fi

command -v rustup >/dev/null || die "rustup not found: install a Rust toolchain with rustup"
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	say "adding the rust-src component"
	run_logged "$SPLICE_LOGS/deps-rust-src.log" rustup component add rust-src
fi

bindgen=$SPLICE_CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
if ! [ -x "$bindgen" ]; then
	say "building bindgen-cli $BINDGEN_VERSION (once; kept in $SPLICE_CACHE)"
	run_logged "$SPLICE_LOGS/deps-bindgen.log" cargo install --locked --quiet \
		--root "$SPLICE_CACHE/bindgen-$BINDGEN_VERSION" "bindgen-cli@$BINDGEN_VERSION"
fi

venv=$SPLICE_CACHE/libclang-$LIBCLANG_VERSION
if ! [ -f "$venv/lib/libclang.so" ]; then
	say "installing libclang $LIBCLANG_VERSION from PyPI (once; kept in $SPLICE_CACHE)"
	rm -rf "$venv"
	run_logged "$SPLICE_LOGS/deps-libclang.log" python3 -m venv "$venv"
	run_logged "$SPLICE_LOGS/deps-libclang.log" "$venv/bin/pip" install --quiet \
		"libclang==$LIBCLANG_VERSION"
	so=$(find "$venv" -path '*clang/native/libclang.so' | head -n 1)
	[ -n "$so" ] || die "the libclang $LIBCLANG_VERSION wheel has no clang/native/libclang.so (log: $SPLICE_LOGS/deps-libclang.log)"
	ln -s "$so" "$venv/lib/libclang.so"
fi
say "dependencies present"

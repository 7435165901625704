#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Debian's kernel toolchain in a build root of its own, never on the host.
#
#   buildroot.sh ensure DOTCONFIG     make (once) the build root for the
#                                     toolchain DOTCONFIG names, print its path
#   buildroot.sh run DOTCONFIG CMD... run CMD inside it
#   buildroot.sh other-cc DOTCONFIG   the other compiler it has (gcc one major
#                                     version before the kernel's)
#
# A distro kernel is built with the distro's compiler: Debian's 7.2 configs
# name it in CONFIG_CC_VERSION_TEXT ("x86_64-linux-gnu-gcc-16 (Debian
# 16.2.0-3) 16.2.0"), CONFIG_RUSTC_VERSION_TEXT and CONFIG_BINDGEN_VERSION_TEXT.
# The build root is made by mmdebstrap from the Debian suite that has exactly
# those versions (BUILDROOT_SUITE, forky), with the compiler's package pinned
# to the version the config names, and kept in $SPLICE_CACHE/buildroot. It is
# checked after it is made: each tool's --version must print what the config
# says, or the script stops and names the tool and the package.
#
# run enters it with chroot in a private mount namespace (unshare -m) with
# the source, build and cache folders bind-mounted at the same paths, so that
# paths recorded by Kbuild mean the same inside and outside; /proc, /sys and
# /dev come from the host. The environment is reset to a few variables of
# ours (the host's LIBCLANG_PATH and PATH must not leak in).
. "$(dirname "$0")/lib.sh"

SUITE=${BUILDROOT_SUITE:-forky}
MIRROR=${BUILDROOT_MIRROR:-http://deb.debian.org/debian}
# What a Kbuild of the kernel and of splice's packs needs, besides the
# pinned compiler; and what klp-build needs beside them (make eval runs it
# here, with the kernel's compiler): recountdiff (patchutils), gawk, and
# objtool built with its klp subcommand, which needs libxxhash.
PACKAGES="make bc bison flex libelf-dev libssl-dev dwarves python3 perl cpio kmod
	xz-utils zstd openssl rsync patch rustc rust-src rust-clippy bindgen libclang-dev libc6-dev file
	patchutils gawk libxxhash-dev"

cmd=${1:-}
config=${2:-}
[ -n "$cmd" ] && [ -n "$config" ] || die "usage: buildroot.sh ensure|run DOTCONFIG [CMD...]"
[ -f "$config" ] || die "no kernel configuration at $config"
shift 2

# config_text NAME: the quoted value of CONFIG_NAME in $config.
config_text() { sed -n "s/^CONFIG_$1=\"\(.*\)\"$/\1/p" "$config"; }

cc_text=$(config_text CC_VERSION_TEXT)
rustc_text=$(config_text RUSTC_VERSION_TEXT)
bindgen_text=$(config_text BINDGEN_VERSION_TEXT)
cc=${cc_text%% *}
# "x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0": package gcc-16 at 16.2.0-3.
gcc_major=$(echo "$cc" | sed -n 's/.*gcc-\([0-9][0-9]*\)$/\1/p')
gcc_deb=$(echo "$cc_text" | sed -n 's/.*(Debian \([^)]*\)).*/\1/p')
[ -n "$gcc_major" ] && [ -n "$gcc_deb" ] ||
	die "$config: CONFIG_CC_VERSION_TEXT='$cc_text' names no Debian gcc-N package; a build root is made only for Debian's compilers (SPLICE_TOOLCHAIN=host builds with the host's)"

# The compiler one major version before, for the pack tests/41-other-compiler.sh
# expects run-pre matching to refuse (build-packs.sh): the test configuration
# has the host's compiler and this one's for that; a kernel built here has no
# other without it.
other_gcc=gcc-$((gcc_major - 1))
PACKAGES="$PACKAGES $other_gcc"
key=$(printf '%s\n' "$SUITE" "$MIRROR" "gcc-$gcc_major=$gcc_deb" $PACKAGES | sha256sum | cut -c1-12)
ROOT=$SPLICE_CACHE/buildroot/$SUITE-gcc$gcc_major-$key
log=$SPLICE_LOGS/buildroot-$SUITE.log

# check_root: every tool prints the version the configuration names.
check_root() {
	local got
	got=$(chroot "$ROOT" "$cc" --version 2>/dev/null | head -n 1)
	[ "$got" = "$cc_text" ] || { echo "$cc (package gcc-$gcc_major=$gcc_deb) prints '${got:-nothing}', the configuration names '$cc_text'"; return 1; }
	if [ -n "$rustc_text" ]; then
		got=$(chroot "$ROOT" rustc --version 2>/dev/null)
		[ "$got" = "$rustc_text" ] || { echo "rustc (package rustc of $SUITE) prints '${got:-nothing}', the configuration names '$rustc_text'"; return 1; }
	fi
	if [ -n "$bindgen_text" ]; then
		got=$(chroot "$ROOT" bindgen --version 2>/dev/null)
		[ "$got" = "$bindgen_text" ] || { echo "bindgen (package bindgen of $SUITE) prints '${got:-nothing}', the configuration names '$bindgen_text'"; return 1; }
	fi
}

ensure() {
	if [ -f "$ROOT/.splice-ready" ]; then
		return 0
	fi
	command -v mmdebstrap >/dev/null ||
		die "mmdebstrap is missing (apt-get install mmdebstrap; deps.sh installs it)"
	say "making the $SUITE build root with gcc-$gcc_major=$gcc_deb, rustc and bindgen (log: $log)"
	rm -rf "$ROOT" "$ROOT.tmp"
	mkdir -p "$(dirname "$ROOT")"
	local include
	include=$(echo "gcc-$gcc_major=$gcc_deb" $PACKAGES | tr -s ' \t\n' ',')
	# The archive here may be a snapshot older than its Release files' Valid-Until.
	if ! mmdebstrap --mode=root --variant=minbase \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--include="${include%,}" "$SUITE" "$ROOT.tmp" "$MIRROR" >"$log" 2>&1; then
		missing=$(grep -oE "(Version '[^']*' for '[^']*' was not found|Unable to locate package [^ ]*|Package '[^']*' has no installation candidate)" "$log" | head -n 3 | tr '\n' ';')
		rm -rf "$ROOT.tmp"
		die "cannot make the $SUITE build root${missing:+: $missing} (log: $log)"
	fi
	mv "$ROOT.tmp" "$ROOT"
	if ! why=$(check_root); then
		die "the $SUITE build root has the wrong toolchain: $why (log: $log)"
	fi
	touch "$ROOT/.splice-ready"
	say "build root ready: $ROOT ($(du -sh "$ROOT" | cut -f1))"
}

case $cmd in
ensure)
	ensure
	echo "$ROOT"
	;;
other-cc)
	echo "x86_64-linux-gnu-$other_gcc"
	;;
run)
	[ $# -gt 0 ] || die "buildroot.sh run: no command"
	ensure >&2
	binds=()
	for d in "$SPLICE_SRC" "$SPLICE_BUILD" "$SPLICE_CACHE" "$KERNEL_TREE" /tmp; do
		d=$(realpath -m "$d")
		case " ${binds[*]:-} " in *" $d "*) continue ;; esac
		mkdir -p "$d"
		binds+=("$d")
	done
	cwd=/
	for d in "${binds[@]}"; do case $PWD/ in "$d"/*) cwd=$PWD ;; esac; done
	# shellcheck disable=SC2016
	exec unshare -m --propagation private bash -c '
		root=$1; shift; n=$1; shift
		for ((i = 0; i < n; i++)); do
			mkdir -p "$root$1" && mount --rbind "$1" "$root$1" || exit 125
			shift
		done
		for d in proc sys dev; do mount --rbind "/$d" "$root/$d" || exit 125; done
		exec chroot "$root" "$@"' buildroot "$ROOT" "${#binds[@]}" "${binds[@]}" \
		env -i -C "$cwd" PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
		SPLICE_SRC="$SPLICE_SRC" SPLICE_BUILD="$SPLICE_BUILD" SPLICE_CACHE="$SPLICE_CACHE" \
		SPLICE_CONFIG="$SPLICE_CONFIG" SPLICE_TOOLCHAIN=inside KERNEL_VERSION="$KERNEL_VERSION" \
		KERNEL_TREE="$KERNEL_TREE" JOBS="${JOBS:-}" "$@"
	;;
*) die "buildroot.sh: unknown command '$cmd' (ensure, run or other-cc)" ;;
esac

# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the splice build scripts. Source, do not run.
#
# Every script takes its locations from the environment the top-level Makefile
# exports: SPLICE_SRC (the repository), SPLICE_BUILD (the build folder),
# SPLICE_CACHE (downloads kept between clones, ~/.cache/splice by default),
# KERNEL_VERSION, SPLICE_CONFIG and KERNEL_TREE.
#
# SPLICE_CONFIG names the kernel configuration: "test" (tinyconfig and what
# the tests need, scripts/splice/configs/test.config; make, make check) or
# "eval" (x86_64 defconfig + kvm_guest.config + splice, configs/eval.config;
# make eval) or "debian" (Debian's own configuration of the same version,
# from linux-config-7.2, flavour DEBIAN_FLAVOUR (cloud-amd64), plus splice;
# configs/debian.config) or "debug" (the test configuration with lockdep,
# KFENCE, kmemleak and fault injection, configs/debug.config; make check
# runs the guest tests on it too, debug-check.sh). Each has its own tree:
# build/linux-VERSION for test, build/linux-VERSION-eval,
# build/linux-VERSION-debian and build/linux-VERSION-debug for the others.
#
# SPLICE_TOOLCHAIN names the compilers: "host" (the host's gcc, rustc and
# bindgen; the default for test and eval) or "debian" (the ones Debian's
# configuration of this version names, in a build root made by
# buildroot.sh; the default for debian). kmake and tc run Kbuild and the
# tools that compile (splice-create) with it.

set -euo pipefail

: "${SPLICE_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SPLICE_BUILD:=$SPLICE_SRC/build}"
: "${SPLICE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/splice}"
: "${KERNEL_VERSION:=7.2.12}"
: "${SPLICE_CONFIG:=test}"
case $SPLICE_CONFIG in
test) SPLICE_TREE_SUFFIX= ;;
eval) SPLICE_TREE_SUFFIX=-eval ;;
debian) SPLICE_TREE_SUFFIX=-debian ;;
debug) SPLICE_TREE_SUFFIX=-debug ;;
*) printf 'error: SPLICE_CONFIG=%s: known configurations are test, eval, debian and debug\n' "$SPLICE_CONFIG" >&2; exit 1 ;;
esac
if [ "$SPLICE_CONFIG" = debian ]; then : "${SPLICE_TOOLCHAIN:=debian}"; else : "${SPLICE_TOOLCHAIN:=host}"; fi
case $SPLICE_TOOLCHAIN in
host | debian | inside) ;;
*) printf 'error: SPLICE_TOOLCHAIN=%s: known toolchains are host and debian\n' "$SPLICE_TOOLCHAIN" >&2; exit 1 ;;
esac
: "${DEBIAN_FLAVOUR:=cloud-amd64}"
: "${KERNEL_TREE:=$SPLICE_BUILD/linux-$KERNEL_VERSION$SPLICE_TREE_SUFFIX}"
# Debian's configuration of the tree's version and flavour (fetch-config.sh).
DEBIAN_CONFIG=$KERNEL_TREE/.splice/debian-$DEBIAN_FLAVOUR.config
SPLICE_LOGS="$SPLICE_BUILD/logs"
mkdir -p "$SPLICE_LOGS"
# The userspace tools (splice-create, splice), linked statically so that the
# same binaries run on the host and in the guest (build_tools).
# SPLICE_TOOLS_TARGET is their cargo target folder (the debug kernel's
# run, debug-check.sh, shares the parent build's).
: "${SPLICE_TOOLS_TARGET:=$SPLICE_BUILD/tools-target}"
SPLICE_TOOLS=$SPLICE_TOOLS_TARGET/x86_64-unknown-linux-gnu/release

# The script's name, for messages.
SPLICE_ME=$(basename "$0" .sh)

say() { printf '[%s] %s\n' "$SPLICE_ME" "$*"; }
warn() { printf '[%s] warning: %s\n' "$SPLICE_ME" "$*" >&2; }
# die REASON: one line that names what failed (and where its log is), then exit 1.
die() { printf '[%s] error: %s\n' "$SPLICE_ME" "$*" >&2; exit 1; }

# run_logged LOG CMD...: run CMD with its output in LOG; on failure, show the
# log's tail and die naming the command and the log.
run_logged() {
	local log=$1; shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 25 "$log" | sed 's/^/    /' >&2
		die "'$*' failed (log: $log)"
	fi
}

# retarget_tree DIR OLD NEW: DIR is a copy of a built tree that lay at OLD
# and will lie at NEW. Kbuild records absolute paths in its .cmd and
# dependency files (Rust's CLIPPY_CONF_DIR, objtool's headers): point them at
# NEW, keeping the files' times, so that nothing is rebuilt for the move alone.
retarget_tree() {
	local dir=$1 old=$2 new=$3 stamp
	[ -n "$old" ] && [ "$old" != "$new" ] || return 0
	stamp=$(mktemp)
	# grep finding no file is no error.
	find "$dir" -type f \( -name '*.cmd' -o -name '*.d' \) -print0 |
		{ xargs -0 -r grep -lZF -e "$old" || true; } | while IFS= read -r -d '' f; do
			touch -r "$f" "$stamp"
			sed -i "s|$old|$new|g" "$f"
			touch -r "$stamp" "$f"
		done
	rm -f "$stamp"
}

# tc CMD...: run CMD with the kernel's toolchain: as it is for the host's,
# in the build root (buildroot.sh) for Debian's.
# TC is the same as a command prefix, for timeout and xargs.
if [ "$SPLICE_TOOLCHAIN" = debian ]; then
	TC=("$SPLICE_SRC/scripts/splice/buildroot.sh" run "$DEBIAN_CONFIG")
else
	TC=()
fi
tc() {
	if [ "$SPLICE_TOOLCHAIN" = debian ] && ! [ -f "$DEBIAN_CONFIG" ]; then
		die "no Debian configuration at $DEBIAN_CONFIG to take the toolchain from (fetch-config.sh fetches it)"
	fi
	"${TC[@]}" "$@"
}

# kbuild_cc: the compiler Kbuild must be told (CC=...), empty for the host's
# gcc: the program CONFIG_CC_VERSION_TEXT of Debian's configuration names
# (x86_64-linux-gnu-gcc-16). Kbuild takes the configuration's compiler text
# from the CC it runs, so every make of the tree must use the same one.
kbuild_cc() {
	[ "$SPLICE_TOOLCHAIN" = debian ] || return 0
	sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$DEBIAN_CONFIG"
}

# kmake ARGS...: make with the kernel's toolchain.
kmake() {
	local cc
	cc=$(kbuild_cc)
	tc make ${cc:+CC=$cc} "$@"
}

# build_tools: build splice-create and splice (static) into $SPLICE_TOOLS.
build_tools() {
	RUSTFLAGS="-C target-feature=+crt-static" run_logged "$SPLICE_LOGS/tools-build.log" \
		cargo build --release -j "$(nproc)" --target x86_64-unknown-linux-gnu \
		--manifest-path "$SPLICE_SRC/tools/splice/Cargo.toml" \
		--target-dir "$SPLICE_TOOLS_TARGET"
}

# build_probe DIR: build splice-probe (the guest's probes of the code fixes
# change, tools/testing/selftests/splice/probe/) into DIR, static.
build_probe() {
	mkdir -p "$1"
	run_logged "$SPLICE_LOGS/splice-probe.log" gcc -O2 -Wall -Werror -static \
		-o "$1/splice-probe" "$SPLICE_SRC/tools/testing/selftests/splice/probe/splice-probe.c"
}

# file_diff OLD_DIR NEW_DIR FILE: diff -u of FILE between two trees, named
# a/FILE and b/FILE, without dates (empty if they are the same).
file_diff() {
	diff -u "$1/$3" "$2/$3" |
		sed -e "1s|^--- .*|--- a/$3|" -e "2s|^+++ .*|+++ b/$3|" || true
}

# changelog_subjects DEB BASE: the "  - subject" lines of the Debian changelog
# in the linux-source package DEB, from its newest entry down to BASE's
# (BASE: a Debian version, 7.2.12-1).
changelog_subjects() {
	dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/linux-source-7.2/changelog.Debian.gz |
		gzip -dc | awk -v b="($2)" 'index($0, b) { done = 1 }
			!done && /^    - / { sub(/^    - /, ""); print }'
}

# sha256 FILE
sha256() { sha256sum "$1" | cut -d' ' -f1; }

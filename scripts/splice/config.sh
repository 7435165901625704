#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure KERNEL_TREE: a base target plus config fragments, merged with the
# kernel's scripts/kconfig/merge_config.sh. Then check that every option our
# own fragments (scripts/splice/configs/) ask for really ended up as asked,
# and stop with the list of those that did not (an unmet dependency drops them
# silently). The kernel's own fragments are taken as they are: kvm_guest.config
# names options of other architectures.
#
#   config.sh [BASE_TARGET FRAGMENT...]
#
# Default, by SPLICE_CONFIG: test = tinyconfig + configs/test.config; debug =
# tinyconfig + configs/test.config + configs/debug.config; eval =
# defconfig + the tree's kernel/configs/kvm_guest.config + configs/eval.config;
# debian = Debian's configuration of the version (fetch-config.sh) +
# configs/debian.config, made with Debian's compiler (SPLICE_TOOLCHAIN); then
# every option that differs from Debian's is printed with its reason, and
# the compiler, rustc and bindgen texts must be Debian's.
#
# The configuration is made anew only when the fragments, the base target or
# the Kconfig files of splice changed, so an unchanged config does not cause
# a rebuild.
. "$(dirname "$0")/lib.sh"

TREE=$KERNEL_TREE
BASE=${1:-tinyconfig}
shift || true
if [ $# -eq 0 ]; then
	case $SPLICE_CONFIG in
	test) set -- "$SPLICE_SRC/scripts/splice/configs/test.config" ;;
	debug) set -- "$SPLICE_SRC/scripts/splice/configs/test.config" "$SPLICE_SRC/scripts/splice/configs/debug.config" ;;
	eval)
		[ "$BASE" = tinyconfig ] && BASE=defconfig
		set -- "$TREE/kernel/configs/kvm_guest.config" "$SPLICE_SRC/scripts/splice/configs/eval.config"
		;;
	debian)
		[ "$BASE" = tinyconfig ] && BASE=debian
		set -- "$SPLICE_SRC/scripts/splice/configs/debian.config"
		;;
	esac
fi
if [ "$BASE" = debian ]; then
	"$SPLICE_SRC/scripts/splice/fetch-config.sh"
	[ "$SPLICE_TOOLCHAIN" = debian ] ||
		warn "Debian's configuration with SPLICE_TOOLCHAIN=$SPLICE_TOOLCHAIN: the compiler options will be the host's, not Debian's"
fi
for f in "$@"; do [ -f "$f" ] || die "config fragment $f not found"; done

stamp=$TREE/.splice/config.stamp
key=$( { echo "$BASE $SPLICE_TOOLCHAIN"; [ "$BASE" != debian ] || cat "$DEBIAN_CONFIG"; cat "$@"; cat "$TREE/kernel/splice/Kconfig" 2>/dev/null; } | sha256sum | cut -d' ' -f1)
if [ -f "$TREE/.config" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
	say "configuration unchanged"
	exit 0
fi

log=$SPLICE_LOGS/config.log
say "configuring: $BASE + $(for f in "$@"; do basename "$f"; done | tr '\n' ' ')"
if [ "$BASE" = debian ]; then
	cp "$DEBIAN_CONFIG" "$TREE/.config"
	: >"$log"
else
	run_logged "$log" kmake -C "$TREE" "$BASE"
fi
run_logged "$log.merge" env -C "$TREE" scripts/kconfig/merge_config.sh -m .config "$@"
run_logged "$log.olddefconfig" kmake -C "$TREE" olddefconfig

ours=()
for f in "$@"; do
	case $(realpath "$f") in "$SPLICE_SRC"/scripts/*) ours+=("$f") ;; esac
done
if ! "$SPLICE_SRC/scripts/splice/config-verify.sh" "$TREE/.config" "${ours[@]}"; then
	rm -f "$stamp"
	die "requested options did not take effect (listed above; an unmet dependency or a typo)"
fi
if [ "$BASE" = debian ]; then
	"$SPLICE_SRC/scripts/splice/config-diff.sh" "$DEBIAN_CONFIG" "$TREE/.config" "$@" |
		tee "$TREE/.splice/config-differences.txt"
	if [ "$SPLICE_TOOLCHAIN" = debian ]; then
		for t in CC_VERSION_TEXT RUSTC_VERSION_TEXT BINDGEN_VERSION_TEXT; do
			want=$(grep "^CONFIG_$t=" "$DEBIAN_CONFIG" || true)
			grep -qxF "$want" "$TREE/.config" || {
				rm -f "$stamp"
				die "the build root's toolchain is not Debian's: $want, the configuration got $(grep "^CONFIG_$t=" "$TREE/.config" || echo nothing) (log: $log.olddefconfig)"
			}
		done
	fi
fi
echo "$key" >"$stamp"
say "configuration ready ($(grep -c '=y' "$TREE/.config") options set)"

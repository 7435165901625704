#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build KERNEL_TREE (bzImage and modules) with Kbuild, incrementally.
#
# Progress is shown as a line every 30 seconds; the full output goes to
# build/logs/kernel-build.log. After a successful build the tree is saved in
# $SPLICE_CACHE/trees (see tree-cache.sh) so that a fresh clone on this machine
# starts from it.
. "$(dirname "$0")/lib.sh"

TREE=$KERNEL_TREE
log=$SPLICE_LOGS/kernel-build$SPLICE_TREE_SUFFIX.log
jobs=${JOBS:-$(nproc)}

run_logged "$SPLICE_LOGS/rustavailable.log" kmake -C "$TREE" rustavailable

# Debian's configuration has a thousand modules; the guests load only the
# samples, and the Debian guest (debian-guest.sh) its disk and network
# drivers, so only those are built (the others stay configured: their
# IS_ENABLED() shapes built-in code). The network driver is vmxnet3, which
# needs no other module: virtio_net needs failover.ko, whose exports a build
# of single modules cannot link against.
targets=(bzImage modules)
if [ "$SPLICE_CONFIG" = debian ]; then
	targets=(bzImage samples/splice/splice_target_mod.ko samples/splice/splice_target_rust.ko
		samples/livepatch/livepatch-sample.ko drivers/block/virtio_blk.ko
		drivers/net/vmxnet3/vmxnet3.ko)
fi

say "building linux-$KERNEL_VERSION $SPLICE_CONFIG with the $SPLICE_TOOLCHAIN toolchain (-j$jobs; log: $log)"
start=$(date +%s)
set +e
kmake -C "$TREE" -j"$jobs" CLIPPY=1 "${targets[@]}" 2>&1 | tee "$log" | gawk -v start="$start" '
	/ error:|Error [0-9]|\*\*\*|^error/ { print "    " $0; fflush() }
	/^  [A-Z]+/ { n++ }
	{ now = systime(); if (now - last >= 30) { last = now; printf "    ... %d steps, %d s\n", n, now - start; fflush() } }
	END { printf "    %d build steps\n", n }'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || die "kernel build failed (log: $log)"
say "kernel built in $(($(date +%s) - start)) s: $TREE/arch/x86/boot/bzImage"
"$SPLICE_SRC/scripts/splice/tree-cache.sh" save

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` after the build: fix a real 7.2.12 bug in a running 7.2.12
# kernel, and reverse the fix, without a reboot.
#
#   1. the fix: Debian's 7.2.12 -> 7.2.13 diff of kernel/pid_namespace.c
#      ("pid_namespace: make zap_pid_ns_processes() freezable"), taken from
#      the two source packages (stable-diff.sh);
#   2. splice-create makes the pack from it against the built tree (timed);
#   3. the VM boots 7.2.12 and samples/splice/demo/demo.sh shows the bug with
#      samples/splice/demo/pidns-freeze.c, loads, checks and applies the pack
#      while a workload runs the patched code, shows the fix, reverses it and
#      shows the bug again.
#
# Fails (exit 1) when a step does not show what it claims. The last line is
# "demo: 1 passed, 0 failed" on success, for make check.
. "$(dirname "$0")/lib.sh"

# The reproducer freezes user space with the suspend test mode, which only
# CONFIG_PM_DEBUG has (Debian's amd64 flavour sets it, cloud-amd64 does not).
if ! grep -qx 'CONFIG_PM_DEBUG=y' "$KERNEL_TREE/.config"; then
	flavour=
	[ "$SPLICE_CONFIG" = debian ] && flavour=", $DEBIAN_FLAVOUR"
	why="the reproducer freezes user space with /sys/power/pm_test, which needs CONFIG_PM_DEBUG, and this configuration ($SPLICE_CONFIG$flavour) has none (Debian's amd64 flavour has it: DEBIAN_FLAVOUR=amd64)"
	[ -n "${SPLICE_IN_CHECK:-}" ] || die "$why"
	echo "demo: SKIP: $why"
	echo "demo: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

file=kernel/pid_namespace.c
subject="pid_namespace: make zap_pid_ns_processes() freezable"
base=$KERNEL_VERSION
next=${DEMO_NEXT_VERSION:-7.2.13}
dir=$SPLICE_BUILD/demo
guest=$dir/guest
rm -rf "$guest"
mkdir -p "$guest/bin" "$guest/packs" "$guest/demo"

say "the fix: $file from Debian's linux-source-7.2 $base to $next"
"$SPLICE_SRC/scripts/splice/stable-diff.sh" "$base" "$next" "$dir/fix" "$file"
diff=$dir/fix/$(echo "${file%.c}" | tr / -).diff
grep -qxF "$subject" "$dir/fix/changelog" ||
	die "Debian's $next changelog does not name '$subject'"
say "Debian's $next changelog: $subject"
sed 's/^/    /' "$diff"

say "building the tools and the reproducer"
build_tools
cp "$SPLICE_TOOLS/splice" "$guest/bin/"
gcc -O2 -Wall -static -o "$guest/bin/pidns-freeze" "$SPLICE_SRC/samples/splice/demo/pidns-freeze.c" ||
	die "cannot build the reproducer (gcc -static)"
cp "$SPLICE_SRC/samples/splice/demo/demo.sh" "$guest/demo/"
printf '%s\n' "$next" "$subject" >"$guest/demo/fix"

say "splice-create: diff -> pack, against $KERNEL_TREE"
t0=$(date +%s.%N)
tc "$SPLICE_TOOLS/splice-create" --tree "$KERNEL_TREE" --patch "$diff" --name pidns-freeze \
	--description "$subject (Linux $next)" --fix "$subject" --fixed-in "$next" \
	-o "$guest/packs/splice_pidns_freeze.ko" \
	--report "$dir/pack.json" --work "$dir/work" 2>&1 | sed 's/^/    /'
[ "${PIPESTATUS[0]}" = 0 ] || die "splice-create failed"
say "pack made in $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s: $(du -k "$guest/packs/splice_pidns_freeze.ko" | cut -f1) KiB"

say "booting linux-$base in the VM (TCG, ${VM_SMP:-2} CPUs); the guest narrates"
VM_TIMEOUT=${VM_TIMEOUT:-300} "$SPLICE_SRC/scripts/splice/vm.sh" demo "$guest"
echo "demo: 1 passed, 0 failed"

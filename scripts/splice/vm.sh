#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the splice kernel in QEMU (TCG, at least 2 CPUs).
#
#   vm.sh shell [DIR...]     interactive shell on the console (make vm)
#   vm.sh test  [DIR...]     run the guest tests; exit 0 only if all passed
#   vm.sh bench [DIR...]     run the stop_machine benchmark (4 CPUs, no KUnit)
#                            and print its figures; fails only if it broke
#   vm.sh demo  [DIR...]     run /splice/demo/demo.sh (make demo), narrating
#                            on stdout; fails unless it ends with "demo: ok"
#   vm.sh eval  [DIR...]     run the evaluation's guest part on the packs in
#                            /splice/eval/ (scripts/splice/eval.sh)
#   vm.sh eval-klp [DIR...]  the same for the livepatch modules in /splice/klp/
#                            (KERNEL_TREE: klp-build's tree)
#
# DIRs are copied under /splice/ in the guest (see mkinitramfs.sh).
# Environment: VM_SMP (2; 4 for bench), VM_MEM (1G), VM_TIMEOUT (600 s: it only bounds
# a hang; the test guest runs about 140 s on an idle host), VM_NAME (the mode),
# VM_KUNIT_SUITES (the KUnit suites that must have run), VM_APPEND (more
# kernel command line), VM_TCG_THREAD (single; multi runs each vCPU on its
# own host thread, see below), VM_QEMU_ARGS (more QEMU options, split at
# spaces: "-gdb tcp::1234" to look at a hung guest with gdb and vmlinux).
#
# TCG runs the vCPUs in turn on one host thread by default. With one thread
# per vCPU (MTTCG), QEMU can go on running its translation of guest code that
# another vCPU has just rewritten (QEMU work item 4669). Twice here the guest
# kernel tripped, under MTTCG, on an int3 that its own text patching had
# already removed ("Oops: int3" in __schedule() while livepatch flipped a jump
# label), the failure that report describes; and a test of code patching
# could watch stale code. The guest still has VM_SMP CPUs, so SMP paths
# (stop_machine, IPIs, the stack check of tasks on other CPUs) run as before.
#
# In test mode the console goes to build/vm/$VM_NAME/console.log and the guest
# prints its KTAP results on a second serial port, results.log. A run that
# panics, hangs, or never prints its final line is a failure, and the console
# log is named. KUnit results in the console log are parsed with the kernel's
# tools/testing/kunit/kunit.py. The last line is "vm: N passed, N failed".
. "$(dirname "$0")/lib.sh"

mode=${1:-shell}; shift || true
if [ "$mode" = bench ]; then SMP=${VM_SMP:-4}; else SMP=${VM_SMP:-2}; fi
MEM=${VM_MEM:-1G}
TIMEOUT=${VM_TIMEOUT:-600}
NAME=${VM_NAME:-$mode}
kernel=$KERNEL_TREE/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "no kernel at $kernel (run make first)"
[ "$SMP" -ge 2 ] || die "VM_SMP must be at least 2 so SMP paths are exercised"

dir=$SPLICE_BUILD/vm/$NAME
mkdir -p "$dir"
initrd=$dir/initramfs.cpio.gz
"$SPLICE_SRC/scripts/splice/mkinitramfs.sh" "$initrd" "$@"

THREAD=${VM_TCG_THREAD:-single}
case $THREAD in single | multi) ;; *) die "VM_TCG_THREAD must be single or multi, not '$THREAD'" ;; esac
qemu=(qemu-system-x86_64 -M pc -cpu max -accel "tcg,thread=$THREAD" -smp "$SMP" -m "$MEM"
	-no-reboot -display none -kernel "$kernel" -initrd "$initrd")
# shellcheck disable=SC2206 # split at spaces on purpose
[ -z "${VM_QEMU_ARGS:-}" ] || qemu+=(${VM_QEMU_ARGS})
# A persistent ring buffer (instance splice_boot, in 2 MB reserve_mem sets
# aside at boot), whose code the stable set's ring buffer fix changes
# (../../tools/testing/selftests/splice/stable/kernel-trace-ring_buffer.sh).
append="console=ttyS0 panic=-1 oops=panic reserve_mem=2M:4096:splice_trace"
append+=" trace_instance=splice_boot^traceoff@splice_trace ${VM_APPEND:-}"

if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -nographic -serial mon:stdio -append "$append SPLICE_MODE=shell"
fi
case $mode in
test) ;;
demo | eval | eval-klp)
	# The guest's output (its second serial port) goes to stdout as it
	# comes; the kernel log to console.log. Success is the guest's last line.
	end=$([ "$mode" = demo ] && echo 'demo: ok' || echo 'eval: done')
	rm -f "$dir/$mode.log"
	rc=0
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" -monitor none \
		-serial "file:$dir/console.log" -serial stdio \
		-append "$append kunit.enable=0 SPLICE_MODE=$mode" </dev/null 2>"$dir/qemu.log" |
		tr -d '\r' | tee "$dir/$mode.log" || rc=$?
	if ! "$SPLICE_SRC/scripts/splice/kernel-log-check.sh" "$dir/console.log"; then
		die "$mode: the kernel log has a panic, oops or warning ($dir/console.log)"
	fi
	grep -q "^$end" "$dir/$mode.log" ||
		die "$mode failed (qemu status $rc; output $dir/$mode.log, kernel log $dir/console.log)"
	exit 0
	;;
bench)
	say "benchmark: booting with $SMP CPUs"
	rm -f "$dir/results.log"
	rc=0
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" -monitor none \
		-serial "file:$dir/console.log" -serial "file:$dir/results.log" \
		-append "$append kunit.enable=0 SPLICE_MODE=bench" </dev/null >"$dir/qemu.log" 2>&1 || rc=$?
	sed 's/^# //' "$dir/results.log" 2>/dev/null
	if ! "$SPLICE_SRC/scripts/splice/kernel-log-check.sh" "$dir/console.log"; then
		die "benchmark: the kernel log has a panic, oops or warning ($dir/console.log)"
	fi
	grep -q '^# splice-bench: ok' "$dir/results.log" 2>/dev/null ||
		die "benchmark did not complete (qemu status $rc; $dir/results.log, $dir/console.log)"
	exit 0
	;;
*) die "unknown mode '$mode' (shell, test, bench, demo or eval)" ;;
esac

console=$dir/console.log
results=$dir/results.log
rm -f "$console" "$results"
say "booting linux-$KERNEL_VERSION with $SMP CPUs (console: $console)"
start=$(date +%s)
set +e
timeout -k 10 "$TIMEOUT" "${qemu[@]}" -monitor none \
	-serial "file:$console" -serial "file:$results" \
	-append "$append SPLICE_MODE=test" </dev/null >"$dir/qemu.log" 2>&1
rc=$?
set -e
say "guest ran for $(($(date +%s) - start)) s"

pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
skipped() { skip=$((skip + 1)); echo "ok - $* # SKIP"; }

if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	notok "guest finished within ${TIMEOUT}s (timed out; console: $console)"
elif [ $rc -ne 0 ]; then
	notok "qemu exited with status $rc (log: $dir/qemu.log, console: $console)"
fi
if ! "$SPLICE_SRC/scripts/splice/kernel-log-check.sh" "$console"; then
	notok "kernel log free of panics, oopses and warnings (console: $console)"
else
	ok "kernel log free of panics, oopses and warnings"
fi

# KUnit, as the kernel's own parser reads it. A configuration without KUnit
# (Debian's) runs none: its suites are counted as skipped, not passed.
if ! grep -q '^CONFIG_SPLICE_KUNIT_TEST=y' "$KERNEL_TREE/.config"; then
	for suite in ${VM_KUNIT_SUITES:-rust_doctests_kernel splice_pack splice_stage splice_matcher splice_patch splice_resolve splice_sysfs splice_hooks splice_reserved splice_stackcheck splice_shadow}; do
		skipped "KUnit suite $suite (CONFIG_SPLICE_KUNIT_TEST is not set in this configuration)"
	done
else
kunit_json=$dir/kunit.json
if python3 "$KERNEL_TREE/tools/testing/kunit/kunit.py" parse --json="$kunit_json" \
	<"$console" >"$dir/kunit.txt" 2>&1; then kunit_rc=0; else kunit_rc=$?; fi
read -r kp kf ks < <(python3 - "$kunit_json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print(0, 0, 0); sys.exit()
p = f = s = 0
def walk(t):
    global p, f, s
    subs = t.get("sub_groups") or []
    cases = t.get("test_cases") or []
    for c in cases:
        st = c.get("status")
        if st == "PASS": p += 1
        elif st == "SKIP": s += 1
        else: f += 1
    for g in subs: walk(g)
walk(d)
print(p, f, s)
PY
)
if [ "${kp:-0}" -gt 0 ] && [ "${kf:-0}" -eq 0 ] && [ $kunit_rc -eq 0 ]; then
	ok "KUnit: $kp test cases passed, $ks skipped"
else
	sed -n '/FAILED\|CRASHED\|not ok/p' "$dir/kunit.txt" | head -10 | sed 's/^/    /'
	notok "KUnit: $kp passed, $kf failed, $ks skipped (parser status $kunit_rc; see $dir/kunit.txt)"
fi
# The suites that must have run: a suite that silently vanished is a failure.
for suite in ${VM_KUNIT_SUITES:-rust_doctests_kernel splice_pack splice_stage splice_matcher splice_patch splice_resolve splice_sysfs splice_hooks splice_reserved splice_stackcheck splice_shadow}; do
	if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(g.get("name")==sys.argv[2] for g in d.get("sub_groups") or []) else 1)' \
		"$kunit_json" "$suite" 2>/dev/null; then
		ok "KUnit suite $suite ran"
	else
		notok "KUnit suite $suite ran (missing from $console)"
	fi
done
pass=$((pass + ${kp:-0}))
fail=$((fail + ${kf:-0}))
skip=$((skip + ${ks:-0}))
fi

# The guest's own tests.
if [ -s "$results" ]; then
	sed -n '/^#/p' "$results" | sed 's/^/    /'
	n=0
	while IFS= read -r l; do
		n=$((n + 1))
		case "$l" in
		"ok "*" # SKIP"*) l=${l#ok }; skipped "guest: ${l%% # SKIP*}${l##* # SKIP}" ;;
		"ok "*) ok "guest: ${l#ok }" ;;
		"not ok "*) notok "guest: ${l#not ok }" ;;
		esac
	done < <(tr -d '\r' <"$results" | grep -E '^(not )?ok [0-9]+ ')
	# KTAP: the plan says how many tests there are; fewer results is a failure.
	plan=$(tr -d '\r' <"$results" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | head -n 1)
	if [ -z "$plan" ]; then
		notok "guest results have a KTAP plan (no 1..N line in $results)"
	elif [ "$plan" -ne "$n" ]; then
		notok "guest: $n results for the plan of $plan tests ($results)"
	fi
fi
if ! grep -q '^# splice-guest: done' "$results" 2>/dev/null; then
	notok "guest tests ran to the end (no final line in $results; console: $console)"
fi
echo "vm: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

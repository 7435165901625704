#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The phases behind the top-level Makefile:
#
#   check.sh build    install what is missing, fetch, overlay, configure, build
#   check.sh check    build, then every test; ends with "N passed, N failed, N skipped"
#   check.sh check-debug  the debug kernel (configs/debug.config) and the guest
#                     tests on it; the same closing line (.ci/run runs both)
#   check.sh check-fleet  the Debian configuration's kernel, packs as Debian
#                     packages on a Debian guest (fleet.sh); the same closing line
#   check.sh demo     build, then the demo (demo.sh)
#   check.sh eval     build, then the evaluation on real fixes (eval.sh)
#
# Each phase's duration is printed at the end. A failing phase stops the run
# with its one-line reason (the phase's script names the log).
. "$(dirname "$0")/lib.sh"
SPLICE_ME=splice
what=${1:-build}
S=$SPLICE_SRC/scripts/splice

timings=$SPLICE_LOGS/timings
: >"$timings"
passed=0
failed=0
skipped=0

# phase NAME CMD...: run CMD as a named phase and record its duration.
phase() {
	local name=$1; shift
	local t0 rc
	t0=$(date +%s.%N)
	printf '\n==> %s\n' "$name"
	if "$@"; then rc=0; else rc=$?; fi
	printf '  %-12s %7.1f s\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" >>"$timings"
	return $rc
}

# build_phase NAME CMD...: a phase that must succeed.
build_phase() {
	phase "$@" || { print_timings; die "phase '$1' failed"; }
}

print_timings() {
	printf '\nPhase timings:\n'
	cat "$timings"
}

# test_phase NAME CMD...: run a test command; its counts (tally.sh: its last
# "N passed, N failed[, N skipped]" line; a skip is neither a pass nor a
# failure; a command that failed with no failure counted, or that counted no
# test, is one failure) are added to the totals.
test_phase() {
	local name=$1; shift
	local out=$SPLICE_LOGS/test-$name.log rc p f k
	if phase "$name" "$@" > >(tee "$out") 2>&1; then rc=0; else rc=$?; fi
	wait
	read -r p f k < <("$S/tally.sh" "$out" "$rc")
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + k))
}

build() {
	build_phase deps "$S/deps.sh"
	build_phase fetch "$S/fetch-kernel.sh"
	build_phase overlay "$S/overlay.sh"
	build_phase config "$S/config.sh"
	build_phase kernel "$S/build-kernel.sh"
}

# The guest tests of the vm-stuff run (tests/NN-NAME.sh): those that apply
# packs, but for the long stress, readers and races ones (about 90 s in all,
# 4.5 minutes with them).
stuff_tests=boot,pack-proc-version,noinstr,kprobes,code-busy,return-hooks,stacked,replace,module-target,module-on-load,hooks-shadow,ftrace,livepatch,catalogue,stable,apply-all

case "$what" in
build)
	build
	print_timings
	;;
check)
	build
	test_phase host-tests "$SPLICE_SRC/tools/testing/selftests/splice/host/run.sh"
	test_phase lint "$S/lint.sh"
	build_phase packs "$S/build-packs.sh"
	test_phase catalogue "$SPLICE_SRC/tools/testing/selftests/splice/run-cases.sh" \
		"$SPLICE_SRC/tools/testing/selftests/splice/catalogue"
	test_phase stable "$SPLICE_SRC/tools/testing/selftests/splice/run-cases.sh" \
		"$SPLICE_SRC/tools/testing/selftests/splice/stable"
	test_phase vm-tests "$S/vm.sh" test "$SPLICE_BUILD/guest"
	# The same kernel booted with call depth tracking (retbleed=stuff, on
	# QEMU's Skylake model, which has the bug it mitigates): the kernel points
	# direct calls at accounting thunks in their callees' padding, where
	# run-pre matching, prefix islands and the packs' modules meet them.
	# KUnit and the tests that apply packs (00-boot.sh checks the kernel took
	# the mitigation).
	VM_NAME=stuff VM_QEMU_ARGS="-cpu Skylake-Client" \
		VM_APPEND="retbleed=stuff spectre_v2=retpoline splice_tests=$stuff_tests" \
		test_phase vm-stuff "$S/vm.sh" test "$SPLICE_BUILD/guest"
	# The demo's fix and the eval slice's are changes from the stable set's
	# release (stable/BASE) to the next: on another release, like the stable
	# set, they are counted as skipped, with the reason.
	fixes_base=$(cat "$SPLICE_SRC/tools/testing/selftests/splice/stable/BASE")
	if [ "$KERNEL_VERSION" = "$fixes_base" ]; then
		SPLICE_IN_CHECK=1 test_phase demo "$S/demo.sh"
		# A slice of make eval: two fixes that apply and one that is refused
		# (a layout change of a structure) and then applied as rewritten by
		# hand (eval/hand/), with klp-build beside them; each has the evidence
		# in full (its targets ran, each equivalent to a rebuild).
		EVAL_PATCHES="fs-pipe kernel-pid_namespace kernel-irq-proc" EVAL_OUT=$SPLICE_BUILD/eval/slice \
			test_phase eval-slice "$S/eval.sh"
	else
		for p in demo eval-slice; do
			test_phase "$p" printf '%s\n' \
				"$p: SKIP: its fixes are changes of $fixes_base, the tree is $KERNEL_VERSION (make eval takes any pair of releases)" \
				"$p: 0 passed, 0 failed, 1 skipped"
		done
	fi
	# Figures, not a test: only a benchmark that breaks counts, as a failure.
	phase bench "$S/vm.sh" bench "$SPLICE_BUILD/guest" || failed=$((failed + 1))
	phase bench-generator "$S/bench-generator.sh" || failed=$((failed + 1))
	print_timings
	echo
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	;;
check-debug)
	# The guest tests again on the debug kernel (lockdep, KFENCE, kmemleak,
	# fault injection, signatures and lockdown), with its own tests/debug/:
	# the test configuration's debug twin. Apart from check, which stays
	# within 40 minutes cold on two cores: this kernel's build (about 10
	# minutes cold) and its slower guest (about 5) would take it past.
	[ "$SPLICE_CONFIG" = test ] || die "the debug kernel is the test configuration's twin: run check-debug with SPLICE_CONFIG=test"
	build_phase deps "$S/deps.sh"
	build_phase fetch "$S/fetch-kernel.sh"
	build_phase debug-kernel "$S/debug-check.sh" build
	test_phase debug-vm-tests "$S/debug-check.sh" test
	print_timings
	echo
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	;;
check-fleet)
	# Packs as Debian packages on a real Debian guest (fleet.sh): on the
	# Debian configuration's kernel, whose build root and build check.sh
	# shares with SPLICE_CONFIG=debian make check.
	[ "$SPLICE_CONFIG" = debian ] || die "the fleet tests run on Debian's configuration: run check-fleet with SPLICE_CONFIG=debian (the Makefile sets it)"
	build
	build_phase packs "$S/build-packs.sh"
	test_phase fleet "$S/fleet.sh"
	print_timings
	echo
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	;;
demo)
	build
	build_phase demo "$S/demo.sh"
	print_timings
	;;
eval)
	build
	build_phase eval "$S/eval.sh"
	print_timings
	;;
*)
	die "unknown phase set '$what' (build, check, check-debug, demo or eval)"
	;;
esac

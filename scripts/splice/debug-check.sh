#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The guest tests on the debug kernel (configs/debug.config: the test
# configuration with lockdep, KFENCE, kmemleak and fault injection), beside
# the test kernel's run in make check; make check-debug runs it.
#
#   debug-check.sh build   fetch, overlay, configure and build the debug kernel
#                          in $SPLICE_BUILD/debug, then its sample packs
#   debug-check.sh test    boot it with panic_on_warn=1 and run the guest tests
#                          and the debug-only ones (tests/debug/)
#
# The catalogue and the stable set are the generator's tests and stay on the
# test kernel: they compare against its build (their expected targets are
# what its compiler inlined), so their packs are not built here and 90-catalogue
# and 91-stable are not run. Its own build folder keeps the test kernel's
# packs, initramfs and logs apart; the tools are the parent build's.
. "$(dirname "$0")/lib.sh"
what=${1:?usage: debug-check.sh build|test}
S=$SPLICE_SRC/scripts/splice
parent=$SPLICE_BUILD
export SPLICE_CONFIG=debug SPLICE_TOOLCHAIN=host
export SPLICE_BUILD=$parent/debug
export KERNEL_TREE=$SPLICE_BUILD/linux-$KERNEL_VERSION-debug
export SPLICE_TOOLS_TARGET=$SPLICE_TOOLS_TARGET

# strip_signature SIGNED UNSIGNED: the module SIGNED without the signature
# that scripts/sign-file appended (struct module_signature, then the magic).
strip_signature() {
	python3 - "$1" "$2" <<'PY' || die "cannot strip the signature of $1"
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = b"~Module signature appended~\n"
if not data.endswith(magic):
    sys.exit(f"{sys.argv[1]}: not signed")
info = data[-len(magic) - 12:-len(magic)]
_, _, _, signer_len, key_id_len, sig_len = struct.unpack(">BBBBB3xI", info)
end = len(data) - len(magic) - 12 - sig_len - signer_len - key_id_len
open(sys.argv[2], "wb").write(data[:end])
PY
}

case $what in
build)
	for step in fetch-kernel overlay config build-kernel build-packs; do
		"$S/$step.sh" || die "debug kernel: $step failed (logs: $SPLICE_BUILD/logs)"
	done
	# An unsigned copy of a pack, which tests/debug/90-signatures.sh expects
	# sig_enforce and lockdown to refuse.
	mkdir -p "$SPLICE_BUILD/guest/unsigned"
	strip_signature "$SPLICE_BUILD/guest/packs/splice_target_value.ko" \
		"$SPLICE_BUILD/guest/unsigned/splice_target_value.ko"
	;;
test)
	# Every guest test but the generator's two, then the debug-only ones.
	tests=$(cd "$SPLICE_SRC/tools/testing/selftests/splice/tests" && ls ./*.sh |
		sed 's|^\./||; s|\.sh$||' | grep -vE '^(90-catalogue|91-stable)$' | tr '\n' ',')
	# The stress test with fewer cycles than on the test kernel (lockdep makes
	# each one about 0.3 s under TCG): what it is here for is lockdep's,
	# KFENCE's and kmemleak's view of the actions, not their number. The guest
	# runs about 320 s on an idle host (30-faults about 80 of them); the
	# timeout, which only bounds a hang, leaves room for a loaded one (it was
	# 600 s, which a host running two other kernel builds overran).
	VM_NAME=debug VM_APPEND="splice_tests=${tests%,} splice_debug=1 panic_on_warn=1 kfence.sample_interval=10 STRESS_CYCLES=100 STRESS_MODULE_CYCLES=40 ${VM_APPEND:-}" \
		VM_TIMEOUT=${VM_TIMEOUT:-1200} "$S/vm.sh" test "$SPLICE_BUILD/guest"
	;;
*) die "unknown step '$what' (build or test)" ;;
esac

# SPDX-License-Identifier: GPL-2.0
#
# splice: rebootless security updates for Linux.
#
#   make          install what is missing, fetch and build the kernel and tools
#   make check    all of the above, then every test; ends with "N passed, N failed"
#   make check-debug  the debug kernel (lockdep, KFENCE, kmemleak, fault injection,
#                 signatures, lockdown) and the guest tests on it; .ci/run runs it after check
#   make check-fleet  Debian's configuration, packs as Debian packages on a real Debian
#                 guest: apt install, reboot (splice.service), apt remove, a crash at apply
#   make demo     build, then fix a real 7.2.12 bug in the running VM and reverse it
#   make bench-klp  splice-create and upstream klp-build on the same fixes and tree
#   make eval     every 7.2.12 -> 7.2.13 fix of built code: splice and klp-build side by side,
#                 on the evaluation kernel (defconfig + kvm_guest.config + splice)
#   make vm       boot the built kernel in QEMU with a shell on the console
#   make clean    remove test VM output and logs (keeps the kernel build)
#   make distclean  remove the whole build folder
#
# Variables: KERNEL_VERSION (7.2.12), KERNEL_DEB_VERSION ($(KERNEL_VERSION)-1),
# SPLICE_BUILD (./build), SPLICE_CACHE (~/.cache/splice), JOBS (nproc),
# SPLICE_CONFIG (test: the kernel configuration, test, eval, debian or debug;
# make check-debug builds the debug one and runs the guest tests on it), EVAL_CONFIG
# (eval: the configuration make eval uses), VM_SMP (2), VM_MEM (1G),
# VM_TIMEOUT (300).

SPLICE_SRC := $(CURDIR)
SPLICE_BUILD ?= $(SPLICE_SRC)/build
SPLICE_CACHE ?= $(HOME)/.cache/splice
KERNEL_VERSION ?= 7.2.12
SPLICE_CONFIG ?= test
EVAL_CONFIG ?= eval
KERNEL_TREE ?= $(SPLICE_BUILD)/linux-$(KERNEL_VERSION)$(if $(filter-out test,$(SPLICE_CONFIG)),-$(SPLICE_CONFIG))
BINDGEN_VERSION ?= 0.73.0
LIBCLANG_VERSION ?= 18.1.1

export SPLICE_SRC SPLICE_BUILD SPLICE_CACHE KERNEL_VERSION KERNEL_TREE SPLICE_CONFIG
export BINDGEN_VERSION LIBCLANG_VERSION
export PATH := $(SPLICE_CACHE)/bindgen-$(BINDGEN_VERSION)/bin:$(HOME)/.cargo/bin:$(PATH)
export LIBCLANG_PATH := $(SPLICE_CACHE)/libclang-$(LIBCLANG_VERSION)/lib

S := scripts/splice

.PHONY: all build check check-debug check-fleet demo eval bench-klp vm clean distclean
all: build

build:
	@$(S)/check.sh build

check:
	@$(S)/check.sh check

check-debug:
	@$(S)/check.sh check-debug

check-fleet: SPLICE_CONFIG = debian
check-fleet:
	@$(S)/check.sh check-fleet

demo:
	@$(S)/check.sh demo

eval: SPLICE_CONFIG = $(EVAL_CONFIG)
eval:
	@$(S)/check.sh eval

bench-klp: build
	@$(S)/bench-klp.sh

vm: build
	@$(S)/vm.sh shell

clean:
	rm -rf $(SPLICE_BUILD)/vm $(SPLICE_BUILD)/logs

distclean:
	rm -rf $(SPLICE_BUILD)

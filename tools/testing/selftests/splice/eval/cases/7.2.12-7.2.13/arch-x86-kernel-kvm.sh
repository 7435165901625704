# SPDX-License-Identifier: GPL-2.0
# arch-x86-kernel-kvm (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="__kvm_handle_async_pf"
unreached_why="an async page fault comes only from a KVM host that offers async PF; the VM runs under TCG, which offers none"
unobservable=$unreached_why

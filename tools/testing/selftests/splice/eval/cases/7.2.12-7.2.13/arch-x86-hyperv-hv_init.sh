# SPDX-License-Identifier: GPL-2.0
# arch-x86-hyperv-hv_init (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="hv_apicid_to_vp_index"
unreached_why="it runs in a Hyper-V guest; the VM runs under QEMU"
unobservable=$unreached_why

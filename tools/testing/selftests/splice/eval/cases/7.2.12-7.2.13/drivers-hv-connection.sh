# SPDX-License-Identifier: GPL-2.0
# drivers-hv-connection (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="vmbus_connect"
unreached_why="it connects to a Hyper-V host's VMBus; the VM runs under QEMU"
unobservable=$unreached_why

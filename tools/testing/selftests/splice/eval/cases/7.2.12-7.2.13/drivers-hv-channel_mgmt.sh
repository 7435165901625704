# SPDX-License-Identifier: GPL-2.0
# drivers-hv-channel_mgmt (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="vmbus_onoffer"
unreached_why="VMBus channel offers come from a Hyper-V host; the VM runs under QEMU"
unobservable=$unreached_why

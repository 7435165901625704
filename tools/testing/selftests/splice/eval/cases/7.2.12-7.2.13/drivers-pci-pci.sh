# SPDX-License-Identifier: GPL-2.0
# drivers-pci-pci (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="pci_dev_wait"
unreached_why="it waits for a PCI device to come back from a reset or a power state change; nothing in the VM resets its devices or puts them to sleep"
unobservable=$unreached_why

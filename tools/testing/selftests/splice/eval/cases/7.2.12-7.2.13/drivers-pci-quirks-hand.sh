# SPDX-License-Identifier: GPL-2.0
# drivers-pci-quirks-hand (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="pci_device_add"
unreached_why="it adds a PCI device found at boot or plugged in later; the VM plugs none in after boot"
unobservable=$unreached_why

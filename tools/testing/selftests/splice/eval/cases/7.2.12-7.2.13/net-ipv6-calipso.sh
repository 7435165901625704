# SPDX-License-Identifier: GPL-2.0
# net-ipv6-calipso (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="calipso_skbuff_setattr"
unreached_why="it labels the IPv6 packets of sockets in a CALIPSO NetLabel domain; the VM configures no NetLabel"
unobservable=$unreached_why

# SPDX-License-Identifier: GPL-2.0
# net-netlink-af_netlink-hand (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="netlink_compare netlink_hash"
unreached_why="the lookups and inserts that ran have them inlined (rhashtable's constant parameters); they are called through the table's function pointers only on its slow paths, a resize or a long chain, which a few sockets never take"

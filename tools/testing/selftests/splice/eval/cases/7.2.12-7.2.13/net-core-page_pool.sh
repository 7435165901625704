# SPDX-License-Identifier: GPL-2.0
# net-core-page_pool (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="page_pool_alloc_frag_netmem"
unreached_why="page pools belong to network drivers that receive into them; the VM has no such network device"
unobservable=$unreached_why

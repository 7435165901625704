# SPDX-License-Identifier: GPL-2.0
# ipc-namespace (make eval, 7.2.12 -> 7.2.13): what the VM cannot observe of it.
# A new IPC namespace runs create_ipc_ns() (in copy_ipcs()) to its end.
workload() {
	unshare -i true || fail "unshare -i true"
}
unobservable="create_ipc_ns() (in copy_ipcs()) takes the changed error path only when setup_mq_sysctls(), setup_ipc_sysctls() or msg_init_ns() fails after the mqueue mount is made, which only an allocation failure does, and this kernel cannot inject one (no FAULT_INJECTION); there, the old mntput() of the internal mount leaks the mount and its superblock where kern_unmount() frees them"

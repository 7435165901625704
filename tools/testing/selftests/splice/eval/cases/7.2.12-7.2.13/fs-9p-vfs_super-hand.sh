# SPDX-License-Identifier: GPL-2.0
# fs-9p-vfs_super-hand (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="v9fs_kill_super"
unreached_why="it unmounts a 9p file system; the VM has no virtio-9p device to mount"
unobservable=$unreached_why

# SPDX-License-Identifier: GPL-2.0
# fs-ext4-extents_status__fs-ext4-super-hand (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="ext4_es_unregister_shrinker ext4_fill_super ext4_put_super"
unreached_why="they run when an ext4 file system is mounted or unmounted; the VM has no disk, and no loop device to make one on (BLK_DEV_LOOP is a module in this configuration, and the initramfs holds no modules)"
unobservable="$unreached_why; and where they run, the old ext4_put_super() frees the sbi and its extent-status counters while an RCU path walk in ext4_get_link() may still read them, a use-after-free only a race between following an ext4 symlink and the unmount hits, which this kernel has no KASAN to report"

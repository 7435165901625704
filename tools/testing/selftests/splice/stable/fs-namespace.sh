# fs/namespace.c: copy_tree() refuses to copy a locked mount of a mount
# namespace file, and do_move_mount() (can_move_mount_beneath) refuses to put
# one beneath a locked mount. A recursive bind copies a tree, a move moves a
# mount.
workload() {
	mkdir -p /tmp/ns-a /tmp/ns-b /tmp/ns-c
	mount -t tmpfs none /tmp/ns-a || fail "mount tmpfs on /tmp/ns-a"
	mkdir -p /tmp/ns-a/sub && mount -t tmpfs none /tmp/ns-a/sub || fail "mount tmpfs on /tmp/ns-a/sub"
	mount --rbind /tmp/ns-a /tmp/ns-b || fail "mount --rbind /tmp/ns-a /tmp/ns-b"
	mount --move /tmp/ns-b /tmp/ns-c || fail "mount --move /tmp/ns-b /tmp/ns-c"
	umount /tmp/ns-c/sub; umount /tmp/ns-c; umount /tmp/ns-a/sub; umount /tmp/ns-a
	return 0
}
unobservable="the fix changes only what happens to a locked mount of a mount namespace file (made in a user namespace that owns a mount namespace), which busybox cannot create: no setns/nsfs bind tool in the guest"

# fs/namei.c: lookup_open() (inlined in path_openat()) tests d_is_negative()
# instead of a NULL d_inode before it creates a file: opening and creating
# files runs it.
workload() {
	cat /proc/version >/dev/null || fail "open /proc/version"
	rm -f /tmp/splice-namei && echo x >/tmp/splice-namei && cat /tmp/splice-namei >/dev/null ||
		fail "create and open /tmp/splice-namei"
	rm -f /tmp/splice-namei
}
unobservable="the two tests differ only for a dentry that has an inode but the negative type, which no filesystem of this kernel makes visible to a lookup from user space"

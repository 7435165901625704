# kernel/trace/ring_buffer.c: resizing, allocating, reading, mapping and CPU
# hotplug of ring buffers. A trace instance allocates its buffers
# (__rb_allocate_pages(), alloc_buffer(), rb_allocate_cpu_buffer()), a
# resize allocates pages again, reading its trace file takes reader pages,
# and a CPU brought up again prepares a buffer for it (trace_rb_cpu_prepare(),
# where the kernel can take CPUs down).
workload() {
	t=/sys/kernel/tracing
	mkdir $t/instances/splice-rb || fail "mkdir $t/instances/splice-rb"
	echo 64 >$t/instances/splice-rb/buffer_size_kb || fail "resize the ring buffer"
	cat $t/instances/splice-rb/trace >/dev/null || fail "read $t/instances/splice-rb/trace"
	c=/sys/devices/system/cpu/cpu1/online
	if [ -w $c ] && [ -z "$no_hotplug" ]; then
		echo 0 >$c || fail "take CPU 1 down"
		echo 1 >$c || fail "bring CPU 1 up again"
	fi
	rmdir $t/instances/splice-rb
	return 0
}
# The targets of both toolchains (cases: targets= and targets@debian=) that
# the VM does not reach.
unreached="rb_meta_subbuf_idx rb_range_buffer ring_buffer_meta_seq_init ring_buffer_map_get_reader
	rb_update_meta_page rbm_show ring_buffer_map"
unreached_why="they serve persistent (reserve_mem) ring buffers and memory-mapped readers, which this VM does not set up"
# Under call depth tracking (retbleed=stuff) on QEMU's TCG, a CPU brought up
# again hangs in its boot, with no pack loaded (tried on 7 December 2026):
# no CPU is taken down there.
no_hotplug=
if grep -q Stuffing /sys/devices/system/cpu/vulnerabilities/retbleed 2>/dev/null; then
	no_hotplug=1
	unreached="$unreached trace_rb_cpu_prepare"
	unreached_why="$unreached_why; and trace_rb_cpu_prepare() runs when a CPU comes up, which this kernel under retbleed=stuff on QEMU TCG does not survive, with or without splice"
fi
unobservable="the fixes concern persistent (reserve_mem) buffers and mapped readers' edge cases that this VM does not configure"

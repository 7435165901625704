# kernel/trace/ring_buffer.c: resizing, allocating, reading, mapping and CPU
# hotplug of ring buffers, and the meta data of a persistent one. A trace
# instance allocates its buffers (__rb_allocate_pages(), alloc_buffer(),
# rb_allocate_cpu_buffer()), a resize allocates pages again, reading its
# trace file and a consuming read of its trace_pipe take reader pages
# (__rb_get_reader_page()), a memory-mapped reader maps the buffer and
# takes a reader sub-buffer (ring_buffer_map(), ring_buffer_map_get_reader(),
# rb_update_meta_page()), and a CPU brought up again prepares a buffer for it
# (trace_rb_cpu_prepare(), where the kernel can take CPUs down). The guest's
# command line (vm.sh) reserves memory for a persistent buffer, instance
# splice_boot: reading its buffer_meta runs ring_buffer_meta_seq_init() and
# rbm_show(), which index its sub-buffers (rb_meta_subbuf_idx(),
# rb_range_buffer()).
t=/sys/kernel/tracing
boot=$t/instances/splice_boot
workload() {
	mkdir $t/instances/splice-rb || fail "mkdir $t/instances/splice-rb"
	echo 64 >$t/instances/splice-rb/buffer_size_kb || fail "resize the ring buffer"
	cat $t/instances/splice-rb/trace >/dev/null || fail "read $t/instances/splice-rb/trace"
	# A consuming read of an event takes a reader page (__rb_get_reader_page()).
	echo splice-rb >$t/instances/splice-rb/trace_marker || fail "write $t/instances/splice-rb/trace_marker"
	timeout 5 head -n 1 $t/instances/splice-rb/trace_pipe >/tmp/rb.pipe 2>&1
	grep -q splice-rb /tmp/rb.pipe || fail "no event read back from $t/instances/splice-rb/trace_pipe: $(cat /tmp/rb.pipe)"
	splice-probe ring-map $t/instances/splice-rb/per_cpu/cpu0/trace_pipe_raw >/tmp/ring-map.out ||
		fail "a mapped reader of the ring buffer: $(cat /tmp/ring-map.out)"
	if [ -d $boot ]; then
		cat $boot/per_cpu/cpu0/buffer_meta >/dev/null || fail "read $boot/per_cpu/cpu0/buffer_meta"
	fi
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
unreached= unreached_why=
if [ ! -d $boot ]; then
	unreached="rb_meta_subbuf_idx rb_range_buffer ring_buffer_meta_seq_init rbm_show"
	unreached_why="they serve persistent (reserve_mem) ring buffers, and this boot has none (vm.sh's command line reserves one: is it VM_APPEND's?)"
fi
# Under call depth tracking (retbleed=stuff) on QEMU's TCG, a CPU brought up
# again hangs in its boot, with no pack loaded (tried on 7 December 2026):
# no CPU is taken down there.
no_hotplug=
if grep -q Stuffing /sys/devices/system/cpu/vulnerabilities/retbleed 2>/dev/null; then
	no_hotplug=1
	unreached="$unreached trace_rb_cpu_prepare"
	unreached_why="${unreached_why:+$unreached_why; and }trace_rb_cpu_prepare() runs when a CPU comes up, which this kernel under retbleed=stuff on QEMU TCG does not survive, with or without splice"
fi
unobservable="the fixes refuse the meta data of a CPU a persistent buffer was not made for (the unfixed kernel dereferences a NULL buffer: only a CPU possible but offline at boot has one) and change when a mapped reader swaps sub-buffers, which no program here can tell apart"

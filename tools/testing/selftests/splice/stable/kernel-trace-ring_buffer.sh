# kernel/trace/ring_buffer.c: resizing, allocating, mapping and CPU hotplug
# of ring buffers.
workload() {
	t=/sys/kernel/tracing
	mkdir $t/instances/splice-rb || fail "mkdir $t/instances/splice-rb"
	echo 64 >$t/instances/splice-rb/buffer_size_kb || fail "resize the ring buffer"
	rmdir $t/instances/splice-rb
	return 0
}
# The targets of both toolchains (cases: targets= and targets@debian=).
unreached="rb_meta_subbuf_idx rb_range_buffer __rb_allocate_pages alloc_buffer ring_buffer_meta_seq_init ring_buffer_map_get_reader trace_rb_cpu_prepare
	__rb_get_reader_page rb_allocate_cpu_buffer rb_update_meta_page rbm_show ring_buffer_map"
unreached_why="kernel/trace is compiled without ftrace entry (notrace): not countable"
unobservable="the fixes concern persistent (reserve_mem) buffers and mapped readers' edge cases that this VM does not configure"

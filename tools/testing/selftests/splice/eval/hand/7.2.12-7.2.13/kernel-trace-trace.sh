# The evaluation's case script of kernel-trace-trace-hand (eval/guest.sh runs
# it beside the pack; the shape of ../../../stable/*.sh): the fixes are in the
# tracer switch (tracing_set_tracer(), run when a tracing instance is made,
# which gets the default tracer) and in opening a ring buffer's meta file.
workload() {
	i=/sys/kernel/tracing/instances/splice-eval
	mkdir $i || fail "mkdir $i"
	cat $i/trace_options >/dev/null || fail "reading $i/trace_options"
	rmdir $i || fail "rmdir $i"
}
unobservable="the fixed lines differ only when the tracer made current has neither flags nor default flags, where the old code stores NULL (which the option readers of 7.2.12 check for), and when ring_buffer_meta_seq_init() fails (an allocation failure this kernel cannot inject)"
unreached="tracing_buffer_meta_open"
unreached_why="only a persistent (reserve_mem) trace instance has a buffer_meta file to open, and this VM sets none up"

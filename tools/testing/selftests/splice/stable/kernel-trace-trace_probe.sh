# kernel/trace/trace_probe.c: traceprobe_expand_meta_args() returns
# -EOPNOTSUPP where BTF has no parameters. $arg* in a probe definition runs it.
workload() {
	echo 'p:splice_tp vfs_read $arg*' >>/sys/kernel/tracing/kprobe_events 2>/dev/null
	echo '-:splice_tp' >>/sys/kernel/tracing/kprobe_events 2>/dev/null
	return 0
}
unreached="traceprobe_expand_meta_args"
unreached_why="kernel/trace is compiled without ftrace entry (notrace): not countable"
unobservable="the old version returns NULL as an error pointer only for a function without BTF parameters, a path this kernel (no PROBE_EVENTS_BTF_ARGS data for it) does not take"

# kernel/trace/trace_probe.c: traceprobe_expand_meta_args() returns
# -EOPNOTSUPP where BTF has no parameters. $arg* in a probe definition runs it.
workload() {
	k=/sys/kernel/tracing/kprobe_events
	[ -f $k ] || fail "no $k (CONFIG_KPROBE_EVENTS) to define a probe with"
	# Refused where BTF has no parameters (the fix's case): only its run counts.
	echo 'p:splice_tp vfs_read $arg*' >>$k 2>/dev/null
	echo '-:splice_tp' >>$k 2>/dev/null
	return 0
}
unobservable="the old version returns NULL as an error pointer only for a function without BTF parameters, a path this kernel (no PROBE_EVENTS_BTF_ARGS data for it) does not take"

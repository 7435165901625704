# SPDX-License-Identifier: GPL-2.0
# kernel-trace-trace_snapshot (make eval, 7.2.12 -> 7.2.13): taking a
# snapshot (1 written to the snapshot file) runs tracing_snapshot_write(),
# where the kernel has snapshots; a second one resizes the allocated buffer.
workload() {
	s=/sys/kernel/tracing/snapshot
	[ -w $s ] || return 0
	echo 1 >$s || fail "take a snapshot"
	echo 1 >$s || fail "take a second snapshot"
	echo 0 >$s || fail "free the snapshot"
}
unobservable="the fix returns the error of resizing the snapshot buffer, which fails only when an allocation fails, which this kernel cannot inject"

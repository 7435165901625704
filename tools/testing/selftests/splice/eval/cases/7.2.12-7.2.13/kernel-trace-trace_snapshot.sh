# SPDX-License-Identifier: GPL-2.0
# kernel-trace-trace_snapshot (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="tracing_snapshot_write"
unreached_why="kernel/trace is compiled without ftrace entry (notrace): not countable"
unobservable=$unreached_why

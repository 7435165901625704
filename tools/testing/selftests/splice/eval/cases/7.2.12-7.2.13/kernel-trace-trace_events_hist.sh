# SPDX-License-Identifier: GPL-2.0
# kernel-trace-trace_events_hist (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="init_var_ref hist_fn_call event_hist_trigger create_field_var event_hist_trigger_parse action_create"
unreached_why="the VM's workload sets no histogram trigger (with variables and actions) on an event"
unobservable=$unreached_why

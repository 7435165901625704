# SPDX-License-Identifier: GPL-2.0
# net-sched-act_api (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="__tcf_action_put tca_action_gd tcf_action_add tcf_generic_walker tcf_action_reoffload_cb tcf_idrinfo_destroy"
unreached_why="they manage traffic control actions, which iproute2's tc makes; the VM's busybox has no tc with actions"
unobservable=$unreached_why

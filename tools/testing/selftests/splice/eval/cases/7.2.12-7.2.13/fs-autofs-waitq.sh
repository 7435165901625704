# SPDX-License-Identifier: GPL-2.0
# fs-autofs-waitq (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="autofs_notify_daemon.constprop.0 autofs_catatonic_mode"
unreached_why="they run for the mount of an automount daemon (a request to it, its going away); the VM runs none"
unobservable=$unreached_why

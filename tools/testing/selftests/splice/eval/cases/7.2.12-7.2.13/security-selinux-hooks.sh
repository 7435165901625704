# SPDX-License-Identifier: GPL-2.0
# security-selinux-hooks (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="selinux_bpf_token_create selinux_bpf_prog_load selinux_bpf_map_create"
unreached_why="SELinux is not enabled in the VM (no policy is loaded), so its hooks are not called"
unobservable=$unreached_why

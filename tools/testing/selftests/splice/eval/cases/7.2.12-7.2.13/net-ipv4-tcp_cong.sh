# SPDX-License-Identifier: GPL-2.0
# net-ipv4-tcp_cong (make eval, 7.2.12 -> 7.2.13): what the VM cannot observe of it.
unobservable="the fix only makes the store of icsk_ca_ops in tcp_set_congestion_control() (tcp_reinit_congestion_control(), inlined) a WRITE_ONCE(), the pair of the READ_ONCE() that net-ipv4-tcp adds to do_tcp_getsockopt(); an aligned pointer store is one instruction on x86-64 either way, so no program can tell the versions apart"

#!/bin/sh
# splice and livepatch on one function (cmdline_proc_show, which the kernel's
# sample livepatch replaces). A livepatch works from the function's ftrace
# site, before splice's jump: enabled on top of a splice pack it takes over,
# and splice's code runs again once it is disabled; a pack applied to a
# livepatched function would have no effect, so splice refuses it
# (livepatched, EEXIST) and changes nothing.
. "$(dirname "$0")/../lib.sh"
use_pack proc-cmdline
lp=/splice/modules/livepatch-sample.ko
lpd=/sys/kernel/livepatch/livepatch_sample
[ -f $lp ] || { echo "SKIP: $lp not built"; exit 4; }
orig=$(cat /proc/cmdline)
lp_off() {
	echo 0 >$lpd/enabled 2>/dev/null
	i=0
	while [ -d $lpd ] && [ "$(cat $lpd/transition 2>/dev/null)" = 1 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	rmmod livepatch_sample 2>/dev/null
	i=0
	while lsmod | grep -q livepatch_sample && [ $i -lt 100 ]; do
		sleep 0.1; rmmod livepatch_sample 2>/dev/null; i=$((i + 1))
	done
}
lp_on() {
	insmod $lp || fail "insmod $lp"
	i=0
	while [ "$(cat $lpd/transition)" = 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(cat $lpd/transition)" = 0 ] || { lp_off; fail "the livepatch did not finish its transition"; }
}
load
act apply
is /proc/cmdline "$orig spliced"
# A livepatch on top takes over; disabled, splice's code runs again.
lp_on
is /proc/cmdline "this has been live patched"
lp_off
is /proc/cmdline "$orig spliced"
act reverse
is /proc/cmdline "$orig"
# A pack on a livepatched function is refused.
lp_on
act apply livepatched "File exists" || { lp_off; exit 1; }
stage_is reversed
is /proc/cmdline "this has been live patched"
dmesg | grep -q "proc-cmdline.*livepatched.*cmdline_proc_show" ||
	{ lp_off; fail "the kernel log does not name the livepatched function"; }
lp_off
is /proc/cmdline "$orig"
act apply
is /proc/cmdline "$orig spliced"
act reverse
unload
echo "ok: a livepatch on top takes over and gives back; a pack on a livepatched function is refused"

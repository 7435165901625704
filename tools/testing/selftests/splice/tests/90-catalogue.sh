#!/bin/sh
# The generator's catalogue, end to end: each pack splice-create made from
# catalogue/*.diff is loaded, applied, observed, reversed and observed again.
. "$(dirname "$0")/../lib.sh"
packs=/splice/catalogue
[ -d $packs ] || { echo "SKIP: no catalogue packs"; exit 4; }
n=0

# A change inside an inline helper: both of its callers are replaced.
use_pack cat-inline-helper
load
is $target/scaled "44 66"
act apply
trace_pack
is $target/scaled "46 69"
exercised
act reverse
is $target/scaled "44 66"
unload
n=$((n + 1))

# A macro added to a header and used in one function (value: min(42, 1000) + 1).
use_pack cat-header-macro
load
act apply
trace_pack
is $target/value 43
exercised
act reverse
is $target/value 42
unload
n=$((n + 1))

# A value added to an enum in mount.h and used in one function
# (value: 21 * 2 + (MNT_SPLICE_CATALOGUE >> 28)).
use_pack cat-header-enum
load
act apply
trace_pack
is $target/value 43
exercised
act reverse
is $target/value 42
unload
n=$((n + 1))

# A static local keeps the running kernel's instance: counting goes on.
use_pack cat-static-local
load
c1=$(cat $target/calls)
act apply
trace_pack
is $target/calls "calls: $((c1 + 1))"
is $target/calls "calls: $((c1 + 2))"
exercised
act reverse
is $target/calls "$((c1 + 3))"
unload
n=$((n + 1))

# A function too short for a jump after its entry (simple_strtoul(): endbr64,
# then a 2-byte tail call): the jump goes into its prefix, and a short jump
# after the entry goes there; reverse puts back both. lib/ is built without
# ftrace (lib/Makefile removes CC_FLAGS_FTRACE), so no tracer counts the
# replacements' calls: what they return is the evidence that both ran.
# The sample pack target-tiny-stacked, made on top of this fix, stacks on it:
# it rewrites the jump in the prefix alone. Where the compiler inlines
# simple_strtoul() into simple_strtol() (Debian's gcc-16), simple_strtol() is a
# target of the stacked pack too, and both figures move; otherwise
# simple_strtol()'s replacement calls this pack's simple_strtoul() directly,
# and only the first does.
use_pack cat-tiny-function
load
is $target/strtoul "38 38"
act apply
is $target/strtoul "11 11"
tiny_ko=$ko tiny_d=$d
ko=/splice/packs/splice_target_tiny_stacked.ko d=/sys/kernel/splice/target-tiny-stacked
[ -f "$ko" ] || fail "$ko not built"
load
act apply
if grep -q "^simple_strtol " $d/targets; then
	is $target/strtoul "9 9"
else
	is $target/strtoul "9 11"
fi
d=$tiny_d act reverse conflicting_pack "File exists"
act reverse
is $target/strtoul "11 11"
unload
ko=$tiny_ko d=$tiny_d
act reverse
is $target/strtoul "38 38"
unload
n=$((n + 1))

# A new function, carried in the pack.
use_pack cat-new-function
load
act apply
trace_pack
is $target/value 100
exercised
act reverse
is $target/value 42
unload
n=$((n + 1))

# A new global function of another file (lib/cmdline.c), carried in the pack.
use_pack cat-new-global
load
act apply
trace_pack
is $target/value 100
exercised
act reverse
is $target/value 42
unload
n=$((n + 1))

# New static data, carried in the pack: it starts at 0 and counts.
use_pack cat-new-data
load
is $target/config "1 10"
act apply
trace_pack
is $target/config "1 10 (1)"
is $target/config "1 10 (2)"
exercised
act reverse
is $target/config "1 10"
unload
n=$((n + 1))

# A new initial value of data, set in the live copy by the pack's apply hook and
# put back by its reverse hook: a pack that replaces no function.
use_pack cat-data-hooks
load
is $d/nr_targets 0
is $target/config "1 10"
act apply
trace_pack
is $target/config "1 12"
exercised
act reverse
is $target/config "1 10"
unload
n=$((n + 1))

# A syscall: uname(2) reports another machine while applied.
use_pack cat-syscall-uname
load
m=$(uname -m)
act apply
# System call bodies (__do_sys_*) have no ftrace site, so the tracer cannot
# count their replacements' calls: what uname -m says is the evidence.
[ "$(uname -m)" = spliced ] || fail "uname -m is $(uname -m) while applied"
# A fault on the copy to user space, from the replaced code's callee.
splice-probe uname-null || fail "uname(NULL) while applied"
act reverse
[ "$(uname -m)" = "$m" ] || fail "uname -m is $(uname -m) after reverse"
unload
n=$((n + 1))
# User memory written from replaced code: waitid(2) reports si_errno 94 while
# applied, and a siginfo in an unmapped page faults inside the replacement,
# which its own exception table entries turn into EFAULT (without them the
# fault would oops the guest).
use_pack cat-user-access
load
splice-probe waitid >/tmp/waitid.out || fail "waitid before apply: $(cat /tmp/waitid.out)"
grep -q "si_errno 0 .*: Bad address" /tmp/waitid.out || fail "before apply: $(cat /tmp/waitid.out)"
act apply
# No ftrace site in __do_sys_waitid (a system call body): si_errno 94 is the
# evidence that the replacement ran.
splice-probe waitid >/tmp/waitid.out || fail "waitid while applied: $(cat /tmp/waitid.out)"
grep -q "si_errno 94 .*: Bad address" /tmp/waitid.out || fail "while applied: $(cat /tmp/waitid.out)"
echo "applied: $(cat /tmp/waitid.out)"
act reverse
splice-probe waitid >/tmp/waitid.out || fail "waitid after reverse: $(cat /tmp/waitid.out)"
grep -q "si_errno 0 .*: Bad address" /tmp/waitid.out || fail "after reverse: $(cat /tmp/waitid.out)"
unload
n=$((n + 1))
# A header change: an inline function of a header that an object of vmlinux
# and one of a module include. One pack, two objects.
use_pack cat-header-inline
mod=/splice/modules/splice_target_mod.ko
insmod $mod || fail "insmod $mod"
load
is $target/biased 21
is /sys/kernel/splice_target_mod/level 5
act apply
trace_pack
is $target/biased 22
is /sys/kernel/splice_target_mod/level 6
exercised
act reverse
is $target/biased 21
is /sys/kernel/splice_target_mod/level 5
unload
rmmod splice_target_mod || fail "rmmod splice_target_mod"
n=$((n + 1))
# A tracepoint in replaced code (bprm_execve(), exec_binprm() inlined) follows
# its key, which vmlinux does not export: silent while the event is off; on,
# it reports the old_pid the replacement passes (424242, where the original
# passes the pid).
use_pack cat-tracepoint
tr=/sys/kernel/tracing
ev=$tr/events/sched/sched_process_exec/enable
[ -f $ev ] || fail "no sched_process_exec event in tracefs"
# exec_pids: the old_pid= fields of the events of one exec of /bin/true.
exec_pids() {
	echo >$tr/trace
	/bin/true
	grep -o 'filename=/bin/true pid=[0-9]* old_pid=[0-9]*' $tr/trace | sed 's/.*old_pid=//' | sort -u | tr '\n' ' '
}
load
echo 1 >$ev
p=$(exec_pids)
case $p in "" | "424242 ") echo 0 >$ev; fail "before apply, exec events report old_pid '$p'" ;; esac
act apply
trace_pack
[ "$(exec_pids)" = "424242 " ] || { echo 0 >$ev; fail "applied: exec events report old_pid '$(exec_pids)', not 424242"; }
echo 0 >$ev
[ -z "$(exec_pids)" ] || fail "applied: events while the tracepoint is disabled"
echo 1 >$ev
exercised
act reverse
p=$(exec_pids)
echo 0 >$ev
case $p in "" | "424242 ") fail "after reverse, exec events report old_pid '$p'" ;; esac
unload
n=$((n + 1))

# A function of .sched.text: wait_for_completion_killable(), which creating a
# kthread (splice_target's holder) waits in, logs once replaced.
use_pack cat-sched-text
# spawns: how many times the replacement logged after creating a kthread.
spawns() {
	echo 1 >$target/hold
	echo 0 >$target/hold
	sleep 0.2
	dmesg | grep -c 'splice-cat: sched-text'
}
load
[ "$(spawns)" = 0 ] || fail "the replacement ran before apply"
act apply
trace_pack
[ "$(spawns)" -ge 1 ] || fail "applied: creating a kthread did not run the replacement"
exercised
act reverse
c=$(dmesg | grep -c 'splice-cat: sched-text')
[ "$(spawns)" = "$c" ] || fail "the replacement still runs after reverse"
unload
n=$((n + 1))
# A new __read_mostly counter beside the threshold, set at run time before the
# pack is applied: the replacement reads the live threshold, not a copy at 10.
use_pack cat-read-mostly
echo 25 >$target/threshold
load
act apply
trace_pack
is $target/threshold "25 1"
echo 30 >$target/threshold
is $target/threshold "30 2"
exercised
act reverse
is $target/threshold 30
echo 10 >$target/threshold
unload
n=$((n + 1))

# A new per-CPU counter beside one counted before the pack is applied: the
# replacement goes on counting in the live per-CPU instances (each read counts
# itself: h before, then h+1 and h+2), its new counter from 0; after reverse
# the old code counts on.
use_pack cat-percpu
h=$(cat $target/hits)
load
act apply
trace_pack
is $target/hits "$((h + 1)) 1"
is $target/hits "$((h + 2)) 2"
exercised
act reverse
is $target/hits "$((h + 3))"
unload
n=$((n + 1))

# A pr_debug() moved down a line in changed code, and a new one beside it
# (DYNAMIC_DEBUG): the replacement prints through the running kernel's
# descriptor, turned on before the pack came and turned off while applied; its
# new pr_debug() is a descriptor of the pack module, off until turned on, and
# gone with it. A copy of the old descriptor in the pack would print nothing
# where the running kernel's was on, and twice where only the pack's was.
use_pack cat-dyndbg
ctl=/proc/dynamic_debug/control
[ -w $ctl ] || fail "no $ctl: the dyndbg case needs CONFIG_DYNAMIC_DEBUG"
logged() { dmesg | grep -q "splice_target: debug read $1\$"; }
echo 'file splice_target.c func debug_show +p' >$ctl || fail "turning on debug_show's pr_debug"
r=$(cat $target/debug)
logged "$r" || fail "the running kernel's pr_debug did not print ($r)"
load
act apply
trace_pack
r=$((r + 1))
is $target/debug "$r $((r % 2))"
logged "$r" || fail "applied: the running kernel's descriptor, on, did not print for the replacement"
logged "$r is .*" && fail "applied: the pack's new pr_debug printed while off"
grep -q '\[splice_cat_dyndbg\]debug_show' $ctl ||
	fail "applied: the pack's new descriptor is not in $ctl"
echo 'file splice_target.c func debug_show -p' >$ctl
r=$((r + 1))
is $target/debug "$r $((r % 2))"
logged "$r" && fail "applied: the replacement printed through a descriptor turned off"
echo 'module splice_cat_dyndbg +p' >$ctl
r=$((r + 1))
is $target/debug "$r $((r % 2))"
logged "$r is .*" || fail "applied: the pack's new pr_debug, on, did not print"
logged "$r" && fail "applied: the old pr_debug printed through a descriptor of the pack"
exercised
act reverse
r=$((r + 1))
is $target/debug "$r"
unload
grep -q 'splice_cat_dyndbg' $ctl && fail "unloaded: the pack's descriptor is still in $ctl"
n=$((n + 1))

# Lines added above functions with WARN()s: proc_symlink() alone is replaced.
# Nothing in the guest creates a /proc symlink after boot but splice_target's
# proc_link, which shows the fix: a link with no destination is refused.
use_pack cat-line-shift
load
act apply
trace_pack
[ "$(grep -c . "$d/targets")" = 1 ] && grep -q proc_symlink "$d/targets" ||
	fail "applied: targets are '$(cat "$d/targets")', expected proc_symlink alone"
[ -L /proc/self ] || fail "applied: /proc/self is gone"
# The fixed proc_symlink() makes links as before, and refuses no destination
# (the kernel's own would oops on it: not asked before apply).
echo self >$target/proc_link
is $target/proc_link made
[ "$(readlink /proc/splice_target_link)" = self ] ||
	fail "applied: /proc/splice_target_link points to '$(readlink /proc/splice_target_link)', expected self"
echo >$target/proc_link
is $target/proc_link refused
[ -e /proc/splice_target_link ] && fail "applied: a link with no destination was made"
exercised
act reverse
echo self >$target/proc_link
is $target/proc_link made
echo - >$target/proc_link
[ -e /proc/splice_target_link ] && fail "/proc/splice_target_link stayed after '-'"
unload
n=$((n + 1))
# A change in do_exit(), a __noreturn function every exiting task runs.
use_pack cat-noreturn
exits() {
	sh -c 'exit 90'
	dmesg | grep -c 'splice-cat: noreturn: exit 90'
}
load
[ "$(exits)" = 0 ] || fail "the replacement of do_exit ran before apply"
act apply
trace_pack
[ "$(exits)" = 1 ] || fail "applied: exit 90 did not run the replacement of do_exit"
[ "$(exits)" = 2 ] || fail "applied: a second exit 90 did not run the replacement of do_exit"
exercised
act reverse
[ "$(exits)" = 2 ] || fail "the replacement of do_exit still runs after reverse"
unload
n=$((n + 1))
# A change to kernfs_fop_write_iter(), on the path of the stage write itself:
# the writer's own frames do not hold up apply or reverse; writes of
# "splice-cat" (refused by the stage file, logged first by the replacement)
# show it runs.
use_pack cat-writer-path
# marks: how many times the replacement logged, after one such write.
marks() {
	echo splice-cat >"$d/stage" 2>/dev/null
	dmesg | grep -c 'splice-cat: writer-path'
}
load
[ "$(marks)" = 0 ] || fail "the replacement of kernfs_fop_write_iter ran before apply"
act apply
trace_pack
[ "$(marks)" = 1 ] || fail "applied: a sysfs write did not run the replacement of kernfs_fop_write_iter"
exercised
act reverse
[ "$(marks)" = 1 ] || fail "the replacement of kernfs_fop_write_iter still runs after reverse"
unload
n=$((n + 1))

# A change to multi_cpu_stop(), which every CPU runs during the stop and returns
# into after the commit: apply is refused (cannot_redirect), nothing changes.
use_pack cat-stop-path
load
act check
act apply cannot_redirect "Operation not supported"
stage_is checked
dmesg | grep -q "cannot_redirect: CPU [0-9]* goes on at .* in \"multi_cpu_stop\"" ||
	fail "the kernel log does not name multi_cpu_stop as code of the stop"
unload
n=$((n + 1))
# Rust. Rust code has no ftrace site, in the kernel as in a pack, so the
# evidence that a replacement runs is its behaviour alone.
rust=/sys/kernel/splice_target_rust
insmod /splice/modules/splice_target_rust.ko || fail "insmod splice_target_rust.ko"
# A function of the module's crate: value is compute(21), 42, then 43.
use_pack cat-rust-module
load
is $rust/value 42
act apply
is $rust/value 43
act reverse
is $rust/value 42
unload
n=$((n + 1))

# A function of the kernel crate, kstrtobool_bytes(), which the module's
# enabled file reads its input with: the fix skips leading blanks.
use_pack cat-rust-kernel-crate
load
echo " on" >$rust/enabled 2>/dev/null && fail "' on' was accepted before the fix"
is $rust/enabled 0
act apply
echo " on" >$rust/enabled || fail "' on' was refused with the fix applied"
is $rust/enabled 1
echo off >$rust/enabled || fail "off was refused with the fix applied"
act reverse
echo " on" >$rust/enabled 2>/dev/null && fail "' on' was accepted after reverse"
is $rust/enabled 0
unload
rmmod splice_target_rust || fail "rmmod splice_target_rust"
n=$((n + 1))
echo "ok: $n catalogue packs applied and reversed"

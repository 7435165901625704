#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest half of `make demo` (scripts/splice/demo.sh makes the pack and
# boots the VM; /init runs this with SPLICE_MODE=demo). It narrates each step
# and checks that it shows what it claims; the last line is "demo: ok" or
# "demo: FAILED: why".
#
#   /splice/bin/pidns-freeze                  the reproducer (pidns-freeze.c)
#   /splice/bin/splice                        the admin command
#   /splice/packs/splice_pidns_freeze.ko      the pack splice-create made
#   /splice/demo/fix                          the release the fix is from, and
#                                             its subject (a line each)
export PATH=/splice/bin:/bin
pack=pidns-freeze
ko=/splice/packs/splice_pidns_freeze.ko
fixed_in=$(sed -n 1p /splice/demo/fix)
subject=$(sed -n 2p /splice/demo/fix)
checks=0
workload=
holder=

step() { printf '\n=== %s\n' "$*"; }
ok() { checks=$((checks + 1)); echo "  -> ok: $*"; }
fail() {
	echo "demo: FAILED: $*"
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	[ -n "$workload" ] && kill "$workload" 2>/dev/null
	dmesg | grep -i splice | tail -5
	exit 1
}
# run CMD...: show the command, run it, set rc.
run() { echo "# $*"; "$@"; rc=$?; }
up() { cut -d' ' -f1 /proc/uptime; }

step "The running kernel"
run uname -r
run splice status || fail "splice status: exit $rc"
up0=$(up)
echo "uptime: $up0 s"

step "1. The bug: an exiting PID-namespace init cannot be frozen (fixed in 7.2.13 by"
echo "    'pid_namespace: make zap_pid_ns_processes() freezable')"
run pidns-freeze
[ "$rc" = 1 ] || fail "the reproducer did not show the bug on 7.2.12 (exit $rc)"
ok "7.2.12 shows the bug: freezing fails and the exiting init spins"

step "2. Load the pack (made from Debian's 7.2.12 -> 7.2.13 diff of kernel/pid_namespace.c)"
run splice load "$ko"
[ "$rc" = 0 ] || fail "splice load: exit $rc"
ok "loaded; nothing in the kernel changed yet"

step "3. Safety: while a task runs the code to be replaced, apply is refused"
pidns-freeze hold >/tmp/hold.log 2>&1 &
holder=$!
i=0
until grep -q '^holding' /tmp/hold.log; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the reproducer did not reach its holding state: $(cat /tmp/hold.log)"
	sleep 0.1
done
sed 's/^/    /' /tmp/hold.log
spinner=$(sed -n 's/^holding: init pid \([0-9]*\).*/\1/p' /tmp/hold.log)
run splice apply $pack
[ "$rc" = 11 ] || fail "apply with a task in zap_pid_ns_processes: exit $rc, expected 11 (code busy)"
splice show --json $pack | grep -q "\"pid\":$spinner" ||
	fail "the conflicts do not name the spinning task $spinner"
[ "$(cat /sys/kernel/splice/$pack/stage)" = loaded ] || fail "the stage moved after a refused apply"
ok "refused with code_busy, naming task $spinner; the kernel is unchanged"
kill -TERM "$holder"
wait "$holder"
holder=

step "4. Check and apply while a workload keeps creating and tearing down PID namespaces"
pidns-freeze workload >/tmp/workload.log 2>&1 &
workload=$!
sleep 1
run splice check $pack
[ "$rc" = 0 ] || fail "splice check: exit $rc"
ok "run-pre matching: the running code is the code the pack was made from"
# code_busy is possible when a namespace is being torn down at that instant:
# trying again is safe, as the command says.
for try in 1 2 3; do
	run splice apply $pack
	[ "$rc" = 11 ] || break
	sleep 1
done
[ "$rc" = 0 ] || fail "splice apply: exit $rc"
run splice show $pack
run splice status
splice status | grep -q "patch level: $(uname -r) + $pack" || fail "status does not show the pack applied"
# What the running kernel now is, as uptrack-uname says it: the release plus
# the fixes of the release the pack's fix comes from, which show lists.
splice status | grep -qxF "effective version: $(uname -r) + fixes of $fixed_in" ||
	fail "status does not say the kernel is $(uname -r) + fixes of $fixed_in"
splice show $pack | grep -qxF "fix:         $subject" || fail "show does not list the fix '$subject'"
ok "applied while the workload runs (pid $workload)"

step "5. The reproducer again, on the same running kernel"
run pidns-freeze
[ "$rc" = 0 ] || fail "the reproducer still shows the bug after apply (exit $rc)"
up1=$(up)
echo "uptime: $up0 s before, $up1 s now: no reboot"
ok "fixed live"

step "6. Reverse: the old behaviour comes back"
run splice reverse $pack
[ "$rc" = 0 ] || fail "splice reverse: exit $rc"
run pidns-freeze
[ "$rc" = 1 ] || fail "the reproducer does not show the bug after reverse (exit $rc)"
ok "reversed: the original code runs again"
kill -TERM "$workload"
wait "$workload"
workload=
sed 's/^/    /' /tmp/workload.log
grep -q 'PID namespaces created' /tmp/workload.log || fail "the workload did not run"

step "7. Unload"
run splice unload $pack
[ "$rc" = 0 ] || fail "splice unload: exit $rc"
[ ! -d /sys/kernel/splice/$pack ] || fail "the pack is still there after unload"
run splice status
ok "unloaded; the kernel runs its original code, uptime $(up) s"

echo
echo "demo: ok ($checks checks)"

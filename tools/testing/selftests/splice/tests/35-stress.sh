#!/bin/sh
# Stress: on every CPU a task calls a patched function in a tight loop (it
# reads a sysfs attribute whose show() calls it) while the pack is applied and
# reversed STRESS_CYCLES times (1000). Every call returns the old or the new
# result and nothing else, and each caller saw both; every action goes
# through, at once or after aborts (tries is 1, so each abort comes back here
# and is counted by its cause; more than 20 in a row fail the test);
# afterwards the reference counts of the pack and of the target module are
# what they were before. The same for a pack of a module's function
# (STRESS_MODULE_CYCLES, 200). The figures (cycles, aborts by cause, pause
# percentiles) print as "stress:" lines; leaks are for kmemleak on the debug
# kernel (tests/debug/80-kmemleak.sh scans after the suite), the slab
# objects in use are printed as a figure.
. "$(dirname "$0")/../lib.sh"
. "${SPLICE_SELFTESTS:-/splice/selftests}/stress.sh"

stress target-value "${STRESS_CYCLES:-1000}" $target/value 42 63
modko=/splice/modules/splice_target_mod.ko
insmod $modko || fail "insmod $modko"
stress mod-greeting "${STRESS_MODULE_CYCLES:-200}" /sys/kernel/splice_target_mod/greeting \
	"hello from splice_target_mod" "hello from splice_target_mod, spliced" splice_target_mod
rmmod splice_target_mod || fail "rmmod splice_target_mod after the stress"
cleanup
echo "ok: every call returned the old or the new result through every cycle; reference counts kept"

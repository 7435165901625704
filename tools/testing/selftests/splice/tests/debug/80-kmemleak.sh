#!/bin/sh
# Leaks (debug kernel, kmemleak): after the other tests have loaded, applied,
# reversed and unloaded their packs (35-stress 2400 actions, 30-faults every
# failure path; 85-forced-unload and 90-signatures run later, the last as
# lockdown closes debugfs),
# a kmemleak scan finds no unreferenced object. run.sh scanned and cleared
# once before the first test, so what boot and KUnit left is not counted;
# objects younger than kmemleak's 5 s are not reported, hence the wait.
. "$(dirname "$0")/../../lib.sh"
k=/sys/kernel/debug/kmemleak
[ -w $k ] || fail "no $k: the debug kernel has CONFIG_DEBUG_KMEMLEAK"
sleep 6
echo scan >$k || fail "kmemleak scan"
echo scan >$k || fail "kmemleak scan"
if grep -q "^unreferenced object" $k; then
	echo "kmemleak: $(grep -c '^unreferenced object' $k) unreferenced object(s):"
	head -n 40 $k
	fail "kmemleak found leaks after the guest tests"
fi
echo "ok: kmemleak found no leak after the guest tests"

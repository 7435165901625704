# SPDX-License-Identifier: GPL-2.0
# The stress run, for tests/35-stress.sh (a test: its figures are printed, its
# checks fail it) and bench.sh (the same figures beside the benchmarks).
#
# stress PACK CYCLES FILE OLD NEW [MODULE]: on every CPU a task calls a
# patched function in a tight loop (it reads FILE, whose show() calls it,
# reading OLD while PACK is reversed and NEW while applied) while PACK is
# applied and reversed CYCLES times. Every call must return OLD or NEW and
# each caller see both; every action must go through, at once or after
# aborts (tries is 1, so each abort comes back here and is counted by its
# cause; 20 in a row fail); afterwards the reference counts of the pack and
# of MODULE are what they were before. Prints "stress:" lines: the callers'
# counts, cycles, aborts by cause, pause percentiles, slab objects in use.
# Needs lib.sh's helpers (use_pack, load, fail, ...).
root=/sys/kernel/splice
ncpu=$(nproc)

# slab_objects: the active objects of every slab cache (a figure: the
# shell and the callers allocate too), or "n/a" without /proc/slabinfo.
slab_objects() {
	[ -r /proc/slabinfo ] || { echo n/a; return; }
	awk 'NR > 2 { n += $2 } END { print n }' /proc/slabinfo
}

# percentiles FILE: "p50 p90 p99 max" of the nanoseconds in FILE, in us.
percentiles() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		printf "p50 %.1f p90 %.1f p99 %.1f max %.1f", v[int(NR * 0.5 + 0.5)] / 1000,
			v[int(NR * 0.9 + 0.5)] / 1000, v[int(NR * 0.99 + 0.5)] / 1000, v[NR] / 1000 }'
}

stress() {
	pack=$1 cycles=$2 file=$3 old=$4 new=$5 module=${6:-}
	use_pack "$pack"
	load
	mod=$(basename "$ko" .ko)
	pack_ref=$(cat /sys/module/$mod/refcnt)
	[ -z "$module" ] || target_ref=$(cat /sys/module/$module/refcnt)
	slab_before=$(slab_objects)
	echo 1 >$root/tries || fail "setting tries"
	rm -f /tmp/stress.stop /tmp/stress.pause /tmp/stress.aborts
	pids=
	i=0
	while [ $i -lt "$ncpu" ]; do
		splice-probe read-loop "$file" /tmp/stress.stop "$old" "$new" >/tmp/stress.$i 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	c=0
	while [ $c -lt "$cycles" ]; do
		for a in apply reverse; do
			n=0
			until echo $a >"$d/stage" 2>/dev/null; do
				read -r cause <"$d/abort_cause"
				echo "$cause" >>/tmp/stress.aborts
				n=$((n + 1))
				[ $n -lt 20 ] || { touch /tmp/stress.stop; fail "$pack: $a aborted 20 times in a row in cycle $c"; }
			done
			# Builtins only in this loop: a fork costs more than an action here.
			while read -r key value; do
				[ "$key" = pause_ns ] && echo "$value"
			done <"$d/timings" >>/tmp/stress.pause
		done
		c=$((c + 1))
	done
	touch /tmp/stress.stop
	i=0
	for p in $pids; do
		wait "$p" || fail "$pack: caller $i: $(cat /tmp/stress.$i)"
		echo "stress: $pack: caller $i: $(cat /tmp/stress.$i)"
		i=$((i + 1))
	done
	stage_is reversed
	is "$file" "$old"
	echo 10 >$root/tries
	aborts=$( [ -s /tmp/stress.aborts ] && sort /tmp/stress.aborts | uniq -c |
		awk '{ printf "%s%s %d", NR > 1 ? ", " : "", $2, $1 }')
	echo "stress: $pack: $cycles apply and reverse cycles with $ncpu callers; aborts: ${aborts:-none}"
	echo "stress: $pack: pause $(percentiles /tmp/stress.pause) us (apply and reverse)"
	is /sys/module/$mod/refcnt "$pack_ref"
	[ -z "$module" ] || is /sys/module/$module/refcnt "$target_ref"
	unload
	echo "stress: $pack: slab objects in use $slab_before before, $(slab_objects) after"
}


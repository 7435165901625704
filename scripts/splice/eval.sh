#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make eval: what share of real stable fixes splice applies live, with no
# hand work, side by side with upstream klp-build.
#
#   eval.sh [BASE [NEXT]]    default: $KERNEL_VERSION and 7.2.13
#
# Environment: EVAL_LIMIT=N (only the first N patches: the slice make check
# runs), EVAL_PATCHES="name ..." (those patches), EVAL_KLP=0 (skip klp-build),
# EVAL_HEADER_LIMIT=S (300: seconds for splice-create on a fix with the headers
# it needs), EVAL_KLP_LIMIT=N (run klp-build on at most N patches it has no outcome for
# yet: its outcomes are kept between runs, so a long evaluation goes on where
# it stopped),
# EVAL_OUT (the output folder; default $SPLICE_BUILD/eval/CONFIG-BASE-NEXT,
# CONFIG being SPLICE_CONFIG: make eval uses the eval configuration).
#
# 1. The corpus (eval-corpus.sh): per-file diffs BASE -> NEXT of the C files
#    the built kernel compiles.
# 2. splice-create on each: a pack, or a refusal classified by its reason.
#    A refused fix with a rewrite by hand in
#    tools/testing/selftests/splice/eval/hand/BASE-NEXT/ is made into a pack
#    too, counted apart ("with hand work").
# 3. The VM boots the BASE kernel; for each pack: load, check, apply, a smoke
#    workload, reverse, unload (tools/testing/selftests/splice/eval/guest.sh),
#    with the match time and the stop_machine pause.
# 4. klp-build on each patch (klp.sh, eval-klp.sh): whether it makes a livepatch module,
#    and its build time; then a VM booted from the kernel klp-build's tree
#    builds enables each module, waits for the transition, runs the smoke
#    workload, disables it and unloads it (eval/klp-guest.sh).
# 5. $SPLICE_BUILD/eval/CONFIG-BASE-NEXT/results.{md,json}: one row per patch, then
#    the totals, printed at the end. Bugs (a guest crash, a stage that fails
#    after check passed, a reverse or unload that fails) come first, and make
#    the run fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/klp.sh"
. "$(dirname "$0")/apt.sh"
. "$(dirname "$0")/eval-headers.sh"
. "$(dirname "$0")/eval-klp.sh"

base=${1:-$KERNEL_VERSION}
next=${2:-7.2.13}
out=$(realpath -m "${EVAL_OUT:-$SPLICE_BUILD/eval/$SPLICE_CONFIG-$base-$next}")
[ "${base%%-*}" = "$KERNEL_VERSION" ] ||
	die "the base ($base) must be the built kernel's version ($KERNEL_VERSION): KERNEL_VERSION=${base%%-*} make eval"
"$SPLICE_SRC/scripts/splice/eval-corpus.sh" "$base" "$next" "$out"
# Each side has its own Debian version (7.2.11 is only in backports, as 7.2.11-1~bpo13+1).
base_deb=$(deb_resolve "$base")
next_deb=$(deb_resolve "$next")
build_tools # cargo: a no-op when the tools are up to date

mapfile -t patches < <(ls "$out/patches" | sed 's/\.diff$//')
if [ -n "${EVAL_PATCHES:-}" ]; then
	read -ra patches <<<"$EVAL_PATCHES"
fi
if [ -n "${EVAL_LIMIT:-}" ]; then
	patches=("${patches[@]:0:$EVAL_LIMIT}")
fi
say "evaluating ${#patches[@]} patches: ${patches[*]}"

guest=$out/guest
hand=$SPLICE_SRC/tools/testing/selftests/splice/eval/hand/$base-$next
cases=$SPLICE_SRC/tools/testing/selftests/splice/eval/cases/$base-$next
rm -rf "$guest" "$out/splice" "$out/guest.log" "$out/guest.status"
mkdir -p "$guest/eval" "$guest/bin" "$out/splice"
cp "$SPLICE_TOOLS/splice" "$guest/bin/"
build_probe "$guest/bin"

# hand_work P EXT: the hand work (EXT: diff or sh) for patch P, or for one of
# the files a grouped patch A__B joins; fails if there is none.
hand_work() {
	local m
	for m in "$1" ${1//__/ }; do
		if [ -f "$hand/$m.$2" ]; then
			echo "$hand/$m.$2"
			return 0
		fi
	done
	return 1
}

# create P DIFF [LIMIT]: splice-create on DIFF, for at most LIMIT seconds;
# sets st (pack, refused) and secs.
create() {
	local p=$1 diff=$2 limit=${3:-0} t0 rc=0
	t0=$(date +%s.%N)
	timeout -s INT "$limit" "${TC[@]}" "$SPLICE_TOOLS/splice-create" --tree "$KERNEL_TREE" --patch "$diff" \
		--name "$p" --description "$p ($base -> $next)" --fixed-in "${next%%-*}" \
		-o "$guest/eval/splice_$(echo "$p" | tr - _).ko" --report "$out/splice/$p.json" \
		--work "$out/splice/$p.work" >"$out/splice/$p.log" 2>&1 || rc=$?
	st=$([ $rc = 0 ] && echo pack || echo refused)
	if [ $rc = 124 ]; then
		local jobs
		jobs=$(grep -oE '\([0-9]+/[0-9]+\)' "$out/splice/$p.log" | tail -n 1 | sed 's|.*/||; s|)||')
		echo "splice-create: not finished after $limit s: the headers it needs are included by $((${jobs:-0} / 2)) objects, each compiled twice (EVAL_HEADER_LIMIT)" \
			>>"$out/splice/$p.log"
	fi
	secs=$(echo "$(date +%s.%N) - $t0" | bc)
}

# said WHAT NAME: what splice-create made of WHAT (pack NAME), from st, secs
# and its log: the refusal's reason, if any.
said() {
	say "splice-create $1: $st ($(printf '%.1f' "$secs") s)$([ $st = refused ] &&
		echo ": $(grep '^splice-create:' "$out/splice/$2.log" | tail -n 1 | cut -c 16-140)")"
}

# 2. splice-create. A fix that does not compile alone is tried again with
# the changed headers it needs, as its author would ship it; that diff is then
# also the one klp-build gets.
for p in "${patches[@]}"; do
	diff=$out/patches/$p.diff
	[ -f "$diff" ] || die "no patch $p in the corpus"
	rm -f "$out/patches/$p.headers.diff"
	create "$p" "$diff"
	used=alone
	# Up to three rounds: a header that makes the file compile further may
	# show what else it misses (ext4's super.c: extents_status.h, then ext4.h).
	round=0
	while [ $st = refused ] && [ $round -lt 3 ] &&
		grep -q '^splice-create: compiling .* failed' "$out/splice/$p.log" &&
		with_headers "$p" "$out/splice/$p.log" "$out/patches/$p.headers.diff" \
			"$out/splice/headers-used"; do
		round=$((round + 1))
		[ $round = 1 ] && mv "$out/splice/$p.log" "$out/splice/$p.alone.log"
		say "splice-create $p: does not compile$([ $round = 1 ] && echo ' alone'); again with the changed headers it includes (round $round)"
		# A header most of the kernel includes means compiling most of it
		# twice: bounded, and reported as such.
		create "$p" "$out/patches/$p.headers.diff" "${EVAL_HEADER_LIMIT:-300}"
		used=headers
	done
	echo "$p $st $secs $used" >>"$out/splice/outcomes"
	said "$p" "$p"
done

# 2b. Hand work: a refused fix may have a rewrite in
# tools/testing/selftests/splice/eval/hand/BASE-NEXT/P.diff that keeps the
# old data layout (shadow data, hooks, a grace period waited for instead of
# an rcu_head), its text saying why it is the same fix. It is made into pack
# P-hand and run like the others, and counted apart: the headline is what
# splice applies with no hand work. "Covers: Q..." names the other per-file
# patches of the same upstream fix that the rewrite takes whole.
for p in "${patches[@]}"; do
	hd=$(hand_work "$p" diff) || continue
	if ! grep -q "^$p refused " "$out/splice/outcomes"; then
		warn "$hd: hand work for $p, which splice does not refuse: not used"
		continue
	fi
	create "$p-hand" "$hd"
	covers=$(sed -n 's/^Covers: //p' "$hd" | head -n 1)
	echo "$p $st $secs ${covers// /,}" >>"$out/splice/hand-outcomes"
	said "$p with hand work" "$p-hand"
done

# 2c. The case scripts that observe what a fix does (its workload, and its
# fixed and unfixed checks or why the VM cannot observe it), beside each pack
# for the guest: the hand work's (hand/BASE-NEXT/P.sh) for P-hand, the stable
# set's (../stable/P.sh, the same fixes) for the pair it was made from, or
# cases/BASE-NEXT/P.sh (P-hand.sh), which says which targets the VM cannot
# reach and why (unreached, unreached_why) and observes what it can.
stable=$SPLICE_SRC/tools/testing/selftests/splice/stable
for p in "${patches[@]}" "${patches[@]/%/-hand}"; do
	ko=$guest/eval/splice_$(echo "$p" | tr - _).ko
	[ -f "$ko" ] || continue
	cs=
	case $p in
	*-hand) cs=$(hand_work "${p%-hand}" sh) || cs= ;;
	*) [ "$(cat "$stable/BASE" 2>/dev/null)" = "$base" ] && [ -f "$stable/$p.sh" ] && cs=$stable/$p.sh ;;
	esac
	# A fix of this pair outside the stable set: what the VM cannot reach of it.
	[ -z "$cs" ] && [ -f "$cases/$p.sh" ] && cs=$cases/$p.sh
	rm -f "${ko%.ko}.sh"
	[ -n "$cs" ] && cp "$cs" "${ko%.ko}.sh"
done

# 3. The guest.
if ls "$guest"/eval/*.ko >/dev/null 2>&1; then
	say "booting linux-$base to load, check, apply, exercise, reverse and unload the packs"
	# Under TCG: the boot, then some seconds per pack.
	n=$(ls "$guest"/eval/*.ko | wc -l)
	# Its status is kept for the table: a guest that did not finish, or whose
	# kernel log has a warning, a KFENCE, UBSAN or hung task report (vm.sh
	# checks it), fails the evaluation whatever the packs' lines say.
	rc=0
	VM_TIMEOUT=${VM_TIMEOUT:-$((180 + 20 * n))} VM_NAME=eval \
		"$SPLICE_SRC/scripts/splice/vm.sh" eval "$guest" >"$out/guest.log" 2>&1 || rc=$?
	echo "$rc" >"$out/guest.status"
	[ "$rc" = 0 ] || warn "the guest run failed: $(tail -n 1 "$out/guest.log")"
	grep '^eval ' "$out/guest.log" | sed 's/^/    /' || true
fi

# 4. klp-build.
rm -rf "$out/klp"
mkdir -p "$out/klp"
if [ "${EVAL_KLP:-1}" = 1 ]; then
	klp_prepare
	# Patches splice made a pack of first: they compile alone, so the first
	# run, which builds the original kernel, is likely to succeed.
	mapfile -t order < <(awk '$2 == "pack" { print $1 }' "$out/splice/outcomes"
		awk '$2 != "pack" { print $1 }' "$out/splice/outcomes")
	ran=0
	for p in "${order[@]}"; do
		klp_patch "$p" || true
	done
fi

# 4b. The livepatch modules in a VM booted from klp-build's kernel: load
# (enable), transition, smoke, disable, transition, unload.
if ls "$out"/klp/*.ko >/dev/null 2>&1; then
	klp_kernel
	rm -rf "$out/klp-guest"
	mkdir -p "$out/klp-guest/klp"
	build_probe "$out/klp-guest/bin"
	cp "$out"/klp/*.ko "$out/klp-guest/klp/"
	say "booting klp-build's kernel to enable, exercise and disable the livepatch modules"
	n=$(ls "$out"/klp/*.ko | wc -l)
	KERNEL_TREE=$klp_tree VM_TIMEOUT=${VM_TIMEOUT:-$((180 + 30 * n))} VM_NAME=eval-klp \
		"$SPLICE_SRC/scripts/splice/vm.sh" eval-klp \
		"$out/klp-guest" >"$out/klp-guest.log" 2>&1 ||
		warn "the livepatch guest run failed: $(tail -n 1 "$out/klp-guest.log")"
	grep '^klp ' "$out/klp-guest.log" | sed 's/^/    /' || true
fi

# 5. The table.
python3 "$SPLICE_SRC/scripts/splice/eval-table.py" "$out" "$base" "$next" "${patches[@]}"

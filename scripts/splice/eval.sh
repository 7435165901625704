#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make eval: what share of real stable fixes splice applies live, with no
# hand work, side by side with upstream klp-build.
#
#   eval.sh [BASE [NEXT]]    default: $KERNEL_VERSION and 7.2.13
#
# Environment: EVAL_LIMIT=N (only the first N patches: the slice make check
# runs), EVAL_PATCHES="name ..." (those patches), EVAL_KLP=0 (skip klp-build),
# EVAL_OUT (the output folder; default $SPLICE_BUILD/eval/BASE-NEXT).
#
# 1. The corpus (eval-corpus.sh): per-file diffs BASE -> NEXT of the C files
#    the built kernel compiles.
# 2. splice-create on each: a pack, or a refusal classified by its reason.
# 3. The VM boots the BASE kernel; for each pack: load, check, apply, a smoke
#    workload, reverse, unload (tools/testing/selftests/splice/eval/guest.sh),
#    with the match time and the stop_machine pause.
# 4. klp-build on each patch in a copy of the tree (as bench-klp.sh): whether
#    it makes a livepatch module, and its build time.
# 5. $SPLICE_BUILD/eval/BASE-NEXT/results.{md,json}: one row per patch, then
#    the totals, printed at the end. Bugs (a guest crash, a stage that fails
#    after check passed, a reverse or unload that fails) come first, and make
#    the run fail.
. "$(dirname "$0")/lib.sh"

base=${1:-$KERNEL_VERSION}
next=${2:-7.2.13}
out=$(realpath -m "${EVAL_OUT:-$SPLICE_BUILD/eval/$base-$next}")
[ "$base" = "$KERNEL_VERSION" ] ||
	die "the base ($base) must be the built kernel's version ($KERNEL_VERSION): KERNEL_VERSION=$base make eval"
"$SPLICE_SRC/scripts/splice/eval-corpus.sh" "$base" "$next" "$out"
[ -x "$SPLICE_TOOLS/splice-create" ] || build_tools

mapfile -t patches < <(ls "$out/patches" | sed 's/\.diff$//')
if [ -n "${EVAL_PATCHES:-}" ]; then
	read -ra patches <<<"$EVAL_PATCHES"
fi
if [ -n "${EVAL_LIMIT:-}" ]; then
	patches=("${patches[@]:0:$EVAL_LIMIT}")
fi
say "evaluating ${#patches[@]} patches: ${patches[*]}"

guest=$out/guest
rm -rf "$guest" "$out/splice"
mkdir -p "$guest/eval" "$guest/bin" "$out/splice"
cp "$SPLICE_TOOLS/splice" "$guest/bin/"

# 2. splice-create.
for p in "${patches[@]}"; do
	diff=$out/patches/$p.diff
	[ -f "$diff" ] || die "no patch $p in the corpus"
	t0=$(date +%s.%N)
	if "$SPLICE_TOOLS/splice-create" --tree "$KERNEL_TREE" --patch "$diff" --name "$p" \
		--description "$p ($base -> $next)" -o "$guest/eval/splice_$(echo "$p" | tr - _).ko" \
		--report "$out/splice/$p.json" --work "$out/splice/$p.work" >"$out/splice/$p.log" 2>&1; then
		st=pack
	else
		st=refused
	fi
	secs=$(echo "$(date +%s.%N) - $t0" | bc)
	echo "$p $st $secs" >>"$out/splice/outcomes"
	say "splice-create $p: $st ($(printf '%.1f' "$secs") s)$([ $st = refused ] && echo ": $(grep '^splice-create:' "$out/splice/$p.log" | tail -n 1 | cut -c 16-140)")"
done

# 3. The guest.
if ls "$guest"/eval/*.ko >/dev/null 2>&1; then
	say "booting linux-$base to load, check, apply, exercise, reverse and unload the packs"
	VM_NAME=eval "$SPLICE_SRC/scripts/splice/vm.sh" eval "$guest" >"$out/guest.log" 2>&1 ||
		warn "the guest run failed: $(tail -n 1 "$out/guest.log")"
	grep '^eval ' "$out/guest.log" | sed 's/^/    /' || true
fi

# 4. klp-build.
klp=$SPLICE_BUILD/klp
tree=$klp/linux-$KERNEL_VERSION
rm -rf "$out/klp"
mkdir -p "$out/klp"
if [ "${EVAL_KLP:-1}" = 1 ]; then
	# The tree klp-build cleans and rebuilds: a copy of the built tree. Its
	# original build (klp-tmp/1-orig) is reused while the running kernel's
	# vmlinux is the same.
	stamp=$(sha256 "$KERNEL_TREE/vmlinux")
	reuse=0
	if [ -d "$tree/klp-tmp/1-orig" ] && [ "$(cat "$klp/stamp" 2>/dev/null)" = "$stamp" ]; then
		reuse=1
	else
		say "copying the built tree for klp-build ($tree)"
		rsync -a --delete "$KERNEL_TREE/" "$tree/"
		rm -f "$klp/stamp"
	fi
	# A failed klp-build can leave the tree so that the next runs fail
	# ("FILE symbol mismatch"): the tree is snapshotted after each success
	# and restored after each failure.
	snap=$klp/snapshot
	if [ $reuse = 1 ] && [ ! -d "$snap" ]; then
		rsync -a --delete "$tree/" "$snap/"
	fi
	# Patches splice made a pack of first: they compile alone, so the first
	# run, which builds the original kernel, is likely to succeed.
	mapfile -t order < <(awk '$2 == "pack" { print $1 }' "$out/splice/outcomes"
		awk '$2 != "pack" { print $1 }' "$out/splice/outcomes")
	for p in "${order[@]}"; do
		short=()
		[ $reuse = 1 ] && short=(--short-circuit=2)
		say "klp-build $p$([ $reuse = 0 ] && echo ' (builds the original kernel first: minutes)')"
		t0=$(date +%s.%N)
		if (cd "$tree" && ./scripts/livepatch/klp-build -T -j "$(nproc)" "${short[@]}" \
			-o "$out/klp/livepatch-$p.ko" "$out/patches/$p.diff") >"$out/klp/$p.log" 2>&1; then
			st=ok
		else
			st=failed
		fi
		secs=$(echo "$(date +%s.%N) - $t0" | bc)
		if [ $st = ok ]; then
			# Once the original kernel is built, the next patches reuse it.
			if [ $reuse = 0 ]; then
				echo "$stamp" >"$klp/stamp"
				reuse=1
			fi
			rsync -a --delete "$tree/" "$snap/"
		elif [ -d "$snap" ]; then
			rsync -a --delete "$snap/" "$tree/"
		fi
		echo "$p $st $secs $([ ${#short[@]} = 0 ] && echo full || echo reuse)" >>"$out/klp/outcomes"
		say "klp-build $p: $st ($(printf '%.1f' "$secs") s)$([ $st = failed ] && echo ": $(grep -m1 -E 'error' "$out/klp/$p.log" | cut -c1-120)")"
	done
fi

# 5. The table.
python3 "$SPLICE_SRC/scripts/splice/eval-table.py" "$out" "$base" "$next" "${patches[@]}"

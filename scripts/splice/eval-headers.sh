# SPDX-License-Identifier: GPL-2.0
# The changed headers a fix needs, for eval.sh (sourced after lib.sh):
#
#   with_headers P LOG DIFF RECORD   P's diff plus the headers it needs
#   compile_failed LOG               whether LOG shows the compiler refusing a file
#
# The corpus holds each file's own diff; a fix that also changed a header
# its file includes does not compile without that header's change. The
# evaluation then gives the fix the changed headers it includes, as its author
# would have shipped it, to whichever tool it did not compile for: splice-create
# (eval.sh's step 2) or klp-build, when splice refused the fix before it
# compiled anything (step 4).
#
# Globals: out (the evaluation's folder: patches/, changed-files), KERNEL_TREE
# (its .cmd files name what each object includes), SPLICE_BUILD, base_deb and
# next_deb (the two source trees, build/sources/tree-VERSION).

# names_missed FILE LINES: the first name of $missed that the lines of FILE's
# change (base -> next) matching LINES (a grep pattern: '^+' the added ones)
# hold as a word; fails if none does. Uses with_headers' old, new, missed.
names_missed() {
	local id
	for id in "${missed[@]}"; do
		if file_diff "$old" "$new" "$1" | grep -v '^+++ \|^--- ' | grep -- "$2" |
			grep -qw -- "$id"; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

# with_headers P LOG DIFF RECORD: P's diff plus the diffs of the other headers
# that changed between the two versions, that P's objects include and whose
# added lines (or, if none does, the lines of the change around them) name
# what the compiler missed in LOG (an undeclared identifier, a missing
# member, conflicting types), and the other changed C files whose changes
# use that name (the callers of a changed prototype, in a later round too);
# all the headers if no file names it. Written to DIFF, each file with what
# pulled it in to RECORD ("P HEADER missed:ID", "P FILE.c uses:ID" or
# "P HEADER all"). A later round (DIFF exists) adds to the files of the one
# before. Fails if there is no file left to add.
with_headers() {
	local p=$1 log=$2 diff=$3 record=$4 f o cmd n=0 h i id lines hs=() want=() why=() missed=()
	local from=$out/patches/$p.diff old=$SPLICE_BUILD/sources/tree-$base_deb
	local new=$SPLICE_BUILD/sources/tree-$next_deb
	[ -f "$diff" ] && from=$diff
	while read -r h; do
		case $h in *.h) ;; *) continue ;; esac
		grep -qxF -- "--- a/$h" "$from" && continue
		for f in $(sed -n 's|^--- a/\(.*\.c\)$|\1|p' "$out/patches/$p.diff"); do
			o=${f%.c}.o
			cmd=$KERNEL_TREE/$(dirname "$o")/.$(basename "$o").cmd
			if grep -qF "$h" "$cmd" 2>/dev/null; then
				hs+=("$h")
				break
			fi
		done
	done <"$out/changed-files"
	mapfile -t missed < <(grep -E ' error: ' "$log" | grep -oE "[‘'][A-Za-z_][A-Za-z0-9_]*[’']" |
		tr -d "‘’'" | sort -u)
	# The added lines first; then the lines around them, where a prototype
	# whose continuation line changed keeps its name (bsg-lib.h in 7.2.13).
	for lines in '^+' '^[+ ]'; do
		for h in "${hs[@]}"; do
			id=$(names_missed "$h" "$lines") || continue
			want+=("$h")
			why+=("missed:$id")
		done
		[ ${#want[@]} = 0 ] || break
	done
	# A changed interface: the other C files of the fix whose changes use
	# what the compiler missed (the callers of bsg_setup_queue(), which
	# klp-build's tree compiles with the changed header).
	while read -r f; do
		case $f in *.c) ;; *) continue ;; esac
		grep -qxF -- "--- a/$f" "$from" && continue
		id=$(names_missed "$f" '^[-+ ]') || continue
		want+=("$f")
		why+=("uses:$id")
	done <"$out/changed-files"
	if [ ${#want[@]} = 0 ]; then
		want=("${hs[@]}")
		for h in "${hs[@]}"; do why+=(all); done
	fi
	[ ${#want[@]} -gt 0 ] || return 1
	mkdir -p "$(dirname "$diff")" "$(dirname "$record")" || return 1
	[ "$from" = "$diff" ] || cp "$from" "$diff" || return 1
	for i in "${!want[@]}"; do
		h=${want[$i]}
		file_diff "$old" "$new" "$h" >>"$diff"
		echo "$p $h ${why[$i]}" >>"$record"
		n=$((n + 1))
	done
	[ $n -gt 0 ]
}

# compile_failed LOG: the compiler refused a C file in LOG (GCC's
# "FILE.c:LINE:COL: error: ..."): a fix that may need its headers, not a
# refusal of the tool's own.
compile_failed() {
	grep -qE '^[^ :]+\.[ch]:[0-9]+:([0-9]+:)? error: ' "$1"
}

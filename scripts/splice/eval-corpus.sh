#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The evaluation corpus: per-file diffs between two Debian linux-source-7.2
# versions, kept when the file is compiled in the built tree's config.
#
#   eval-corpus.sh BASE NEXT OUT
#
# BASE and NEXT are kernel versions (7.2.12) or Debian versions of
# linux-source-7.2 (7.2.11-1~bpo13+1); apt.sh's deb_resolve picks the
# Debian version of a kernel version.
#
# Extracts both source packages whole (once, into $SPLICE_BUILD/sources/
# tree-VERSION), lists the files that differ, and for each C file whose
# object exists in $KERNEL_TREE (built from BASE) writes OUT/patches/NAME.diff
# (NAME: the path with / as -); files one fix ties together (a function one
# adds and another calls) are one patch, A__B (eval-group.py). OUT/corpus.json
# records, for every changed file, whether it is built, its patch, why it was
# grouped, its hunks, and the upstream subjects of NEXT's Debian changelog
# that name it (by the "subsystem:" prefix matching the file's name or
# directory).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apt.sh"

base=${1:?usage: eval-corpus.sh BASE NEXT OUT}
next=${2:?usage: eval-corpus.sh BASE NEXT OUT}
out=${3:?usage: eval-corpus.sh BASE NEXT OUT}
src=$SPLICE_BUILD/sources
mkdir -p "$src"

tree_of() {
	local v=$1 t=$src/tree-$1
	if [ ! -f "$t/.splice-extracted" ]; then
		rm -rf "$t"
		# fetch-kernel.sh checks the package and extracts it.
		SPLICE_PRISTINE=1 KERNEL_VERSION=${v%%-*} KERNEL_DEB_VERSION=$v \
			"$SPLICE_SRC/scripts/splice/fetch-kernel.sh" "$t" >&2 ||
			die "cannot fetch linux-source-7.2 $v"
		touch "$t/.splice-extracted"
	fi
	echo "$t"
}
base=$(deb_resolve "$base")
next=$(deb_resolve "$next")
deb=$DEBDIR/linux-source-7.2_${next}_all.deb
bt=$(tree_of "$base")
nt=$(tree_of "$next")

rm -rf "$out/patches"
mkdir -p "$out/patches"
changelog_subjects "$deb" "$base" >"$out/changelog"

# Source files only: no build output, no Debian or splice bookkeeping.
(cd "$SPLICE_BUILD" && diff -rq "$bt" "$nt" 2>/dev/null || true) |
	sed -n "s|^Files $bt/\\(.*\\) and $nt/.* differ\$|\\1|p" |
	grep -vE '(^|/)\.|\.(o|cmd|ko|mod|a|order|symvers)$|^(debian|\.splice)/' |
	LC_ALL=C sort >"$out/changed-files"
say "$(wc -l <"$out/changed-files") files differ between $base and $next"

# Each built C file's own diff, and nothing else: a changed header goes with a
# file only when the file does not compile without it, which eval.sh finds by
# compiling it (with_headers, recorded in OUT/splice/headers-used with the
# identifiers the compiler missed). Headers named like the file or its
# directory used to be attached up front; over several point releases that
# glued other fixes' layout changes (struct mm_struct) onto unrelated files.
: >"$out/kernel-objects"
: >"$out/host-objects"
while read -r f; do
	case $f in *.c) ;; *) continue ;; esac
	o=${f%.c}.o
	[ -f "$KERNEL_TREE/$o" ] || continue
	cmd=$KERNEL_TREE/$(dirname "$o")/.$(basename "$o").cmd
	# Code of the kernel only: the objects of host programs (scripts/sorttable,
	# tools/objtool) are built for the build machine, without -D__KERNEL__.
	if ! grep -q -- '-D__KERNEL__' "$cmd" 2>/dev/null; then
		echo "$f" >>"$out/host-objects"
		continue
	fi
	echo "$f" >>"$out/kernel-objects"
	name=$(echo "${f%.c}" | tr / -)
	file_diff "$bt" "$nt" "$f" >"$out/patches/$name.diff"
done <"$out/changed-files"

python3 "$SPLICE_SRC/scripts/splice/eval-group.py" "$out/patches" >"$out/groups" ||
	die "grouping the corpus's files failed"
[ -s "$out/groups" ] && say "grouped: $(cut -f1 "$out/groups" | tr '\n' ' ')"

python3 - "$out" "$KERNEL_TREE" <<'PY'
import json, os, re, sys
out, tree = sys.argv[1], sys.argv[2]
subjects = [l.strip() for l in open(os.path.join(out, "changelog")) if ":" in l]
kernel_objects = set(open(os.path.join(out, "kernel-objects")).read().split())
host_objects = open(os.path.join(out, "host-objects")).read().split()
# group name -> (member patch names, why), from eval-group.py
groups = {}
for l in open(os.path.join(out, "groups")):
    g, members, why = l.rstrip("\n").split("\t")
    groups[g] = (members.split(), why)
group_of = {m: (g, why) for g, (ms, why) in groups.items() for m in ms}
rows = []
for f in open(os.path.join(out, "changed-files")).read().split():
    name = f.rsplit(".", 1)[0].replace("/", "-")
    grouped = group_of.get(name)
    if grouped:
        name = grouped[0]
    diff = os.path.join(out, "patches", name + ".diff")
    built = f in kernel_objects
    stem = os.path.basename(f).rsplit(".", 1)[0].lower()
    parts = f.lower().split("/")
    generic = stem in ("core", "main", "super", "file", "inode", "ops", "init", "util")
    keys = {"/".join(parts[-2:]).rsplit(".", 1)[0]}
    keys.add(parts[-2] if generic and len(parts) > 1 else stem)
    def names(s):
        p = s.split(":")[0].strip().lower()
        return p in keys or (not generic and p.endswith("/" + stem))
    named = [s for s in subjects if names(s)]
    hunks = sum(1 for l in open(diff) if l.startswith("@@")) if os.path.exists(diff) else None
    rows.append({"file": f, "built": built, "patch": name if built else None,
                 "group": grouped[1] if grouped else None, "hunks": hunks, "subjects": named})
json.dump(rows, open(os.path.join(out, "corpus.json"), "w"), indent=1)
kept = [r for r in rows if r["built"]]
print("[eval-corpus] %d changed files, %d C files built in this config: %s" %
      (len(rows), len(kept), " ".join(sorted({r["patch"] for r in kept}))))
if host_objects:
    print("[eval-corpus] left out, as host programs (no -D__KERNEL__): %s" % " ".join(host_objects))
PY

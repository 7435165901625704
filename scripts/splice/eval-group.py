#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""eval-group.py PATCHES: the files of the evaluation corpus that one fix ties
together, made one patch.

PATCHES holds one diff per changed C file (eval-corpus.sh). When a file's diff
adds a function that is not static and another file's diff adds a call of it
(ext4's fix: extents_status.c adds ext4_es_destroy_stats(), super.c calls it),
neither compiles into a pack that can be applied alone: each would name a
function the running kernel does not have. Such files are grouped, transitively,
into one patch named A__B (their names, sorted, joined by two underscores: a
pack's name has letters, digits, "-" and "_" only), whose diff is theirs
concatenated; their own diffs are removed. Prints one line per group:
NAME, TAB, the member patches separated by spaces, TAB, why.
"""

import os
import re
import sys

# A definition's first line in kernel style: at column 0, a type, the name, "(",
# and no ";" (a prototype) on the line.
DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;]*$")
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "defined", "typeof"}


def lines_of(diff, sign):
    """The added (sign "+") or removed ("-") lines of a unified diff."""
    header = sign * 3 + " "
    return [l[1:] for l in diff.splitlines() if l.startswith(sign) and not l.startswith(header)]


def new_functions(diff):
    """Functions (not static) the diff defines that the old file did not."""
    def defined(lines):
        return {m.group(1) for l in lines if (m := DEFINITION.match(l))}
    return defined(lines_of(diff, "+")) - defined(lines_of(diff, "-"))


def new_calls(diff):
    """Names the diff's added lines call (definitions' own names left out)."""
    out = set()
    for l in lines_of(diff, "+"):
        own = DEFINITION.match(l)
        for m in CALL.finditer(l):
            if own and m.start(1) == own.start(1):
                continue
            if m.group(1) not in KEYWORDS:
                out.add(m.group(1))
    return out


def main(patches):
    names = sorted(f[:-5] for f in os.listdir(patches) if f.endswith(".diff"))
    diffs = {n: open(os.path.join(patches, n + ".diff")).read() for n in names}
    adds = {n: new_functions(d) for n, d in diffs.items()}
    calls = {n: new_calls(d) for n, d in diffs.items()}
    parent = {n: n for n in names}

    def find(n):
        while parent[n] != n:
            n = parent[n]
        return n

    why = {}
    for b in names:
        for a in names:
            if a == b:
                continue
            for fn in sorted(adds[a] & calls[b]):
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[rb] = ra
                why.setdefault(a, []).append(f"{a} adds {fn}(), which {b} calls")
    groups = {}
    for n in names:
        groups.setdefault(find(n), []).append(n)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort()
        name = "__".join(members)
        with open(os.path.join(patches, name + ".diff"), "w") as f:
            for m in members:
                f.write(diffs[m])
        for m in members:
            os.remove(os.path.join(patches, m + ".diff"))
        reasons = [r for m in members for r in why.get(m, [])]
        print(f"{name}\t{' '.join(members)}\t{'; '.join(reasons)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

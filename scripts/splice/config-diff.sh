#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# config-diff.sh BASE_CONFIG DOTCONFIG FRAGMENT...
#
# Every option whose value in DOTCONFIG differs from BASE_CONFIG (Debian's),
# one line each, with the reason: the comment above the option in the
# fragment that sets it, or, for an option no fragment names, that Kconfig
# derived it from those that are named. Options only one side knows (new
# symbols such as SPLICE) are listed too.
set -euo pipefail
exec python3 - "$@" <<'PY'
import re, sys

def values(path):
    v = {}
    for line in open(path):
        m = re.match(r'^(CONFIG_\w+)=(.*)$', line)
        if m:
            v[m.group(1)] = m.group(2)
            continue
        m = re.match(r'^# (CONFIG_\w+) is not set$', line)
        if m:
            v[m.group(1)] = 'n'
    return v

base, dot, frags = values(sys.argv[1]), values(sys.argv[2]), sys.argv[3:]
reason = {}
for f in frags:
    comment = []
    for line in open(f):
        line = line.rstrip('\n')
        if line.startswith('# CONFIG_') and line.endswith(' is not set'):
            reason[line[2:].split()[0]] = ' '.join(comment) or f
        elif line.startswith('#'):
            comment.append(line.lstrip('# ').strip())
        elif line.startswith('CONFIG_'):
            reason[line.split('=')[0]] = ' '.join(comment) or f
        else:
            comment = []
# Non-user "text" symbols the toolchain sets are compared by config.sh itself.
skip = {'CONFIG_CC_VERSION_TEXT', 'CONFIG_RUSTC_VERSION_TEXT', 'CONFIG_BINDGEN_VERSION_TEXT'}
diffs = []
for k in sorted(set(base) | set(dot)):
    a, b = base.get(k, 'unset'), dot.get(k, 'unset')
    if a.replace('unset', 'n') != b.replace('unset', 'n') and k not in skip:
        diffs.append((k, a, b))
named = [d for d in diffs if d[0] in reason]
derived = [d for d in diffs if d[0] not in reason]
print(f"{len(diffs)} option(s) differ from Debian's configuration "
      f"({len(named)} set by splice's fragment, {len(derived)} derived from them by Kconfig):")
for k, a, b in named:
    print(f"  {k}: Debian {a}, here {b}: {reason[k]}")
for k, a, b in derived:
    print(f"  {k}: Debian {a}, here {b}: derived by Kconfig from the options above")
for k in skip:
    if base.get(k) != dot.get(k):
        print(f"  {k}: Debian {base.get(k)}, here {dot.get(k)} (the toolchain)")
PY

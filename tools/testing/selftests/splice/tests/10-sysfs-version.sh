#!/bin/sh
# /sys/kernel/splice/version exists, is read-only and holds a version number.
f=/sys/kernel/splice/version
[ -d /sys/kernel/splice ] || { echo "no /sys/kernel/splice (CONFIG_SPLICE missing?)"; exit 1; }
[ -r "$f" ] || { echo "$f missing"; exit 1; }
v=$(cat "$f") || exit 1
echo "version: $v"
echo "$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' || { echo "not a version: '$v'"; exit 1; }
mode=$(stat -c %a "$f")
[ "$mode" = 444 ] || { echo "mode $mode, expected 444"; exit 1; }
if echo 9.9.9 2>/dev/null >"$f"; then
	echo "writing $f succeeded"
	exit 1
fi
[ "$(cat "$f")" = "$v" ] || { echo "version changed after a write"; exit 1; }

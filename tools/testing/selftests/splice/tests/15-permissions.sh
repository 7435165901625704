#!/bin/sh
# Who may act: writing a pack's stage or a tunable changes running code, so it
# needs CAP_SYS_MODULE in the initial user namespace, as loading a module does.
# Root of a user namespace (the same uid 0, which the file modes let through,
# but no capability of the machine) is refused with EPERM and changes nothing;
# the file modes keep unprivileged users from writing, and from reading the
# addresses (targets, conflicts).
. "$(dirname "$0")/../lib.sh"
use_pack target-value
command -v unshare >/dev/null || fail "no unshare in the guest"
[ -e /proc/self/ns/user ] || { echo "SKIP: no user namespaces (CONFIG_USER_NS)"; exit 4; }
load

# as_ns_root CMD: run CMD as root of a new user namespace.
as_ns_root() { unshare -r sh -c "$1" 2>/tmp/perm.err; }

as_ns_root "echo check >$d/stage" && fail "root of a user namespace could write stage"
grep -q "Operation not permitted" /tmp/perm.err || fail "stage write: '$(cat /tmp/perm.err)', expected EPERM"
stage_is loaded
for t in tries retry_delay_ms park; do
	f=/sys/kernel/splice/$t
	v=$(cat $f)
	as_ns_root "echo 1 >$f" && fail "root of a user namespace could write $t"
	[ "$(cat $f)" = "$v" ] || fail "$t changed from $v to $(cat $f)"
done
# An unprivileged user: the modes let nobody but root write, nor read addresses.
for f in stage:600 targets:400 conflicts:400 abort_cause:400; do
	m=$(stat -c %a "$d/${f%%:*}")
	[ "$m" = "${f#*:}" ] || fail "$d/${f%%:*}: mode $m, expected ${f#*:}"
	[ "$(stat -c %u "$d/${f%%:*}")" = 0 ] || fail "$d/${f%%:*} is not owned by root"
done
stage_is loaded

# Root of the machine still acts.
act check
act apply
act reverse
unload
echo "ok: stage and tunables need CAP_SYS_MODULE"

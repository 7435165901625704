#!/bin/sh
# Who may act: writing a pack's stage or a tunable changes running code, so it
# needs CAP_SYS_MODULE in the initial user namespace, as loading a module does.
# Root without it (uid 0, which the file modes let through: a container's
# root, or a service with its capabilities bounded) is refused with EPERM and
# changes nothing; the file modes keep unprivileged users from writing, and
# from reading the addresses (targets, conflicts).
. "$(dirname "$0")/../lib.sh"
use_pack target-value
probe=$(command -v splice-probe) || fail "no splice-probe in the guest"
load

# as_bounded_root CMD: run CMD as root without CAP_SYS_MODULE.
as_bounded_root() { $probe without-cap-sys-module sh -c "$1" 2>/tmp/perm.err; }
eff=$(as_bounded_root "awk '/^CapEff:/ { print \$2 }' /proc/self/status")
[ -n "$eff" ] && [ $(( (0x$eff >> 16) & 1 )) = 0 ] ||
	fail "the command still has CAP_SYS_MODULE (CapEff $eff): the test shows nothing"

as_bounded_root "echo check >$d/stage" && fail "root without CAP_SYS_MODULE could write stage"
grep -q "Operation not permitted" /tmp/perm.err || fail "stage write: '$(cat /tmp/perm.err)', expected EPERM"
stage_is loaded
for t in tries retry_delay_ms park; do
	f=/sys/kernel/splice/$t
	v=$(cat $f)
	as_bounded_root "echo 1 >$f" && fail "root without CAP_SYS_MODULE could write $t"
	[ "$(cat $f)" = "$v" ] || fail "$t changed from $v to $(cat $f)"
done
f=/sys/kernel/splice/refuse_mismatched_modules
as_bounded_root "echo 0 >$f" && fail "root without CAP_SYS_MODULE could write refuse_mismatched_modules"
is $f 1
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

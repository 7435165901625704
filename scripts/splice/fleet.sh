#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The fleet tests (make check-fleet): packs as Debian packages on a real
# Debian guest (debian-guest.sh) booted on the Debian-configuration kernel.
#
#   1. apt install ./splice-pack-target-value_*.deb: the fix is in force;
#   2. reboot: splice.service applies it again at boot;
#   3. apt remove: the fix is gone, the pack unloaded;
#   4. a pack whose apply crashes the kernel (splice_target.crash_hook=pre-apply
#      on the command line, a test hook): the boot after the crash applies
#      nothing, and splice.service says why;
#   5. the Ansible rollout (tools/splice/ansible/rollout.yml) on two fresh
#      guests, one host per batch: a pack that does not fit stops it at the
#      first host (the second never gets it); one that fits is applied on both.
#
# Prints "ok - ..." / "not ok - ..." and ends with "fleet: N passed, N failed".
. "$(dirname "$0")/lib.sh"
[ "$SPLICE_CONFIG" = debian ] || die "the fleet tests run on the Debian configuration (SPLICE_CONFIG=debian)"

base=$SPLICE_BUILD/fleet/base
g=$SPLICE_BUILD/fleet/a
guest=$(dirname "$0")/debian-guest.sh
port=${FLEET_PORT:-10022}
ansible=$SPLICE_CACHE/ansible-venv/bin/ansible-playbook
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
on() { "$guest" ssh "$g" "$@"; }
value() { on cat /sys/kernel/splice_target/value; }
finish() {
	"$guest" stop "$g" || true
	echo "fleet: $pass passed, $fail failed"
	[ "$fail" = 0 ]
}
trap 'echo "fleet: $pass passed, $((fail + 1)) failed (stopped early)"; "$guest" stop "$g" >/dev/null 2>&1' ERR

debs=$SPLICE_BUILD/fleet-debs
rm -rf "$debs"
mkdir -p "$debs"
for p in target_value target_hooks target_other_source; do
	"$SPLICE_TOOLS/splice" package "$SPLICE_BUILD/guest/packs/splice_$p.ko" -o "$debs" \
		--maintainer "splice fleet test <fleet@splice.invalid>" >/dev/null ||
		die "splice package splice_$p.ko failed"
done
value_deb=$(ls "$debs"/splice-pack-target-value_*.deb)
hooks_deb=$(ls "$debs"/splice-pack-target-hooks_*.deb)
other_deb=$(ls "$debs"/splice-pack-target-other-source_*.deb)

# A fresh copy of the guest's disk for each guest.
fresh() {
	rm -rf "$1"
	mkdir -p "$1"
	cp --sparse=always "$base/disk.img" "$1/"
	cp "$base/initrd.gz" "$base/id" "$base/id.pub" "$1/"
}
t0=$(date +%s)
"$guest" image "$base"
say "the guest's disk made in $(($(date +%s) - t0)) s"
fresh "$g"
t0=$(date +%s)
"$guest" start "$g" "$port"
say "the Debian guest answers over ssh after $(($(date +%s) - t0)) s"
trap - ERR

[ "$(value)" = 42 ] && ok "the guest runs the kernel's own code (value 42)" ||
	notok "value before any pack: $(value)"

# 1. Installed with apt: applied at once.
scp -q -i "$g/id" -P "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	"$value_deb" "$hooks_deb" root@127.0.0.1:/root/
if on "apt-get install -y /root/$(basename "$value_deb")" >"$g/apt-install.log" 2>&1; then
	ok "apt install ./$(basename "$value_deb")"
else
	notok "apt install ./$(basename "$value_deb") (log: $g/apt-install.log)"
fi
[ "$(value)" = 63 ] && ok "installed: the fix is in force (value 63)" || notok "installed: value $(value)"
on "dpkg -s splice-pack-target-value | grep -q '^Status: install ok installed'" &&
	ok "dpkg: the package is installed, configured" || notok "dpkg: the package is not configured"

# 2. Reboot: splice.service applies it again.
boot_id=$(on cat /proc/sys/kernel/random/boot_id)
on reboot || true
t0=$(date +%s)
while sleep 5; do
	[ $(($(date +%s) - t0)) -le 600 ] || die "the guest did not come back from its reboot (console: $g/console.log)"
	id=$(on cat /proc/sys/kernel/random/boot_id 2>/dev/null) || continue
	[ "$id" != "$boot_id" ] && break
done
say "the guest rebooted in $(($(date +%s) - t0)) s"
[ "$(value)" = 63 ] && ok "after a reboot splice.service applied the pack again (value 63)" ||
	notok "after a reboot: value $(value)"
on "systemctl is-active splice.service" | grep -qx active &&
	ok "splice.service is active" || notok "splice.service: $(on systemctl status splice.service | head -5)"
on "journalctl -b -u splice.service" | grep -q "target-value" &&
	ok "the journal names the pack splice.service applied" ||
	notok "the journal of splice.service does not name target-value"

# 3. Removed with apt: reversed and unloaded.
if on "apt-get remove -y splice-pack-target-value" >"$g/apt-remove.log" 2>&1; then
	ok "apt remove splice-pack-target-value"
else
	notok "apt remove splice-pack-target-value (log: $g/apt-remove.log)"
fi
[ "$(value)" = 42 ] && ok "removed: the kernel's own code again (value 42)" || notok "removed: value $(value)"
on "test ! -d /sys/kernel/splice/target-value" && ok "removed: the pack is unloaded" ||
	notok "removed: /sys/kernel/splice/target-value is still there"

# 4. A crash while applying at boot: the next boot applies nothing, and says why.
on "apt-get install -y /root/$(basename "$hooks_deb")" >"$g/apt-hooks.log" 2>&1 &&
	on "test \"\$(cat /sys/kernel/splice/target-hooks/stage)\" = applied" &&
	ok "the hooks pack installed and applied" || notok "the hooks pack (log: $g/apt-hooks.log)"
"$guest" stop "$g"
GUEST_APPEND="splice_target.crash_hook=pre-apply" "$guest" boot "$g" "$port"
t0=$(date +%s)
"$guest" wait "$g"
say "the guest came back after the crash in $(($(date +%s) - t0)) s"
grep -q "splice_target: a pre-apply hook crashed" "$g/console.log" &&
	ok "the kernel crashed in the pack's apply hook at boot" ||
	notok "no crash in the console (console: $g/console.log)"
on "test -d /sys/kernel/splice/target-hooks && cat /sys/kernel/splice/target-hooks/stage" | grep -qx applied &&
	notok "the boot after the crash applied the pack again" ||
	ok "the boot after the crash did not apply the pack"
on "journalctl -b -u splice.service" | grep -q "a boot stopped while applying" &&
	ok "splice.service says a boot stopped while applying" ||
	notok "splice.service does not say why it applied nothing: $(on journalctl -b -u splice.service | tail -3)"
"$guest" stop "$g"

# 5. Ansible, on two fresh guests.
if [ ! -x "$ansible" ]; then
	say "installing ansible-core (PyPI) into $SPLICE_CACHE/ansible-venv"
	python3 -m venv "$SPLICE_CACHE/ansible-venv" &&
		"$SPLICE_CACHE/ansible-venv/bin/pip" install -q ansible-core >"$SPLICE_LOGS/ansible-install.log" 2>&1 ||
		die "cannot install ansible-core (log: $SPLICE_LOGS/ansible-install.log)"
fi
b=$SPLICE_BUILD/fleet/b
fresh "$g"
fresh "$b"
"$guest" boot "$g" "$port"
"$guest" boot "$b" $((port + 1))
"$guest" wait "$g"
"$guest" wait "$b"
inv=$SPLICE_BUILD/fleet/hosts
{
	echo "[guests]"
	for h in a b; do
		echo "$h ansible_host=127.0.0.1 ansible_port=$(cat "$SPLICE_BUILD/fleet/$h/port") ansible_user=root ansible_ssh_private_key_file=$base/id ansible_python_interpreter=/usr/bin/python3"
	done
	echo "[guests:vars]"
	echo "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
} >"$inv"
play() {
	ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PYTHON_INTERPRETER=auto_silent \
		"$ansible" -i "$inv" "$SPLICE_SRC/tools/splice/ansible/rollout.yml" \
		-e splice_pack_deb="$1" -e '{"splice_batches": [1, 1]}' >"$2" 2>&1
}
if play "$other_deb" "$SPLICE_BUILD/fleet/ansible-other.log"; then
	notok "the rollout of a pack that does not fit succeeded (log: $SPLICE_BUILD/fleet/ansible-other.log)"
else
	grep -q "rollout stopped here" "$SPLICE_BUILD/fleet/ansible-other.log" &&
		ok "ansible: a pack that does not fit stopped the rollout at the first host, naming it" ||
		notok "ansible failed without naming the host (log: $SPLICE_BUILD/fleet/ansible-other.log)"
fi
"$guest" ssh "$b" "dpkg -s splice-pack-target-other-source" >/dev/null 2>&1 &&
	notok "ansible: the second host got the pack after the first failed" ||
	ok "ansible: the second host was never given the pack that failed on the first"
if play "$value_deb" "$SPLICE_BUILD/fleet/ansible-value.log"; then
	ok "ansible: target-value rolled out in two batches"
else
	notok "ansible: the rollout of target-value failed (log: $SPLICE_BUILD/fleet/ansible-value.log)"
fi
for h in "$g" "$b"; do
	v=$("$guest" ssh "$h" cat /sys/kernel/splice_target/value)
	[ "$v" = 63 ] && ok "ansible: $(basename "$h") runs the fix (value 63)" ||
		notok "ansible: $(basename "$h") value $v"
done
"$guest" stop "$b"
finish

#!/bin/sh
# A pack for noinstr code: splice_target_noinstr() is noinstr, like the C side
# of exception and NMI entry. Its replacement must lie in the pack module's
# .noinstr.text (which the module loader records and kprobes leave alone);
# apply changes what it returns, reverse restores it.
. "$(dirname "$0")/../lib.sh"
use_pack target-noinstr
is $target/noinstr_value 144
load
act check
act apply
is $target/noinstr_value 150
line=$(grep "^splice_target_noinstr " $d/targets) || fail "targets: $(cat $d/targets)"
set -- $line
repl=${3#0x}
[ "$4" = applied ] || fail "target state: $line"
# The replacement is at or after the start of the module's .noinstr.text and
# before the next section that starts after it.
sections=/sys/module/$(basename "$ko" .ko)/sections
[ -f "$sections/.noinstr.text" ] || fail "the pack module has no .noinstr.text: $(ls -a $sections)"
start=$(cat "$sections/.noinstr.text")
start=${start#0x}
case $start in *[1-9a-f]*) ;; *) fail "section addresses are hidden (kptr_restrict): $start" ;; esac
next=ffffffffffffffff
for s in "$sections"/.* "$sections"/*; do
	[ -f "$s" ] || continue
	a=$(cat "$s")
	a=${a#0x}
	expr "$a" \> "$start" >/dev/null && expr "$a" \< "$next" >/dev/null && next=$a
done
expr "$repl" \>= "$start" >/dev/null && expr "$repl" \< "$next" >/dev/null ||
	fail "replacement at $repl, outside .noinstr.text ($start to $next)"
act reverse
is $target/noinstr_value 144
act apply
is $target/noinstr_value 150
act reverse
is $target/noinstr_value 144
unload
echo "ok: noinstr target replaced from .noinstr.text ($start..$next holds $repl), reversed twice"

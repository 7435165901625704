#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host test of scripts/splice/overlay.sh on a small fake kernel tree: copying,
# idempotence, changed and removed patches and files, and its refusals.
set -uo pipefail
real_src=$(cd "$(dirname "$0")/../../../../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
. "$(dirname "$0")/lib.sh"

src=$t/src
tree=$t/tree
mkdir -p "$src/scripts/splice/patches" "$src/kernel/splice" "$tree/kernel"
cp "$real_src/scripts/splice/lib.sh" "$real_src/scripts/splice/overlay.sh" "$src/scripts/splice/"
echo "obj-y += splice.o" >"$src/kernel/splice/Makefile"
printf 'all:\n' >"$tree/Makefile"
printf 'obj-y += a/\nobj-y += b/\n' >"$tree/kernel/Makefile"
mkpatch() { # mkpatch NAME NEWLINE: a patch adding NEWLINE after "obj-y += a/"
	cat >"$src/scripts/splice/patches/$1" <<P
test patch

--- a/kernel/Makefile
+++ b/kernel/Makefile
@@ -1,2 +1,3 @@
 obj-y += a/
+$2
 obj-y += b/
P
}
mkpatch 0001-hook.patch 'obj-y += splice/'
ov() { SPLICE_SRC=$src SPLICE_BUILD=$t/build KERNEL_TREE=$tree "$src/scripts/splice/overlay.sh" "$@" >"$t/out" 2>&1; }

ov
check "first run succeeds" test $? -eq 0
check "files are copied" cmp -s "$src/kernel/splice/Makefile" "$tree/kernel/splice/Makefile"
check "patch is applied" grep -qx 'obj-y += splice/' "$tree/kernel/Makefile"

touch -d '2000-01-01' "$tree/kernel/splice/Makefile" "$tree/kernel/Makefile"
ov
check "second run succeeds" test $? -eq 0
check "second run copies nothing" grep -q '0 file(s) updated' "$t/out"
check "second run touches nothing" test -z "$(find "$tree/kernel" -newermt '2001-01-01' -type f)"
check "patch applied once" test "$(grep -c 'splice/' "$tree/kernel/Makefile")" -eq 1

mkpatch 0001-hook.patch 'obj-y += splice2/'
ov
check "changed patch is re-applied" grep -qx 'obj-y += splice2/' "$tree/kernel/Makefile"
check "old version is reversed" test "$(grep -c 'splice' "$tree/kernel/Makefile")" -eq 1

rm "$src/kernel/splice/Makefile"
echo x >"$src/kernel/splice/other.rs"
ov
check "removed file leaves the tree" test ! -e "$tree/kernel/splice/Makefile"
check "new file arrives" test -f "$tree/kernel/splice/other.rs"

mkdir -p "$src/kernel"
cp "$tree/kernel/Makefile" "$src/kernel/Makefile"
ov
rc=$?
check "refuses to replace a kernel file" test $rc -ne 0
check "names the file" grep -q 'kernel/Makefile would replace a file of the kernel tree' "$t/out"
rm "$src/kernel/Makefile"

cat >"$src/scripts/splice/patches/0002-stale.patch" <<'P'
--- a/kernel/Makefile
+++ b/kernel/Makefile
@@ -1,2 +1,3 @@
 obj-y += nothere/
+obj-y += never/
 obj-y += b/
P
cp "$tree/kernel/Makefile" "$t/before"
ov
rc=$?
check "a patch that does not apply fails" test $rc -ne 0
check "names the patch" grep -q 'patch 0002-stale.patch does not apply' "$t/out"
check "failed patch changes nothing" cmp -s "$t/before" "$tree/kernel/Makefile"
rm "$src/scripts/splice/patches/0002-stale.patch"

# Backports: applied where they apply, skipped where the release has them,
# refused otherwise.
mkdir -p "$src/scripts/splice/patches/backports" "$tree/rust"
printf 'line one\nline two\n' >"$tree/rust/lib.rs"
cat >"$src/scripts/splice/patches/backports/0001-fix.patch" <<'P'
a later release's fix

--- a/rust/lib.rs
+++ b/rust/lib.rs
@@ -1,2 +1,3 @@
 line one
+#[allow(fixed)]
 line two
P
ov
check "a backport is applied where it applies" grep -qx '#\[allow(fixed)\]' "$tree/rust/lib.rs"
check "... and said so" grep -q 'backported 0001-fix.patch' "$t/out"
ov
check "... once" test "$(grep -c 'allow(fixed)' "$tree/rust/lib.rs")" -eq 1
rm -f "$tree/.splice/backports/0001-fix.patch"
ov
check "a release that has the fix skips it" grep -q 'has 0001-fix.patch already' "$t/out"
printf 'something else\n' >"$tree/rust/lib.rs"
rm -f "$tree/.splice/backports/0001-fix.patch"
ov
rc=$?
check "a backport that neither applies nor is in the release fails" test $rc -ne 0
check "... naming it" grep -q 'backport 0001-fix.patch neither applies' "$t/out"

finish overlay

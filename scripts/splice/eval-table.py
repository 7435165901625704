#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The evaluation table (scripts/splice/eval.sh, step 5).

eval-table.py OUT BASE NEXT PATCH...: reads OUT/corpus.json, OUT/splice/
(outcomes, hand-outcomes, logs), OUT/guest.log, OUT/klp/outcomes and OUT/klp-guest.log, writes OUT/results.json
and OUT/results.md, prints the totals. Exits 1 if splice has bugs (a crash, a
stage failing after the pack was made from the exact source, a reverse or
unload that fails).
"""
import json
import os
import re
import statistics
import sys

out, base, nxt, patches = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

REFUSALS = [
    ("init code", r"__init or __exit code|boot-time tables change"),
    ("boot- or load-time table", r"tables the kernel gathers"),
    ("idle or entry code", r"idle or entry code"),
    ("data change", r"existing data object changes|layout changes"),
    ("asm", r"assembly file"),
    ("new object", r"adds a new object file"),
    ("no functional change", r"no functional change"),
    ("build system", r"build system change"),
    ("unsupported: unexported jump label key", r"entry refers to .* not exported"),
    ("unsupported: shared section", r"shares its section|named section"),
    ("does not compile (even with the changed headers it includes)", r"compiling .* failed"),
    ("its headers rebuild too much of the kernel (not finished in time)", r"not finished after"),
]


def read_lines(path):
    return open(path).read().split("\n") if os.path.exists(path) else []


# The corpus by patch: a grouped patch (eval-group.py) has several files.
corpus = {}
for r in json.load(open(os.path.join(out, "corpus.json"))):
    if r["patch"]:
        c = corpus.setdefault(r["patch"], dict(r, files=[], subjects=[], hunks=0))
        c["files"].append(r["file"])
        c["subjects"] += [x for x in r.get("subjects", []) if x not in c["subjects"]]
        c["hunks"] += r.get("hunks") or 0


def read_headers_used(path):
    """The headers each patch was compiled with, and what pulled each in (eval-headers.sh)."""
    used = {}
    for line in read_lines(path):
        f = line.split()
        if len(f) == 3:
            used.setdefault(f[0], []).append({"header": f[1], "why": f[2]})
    return used


def headers_text(headers):
    def one(h):
        why, _, name = h["why"].partition(":")
        return h["header"] + {"all": "", "uses": f" (which uses {name})"}.get(why, f" for {name}")
    return "with the headers it does not compile without: " + ", ".join(one(h) for h in headers)


headers_used = read_headers_used(os.path.join(out, "splice", "headers-used"))
# Those klp-build was given when splice had refused the fix before compiling it (step 4).
klp_headers_used = read_headers_used(os.path.join(out, "klp", "headers-used"))
made = {}
for line in read_lines(os.path.join(out, "splice", "outcomes")):
    if line.strip():
        f = line.split()
        made[f[0]] = (f[1], float(f[2]), f[3] if len(f) > 3 else "alone")
# Hand work (eval.sh, step 2b): P -> (pack or refused, seconds, [covered patches]).
hand_made = {}
for line in read_lines(os.path.join(out, "splice", "hand-outcomes")):
    if line.strip():
        f = line.split()
        hand_made[f[0]] = (f[1], float(f[2]), f[3].split(",") if len(f) > 3 else [])


def why_lines(log):
    """The "evalwhy NAME TEXT" lines of a guest log: why a case's targets are unreached."""
    out_ = {}
    for line in read_lines(os.path.join(out, log)):
        if line.startswith("evalwhy "):
            _, name, text = line.split(" ", 2)
            out_[name] = text
    return out_


unreached_why = why_lines("guest.log")


def guest_lines(log, tag):
    """The "TAG NAME key=value..." lines of a guest log, by NAME; and whether it ended."""
    rows, lines = {}, read_lines(os.path.join(out, log))
    for line in lines:
        if line.startswith(tag + " ") and "=" in line:
            f = line.split()
            rows[f[1]] = dict(kv.split("=", 1) for kv in f[2:])
    return rows, any(l.startswith("eval: done") for l in lines)


guest, guest_ran = guest_lines("guest.log", "eval")
# The guest run's exit status (eval.sh): vm.sh fails a guest that did not finish or whose
# kernel log has trouble (a warning, KFENCE, UBSAN, a hung task) that no pack's line shows.
guest_status = (read_lines(os.path.join(out, "guest.status")) or [""])[0].strip()
klp_guest, klp_guest_ran = guest_lines("klp-guest.log", "klp")
klp = {}
for line in read_lines(os.path.join(out, "klp", "outcomes")):
    if line.strip():
        # P STATUS SECONDS MODE [DIFF]: DIFF alone, headers (splice's) or klp-headers.
        p, st, secs, mode, *used = line.split()
        klp[p] = (st, float(secs), mode, used[0] if used else "alone")


def refusal(p):
    """The class and message of splice-create's refusal of P (a pack name: P-hand too)."""
    log = read_lines(os.path.join(out, "splice", p + ".log"))
    msg = next((l[len("splice-create: "):] for l in reversed(log) if l.startswith("splice-create: ")), "")
    # A replacement that is not the code of an ordinary build (equiv.rs): a bug, whatever
    # words its message holds.
    if msg.startswith("generator bug:"):
        return "generator error", msg
    for cls, rx in REFUSALS:
        if re.search(rx, msg):
            return cls, msg
    return "generator error", msg or "no message"


STAGES = ["load", "check", "apply", "smoke", "reverse", "unload"]


def pack_outcome(name, st, secs):
    """What became of pack NAME (splice-create said ST in SECS s): made and run in the guest."""
    s = {"build_s": round(secs, 2)}
    if st == "refused":
        cls, msg = refusal(name)
        s.update(outcome="refused", reason=cls, message=msg, bug=cls == "generator error")
    elif st == "pack":
        g = guest.get(name)
        if g is None:
            s.update(outcome="no guest result", bug=True,
                     message="the guest did not report this pack (crash or hang?)")
        else:
            s["stages"] = {k: g.get(k) for k in STAGES}
            s["abort_cause"] = g.get("cause")
            s["match_us"] = int(g.get("match_ns", 0)) // 1000
            s["pause_us"] = int(g.get("pause_ns", 0)) // 1000
            failed = [k for k in STAGES if g.get(k) == "failed"]
            s["signature"] = g.get("sig", "unchecked")
            try:
                report = json.load(open(os.path.join(out, "splice", name + ".json")))
            except (OSError, ValueError):
                report = {}
            signed = report.get("signed")
            # Evidence: the targets that ran while applied (the guest's tracer), and
            # those that are an ordinary build's code (splice-create's equivalence pass).
            ran, _, total = g.get("exercised", "0/0").partition("/")
            s["exercised"] = {"ran": int(ran or 0), "targets": int(total or 0),
                              "calls": g.get("ran", "none")}
            # Targets the case script names unreached ("f:unreached"), and why.
            unreached = [c.split(":")[0] for c in g.get("ran", "").split(",")
                         if c.endswith(":unreached")]
            if unreached:
                s["exercised"]["unreached"] = unreached
                s["exercised"]["why"] = unreached_why.get(name, "")
            # What the pack's case script observed of the fix (eval/guest.sh): "fixed",
            # "unobservable" (it says why), "failed", or "unchecked" (no case script); and
            # the old behaviour after the reverse: "back", "failed" or "-".
            s["behaves"] = {"applied": g.get("behaves", "unchecked"), "reversed": g.get("old", "-")}
            verdicts = report.get("equivalence", [])
            s["equivalent"] = {"same": sum(1 for v in verdicts if not v.get("difference")),
                               "targets": len(report.get("pack", {}).get("targets", []))}
            if report and len(verdicts) != s["equivalent"]["targets"]:
                # One verdict per target: more or fewer is the generator miscounting.
                s.update(outcome="generator bug", bug=True,
                         message=f"{len(verdicts)} equivalence verdicts for "
                                 f"{s['equivalent']['targets']} targets")
            elif signed and s["signature"] == "missing":
                s.update(outcome="signature not accepted", bug=True,
                         message="splice-create signed the pack, the kernel could not verify it")
            elif not failed and "failed" in s["behaves"].values():
                # Applied, but it does not do what the fix does (or the reverse does not
                # bring the old behaviour back): the worst failure a live patch can have.
                s.update(outcome="does not behave as the fix", bug=True,
                         message=f"behaviour while applied: {s['behaves']['applied']}, "
                                 f"after reverse: {s['behaves']['reversed']}")
            elif not failed:
                s.update(outcome="applied", bug=False)
            else:
                s.update(outcome="failed at " + failed[0], bug=g.get("cause") != "code_busy")
    else:
        s.update(outcome="not run", bug=True)
    return s


# Hand work by the patch it is for, and by the patches it covers.
hand = {}
for p, (st, secs, covers) in hand_made.items():
    h = pack_outcome(p + "-hand", st, secs)
    h["diff"] = f"tools/testing/selftests/splice/eval/hand/{base}-{nxt}/{p}.diff"
    hand[p] = h
    for q in covers:
        hand.setdefault(q, dict(h, covered_by=p))

rows = []
for p in patches:
    c = corpus.get(p, {})
    row = {"patch": p, "file": " + ".join(c.get("files", [])) or None, "hunks": c.get("hunks"),
           "group": c.get("group"), "subjects": c.get("subjects", []), "splice": None,
           "klp_build": None}
    st, secs, used = made.get(p, ("missing", 0.0, "alone"))
    s = pack_outcome(p, st, secs)
    s["diff"] = used
    if used == "headers":
        s["headers"] = headers_used.get(p, [])
    if p in hand and s["outcome"] == "refused":
        s["hand_work"] = hand[p]
        s["bug"] = s["bug"] or hand[p]["bug"]
    row["splice"] = s
    if p in klp:
        kst, ksecs, mode, kused = klp[p]
        klog = read_lines(os.path.join(out, "klp", p + ".log"))
        why = ""
        if kst != "ok":
            # A bound eval.sh put on the run (klp.sh) says so; else the first error.
            why = next((l.strip()[len("splice eval: "):] for l in klog
                        if l.startswith("splice eval: ")), "") or \
                next((l.strip() for l in klog if "error" in l), "")
        row["klp_build"] = {"outcome": "built" if kst == "ok" else "failed",
                            "build_s": round(ksecs, 1), "mode": mode, "error": why[:160],
                            "diff": kused}
        if kused == "klp-headers":
            row["klp_build"]["headers"] = klp_headers_used.get(p, [])
        g = klp_guest.get(p.replace("-", "_"))
        if kst == "ok" and g is not None:
            stages = ["load", "enable", "smoke", "disable", "unload"]
            row["klp_build"]["stages"] = {k: g.get(k) for k in stages}
            row["klp_build"]["enable_ms"] = int(g.get("enable_ms", 0))
            row["klp_build"]["disable_ms"] = int(g.get("disable_ms", 0))
            bad = [k for k in stages if g.get(k) != "ok"]
            row["klp_build"]["vm"] = "applied" if not bad else f"{bad[0]} {g.get(bad[0])}"
            if g.get("error"):
                row["klp_build"]["vm"] += ": " + g["error"].replace("+", " ")
        elif kst == "ok":
            row["klp_build"]["vm"] = "not run"
    rows.append(row)

rows.sort(key=lambda r: (not r["splice"].get("bug"), r["patch"]))
n = len(rows)
ok = [r for r in rows if r["splice"]["outcome"] == "applied"]


def evidenced(s):
    """Applied, every target ran while applied, and every target is an ordinary build's code."""
    e, q = s.get("exercised", {}), s.get("equivalent", {})
    # The guest's count must be of the pack's own targets: a guest that could not
    # trace reports 0 of 0, which shows nothing.
    return s["outcome"] == "applied" and e.get("targets") == q.get("targets") and \
        e.get("ran") == e.get("targets") and q.get("same") == q.get("targets")


ok_evidence = [r for r in ok if evidenced(r["splice"])]
hand_ok = [r for r in rows if r["splice"].get("hand_work", {}).get("outcome") == "applied"]
bugs = [r for r in rows if r["splice"].get("bug")]
refused = [r for r in rows if r["splice"]["outcome"] == "refused"]
by_reason = {}
for r in refused:
    by_reason[r["splice"]["reason"]] = by_reason.get(r["splice"]["reason"], 0) + 1
build = [r["splice"]["build_s"] for r in rows if made.get(r["patch"], ("",))[0] == "pack"]
pauses = [r["splice"]["pause_us"] for r in ok]
kl = [r for r in rows if r["klp_build"]]
kok = [r for r in kl if r["klp_build"]["outcome"] == "built"]
kfull = [r["klp_build"]["build_s"] for r in kl if r["klp_build"]["mode"] == "full"]
kreuse = [r["klp_build"]["build_s"] for r in kl if r["klp_build"]["mode"] == "reuse"]
kvm = [r for r in kok if r["klp_build"].get("vm") == "applied"]
# Fixes a live patch takes whole only with hand work: they change data (a layout, an
# initial value), boot-time code or a boot/load-time table. klp-build does not look for
# these; its module then leaves part of the fix out, or uses old instances with the new
# layout, unless its author adds shadow variables or callbacks. Judged from the patch by
# splice-create's checks, which name what they found.
HAND_WORK = {"data change", "init code", "boot- or load-time table"}
khand = [r for r in kvm if r["splice"].get("reason") in HAND_WORK]
nfc = [r for r in rows if r["splice"].get("reason") == "no functional change"]
code = n - len(nfc)
# klp-build on the patches it ran that change compiled code: the base of splice's rate.
kcode = [r for r in kl if r["splice"].get("reason") != "no functional change"]
# Side by side: the patches klp-build ran on.
sok = [r for r in kl if r["splice"]["outcome"] == "applied"]
kon = [r["klp_build"]["enable_ms"] for r in kvm]
koff = [r["klp_build"]["disable_ms"] for r in kvm]


def med(v):
    return round(statistics.median(v), 2) if v else None


totals = {
    "range": f"{base} -> {nxt}",
    "patches": n,
    "splice_applied": len(ok),
    "splice_applied_exercised_and_equivalent": len(ok_evidence),
    "splice_targets_exercised": sum(r["splice"]["exercised"]["ran"] for r in ok),
    "splice_targets_of_applied_packs": sum(r["splice"]["exercised"]["targets"] for r in ok),
    "splice_targets_equivalent_to_a_rebuild": sum(r["splice"]["equivalent"]["same"] for r in ok),
    "splice_applied_behaving_as_the_fix": sum(
        1 for r in ok if r["splice"]["behaves"]["applied"] == "fixed"),
    "splice_applied_behaviour_unobservable": sum(
        1 for r in ok if r["splice"]["behaves"]["applied"] == "unobservable"),
    "splice_applied_behaviour_unchecked": sum(
        1 for r in ok if r["splice"]["behaves"]["applied"] == "unchecked"),
    "splice_success_rate": round(len(ok) / n, 3) if n else None,
    "patches_changing_compiled_code": code,
    "splice_success_rate_on_compiled_code_changes": round(len(ok) / code, 3) if code else None,
    "splice_refused": len(refused),
    "splice_refusals_by_reason": by_reason,
    "splice_applied_with_hand_work": len(ok) + len(hand_ok),
    "splice_hand_work": {r["patch"]: r["splice"]["hand_work"]["outcome"]
                         for r in rows if "hand_work" in r["splice"]},
    "splice_success_rate_on_compiled_code_changes_with_hand_work":
        round((len(ok) + len(hand_ok)) / code, 3) if code else None,
    "splice_bugs": len(bugs),
    "pack_build_s_median": med(build), "pack_build_s_worst": max(build) if build else None,
    "pause_us_median": med(pauses), "pause_us_worst": max(pauses) if pauses else None,
    "klp_build_run": len(kl),
    "klp_build_not_run": n - len(kl),
    "klp_build_built": len(kok),
    "klp_build_success_rate": round(len(kok) / len(kl), 3) if kl else None,
    "klp_build_s_first_with_kernel_build": kfull[0] if kfull else None,
    "klp_build_s_reuse_median": med(kreuse), "klp_build_s_reuse_worst": max(kreuse) if kreuse else None,
    "klp_livepatch_applied_in_vm": len(kvm) if klp_guest_ran else None,
    "klp_success_rate_end_to_end": round(len(kvm) / len(kl), 3) if kl and klp_guest_ran else None,
    "same_patches_splice_applied": len(sok) if kl else None,
    "klp_enabled_needing_hand_work": len(khand) if klp_guest_ran else None,
    "klp_success_rate_without_hand_work": round((len(kvm) - len(khand)) / len(kl), 3)
    if kl and klp_guest_ran else None,
    "klp_success_rate_on_compiled_code_changes": round(len(kvm) / len(kcode), 3)
    if kcode and klp_guest_ran else None,
    "klp_success_rate_on_compiled_code_changes_without_hand_work":
        round((len(kvm) - len(khand)) / len(kcode), 3) if kcode and klp_guest_ran else None,
    "klp_transition_ms_median": med(kon), "klp_transition_ms_worst": max(kon) if kon else None,
    "klp_disable_transition_ms_median": med(koff),
    "klp_disable_transition_ms_worst": max(koff) if koff else None,
    "guest_completed": guest_ran,
    "packs_signature_verified": sum(1 for r in rows if r["splice"].get("signature") == "ok"),
}
json.dump({"totals": totals, "rows": rows}, open(os.path.join(out, "results.json"), "w"), indent=1)

md = [f"# splice evaluation: Debian linux-source-7.2 {base} -> {nxt}", "",
      "| patch | upstream subject | splice | exercised | equivalent | behaves as the fix "
      "| time (s) | pause (µs) | klp-build | time (s) | livepatch in VM | transition (ms) |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for r in rows:
    s, k = r["splice"], r["klp_build"]
    what = s["outcome"] + (f": {s['reason']}" if s["outcome"] == "refused" else "")
    if s["diff"] == "headers":
        what += f" ({headers_text(s.get('headers', []))})"
    if r.get("group"):
        what += f" (files grouped: {r['group']})"
    h = s.get("hand_work")
    if h:
        what += "; with hand work: " + h["outcome"] + \
            (f" ({h['covered_by']}'s)" if h.get("covered_by") else "") + \
            (f", pause {h['pause_us']} µs, behaves as the fix: {h['behaves']['applied']}"
             if h["outcome"] == "applied" else "") + \
            (f" ({h.get('reason') or h.get('abort_cause') or h.get('message', '')})"
             if h["outcome"] != "applied" else "")
    if s.get("bug"):
        # A bug of the hand work's pack has its cause in the text already.
        what = "**BUG** " + what + ("" if h and h.get("bug") else
                                    f" ({s.get('abort_cause') or s.get('message', '')})")
    vm = k.get("vm", "-") if k else "-"
    if vm == "applied" and s.get("reason") in HAND_WORK:
        vm = f"applied, but the fix needs hand work ({s['reason']})"
    ex, eq = s.get("exercised"), s.get("equivalent")
    bh = s.get("behaves")
    md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
        r["patch"], "; ".join(r["subjects"]) or "-", what,
        (f"{ex['ran']} of {ex['targets']} ({ex['calls']})"
         + (f"; unreached in the VM: {ex['why']}" if ex.get("unreached") else "")) if ex else "-",
        f"{eq['same']} of {eq['targets']}" if eq else "-",
        f"{bh['applied']}; after reverse: {bh['reversed']}" if bh else "-", s["build_s"],
        s.get("pause_us", "-") if s["outcome"] == "applied" else "-",
        (k["outcome"] + (" (with kernel build)" if k["mode"] == "full" else "")
         + (f" ({headers_text(k['headers'])})" if k.get("headers") else "")
         + (f": {k['error'][:80]}" if k.get("error") else "")) if k else "not run",
        k["build_s"] if k else "-", vm,
        f"{k['enable_ms']} / {k['disable_ms']}" if vm.startswith("applied") else "-"))
md += ["", "## Totals", ""] + [f"- {k}: {v}" for k, v in totals.items()]
open(os.path.join(out, "results.md"), "w").write("\n".join(md) + "\n")

print()
print(f"evaluation {base} -> {nxt}: {n} patches of built code")
print(f"  splice: {len(ok)} applied live end to end ({100 * len(ok) // max(n, 1)}%; "
      f"{100 * len(ok) // max(code, 1)}% of the {code} that change compiled code), "
      f"{len(refused)} refused with a named reason {by_reason}, {len(bugs)} bugs")
print(f"  splice: {len(ok_evidence)} applied, exercised (every target ran while applied) and "
      f"equivalent to a rebuild ({100 * len(ok_evidence) // max(code, 1)}% of the {code}); "
      f"targets of applied packs: {totals['splice_targets_exercised']} of "
      f"{totals['splice_targets_of_applied_packs']} ran, "
      f"{totals['splice_targets_equivalent_to_a_rebuild']} equivalent to a rebuild")
print(f"  splice: of the {len(ok)} applied, {totals['splice_applied_behaving_as_the_fix']} "
      f"observed to behave as the fix (and the old way after reverse where checked), "
      f"{totals['splice_applied_behaviour_unobservable']} whose fix the VM cannot observe "
      f"(each case says why), {totals['splice_applied_behaviour_unchecked']} without a case script")
if hand:
    print(f"  splice with hand work (eval/hand/{base}-{nxt}: rewrites that keep the old layout): "
          f"{len(hand_ok)} more applied, {len(ok) + len(hand_ok)} in all "
          f"({100 * (len(ok) + len(hand_ok)) // max(code, 1)}% of the {code})")
if build:
    print(f"  splice-create: median {med(build):.1f} s, worst {max(build):.1f} s")
if pauses:
    print(f"  stop_machine pause: median {med(pauses)} µs, worst {max(pauses)} µs")
if kl:
    print(f"  klp-build: {len(kok)} of {len(kl)} built ({100 * len(kok) // len(kl)}%)"
          + (f"; not run on {n - len(kl)} of the {n} patches (EVAL_KLP_LIMIT, EVAL_KLP=0 or a "
             f"run stopped): its figures are of the {len(kl)} it ran on" if len(kl) < n else "")
          + (f"; first with the kernel build {kfull[0]:.0f} s" if kfull else "")
          + (f"; reusing it median {med(kreuse):.0f} s, worst {max(kreuse):.0f} s" if kreuse else ""))
if klp_guest_ran and kl:
    print(f"  livepatch (klp-build's modules in a VM of klp-build's kernel): {len(kvm)} of {len(kl)} "
          f"enabled, exercised and disabled ({100 * len(kvm) // max(len(kl), 1)}%; "
          f"{100 * len(kvm) // max(len(kcode), 1)}% of the {len(kcode)} that change compiled "
          f"code, {100 * (len(kvm) - len(khand)) // max(len(kcode), 1)}% without the "
          f"{len(khand)} fixes that need hand work to be whole and safe live; "
          f"splice applied {len(sok)} of the same {len(kl)})"
          + (f"; transition median {med(kon)} ms, worst {max(kon)} ms; "
             f"disable median {med(koff)} ms, worst {max(koff)} ms" if kon else ""))
for r in bugs:
    b = r["splice"] if r["splice"]["outcome"] != "refused" else r["splice"].get("hand_work", r["splice"])
    print(f"  BUG: {r['patch']}{' (hand work)' if b is not r['splice'] else ''}: {b['outcome']}: "
          f"{b.get('abort_cause') or b.get('message', '')}")
# The guest's own failure, when it ran packs: one more, whatever their lines say.
ran_in_guest = any(st == "pack" for st, _, _ in made.values()) or \
    any(st == "pack" for st, _, _ in hand_made.values())
guest_bug = None
if ran_in_guest and (guest_status != "0" or not guest_ran):
    guest_bug = (f"the guest run failed (exit {guest_status or 'not recorded'}"
                 f"{'' if guest_ran else ', no eval: done'}): {os.path.join(out, 'guest.log')}")
    print(f"  BUG: {guest_bug}")
print(f"  table: {os.path.join(out, 'results.md')}")


def verdict(r):
    """passed: refused with a named reason, or applied with evidence (every target ran and is
    an ordinary build's code), itself or as rewritten by hand (a patch another's hand work
    covers has that pack's verdict); skipped: applied (or refused as
    busy) without that evidence, which shows nothing; failed: a bug."""
    s = r["splice"]
    if s.get("bug"):
        return "failed"
    if s["outcome"] == "refused":
        h = s.get("hand_work")
        if not h or h["outcome"] == "refused":
            return "passed"
        s = h
    return "passed" if evidenced(s) else "skipped"


tally = [verdict(r) for r in rows]
unevidenced = [r["patch"] for r, v in zip(rows, tally) if v == "skipped"]
if unevidenced:
    print(f"  SKIP (applied, not every target shown to run): {' '.join(unevidenced)}")
failures = tally.count("failed") + (1 if guest_bug else 0)
print(f"eval: {tally.count('passed')} passed, {failures} failed, {tally.count('skipped')} skipped")
sys.exit(1 if failures else 0)

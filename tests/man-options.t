#!/usr/bin/env python3
# man-options.t: --help and the manual pages cannot disagree, because both
# are held to one option table.  For each program, every row that
# `PROG --list-options` prints (the table --help is made from) must be
# documented in man/PROG.1 with the same argument name and for exactly the
# verbs that take it, and every option the page documents must be a row.
# The options every program shares are documented once, in
# man/policy-tools.7, which every page refers to.
#
# In a page, an option is documented by a .TP entry whose tag names it
# (".BI \-\-depth " K"); the verbs it is for are the page's section when
# that is a verb's (.SH FIT), else a parenthesised list of verbs opening
# the entry's text ("(fit, best) ..."), else every verb.
import os
import re
import subprocess
import sys

top = os.environ.get("PT_TOP") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
bindir = os.environ.get("PT_BIN") or os.path.join(top, "bin")
COMMON = {"help", "version", "quiet", "progress", "list-options"}
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed = 1
        for line in str(detail).splitlines()[:8]:
            print("#   " + line)


def plain(line):
    """A roff line as text: no macro, quotes or font changes."""
    line = re.sub(r"^\.[A-Z]+\s*", "", line)
    line = re.sub(r"\\f[BIRP]", "", line)
    line = line.replace("\\-", "-").replace('"', "").replace("\\(bv", "|")
    line = line.replace("\\e", "\\").replace("\\&", "")
    return line


def entries(page, verbs):
    """(long name, short letter or '', meta, frozenset of verbs or '*')
    for every option a page documents."""
    out = []
    lines = open(page, encoding="utf-8").read().splitlines()
    section = ""
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            section = plain(line).strip().lower()
        if line != ".TP" or i + 1 >= len(lines):
            continue
        tag = plain(lines[i + 1])
        if not re.match(r"\s*-", tag):
            continue
        text = plain(lines[i + 2]) if i + 2 < len(lines) else ""
        scope = "*"
        if section in verbs:
            scope = frozenset([section])
        else:
            m = re.match(r"\(([^)]*)\)", text.strip())
            if m:
                words = [w for w in re.split(r"[ ,]+", m.group(1)) if w in verbs]
                if words:
                    scope = frozenset(words)
        toks = tag.replace(",", " , ").split()
        short = ""
        for k, t in enumerate(toks):
            if re.fullmatch(r"-[A-Za-z]", t):
                short = t[1]
            elif t.startswith("--"):
                meta = ""
                if k + 1 < len(toks) and not toks[k + 1].startswith("-") \
                        and toks[k + 1] != ",":
                    meta = toks[k + 1]
                out.append((t[2:], short, meta, scope))
                short = ""
    return out


def rows(prog):
    p = subprocess.run([os.path.join(bindir, prog), "--list-options"],
                       stdout=subprocess.PIPE, check=True)
    res = []
    for line in p.stdout.decode().splitlines():
        short, name, meta, verbs, _ = line.split("\t", 4)
        res.append((name, short[1:] if short else "", meta,
                    "*" if verbs == "*" else frozenset(verbs.split(","))))
    return res


tools7 = os.path.join(top, "man", "policy-tools.7")
common_doc = entries(tools7, set()) if os.path.exists(tools7) else []
for name in sorted(COMMON):
    ok(any(e[0] == name for e in common_doc),
       "--%s is documented in policy-tools.7" % name)

for prog in ("policy-prep", "policy-score", "policy-split", "policy-verify"):
    page = os.path.join(top, "man", prog + ".1")
    table = rows(prog)
    verbs = set()
    for r in table:
        if r[3] != "*":
            verbs |= r[3]
    doc = entries(page, verbs)
    ok("policy-tools (7)" in open(page, encoding="utf-8").read() or
       "policy-tools\\fR(7)" in open(page, encoding="utf-8").read(),
       "%s.1 refers to policy-tools(7) for the shared options" % prog)
    for name, short, meta, vs in table:
        if name in COMMON:
            continue
        mine = [e for e in doc if e[0] == name and e[2] == meta]
        label = "--%s%s" % (name, " " + meta if meta else "")
        if not mine:
            ok(False, "%s: %s is documented" % (prog, label),
               "documented as: %s" % [e[:3] for e in doc if e[0] == name])
            continue
        if "*" in [e[3] for e in mine]:
            got = "*"
        else:
            got = frozenset().union(*[e[3] for e in mine])
        ok(got == vs, "%s: %s is documented for %s" % (
            prog, label, "every verb" if vs == "*" else ", ".join(sorted(vs))),
           "the page says %s" % ("every verb" if got == "*" else
                                 ", ".join(sorted(got))))
        if short:
            ok(any(e[1] == short for e in mine),
               "%s: %s is documented with -%s" % (prog, label, short))
    for name, short, meta, vs in doc:
        ok(any(r[0] == name and r[2] == meta for r in table),
           "%s.1 documents --%s%s, an option %s has" % (
               prog, name, " " + meta if meta else "", prog))
print("1..%d" % n)
sys.exit(failed)

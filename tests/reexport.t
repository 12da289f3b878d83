#!/usr/bin/env python3
# reexport.t: values, not text (DESIGN 3.7).  The same data exported the
# way another program would (every field quoted, LF line ends instead of
# CRLF, a byte order mark, 10 written 10.000 or 1E+01, 0.50 as .5, a
# missing value as NA or as nothing, gzip-compressed) gives the same
# manifest, model, tree, policy and signatures, component for component.
# On generated data always; on Hillstrom's experiment when
# ../shared/data holds it.
import csv
import gzip
import io
import os
import random
import subprocess
import sys
import tempfile

top = os.environ.get("PT_TOP") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
bindir = os.environ.get("PT_BIN") or os.path.join(top, "bin")
data = os.environ.get("PT_DATA") or os.path.join(top, "..", "shared", "data")
env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed = 1
        for line in str(detail).splitlines()[:12]:
            print("#   " + line)


def respell(text, rnd):
    """The same value, spelled another way."""
    if text in ("", "NA"):
        return rnd.choice(["", "NA"])
    try:
        v = float(text)
    except ValueError:
        return text
    if v != v or v in (float("inf"), float("-inf")):
        return text
    form = rnd.randrange(4)
    if form == 0:                       # 10 -> 10.000, 0.5 -> 0.5000
        return text + ("000" if "." in text else ".000")
    if form == 1:                       # 18 digits always read back
        return "%.17E" % v
    if form == 2 and text.startswith("0."):
        return text[1:]                 # 0.5 -> .5
    if form == 2 and text.startswith("-0."):
        return "-" + text[2:]
    return text


def reexport(src, dst):
    rnd = random.Random(9)
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(rows[0])
    for r in rows[1:]:
        w.writerow([respell(x, rnd) for x in r])
    with gzip.open(dst, "wb") as g:
        g.write(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


def pipeline(d, csvfile, fit):
    steps = [
        "policy-prep fit %s --bins 16 --train-fraction 0.7 --seed 1 %s > m.yaml"
        % (fit, csvfile),
        "policy-prep apply -m m.yaml --subset train %s > train.pf" % csvfile,
        "policy-prep apply -m m.yaml --subset test %s > test.pf" % csvfile,
        "policy-score fit -m m.yaml --folds 2 train.pf > model.yaml",
        "policy-score -M model.yaml train.pf > scored.pf",
        "policy-split fit -m m.yaml -M model.yaml --depth 2 scored.pf > tree.yaml",
        "policy-score -M model.yaml test.pf | policy-split apply -t tree.yaml"
        " > actions.pf",
        "policy-verify sign -m m.yaml -M model.yaml -t tree.yaml actions.pf"
        " > run.sig",
    ]
    for s in steps:
        p = subprocess.run(s, shell=True, cwd=d, env=env,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            return s + ": " + p.stderr.decode("utf-8", "replace")
    return None


def check(title, src, fit):
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        os.mkdir(a)
        os.mkdir(b)
        reexport(src, os.path.join(b, "data.csv.gz"))
        err = pipeline(a, os.path.abspath(src), fit) or \
            pipeline(b, "data.csv.gz", fit)
        if err:
            ok(False, "%s: the pipeline runs on both exports" % title, err)
            return
        p = subprocess.run("policy-verify compare a/run.sig b/run.sig",
                           shell=True, cwd=d, env=env, stdout=subprocess.PIPE)
        ok(p.returncode == 0, "%s: every signature component is the same"
           % title, p.stdout.decode())
        same = all(open(os.path.join(a, f), "rb").read() ==
                   open(os.path.join(b, f), "rb").read()
                   for f in ("m.yaml", "model.yaml", "tree.yaml"))
        ok(same, "%s: the manifest, model and tree are the same bytes" % title)


with tempfile.TemporaryDirectory() as d:
    gen = os.path.join(d, "gen.csv")
    subprocess.run("policy-prep synth --rows 20000 --categorical 2 "
                   "--missing 0.05 --seed 4 > %s" % gen, shell=True, env=env,
                   check=True)
    check("generated data", gen, "--treatment arm --outcome y")
hill = os.path.join(data, "hillstrom.csv")
if os.path.exists(hill):
    check("Hillstrom", hill, "--treatment segment --outcome spend "
          "--exclude visit,conversion --control 'No E-Mail'")
else:
    for i in range(2):
        n += 1
        print("ok %d # SKIP no %s" % (n, hill))
print("1..%d" % n)
sys.exit(failed)

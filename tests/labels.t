#!/usr/bin/env python3
# labels.t: a label is a label everywhere.  Treatment labels that YAML or
# CSV could misread (a: b, #c, "x, y", [e], say "hi", NO, ~, a trailing
# space), and 30 arms with 120-character labels, go through the whole run:
# fit, score fit, score, split fit, show, apply, eval, sign, drift, and
# every YAML file the tools write is read back by PyYAML (another YAML
# reader than the tools' own) with the same strings.
import csv
import os
import random
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("1..0 # SKIP no python3-yaml (scripts/deps installs it)")
    sys.exit(0)

top = os.environ.get("PT_TOP") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
bindir = os.environ.get("PT_BIN") or os.path.join(top, "bin")
env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
n = 0
failed = 0


def ok(cond, name, detail=""):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed = 1
        for line in str(detail).splitlines()[:5]:
            print("#   " + line)


def run(cmd, cwd, stdin=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, shell=True, stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def experiment(d, labels, rows, x2="x2"):
    """A CSV of rows with x1, x2 (named x2, with some values missing),
    the label and an outcome that favours each label in a region of
    (x1, x2)."""
    rnd = random.Random(5)
    with open(os.path.join(d, "e.csv"), "w", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(["x1", x2, "arm", "y"])
        for i in range(rows):
            x1, v2 = rnd.random(), rnd.random()
            a = i % len(labels)
            y = x1 * (a % 3) + v2 * ((a + 1) % 2) + rnd.gauss(0, 0.3)
            w.writerow(["%.6f" % x1, "" if i % 17 == 0 else "%.6f" % v2,
                        labels[a], "%.6f" % y])


def whole_run(title, labels, rows, x2="x2"):
    with tempfile.TemporaryDirectory() as d:
        experiment(d, labels, rows, x2)
        steps = [
            "policy-prep fit --treatment arm --outcome y --bins 8 "
            "--train-fraction 0.7 --seed 3 e.csv > m.yaml",
            "policy-prep apply -m m.yaml --subset train e.csv > train.pf",
            "policy-prep apply -m m.yaml --subset test e.csv > test.pf",
            "policy-score fit -m m.yaml --folds 2 train.pf > model.yaml",
            "policy-score -M model.yaml train.pf > scored.pf",
            "policy-score -M model.yaml test.pf > test-scored.pf",
            "policy-split fit -m m.yaml -M model.yaml --depth 2 scored.pf "
            "> tree.yaml",
            "policy-split show -t tree.yaml > tree.txt",
            "policy-split eval -t tree.yaml test-scored.pf > eval.yaml",
            "policy-split apply -t tree.yaml test-scored.pf > actions.pf",
            "policy-prep cat --columns arm,action actions.pf > actions.csv",
            "policy-verify sign -m m.yaml -M model.yaml -t tree.yaml "
            "actions.pf > run.sig",
            "policy-verify drift -m m.yaml test.pf > drift.yaml",
        ]
        for s in steps:
            rc, _, err = run(s, d)
            if rc != 0:
                ok(False, "%s: %s" % (title, s.split(">")[0]), err)
                return
        ok(True, "%s: every step runs" % title)
        try:
            docs = {f: load(os.path.join(d, f)) for f in
                    ("m.yaml", "model.yaml", "tree.yaml", "eval.yaml",
                     "run.sig", "drift.yaml")}
        except Exception as ex:
            ok(False, "%s: PyYAML reads every file the tools wrote" % title, ex)
            return
        ok(True, "%s: PyYAML reads every file the tools wrote" % title)
        want = sorted(labels)
        ok(docs["m.yaml"]["vocabulary"] == want,
           "%s: the manifest's vocabulary reads back" % title,
           docs["m.yaml"]["vocabulary"])
        ok(docs["model.yaml"]["vocab"] == want,
           "%s: the model's vocabulary reads back" % title,
           docs["model.yaml"]["vocab"])
        t = docs["tree.yaml"]
        ok(t["vocab"] == want and
           all(a in want for a in t["trees"][0]["action"]),
           "%s: the tree's vocabulary and actions read back" % title,
           t["trees"][0]["action"])
        ok([a["action"] for a in docs["eval.yaml"]["arms"]] == want,
           "%s: eval's arms read back" % title, docs["eval.yaml"]["arms"])
        ok(docs["model.yaml"]["design"][-1] == "missing:" + x2,
           "%s: the model's design names read back" % title)
        ok(docs["drift.yaml"]["features"][0]["feature"] in ("x1", x2),
           "%s: the drift report reads back" % title)
        with open(os.path.join(d, "actions.csv"), newline="") as f:
            got = list(csv.reader(f))
        ok(got[0] == ["arm", "action"] and
           all(r[0] in want and r[1] in want for r in got[1:]),
           "%s: cat writes labels back as CSV that reads the same" % title,
           got[:3])
        with open(os.path.join(d, "tree.txt")) as f:
            text = f.read()
        leaves = [l.split("-> ", 1)[1].rsplit("  (rows", 1)[0]
                  for l in text.splitlines() if "-> " in l]
        shown = []
        for s in leaves:
            shown.append(yaml.safe_load("k: " + s)["k"])
        ok(all(s in want for s in shown),
           "%s: show writes each leaf's label as YAML reads it" % title,
           leaves)


labels = ["a: b", "#c", "x, y", "[e]", 'say "hi"', "NO", "~", "r "]
whole_run("labels YAML and CSV could misread", labels, 4000)
rng = random.Random(11)
long = ["arm %02d " % i + "".join(rng.choice("abcdefghij ,:#\"'[]{}&*!|>%@")
                                  for _ in range(113)) for i in range(30)]
whole_run("30 arms with 120-character labels", long, 30 * 150)
# Labels and names past the old fixed buffers (255 bytes in the tree
# reader, 280 in design names, 299 in score:LABEL columns).
whole_run("5,000-byte labels and a 400-byte feature name",
          ["a" * 5000, "b" * 4999 + " "], 3000, x2="x" * 400)
print("1..%d" % n)
sys.exit(failed)

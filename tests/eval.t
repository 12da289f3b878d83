#!/bin/sh
# policy-split eval: paired differences, cluster-robust standard errors,
# training rows and uplift curves, each held to an independent computation
# in Python on the per-row scores (policy-prep cat); and every --json
# report parses with jq and carries the numbers of the text report.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 > /dev/null 2>&1; then
	skip 1 "python3 is not installed"
	done_testing
fi

# A synthetic experiment with the oracle's expected outcomes, and two
# ranking columns per arm: r_* uniform noise (a random ranking).
policy-prep synth --rows 12000 --seed 5 --oracle |
	awk -F, -v OFS=, 'BEGIN { srand(7) }
	    NR == 1 { print $0, "r_control", "r_t1", "r_t2"; next }
	    { print $0, 0, rand(), rand() }' > "$T/s.csv"
ok $? "synth, with random ranking columns"
cd "$T" || exit 2
policy-prep fit --treatment arm --outcome y --exclude best --train-fraction 0.7 \
	--seed 1 s.csv > m.yaml &&
	policy-prep apply -m m.yaml --subset train s.csv > tr.pf &&
	policy-prep apply -m m.yaml --subset test s.csv > te.pf &&
	policy-score fit -m m.yaml tr.pf > model.yaml &&
	policy-score -M model.yaml tr.pf > tr.s.pf &&
	policy-score -M model.yaml te.pf > te.s.pf &&
	policy-split fit -m m.yaml --depth 2 tr.s.pf > a.yaml &&
	policy-split fit -m m.yaml --depth 1 tr.s.pf > b.yaml
ok $? "manifest (70% train by hash), DR scores, trees of depth 2 and 1"

# The per-row figures: scores, each tree's action, the cluster column.
policy-split apply -t a.yaml te.s.pf | policy-prep cat \
	--columns score:control,score:t1,score:t2,action,x3 > rows-a.csv &&
	policy-split apply -t b.yaml te.s.pf | policy-prep cat \
	--columns action > rows-b.csv &&
	policy-split eval -t a.yaml -m m.yaml te.s.pf --json > one.json &&
	policy-split eval -t a.yaml -m m.yaml te.s.pf > one.yaml &&
	policy-split eval -t a.yaml -t b.yaml te.s.pf --json > two.json &&
	policy-split eval -t a.yaml -t b.yaml --cluster x3 te.s.pf --json > cl.json &&
	policy-split eval -t a.yaml --cluster _row te.s.pf --json > cr.json
ok $? "eval: one tree, two trees, clustered by x3 and by row"

cat > check.py <<'PY'
import csv, json, math, sys
Z = 1.959963984540054
rows = list(csv.DictReader(open("rows-a.csv")))
act_b = [r["action"] for r in csv.DictReader(open("rows-b.csv"))]
arms = ["control", "t1", "t2"]
G = {a: [float(r["score:" + a]) for r in rows] for a in arms}
n = len(rows)
pa = [G[r["action"]][i] for i, r in enumerate(rows)]
pb = [G[act_b[i]][i] for i in range(n)]
q = {"tree": pa, "a.yaml": pa, "b.yaml": pb}
q.update(G)
bad = []

def mean_se(x, y=None):
    """The estimator eval documents: the mean of x (- y) from exact sums,
    se = sqrt(var / n), var = (mean of squares - mean^2) n / (n - 1)."""
    if y is None:
        m = math.fsum(x) / n
        m2 = math.fsum([v * v for v in x]) / n
    else:
        m = math.fsum(x + [-v for v in y]) / n
        d = [a - b for a, b in zip(x, y)]
        m2 = math.fsum([v * v for v in d]) / n
    var = (m2 - m * m) * (n / (n - 1))
    return m, math.sqrt(var / n) if var > 0 else 0.0

def cluster_se(x, y, xbar, key):
    """CR1: G/(G-1) sum_g (T_g - n_g xbar)^2 / n^2, T_g exact."""
    tot, cnt = {}, {}
    for i in range(n):
        tot.setdefault(key[i], []).append(x[i])
        if y is not None:
            tot[key[i]].append(-y[i])
        cnt[key[i]] = cnt.get(key[i], 0) + 1
    acc = []
    for g in tot:
        d = math.fsum(tot[g]) - float(cnt[g]) * xbar
        acc.append(d * d)
    Gn = float(len(tot))
    return math.sqrt((Gn / (Gn - 1)) * (math.fsum(acc) / (float(n) * float(n)))), len(tot)

def same(what, fig, m, se):
    want = [m, se, m - Z * se, m + Z * se]
    got = [fig["value"], fig["se"], fig["lo"], fig["hi"]]
    if got != want:
        bad.append("%s: eval %r, python %r" % (what, got, want))

def check(doc, key=None):
    if doc["rows"] != n:
        bad.append("rows %d, python %d" % (doc["rows"], n))
    for p in doc["policies"] + doc["arms"]:
        name = p.get("name", p.get("action"))
        m, se = mean_se(q[name])
        if key is not None:
            se, ng = cluster_se(q[name], None, m, key)
        same(name, p, m, se)
    for d in doc["differences"]:
        m, se = mean_se(q[d["a"]], q[d["b"]])
        if key is not None:
            se, ng = cluster_se(q[d["a"]], q[d["b"]], m, key)
        same(d["a"] + " - " + d["b"], d, m, se)

which = sys.argv[1]
doc = json.load(open(which))
if which == "cl.json":
    key = [float(r["x3"]) if r["x3"] != "NA" else "NA" for r in rows]
    check(doc, key)
    if doc["cluster"] != {"column": "x3", "clusters": len(set(key))}:
        bad.append("cluster %r" % doc["cluster"])
elif which == "cr.json":
    check(doc, list(range(n)))
else:
    check(doc)
    want = 1 + (3 if which == "one.json" else 7)
    if len(doc["differences"]) + 1 != want:
        bad.append("%d differences" % len(doc["differences"]))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
for f in one.json two.json cl.json cr.json; do
	check "$f: every value, se and interval equals Python's, to the last digit" \
		"python3 check.py $f"
done
check "one tree: the training-row note says no for held-out rows" \
	"grep -q '\"training_rows\":\"no\"' one.json && grep -q '^training_rows: \"no\"' one.yaml"
check "training rows: yes, with a note on stderr" \
	"policy-split eval -t a.yaml -m m.yaml tr.s.pf 2> err > tr.yaml &&
	 grep -q '^training_rows: \"yes\"' tr.yaml && grep -q 'training rows' err"
check "training rows: some, when train and test rows are mixed" \
	"policy-prep apply -m m.yaml s.csv | policy-score -M model.yaml |
	 policy-split eval -t a.yaml -m m.yaml --json 2> err | grep -q '\"training_rows\":\"some\"' &&
	 grep -q 'training rows' err"
check "without -m: unknown" \
	"policy-split eval -t a.yaml te.s.pf | grep -q '^training_rows: unknown'"
check "clustering by row gives the unclustered standard errors" \
	"python3 -c '
import json
a = json.load(open(\"one.json\")); b = json.load(open(\"cr.json\"))
for x, y in zip(a[\"arms\"] + a[\"differences\"], b[\"arms\"] + b[\"differences\"]):
    assert abs(x[\"se\"] - y[\"se\"]) <= 1e-12 * x[\"se\"], (x, y)
'"

# The text report carries the numbers of the JSON one (YAML read back).
check "the YAML report and the JSON report hold the same numbers" \
	"python3 -c '
import json, re
j = json.load(open(\"one.json\"))
t = open(\"one.yaml\").read()
nums = lambda s: [float(x) for x in re.findall(r\"(?:value|se|lo|hi): ([-0-9.e+]+)\", s)]
want = []
for p in j[\"policies\"] + j[\"arms\"] + j[\"differences\"]:
    want += [p[\"value\"], p[\"se\"], p[\"lo\"], p[\"hi\"]]
assert nums(t) == want, (nums(t), want)
'"
check "the TSV report holds the same numbers" \
	"policy-split eval -t a.yaml -m m.yaml te.s.pf --tsv > one.tsv &&
	 python3 -c '
import json
j = json.load(open(\"one.json\"))
lines = [l.rstrip(\"\n\").split(\"\t\") for l in open(\"one.tsv\")]
assert lines[0] == [\"kind\", \"a\", \"b\", \"value\", \"se\", \"lo\", \"hi\"], lines[0]
want = [[\"policy\", \"tree\", \"\"] + [p[k] for k in (\"value\", \"se\", \"lo\", \"hi\")] for p in j[\"policies\"]]
want += [[\"arm\", p[\"action\"], \"\"] + [p[k] for k in (\"value\", \"se\", \"lo\", \"hi\")] for p in j[\"arms\"]]
want += [[\"difference\", p[\"a\"], p[\"b\"]] + [p[k] for k in (\"value\", \"se\", \"lo\", \"hi\")] for p in j[\"differences\"]]
got = [l[:3] + [float(x) for x in l[3:]] for l in lines[1:]]
assert got == want, (got, want)
'"

# Uplift curves.
policy-split eval -t a.yaml te.s.pf --curve tree.json > /dev/null &&
	policy-split eval -t a.yaml te.s.pf --curve oracle.json --rank-by mu_ > /dev/null &&
	policy-split eval -t a.yaml te.s.pf --curve random.json --rank-by r_ > /dev/null &&
	policy-prep cat --columns score:control,score:t1,score:t2,mu_control,mu_t1,mu_t2,r_control,r_t1,r_t2 \
	te.s.pf > rank.csv
ok $? "curves: by the tree's leaves, by the oracle, by a random ranking"
cat > curve.py <<'PY'
import csv, json, math, sys
rows = list(csv.DictReader(open("rank.csv")))
n = len(rows)
bad = []
def independent(prefix, t):
    """causalml's cumulative gain with tau = the rows' DR gain, ranked by
    the prefix columns' difference; tied rows share their mean gain."""
    r = [(float(x[prefix + t]) - float(x[prefix + "control"]),
          float(x["score:" + t]) - float(x["score:control"])) for x in rows]
    r.sort(key=lambda p: -p[0])
    gains, i = [], 0
    while i < n:
        j = i
        while j < n and r[j][0] == r[i][0]:
            j += 1
        mg = math.fsum(p[1] for p in r[i:j]) / (j - i)
        gains += [mg] * (j - i)
        i = j
    cum, s = [], 0.0
    for g in gains:
        s += g
        cum.append(s)
    total = cum[-1]
    auuc = sum(c / total for c in cum) / n
    return auuc, cum
for f, prefix in (("oracle.json", "mu_"), ("random.json", "r_")):
    doc = json.load(open(f))
    for c in doc["curves"]:
        if c["by"] != "model":
            continue
        auuc, cum = independent(prefix, c["treatment"])
        if abs(c["auuc"] - auuc) > 1e-9 * max(1, abs(auuc)):
            bad.append("%s %s: auuc %r, python %r" % (f, c["treatment"], c["auuc"], auuc))
        if abs(c["qini"] - (auuc - (n + 1) / (2 * n))) > 1e-9 * max(1, abs(auuc)):
            bad.append("%s %s: qini %r" % (f, c["treatment"], c["qini"]))
        pts = c["points"]
        if len(pts) != 101 or pts[0]["share"] != 0 or pts[-1]["share"] != 1:
            bad.append("%s: %d points" % (f, len(pts)))
        for p in pts[1:]:
            want = cum[p["n"] - 1] / n
            if abs(p["qini"] - want) > 1e-9 * max(1, abs(want)):
                bad.append("%s %s at %d: qini %r, python %r" % (f, c["treatment"], p["n"], p["qini"], want))
                break
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
check "AUUC, Qini coefficient and curve points equal causalml's definitions computed in Python" \
	"python3 curve.py"
check "a random ranking: the Qini curve stays close to the random line" \
	"python3 -c '
import json
for c in json.load(open(\"random.json\"))[\"curves\"]:
    if c[\"by\"] != \"model\": continue
    dev = max(abs(p[\"qini\"] - p[\"random\"]) for p in c[\"points\"])
    top = max(abs(p[\"qini\"]) for p in json.load(open(\"oracle.json\"))[\"curves\"][1][\"points\"])
    print(\"# random\", c[\"treatment\"], \"largest gap\", dev, \"oracle peak\", top)
    assert dev < 0.25 * top, (c[\"treatment\"], dev, top)
'"
# Maximal for the oracle: with the oracle's expected outcomes as the
# rewards, ranking by them (o_*, copies kept as features) sorts the rows by
# their true gain, so every point of its Qini curve is at least that of
# any other ranking (the random one, the tree's leaves).
# (the actions are the reward columns' names: mu_control, mu_t1, mu_t2).
awk -F, -v OFS=, 'BEGIN { srand(9) }
	NR == 1 { print $0, "o_mu_control", "o_mu_t1", "o_mu_t2", "r_mu_control",
	    "r_mu_t1", "r_mu_t2"; next }
	{ print $0, $14, $15, $16, 0, rand(), rand() }' s.csv > o.csv &&
	policy-prep fit --rewards mu_control,mu_t1,mu_t2 \
	--features x1,x2,x3,o_mu_control,o_mu_t1,o_mu_t2,r_mu_control,r_mu_t1,r_mu_t2 \
	o.csv > om.yaml &&
	policy-prep apply -m om.yaml o.csv > o.pf &&
	policy-split fit -m om.yaml --depth 2 o.pf > ot.yaml &&
	policy-split eval -t ot.yaml o.pf --curve oo.json --rank-by o_ > /dev/null &&
	policy-split eval -t ot.yaml o.pf --curve or.json --rank-by r_ > /dev/null &&
	policy-split eval -t ot.yaml o.pf --curve ol.json > /dev/null
ok $? "curves on the oracle's rewards"
check "the oracle ranking's Qini curve is maximal at every point" \
	"python3 -c '
import json
o, r, t = (json.load(open(f))[\"curves\"] for f in (\"oo.json\", \"or.json\", \"ol.json\"))
for i in range(2):
    print(\"#\", o[i][\"treatment\"], \"qini coefficient: oracle\", o[i][\"qini\"], \"tree\", t[i][\"qini\"], \"random\", r[i][\"qini\"])
    for po, pr, pt in zip(o[i][\"points\"], r[i][\"points\"], t[i][\"points\"]):
        assert po[\"qini\"] >= pr[\"qini\"] - 1e-12 and po[\"qini\"] >= pt[\"qini\"] - 1e-12, (po, pr, pt)
    assert o[i][\"qini\"] > r[i][\"qini\"] + 0.05 and o[i][\"qini\"] >= t[i][\"qini\"] - 1e-12
assert t[-1][\"by\"] == \"tree\" and t[-1][\"treatment\"] == \"tree\"
'"

# --json everywhere parses with jq, and carries the text report's numbers.
if command -v jq > /dev/null 2>&1; then
	policy-verify sign -m m.yaml -M model.yaml -t a.yaml te.s.pf > a.sig &&
		policy-verify sign -m m.yaml -M model.yaml -t b.yaml te.s.pf > b.sig
	ok $? "signatures"
	for cmd in "policy-split eval -t a.yaml -m m.yaml te.s.pf --json" \
		"policy-split show --json a.yaml" \
		"policy-verify compare --json a.sig b.sig" \
		"policy-verify drift -m m.yaml --json te.pf" \
		"policy-prep check --json te.pf tr.pf"; do
		check "jq parses: $cmd" "$cmd > j.out; [ \$? -le 1 ] && jq -e . j.out > /dev/null"
	done
	check "eval: jq reads the values the YAML report prints" \
		"policy-split eval -t a.yaml te.s.pf > e.yaml &&
		 policy-split eval -t a.yaml te.s.pf --json | jq -r '.arms[] | .action + \" \" + (.value|tostring)' > jq.txt &&
		 sed -n 's/^  - {action: \\([^,]*\\), value: \\([^,]*\\),.*/\\1 \\2/p' e.yaml | cmp - jq.txt"
	check "show: the JSON tree holds the text tree's splits" \
		"policy-split show a.yaml | sed -n 's/.*if \\([^ ]*\\) <= \\([^ ]*\\).*/\\1 \\2/p' > s.txt &&
		 policy-split show --json a.yaml | jq -r '[.root, .root.left, .root.right] | .[] | select(.feature) | .feature + \" \" + (.threshold|tostring)' > sj.txt &&
		 cmp s.txt sj.txt"
	check "compare: same components, exit status 1 and the text's words" \
		"policy-verify compare a.sig b.sig > c.txt; [ \$? -eq 1 ] &&
		 policy-verify compare --json a.sig b.sig > c.json; [ \$? -eq 1 ] &&
		 jq -e '.same == false' c.json > /dev/null &&
		 jq -r '.components[] | .name + \" \" + (if .same then \"same\" else \"drifted\" end)' c.json > cj.txt &&
		 grep -v row_count c.txt | awk '{ print \$1, \$2 }' | cmp - cj.txt"
	check "drift: JSON and TSV carry the YAML report's PSI" \
		"policy-verify drift -m m.yaml te.pf > d.yaml;
		 policy-verify drift -m m.yaml --json te.pf | jq -r '.features[] | .name + \" \" + (.psi|tostring)' > dj.txt &&
		 policy-verify drift -m m.yaml --tsv te.pf | tail -n +2 | cut -f1,2 | tr '\t' ' ' > dt.txt &&
		 sed -n 's/^  - {feature: \\([^,]*\\), psi: \\([^,]*\\),.*/\\1 \\2/p' d.yaml > dy.txt &&
		 cmp dy.txt dj.txt && cmp dy.txt dt.txt"
	check "check: JSON rows and bytes equal the text lines'" \
		"policy-prep check te.pf tr.pf | sed 's/: \\([0-9]*\\) rows, \\([0-9]*\\) bytes, ok/ \\1 \\2/' > k.txt &&
		 policy-prep check --json te.pf tr.pf | jq -r '.inputs[] | .name + \" \" + (.rows|tostring) + \" \" + (.bytes|tostring)' | cmp - k.txt"
else
	skip 11 "jq is not installed (scripts/deps installs it)"
fi

done_testing

#!/bin/sh
# policy-split eval with sample (frequency) weights: whole weights give the
# bytes of the rows repeated that many times (report as YAML, JSON and TSV,
# clustered or not, and the curves), in one process or merged from
# partials in any order; fractional weights agree with an independent
# weighted computation in Python; a weight times a value out of the exact
# range is refused, never rounded; weighted and unweighted partials do not
# mix.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 2

# To forge a partial (below): a file's digest line made again (XXH3-128 of
# what precedes it, as every sealed file of the toolchain).
cat > reseal.c <<'C'
#include <stdio.h>
#include <string.h>
#include <xxhash.h>
static char buf[1 << 22];
int
main(void)
{
	size_t n = fread(buf, 1, sizeof buf - 1, stdin);
	char *d;
	XXH128_hash_t h;
	buf[n] = '\0';
	if ((d = strstr(buf, "\ndigest: ")) == NULL)
		return 2;
	d[1] = '\0';
	h = XXH3_128bits(buf, strlen(buf));
	printf("%sdigest: %016llx%016llx\n", buf, (unsigned long long)h.high64,
	    (unsigned long long)h.low64);
	return 0;
}
C
if ! ${CC:-cc} -o reseal reseal.c -lxxhash > /dev/null 2>&1; then
	skip 1 "no C compiler with libxxhash to reseal a forged partial"
	done_testing
fi

# Rewards brought along (noisy copies of the oracle's means), a cluster
# feature g (30 groups), random ranking columns r_*, and a weight w in
# 0..4, some 0.
policy-prep synth --rows 3000 --seed 5 --oracle |
	awk -F, -v OFS=, 'BEGIN { srand(11) }
	    NR == 1 { print "x1,x2,x3,x4,g,G_control,G_t1,G_t2,r_G_control,r_G_t1,r_G_t2,w"; next }
	    { printf "%s,%s,%s,%s,%d,%.6f,%.6f,%.6f,0,%.6f,%.6f,%d\n", $1, $2, $3,
	      $4, int(rand() * 30), $14 + rand() - 0.5, $15 + 2 * rand() - 1,
	      $16 + 3 * rand() - 1.5, rand(), rand(), int(rand() * 5) }' > w.csv
# The same rows repeated w times with weight 1 (weight 0: dropped), and the
# weighted rows with fractional weights.
awk -F, -v OFS=, 'NR == 1 { print; next }
	{ n = $12; $12 = 1; for (i = 0; i < n; i++) print }' w.csv > dup.csv
awk -F, -v OFS=, 'BEGIN { srand(13) } NR == 1 { print; next }
	{ $12 = sprintf("%.6f", rand() * 3); print }' w.csv > f.csv
FEAT=x1,x2,x3,x4,g,r_G_control,r_G_t1,r_G_t2
policy-prep fit --rewards G_control,G_t1,G_t2 --features $FEAT --weight w \
	w.csv > m.yaml &&
	policy-prep apply -m m.yaml w.csv > w.pf &&
	policy-prep apply -m m.yaml dup.csv > dup.pf &&
	policy-prep apply -m m.yaml f.csv > f.pf &&
	policy-split fit -m m.yaml --depth 2 w.pf > a.yaml &&
	policy-split fit -m m.yaml --depth 1 w.pf > b.yaml &&
	policy-split show a.yaml > /dev/null
ok $? "setup: one weighted manifest applied to weighted and duplicated rows; trees of depth 2 and 1"
check "the duplicated rows are as many as the weights add up to, with weights of 0" \
	"[ \$(awk -F, 'NR > 1 { s += \$12 } END { print s }' w.csv) -eq \$(policy-prep check dup.pf | sed 's/.*: \\([0-9]*\\) rows.*/\\1/') ] &&
	 grep -q ',0\$' w.csv"

# rows and weight are the one place the reports differ: rows count rows,
# the weight is the duplicated rows' count (checked below).
cat > counts.sed <<'SED'
/^rows: /d
/^weight: /d
s/"rows":[0-9]*,//
s/"weight":[0-9.e+]*,//
SED
for opts in "-t a.yaml" "-t a.yaml -m m.yaml" "-t a.yaml -t b.yaml" \
	"-t a.yaml -t b.yaml --cluster g" "-t a.yaml --cluster _row" \
	"-t a.yaml --cluster g --curve CURVE" \
	"-t a.yaml -t b.yaml --curve CURVE --control G_t1" \
	"-t a.yaml --curve CURVE --rank-by r_"; do
	for fmt in "" --json --tsv; do
		o1=$(echo "$opts" | sed 's/CURVE/c-w.json/')
		o2=$(echo "$opts" | sed 's/CURVE/c-d.json/')
		# shellcheck disable=SC2086
		policy-split eval -q $o1 $fmt w.pf > w.out 2> /dev/null &&
			policy-split eval -q $o2 $fmt dup.pf > d.out 2> /dev/null
		rc=$?
		curves=true
		case $opts in *CURVE*)
			curves="sed -f counts.sed c-w.json > cw && sed -f counts.sed c-d.json > cd && cmp cw cd &&
			    grep -q '^{\"rows\":3000,\"weight\":' c-w.json";;
		esac
		check "eval $opts ${fmt:---yaml}: weights 0..4 give the bytes of duplicated rows" \
			"[ $rc -eq 0 ] && [ -s w.out ] && sed -f counts.sed w.out > sw && sed -f counts.sed d.out > sd &&
			 cmp sw sd && $curves"
	done
done
check "the weighted report counts rows and prints the weight the duplicates count" \
	"policy-split eval -t a.yaml w.pf > w.yaml && policy-split eval -t a.yaml dup.pf > d.yaml &&
	 [ \"\$(sed -n 's/^rows: //p' w.yaml)\" -eq 3000 ] &&
	 [ \"\$(sed -n 's/^weight: //p' w.yaml)\" = \"\$(sed -n 's/^rows: //p' d.yaml)\" ]"

# Partials: three partitions, merged in shuffled order == one process.
policy-prep split -n 3 -o 'p%d.pf' w.pf &&
	policy-prep split -n 3 -o 'f%d.pf' f.pf
ok $? "3 partitions of the weighted and the fractional rows"
i=0
for opts in "-t a.yaml" "-t a.yaml -t b.yaml --cluster g" \
	"-t a.yaml --cluster _row -m m.yaml"; do
	i=$((i + 1))
	for src in p f; do
		for k in 0 1 2; do
			# shellcheck disable=SC2086
			policy-split eval -q --partial $opts $src$k.pf > $src$i.$k.part || break
		done
		whole=w.pf
		[ $src = f ] && whole=f.pf
		for fmt in "" --json; do
			# shellcheck disable=SC2086
			policy-split eval -q $opts $fmt --curve c1.json $whole > one.out 2> /dev/null &&
				policy-split eval -q --merge --expect 3 $fmt --curve c2.json \
				$src$i.2.part $src$i.0.part $src$i.1.part > merged.out
			check "eval --partial $opts ($src${fmt:+, $fmt}): merged in shuffled order, the one-process report and curves" \
				"[ -s one.out ] && cmp one.out merged.out && cmp c1.json c2.json"
		done
	done
done
check "fractional weights: every curve has 101 points, from share 0 to 1, at weights" \
	"policy-split eval -q -t a.yaml --curve cf.json f.pf > /dev/null &&
	 policy-split eval -q -t a.yaml --curve cfr.json --rank-by r_ f.pf > /dev/null &&
	 python3 -c '
import json
for f in (\"cf.json\", \"cfr.json\"):
    d = json.load(open(f))
    for c in d[\"curves\"]:
        p = c[\"points\"]
        assert len(p) == 101 and p[0][\"share\"] == 0 and p[-1][\"share\"] == 1, (f, len(p), p[-1])
        assert p[-1][\"n\"] == d[\"weight\"] and p[-1][\"n\"] != int(p[-1][\"n\"]), p[-1]
'"
check "a weighted partial carries the weight beside rows, per cluster and per leaf" \
	"grep -q '^weight: 0x' p2.0.part && grep -q 'rows: [0-9]*, weight: ' p2.0.part &&
	 grep -q 'node: [0-9]*, action: [0-9]*, rows: [0-9]*, weight: ' p2.0.part"
check "merging in stages gives the same partial bytes" \
	"policy-split eval --merge --partial f2.0.part f2.2.part > g02 &&
	 policy-split eval --merge --partial g02 f2.1.part > all-a &&
	 policy-split eval --merge --partial f2.1.part f2.0.part f2.2.part > all-b &&
	 cmp all-a all-b"

# Fractional weights against an independent weighted computation.
PY=
for py in python3 /usr/bin/python3; do
	if "$py" -c 'import numpy' > /dev/null 2>&1; then
		PY=$py
		break
	fi
done
if [ -n "$PY" ]; then
	policy-split apply -t a.yaml f.pf | policy-prep cat \
		--columns G_control,G_t1,G_t2,w,g,action > f-rows.csv &&
		policy-split apply -t b.yaml f.pf | policy-prep cat --columns action > f-rows-b.csv &&
		policy-split eval -t a.yaml -t b.yaml --json f.pf > f.json &&
		policy-split eval -t a.yaml -t b.yaml --cluster g --json f.pf > fc.json
	ok $? "fractional weights: per-row figures and reports"
	cat > wcheck.py <<'PY'
import csv, json, sys
import numpy as np
TOL = 1e-9
rows = list(csv.DictReader(open("f-rows.csv")))
actb = [r["action"] for r in csv.DictReader(open("f-rows-b.csv"))]
arms = ["G_control", "G_t1", "G_t2"]
G = {a: np.array([float(r[a]) for r in rows]) for a in arms}
w = np.array([float(r["w"]) for r in rows])
g = np.array([int(float(r["g"])) for r in rows])
idx = {a: i for i, a in enumerate(arms)}
Gm = np.stack([G[a] for a in arms], axis=1)
pa = Gm[np.arange(len(rows)), [idx[r["action"]] for r in rows]]
pb = Gm[np.arange(len(rows)), [idx[a] for a in actb]]
q = {"a.yaml": pa, "b.yaml": pb}
q.update(G)
W = w.sum()

def weighted(x, cluster):
    """Frequency weights: mean sum(w x)/W; se^2 = sum(w (x - m)^2)/(W - 1)/W,
    or CR1 with cluster totals T_g = sum_g w x, W_g = sum_g w:
    se^2 = G/(G-1) sum_g (T_g - W_g m)^2 / W^2."""
    m = (w * x).sum() / W
    if cluster is None:
        return m, np.sqrt((w * (x - m) ** 2).sum() / (W - 1) / W)
    keys = np.unique(cluster[w > 0])
    acc = 0.0
    for k in keys:
        s = cluster == k
        acc += ((w[s] * x[s]).sum() - w[s].sum() * m) ** 2
    Gn = len(keys)
    return m, np.sqrt(Gn / (Gn - 1) * acc / W ** 2)

bad = []
for f, cl in (("f.json", None), ("fc.json", g)):
    doc = json.load(open(f))
    if abs(doc["weight"] - W) > TOL * W or doc["rows"] != len(rows):
        bad.append("%s: rows %r weight %r, python %r" % (f, doc["rows"], doc["weight"], W))
    figs = [(p["name"], None, p) for p in doc["policies"]]
    figs += [(p["action"], None, p) for p in doc["arms"]]
    figs += [(p["a"], p["b"], p) for p in doc["differences"]]
    for a, b, p in figs:
        x = q[a] - q[b] if b else q[a]
        m, se = weighted(x, cl)
        for what, got, want in (("value", p["value"], m), ("se", p["se"], se)):
            if abs(got - want) > TOL * max(1.0, abs(want)):
                bad.append("%s %s %s: eval %r, numpy %r" % (f, a + (" - " + b if b else ""), what, got, want))
    print("# %s: %d figures checked, W = %r" % (f, len(figs), W))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
	check "fractional weights: values and standard errors (plain and CR1) equal numpy's to 1e-9" \
		"$PY wcheck.py"
else
	skip 2 "python3 with numpy is not installed"
fi

# Refusals (refused, tests/lib.sh): exit 2, one line, nothing written.
awk -F, -v OFS=, 'NR == 2 { $12 = "1e300"; $7 = "1e9" } { print }' w.csv > big.csv &&
	policy-prep apply -m m.yaml big.csv > big.pf
ok $? "a row of weight 1e300 and a reward of 1e9"
refused "a weight times a reward that overflows" "cannot be summed exactly" \
	policy-split eval -t a.yaml big.pf
refused "the same in a partial" "cannot be summed exactly" \
	policy-split eval --partial -t a.yaml big.pf
awk -F, -v OFS=, 'NR > 1 { $12 = 0 } { print }' w.csv > zero.csv &&
	policy-prep apply -m m.yaml zero.csv > zero.pf
refused "weights that add up to 0" "weights add up to 0" \
	policy-split eval -t a.yaml zero.pf
# A weighted partial with its weights taken out and sealed again: the same
# manifest, but it cannot join weighted partials.
sed -e '/^weight: /d' -e 's/, weight: [^,]*,/,/' p1.0.part | ./reseal > unw.part
refused "weighted and unweighted partials" "weighted and unweighted" \
	policy-split eval --merge unw.part p1.1.part
refused "unweighted and weighted partials" "weighted and unweighted" \
	policy-split eval --merge p1.1.part unw.part

done_testing

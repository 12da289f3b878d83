#!/bin/sh
# policy-score fit with sample (frequency) weights: whole weights 0..4 give
# the model of the rows repeated that many times, byte for byte but the
# row counts (ridge + DR, cross-fitted, partials merged, logistic
# propensities, the outcome forest), and the same scores; fractional
# weights against an independent weighted ridge in numpy; refusals (a
# weighted term out of the exact range, weights that leave an arm empty).
#
# The manifest is fitted once on the weighted CSV (--weight w) and applied
# to both CSVs.  The row hash leaves the weight out, so a weighted row and
# its copies of weight 1 are one unit and share a cross-fitting fold.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 2

policy-prep synth --rows 3000 --seed 11 --missing 0.05 > x.csv &&
	awk -F, -v OFS=, 'NR == 1 { print "id", $0, "w"; next }
	    { print NR - 2, $0, (NR * 7) % 11 % 5 }' x.csv > xw.csv &&
	awk -F, -v OFS=, 'NR == 1 { print; next }
	    { w = $NF; $NF = 1; for (i = 0; i < w; i++) print }' xw.csv > xd.csv &&
	policy-prep fit --treatment arm --outcome y --weight w --exclude id \
	    xw.csv > m.yaml &&
	policy-prep apply -m m.yaml xw.csv > xw.pf &&
	policy-prep apply -m m.yaml xd.csv > xd.pf
ok $? "weighted CSV (weights 0..4), its rows repeated w times, one manifest"
check "the data has weight-0 rows and more rows once repeated" \
	"grep -q ',0\$' xw.csv && [ \$(wc -l < xd.csv) -gt \$(wc -l < xw.csv) ]"

# same A B: the model files agree but on their row counts (and so their
# digests); the repeated rows' counts are the weighted model's weight sums.
cat > same.sh <<'EOF'
grep -v '^    rows:\|^digest:' "$1" > "$1.cmp" &&
grep -v '^    rows:\|^digest:' "$2" > "$2.cmp" &&
cmp "$1.cmp" "$2.cmp" &&
grep '^    weight:' "$1" | sed 's/weight/rows/' > "$1.w" &&
grep '^    rows:' "$2" | cmp - "$1.w" &&
! cmp -s "$1" "$2"
EOF

check "ridge + DR (5 folds): weights = repeated rows, but the row counts" \
	"policy-score fit -m m.yaml xw.pf -o mw.yaml &&
	 policy-score fit -m m.yaml xd.pf -o md.yaml && sh same.sh mw.yaml md.yaml"
check "the weighted model counts the rows (weight 0 included) apart" \
	"policy-score fit -m m.yaml --folds 1 xw.pf -o mw1.yaml &&
	 n=\$(grep '^    rows:' mw1.yaml | tr -d '[],' | awk '{ print \$2 + \$3 + \$4 }') &&
	 [ \$n -eq 3000 ]"
check "--folds 1 and --folds 3 --fold-seed 7 --lambda 0.25: weights = repeated rows" \
	"policy-score fit -m m.yaml --folds 1 xd.pf -o md1.yaml &&
	 sh same.sh mw1.yaml md1.yaml &&
	 policy-score fit -m m.yaml --folds 3 --fold-seed 7 --lambda 0.25 xw.pf -o mw3.yaml &&
	 policy-score fit -m m.yaml --folds 3 --fold-seed 7 --lambda 0.25 xd.pf -o md3.yaml &&
	 sh same.sh mw3.yaml md3.yaml"
check "binary outcome, given propensities and a cost: weights = repeated rows" \
	"awk -F, -v OFS=, 'NR > 1 { \$13 = \$13 > 1 ? 1 : 0 } 1' xw.csv > bw.csv &&
	 awk -F, -v OFS=, 'NR > 1 { \$13 = \$13 > 1 ? 1 : 0 } 1' xd.csv > bd.csv &&
	 policy-prep apply -m m.yaml bw.csv > bw.pf &&
	 policy-prep apply -m m.yaml bd.csv > bd.pf &&
	 policy-score fit -m m.yaml --outcome binary --propensity given:0.4,0.3,0.3 \
	   --cost 0,0.1,0.2 bw.pf -o bmw.yaml &&
	 policy-score fit -m m.yaml --outcome binary --propensity given:0.4,0.3,0.3 \
	   --cost 0,0.1,0.2 bd.pf -o bmd.yaml && sh same.sh bmw.yaml bmd.yaml"

# Partials: 3 partitions of each, merged in shuffled order.
policy-prep split -n 3 -o 'w.%d.pf' < xw.pf &&
	policy-prep split -n 3 -o 'd.%d.pf' < xd.pf
ok $? "3 hash partitions of each"
check "weighted partials merged in shuffled order = the single weighted fit" \
	"for k in 0 1 2; do
	   policy-score fit -m m.yaml --partial w.\$k.pf -o w.\$k.part || exit 1; done &&
	 policy-score fit --merge w.2.part w.0.part w.1.part -o wm.yaml &&
	 cmp wm.yaml mw.yaml"
check "repeated rows' partials merged = weighted partials merged, but the row counts" \
	"for k in 0 1 2; do
	   policy-score fit -m m.yaml --partial d.\$k.pf -o d.\$k.part || exit 1; done &&
	 policy-score fit --merge d.1.part d.2.part d.0.part -o dm.yaml &&
	 sh same.sh wm.yaml dm.yaml"
check "a weighted partial carries its exact weight sum, a merge of merges too" \
	"grep -q '^weight: 0x' w.0.part &&
	 policy-score fit --merge --partial w.0.part w.2.part -o w02.part &&
	 grep -q '^weight: 0x' w02.part &&
	 policy-score fit --merge w.1.part w02.part | cmp - mw.yaml"

# Fitted propensities.
check "logistic propensities: weights = repeated rows, but the row counts" \
	"policy-score fit -m m.yaml --propensity logistic xw.pf -o lw.yaml &&
	 policy-score fit -m m.yaml --propensity logistic xd.pf -o ld.yaml &&
	 grep -q '^    logit:' lw.yaml && sh same.sh lw.yaml ld.yaml"
check "logistic propensities: 3 files in shuffled order = 1 file" \
	"policy-score fit -m m.yaml --propensity logistic w.2.pf w.0.pf w.1.pf |
	 cmp - lw.yaml"

# Scores: per row, the weight plays no part; the models agree.
for k in dr dm ipw; do
	check "--kind $k: the weighted and the repeated rows' models score alike" \
		"policy-score -M mw.yaml --kind $k xw.pf > s1 &&
		 policy-score -M md.yaml --kind $k xw.pf > s2 && cmp s1 s2 &&
		 policy-score -M mw.yaml --kind $k --backend row xd.pf > s3 &&
		 policy-score -M md.yaml --kind $k xd.pf > s4 && cmp s3 s4"
done
check "logistic models score alike" \
	"policy-score -M lw.yaml xw.pf > s5 && policy-score -M ld.yaml xw.pf > s6 &&
	 cmp s5 s6"
check "scored frames keep the weight column, also under --columns" \
	"policy-score -M mw.yaml xw.pf | policy-prep cat | head -1 |
	   grep -q ',w,score:control,' &&
	 policy-score -M mw.yaml --columns x1 xw.pf | policy-prep cat > c.csv &&
	 head -1 c.csv | grep -qx '_row,x1,arm,y,w,score:control,score:t1,score:t2' &&
	 policy-prep cat xw.pf | cut -d, -f14 > w1 && cut -d, -f5 c.csv | cmp - w1"

# Fractional weights against an independent weighted ridge in Python:
# float sums (math.fsum of w z z'), Gauss-Jordan elimination with
# pivoting; no numpy needed (numpy is used when it is there).
if command -v python3 > /dev/null; then
	policy-prep synth --rows 400 --seed 5 --missing 0.1 |
	    awk -F, -v OFS=, 'NR == 1 { print $0, "w"; next }
	        { print $0, ((NR * 37) % 101) / 16 + 0.001 * (NR % 7) }' > f.csv &&
	    policy-prep fit --treatment arm --outcome y --weight w f.csv > fm.yaml &&
	    policy-prep apply -m fm.yaml f.csv > f.pf &&
	    policy-score fit -m fm.yaml --folds 1 --lambda 0.5 f.pf -o fmodel.yaml
	ok $? "fractional weights: fit"
	cat > ridge.py <<'PY'
import sys, csv, re, math
rows = list(csv.reader(open(sys.argv[1])))
head, rows = rows[0], rows[1:]
feats = [h for h in head if h.startswith('x')]
arms = ['control', 't1', 't2']
LAM = 0.5
model = open(sys.argv[2]).read()
def arr(s):
    return [float(v) for v in s.strip().strip('[]').split(',')]
coef = [arr(l.split('- ', 1)[1]) for l in
        model.split('    coef:\n')[1].split('digest:')[0].splitlines()]
prop = arr(re.search(r'\n    propensity: (.*)\n', model).group(1))
wsum = arr(re.search(r'\n    weight: (.*)\n', model).group(1))
def design(r):
    x = [r[head.index(f)] for f in feats]
    return [1.0] + [0.0 if v == 'NA' else float(v) for v in x] + \
        [1.0 if v == 'NA' else 0.0 for v in x]
data = [(design(r), float(r[head.index('y')]), float(r[head.index('w')]),
         arms.index(r[head.index('arm')])) for r in rows]
P = len(data[0][0])
def ridge(a):
    d = [(z, y, w) for z, y, w, t in data if t == a]
    try:
        import numpy as np
        Z = np.array([z for z, y, w in d]); y = np.array([y for z, y, w in d])
        w = np.array([w for z, y, w in d]); D = np.eye(P); D[0, 0] = 0
        return list(np.linalg.solve(Z.T @ (w[:, None] * Z) + LAM * D,
                                    Z.T @ (w * y)))
    except ImportError:
        pass
    S = [[math.fsum(w * z[i] * z[j] for z, y, w in d) + (LAM if i == j and i else 0)
          for j in range(P)] + [math.fsum(w * z[i] * y for z, y, w in d)]
         for i in range(P)]
    for c in range(P):
        p = max(range(c, P), key=lambda r: abs(S[r][c]))
        S[c], S[p] = S[p], S[c]
        for r in range(P):
            if r != c:
                f = S[r][c] / S[c][c]
                S[r] = [u - f * v for u, v in zip(S[r], S[c])]
    return [S[i][P] / S[i][i] for i in range(P)]
W = math.fsum(w for z, y, w, t in data)
worst = 0.0
for a in range(3):
    b = ridge(a)
    worst = max(worst, max(abs(u - v) for u, v in zip(b, coef[a])) /
                max(abs(u) for u in b))
    wa = math.fsum(w for z, y, w, t in data if t == a)
    worst = max(worst, abs(wa - wsum[a]) / wa, abs(wa / W - prop[a]))
print('worst relative difference %.3g' % worst)
sys.exit(worst > 1e-9)
PY
	python3 ridge.py f.csv fmodel.yaml > py.out 2>&1
	ok $? "fractional weights: coefficients, weight sums and arm shares = an independent weighted ridge within 1e-9"
	sed 's/^/# /' py.out
else
	skip 2 "python3 is not available"
fi

# Refusals (refused, tests/lib.sh): exit 2, one line, nothing written.
awk -F, -v OFS=, 'NR == 5 { $NF = "1e-300" } 1' xw.csv > u.csv &&
	policy-prep apply -m m.yaml u.csv > u.pf &&
	awk -F, -v OFS=, 'NR == 5 { $NF = "1e300"; $3 = 1e10 } 1' xw.csv > o.csv &&
	policy-prep apply -m m.yaml o.csv > o.pf &&
	awk -F, -v OFS=, 'NR > 1 && $12 == "t1" { $NF = 0 } 1' xw.csv > z.csv &&
	policy-prep apply -m m.yaml z.csv > z.pf
ok $? "frames with a tiny weight, a huge one, an arm of weight 0"
refused "a weighted term below 2^-968" "u.pf: row 4: weight 1e-300 .*2^-968" \
	policy-score fit -m m.yaml u.pf
refused "a weighted term below 2^-968 (logistic)" "row 4: weight 1e-300" \
	policy-score fit -m m.yaml --propensity logistic u.pf
refused "a weighted term that overflows" "o.pf: row 4: weight 1e+300 .*overflows" \
	policy-score fit -m m.yaml o.pf
refused "an arm of weight 0" "arm 't1' has no training rows of positive weight" \
	policy-score fit -m m.yaml --folds 1 z.pf
for o in "--trees 6 --depth 4" "--trees 5 --depth 3 --subsample 0.6 --mtry 3 --folds 3"; do
	policy-score fit --learner forest $o -m m.yaml xw.pf > fw.yaml &&
		policy-score fit --learner forest $o -m m.yaml xd.pf > fd.yaml &&
		grep -v '^ *rows:\|^digest:' fw.yaml > fw.cmp &&
		grep -v '^ *rows:\|^digest:' fd.yaml > fd.cmp &&
		cmp -s fw.cmp fd.cmp && ! cmp -s fw.yaml fd.yaml &&
		policy-score -M fw.yaml xw.pf | policy-prep cat > sw.csv &&
		policy-score -M fd.yaml xw.pf | policy-prep cat > sd.csv &&
		cmp -s sw.csv sd.csv
	ok $? "the outcome forest ($o): weights == the rows repeated, and its scores"
done
# The forest over 3 partitions, level by level, merged in reverse order:
# the bytes of one process (the partials and states carry the weights).
F="--learner forest --trees 4 --depth 3 --subsample 0.7 --folds 2"
policy-prep split -n 3 -o q.%d.pf xw.pf
state=""
for L in 0 1 2; do
	for i in 0 1 2; do
		if [ -z "$state" ]; then
			policy-score fit -m m.yaml $F --partial q.$i.pf > q.$i.f$L
		else
			policy-score fit -m m.yaml --learner forest --state "$state" \
				--partial q.$i.pf > q.$i.f$L
		fi || echo "# partial $i of level $L failed"
	done
	policy-score fit -m m.yaml --learner forest ${state:+--state "$state"} \
		--merge --expect 3 q.2.f$L q.1.f$L q.0.f$L > s$L.yaml ||
		echo "# merge of level $L failed"
	state=s$L.yaml
done
policy-score fit -m m.yaml $F xw.pf > f1.yaml &&
	cmp -s f1.yaml s2.yaml && grep -q '^weights: ' q.0.f0 &&
	grep -q '^weights: ' s0.yaml
ok $? "the weighted forest over 3 partitions, level by level: the forest of one process"
policy-prep fit --treatment arm --outcome y --exclude id,w xw.csv > mu.yaml &&
	policy-prep apply -m mu.yaml xw.csv > xu.pf &&
	policy-score fit -m mu.yaml --partial xu.pf -o u.part
ok $? "an unweighted partial of the same rows"
check "an unweighted partial has no weight: line" "! grep -q '^weight:' u.part"
refused "a merge of weighted and unweighted partials" \
	"an unweighted partial, the others weighted" \
	policy-score fit --merge w.0.part u.part

done_testing

#!/bin/sh
# policy-score end to end: backend parity (forests with missing values,
# reward models on generated data and on Hillstrom), partition independence
# of fit (1 partition vs 8 partials merged in shuffled order), the DR
# formula against an independent computation (exact rational ridge in
# Python).  Bad input refused: testdata/cli/score/*.case.
. "$(dirname "$0")/lib.sh"

# --- forests ---
policy-score forest-gen --trees 20 --depth 6 --features 12 --arms 4 --seed 5 \
	-o "$T/f.yaml" &&
	policy-score gen-data --rows 70000 --features 12 --missing 0.1 --seed 9 \
	-o "$T/g.pf"
ok $? "forest-gen and gen-data"
check "forest: row and vector backends give identical frames (10% missing)" \
	"policy-score -M $T/f.yaml --backend row -l 0 $T/g.pf > $T/g1.pf &&
	 policy-score -M $T/f.yaml --backend vector -l 0 $T/g.pf > $T/g2.pf &&
	 cmp $T/g1.pf $T/g2.pf"
check "forest-gen is deterministic" \
	"policy-score forest-gen --trees 20 --depth 6 --features 12 --arms 4 \
	   --seed 5 | cmp - $T/f.yaml"
check "gen-data ranges concatenate to the whole" \
	"policy-score gen-data --rows 30000 --features 12 --seed 9 -l 0 > $T/ga.pf &&
	 policy-score gen-data --rows 40000 --first 30000 --features 12 --seed 9 -l 0 > $T/gb.pf &&
	 policy-prep cat $T/ga.pf $T/gb.pf > $T/gab.csv &&
	 policy-prep cat $T/g.pf > $T/g.csv && cmp $T/gab.csv $T/g.csv"
# The scores by an independent traversal (awk over the YAML arrays).
policy-prep cat "$T/g1.pf" | head -301 > "$T/g1.csv"
awk -v F=12 -v A=4 '
function arr(s, a,   n, i, t) {
	sub(/^[^[]*\[/, "", s); sub(/\][^]]*$/, "", s)
	n = split(s, t, /, */)
	for (i = 1; i <= n; i++) a[i - 1] = t[i]
	return n
}
FNR == NR {
	if ($1 == "-" && $2 == "nodes:") { nt++; next }
	if ($1 == "feature:") arr($0, tmp) + 0
	if ($1 == "feature:") for (i in tmp) feat[nt, i] = tmp[i]
	if ($1 == "threshold:") { arr($0, tmp); for (i in tmp) thr[nt, i] = tmp[i] }
	if ($1 == "missing_left:") { arr($0, tmp); for (i in tmp) ml[nt, i] = tmp[i] }
	if ($1 == "left:") { arr($0, tmp); for (i in tmp) lf[nt, i] = tmp[i] }
	if ($1 == "right:") { arr($0, tmp); for (i in tmp) rt[nt, i] = tmp[i] }
	if ($1 == "value:") {
		s = $0; sub(/^ *value: \[/, "", s); sub(/\]$/, "", s)
		n = split(s, parts, /\], *\[/)
		for (i = 1; i <= n; i++) {
			gsub(/[][]/, "", parts[i])
			m = split(parts[i], vv, /, */)
			for (a = 1; a <= m; a++) val[nt, i - 1, a - 1] = vv[a]
		}
	}
	next
}
FNR == 1 { FS = ","; next }
{
	split($0, c, ",")
	for (a = 0; a < A; a++) sum[a] = 0
	for (t = 1; t <= nt; t++) {
		n = 0
		while (feat[t, n] >= 0) {
			x = c[2 + feat[t, n]]
			if (x == "NA") n = ml[t, n] ? lf[t, n] : rt[t, n]
			else n = (x + 0 <= thr[t, n] + 0) ? lf[t, n] : rt[t, n]
		}
		for (a = 0; a < A; a++) sum[a] += val[t, n, a]
	}
	for (a = 0; a < A; a++) {
		want = sum[a] / nt; got = c[2 + F + a] + 0
		d = want - got; if (d < 0) d = -d
		if (d > 1e-12) { bad++; if (bad < 3) print "row " FNR ": " a ": " want " vs " got }
	}
	rows++
}
END { print rows " rows checked, " bad + 0 " mismatches"; exit bad > 0 || rows != 300 }
' FS=' ' "$T/f.yaml" FS=',' "$T/g1.csv" > "$T/awk.out" 2>&1
ok $? "forest scores match an independent awk traversal (missing values included)"
sed 's/^/# /' "$T/awk.out"

# --- reward models ---
policy-prep synth --rows 20000 --seed 3 --missing 0.05 > "$T/x.csv" &&
	policy-prep fit --treatment arm --outcome y "$T/x.csv" > "$T/m.yaml" &&
	policy-prep apply -m "$T/m.yaml" "$T/x.csv" > "$T/x.pf"
ok $? "synth, manifest, frames"
M="-m $T/m.yaml"
check "fit a model with 5-fold cross-fitting and a cost" \
	"policy-score fit $M --cost 0,0.1,0.2 $T/x.pf -o $T/model.yaml"
for k in dr dm ipw; do
	check "reward model --kind $k: row and vector backends identical" \
		"policy-score -M $T/model.yaml --kind $k --backend row $T/x.pf > $T/r1 &&
		 policy-score -M $T/model.yaml --kind $k $T/x.pf > $T/r2 && cmp $T/r1 $T/r2"
done

# Partition independence of fit.
policy-prep split -n 8 -o "$T/p.%d.pf" < "$T/x.pf"
ok $? "8 hash partitions"
check "8 partials merged in shuffled order = a single-process fit, byte for byte" \
	"for k in 0 1 2 3 4 5 6 7; do
	   policy-score fit $M --cost 0,0.1,0.2 --partial $T/p.\$k.pf > $T/p.\$k.part || exit 1; done &&
	 policy-score fit --merge $T/p.5.part $T/p.2.part $T/p.7.part $T/p.0.part \
	   $T/p.3.part $T/p.6.part $T/p.1.part $T/p.4.part > $T/merged.yaml &&
	 cmp $T/merged.yaml $T/model.yaml"
check "a merge of merged partials is the same model" \
	"policy-score fit --merge --partial $T/p.[0-3].part > $T/a.part &&
	 policy-score fit --merge --partial $T/p.[4-7].part > $T/b.part &&
	 policy-score fit --merge $T/b.part $T/a.part | cmp - $T/model.yaml"
check "scores from the merged model equal the single fit's" \
	"policy-score -M $T/merged.yaml $T/x.pf > $T/sm1 &&
	 policy-score -M $T/model.yaml $T/x.pf > $T/sm2 && cmp $T/sm1 $T/sm2"
check "partitions scored separately give the same rows" \
	"for k in 0 1 2 3 4 5 6 7; do policy-score -M $T/model.yaml $T/p.\$k.pf \
	   > $T/s.\$k.pf || exit 1; done &&
	 policy-prep cat $T/s.[0-7].pf | sort > $T/sp.csv &&
	 policy-score -M $T/model.yaml $T/x.pf | policy-prep cat | sort > $T/s1.csv &&
	 cmp $T/sp.csv $T/s1.csv"

# Fitted (multinomial logistic) propensities: passes over named files.
check "logistic propensities: 8 files in shuffled order = 1 file, byte for byte" \
	"policy-score fit $M --propensity logistic $T/x.pf > $T/lm1.yaml &&
	 policy-score fit $M --propensity logistic $T/p.3.pf $T/p.0.pf $T/p.6.pf \
	   $T/p.1.pf $T/p.7.pf $T/p.2.pf $T/p.5.pf $T/p.4.pf > $T/lm8.yaml &&
	 cmp $T/lm1.yaml $T/lm8.yaml && grep -q '^    logit:' $T/lm1.yaml"
check "logistic propensities: row and vector backends identical" \
	"policy-score -M $T/lm1.yaml --backend row $T/x.pf > $T/lr1 &&
	 policy-score -M $T/lm1.yaml $T/x.pf > $T/lr2 && cmp $T/lr1 $T/lr2"

# The DR formula against an independent computation: exact rational ridge
# in Python (fractions), folds by splitmix64, then G by the formula.
if command -v python3 > /dev/null; then
	policy-prep synth --rows 300 --seed 4 --missing 0.1 > "$T/small.csv" &&
	policy-prep fit --treatment arm --outcome y "$T/small.csv" > "$T/sm.yaml" &&
	policy-prep apply -m "$T/sm.yaml" "$T/small.csv" > "$T/small.pf" &&
	policy-score fit -m "$T/sm.yaml" --folds 3 --fold-seed 7 --lambda 0.5 \
		--cost 0,0.25,0.5 --propensity-floor 0.2 "$T/small.pf" > "$T/smodel.yaml" &&
	policy-score -M "$T/smodel.yaml" "$T/small.pf" | policy-prep cat > "$T/small.out"
	ok $? "small table scored"
	cat > "$T/check.py" <<'PY'
import sys, csv
from fractions import Fraction as Fr
M = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9e3779b97f4a7c15) & M
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
    return x ^ (x >> 31)
K, SEED, LAM, FLOOR, COST = 3, 7, Fr(1, 2), 0.2, [0, 0.25, 0.5]
rows = list(csv.reader(open(sys.argv[1])))
head, rows = rows[0], rows[1:]
feats = [h for h in head if h.startswith('x')]
arms = ['control', 't1', 't2']
fi = [head.index(f) for f in feats]
F, A = len(feats), len(arms)
def design(r):
    x = [r[i] for i in fi]
    return [1.0] + [0.0 if v == 'NA' else float(v) for v in x] + \
        [1.0 if v == 'NA' else 0.0 for v in x]
data = []
for r in rows:
    z = design(r)
    data.append((int(r[0]), z, arms.index(r[head.index('arm')]),
                 float(r[head.index('y')]), r))
fold = lambda h: splitmix(h ^ SEED) % K
P = 1 + 2 * F
def solve(k, a):
    S = [[Fr(0)] * P for _ in range(P)]; b = [Fr(0)] * P
    for h, z, w, y, _ in data:
        if w != a or fold(h) == k: continue
        for i in range(P):
            b[i] += Fr(z[i] * y)     # each product rounded once, as documented
            for j in range(P):
                S[i][j] += Fr(z[i] * z[j])
    S = [[Fr(float(v)) for v in row] for row in S]   # sums rounded once
    b = [Fr(float(v)) for v in b]
    for i in range(1, P): S[i][i] += LAM
    for c in range(P):                                # exact elimination
        p = next(r for r in range(c, P) if S[r][c] != 0)
        S[c], S[p], b[c], b[p] = S[p], S[c], b[p], b[c]
        for r in range(P):
            if r != c and S[r][c] != 0:
                f = S[r][c] / S[c][c]
                S[r] = [u - f * v for u, v in zip(S[r], S[c])]; b[r] -= f * b[c]
    return [float(b[i] / S[i][i]) for i in range(P)]
coef = {(k, a): solve(k, a) for k in range(K) for a in range(A)}
prop = {}
for k in range(K):
    n = [sum(1 for h, z, w, y, _ in data if w == a and fold(h) != k) for a in range(A)]
    for a in range(A): prop[k, a] = max(n[a] / sum(n), FLOOR)
out = list(csv.reader(open(sys.argv[2])))
oh = out[0]; out = {r[0]: r for r in out[1:]}
bad = 0; worst = 0.0
for h, z, w, y, r in data:
    k = fold(h)
    for a in range(A):
        m = sum(c * v for c, v in zip(coef[k, a], z))
        g = m + ((y - m) / prop[k, a] if w == a else 0.0) - COST[a]
        got = float(out[str(h)][oh.index('score:' + arms[a])])
        err = abs(g - got) / max(1.0, abs(g))
        worst = max(worst, err)
        if err > 1e-9: bad += 1
print('%d rows, worst relative difference %.3g, %d over 1e-9' % (len(data), worst, bad))
sys.exit(1 if bad or len(data) != 300 else 0)
PY
	policy-prep cat "$T/small.pf" > "$T/small.in"
	python3 "$T/check.py" "$T/small.in" "$T/small.out" > "$T/py.out" 2>&1
	ok $? "DR scores equal an independent exact-rational computation"
	sed 's/^/# /' "$T/py.out"
	check "300 rows (not a multiple of 8): row and vector backends identical" \
		"policy-score -M $T/smodel.yaml --backend row $T/small.pf > $T/sr1 &&
		 policy-score -M $T/smodel.yaml $T/small.pf > $T/sr2 && cmp $T/sr1 $T/sr2"
else
	skip 3 "python3 not found"
fi

# Hillstrom (skipped when the data set is absent).
H=$DATA/hillstrom.csv
if [ -r "$H" ]; then
	policy-prep fit --treatment segment --outcome visit --exclude conversion,spend \
		--vocabulary "No E-Mail,Mens E-Mail,Womens E-Mail" "$H" > "$T/hm.yaml" &&
		policy-prep apply -m "$T/hm.yaml" "$H" > "$T/h.pf" &&
		policy-score fit -m "$T/hm.yaml" --outcome binary "$T/h.pf" > "$T/hmodel.yaml"
	ok $? "Hillstrom: manifest, frames, binary-outcome model"
	for k in dr dm ipw; do
		check "Hillstrom --kind $k: row and vector backends identical" \
			"policy-score -M $T/hmodel.yaml --kind $k --backend row $T/h.pf > $T/h1 &&
			 policy-score -M $T/hmodel.yaml --kind $k $T/h.pf > $T/h2 && cmp $T/h1 $T/h2"
	done
else
	skip 4 "hillstrom.csv not found"
fi

check "the memory limit does not change the model: no limit, the default and 1G agree" \
	"policy-score fit $M --max-memory 0 $T/x.pf > $T/mm0 &&
	 policy-score fit $M --max-memory 1G $T/x.pf > $T/mm1 &&
	 policy-score fit $M $T/x.pf > $T/mm2 && cmp $T/mm0 $T/mm1 && cmp $T/mm0 $T/mm2"

# Every long option of the help text is in the manual page.
missing=
for o in $(policy-score --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
	sed 's/\\-/-/g' "$top/man/policy-score.1" | grep -q -- "$o" ||
		missing="$missing $o"
done
[ -z "$missing" ]
ok $? "every option of --help is documented in policy-score(1)${missing:+:$missing}"

# --columns: fewer bytes per row.  The features alone, of the columns
# apply wrote: the bin codes are gone, _row, the treatment and the outcome
# stay, and policy-split fit gives the tree of the full frames.
F5=$(policy-prep cat "$T/x.pf" | head -1 | tr , '\n' | grep -vx -e _row -e arm -e y | paste -sd, -)
policy-score -M "$T/model.yaml" --columns "$F5" "$T/x.pf" > "$T/c.pf" &&
	policy-score -M "$T/model.yaml" "$T/x.pf" > "$T/f.pf" &&
	policy-prep cat --columns bin:x1 "$T/f.pf" > /dev/null &&
	! policy-prep cat --columns bin:x1 "$T/c.pf" > /dev/null 2>&1 &&
	[ "$(policy-prep cat "$T/c.pf" | head -1)" = "$(policy-prep cat "$T/f.pf" | head -1)" ] &&
	[ "$(wc -c < "$T/c.pf")" -lt "$(wc -c < "$T/f.pf")" ]
ok $? "--columns: the features alone drop the bin codes, keep _row, arm, y and the scores"
if command -v policy-split > /dev/null; then
	check "--columns: policy-split fit on the reduced frames writes the same tree bytes" \
		"policy-split fit $M --depth 2 $T/f.pf > $T/ft.yaml &&
		 policy-split fit $M --depth 2 $T/c.pf > $T/ct.yaml && cmp $T/ft.yaml $T/ct.yaml"
	check "--columns: dropping a feature split needs is refused by split, by name" \
		"policy-score -M $T/model.yaml --columns x1 $T/x.pf > $T/c1.pf &&
		 ! policy-split fit $M --depth 2 $T/c1.pf > /dev/null 2> $T/c1.err &&
		 grep -q 'lack feature column' $T/c1.err"
else
	skip 2 "policy-split not built"
fi
check "--columns: the treatment and outcome cannot be dropped (dr needs them; kept unnamed)" \
	"policy-score -M $T/model.yaml --columns x1 $T/x.pf | policy-prep cat | head -1 | grep -q ',arm,y,score:'"

# A policy-split tree scores as a forest (when policy-split is built).
if command -v policy-split > /dev/null; then
	policy-score -M "$T/model.yaml" "$T/x.pf" > "$T/xs.pf" &&
		policy-split fit $M --depth 2 "$T/xs.pf" > "$T/tree.yaml"
	ok $? "a policy-split tree"
	check "the tree scores with both backends alike" \
		"policy-score -M $T/tree.yaml --backend row $T/x.pf > $T/t1 &&
		 policy-score -M $T/tree.yaml $T/x.pf > $T/t2 && cmp $T/t1 $T/t2"
else
	skip 2 "policy-split not built"
fi
done_testing

#!/bin/sh
# policy-score fit --learner forest: outcome forests grown from exact
# histograms.  The forest depends on the rows' values only (not their
# order or how frames cut them), both scoring backends give its scores
# bit for bit, it fits a non-linear response better than ridge, and its
# refusals are one line with no output.
. "$(dirname "$0")/lib.sh"
cd "$T"
policy-prep synth --rows 30000 --seed 11 --missing 0.05 --oracle > d.csv
policy-prep fit --treatment arm --outcome y --exclude best,mu_control,mu_t1,mu_t2 \
	--bins 24 --train-fraction 0.7 --seed 1 d.csv > m.yaml
policy-prep apply -m m.yaml --subset train d.csv > tr.pf
policy-prep apply -m m.yaml --subset test d.csv > te.pf
F="--learner forest --trees 12 --depth 5 --min-leaf 10 --subsample 0.6 --seed 7"

policy-score fit -m m.yaml $F tr.pf > f.yaml
ok $? "fit --learner forest"
grep -q '^format: policy-forest' f.yaml && [ "$(grep -c '^  - nodes:' f.yaml)" -eq 12 ]
ok $? "writes a forest of 12 trees"

# The same rows, cut into other frames and given in another order (from
# a pipe, which the fit spools): the same bytes.
policy-prep split -n 5 -o p.%d.pf tr.pf
cat p.4.pf p.2.pf p.0.pf p.3.pf p.1.pf | policy-score fit -m m.yaml $F > f2.yaml
cmp -s f.yaml f2.yaml
ok $? "five partitions in another order, through a pipe: the same bytes"
policy-score fit -m m.yaml $F --seed 8 tr.pf > f3.yaml
! cmp -s f.yaml f3.yaml
ok $? "another seed gives another forest"

# Both backends score it bit for bit: its predictions (dm) and its
# doubly robust scores (dr, the default).
policy-score -M f.yaml --kind dm te.pf | policy-prep cat > v.csv
policy-score -M f.yaml --kind dm --backend row te.pf | policy-prep cat > r.csv
cmp -s v.csv r.csv && [ "$(wc -l < v.csv)" -gt 8000 ]
ok $? "vector and row backends give the same predictions"
policy-score -M f.yaml te.pf | policy-prep cat > vdr.csv
policy-score -M f.yaml --backend row te.pf | policy-prep cat > rdr.csv
cmp -s vdr.csv rdr.csv && ! cmp -s v.csv vdr.csv
ok $? "vector and row backends give the same doubly robust scores"

# The forest carries the training rows per arm and their shares, the
# propensities of its dr and ipw scores; each score is the formula of
# policy-model(5) on its predictions, bit for bit (Python's floats are
# the same doubles, the operations the same).
policy-score fit -m m.yaml --folds 1 --cost 0,0.5,-0.25 tr.pf > rc.yaml
policy-score fit -m m.yaml $F --cost 0,0.5,-0.25 --propensity-floor 0.34 tr.pf > fc.yaml
for k in dm dr ipw; do
	policy-score -M fc.yaml --kind $k te.pf | policy-prep cat > c.$k.csv || echo "# $k failed"
done
python3 - fc.yaml rc.yaml v.csv c.dm.csv c.dr.csv c.ipw.csv <<'PY'
import csv, re, sys
def flow(path, key):
    for line in open(path):
        m = re.match(r'\s*%s: \[(.*)\]$' % key, line)
        if m:
            return [float(x) for x in m.group(1).split(',')]
rows = flow(sys.argv[1], 'rows')
assert rows == flow(sys.argv[2], 'rows'), (rows, flow(sys.argv[2], 'rows'))
n = sum(rows)
prop = flow(sys.argv[1], 'propensity')
assert prop == [r / n for r in rows], prop
e = [max(p, 0.34) for p in prop]
cost = [0, 0.5, -0.25]
arms = ['control', 't1', 't2']
pred = list(csv.DictReader(open(sys.argv[3])))
got = {k: list(csv.DictReader(open(f))) for k, f in
       zip(('dm', 'dr', 'ipw'), sys.argv[4:7])}
bad = 0
for i, r in enumerate(pred):
    y = float(r['y'])
    for a, lab in enumerate(arms):
        m = float(r['score:' + lab])
        hit = r['arm'] == lab
        want = {'dm': m - cost[a],
                'dr': (m + ((y - m) / e[a] if hit else 0.0)) - cost[a],
                'ipw': (y / e[a] if hit else 0.0) - cost[a]}
        for k in want:
            if float(got[k][i]['score:' + lab]) != want[k]:
                bad += 1
print('# %d of %d scores differ' % (bad, len(pred)))
sys.exit(bad != 0 or len(pred) < 8000)
PY
ok $? "dm, dr and ipw from the forest: its predictions, its arm shares (floored) and costs, bit for bit"
policy-score forest-gen --features 10 --arms 3 > gen.yaml
policy-score -M gen.yaml --kind dr te.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && [ "$(wc -l < err)" -eq 1 ] && grep -q 'without propensities' err
ok $? "--kind with a forest that has no propensities is refused"

# Cross-fitting: with --folds 3, tree k is grown without the rows of fold
# k mod 3 (the reference below checks the trees) and a row is scored by
# the trees of its fold only: each prediction is the mean of those trees'
# leaves, walked here in Python, bit for bit; both backends agree.
policy-score fit -m m.yaml $F --folds 3 --fold-seed 5 tr.pf > fk.yaml
grep -q '^folds: 3$' fk.yaml && grep -q '^fold_seed: 5$' fk.yaml
ok $? "a cross-fitted forest names its folds"
policy-score -M fk.yaml --kind dm tr.pf | policy-prep cat > kv.csv
policy-score -M fk.yaml --kind dm --backend row tr.pf | policy-prep cat > kr.csv
cmp -s kv.csv kr.csv && [ "$(wc -l < kv.csv)" -gt 20000 ]
ok $? "vector and row backends give a cross-fitted forest's scores bit for bit"
if python3 -c 'import yaml' 2>/dev/null; then
	PYTHONPATH="$top/tests" python3 - fk.yaml kv.csv <<'PY'
import csv, math, sys, yaml
from ofit_ref import splitmix64
f = yaml.safe_load(open(sys.argv[1]))
K, seed, A = f['folds'], f['fold_seed'], len(f['vocab'])
bad = n = 0
for r in csv.DictReader(open(sys.argv[2])):
    x = [float(r[c]) if r[c] not in ('', 'NA') else math.nan for c in f['features']]
    k = splitmix64(int(r['_row']) ^ seed) % K
    s, m = [0.0] * A, 0
    for t in f['trees'][k::K]:
        i = 0
        while t['feature'][i] >= 0:
            v = x[t['feature'][i]]
            left = t['missing_left'][i] == 1 if math.isnan(v) else v <= float(t['threshold'][i])
            i = t['left'][i] if left else t['right'][i]
        s = [a + float(b) for a, b in zip(s, t['value'][i])]
        m += 1
    for a, lab in enumerate(f['vocab']):
        bad += float(r['score:' + str(lab)]) != s[a] / m
    n += 1
print('# %d of %d rows differ' % (bad, n))
sys.exit(bad != 0 or n < 20000)
PY
	ok $? "each row is scored by the trees grown without its fold (walked in Python)"
else
	skip 1 "needs python3-yaml"
fi
policy-prep split -n 3 -o k.%d.pf tr.pf
state=""
for L in 0 1 2 3 4; do
	for i in 0 1 2; do
		policy-score fit -m m.yaml --learner forest ${state:+--state "$state"} \
			$([ -z "$state" ] && echo "--trees 12 --depth 5 --min-leaf 10 --subsample 0.6 --seed 7 --folds 3 --fold-seed 5") \
			--partial k.$i.pf > k.$i.f$L || echo "# partial $i of level $L failed"
	done
	policy-score fit -m m.yaml --learner forest ${state:+--state "$state"} \
		--merge --expect 3 k.2.f$L k.0.f$L k.1.f$L > ks$L.yaml || echo "# merge of level $L failed"
	state=ks$L.yaml
done
cmp -s fk.yaml ks4.yaml
ok $? "a cross-fitted forest over 3 partitions: the bytes of one process"
policy-score fit -m m.yaml --learner forest --trees 2 --folds 3 tr.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'needs --trees 3' err
ok $? "more folds than trees is refused"

# On a response no linear model fits (synth --nonlinear), depth-2 trees
# from the forest's doubly robust scores have a lower regret against the
# oracle on held-out rows than trees from ridge's (cross-fitted) ones:
# the mean over 10 experiments of 3,000 rows (scripts/forest-regret
# gives 20 seeds with the margin).
cat > regret.py <<'PY'
import csv, sys
orig = {}
key = lambda r: tuple('%.6f' % float(r['x%d' % j]) for j in range(1, 7))
for r in csv.DictReader(open(sys.argv[1])):
    orig[key(r)] = r
for fn in sys.argv[2:]:
    n, reg = 0, 0.0
    for r in csv.DictReader(open(fn)):
        o = orig[key(r)]
        best = max(float(o['mu_' + a]) for a in ('control', 't1', 't2'))
        reg += best - float(o['mu_' + r['action']])
        n += 1
    print('%.6f' % (reg / n), end=' ')
print()
PY
: > regrets
for s in 1 2 3 4 5 6 7 8 9 10; do
	policy-prep synth --rows 3000 --seed $s --noise 0.5 --nonlinear --oracle > n.csv &&
	policy-prep fit -q --treatment arm --outcome y --exclude best,mu_control,mu_t1,mu_t2 \
		--bins 32 --train-fraction 0.5 --seed 1 n.csv > nm.yaml &&
	policy-prep apply -m nm.yaml --subset train n.csv > ntr.pf &&
	policy-prep apply -m nm.yaml --subset test n.csv > nte.pf &&
	policy-score fit -m nm.yaml ntr.pf > nr.yaml &&
	policy-score fit -m nm.yaml --learner forest --trees 50 --depth 6 --min-leaf 20 ntr.pf > nf.yaml &&
	for k in nr nf; do
		policy-score -M $k.yaml ntr.pf | policy-split fit -q -m nm.yaml -M $k.yaml --depth 2 > t.$k.yaml &&
		policy-split apply -t t.$k.yaml nte.pf | policy-prep cat > a.$k.csv || exit 1
	done &&
	python3 regret.py n.csv a.nr.csv a.nf.csv >> regrets || echo "# experiment $s failed"
done
set -- $(awk '{ r += $1; f += $2 } END { printf "%.4f %.4f %d", r / NR, f / NR, NR }' regrets)
echo "# held-out regret of depth-2 trees over $3 experiments: ridge-based dr $1, forest-based dr $2"
[ "$3" -eq 10 ] && awk -v r="$1" -v f="$2" 'BEGIN { exit !(f < r) }'
ok $? "forest-based doubly robust scores give trees of lower regret than ridge-based ones"

# Against the oracle's expected outcomes on held-out rows: the forest's
# per-arm predictions beat ridge's direct-method ones.
policy-score fit -m m.yaml --folds 1 tr.pf > ridge.yaml
policy-score -M ridge.yaml --kind dm te.pf | policy-prep cat > dm.csv
python3 - v.csv dm.csv d.csv > r2.txt <<'EOF'
import csv, sys
orig = {}
def key(r):
    out = []
    for c in ('x1', 'x2', 'x3', 'x4'):
        try:
            out.append('%.6f' % float(r[c]))
        except ValueError:
            out.append('NA')
    return tuple(out)
for r in csv.DictReader(open(sys.argv[3])):
    orig[key(r)] = r
for fn in sys.argv[1:3]:
    rows = list(csv.DictReader(open(fn)))
    mse = 0.0
    n = 0
    for r in rows:
        o = orig[key(r)]
        for a in ('control', 't1', 't2'):
            mse += (float(o['mu_' + a]) - float(r['score:' + a])) ** 2
            n += 1
    print('%.6f' % (mse / n))
EOF
ok $? "held-out predictions matched with the oracle's"
set -- $(cat r2.txt)
echo "# mean squared error against the oracle: forest $1, ridge $2"
awk -v f="$1" -v r="$2" 'BEGIN { exit !(f < 0.6 * r) }'
ok $? "the forest is closer to the oracle than ridge (by 40% at least)"

# A naive reference (tests/ofit_ref.py: rows in memory, exact sums as
# fractions) grows the same trees, node for node and bit for bit.
cat > show.py <<'PY'
import sys, yaml
f = yaml.safe_load(open(sys.argv[1]))
for k, t in enumerate(f['trees']):
    for key in ('feature', 'threshold', 'missing_left', 'left', 'right'):
        print(k, key, ' '.join(repr(float(v)) if key == 'threshold' else
                               repr(int(v)) for v in t[key]))
    print(k, 'leaves', ' '.join(repr(float(v)) for leaf in t['value']
                                for v in leaf))
PY
if python3 -c 'import yaml' 2>/dev/null; then
	policy-prep synth --rows 4000 --seed 5 --missing 0.1 --categorical 1 > s.csv
	policy-prep fit --treatment arm --outcome y --bins 8 s.csv > sm.yaml
	policy-prep apply -m sm.yaml s.csv > s.pf
	policy-prep cat s.pf > s.rows.csv
	# Ties: x2 is x1 again, outcomes are small integers, x3 has few
	# values and many missing; deep trees of tiny leaves, some without
	# every arm.
	python3 - > t.csv <<'PY'
import random
r = random.Random(4)
print('x1,x2,x3,arm,y')
for i in range(300):
    x1 = r.randint(0, 30) / 10
    x3 = 'NA' if r.random() < 0.3 else str(r.randint(0, 4))
    print('%s,%s,%s,%s,%d' % (x1, x1, x3, r.choice('abc'), r.randint(0, 3)))
PY
	policy-prep fit --treatment arm --outcome y --bins all t.csv > tm.yaml
	policy-prep apply -m tm.yaml t.csv > t.pf
	policy-prep cat t.pf > t.rows.csv
	for args in "4 4 20 3 0.7 9 s 1" "3 3 1 0 1 2 s 1" "5 6 1 0 0.8 3 t 1" "5 6 2 2 1 4 t 1" "6 4 5 0 0.9 5 s 3"; do
		set -- $args
		mtry=""
		[ "$4" != 0 ] && mtry="--mtry $4"
		policy-score fit -m ${7}m.yaml --learner forest --trees $1 --depth $2 \
			--min-leaf $3 $mtry --subsample $5 --seed $6 --folds $8 --fold-seed 77 $7.pf > sf.yaml &&
			python3 show.py sf.yaml > got.txt &&
			python3 "$top/tests/ofit_ref.py" ${7}m.yaml $7.rows.csv $1 $2 $3 $4 $5 $6 $8 77 > want.txt &&
			cmp -s got.txt want.txt && [ "$(grep -c ' feature ' got.txt)" -eq $1 ]
		ok $? "the reference grows the same forest ($7: trees $1, depth $2, min-leaf $3, mtry $4, subsample $5, folds $8)"
		[ -s got.txt ] && ! cmp -s got.txt want.txt && diff got.txt want.txt | head -6 | sed 's/^/#   /'
	done
else
	skip 5 "needs python3-yaml"
fi

# Over partitions: per level a partial per partition, merged all or
# nothing in any order, grows the state; after the last level the merge
# writes the forest: the bytes of one process.
policy-prep split -n 8 -o q.%d.pf tr.pf
state=""
for L in 0 1 2 3 4; do
	for i in 0 1 2 3 4 5 6 7; do
		if [ -z "$state" ]; then
			policy-score fit -m m.yaml $F --partial q.$i.pf > q.$i.f$L
		else
			policy-score fit -m m.yaml --learner forest --state "$state" \
				--partial q.$i.pf > q.$i.f$L
		fi || echo "# partial $i of level $L failed"
	done
	policy-score fit -m m.yaml --learner forest ${state:+--state "$state"} \
		--merge --expect 8 $(ls q.*.f$L | sort -r) > s$L.yaml ||
		echo "# merge of level $L failed"
	state=s$L.yaml
done
cmp -s f.yaml s4.yaml
ok $? "8 partitions, merged level by level in reverse order: the forest of one process"
policy-score fit -m m.yaml --learner forest --state s1.yaml --merge \
	q.0.f2 q.1.f2 q.2.f2 q.3.f2 q.4.f2 q.5.f2 q.6.f2 > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'not the rows it was grown on' err
ok $? "a later level's partials that miss a partition are refused (not the rows of level 1)"
grep -q '^format: policy-forest-fit' s2.yaml && grep -q '^level: 3' s2.yaml
ok $? "between levels the merge writes the state of the fit"

policy-score fit -m m.yaml --learner forest --state s1.yaml --merge \
	q.0.f2 q.1.f2 q.0.f2 > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && [ "$(wc -l < err)" -eq 1 ]
ok $? "a partial given twice is refused"
policy-score fit -m m.yaml --learner forest --state s1.yaml --merge \
	--expect 8 q.0.f2 q.1.f2 q.2.f2 q.3.f2 q.4.f2 q.5.f2 q.7.f2 > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'missing' err
ok $? "--expect 8 with a part missing is refused, naming it"
policy-score fit -m m.yaml --learner forest --state s2.yaml --merge \
	q.0.f2 q.1.f2 > out 2> err
[ $? -eq 2 ] && [ ! -s out ]
ok $? "partials of another state are refused"
policy-score fit -m m.yaml --learner forest --state s1.yaml --merge \
	q.0.f2 q.0.f3 > out 2> err
[ $? -eq 2 ] && [ ! -s out ]
ok $? "partials of two levels are refused"
cp q.3.f2 bad.f2
printf 'X' | dd of=bad.f2 bs=1 seek=2000 conv=notrunc 2>/dev/null
policy-score fit -m m.yaml --learner forest --state s1.yaml --merge \
	q.0.f2 bad.f2 > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'checksum' err
ok $? "a corrupted partial is refused by its checksum"
policy-score fit -m m.yaml --learner forest --state s1.yaml --trees 3 \
	--partial q.0.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'state holds' err
ok $? "settings beside --state are refused"
policy-score fit -m m.yaml --learner forest --state f.yaml --partial q.0.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ]
ok $? "a finished forest is no state to grow"

# Refusals: one line, nothing written.
policy-score fit -m m.yaml --learner forest --lambda 2 tr.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'ridge' err
ok $? "a ridge option with --learner forest is refused"
policy-score fit -m m.yaml --trees 5 tr.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'learner forest' err
ok $? "--trees without --learner forest is refused"
policy-score fit -m m.yaml --learner forest --max-memory 1000 tr.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'max-memory' err
ok $? "a level over --max-memory is refused before it is read"
# In one process, a level over --max-memory is grown in batches of nodes
# (a pass over the frames each): the same forest.
policy-score fit -m m.yaml $F --folds 3 --fold-seed 5 --max-memory 1M tr.pf > fb.yaml 2> err
[ $? -eq 0 ] && cmp -s fb.yaml fk.yaml
ok $? "levels over --max-memory grown in batches of nodes: the same bytes"
grep -q 'grown in batches of nodes' err
ok $? "and it says so"
policy-score fit -m m.yaml $F --max-memory 200K --partial q.0.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && grep -q 'a partial holds every tree' err
ok $? "a partial over --max-memory is refused (it holds every tree)"
policy-score fit -m m.yaml --learner forest --depth 13 tr.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ]
ok $? "--depth 13 is refused"
done_testing

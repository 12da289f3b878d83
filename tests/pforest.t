#!/bin/sh
# Forests as policies: policy-split apply and eval take a forest (a policy
# forest from policy-split fit --trees, or an outcome forest from
# policy-score fit --learner forest) and give each row the arm of the
# highest mean leaf value (less the forest's cost), the first on a tie.
# Checked against policy-score's own scores of the same forest.
. "$(dirname "$0")/lib.sh"
cd "$T"
policy-prep synth --rows 12000 --seed 3 --missing 0.05 > d.csv
policy-prep fit -q --treatment arm --outcome y --bins 16 --train-fraction 0.6 --seed 1 d.csv > m.yaml
policy-prep apply -m m.yaml --subset train d.csv > tr.pf
policy-prep apply -m m.yaml --subset test d.csv > te.pf
policy-score fit -m m.yaml tr.pf > model.yaml
policy-score -M model.yaml tr.pf > trs.pf
policy-score -M model.yaml te.pf > tes.pf
policy-split fit -q -m m.yaml -M model.yaml --depth 2 trs.pf > tree.yaml
policy-split fit -q -m m.yaml -M model.yaml --depth 3 --trees 9 --subsample 0.6 --mtry 4 trs.pf > pf.yaml
policy-score fit -m m.yaml --learner forest --trees 10 --depth 4 --min-leaf 20 --cost 0,0.3,0.1 tr.pf > of.yaml
grep -q '^format: policy-forest' pf.yaml && grep -q '^cost:' of.yaml
ok $? "a policy forest and an outcome forest with costs"

# argmax.py SCORES.csv ACTIONS.csv: the actions are the first arm of the
# highest score on every row (the rows in the same order).
cat > argmax.py <<'PY'
import csv, sys
s = list(csv.DictReader(open(sys.argv[1])))
a = list(csv.DictReader(open(sys.argv[2])))
arms = [c[6:] for c in s[0] if c.startswith('score:')]
bad = 0
for r, q in zip(s, a):
    v = [float(r['score:' + x]) for x in arms]
    bad += arms[v.index(max(v))] != q['action']
print('# %d of %d rows differ; actions %s' % (bad, len(a),
      sorted(set(q['action'] for q in a))))
sys.exit(bad != 0 or len(s) != len(a) or len(a) < 4000)
PY
policy-score -M pf.yaml te.pf | policy-prep cat > pf.scores.csv &&
policy-split apply -t pf.yaml te.pf | policy-prep cat > pf.act.csv &&
python3 argmax.py pf.scores.csv pf.act.csv
ok $? "apply with a policy forest: the arm of the highest mean leaf value"
policy-score -M of.yaml --kind dm te.pf | policy-prep cat > of.scores.csv &&
policy-split apply -t of.yaml te.pf | policy-prep cat > of.act.csv &&
python3 argmax.py of.scores.csv of.act.csv
ok $? "apply with an outcome forest: the arm of the highest prediction less its cost"

# eval of a forest: the values of the actions apply gives (exact sums).
policy-split apply -t pf.yaml tes.pf | policy-prep cat > pfs.csv
policy-split eval -t pf.yaml tes.pf > ev.yaml
python3 - pfs.csv ev.yaml <<'PY'
import csv, math, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = math.fsum(float(r['score:' + r['action']]) for r in rows) / len(rows)
got = None
for line in open(sys.argv[2]):
    m = re.match(r'policy: \{value: ([^,]+),', line)
    if m:
        got = float(m.group(1))
print('# eval %r, from the actions %r' % (got, want))
sys.exit(got is None or abs(got - want) > 1e-12 * abs(want))
PY
ok $? "eval of a policy forest: the mean score of apply's actions"
policy-split eval -t tree.yaml -t pf.yaml tes.pf > ev2.yaml &&
grep -q '{a: pf.yaml, b: tree.yaml, value: ' ev2.yaml
ok $? "a tree against a forest: their paired difference"

policy-split eval --curve c.json -t pf.yaml tes.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && [ ! -e c.json ] && grep -q 'give a tree first' err
ok $? "uplift curves of a forest are refused (they rank a tree's leaves)"
policy-prep synth --rows 500 --features 4 > o.csv
policy-prep fit -q --treatment arm --outcome y o.csv > om.yaml
policy-prep apply -m om.yaml o.csv > o.pf
policy-split apply -t pf.yaml o.pf > out 2> err
[ $? -eq 2 ] && [ ! -s out ] && [ "$(wc -l < err)" -eq 1 ] && grep -q manifest err
ok $? "a forest of another manifest is refused, in one line"
done_testing

#!/bin/sh
# Sample weights (policy-prep fit --weight): frequency weights, so a row of
# weight w is the row w times in every exact sum.  The manifest locks the
# column, apply carries it into frames (role weight) and refuses bad
# weights; the row identity leaves it out (a row of weight 2 is the same
# unit as the row twice); split search over weighted frames gives the tree
# of the rows repeated, byte for byte but for row counts, in one process
# and over partitions; steps that do not take weights refuse them.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 2

# A weighted CSV of rewards (weights 0 to 4, a third with fractions in
# fw.csv) and the same rows repeated weight times with weight 1.
cat > gen.awk <<'EOF'
BEGIN {
	srand(7)
	print "x1,x2,c,ra,rb,rc,w" > "w.csv"
	print "x1,x2,c,ra,rb,rc,w" > "dup.csv"
	print "x1,x2,c,ra,rb,rc,w" > "fw.csv"
	for (i = 0; i < 2500; i++) {
		x1 = sprintf("%.3f", rand() * 10)
		x2 = int(rand() * 6)
		c = substr("uvw", int(rand() * 3) + 1, 1)
		ra = sprintf("%.4f", x1 * 0.3 + rand() * 2)
		rb = sprintf("%.4f", (5 - x1) * 0.4 + rand() * 2)
		rc = sprintf("%.4f", x2 * 0.5 + rand() * 2 - (c == "u"))
		w = int(rand() * 5)
		row = x1 "," x2 "," c "," ra "," rb "," rc
		print row "," w > "w.csv"
		for (k = 0; k < w; k++)
			print row ",1" > "dup.csv"
		print row "," sprintf("%.6f", rand() * 3) > "fw.csv"
	}
}
EOF
awk -f gen.awk
check "fit --weight locks the weight column" \
	"policy-prep fit -q --rewards ra,rb,rc --weight w w.csv > m.yaml &&
	 grep -qx 'weight: \"w\"' m.yaml && ! grep -q '^ *- name: w\$' m.yaml"
check "a fit without --weight has no weight key" \
	"policy-prep fit -q --rewards ra,rb,rc --exclude w w.csv > m0.yaml &&
	 ! grep -q '^weight:' m0.yaml"
check "apply carries the weight into the frames" \
	"policy-prep apply -m m.yaml w.csv > w.pf &&
	 policy-prep apply -m m.yaml dup.csv > d.pf &&
	 policy-prep apply -m m.yaml fw.csv > f.pf &&
	 policy-prep cat w.pf | head -1 | grep -q ',w\$'"

# The row identity leaves the weight out: the row of weight 3 and its
# copies of weight 1 are one unit (same _row), so folds, subsamples and
# train/test follow the unit.
check "the row identity leaves the weight out" \
	"printf 'x1,x2,c,ra,rb,rc,w\n1,2,u,1,2,3,3\n1,2,u,1,2,3,1\n1,2,u,1,2,3,0\n' > id.csv &&
	 policy-prep apply -m m.yaml id.csv | policy-prep cat | cut -d, -f1 |
	   sed 1d | sort -u | wc -l | grep -qx 1"

for bad in -1 nan inf x ''; do
	printf 'x1,x2,c,ra,rb,rc,w\n1,2,u,1,2,3,%s\n' "$bad" > bad.csv
	policy-prep apply -m m.yaml bad.csv > bad.pf 2> err
	[ $? -eq 2 ] && grep -q "weight" err && [ ! -s bad.pf ]
	ok $? "apply refuses weight '$bad' (exit 2, no output)"
done
check "fit refuses a negative weight, naming the line" \
	"printf 'x1,x2,c,ra,rb,rc,w\n1,2,u,1,2,3,-2\n' > bad.csv;
	 policy-prep fit -q --rewards ra,rb,rc --weight w bad.csv 2> err;
	 [ \$? -eq 2 ] && grep -q 'bad.csv:2.*negative' err"
check "with --drop-missing a missing weight drops the row" \
	"printf 'x1,x2,c,ra,rb,rc,w\n1,2,u,1,2,3,NA\n2,3,v,1,2,3,1\n' > dm.csv &&
	 policy-prep fit -q --rewards ra,rb,rc --weight w --drop-missing dm.csv > dm.yaml &&
	 policy-prep apply -m dm.yaml dm.csv | policy-prep cat | sed 1d | wc -l |
	   grep -qx 1"
check "-0 is weight 0" \
	"printf 'x1,x2,c,ra,rb,rc,w\n1,2,u,1,2,3,-0\n' > z.csv &&
	 policy-prep apply -m m.yaml z.csv | policy-prep cat | sed 1d |
	   grep -q ',0\$'"

# Trees: weights against rows repeated, every field but the row counts
# (and the digest, which covers them) the same.
same_but_rows() { # same_but_rows A B: but row counts (rows, count)
	grep -v '^ *rows:\|^ *count:\|^digest:' "$1" > "$1.x"
	grep -v '^ *rows:\|^ *count:\|^digest:' "$2" > "$2.x"
	cmp -s "$1.x" "$2.x" && ! cmp -s "$1" "$2"
}
for o in "--depth 3" "--depth 2 --min-node-size 40" "--depth 2 --exact" \
    "--depth 3 --exact" \
    "--depth 2 --trees 5 --subsample 0.5 --seed 3" \
    "--depth 3 --trees 4 --mtry 1 --subsample 0.7"; do
	policy-split fit -q -m m.yaml $o w.pf > tw.yaml &&
		policy-split fit -q -m m.yaml $o d.pf > td.yaml &&
		same_but_rows tw.yaml td.yaml
	ok $? "fit $o: weights give the tree of the rows repeated"
done

# Over partitions: hist per part, merge in any order, best == fit.
check "hist / merge / best over 3 partitions == fit; partials read back" \
	"policy-prep split -n 3 -o 'p.%d.pf' < f.pf &&
	 for k in 0 1 2; do policy-split hist -m m.yaml p.\$k.pf > h.\$k || exit 1; done &&
	 grep -q '^weights: 1' h.0 &&
	 policy-split merge --expect 3 h.2 h.0 h.1 | policy-split best -m m.yaml --depth 2 > t1 &&
	 for k in 0 1 2; do policy-split hist -m m.yaml -t t1 p.\$k.pf > h.\$k || exit 1; done &&
	 policy-split merge h.1 h.2 > h.12 &&
	 policy-split merge --expect 3 h.12 h.0 | policy-split best -m m.yaml -t t1 > t2 &&
	 policy-split fit -m m.yaml --depth 2 f.pf > tf &&
	 cmp t2 tf &&
	 policy-split merge h.0 > h.0b && cmp h.0 h.0b"

# Fractional weights: the root's values are the weighted means, against
# awk's own sums (to 1e-9 relative: awk sums in double, we exactly).
check "the root's values are weighted means (fractional weights)" \
	"policy-split fit -m m.yaml --depth 1 f.pf > t1f &&
	 awk -F, 'NR > 1 { w += \$7; a += \$7 * \$4; b += \$7 * \$5; c += \$7 * \$6 }
	   END { printf \"%.17g %.17g %.17g\n\", a / w, b / w, c / w }' fw.csv > want &&
	 sed -n 's/^ *value: \[\[\([^]]*\)\].*/\1/p' t1f | tr -d ',' > got &&
	 awk 'NR == FNR { for (i = 1; i <= 3; i++) w[i] = \$i; next }
	   { for (i = 1; i <= 3; i++) { d = \$i - w[i]; if (d < 0) d = -d;
	     if (d > 1e-9 * (w[i] < 0 ? -w[i] : w[i])) exit 1 } }' want got"

# The whole chain on an experiment (treatment, outcome): integer weights
# give the model, the DR scores, the tree (welfare and ddp, greedy and a
# policy forest) and the evaluation of the rows repeated.
policy-prep synth --rows 4000 --seed 21 --missing 0.05 |
	awk -F, -v OFS=, 'NR == 1 { print "id", $0, "w"; next }
	    { print NR - 2, $0, (NR * 5) % 7 % 4 }' > xw.csv &&
	awk -F, -v OFS=, 'NR == 1 { print; next }
	    { w = $NF; $NF = 1; for (i = 0; i < w; i++) print }' xw.csv > xd.csv &&
	policy-prep fit -q --treatment arm --outcome y --weight w --exclude id \
	    --train-fraction 0.8 xw.csv > mx.yaml &&
	policy-prep apply -m mx.yaml --subset train xw.csv > xw.pf &&
	policy-prep apply -m mx.yaml --subset train xd.csv > xd.pf &&
	policy-prep apply -m mx.yaml --subset test xw.csv > tw.pf &&
	policy-prep apply -m mx.yaml --subset test xd.csv > td.pf
ok $? "an experiment with weights 0..3 and its rows repeated, train and test"
check "the model (ridge, DR, 5 folds): the rows repeated" \
	"policy-score fit -m mx.yaml xw.pf > mw.yaml &&
	 policy-score fit -m mx.yaml xd.pf > md.yaml &&
	 grep -v '^ *rows:\|^ *weight:\|^digest:' mw.yaml > mw.x &&
	 grep -v '^ *rows:\|^ *weight:\|^digest:' md.yaml > md.x && cmp mw.x md.x"
check "scored with it, the rows of weight above 0 score as their copies" \
	"policy-score -M mw.yaml xw.pf > sw.pf && policy-score -M md.yaml xd.pf > sd.pf &&
	 C=_row,score:control,score:t1,score:t2 &&
	 policy-prep cat --columns w,\$C sw.pf | awk -F, '\$1 != 0' |
	   cut -d, -f2- | sort -u > sw.csv &&
	 policy-prep cat --columns \$C sd.pf | sort -u | cmp - sw.csv"
for o in "--depth 2" "--depth 3 --criterion ddp" "--depth 2 --exact" \
    "--depth 2 --exact --criterion ddp" \
    "--depth 2 --trees 4 --subsample 0.6 --seed 9"; do
	policy-split fit -q -m mx.yaml $o sw.pf > tw.yaml &&
		policy-split fit -q -m mx.yaml $o sd.pf > td.yaml &&
		same_but_rows tw.yaml td.yaml
	ok $? "split fit $o on DR scores: the tree of the rows repeated"
done
check "eval on held-out rows: the report of the rows repeated" \
	"policy-split fit -m mx.yaml --depth 2 sw.pf > t2.yaml &&
	 policy-score -M mw.yaml tw.pf | policy-split eval -t t2.yaml > ew.yaml &&
	 policy-score -M mw.yaml td.pf | policy-split eval -t t2.yaml > ed.yaml &&
	 grep -v '^ *rows:\|^ *weight:' ew.yaml > ew.x &&
	 grep -v '^ *rows:\|^ *weight:' ed.yaml > ed.x && cmp ew.x ed.x"

# Refusals: by name, exit 2, no output.
# Fractional weights: at depth 1 the exact search and the greedy one pick
# the same split, and the same node values.  (Eighths: a product of a full
# mantissa and a weight of many bits may not fit the exact search's 128-bit
# sums, which it then refuses.)
awk -F, -v OFS=, 'NR == 1 { print; next } { $NF = sprintf("%.5f", (NR % 13) / 8); print }' \
	xw.csv > xf.csv &&
	policy-prep apply -m mx.yaml --subset train xf.csv |
	policy-score -M mw.yaml > sf.pf
ok $? "fractional weights on the experiment"
for c in welfare; do
	policy-split fit -q -m mx.yaml --depth 1 --criterion $c sf.pf |
		grep '^    \(feature\|threshold\|missing_left\|action\|value\|mean\):' > g.$c &&
		policy-split fit -q -m mx.yaml --depth 1 --exact --criterion $c sf.pf |
		grep '^    \(feature\|threshold\|missing_left\|action\|value\|mean\):' > x.$c &&
		[ -s g.$c ] && cmp -s g.$c x.$c
	ok $? "fractional weights, depth 1: the exact search's split and values are the greedy one's"
done
check "the exact ddp search refuses weights of too many bits for its sums" \
	"awk -F, -v OFS=, 'NR == 1 { print; next } { \$NF = 0.1 * (NR % 7); print }' xw.csv > xt.csv &&
	 policy-prep apply -m mx.yaml --subset train xt.csv | policy-score -M mw.yaml > st.pf &&
	 policy-split fit -m mx.yaml --depth 2 --exact --criterion ddp st.pf > o 2> err;
	 [ \$? -eq 2 ] && [ ! -s o ] && grep -q 'too wide for the exact' err"
check "ddp over weighted pair partials: the exact tree on the rows" \
	"policy-split hist -q --pairs -m mx.yaml sw.pf |
	   policy-split best -q -m mx.yaml --exact --depth 2 --criterion ddp > pddp.yaml &&
	 policy-split fit -q -m mx.yaml --depth 2 --exact --criterion ddp sw.pf | cmp - pddp.yaml"
check "pair partials over 3 partitions: the exact tree of the rows, weighted" \
	"policy-prep split -n 3 -o 'q.%d.pf' < w.pf &&
	 for k in 0 1 2; do policy-split hist -q --pairs -m m.yaml q.\$k.pf > pp.\$k || exit 1; done &&
	 grep -q '^weights: 1' pp.0 &&
	 policy-split merge --expect 3 pp.2 pp.0 pp.1 |
	   policy-split best -q -m m.yaml --exact --depth 2 > pe.yaml &&
	 policy-split fit -q -m m.yaml --depth 2 --exact w.pf | cmp - pe.yaml"
policy-split hist -q --pairs -m m.yaml w.pf |
	policy-split best -q -m m.yaml --exact --depth 2 > pw.yaml &&
	policy-split hist -q --pairs -m m.yaml d.pf |
	policy-split best -q -m m.yaml --exact --depth 2 > pd.yaml &&
	same_but_rows pw.yaml pd.yaml
ok $? "pair partials of weights: the exact tree of the rows repeated"
check "a weight times a value below 2^-968 is refused, not rounded" \
	"printf 'x1,x2,c,ra,rb,rc,w\n1,2,u,1e-300,2,3,1e-300\n2,3,v,1,2,3,1\n' > tiny.csv &&
	 policy-prep fit -q --rewards ra,rb,rc --weight w tiny.csv > tm.yaml &&
	 policy-prep apply -m tm.yaml tiny.csv > tiny.pf &&
	 policy-split fit -m tm.yaml --depth 1 tiny.pf > o 2> err;
	 [ \$? -eq 2 ] && [ ! -s o ] && grep -q 'exact sums' err"
check "frames of a weighted manifest without their weight are refused" \
	"policy-prep cat w.pf | cut -d, -f1-7 > nw.csv;
	 ! policy-split fit -m m.yaml --depth 1 nw.csv > o 2> /dev/null && [ ! -s o ]"

done_testing

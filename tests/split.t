#!/bin/sh
# policy-split end to end on generated data with a planted policy, using the
# oracle's expected outcomes as bring-your-own rewards (so the test does not
# depend on policy-score): the hist/merge/best loop equals fit, partitions
# do not matter, the planted policy is recovered.  Bad input refused:
# testdata/cli/split/*.case.
. "$(dirname "$0")/lib.sh"

policy-prep synth --rows 20000 --seed 11 --missing 0.03 --oracle > "$T/s.csv"
ok $? "synth"
R="--rewards mu_control,mu_t1,mu_t2 --features x1,x2,x3,x4"
policy-prep fit $R --bins 64 "$T/s.csv" > "$T/m.yaml" &&
	policy-prep apply -m "$T/m.yaml" "$T/s.csv" > "$T/s.pf"
ok $? "a rewards manifest and frames"
M="-m $T/m.yaml"

# The distributed loop, by hand, against fit.
check "hist / merge / best, twice, equals fit --depth 2 byte for byte" \
	"policy-split hist $M $T/s.pf > $T/h0 &&
	 policy-split merge $T/h0 | policy-split best $M --depth 2 > $T/t1 &&
	 policy-split hist $M -t $T/t1 $T/s.pf > $T/h1 &&
	 policy-split merge $T/h1 | policy-split best $M -t $T/t1 > $T/t2 &&
	 policy-split fit $M --depth 2 < $T/s.pf > $T/tf &&
	 cmp $T/t2 $T/tf"

# Partition independence: 16 hash partitions and 5 round-robin ones,
# merged in different groupings and orders.
policy-prep split -n 16 -o "$T/p.%d.pf" < "$T/s.pf" &&
	policy-prep split -n 5 --round-robin -o "$T/q.%d.pf" < "$T/s.pf"
ok $? "partitions"
check "1 vs 16 vs 5 partitions, merges of merges in any order: same tree" \
	"for k in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
	   policy-split hist $M $T/p.\$k.pf > $T/p.\$k.h || exit 1; done &&
	 policy-split merge $T/p.1[0-5].h $T/p.[0-4].h > $T/ga &&
	 policy-split merge $T/p.[5-9].h > $T/gb &&
	 policy-split merge --expect 16 $T/gb $T/ga | policy-split best $M > $T/u1 &&
	 for k in 0 1 2 3 4; do policy-split hist $M $T/q.\$k.pf > $T/q.\$k.h || exit 1; done &&
	 policy-split merge --expect 5 $T/q.4.h $T/q.2.h $T/q.0.h $T/q.3.h $T/q.1.h |
	   policy-split best $M > $T/u2 &&
	 cmp $T/u1 $T/t1 && cmp $T/u2 $T/t1"
check "level 2 from 16 partitions equals fit" \
	"for k in 3 1 4 15 9 2 6 5 0 7 8 10 11 12 13 14; do
	   policy-split hist $M -t $T/t1 $T/p.\$k.pf > $T/r.\$k.h || exit 1; done &&
	 policy-split merge --expect 16 $T/r.*.h | policy-split best $M -t $T/t1 |
	   cmp - $T/tf"

# Bin codes: apply writes them by default; hist adds rows at their codes.
# Frames without them give the same partials, trees and signatures.
policy-prep apply --no-codes $M "$T/s.csv" > "$T/nc.pf"
ok $? "frames without bin codes"
check "--no-codes frames: the same partials at both levels and the same tree" \
	"! policy-prep cat --columns bin:x1 $T/nc.pf > /dev/null 2>&1 &&
	 policy-split hist $M $T/nc.pf | cmp - $T/h0 &&
	 policy-split hist $M -t $T/t1 $T/nc.pf | cmp - $T/h1 &&
	 policy-split fit $M --depth 2 < $T/nc.pf | cmp - $T/tf &&
	 policy-verify sign $M $T/s.pf > $T/sig1 &&
	 policy-verify sign $M $T/nc.pf | cmp - $T/sig1"
check "cat leaves the codes out unless asked; they order as the values do" \
	"policy-prep cat $T/s.pf | head -1 | grep -v -q bin: &&
	 policy-prep cat --columns x1,bin:x1 $T/s.pf > $T/code.csv &&
	 head -1 $T/code.csv | grep -q '^x1,bin:x1\$' &&
	 awk -F, 'NR > 1 && \$1 == \"NA\" { na[\$2] = 1 }
	      NR > 1 && \$1 != \"NA\" { if (\$2 + 0 > top) top = \$2 + 0 }
	      END { for (c in na) { n++; if (c + 0 != top + 1) exit 1 } exit n != 1 }' $T/code.csv &&
	 grep -v NA $T/code.csv | tail -n +2 | sort -t, -k1,1g -s |
	   awk -F, 'NR > 1 && (\$2 < c || (\$1 == x && \$2 != c)) { exit 1 } { c = \$2; x = \$1 }'"
check "fit --exact finds a tree at least as good as greedy on the same data" \
	"policy-split fit $M --depth 2 --exact $T/s.pf > $T/te 2>/dev/null &&
	 policy-split eval -t $T/te $T/s.pf > $T/ee &&
	 policy-split eval -t $T/tf $T/s.pf > $T/eg &&
	 awk '/^policy/ { gsub(/[{},]/, \" \"); v[FILENAME] = \$3 }
	      END { exit !(v[\"$T/ee\"] + 0 >= v[\"$T/eg\"] + 0) }' $T/ee $T/eg"

# Recovery of the planted policy: regret against the oracle.  Bound: the
# 64-quantile boundaries sit within about 1/128 of 0.3, 0.5 and 0.7, so at
# most ~3% of rows can be misassigned, each losing less than 1.25.
check "the learned tree recovers the planted policy (regret < 0.04)" \
	"policy-split eval -t $T/tf $T/s.pf > $T/ev &&
	 best=\$(awk -F, 'NR > 1 { m = \$14; if (\$15 > m) m = \$15; if (\$16 > m) m = \$16; s += m; n++ }
	                 END { printf \"%.10f\", s / n }' $T/s.csv) &&
	 awk -v best=\$best '/^policy/ { gsub(/[{},]/, \" \"); r = best - \$3;
	   print \"# regret \" r; exit !(r >= 0 && r < 0.04) }' $T/ev"
check "show names the planted features" \
	"policy-split show -t $T/tf | grep -q 'if x1 <=' &&
	 policy-split show -t $T/tf | grep -q 'if x2 <=' &&
	 policy-split show --dot -t $T/tf | grep -q '^digraph'"
check "apply appends the tree's action per row" \
	"policy-split apply -t $T/tf $T/s.pf | policy-prep cat --columns x1,action > $T/act.csv &&
	 head -1 $T/act.csv | grep -q '^x1,action\$' &&
	 test \$(wc -l < $T/act.csv) -eq 20001"
# Forests: policy-score reads them; one tree on every row and feature
# scores as the single tree does; partitions do not change the forest.
if policy-score --help > /dev/null 2>&1; then
	check "fit --trees 1 scores rows exactly as the single tree" \
		"policy-split fit $M --depth 2 --trees 1 $T/s.pf > $T/f1 &&
		 grep -q '^format: policy-forest\$' $T/f1 &&
		 policy-score -M $T/f1 $T/s.pf | policy-prep cat > $T/sf1.csv &&
		 policy-score -M $T/tf $T/s.pf | policy-prep cat > $T/st1.csv &&
		 test \$(wc -l < $T/sf1.csv) -eq 20001 && cmp $T/sf1.csv $T/st1.csv"
	check "a forest of 8 trees (subsample 0.5, mtry 2) scores every row" \
		"policy-split fit $M --depth 3 --trees 8 --subsample 0.5 --mtry 2 \
		   --seed 5 $T/s.pf > $T/f8 &&
		 test \$(grep -c '^  - nodes:' $T/f8) -eq 8 &&
		 policy-score -M $T/f8 $T/s.pf | policy-prep cat \
		   --columns score:mu_control,score:mu_t1,score:mu_t2 > $T/sf8.csv &&
		 awk -F, 'NR > 1 { for (i = 1; i <= 3; i++) if (\$i !~ /^[0-9.e+-]+\$/) exit 1; n++ }
		      END { exit n != 20000 }' $T/sf8.csv"
else
	skip 2 "bin/policy-score does not work"
fi
check "a forest from 16 partitions equals the forest from one file" \
	"policy-split fit $M --depth 3 --trees 4 --subsample 0.5 --mtry 2 \
	   --seed 5 $T/s.pf > $T/fa &&
	 policy-split fit $M --depth 3 --trees 4 --subsample 0.5 --mtry 2 \
	   --seed 5 $T/p.1[0-5].pf $T/p.[0-9].pf > $T/fb && cmp $T/fa $T/fb"
# Every distinct value a candidate (--bins all): the exact search runs.
policy-prep synth --rows 3000 --seed 4 --missing 0.05 --oracle > "$T/a.csv" &&
	policy-prep fit --rewards mu_control,mu_t1,mu_t2 --exclude arm,y,best \
	  --bins all "$T/a.csv" > "$T/ma.yaml" &&
	policy-prep apply -m "$T/ma.yaml" "$T/a.csv" > "$T/a.pf"
ok $? "a manifest with every distinct value a boundary"
check "fit --exact with --bins all: at least as good as greedy" \
	"policy-split fit -m $T/ma.yaml --depth 2 --exact $T/a.pf > $T/tae 2>/dev/null &&
	 policy-split fit -m $T/ma.yaml --depth 2 $T/a.pf > $T/tag &&
	 policy-split eval -t $T/tae $T/a.pf > $T/eae &&
	 policy-split eval -t $T/tag $T/a.pf > $T/eag &&
	 awk '/^policy/ { gsub(/[{},]/, \" \"); v[FILENAME] = \$3 }
	      END { print \"# exact \" v[\"$T/eae\"] \", greedy \" v[\"$T/eag\"];
	            exit !(v[\"$T/eae\"] + 0 >= v[\"$T/eag\"] + 0) }' $T/eae $T/eag"

# Hillstrom's e-mail experiment (DESIGN 6): a doubly robust policy tree
# learned on a 70% hash split, evaluated on the held-out 30%.
H=$DATA/hillstrom.csv
if [ ! -r "$H" ]; then
	skip 3 "no $H"
elif ! policy-score --help > /dev/null 2>&1; then
	skip 3 "bin/policy-score does not work"
else
	policy-prep fit --treatment segment --outcome spend \
		--exclude visit,conversion --train-fraction 0.7 --seed 1 \
		"$H" > "$T/hm.yaml" &&
	policy-prep apply -m "$T/hm.yaml" --subset train "$H" > "$T/htrain.pf" &&
	policy-prep apply -m "$T/hm.yaml" --subset test "$H" > "$T/htest.pf" &&
	policy-score fit -m "$T/hm.yaml" "$T/htrain.pf" > "$T/hmodel.yaml" &&
	policy-score -M "$T/hmodel.yaml" "$T/htrain.pf" > "$T/htrain.s.pf" &&
	policy-score -M "$T/hmodel.yaml" "$T/htest.pf" > "$T/htest.s.pf"
	ok $? "Hillstrom: manifest, train/test frames, DR scores"
	policy-split fit -m "$T/hm.yaml" --depth 2 "$T/htrain.s.pf" > "$T/ht.yaml" &&
		policy-split show -t "$T/ht.yaml" > "$T/ht.txt" &&
		policy-split eval -t "$T/ht.yaml" "$T/htest.s.pf" > "$T/hev"
	ok $? "Hillstrom: depth-2 tree on the training rows, evaluated on the test rows"
	sed 's/^/# /' "$T/ht.txt" "$T/hev"
	awk 'function num(s, key) { sub(".*" key ": ", "", s); sub(/[,}].*/, "", s); return s }
	     function fin(x) { return x ~ /^-?[0-9][0-9.]*(e[-+]?[0-9]+)?$/ }
	     /^policy:/ { v = num($0, "value"); se = num($0, "se") }
	     /action:/ { a = num($0, "value"); s = num($0, "se"); nb++
	                 if (!fin(a) || !fin(s)) bad = 1
	                 if (nb == 1 || a + 0 > best) best = a + 0 }
	     END { ok = !bad && fin(v) && fin(se) && se > 0 && nb == 3 &&
	                v + 0 >= best - 2 * se
	           printf "# policy %s (se %s), best single arm %s\n", v, se, best
	           exit !ok }' "$T/hev"
	ok $? "Hillstrom: finite values; the policy is at least the best single arm - 2 se"
fi

done_testing

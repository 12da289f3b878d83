#!/bin/sh
# policy-split end to end on generated data with a planted policy, using the
# oracle's expected outcomes as bring-your-own rewards (so the test does not
# depend on policy-score): the hist/merge/best loop equals fit, partitions
# do not matter, the planted policy is recovered, bad input is refused.
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
policy-prep fit --treatment arm --outcome y --features x1,x2 --bins 16 \
	"$T/s.csv" > "$T/mt.yaml"
ok $? "a treatment manifest"

# Bad input: one line on stderr, exit 2, nothing on stdout.
bad() { # bad NAME COMMAND
	sh -c "$2" > "$T/bad.out" 2> "$T/bad.err"
	st=$?
	if [ $st -eq 2 ] && [ ! -s "$T/bad.out" ] && [ "$(wc -l < "$T/bad.err")" -eq 1 ]; then
		ok 0 "$1: $(cat "$T/bad.err")"
	else
		ok 1 "$1 (exit $st)"
		sed 's/^/#   /' "$T/bad.err" | head -3
	fi
}
head -c 300 "$T/h0" > "$T/trunc.h"
sed 's/^level 0$/level 1/' "$T/h0" > "$T/lev.h"
bad "merge of a partition twice" "policy-split merge $T/p.1.h $T/p.1.h"
bad "merge of partials of different levels" "policy-split merge $T/h0 $T/h1"
bad "merge --expect with a partition missing" "policy-split merge --expect 16 $T/ga"
bad "a truncated partial" "policy-split merge $T/trunc.h"
bad "a corrupted partial" "policy-split merge $T/lev.h"
bad "best on a partial of another tree" "policy-split best $M -t $T/t1 $T/h0"
bad "depth 0" "policy-split fit $M --depth 0 $T/s.pf"
bad "negative depth" "policy-split fit $M --depth -1 $T/s.pf"
bad "--min-node-size larger than the data" "policy-split fit $M --min-node-size 50000 $T/s.pf"
bad "frames of another manifest" "policy-split hist -m $T/mt.yaml $T/s.pf"
policy-prep apply -m "$T/mt.yaml" "$T/s.csv" > "$T/t.pf" 2>/dev/null
bad "treatment frames without score columns" "policy-split hist -m $T/mt.yaml $T/t.pf"
bad "a tree of another manifest" "policy-split hist -m $T/mt.yaml -t $T/t1 $T/t.pf"
sed 's/^depth: 2$/depth: 3/' "$T/tf" > "$T/edited"
bad "an edited tree" "policy-split show -t $T/edited"
bad "apply to frames of another manifest" "policy-split apply -t $T/tf $T/t.pf"

done_testing

#!/bin/sh
# Policy forests grown over partitions: policy-split hist --trees gives the
# forest partial of every tree's root, merge adds partials tree by tree, best
# grows every tree by a level into a forest state, hist -t STATE makes the
# next level's partial, and best writes the forest once every tree is
# complete.  The forest is the one policy-split fit --trees grows with the
# rows in memory, byte for byte, for 1 or 8 partitions merged in any order
# or grouping.  Mismatched states, partials and options are refused.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 2

policy-prep synth --rows 15000 --seed 4 --missing 0.05 > d.csv &&
	policy-prep fit -q --treatment arm --outcome y --bins 16 d.csv > m.yaml &&
	policy-prep apply -m m.yaml d.csv > d.pf &&
	policy-score fit -m m.yaml d.pf > model.yaml &&
	policy-score -M model.yaml d.pf > s.pf &&
	policy-prep split -n 8 -o "p.%d.pf" < s.pf
ok $? "scored frames in 8 partitions"

# grow OUT "HIST-OPTIONS" "BEST-OPTIONS" FRAMES...: the loop a cluster
# runs, the partials merged in a shuffled order (pairs of partials merged
# first, then the merged pairs).
cat > grow.sh <<'EOF'
out=$1 o=$2 g=$3
shift 3
k=0
for p in "$@"; do
	policy-split hist -m m.yaml -M model.yaml $o "$p" > h.$k || exit 1
	k=$((k + 1))
done
merge() {
	set -- $(ls h.* | shuf)
	[ $# -eq 1 ] && { policy-split merge --expect "$n" "$1"; return; }
	while [ $# -ge 2 ]; do
		policy-split merge "$1" "$2" > "g.$#" || exit 1
		shift 2
	done
	policy-split merge --expect "$n" g.* "$@"
	rm -f g.*
}
n=$k
merge | policy-split best -m m.yaml $g > st || exit 1
levels=0
while grep -q '^format: policy-forest-state' st; do
	rm -f h.*
	k=0
	for p in "$@"; do
		policy-split hist -m m.yaml -M model.yaml -t st "$p" > h.$k ||
			exit 1
		k=$((k + 1))
	done
	merge | policy-split best -m m.yaml -t st > st.new || exit 1
	mv st.new st
	levels=$((levels + 1))
done
rm -f h.*
mv st "$out"
echo "# $levels levels after the roots"
EOF

same() { # same NAME "HIST-OPTIONS" "BEST-OPTIONS"
	check "$1" "policy-split fit -m m.yaml -M model.yaml $2 $3 s.pf > one.yaml &&
		sh grow.sh a.yaml '$2' '$3' s.pf && cmp one.yaml a.yaml &&
		sh grow.sh b.yaml '$2' '$3' p.*.pf && cmp one.yaml b.yaml &&
		grep -q '^format: policy-forest' one.yaml"
}
same "7 trees, subsample, mtry: 1 and 8 partitions give fit's bytes" \
	"--trees 7 --subsample 0.5 --seed 5" "--mtry 2 --depth 3"
same "ddp, min-node-size, trees closing at different levels" \
	"--trees 4 --subsample 0.3 --seed 9" \
	"--depth 6 --min-node-size 900 --mtry 1 --criterion ddp"
same "one tree of depth 1: best writes the forest at once" \
	"--trees 1" "--depth 1"
same "a subsample of 1% (near-empty trees)" \
	"--trees 3 --subsample 0.01 --seed 2" "--depth 5 --min-node-size 30"

# The forest so grown is a policy like fit's: apply takes it.
check "apply takes the forest grown over partitions" \
	"policy-split apply -t b.yaml s.pf | policy-prep cat | tail -n +2 | wc -l |
	 grep -qx 15000"

# A level's files for the refusals.
policy-split hist -m m.yaml -M model.yaml --trees 5 --seed 1 p.0.pf > h0 &&
	policy-split hist -m m.yaml -M model.yaml --trees 5 --seed 1 p.1.pf > h0b &&
	policy-split best -m m.yaml --depth 3 --mtry 2 h0 > st1 &&
	policy-split hist -m m.yaml -M model.yaml -t st1 p.0.pf > h1 &&
	policy-split merge h0 h0b | policy-split best -m m.yaml --depth 3 > stab &&
	policy-split best -m m.yaml -t st1 h1 > st2 &&
	policy-split hist -m m.yaml -M model.yaml p.0.pf > th0 &&
	policy-prep synth --rows 300 --features 3 > o.csv &&
	policy-prep fit -q --treatment arm --outcome y o.csv > om.yaml &&
	policy-prep apply -m om.yaml o.csv > o.pf
ok $? "states and partials to refuse"

# refused NAME PATTERN COMMAND: exit 2, no output, one line naming the cause.
refused() {
	name=$1 pat=$2
	shift 2
	sh -c "$*" > out 2> err
	rc=$?
	if [ $rc -eq 2 ] && [ ! -s out ] && [ "$(wc -l < err)" -eq 1 ] &&
	    grep -q -- "$pat" err; then
		ok 0 "$name"
	else
		ok 1 "$name"
		echo "# exit $rc, $(wc -c < out) bytes out; stderr:"
		sed 's/^/#   /' err
	fi
}
refused "a state of another manifest" "manifest" \
	"policy-split hist -m om.yaml -t st1 o.pf"
refused "a state grown without the model hist is given" "model" \
	"policy-split hist -m m.yaml -t st1 p.0.pf"
refused "a partial of another state" "not of this forest" \
	"policy-split best -m m.yaml -t st2 h1"
refused "a root partial given to a state" "not of this forest" \
	"policy-split best -m m.yaml -t st1 h0"
refused "a partial of fewer rows than the state's (a partition left out)" \
	"holds [0-9]* rows in the partial, not the tree's" \
	"policy-split hist -m m.yaml -M model.yaml -t stab p.0.pf > hab &&
	 policy-split best -m m.yaml -t stab hab"
refused "the same for one tree" "rows in the partial, not the tree's" \
	"policy-split merge h0 h0b > /dev/null &&
	 policy-split hist -m m.yaml -M model.yaml p.1.pf > th0b &&
	 policy-split merge th0 th0b | policy-split best -m m.yaml --depth 2 > tab &&
	 policy-split hist -m m.yaml -M model.yaml -t tab p.1.pf > thab &&
	 policy-split best -m m.yaml -t tab thab"
refused "a level-1 partial without its state" "needs -t STATE" \
	"policy-split best -m m.yaml h1"
refused "partials of two levels do not merge" "another manifest, model, state, level" \
	"policy-split merge h0 h1"
refused "a forest partial and a tree partial do not merge" "not a policy-split" \
	"policy-split merge h0 th0"
refused "a partition merged twice" "twice" \
	"policy-split merge h0 h0"
refused "--expect counts the partitions" "split into 8, not 3" \
	"policy-split merge --expect 3 h0 h0b"
refused "--pairs and --trees do not mix" "do not mix" \
	"policy-split hist -m m.yaml -M model.yaml --pairs --trees 3 p.0.pf"
refused "--trees with a state: the state says how many" "STATE alone" \
	"policy-split hist -m m.yaml -M model.yaml -t st1 --trees 5 p.0.pf"
refused "--mtry other than the state's" "mtry 3 differs" \
	"policy-split best -m m.yaml -t st1 --mtry 3 h1"
refused "--depth other than the state's" "depth 4 differs" \
	"policy-split best -m m.yaml -t st1 --depth 4 h1"
refused "--depth other than a tree's (it was ignored)" "depth 4 differs" \
	"policy-split best -m m.yaml th0 --depth 2 > t1 &&
	 policy-split hist -m m.yaml -M model.yaml -t t1 p.0.pf > th1 &&
	 policy-split best -m m.yaml -t t1 --depth 4 th1"
check "the same --depth as the tree's is taken" \
	"policy-split best -m m.yaml -t t1 --depth 2 th1 > /dev/null"
refused "--mtry without a forest partial" "mtry" \
	"policy-split best -m m.yaml --mtry 2 th0"
sed 's/rows: \[\([0-9]\)/rows: [1\1/' st1 > stbad
refused "an edited state" "digest does not match" \
	"policy-split hist -m m.yaml -M model.yaml -t stbad p.0.pf"
head -c 3000 h0 > htr
refused "a truncated forest partial" "truncated" "policy-split merge htr"
refused "partials over --max-memory, before a row is read" "over --max-memory" \
	"policy-split hist -m m.yaml -M model.yaml --trees 500 --max-memory 1M p.0.pf"
refused "the same for fit --trees" "over --max-memory" \
	"policy-split fit -m m.yaml -M model.yaml --trees 500 --max-memory 1M s.pf"
refused "apply of a state (not yet a forest)" "forest state" \
	"policy-split apply -t st1 s.pf"
refused "eval of a state" "forest state" "policy-split eval -t st1 s.pf"
refused "a state given as a tree to hist's tree loop" "forest state" \
	"policy-split best -m m.yaml -t st1 th0"
done_testing

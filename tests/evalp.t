#!/bin/sh
# policy-split eval over partitions: an eval partial per partition, merged
# all or nothing, gives the bytes of eval on all the rows in one process
# (report as YAML, JSON and TSV, and the curves), for any partitioning and
# any order or grouping of the merges; what does not belong together is
# refused and nothing is written.
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 2
policy-prep synth --rows 12000 --seed 5 > s.csv &&
	policy-prep fit --treatment arm --outcome y --train-fraction 0.7 \
	--seed 1 s.csv > m.yaml &&
	policy-prep apply -m m.yaml --subset train s.csv > tr.pf &&
	policy-prep apply -m m.yaml --subset test s.csv > te.pf &&
	policy-score fit -m m.yaml tr.pf > model.yaml &&
	policy-score -M model.yaml tr.pf > tr.s.pf &&
	policy-score -M model.yaml te.pf > te.s.pf &&
	policy-split fit -m m.yaml --depth 2 tr.s.pf > a.yaml &&
	policy-split fit -m m.yaml --depth 1 tr.s.pf > b.yaml &&
	policy-split fit -m m.yaml --trees 4 --depth 2 tr.s.pf > f.yaml &&
	policy-prep split -n 5 -o 'p%d.pf' te.s.pf
ok $? "setup: manifest, DR scores, trees of depth 2 and 1, a forest, 5 partitions"

# Each way of evaluating: the options given to eval and to eval --partial.
i=0
for opts in "-t a.yaml" "-t a.yaml -m m.yaml" "-t a.yaml -t b.yaml" \
	"-t a.yaml -t b.yaml --cluster x3" "-t a.yaml --cluster _row" \
	"-t f.yaml" "-t f.yaml -t a.yaml --cluster arm"; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	for k in 0 1 2 3 4; do
		policy-split eval -q --partial $opts p$k.pf > e$i.$k.part || break
	done
	for fmt in "" --json --tsv; do
		# shellcheck disable=SC2086
		policy-split eval -q $opts $fmt te.s.pf > one.out 2> /dev/null &&
			policy-split eval -q --merge --expect 5 $fmt e$i.3.part e$i.0.part \
			e$i.4.part e$i.2.part e$i.1.part > merged.out
		check "eval $opts ${fmt:---yaml}: 5 partials merged give the one-process bytes" \
			"[ -s one.out ] && cmp one.out merged.out"
	done
done

# Curves from the leaf sums, against another control too.
for ctl in "" "--control t2"; do
	# shellcheck disable=SC2086
	policy-split eval -q -t a.yaml -t b.yaml --cluster x3 --curve c1.json $ctl \
		te.s.pf > r1.out &&
		policy-split eval -q --merge e4.1.part e4.0.part e4.2.part e4.4.part \
		e4.3.part --curve c2.json $ctl > r2.out
	check "curves ${ctl:-(manifest control)}: the merge draws the one-process curves" \
		"cmp r1.out r2.out && cmp c1.json c2.json && grep -q '\"by\":\"tree\"' c2.json"
done

# Merging in stages: any grouping gives the same partial bytes.
policy-split eval --merge --partial e4.0.part e4.1.part > g01 &&
	policy-split eval --merge --partial e4.2.part e4.3.part e4.4.part > g234 &&
	policy-split eval --merge --partial g234 g01 > all-a &&
	policy-split eval --merge --partial e4.4.part e4.2.part e4.0.part \
	e4.3.part e4.1.part > all-b
check "merged in stages or at once, in any order: the same partial bytes" \
	"cmp all-a all-b"
check "the staged merge reports the one-process bytes" \
	"policy-split eval -q -t a.yaml -t b.yaml --cluster x3 te.s.pf > r1.out &&
	 policy-split eval --merge all-a | cmp - r1.out"

# Partitions that are not parts of a split are named by their rows.
policy-split eval -q --partial -t a.yaml -m m.yaml tr.s.pf > tr.part &&
	policy-split eval -q --partial -t a.yaml -m m.yaml te.s.pf > te.part
ok $? "partials of two files, ids by their rows"
check "their merge gives the bytes of one process over both, training note and all" \
	"policy-split eval -t a.yaml -m m.yaml tr.s.pf te.s.pf > one.out 2> one.err &&
	 policy-split eval --merge te.part tr.part > merged.out 2> merged.err &&
	 cmp one.out merged.out && cmp one.err merged.err &&
	 grep -q 'training_rows: some' merged.out && grep -q '^policy-split: note: 8' merged.err"
check "a partial names its partition, rows and policy digest" \
	"grep -q '^partitions: \\[\"2/5\"\\]\$' e1.2.part &&
	 grep -q \"^rows: \$(policy-prep check p2.pf | sed 's/.*: \\([0-9]*\\) rows.*/\\1/')\$\" e1.2.part &&
	 grep -q \"digest: \$(sed -n 's/^digest: //p' a.yaml)}\" e1.2.part"
check "--partition names it" \
	"policy-split eval --partial --partition east -t a.yaml p0.pf | grep -q '^partitions: \\[east\\]\$'"

# Refusals (refused, tests/lib.sh): exit 2, one line, nothing written.
refused "a partition twice" "partition 2/5 seen twice" \
	policy-split eval --merge e1.2.part e1.0.part e1.2.part
refused "--expect 5 with a part missing" "part 3 of the 5 is missing" \
	policy-split eval --merge --expect 5 e1.0.part e1.1.part e1.2.part e1.4.part
refused "partials of another tree" "another policy" \
	policy-split eval --merge e1.0.part e6.1.part
refused "with and without -m" "another training rule" \
	policy-split eval --merge e1.0.part e2.1.part
refused "clustered and not" "other actions or policies\\|another --cluster" \
	policy-split eval --merge e3.0.part e4.1.part
policy-split eval -q --partial -t a.yaml --control t1 p1.pf > ctl.part
refused "another control" "another control" \
	policy-split eval --merge e1.0.part ctl.part
sed 's/^rows: \([0-9]*\)/rows: 1\1/' e1.0.part > edited.part
refused "an edited partial" "digest does not match" \
	policy-split eval --merge edited.part e1.1.part
head -c 300 e1.0.part > cut.part
refused "a truncated partial" "truncated\\|no final digest" \
	policy-split eval --merge e1.1.part cut.part
refused "frames given to --merge" "not a policy-split eval partial" \
	policy-split eval --merge p0.pf
refused "curves of a forest-first merge" "first policy is a forest" \
	policy-split eval --merge --curve c.json e6.0.part e6.1.part
refused "--rank-by over partitions" "rank-by ranks rows, which stay" \
	policy-split eval --partial -t a.yaml --rank-by r_ p0.pf

done_testing

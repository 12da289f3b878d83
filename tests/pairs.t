#!/bin/sh
# pairs.t: pair partials (hist --pairs, policy-tree(5)) end to end, on
# generated rows with bring-your-own rewards: partitions merged in any
# order and grouping give the body of one partition; bin codes or not, the
# same bytes; merge is all or nothing as for any partial; best takes a
# pair partial only with --exact, and finds fit --exact's tree.  That each cell counts what it should
# is t-hist's job (against a row-by-row count); bad input refused:
# testdata/cli/split/*pairs*.case.
. "$(dirname "$0")/lib.sh"

# "$B FILE | $L '\$d'": the partial from its "body:" line on, without
# the checksum line: what does not depend on the partition ids.
L="env LC_ALL=C sed"
B="$L -n '/^body: /,\$p'"

policy-prep synth --rows 20000 --seed 5 --missing 0.05 --oracle > "$T/s.csv"
ok $? "synth"
R="--rewards mu_control,mu_t1,mu_t2 --features x1,x2,x3,x4"
policy-prep fit $R --bins 16 "$T/s.csv" > "$T/m.yaml" &&
	policy-prep apply -m "$T/m.yaml" "$T/s.csv" > "$T/s.pf" &&
	policy-prep apply --no-codes -m "$T/m.yaml" "$T/s.csv" > "$T/nc.pf" &&
	policy-prep split -n 7 -o "$T/p.%d.pf" < "$T/s.pf"
ok $? "a rewards manifest, frames with and without bin codes, 7 partitions"
M="-m $T/m.yaml"

check "hist --pairs: a pair partial of the root, its memory said" \
	"policy-split hist --pairs $M $T/s.pf > $T/whole 2> $T/err &&
	 grep -q '^pairs: 1\$' $T/whole && grep -q '^level: 0\$' $T/whole &&
	 grep -q '^rows: 20000\$' $T/whole &&
	 grep -q '^policy-split: pair partial: 68 bins, 3 actions, at most [0-9]* MB\$' $T/err"
check "frames without bin codes give the same bytes" \
	"policy-split hist -q --pairs $M $T/nc.pf | cmp - $T/whole"
check "7 partitions merged in any order and grouping: the body of one" \
	"for k in 0 1 2 3 4 5 6; do
	   policy-split hist -q --pairs $M $T/p.\$k.pf > $T/p.\$k.h || exit 1; done &&
	 policy-split merge $T/p.5.h $T/p.2.h $T/p.0.h > $T/ga &&
	 policy-split merge $T/p.6.h $T/p.1.h > $T/gb &&
	 policy-split merge --expect 7 $T/gb $T/p.4.h $T/ga $T/p.3.h > $T/m1 &&
	 policy-split merge --expect 7 $T/p.[0-6].h > $T/m2 &&
	 cmp $T/m1 $T/m2 && grep -q '^rows: 20000\$' $T/m1 &&
	 $B $T/m1 | $L '\$d' > $T/b1 && $B $T/whole | $L '\$d' > $T/b0 &&
	 test -s $T/b0 && cmp $T/b0 $T/b1"
check "merge is all or nothing: a partition twice, too few, a plain partial" \
	"! policy-split merge -o $T/x1 $T/m1 $T/p.3.h 2> $T/e1 &&
	 grep -q 'seen twice' $T/e1 &&
	 ! policy-split merge --expect 8 -o $T/x2 $T/p.[0-6].h 2> $T/e2 &&
	 grep -q '7 partitions merged, 8 expected' $T/e2 &&
	 policy-split hist $M $T/p.0.pf > $T/plain &&
	 ! policy-split merge -o $T/x3 $T/p.1.h $T/plain 2> $T/e3 &&
	 grep -q 'do not merge' $T/e3 &&
	 test ! -e $T/x1 && test ! -e $T/x2 && test ! -e $T/x3"
check "hist --pairs | merge | best: refused without --exact, no output" \
	"policy-split hist -q --pairs $M $T/s.pf | policy-split merge - |
	   policy-split best $M -o $T/t0 2> $T/e4;
	 test \$? -eq 2 && test ! -e $T/t0 &&
	 grep -q '^policy-split: .*: a pair partial is for best --exact\$' $T/e4"
check "--max-memory below the need: refused before reading, no output" \
	"! policy-split hist --pairs --max-memory 1K $M -o $T/x4 < /dev/zero 2> $T/e5 &&
	 test ! -e $T/x4 && test \$(wc -l < $T/e5) -eq 1 &&
	 grep -q 'more than --max-memory 1024 bytes' $T/e5 &&
	 policy-split hist -q --pairs --max-memory 1G $M $T/s.pf | cmp - $T/whole"
check "hist --pairs -t: refused" \
	"policy-split best $M $T/plain > $T/t1 &&
	 ! policy-split hist --pairs $M -t $T/t1 -o $T/x5 $T/s.pf 2> $T/e6 &&
	 test ! -e $T/x5 && grep -q 'no -t TREE' $T/e6"

# The exact search from merged pair partials gives fit --exact's tree on
# the same rows, byte for byte: from one partition and from seven, at
# depths 1 and 2; and the number of threads changes nothing.
check "best --exact on 1 and on 7 merged pair partials equals fit --exact" \
	"policy-split fit $M --depth 2 --exact $T/s.pf 2> /dev/null > $T/tf &&
	 policy-split best $M --exact $T/m1 > $T/te &&
	 policy-split best $M --exact --threads 1 $T/whole > $T/t1p &&
	 cmp $T/tf $T/te && cmp $T/tf $T/t1p &&
	 grep -q '^search: exact\$' $T/te"
check "at depth 1 too" \
	"policy-split fit $M --depth 1 --exact $T/s.pf 2> /dev/null > $T/tf1 &&
	 policy-split best $M --exact --depth 1 $T/m1 | cmp - $T/tf1"
check "depth 3 over pair partials: refused, no output" \
	"! policy-split best $M --exact --depth 3 -o $T/x6 $T/m1 2> $T/e7 &&
	 test ! -e $T/x6 && grep -q 'depth 1 to 2' $T/e7"
check "fit --exact: 1 thread and 2 give the same bytes, at depth 3" \
	"policy-split fit $M --depth 3 --exact --threads 1 $T/s.pf 2> /dev/null > $T/d1 &&
	 policy-split fit $M --depth 3 --exact --threads 2 $T/s.pf 2> /dev/null > $T/d2 &&
	 cmp $T/d1 $T/d2 && grep -q '^depth: 3\$' $T/d1"

# No cap on boundaries but memory: a feature with more than 65,000 (every
# distinct value of 70,000 rows) is searched.
awk 'BEGIN { srand(3); print "x,r0,r1";
	for (i = 0; i < 70000; i++)
		printf "%d,%.3f,%.3f\n", i, (i % 7) - 3 + rand(), rand() }' > "$T/big.csv"
check "fit --exact: a feature of 70,000 boundaries" \
	"policy-prep fit --rewards r0,r1 --bins all $T/big.csv > $T/big.yaml &&
	 policy-prep apply -m $T/big.yaml $T/big.csv > $T/big.pf &&
	 policy-split fit -m $T/big.yaml --depth 2 --exact $T/big.pf > $T/bt 2> $T/be &&
	 grep -q '^search: exact\$' $T/bt && grep -q '70000 rows' $T/be"

done_testing

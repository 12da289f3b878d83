#!/bin/sh
# policy-prep end to end: fit, apply, cat, split, check and synth, on
# generated data always and on the shared real data sets when present.
# Single commands (each option of fit, refusals): testdata/cli/prep/*.case.
. "$(dirname "$0")/lib.sh"

# ---- generated data ------------------------------------------------------
policy-prep synth --rows 30000 --seed 7 --missing 0.05 --categorical 2 \
	--oracle > "$T/s.csv"
ok $? "synth writes a generated experiment"
F="--treatment arm --outcome y --exclude best,mu_control,mu_t1,mu_t2 --bins 16"
policy-prep fit $F "$T/s.csv" > "$T/s.yaml"
ok $? "fit on generated data"
check "fit is the same on shuffled rows" \
	"{ head -1 $T/s.csv; tail -n +2 $T/s.csv | sort -R --random-source=$T/s.csv; } > $T/s-shuf.csv &&
	 policy-prep fit $F $T/s-shuf.csv | cmp - $T/s.yaml"
check "fit is the same with a sample of 500 rows, any order (two passes)" \
	"policy-prep fit $F --sample 500 $T/s.csv > $T/s500.yaml &&
	 policy-prep fit $F --sample 500 $T/s-shuf.csv | cmp - $T/s500.yaml &&
	 ! cmp -s $T/s500.yaml $T/s.yaml"
# Zeros of both signs compare equal; where they fall in the sorted sample
# must not depend on the row order (boundaries, counts, the median).
awk 'BEGIN { srand(5); print "arm,y,x1,x2";
	for (i = 0; i < 600; i++)
		printf "%s,%d,%s,%s\n", i % 2 ? "a" : "b", i % 7,
		    i % 3 ? (i % 2 ? "-0" : "0") : sprintf("%.3f", rand() - 0.5),
		    i % 5 ? "NA" : (i % 2 ? "-0.0" : "0.0") }' > "$T/z.csv"
check "fit is the same whatever the order of -0 and 0" \
	"policy-prep fit --treatment arm --outcome y --bins 8 $T/z.csv > $T/z.yaml &&
	 { head -1 $T/z.csv; tail -n +2 $T/z.csv | sort -t, -k3,3 -k4,4; } |
	 policy-prep fit --treatment arm --outcome y --bins 8 | cmp - $T/z.yaml &&
	 { head -1 $T/z.csv; tail -n +2 $T/z.csv | sort -r -t, -k3,3 -k4,4; } |
	 policy-prep fit --treatment arm --outcome y --bins 8 | cmp - $T/z.yaml &&
	 policy-prep fit --treatment arm --outcome y --bins all $T/z.csv > $T/za.yaml &&
	 { head -1 $T/z.csv; tail -n +2 $T/z.csv | sort -r -t, -k3,3 -k4,4; } |
	 policy-prep fit --treatment arm --outcome y --bins all | cmp - $T/za.yaml"
check "fit reads stdin too, to the same bytes" \
	"policy-prep fit $F --sample 500 < $T/s-shuf.csv | cmp - $T/s500.yaml"
policy-prep apply -m "$T/s.yaml" "$T/s.csv" > "$T/s.pf"
ok $? "apply writes frames"
check "check reads every row back" \
	"policy-prep check $T/s.pf | grep -q ': 30000 rows, [0-9]* bytes, ok'"
check "cat gives the input's values back (numbers, labels, NA)" \
	"policy-prep cat --columns x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,arm,y $T/s.pf > $T/s-back.csv &&
	 cut -d, -f1-10,13,14 $T/s.csv | awk -F, 'NR==FNR{a[FNR]=\$0;next}
	   { n=split(a[FNR],x,\",\"); split(\$0,y,\",\");
	     for(i=1;i<=n;i++) if (x[i]!=y[i] && (x[i]+0)!=(y[i]+0)) { print FNR\": \"x[i]\" vs \"y[i]; exit 1 } }
	   END { if (FNR != 30001) exit 1 }' - $T/s-back.csv"
check "one-hot columns hold 1 for the row's level, 0 elsewhere, NA when missing" \
	"policy-prep cat --columns c1=a,c1=b,c1=c,c1=d,c1=e $T/s.pf | tail -n +2 > $T/oh.csv &&
	 cut -d, -f11 $T/s.csv | tail -n +2 | paste -d, - $T/oh.csv | awk -F, '
	   { if (\$1==\"NA\") { for(i=2;i<=6;i++) if (\$i!=\"NA\") exit 1; next }
	     k=index(\"abcde\",\$1)+1; for(i=2;i<=6;i++) if (\$i != (i==k)) exit 1 }'"
check "--tsv writes tabs" \
	"policy-prep cat --tsv --columns arm,y $T/s.pf | head -2 | tail -1 | grep -q '	'"
check "cat of two streams concatenated (coalesced) has both" \
	"cat $T/s.pf $T/s.pf | policy-prep check | grep -q ': 60000 rows'"

# train/test: disjoint, together all rows, near the fraction
policy-prep fit $F --train-fraction 0.7 --seed 3 "$T/s.csv" > "$T/tt.yaml"
policy-prep apply -m "$T/tt.yaml" --subset train "$T/s.csv" > "$T/train.pf"
policy-prep apply -m "$T/tt.yaml" --subset test "$T/s.csv" > "$T/test.pf"
policy-prep apply -m "$T/tt.yaml" --subset all "$T/s.csv" > "$T/all.pf"
ntrain=$(policy-prep check "$T/train.pf" | sed 's/.*: \([0-9]*\) rows.*/\1/')
ntest=$(policy-prep check "$T/test.pf" | sed 's/.*: \([0-9]*\) rows.*/\1/')
[ $((ntrain + ntest)) -eq 30000 ] && [ "$ntrain" -gt 20500 ] && [ "$ntrain" -lt 21500 ]
ok $? "train ($ntrain) and test ($ntest) rows add up, train near 70%"
check "train and test together are all rows (as a multiset)" \
	"policy-prep cat $T/train.pf $T/test.pf | sort > $T/a && policy-prep cat $T/all.pf | sort | cmp - $T/a"
check "the manifest says fit saw training rows only" \
	"grep -q 'train_rows: $ntrain\$' $T/tt.yaml"

# partitions: apply per CSV part, concatenated = apply on the whole
tail -n +2 "$T/s.csv" > "$T/body"
split -n l/5 "$T/body" "$T/part."
for p in "$T"/part.a?; do policy-prep apply -m "$T/s.yaml" --no-header "$p" > "$p.pf"; done
check "apply on 5 CSV parts (--no-header), coalesced, is apply on the whole" \
	"cat $T/part.ae.pf $T/part.ab.pf $T/part.ad.pf $T/part.aa.pf $T/part.ac.pf |
	 policy-prep cat | sort > $T/b && policy-prep cat $T/s.pf | sort | cmp - $T/b"

# split: by hash, round robin, shuffle
policy-prep split -n 4 -o "$T/h.%d.pf" "$T/s.pf"
ok $? "split -n 4 by row hash"
check "hash partitions together are the input" \
	"policy-prep cat $T/h.0.pf $T/h.1.pf $T/h.2.pf $T/h.3.pf | sort | cmp - $T/b"
check "a row's hash partition does not depend on the input order" \
	"policy-prep apply -m $T/s.yaml $T/s-shuf.csv | policy-prep split -n 4 -o $T/g.%d.pf &&
	 for k in 0 1 2 3; do policy-prep cat $T/h.\$k.pf | sort > $T/h\$k; policy-prep cat $T/g.\$k.pf | sort | cmp - $T/h\$k || exit 1; done"
check "round robin: sizes differ by at most one" \
	"policy-prep split -n 3 --round-robin -o $T/r.%d.pf $T/s.pf &&
	 policy-prep check $T/r.0.pf $T/r.1.pf $T/r.2.pf | grep -c ': 10000 rows' | grep -q 3"
check "shuffle: same seed same files, another seed other files, rows kept" \
	"policy-prep split -n 2 --shuffle --seed 5 -o $T/x.%d.pf $T/s.pf &&
	 policy-prep split -n 2 --shuffle --seed 5 -o $T/y.%d.pf $T/s.pf &&
	 policy-prep split -n 2 --shuffle --seed 6 -o $T/z.%d.pf $T/s.pf &&
	 cmp $T/x.0.pf $T/y.0.pf && ! cmp -s $T/x.0.pf $T/z.0.pf &&
	 policy-prep cat $T/x.1.pf $T/x.0.pf | sort | cmp - $T/b"


# ---- real data (skipped when ../shared/data is absent) ----------------------
H=$DATA/hillstrom.csv
if [ -f "$H" ]; then
	HF="--treatment segment --outcome spend --exclude visit,conversion --bins 32"
	policy-prep fit $HF "$H" > "$T/h.yaml" &&
		policy-prep apply -m "$T/h.yaml" "$H" > "$T/h.pf"
	ok $? "Hillstrom: fit and apply"
	check "Hillstrom: apply and cat keep all 64,000 rows" \
		"policy-prep check $T/h.pf | grep -q ': 64000 rows'"
	if command -v python3 >/dev/null 2>&1; then
		check "Hillstrom: every value comes back equal (numbers, labels, one-hot levels)" \
			"policy-prep cat $T/h.pf > $T/h-back.csv && python3 - $H $T/h-back.csv <<'PY'
import csv, sys
src = list(csv.DictReader(open(sys.argv[1], newline='')))
back = list(csv.DictReader(open(sys.argv[2], newline='')))
assert len(src) == len(back) == 64000, (len(src), len(back))
for a, b in zip(src, back):
    for c in ('recency', 'history', 'mens', 'womens', 'newbie', 'spend'):
        assert float(a[c]) == float(b[c]), (c, a[c], b[c])
    assert a['segment'] == b['segment']
    for c in ('history_segment', 'zip_code', 'channel'):
        assert b[c + '=' + a[c]] == '1', (c, a[c])
        assert sum(float(v) for k, v in b.items() if k.startswith(c + '=')) == 1
PY"
	else
		skip 1 "python3 not installed"
	fi
	check "Hillstrom: the manifest is the same on shuffled rows" \
		"{ head -1 $H; tail -n +2 $H | sort -R --random-source=$H; } > $T/hs.csv &&
		 policy-prep fit $HF $T/hs.csv | cmp - $T/h.yaml"
	tail -n +2 "$H" > "$T/hbody"
	split -n l/7 "$T/hbody" "$T/hp."
	for p in "$T"/hp.a?; do { head -1 "$H"; cat "$p"; } > "$p.csv"; done
	check "Hillstrom: the manifest is the same on 7 parts given in another order" \
		"policy-prep fit $HF $T/hp.ag.csv $T/hp.ac.csv $T/hp.aa.csv $T/hp.ae.csv $T/hp.ab.csv $T/hp.af.csv $T/hp.ad.csv | cmp - $T/h.yaml"
	check "Hillstrom: apply on 7 parts, concatenated, has the rows of apply on the whole" \
		"for p in $T/hp.a?; do policy-prep apply -m $T/h.yaml --no-header \$p > \$p.pf || exit 1; done &&
		 cat $T/hp.ag.pf $T/hp.aa.pf $T/hp.af.pf $T/hp.ab.pf $T/hp.ae.pf $T/hp.ac.pf $T/hp.ad.pf | policy-prep cat | sort > $T/hc &&
		 policy-prep cat $T/h.pf | sort | cmp - $T/hc"
else
	skip 6 "no $H"
fi
S=$DATA/star_qss.csv
if [ -f "$S" ]; then
	check "STAR: NA values kept missing, rows missing the outcome dropped" \
		"policy-prep fit --treatment classtype --outcome g4math --exclude hsgrad,g4reading --drop-missing $S > $T/star.yaml 2>$T/star.err &&
		 grep -q 'dropped [0-9]* rows' $T/star.err &&
		 policy-prep apply -m $T/star.yaml $S > $T/star.pf 2>/dev/null && policy-prep check $T/star.pf >/dev/null"
else
	skip 1 "no $S"
fi
N=$DATA/nsw_dw.csv
if [ -f "$N" ]; then
	check "NSW: a constant text column becomes a one-level category" \
		"policy-prep fit --treatment treat --outcome re78 $N | grep -q 'levels: \[\"Dehejia-Wahba Sample\"\]'"
else
	skip 1 "no $N"
fi
done_testing

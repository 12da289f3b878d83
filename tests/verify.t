#!/bin/sh
# policy-verify: signatures are the same under repartitioning, coalescing
# and shuffling; each single change drifts exactly its component (and those
# that depend on it).  compare's and drift's exit statuses and bad files:
# testdata/cli/verify/*.case.
. "$(dirname "$0")/lib.sh"
REDIGEST=${PT_UNIT:-$top/build/release/tests}/t-manifest

policy-prep synth --rows 20000 --seed 11 --categorical 1 --missing 0.02 > "$T/x.csv"
F="--treatment arm --outcome y --bins 8"
policy-prep fit $F "$T/x.csv" > "$T/m.yaml"
policy-prep apply -m "$T/m.yaml" "$T/x.csv" > "$T/x.pf"
policy-verify sign -m "$T/m.yaml" "$T/x.pf" > "$T/base.sig"
ok $? "sign a manifest and frames"

# drifted COMPONENTS... : compare base.sig with $T/new.sig, expect exactly
# these components drifted and every other one the same.
drifted() {
	policy-verify compare "$T/base.sig" "$T/new.sig" > "$T/cmp"
	st=$?
	got=$(awk '$2 == "drifted" { print $1 }' "$T/cmp" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
	others=$(awk '$2 != "drifted" && $2 != "same" { print }' "$T/cmp")
	if [ -z "$want" ]; then want_st=0; else want_st=1; fi
	if [ "$got" = "$want" ] && [ -z "$others" ] && [ $st -eq $want_st ]; then
		return 0
	fi
	echo "#   drifted: '$got' (want '$want'), status $st"
	sed 's/^/#   /' "$T/cmp"
	return 1
}

policy-prep split -n 8 -o "$T/p.%d.pf" "$T/x.pf"
policy-verify sign -m "$T/m.yaml" "$T"/p.*.pf > "$T/new.sig"
drifted; ok $? "8 hash partitions sign like the whole"
policy-prep split -n 3 --round-robin -o "$T/q.%d.pf" "$T/p.0.pf" "$T/p.1.pf" "$T/p.2.pf" "$T/p.3.pf" "$T/p.4.pf" "$T/p.5.pf" "$T/p.6.pf" "$T/p.7.pf"
cat "$T/q.2.pf" "$T/q.0.pf" "$T/q.1.pf" > "$T/q.pf"
policy-verify sign -m "$T/m.yaml" "$T/q.pf" > "$T/new.sig"
drifted; ok $? "8 partitions repartitioned to 3 and coalesced in reverse sign like the whole"
{ head -1 "$T/x.csv"; tail -n +2 "$T/x.csv" | sort -R --random-source="$T/x.csv"; } > "$T/shuf.csv"
policy-prep fit $F "$T/shuf.csv" > "$T/m2.yaml"
policy-prep apply -m "$T/m2.yaml" "$T/shuf.csv" | policy-verify sign -m "$T/m2.yaml" - > "$T/new.sig"
drifted; ok $? "shuffled rows, fitted and applied again, sign the same"

# one boundary
awk 'done == 0 && /boundaries: \[/ { sub(/\[[^,]*,/, "[-1e300,"); done = 1 } { print }' "$T/m.yaml" |
	"$REDIGEST" --redigest > "$T/mb.yaml"
policy-verify sign -m "$T/mb.yaml" > "$T/new.sig" && policy-verify sign -m "$T/m.yaml" > "$T/base.sig"
drifted manifest boundaries; ok $? "one boundary changed: manifest and boundaries drift"

# the order of two features
policy-prep fit $F --features x2,x1,x3,x4,x5,x6,x7,x8,x9,x10,c1 "$T/x.csv" > "$T/mf.yaml"
policy-prep fit $F --features x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,c1 "$T/x.csv" > "$T/m0.yaml"
policy-prep apply -m "$T/m0.yaml" "$T/x.csv" | policy-verify sign -m "$T/m0.yaml" - > "$T/base.sig"
policy-prep apply -m "$T/mf.yaml" "$T/x.csv" | policy-verify sign -m "$T/mf.yaml" - > "$T/new.sig"
drifted manifest feature_order; ok $? "two features swapped: manifest and feature order drift, rows do not"

# the order of the vocabulary
policy-prep fit $F --vocabulary t2,t1,control --control control "$T/x.csv" > "$T/mv.yaml"
policy-prep apply -m "$T/m.yaml" "$T/x.csv" | policy-verify sign -m "$T/m.yaml" - > "$T/base.sig"
policy-prep apply -m "$T/mv.yaml" "$T/x.csv" | policy-verify sign -m "$T/mv.yaml" - > "$T/new.sig"
drifted manifest vocabulary; ok $? "vocabulary reordered: manifest and vocabulary drift, rows do not"

# one row's treatment
awk -F, 'NR == 2 { $12 = ($12 == "t1") ? "t2" : "t1" } { print }' OFS=, "$T/x.csv" > "$T/xt.csv"
policy-prep apply -m "$T/m.yaml" "$T/xt.csv" | policy-verify sign -m "$T/m.yaml" - > "$T/new.sig"
drifted rows; ok $? "one row's treatment changed: rows drift"
policy-prep fit $F "$T/xt.csv" | cmp -s - "$T/m.yaml"
ok $? "(and the manifest fitted on it is the same: treatment labels do not move boundaries)"

# one row's feature value by one ulp-ish change in the text
awk -F, 'NR == 3 { $1 = $1 "1" } { print }' OFS=, "$T/x.csv" > "$T/xv.csv"
policy-prep apply -m "$T/m.yaml" "$T/xv.csv" | policy-verify sign -m "$T/m.yaml" - > "$T/new.sig"
drifted rows; ok $? "one feature value changed in its last digit: rows drift"

# A policy forest as the policy: -t takes it; grown over partitions or in
# one process, the run signs the same.
policy-score fit -m "$T/m.yaml" "$T/x.pf" > "$T/model.yaml" &&
	policy-score -M "$T/model.yaml" "$T/x.pf" > "$T/s.pf" &&
	policy-split fit -m "$T/m.yaml" -M "$T/model.yaml" --trees 4 --subsample 0.5 \
		--depth 2 "$T/s.pf" > "$T/pf.yaml" &&
	policy-split apply -t "$T/pf.yaml" "$T/s.pf" |
	policy-verify sign -m "$T/m.yaml" -M "$T/model.yaml" -t "$T/pf.yaml" - > "$T/pf.sig" &&
	grep -q '^  tree: ' "$T/pf.sig" && grep -q '^  policy: ' "$T/pf.sig"
ok $? "sign a run whose policy is a forest"
policy-prep split -n 3 -o "$T/f.%d.pf" "$T/s.pf" &&
	for k in 0 1 2; do
		policy-split hist -m "$T/m.yaml" -M "$T/model.yaml" --trees 4 --subsample 0.5 \
			"$T/f.$k.pf" > "$T/f.$k.h" || exit 1
	done &&
	policy-split merge "$T"/f.*.h | policy-split best -m "$T/m.yaml" --depth 2 > "$T/fst" &&
	for k in 0 1 2; do
		policy-split hist -m "$T/m.yaml" -M "$T/model.yaml" -t "$T/fst" "$T/f.$k.pf" > "$T/f.$k.h" || exit 1
	done &&
	policy-split merge "$T"/f.*.h | policy-split best -m "$T/m.yaml" -t "$T/fst" > "$T/pf2.yaml" &&
	for k in 0 1 2; do
		policy-split apply -t "$T/pf2.yaml" "$T/f.$k.pf" > "$T/fa.$k.pf" || exit 1
	done &&
	policy-verify sign -m "$T/m.yaml" -M "$T/model.yaml" -t "$T/pf2.yaml" "$T"/fa.*.pf |
	cmp -s - "$T/pf.sig"
ok $? "the forest grown over 3 partitions, applied there: the same signature"
policy-prep synth --rows 200 --features 3 > "$T/o.csv" &&
	policy-prep fit -q --treatment arm --outcome y "$T/o.csv" > "$T/om.yaml"
policy-verify sign -m "$T/om.yaml" -t "$T/pf.yaml" > "$T/out" 2> "$T/err"
[ $? -eq 2 ] && [ ! -s "$T/out" ] && grep -q 'made for manifest' "$T/err"
ok $? "a forest of another manifest is refused"

# The example of policy-signature(5), run as it stands: every digest, and
# so the way each is computed, pinned by the page (t-verify holds the
# signer to a field-by-field reference; this holds both to what users
# have).  A deliberate change to synth, fit, scores or trees changes the
# example too: then update the page with what this prints.
# (the page's second signature: the first is FORMAT's outline)
awk '/^# policy\\-tools contract signature/ { n++ } n == 2 { print } n == 2 && /^digest:/ { exit }' \
	"$top/man/policy-signature.5" | sed 's/\\-/-/g' > "$T/example.sig"
(
	cd "$T" && mkdir ex && cd ex &&
	policy-prep synth --rows 5000 > x.csv &&
	policy-prep fit --treatment arm --outcome y x.csv > m.yaml &&
	policy-prep apply -m m.yaml x.csv > x.pf &&
	policy-score fit -m m.yaml x.pf > model.yaml &&
	policy-score -M model.yaml x.pf > s.pf &&
	policy-split fit -m m.yaml --depth 2 s.pf > tree.yaml &&
	policy-split apply -t tree.yaml s.pf |
	    policy-verify sign -m m.yaml -M model.yaml -t tree.yaml - > run.sig &&
	policy-split apply -t tree.yaml s.pf > a.pf &&
	policy-verify sign --threads 1 -m m.yaml -M model.yaml -t tree.yaml a.pf > one.sig
)
[ -s "$T/example.sig" ] && cmp -s "$T/example.sig" "$T/ex/run.sig" &&
    cmp -s "$T/ex/run.sig" "$T/ex/one.sig"
st=$?
[ $st -eq 0 ] || diff "$T/example.sig" "$T/ex/run.sig" | sed 's/^/#   /'
ok $st "the example of policy-signature(5) signs to the page's digests (a pipe, and a file on one thread)"

done_testing

#!/bin/sh
# plot.t: scripts/plot on hand-made JSON (testdata/plot) and on a tree the
# programs learn: every picture is a PNG (by its signature) and an SVG (it
# parses as XML), labels with quotes, ampersands and angle brackets
# included; bad input exits 2 with one line "plot: ..." and leaves no
# output, not even a temporary, and keeps an older output as it was.
. "${PT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
for t in gnuplot dot jq python3; do
	command -v $t >/dev/null 2>&1 || { echo "1..0 # SKIP $t not installed (scripts/deps)"; exit 0; }
done
P="sh $top/scripts/plot"
D=$top/testdata/plot

# pictures BASE: BASE.png starts with the PNG signature, BASE.svg is XML
# with an svg root.
pictures() {
	[ "$(head -c 8 "$1.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
	python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
sys.exit(0 if r.tag.endswith("svg") else 1)' "$1.svg"
}

for k in values:eval values:eval-nodiff curve:curve drift:drift; do
	$P ${k%%:*} "$D/${k#*:}.json" "$T/${k#*:}" 2> "$T/err"
	ok $? "plot ${k%%:*} ${k#*:}.json exits 0"
	ok "$(wc -c < "$T/err")" "plot ${k%%:*} ${k#*:}.json is quiet"
	pictures "$T/${k#*:}"
	ok $? "plot ${k%%:*} ${k#*:}.json: a PNG and an SVG"
done
# The labels reach the SVG, escaped as XML wants them.
grep -q 'a_b .c. &amp; &lt;d' "$T/eval.svg"
ok $? "an arm's label with quotes, & and <> is in the SVG"
grep -q 'history segment' "$T/drift.svg"
ok $? "a feature name with a space is in the drift SVG"

$P sweep --title 'bins' --ylabel regret "$D/sweep.tsv" "$T/sweep" && pictures "$T/sweep"
ok $? "plot sweep on a table with a categorical x and NA cells"
printf 'F\tseconds\n10\t0.5\n1000\t2.5\n' > "$T/num.tsv"
$P sweep --logx "$T/num.tsv" "$T/num" && pictures "$T/num"
ok $? "plot sweep on numbers, log x"

# A tree learnt by the programs, drawn by dot.
(cd "$T" && policy-prep synth --rows 2000 --seed 3 > d.csv &&
 policy-prep fit --treatment arm --outcome y --bins 8 d.csv > m.yaml &&
 policy-prep apply -m m.yaml d.csv > d.pf &&
 policy-score fit -m m.yaml d.pf > model.yaml &&
 policy-score -M model.yaml d.pf | policy-split fit -m m.yaml -M model.yaml --depth 2 > tree.yaml) &&
$P tree "$T/tree.yaml" "$T/tree" && pictures "$T/tree"
ok $? "plot tree: the tree as PNG and SVG"
grep -q 'x[0-9]' "$T/tree.svg"
ok $? "the tree's SVG names its features"

# bad CASE KIND INPUT: exit 2, one line "plot: ..." on stderr, no output
# and nothing else new in the output directory.
bad() {
	name=$1 kind=$2 in=$3
	mkdir "$T/bad"
	$P $kind "$in" "$T/bad/out" 2> "$T/err"
	st=$?
	[ $st -eq 2 ]
	ok $? "$name: exit 2 (got $st)"
	[ "$(wc -l < "$T/err")" -eq 1 ] && grep -q '^plot: ' "$T/err"
	ok $? "$name: one line 'plot: ...' ($(head -1 "$T/err"))"
	[ -z "$(ls -A "$T/bad")" ]
	ok $? "$name: no file written"
	rm -rf "$T/bad"
}
bad "truncated JSON" values "$D/bad-eval.json"
bad "JSON without policies" values "$D/not-eval.json"
bad "curve JSON given as eval" values "$D/curve.json"
bad "eval JSON given as a curve" curve "$D/eval.json"
bad "eval JSON given as drift" drift "$D/eval.json"
bad "a missing input" values "$T/no-such.json"
bad "a tree that is not one" tree "$D/eval.json"
bad "a table that is not one" sweep "$D/eval.json"
bad "an unknown kind" pie "$D/eval.json"

# A failure keeps the older picture.
$P values "$D/eval.json" "$T/keep" && cp "$T/keep.png" "$T/keep.before"
$P values "$D/bad-eval.json" "$T/keep" 2> /dev/null
[ $? -eq 2 ] && cmp -s "$T/keep.png" "$T/keep.before" && [ -s "$T/keep.svg" ]
ok $? "a failed plot leaves the older OUTBASE.png and .svg in place"
done_testing

#!/bin/sh
# fixtures.sh: what the cases of testdata/cli share, made once per run in
# the current directory ($F to the cases) by tests/cli.t.  Small on
# purpose: every fixture is made in well under a second.
set -eu
C=$(cd "$(dirname "$0")" && pwd)

# Six rows of testdata/cli/good.csv: x1, x2 (one NA), c1 (a, b), arm, y.
cp "$C/good.csv" good.csv
policy-prep fit --treatment arm --outcome y --bins 4 good.csv > good.yaml
policy-prep fit --treatment arm --outcome y --bins 2 good.csv > other.yaml
policy-prep apply -m good.yaml --frame-rows 2 -l 0 good.csv > good.pf
policy-prep apply -m other.yaml -l 0 good.csv > other.pf
policy-prep cat good.pf > good-cat.csv

# Damaged frames: cut in a frame, cut at a frame boundary (the end frame
# dropped), one bit flipped, two manifests in one stream.
size=$(wc -c < good.pf)
head -c $((size / 2)) good.pf > cut-mid.pf
head -c $((size - 56)) good.pf > cut-boundary.pf
cp good.pf flip.pf
off=$((size / 3))
byte=$(od -An -tu1 -j $off -N1 good.pf | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" |
	dd of=flip.pf bs=1 seek=$off conv=notrunc 2>/dev/null
cat good.pf other.pf > mixed.pf
{ printf 'x1,x2,c1,arm,y\n0.5,'; head -c 10485760 /dev/zero | tr '\0' 7;
  printf ',a,t1,1\n'; } > huge.csv

# A run: 2,000 generated rows, a manifest, frames, a model, scores, a tree,
# a partial, a pair partial and a signature.
policy-prep synth --rows 2000 --categorical 1 --missing 0.05 --seed 7 > x.csv
policy-prep fit --treatment arm --outcome y --bins 8 --train-fraction 0.7 \
	x.csv > m.yaml
policy-prep apply -m m.yaml --subset train x.csv > x.pf
policy-prep apply -m m.yaml --subset test x.csv > test.pf
policy-score fit -m m.yaml --folds 2 x.pf > model.yaml
policy-score -M model.yaml x.pf > scored.pf
policy-score -M model.yaml test.pf > test-scored.pf
policy-split fit -m m.yaml -M model.yaml --depth 2 scored.pf > tree.yaml
policy-split hist -m m.yaml -M model.yaml scored.pf > root.part
policy-split hist -q -m m.yaml -M model.yaml --pairs scored.pf > pairs.part
policy-verify sign -m m.yaml -M model.yaml -t tree.yaml scored.pf > run.sig

# $F/redigest: a filter giving a file a fresh final digest line, for inputs
# wrong in one way (a version, a YAML error) that must pass the digest check.
test -x "$PT_UNIT/t-manifest"
printf '#!/bin/sh\nexec "%s/t-manifest" --redigest\n' "$PT_UNIT" > redigest
chmod +x redigest

# Partitions: two hash partitions of the scored rows and their root
# partials; the open level-1 tree grown from the whole root partial, and
# the level-1 partial.  Two of x.pf and their policy-score partials.
policy-prep split -n 2 -o scored.%d.pf scored.pf
for k in 0 1; do
	policy-split hist -m m.yaml -M model.yaml scored.$k.pf > root.$k.part
done
policy-split best -m m.yaml --depth 2 root.part > tree1.yaml
for k in 0 1; do
	policy-split eval -q --partial -t tree.yaml scored.$k.pf > eval.$k.part
done
policy-split eval -q --partial -t tree1.yaml scored.0.pf > eval1.0.part
policy-split hist -m m.yaml -M model.yaml -t tree1.yaml scored.pf > level1.part
policy-prep split -n 2 -o x.%d.pf x.pf
for k in 0 1; do
	policy-score fit -m m.yaml --partial x.$k.pf > x.$k.part
done
policy-score fit -m m.yaml x.pf > model5.yaml  # what the two parts merge to

# A generated forest of 12 features and 100 generated rows it scores.
policy-score forest-gen --trees 2 --depth 3 --features 12 --arms 4 --seed 5 \
	> forest.yaml
policy-score gen-data --rows 100 --features 12 --seed 9 > gen.pf

#!/bin/sh
# Sample weights in the manifest's training bins and in policy-verify drift:
# frequency weights, so whole weights give the numbers of the rows repeated
# (fit: per-bin weights = the counts of the duplicated rows; drift: the
# same index), non-whole weights the index an independent computation
# gives, and a manifest's weights are read back and checked.
. "$(dirname "$0")/lib.sh"
REDIGEST=${PT_UNIT:-$top/build/release/tests}/t-manifest

# gen SEED ROWS SHIFT: arm,y,x1,x2,c,w with whole weights 0..4; x1 on a
# grid of 12 values, x2 on 8 (5% missing), c one of p q r s (5% missing).
# The first 12 rows have weight 1 and hold every value and level, so the
# rows repeated by weight have the distinct values of the rows.
gen() {
	awk -v seed="$1" -v n="$2" -v shift="$3" 'BEGIN {
		srand(seed)
		split("p q r s", lv, " ")
		print "arm,y,x1,x2,c,w"
		for (i = 0; i < n; i++) {
			if (i < 12) {
				x1 = i / 4; x2 = i % 8; c = lv[i % 4 + 1]; w = 1
			} else {
				u = rand()
				if (shift) u = u * u
				x1 = int(u * 12) / 4
				x2 = rand() < 0.05 ? "" : int(rand() * 8)
				c = rand() < 0.05 ? "" : lv[int(rand() * (shift ? 2 : 4)) + 1]
				w = int(rand() * 5)
			}
			printf "%s,%d,%s,%s,%s,%d\n", (rand() < 0.5 ? "a" : "b"),
			    int(rand() * 10), x1, x2, c, w
		}
	}'
}
# dup: each row repeated as often as its weight, with weight 1.
dup() {
	awk -F, -v OFS=, 'NR == 1 { print; next }
		{ n = $6; $6 = 1; for (k = 0; k < n; k++) print }'
}
# list KEY FILE: the numbers of every "KEY: [...]" line, one list a line.
list() {
	sed -n "s/^ *$1: \[\(.*\)\]\$/\1/p" "$2"
}

gen 7 400 0 > "$T/w.csv"
dup < "$T/w.csv" > "$T/d.csv"
F="--treatment arm --outcome y --weight w --bins all"

# Fit: per-bin weights of whole weights are the counts of the duplicates.
policy-prep fit $F "$T/w.csv" > "$T/mw.yaml"
ok $? "fit --weight w on whole weights 0..4"
policy-prep fit $F "$T/d.csv" > "$T/md.yaml"
ok $? "fit --weight w on the rows repeated by weight (weights all 1)"
list boundaries "$T/mw.yaml" > "$T/bw" && list boundaries "$T/md.yaml" > "$T/bd"
cmp -s "$T/bw" "$T/bd" && [ -s "$T/bw" ]
ok $? "the same boundaries on both (--bins all, same distinct values)"
list weights "$T/mw.yaml" > "$T/ww" && list counts "$T/md.yaml" > "$T/cd"
cmp -s "$T/ww" "$T/cd" && [ "$(wc -l < "$T/ww")" -eq 6 ]
ok $? "per-bin weights (whole weights) = per-bin counts of the repeated rows, every feature"
list weights "$T/md.yaml" > "$T/wd"
cmp -s "$T/wd" "$T/cd"
ok $? "weights all 1: per-bin weights = per-bin counts"
tw=$(sed -n 's/^  train_weight: //p' "$T/mw.yaml")
tr=$(sed -n 's/^  train_rows: //p' "$T/md.yaml")
[ -n "$tw" ] && [ "$tw" = "$tr" ]
ok $? "train_weight ($tw) = the repeated rows' train_rows ($tr)"
list counts "$T/mw.yaml" | cmp -s - "$T/cd"
[ $? -ne 0 ] && [ "$(sed -n 's/^  train_rows: //p' "$T/mw.yaml")" -eq 400 ]
ok $? "counts still count rows (400, not the weights)"

# Read back, stable bytes, order and the second pass do not show.
policy-prep apply -m "$T/mw.yaml" "$T/w.csv" > "$T/w.pf"
ok $? "the weighted manifest reads back: apply -m takes it"
policy-prep fit $F "$T/w.csv" | cmp -s - "$T/mw.yaml"
ok $? "a second fit gives the same bytes (digest $(tail -1 "$T/mw.yaml" | cut -c9-))"
{ head -1 "$T/w.csv"; tail -n +2 "$T/w.csv" | sort -R --random-source="$T/w.csv"; } > "$T/ws.csv"
policy-prep fit $F "$T/ws.csv" | cmp -s - "$T/mw.yaml"
ok $? "rows shuffled: the same manifest"
policy-prep fit $F --sample 16 "$T/w.csv" > "$T/m16.yaml"
list weights "$T/m16.yaml" | cmp -s - "$T/ww"
ok $? "a sample too small for the rows (counts in a second pass): the same weights"
policy-prep fit --treatment arm --outcome y --bins 4 "$T/w.csv" > "$T/mu.yaml"
! grep -q 'weight' "$T/mu.yaml"
ok $? "without --weight: no weight, train_weight or weights keys"

# Drift: whole weights give the report of the rows repeated.
gen 8 300 1 > "$T/n.csv"
dup < "$T/n.csv" > "$T/nd.csv"
policy-prep apply -m "$T/mw.yaml" "$T/n.csv" > "$T/n.pf" &&
	policy-prep apply -m "$T/mw.yaml" "$T/nd.csv" > "$T/nd.pf"
ok $? "new rows and their repetitions applied under the weighted manifest"
policy-verify drift -m "$T/mw.yaml" --threshold 0.05 "$T/n.pf" > "$T/rw"
st=$?
policy-verify drift -m "$T/mw.yaml" --threshold 0.05 "$T/nd.pf" > "$T/rd"
st2=$?
[ $st -eq 1 ] && [ $st2 -eq 1 ] && grep -q drifted "$T/rw"

ok $? "drift finds the shift (exit 1) on both"
grep -v '^rows: ' "$T/rw" > "$T/rw1" && grep -v '^rows: ' "$T/rd" > "$T/rd1"
cmp -s "$T/rw1" "$T/rd1"
ok $? "weighted rows and the rows repeated: the same report but for the row count"
[ "$(sed -n 's/^rows: //p' "$T/rw")" -eq 300 ] &&
	[ "$(sed -n 's/^rows: //p' "$T/rd")" = "$(sed -n 's/^weight: //p' "$T/rw")" ]
ok $? "rows counts rows (300); weight is the repeated rows' count"
policy-verify drift -m "$T/mw.yaml" --tsv "$T/n.pf" > "$T/tw"
policy-verify drift -m "$T/mw.yaml" --tsv "$T/nd.pf" | cmp -s - "$T/tw"
ok $? "--tsv: byte-identical"
policy-prep split -n 3 -o "$T/np.%d.pf" "$T/n.pf" &&
	policy-verify drift -m "$T/mw.yaml" --threshold 0.05 "$T/np.2.pf" "$T/np.0.pf" "$T/np.1.pf" |
	cmp -s - "$T/rw"
ok $? "three partitions in another order: the same report"
policy-prep apply -m "$T/mw.yaml" "$T/w.csv" | policy-verify drift -m "$T/mw.yaml" - > "$T/self"
[ "$(awk '/psi:/ && !/psi: 0,/' "$T/self" | wc -l)" -eq 0 ]
ok $? "the training rows against their own manifest: every index 0"

# Refusals of drift.
awk -F, -v OFS=, 'NR > 1 { $6 = 0 } { print }' "$T/n.csv" > "$T/z.csv"
policy-prep apply -m "$T/mw.yaml" "$T/z.csv" | policy-verify drift -m "$T/mw.yaml" - > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q 'weights are all 0' "$T/err"
ok $? "rows all of weight 0: no rows to compare ($(cat "$T/err"))"
policy-prep apply -m "$T/mu.yaml" "$T/n.csv" | policy-verify drift -m "$T/mw.yaml" - > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q 'not of the manifest given' "$T/err"
ok $? "frames of the unweighted manifest against the weighted one: refused"

# Non-whole weights: the index against an independent computation.
awk -F, -v OFS=, 'BEGIN { srand(3) } NR > 1 { $6 = sprintf("%.6f", rand() * 3) } { print }' "$T/w.csv" > "$T/fw.csv"
awk -F, -v OFS=, 'BEGIN { srand(4) } NR > 1 { $6 = sprintf("%.3g", rand() * rand() * 7) } { print }' "$T/n.csv" > "$T/fn.csv"
policy-prep fit --treatment arm --outcome y --weight w --bins 5 "$T/fw.csv" > "$T/mf.yaml" &&
	policy-prep apply -m "$T/mf.yaml" "$T/fn.csv" |
	policy-verify drift -m "$T/mf.yaml" --threshold 100 --tsv - > "$T/ftsv"
ok $? "non-whole weights: fit, apply, drift"
if ! command -v python3 > /dev/null 2>&1; then
	skip 1 "python3 is not installed"
else
	cat > "$T/psi.py" <<'EOF'
# PSI of each feature from the CSVs themselves: boundaries from the
# manifest, weights per bin summed here (math.fsum), smoothing 0.5.
import bisect, csv, math, re, sys
man, train, new, got = sys.argv[1:5]
feats, cur = [], None
for line in open(man):
    m = re.match(r'  - name: "(.*)"$', line)
    if line.startswith('features:'):
        cur = []
    elif cur is not None and m:
        cur.append({'name': m.group(1)})
    elif cur is not None and line.startswith('    boundaries: ['):
        s = line.split('[', 1)[1].rsplit(']', 1)[0]
        cur[-1]['b'] = [float(v) for v in s.split(', ')] if s else []
feats = cur
def value(row, name):
    if '=' in name:
        src, lvl = name.split('=', 1)
        return float('nan') if row[src] == '' else float(row[src] == lvl)
    return float('nan') if row[name] == '' else float(row[name])
def bins(path, f):
    k = len(f['b']) + 2
    acc = [[] for _ in range(k)]
    for row in csv.DictReader(open(path)):
        x = value(row, f['name'])
        i = k - 1 if math.isnan(x) else bisect.bisect_left(f['b'], x)
        acc[i].append(float(row['w']))
    return [math.fsum(a) for a in acc]
want = {}
for f in feats:
    t, n = bins(train, f), bins(new, f)
    k, T, N = len(t), math.fsum(t), math.fsum(n)
    psi = 0.0
    for i in range(k):
        p = (n[i] + 0.5) / (N + 0.5 * k)
        q = (t[i] + 0.5) / (T + 0.5 * k)
        psi += (p - q) * math.log(p / q)
    want[f['name']] = psi
bad = 0
for line in list(open(got))[1:]:
    name, psi, _ = line.rstrip('\n').split('\t')
    if abs(float(psi) - want[name]) > 1e-12 * max(1.0, want[name]):
        print('#   %s: %s, python %r' % (name, psi, want[name]))
        bad = 1
print('#   %d features, largest index %.6g' % (len(want), max(want.values())))
sys.exit(bad or len(want) != 6)
EOF
	python3 "$T/psi.py" "$T/mf.yaml" "$T/fw.csv" "$T/fn.csv" "$T/ftsv"
	ok $? "non-whole weights: every index within 1e-12 (relative) of python's"
fi

# The manifest reader refuses damaged weights (digest made to match).
damaged() { # damaged NAME PATTERN SED-SCRIPT
	sed "$3" "$T/mw.yaml" | "$REDIGEST" --redigest > "$T/bad.yaml"
	policy-prep apply -m "$T/bad.yaml" "$T/w.csv" > /dev/null 2> "$T/err"
	st=$?
	[ $st -eq 2 ] && grep -q "$2" "$T/err" && ! cmp -s "$T/bad.yaml" "$T/mw.yaml"
	ok $? "$1: $(cat "$T/err")"
}
damaged "a weights list one short" "weights, expected" '0,/weights: \[[^,]*, /s//weights: [/'
damaged "a negative weight" "is negative" '0,/weights: \[/s//weights: [-/'
damaged "a NaN weight" "not a finite number" '0,/weights: \[[^,]*,/s//weights: [.nan,/'
damaged "an infinite weight" "not a finite number" '0,/weights: \[[^,]*,/s//weights: [.inf,/'
damaged "weights without a weight column" "has weights, but the manifest has no weight column" '/^weight: /d; /train_weight: /d'
damaged "a weight column without weights" "has no weights" '0,/^    weights: /{/^    weights: /d}'
damaged "train_weight without a weight column" "train_weight, but" '/^weight: /d'

done_testing

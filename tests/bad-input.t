#!/bin/sh
# The bad-input corpus: every testdata/bad/*.case must fail the way it says.
# A case holds lines "run: COMMAND", "status: N" and "stderr: REGEX" (an
# extended regular expression the whole single stderr line must match).
# COMMAND runs under sh with $D (testdata/bad), $T (a scratch directory
# with fixtures made below) and the programs on PATH.  Every command writes
# with -o $T/out where it writes at all; afterwards no $T/out* may exist,
# so a failed run never leaves an output (or a temporary) behind.
top=${PT_TOP:-.}
PATH=${PT_BIN:-$top/bin}:$PATH
D=$top/testdata/bad
T=$(mktemp -d) || exit 2
trap 'rm -rf "$T"' EXIT INT TERM
export D T PATH

# Fixtures.
set -e
policy-prep fit --treatment arm --outcome y --bins 4 \
	"$top/testdata/prep/good.csv" > "$T/good.yaml"
policy-prep fit --treatment arm --outcome y --bins 2 \
	"$top/testdata/prep/good.csv" > "$T/other.yaml"
policy-prep apply -m "$T/good.yaml" --frame-rows 2 -l 0 \
	"$top/testdata/prep/good.csv" > "$T/good.pf"
policy-prep apply -m "$T/other.yaml" -l 0 \
	"$top/testdata/prep/good.csv" > "$T/other.pf"
size=$(wc -c < "$T/good.pf")
head -c $((size / 2)) "$T/good.pf" > "$T/cut-mid.pf"
head -c $((size - 56)) "$T/good.pf" > "$T/cut-boundary.pf" # drop the end frame
cp "$T/good.pf" "$T/flip.pf"
off=$((size / 3))
byte=$(od -An -tu1 -j $off -N1 "$T/good.pf" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" |
	dd of="$T/flip.pf" bs=1 seek=$off conv=notrunc 2>/dev/null
cat "$T/good.pf" "$T/other.pf" > "$T/mixed.pf"
{ printf 'x1,x2,c1,arm,y\n0.5,'; head -c 10485760 /dev/zero | tr '\0' 7;
  printf ',a,t1,1\n'; } > "$T/huge.csv"
set +e

n=0 fail=0
cases=$(ls "$D"/*.case)
echo "1..$(echo "$cases" | wc -l)"
for c in $cases; do
	n=$((n + 1))
	name=$(basename "$c" .case)
	cmd=$(sed -n 's/^run: //p' "$c")
	want=$(sed -n 's/^status: //p' "$c")
	pat=$(sed -n 's/^stderr: //p' "$c")
	rm -f "$T"/out*
	sh -c "$cmd" > "$T/stdout" 2> "$T/stderr" < /dev/null
	got=$?
	lines=$(wc -l < "$T/stderr")
	left=$(ls "$T" | grep '^out' || true)
	if [ "$got" = "$want" ] && [ "$lines" -eq 1 ] &&
	    grep -Eq -- "$pat" "$T/stderr" && [ -z "$left" ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "#   status $got (want $want), $lines stderr lines, left: '$left'"
		sed 's/^/#   stderr: /' "$T/stderr" | head -3
		fail=1
	fi
done
exit $fail

#!/bin/sh
# man.t: the manual pages (man/*.[1-9]: the programs' pages, the file
# formats and policy-tools(7)) render without a single groff warning, and
# the example manifest in policy-manifest(5) is what the program really
# writes.  That the pages document each program's options, no more and no
# fewer, is man-options.t's job: it holds them to the option tables.
#
# PT_BIN: the directory of the built programs; PT_TOP: the source tree.

: "${PT_BIN:=bin}"
: "${PT_TOP:=.}"

if ! command -v man >/dev/null 2>&1; then
	echo "1..0 # SKIP no man(1)"
	exit 0
fi
if ! command -v groff >/dev/null 2>&1; then
	echo "1..0 # SKIP no groff (package groff-base)"
	exit 0
fi

pages=$(ls "$PT_TOP"/man/*.[1-9] 2>/dev/null)
prog="$PT_BIN/policy-prep"

t=0
ok() { # ok COND-STATUS DESCRIPTION
	t=$((t + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $t - $2"
	else
		echo "not ok $t - $2"
	fi
}

[ -n "$pages" ]
ok $? "man/ holds manual pages"
# The shared conventions live in one page, which the loop below renders.
[ -r "$PT_TOP/man/policy-tools.7" ]
ok $? "man/ holds policy-tools.7"

for p in $pages; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	[ -z "$out" ]
	ok $? "$(basename "$p") renders without warnings"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
done

# The EXAMPLES of policy-manifest(5): the commands shown, against the
# manifest shown (between ".RS 2" and ".fi"; its first line is folded).
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
awk '/^\.RS 2$/ { f = 1; next } f && /^\.nf$/ { next } f && /^\.fi$/ { exit }
    f { print }' "$PT_TOP/man/policy-manifest.5" |
    sed -e 's/\\e/\\/g' -e '1{N;s/\n    / /;}' > "$tmp/shown.yaml"
"$prog" synth --rows 12 --features 2 --categorical 1 --arms 2 \
    --missing 0.15 --seed 1 > "$tmp/tiny.csv" 2>/dev/null &&
    "$prog" fit --treatment arm --outcome y --features x1,c1 --bins 4 \
    --missing-for c1=mode --train-fraction 0.75 "$tmp/tiny.csv" \
    > "$tmp/tiny.yaml" 2>/dev/null &&
    [ -s "$tmp/shown.yaml" ] && cmp -s "$tmp/shown.yaml" "$tmp/tiny.yaml"
ok $? "the example manifest in policy-manifest.5 is the program's output"
echo "1..$t"

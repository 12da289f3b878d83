#!/bin/sh
# man.t: the manual pages render without a single groff warning; every
# long option `policy-prep --help` prints is documented in policy-prep(1),
# so the help text and the manual cannot drift apart unnoticed; and the
# example manifest in policy-manifest(5) is what the program really writes.
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

for p in $pages; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
	[ -z "$out" ]
	ok $? "$(basename "$p") renders without warnings"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
done

# Every long option a program's --help prints is in its page.  In a page
# an option is written \-\-name (any hyphen may be \-), and it must end
# there: --missing is not documented by --missing-for.
for name in policy-prep policy-score policy-split policy-verify; do
	bin="$PT_BIN/$name"
	page="$PT_TOP/man/$name.1"
	o=$("$bin" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' |
	    sed 's/^--//' | sort -u)
	[ -n "$o" ] && [ -r "$page" ]
	ok $? "$name --help lists long options, and $name.1 exists"
	for opt in $o; do
		re=$(printf '%s' "$opt" | sed 's/-/(\\\\-|-)/g')
		grep -Eq "(\\\\-|-)(\\\\-|-)$re([^a-z0-9\\\\-]|\\\\[^-]|\$)" "$page" \
		    2>/dev/null
		ok $? "--$opt is documented in $name.1"
	done
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

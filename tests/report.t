#!/bin/sh
# report.t: scripts/report at its smallest size (what make report
# REPORT_SIZE=tiny runs) writes every figure as a valid PNG and SVG, links
# each from index.html and links nothing that is not there, carries the
# tables the experiments make, and replaces an older report whole.
. "${PT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"
for t in gnuplot dot jq python3; do
	command -v $t >/dev/null 2>&1 || { echo "1..0 # SKIP $t not installed (scripts/deps)"; exit 0; }
done
O=$T/out/report
mkdir -p "$O"
echo stale > "$O/stale.txt"

sh "$top/scripts/report" --size tiny --out "$O" > "$T/stdout" 2> "$T/stderr"
ok $? "scripts/report --size tiny exits 0"
[ ! -s "$T/stdout" ] && [ ! -s "$T/stderr" ]
ok $? "it is quiet ($(head -1 "$T/stderr"))"
[ -s "$O/index.html" ]
ok $? "it writes index.html"
[ ! -e "$O/stale.txt" ] && [ "$(ls "$T/out")" = report ]
ok $? "the older report is replaced whole, and no temporary is left beside it"

# Every figure the experiments draw; the JSON ones once the programs
# have the options.
want="ablation features-time features-memory bins arms missing synth-tree"
policy-split eval --list-options | cut -f2 | grep -qx json && want="$want synth-values"
policy-split eval --list-options | cut -f2 | grep -qx curve && want="$want synth-curve"
policy-verify drift --list-options | cut -f2 | grep -qx json && want="$want synth-drift"
for f in $want; do
	[ -s "$O/$f.png" ] && [ -s "$O/$f.svg" ]
	ok $? "figure $f: PNG and SVG"
done

# Every image is what its name says.
for f in "$O"/*.png; do
	[ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	ok $? "$(basename "$f") starts with the PNG signature"
done
for f in "$O"/*.svg; do
	python3 -c 'import sys, xml.etree.ElementTree as E
sys.exit(0 if E.parse(sys.argv[1]).getroot().tag.endswith("svg") else 1)' "$f" 2> "$T/err"
	ok $? "$(basename "$f") parses as SVG ($(tail -1 "$T/err"))"
done

# The links: every image in the directory is linked; every link resolves.
python3 - "$O" > "$T/links" <<'PY'
import html.parser, os, sys
d = sys.argv[1]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links = set()
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v and not v.startswith(("#", "http")):
                self.links.add(v)
p = P(); p.feed(open(os.path.join(d, "index.html"), encoding="utf-8").read())
imgs = {f for f in os.listdir(d) if f.endswith((".png", ".svg"))}
for f in sorted(imgs - p.links): print("not linked:", f)
for f in sorted(p.links): 
    if not os.path.exists(os.path.join(d, f)): print("missing:", f)
print("links", len(p.links))
PY
ok $? "index.html parses"
grep -q '^links [1-9]' "$T/links" && ! grep -q -v '^links' "$T/links"
ok $? "index.html links every image and every image it links exists ($(grep -v '^links' "$T/links" | head -3 | tr '\n' ' '))"

# The tables hold what the runs found.
n2=$(grep -l '^status: 2$' "$top"/testdata/cli/*/*.case | wc -l)
[ "$(($(wc -l < "$O/catalog.tsv") - 1))" -eq "$n2" ] &&
	[ "$(grep -c '<td>[a-z]*/[^<]*\.case</td>' "$O/index.html")" -eq "$n2" ]
ok $? "the failure catalog lists each of the $n2 bad-input cases"
awk -F '\t' 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "same") bad = 1; n++ } END { exit bad || n != 6 }' "$O/audit-locked.tsv"
ok $? "the locked audit: six perturbations, every component the same"
grep -q DRIFT "$O/audit-unlocked.tsv"
ok $? "the unlocked audit drifts"
awk -F '\t' 'NR > 1 && $3 != "yes" { bad = 1 } END { exit bad || NR < 2 }' "$O/parity.tsv"
ok $? "backend parity: identical scores for every workload"
awk -F '\t' 'NR > 1 { n++; if ($11 !~ /^-?[0-9.]+$/ && $3 == "greedy") bad = 1 } END { exit bad || n != 10 }' "$O/bins.tsv"
ok $? "bins: five boundary counts, greedy and exact, a held-out regret for each greedy tree"
# An HTML-escaped catalog: the messages hold quotes and brackets.
! grep -q "<td>[^<]*'[^<]*</td>" "$O/index.html"
ok $? "quotes in table cells are escaped"

# A failure leaves the older report as it was.
cp "$O/index.html" "$T/index.before"
mkdir "$T/nobin"
PT_BIN=$T/nobin PATH=/usr/bin:/bin sh "$top/scripts/report" --size tiny --out "$O" 2> "$T/err"
[ $? -eq 2 ] && grep -q '^report: ' "$T/err" && cmp -s "$O/index.html" "$T/index.before"
ok $? "without the programs: exit 2, one message, the older report kept"
done_testing

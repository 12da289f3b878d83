#!/bin/sh
# Mutation smoke test of every parsed input (scripts/fuzz): no crash, no
# sanitizer report, one line of error at most, exit 0/1/2.  In the
# sanitizer pass it runs the ASan+UBSan programs.
. "$(dirname "$0")/lib.sh"
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP no python3"
	exit 0
fi
python3 "$top/scripts/fuzz" --bin "${PT_BIN:-$top/bin}" \
	--unit "${PT_UNIT:-$top/build/release/tests}" --seed 7 --runs 25 > "$T/out" 2>&1
ok $? "mutated manifests, models, partials, trees, signatures and CSV: $(tail -1 "$T/out")"
grep '^bad run' "$T/out" | sed 's/^/# /'
done_testing

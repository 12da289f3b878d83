#!/bin/sh
# make demo (scripts/demo), smaller: the README's main example must keep
# working, find the planted policy, and match a single process exactly.
. "$(dirname "$0")/lib.sh"
DEMO_ROWS=40000 DEMO_DIR="$T/demo" sh "$top/scripts/demo" > "$T/out" 2>&1
ok $? "the demo runs to its end"
grep -q '^identical$' "$T/out"
ok $? "the partitioned search writes the single process's tree"
awk '/policy-verify compare/ { f = 1; next } f && /^row_count/ { exit } f' "$T/out" > "$T/cmp"
[ "$(grep -c ' same$' "$T/cmp")" -eq 10 ]
ok $? "all ten signature components are the same"
grep -q 'if x1 <= 0\.[45]' "$T/out" && grep -q 'x2 <= 0\.[23]' "$T/out" && grep -q 'x2 <= 0\.[67]' "$T/out"
ok $? "the tree splits where the planted policy does (x1 ~ 0.5, x2 ~ 0.3 and 0.7)"
cmp -s "$top/testdata/pins/demo-40000.sig" "$T/demo/part.sig" &&
    cmp -s "$top/testdata/pins/demo-40000.sig" "$T/demo/single.sig"
ok $? "the signatures are the pinned ones (testdata/pins/demo-40000.sig), byte for byte"
done_testing

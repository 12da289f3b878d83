#!/bin/sh
# pins.t: what users have seen stays what they see.  The README's
# walkthrough on Hillstrom (when ../shared/data has it) must print exactly
# what the README shows; the same walkthrough on generated data must be
# byte for byte what testdata/pins/ holds (demo.t pins the demo's
# signature).  Output bytes do not depend on the build, so the sanitizer
# pass skips this.  A change that moves any of them is a change of
# results, and must update the pins (and the README) on purpose:
#   sh scripts/walkthrough --synth > testdata/pins/walkthrough-synth.out
. "$(dirname "$0")/lib.sh"
P=$top/testdata/pins
if [ -n "${PT_SANITIZE:-}" ]; then
	echo "1..0 # SKIP output pins need one build only"
	exit 0
fi

PATH=$PATH sh "$top/scripts/walkthrough" --synth > "$T/synth.out" 2>&1
cmp -s "$P/walkthrough-synth.out" "$T/synth.out"
ok $? "the walkthrough on generated data prints what testdata/pins holds"
diff "$P/walkthrough-synth.out" "$T/synth.out" | head -10 | sed 's/^/# /'

if [ -f "$DATA/hillstrom.csv" ]; then
	HILLSTROM=$DATA/hillstrom.csv sh "$top/scripts/walkthrough" > "$T/hill.out" 2>&1
	# The README's block from the first command to the end of the audit.
	awk '/^\$ policy-prep fit --treatment segment/ { f = 1 }
	    f && /^```$/ { exit } f' "$top/README.md" > "$T/readme.out"
	sed -n '/^\$ policy-prep fit/,$p' "$T/hill.out" > "$T/hill.cut"
	cmp -s "$T/readme.out" "$T/hill.cut"
	ok $? "the Hillstrom walkthrough prints what the README shows"
	diff "$T/readme.out" "$T/hill.cut" | head -10 | sed 's/^/# /'
else
	skip 1 "no $DATA/hillstrom.csv"
fi
done_testing

#!/bin/sh
# The perturbation audit (scripts/audit), small: under the lock every
# component is the same under all six perturbations; unlocked, they drift.
. "$(dirname "$0")/lib.sh"
sh "$top/scripts/audit" --rows 6000 > "$T/audit" 2> "$T/err"
ok $? "audit on generated data: exit 0 (every locked cell the same)"
sed -n '/^Locked/,/^$/p' "$T/audit" | grep -c '^(' | grep -q '^6$'
ok $? "the locked table has six perturbations"
! sed -n '/^Locked/,/^$/p' "$T/audit" | grep -q DRIFT
ok $? "no DRIFT under the lock"
sed -n '/^Unlocked/,/^$/p' "$T/audit" | grep -q 'DRIFT'
ok $? "the unlocked run drifts"
sed -n '/^Unlocked/,/^$/p' "$T/audit" | grep '^(' | awk '{ for (i = 1; i <= NF; i++) if ($i == "DRIFT") n++ } END { exit n < 6 }'
ok $? "every unlocked perturbation drifts somewhere"
H=$DATA/hillstrom.csv
if [ -f "$H" ] && [ -z "${PT_SANITIZE:-}" ]; then
	sh "$top/scripts/audit" --csv "$H" --treatment segment --outcome spend \
		--exclude visit,conversion > "$T/haudit" 2> "$T/err"
	ok $? "audit on Hillstrom: every locked cell the same"
else
	skip 1 "no Hillstrom data (or a sanitizer run: it is slow there)"
fi
done_testing

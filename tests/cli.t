#!/bin/sh
# cli.t: the command-line cases, as data (testdata/cli/<program>/*.case,
# format in testdata/cli/README).  Each case runs in a scratch directory of
# its own ($W, the working directory), with the fixtures that
# testdata/cli/fixtures.sh made once in $F, the case's directory as $D and
# the programs on PATH.  A case in trouble (status 2) must print exactly one
# line on stderr and leave no new file behind; status 1 is an answer (drift
# found), checked like status 0.
#
#   PT_REGEN=1 prove tests/cli.t       rewrite the @FILE expectations from
#                                      what the programs print now
#   PT_CASES='prep/*' prove tests/cli.t   run some cases only
#   PT_CATALOG=FILE sh tests/cli.t     also list every case and the line it
#                                      printed on stderr in FILE (TSV)
top=${PT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
PATH=${PT_BIN:-$top/bin}:$PATH
PT_UNIT=${PT_UNIT:-$top/build/release/tests}
C=$top/testdata/cli
T=$(mktemp -d) || exit 2
trap 'rm -rf "$T"' EXIT INT TERM
F=$T/fixtures
mkdir "$F"
export PATH F PT_UNIT

if ! (cd "$F" && sh "$C/fixtures.sh") > "$T/fixtures.log" 2>&1; then
	echo "1..0 # SKIP fixtures failed: $(tail -1 "$T/fixtures.log")"
	cat "$T/fixtures.log" | sed 's/^/# /'
	exit 1
fi

# PT_CASES may name a whole directory (split/*): its static inputs and
# @FILE outputs are not cases.
cases=$(cd "$C" && ls -d ${PT_CASES:-*/*.case} 2>/dev/null | grep '\.case$')
echo "1..$(echo "$cases" | grep -c .)"
n=0 fail=0

# expect WHAT SPEC FILE: checks FILE (the case's stdout or stderr) against
# SPEC: "@NAME" the file $D/NAME exactly, "~ERE" a line that matches,
# "=TEXT" exactly one line TEXT, "empty" nothing.
expect() {
	case $2 in
	@*)
		if [ -n "${PT_REGEN:-}" ]; then
			cp "$3" "$D/${2#@}"
			return 0
		fi
		cmp -s "$D/${2#@}" "$3" || { why="$1 differs from ${2#@}"; return 1; }
		;;
	~*)
		grep -Eq -- "${2#\~}" "$3" || { why="$1 has no line matching ${2#\~}"; return 1; }
		;;
	=*)
		[ "$(cat "$3")" = "${2#=}" ] && [ "$(wc -l < "$3")" -eq 1 ] ||
		    { why="$1 is not the line '${2#=}'"; return 1; }
		;;
	empty)
		[ ! -s "$3" ] || { why="$1 is not empty"; return 1; }
		;;
	*)
		why="bad expectation '$2'"
		return 1
		;;
	esac
	return 0
}

for c in $cases; do
	n=$((n + 1))
	D=$C/$(dirname "$c")
	W=$T/work.$n
	mkdir "$W"
	export D W
	desc=$(sed -n 's/^# //p' "$C/$c" | head -1)
	run=$(sed -n 's/^run: //p' "$C/$c")
	want=$(sed -n 's/^status: //p' "$C/$c")
	why="" got=""
	: > "$T/stderr"
	(cd "$W" && sed -n 's/^setup: //p' "$C/$c" | while read -r s; do
		sh -c "$s" || exit 1
	done) > "$T/setup.log" 2>&1 || why="setup failed: $(tail -1 "$T/setup.log")"
	if [ -z "$why" ]; then
		(cd "$W" && ls -A) > "$T/before"
		(cd "$W" && sh -c "$run") > "$T/stdout" 2> "$T/stderr" < /dev/null
		got=$?
		(cd "$W" && ls -A) > "$T/after"
		if [ "$got" != "$want" ]; then
			why="status $got, not $want"
		elif [ "$got" -ge 2 ] && [ "$(wc -l < "$T/stderr")" -ne 1 ]; then
			why="$(wc -l < "$T/stderr") lines on stderr, not one"
		elif [ "$got" -ge 2 ] && ! cmp -s "$T/before" "$T/after"; then
			why="left behind: $(comm -13 "$T/before" "$T/after" | tr '\n' ' ')"
		else
			# Every stdout: and stderr: line of the case must hold.
			grep -E '^(stdout|stderr): ' "$C/$c" > "$T/expect"
			while IFS= read -r line; do
				what=${line%%: *}
				expect "$what" "${line#*: }" "$T/$what" || break
			done < "$T/expect"
		fi
	fi
	# PT_CATALOG=FILE: each case's name, what it shows, the status it
	# wants and got, and its first line on stderr, tab-separated (the
	# report's failure catalog).
	if [ -n "${PT_CATALOG:-}" ]; then
		printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$desc" "$want" "${got:-setup}" \
		    "$(head -1 "$T/stderr" 2>/dev/null | tr '\t' ' ')" >> "$PT_CATALOG"
	fi
	if [ -z "$why" ]; then
		echo "ok $n - $c: $desc"
	else
		echo "not ok $n - $c: $desc"
		echo "#   $why"
		sed 's/^/#   stderr: /' "$T/stderr" 2>/dev/null | head -3
		fail=1
	fi
	rm -rf "$W"
done
exit $fail

# tests/lib.sh: what the shell tests share.  Source it; it sets PATH to the
# programs under test, makes a scratch directory $T (removed on exit), and
# gives TAP helpers.  The plan is printed at the end by done_testing.
top=${PT_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
PATH=${PT_BIN:-$top/bin}:$PATH
DATA=${PT_DATA:-$top/../shared/data}
T=$(mktemp -d) || exit 2
trap 'rm -rf "$T"' EXIT INT TERM
export PATH T
tap_n=0
tap_fail=0

ok() { # ok CONDITION-EXIT-STATUS NAME
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_fail=1
	fi
}

# check NAME COMMAND...: runs the command (under sh), ok if it exits 0.
check() {
	name=$1
	shift
	if sh -c "$*" > "$T/check.out" 2>&1; then
		ok 0 "$name"
	else
		ok 1 "$name"
		sed 's/^/#   /' "$T/check.out" | head -10
	fi
}

# refused NAME PATTERN COMMAND...: the command, given -o out.yaml, exits 2
# with one line on stderr matching PATTERN and writes nothing.
refused() {
	name=$1 pat=$2
	shift 2
	rm -f out.yaml
	"$@" -o out.yaml > /dev/null 2> err.txt
	rc=$?
	check "refused: $name" "[ $rc -eq 2 ] && [ ! -e out.yaml ] &&
		[ \$(wc -l < err.txt) -eq 1 ] && grep -q -- \"$pat\" err.txt"
}

skip() { # skip N REASON
	i=0
	while [ $i -lt "$1" ]; do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n # SKIP $2"
		i=$((i + 1))
	done
}

done_testing() {
	echo "1..$tap_n"
	exit $tap_fail
}

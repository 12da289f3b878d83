# scripts/bench-lib.sh: timing helpers shared by the benchmark scripts.
# Figures are medians of REPS runs; compare them only with baselines
# measured in the same run (the machine is shared and noisy).
REPS=${REPS:-5}

now() { date +%s.%N; }

# median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# time_median N COMMAND...: runs COMMAND (under sh) N times, prints the
# median wall time in seconds.
time_median() {
	n=$1
	shift
	i=0
	while [ $i -lt "$n" ]; do
		t0=$(now)
		sh -c "$*" || { echo "bench: command failed: $*" >&2; exit 1; }
		t1=$(now)
		echo "$t1 - $t0" | bc -l
		i=$((i + 1))
	done | median
}

# peak_kb COMMAND...: peak resident memory in KB (GNU time), or "n/a".
peak_kb() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M sh -c "exec $*" 2>&1 >/dev/null | tail -1
	else
		echo "n/a"
	fi
}

rate() { echo "$1 / $2" | bc -l | awk '{ printf "%.2f", $1 / 1e6 }'; }

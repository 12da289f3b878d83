#!/bin/sh
# scripts/cluster against three hosts: real sshd hosts, one per network
# namespace this test makes (as root, with ip netns and sshd), else hosts
# simulated on this machine (scripts/local-ssh: each its own file tree, so
# files really travel).  It says which ran.  PT_CLUSTER_SIM=1 forces the
# simulated hosts.  The model, trees, scores and eval must be the bytes a
# single process gives; faults (a host killed mid-run, a link dropped, a
# full disk, a host that drops rows, another build) must end in the right
# bytes through retries, or in a failure naming the host and no output.
. "$(dirname "$0")/lib.sh"
cd "$T"
mkdir hosts
# the programs under test (the hosts run them too; wrappers below call them)
B=${PT_BIN:-$top/bin}
for h in h1 h2 h3; do mkdir -p "hosts/$h/bin" "hosts/$h/tmp"; done
MODE=sim NS="" PIDS=""
teardown() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for ns in $NS; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for ns in $NS; do ip netns del "$ns" 2>/dev/null; done
	cd / && [ -n "${PT_KEEP:-}" ] || rm -rf "$T"
}
trap teardown EXIT
trap 'exit 2' INT TERM

# --- real hosts: three namespaces, a veth pair and an sshd each ----------
netns_up() {
	[ "${PT_CLUSTER_SIM:-0}" = 1 ] && return 1
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null && [ -x /usr/sbin/sshd ] &&
		command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || return 1
	ip netns add "ptc$$.probe" 2>/dev/null || return 1
	ip netns del "ptc$$.probe"
	# a /24 of 10.213 that no route uses yet
	x=$(( $$ % 200 + 20 ))
	while ip route | grep -q "^10\.213\.$x\."; do x=$((x + 1)); done
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f key && ssh-keygen -q -t ed25519 -N '' -f hostkey || return 1
	: > ssh_config
	for k in 1 2 3; do
		ns=ptc$$.$k a=vc$$a$k b=vc$$b$k
		ip netns add "$ns" || return 1
		NS="$NS $ns"
		ip link add "$a" type veth peer name "$b" && ip link set "$b" netns "$ns" &&
		ip addr add "10.213.$x.$((4 * k + 1))/30" dev "$a" && ip link set "$a" up &&
		ip netns exec "$ns" ip addr add "10.213.$x.$((4 * k + 2))/30" dev "$b" &&
		ip netns exec "$ns" ip link set "$b" up &&
		ip netns exec "$ns" ip link set lo up || return 1
		d=$T/hosts/h$k
		cat > "$d/sshd_config" <<-EOF
		ListenAddress 10.213.$x.$((4 * k + 2))
		HostKey $T/hostkey
		PidFile $d/sshd.pid
		AuthorizedKeysFile $T/key.pub
		PermitRootLogin prohibit-password
		StrictModes no
		UsePAM no
		MaxSessions 64
		MaxStartups 64
		SetEnv TMPDIR=$d/tmp PATH=$d/bin:$PATH:/usr/bin:/bin HOME=$d
		EOF
		ip netns exec "$ns" /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || return 1
		i=0
		while [ ! -s "$d/sshd.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		[ -s "$d/sshd.pid" ] || return 1
		PIDS="$PIDS $(cat "$d/sshd.pid")"
		cat >> ssh_config <<-EOF
		Host h$k
		  HostName 10.213.$x.$((4 * k + 2))
		  User root
		  IdentityFile $T/key
		  IdentitiesOnly yes
		  UserKnownHostsFile /dev/null
		  StrictHostKeyChecking no
		  LogLevel ERROR
		EOF
	done
	ssh -F ssh_config -o BatchMode=yes -o ConnectTimeout=5 h1 true < /dev/null
}
if netns_up 2>netns.err; then
	MODE=netns
	SSHCMD="ssh -F $T/ssh_config"
	echo "# mode: real sshd hosts in network namespaces ($NS )"
else
	[ -n "$NS" ] && sed 's/^/#   netns: /' netns.err | head -3
	MODE=sim
	SSHCMD=$top/scripts/local-ssh
	LOCAL_SSH_ROOT=$T/hosts
	export LOCAL_SSH_ROOT
	echo "# mode: simulated hosts (scripts/local-ssh): not root, no ip netns or no sshd"
fi
# host_kill H: the host dies (every process of it).
host_kill() {
	if [ $MODE = netns ]; then
		ns=ptc$$.${1#h}
		for k in $(ip netns pids "$ns"); do kill -9 "$k" 2>/dev/null; done
	else
		touch "hosts/$1/.down"
		[ ! -f "hosts/$1/wrapper.pid" ] || kill -9 "$(cat "hosts/$1/wrapper.pid")"
	fi
}
# wait_for FILE: up to 30 s
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e "$1" ]
}
cl() {
	case $1 in train|infer) v=$1; shift ;; *) v=train ;; esac
	bash "$top/scripts/cluster" $v -q --ssh "$SSHCMD" "$@"
}
H=2/h1,2/h2,2/h3
left_on_hosts() { find hosts/*/tmp -name 'policy-cluster.*' | grep -v "${1:-^$}"; }

# --- data: 12,000 rows, six partitions in a directory with a space -------
policy-prep synth --rows 6000 --seed 4 --missing 0.05 > d.csv
policy-prep fit --treatment arm --outcome y --bins 16 d.csv > m.yaml
policy-prep apply -m m.yaml d.csv > d.pf
mkdir "my parts"
policy-prep split -n 6 -o "my parts/p.%d.pf" d.pf
set -- "my parts/p.0.pf" "my parts/p.1.pf" "my parts/p.2.pf" "my parts/p.3.pf" \
	"my parts/p.4.pf" "my parts/p.5.pf"
policy-score fit -m m.yaml d.pf > model.yaml
policy-score -M model.yaml -o scored.pf d.pf
policy-split fit -m m.yaml -M model.yaml --depth 2 scored.pf > tree.yaml
same() { cmp -s "$1/model.yaml" model.yaml && cmp -s "$1/tree.yaml" tree.yaml; }

# --- training: the bytes of one process, with the cost beside xargs -----
cl -S $H -m m.yaml -o "my out" "$@" > log 2>&1
st=$?
ok $st "cluster run over three hosts (paths with spaces)"
[ $st -eq 0 ] || sed 's/^/#   /' log | head -5
same "my out"
ok $? "the model and tree are the single process's, byte for byte"
[ "$(awk -F'\t' 'NR > 1 && !/^#/ { print $3 }' "my out/jobs.log" | sort -u | wc -l)" -eq 3 ] &&
	[ "$(grep -c '^stats' "my out/jobs.log")" -eq 6 ] &&
	[ "$(awk -F'\t' '$1 ~ /^hist/ { s += $6 } END { print s + 0 }' "my out/jobs.log")" -eq 0 ]
ok $? "18 jobs over all three hosts; each partition sent once (later steps send nothing)"
echo "# cluster cost: $(tail -1 "my out/jobs.log" | sed 's/^# //'), partitions $(cat "$@" | wc -c) bytes"
# the README's partitioned job on this machine, xargs -P 2, for comparison
mkdir base
cp "$@" base/
t0=$(date +%s.%N)
(
	cd base
	ls p.*.pf | xargs -P 2 -I{} sh -c 'policy-score fit -m ../m.yaml --partial {} > {}.stats'
	policy-score fit --merge p.*.pf.stats > model.yaml
	ls p.*.pf | xargs -P 2 -I{} sh -c 'policy-score -M model.yaml {} > {}.scored'
	ls p.*.pf | xargs -P 2 -I{} sh -c 'policy-split hist -m ../m.yaml -M model.yaml {}.scored > {}.h1'
	policy-split merge --expect 6 p.*.pf.h1 | policy-split best -m ../m.yaml --depth 2 > level1.yaml
	ls p.*.pf | xargs -P 2 -I{} sh -c 'policy-split hist -m ../m.yaml -M model.yaml -t level1.yaml {}.scored > {}.h2'
	policy-split merge --expect 6 p.*.pf.h2 | policy-split best -m ../m.yaml -t level1.yaml --depth 2 > tree.yaml
)
echo "# local baseline, the same job with xargs -P 2: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f s", b - a }'), no logins, nothing sent"
rm -rf base
[ -z "$(left_on_hosts)" ] && [ ! -e "my out.part" ]
ok $? "nothing is left on the hosts, nor a work directory here"
if [ $MODE = netns ]; then
	echo "# ssh logins (sshd 'Accepted publickey'): $(cat hosts/h*/sshd.log | grep -c 'Accepted publickey')"
fi

# --- learning options, two runs at once, and --exact ---------------------
policy-score fit -m m.yaml --lambda 2 --folds 3 --cost 0,0.1,0.2 d.pf > model.opt
policy-score -M model.opt d.pf | policy-split fit -m m.yaml -M model.opt --depth 3 \
	--criterion ddp --min-node-size 100 > tree.opt
cl -S $H -m m.yaml -o c1 "$@" > log1 2>&1 &
p1=$!
cl -S $H -m m.yaml -o c2 --depth 3 --criterion ddp --min-node-size 100 \
	--lambda 2 --folds 3 --cost 0,0.1,0.2 "$@" > log2 2>&1
s2=$?
wait $p1
s1=$?
[ $s2 -eq 0 ] && cmp -s c2/model.yaml model.opt && cmp -s c2/tree.yaml tree.opt
ok $? "learning options pass through: the single process's bytes (depth 3)"
[ $s1 -eq 0 ] && same c1
ok $? "two concurrent runs on the same hosts: both right"
cl -S $H -m m.yaml -o exact --exact "$@" > log 2>&1
policy-split fit -q -m m.yaml -M model.yaml --depth 2 --exact scored.pf > tree.exact
cmp -s exact/model.yaml model.yaml && cmp -s exact/tree.yaml tree.exact
ok $? "--exact from pair partials: the single process's exact tree"
FO="--trees 6 --min-leaf 10 --seed 3"
policy-score fit -m m.yaml --learner forest $FO --depth 4 --folds 3 --cost 0,0.1,0.2 d.pf > forest.yaml
policy-score -M forest.yaml d.pf | policy-split fit -q -m m.yaml -M forest.yaml --depth 2 > tree.forest
cl -S $H -m m.yaml -o forest --learner forest $FO --forest-depth 4 --folds 3 \
	--cost 0,0.1,0.2 "$@" > log 2>&1
cmp -s forest/model.yaml forest.yaml && cmp -s forest/tree.yaml tree.forest
ok $? "--learner forest: grown level by level on the hosts, the single process's forest and tree"
[ -d forest ] || sed 's/^/#   /' log | head -5
cl -S $H -m m.yaml -o noforest --trees 6 "$@" > log 2>&1
[ $? -eq 2 ] && [ ! -e noforest ] && grep -q 'goes with --learner forest' log
ok $? "forest options without --learner forest are refused"
PF="--trees 5 --subsample 0.6 --seed 2"
policy-split fit -q -m m.yaml -M model.yaml --depth 3 $PF --mtry 2 scored.pf > pforest.yaml
cl -S $H -m m.yaml -o pforest --depth 3 --policy-trees 5 --policy-subsample 0.6 \
	--policy-seed 2 --policy-mtry 2 "$@" > log 2>&1
cmp -s pforest/model.yaml model.yaml && cmp -s pforest/tree.yaml pforest.yaml &&
	[ "$(grep -c '^pf[0-9]	' pforest/jobs.log)" -ge 6 ]
ok $? "--policy-trees: a policy forest grown a level per step on the hosts, the single process's bytes"
[ -d pforest ] || sed 's/^/#   /' log | head -5
cl -S $H -m m.yaml -o nopf --policy-mtry 2 "$@" > log 2>&1
[ $? -eq 2 ] && [ ! -e nopf ] && grep -q 'go with --policy-trees' log
ok $? "policy forest options without --policy-trees are refused"

# --- inference on the hosts ---------------------------------------------
cl infer -S $H -m m.yaml -M model.yaml -t tree.yaml --scored --applied --eval \
	-o inf "$@" > log 2>&1
ok $? "inference on the hosts"
[ -d inf ] || sed 's/^/#   /' log | head -5
r=0
for k in 0 1 2 3 4 5; do
	policy-score -M model.yaml -o s.pf "my parts/p.$k.pf"
	policy-split apply -t tree.yaml -o a.pf "my parts/p.$k.pf"
	cmp -s s.pf "inf/p.$k.scored.pf" && cmp -s a.pf "inf/p.$k.applied.pf" || r=1
done
policy-split eval -t tree.yaml scored.pf > eval.yaml
[ $r -eq 0 ] && cmp -s eval.yaml inf/eval.yaml
ok $? "scores, actions and eval: the single process's bytes"
cl infer -S $H -m m.yaml -M model.yaml -t tree.yaml --eval -o inf2 "$@" > log 2>&1
[ $? -eq 0 ] && cmp -s eval.yaml inf2/eval.yaml && [ "$(ls inf2 | tr '\n' ' ')" = "eval.yaml jobs.log " ] &&
	[ "$(grep -c '^evalp	' inf2/jobs.log)" -eq 6 ]
ok $? "--eval alone: eval partials made on the hosts travel back, merged here: the single process's bytes"
[ -d inf2 ] || sed 's/^/#   /' log | head -5
cl infer -S $H -m m.yaml -M model.yaml -t pforest.yaml --eval -o inf3 "$@" > log 2>&1
policy-split eval -t pforest.yaml scored.pf > evalpf.yaml
[ $? -eq 0 ] && cmp -s evalpf.yaml inf3/eval.yaml
ok $? "--eval of a policy forest on the hosts: the single process's bytes"
[ -d inf3 ] || sed 's/^/#   /' log | head -5

# --- partitions that live on the hosts ----------------------------------
: > placed
for k in 0 1 2 3 4 5; do
	h=h$((k % 3 + 1))
	mkdir -p "hosts/$h/data"
	cp "my parts/p.$k.pf" "hosts/$h/data/"
	echo "$h $T/hosts/$h/data/p.$k.pf" >> placed
done
cl -S $H -m m.yaml --placed placed -o placed-out > log 2>&1
same placed-out && [ "$(awk -F'\t' 'NR > 1 && !/^#/ { s += $6 } END { print s + 0 }' placed-out/jobs.log)" -eq 0 ]
ok $? "partitions already on the hosts are used in place (no partition bytes sent)"

# --- another build, a lying host ----------------------------------------
printf '#!/bin/sh\n[ "$1" = --version ] && { echo "policy-split 0.0.9 (old)"; exit 0; }\nexec %s/policy-split "$@"\n' \
	"$B" > hosts/h2/bin/policy-split
chmod +x hosts/h2/bin/policy-split
cl -S $H -m m.yaml -o stale "$@" > log 2>&1
[ $? -eq 2 ] && grep -q '^cluster: h2: .*another build' log && [ ! -e stale ]
ok $? "a host of another build is refused, by name"
cl -S $H -m m.yaml --filter-hosts -o filt "$@" > log 2>&1
[ $? -eq 0 ] && same filt && grep -q 'h2: dropped' log && ! cut -f3 filt/jobs.log | grep -q h2
ok $? "--filter-hosts drops it and runs on the others"
[ -d filt ] || sed 's/^/#   /' log | head -5
rm -rf stale.part
cat > hosts/h2/bin/policy-score <<EOF
#!/bin/sh
# the model statistics of half the rows (cluster runs fit -m M --partial P)
if [ "\$1" = fit ] && [ "\$4" = --partial ]; then
	$B/policy-prep split -n 2 -o "\$TMPDIR/half.%d.pf" "\$5" || exit 2
	exec $B/policy-score fit -m "\$3" --partial "\$TMPDIR/half.0.pf"
fi
exec $B/policy-score "\$@"
EOF
chmod +x hosts/h2/bin/policy-score
rm hosts/h2/bin/policy-split
cl -S $H -m m.yaml -o liar "$@" > log 2>&1
[ $? -eq 2 ] && grep -q '^cluster: h2: stats of p\.[0-9]: refused: a partial of [0-9]* rows' log && [ ! -e liar ]
st=$?
ok $st "a host that drops rows is refused, by name, and nothing is written"
[ $st -eq 0 ] || sed 's/^/#   /' log | head -5
[ -f liar.part/jobs.log ] && [ -z "$(left_on_hosts)" ]
ok $? "the failed run keeps its job log beside the output; the hosts are clean"
left_on_hosts | sed 's/^/#   /' 
rm -rf liar.part hosts/h2/bin/policy-score hosts/h2/tmp/half.*
cat > hosts/h2/bin/policy-split <<EOF
#!/bin/sh
# the eval partial of half the rows (cluster runs eval -q --partial -t T P)
if [ "\$1" = eval ]; then
	$B/policy-prep split -n 2 -o "\$TMPDIR/half.%d.pf" "\$6" || exit 2
	exec $B/policy-split eval -q --partial -t "\$5" "\$TMPDIR/half.0.pf"
fi
exec $B/policy-split "\$@"
EOF
chmod +x hosts/h2/bin/policy-split
cl infer -S $H -m m.yaml -M model.yaml -t tree.yaml --eval -o liar "$@" > log 2>&1
[ $? -eq 2 ] && grep -q '^cluster: h2: evalp of p\.[0-9]: refused: an eval partial of [0-9]* rows' log && [ ! -e liar ]
st=$?
ok $st "a host whose eval partial drops rows is refused, by name, and nothing is written"
[ $st -eq 0 ] || sed 's/^/#   /' log | head -5
rm -rf liar.part hosts/h2/bin/policy-split hosts/h2/tmp/half.*

# --- a full disk: a failure naming the host, then --resume -------------
if [ $MODE = netns ]; then
	# in the mount namespace of h3's sshd (ip netns exec made its own)
	nsenter -t "$(cat hosts/h3/sshd.pid)" -m mount -t tmpfs -o size=64k tmpfs "$T/hosts/h3/tmp"
else
	echo 100 > hosts/h3/.fsize
fi
cl -S $H -m m.yaml -o full "$@" > log 2>&1
[ $? -eq 2 ] && grep -q '^cluster: h3: ' log && [ ! -e full ] && [ -f full.part/jobs.log ]
st=$?
ok $st "a host with a full disk: exit 2 naming it, no output, the job log kept"
[ $st -eq 0 ] || sed 's/^/#   /' log | head -5
cl -S 2/h1,2/h2 -m m.yaml -o full --resume "$@" > log 2>&1
[ $? -eq 0 ] && same full && [ ! -e full.part ]
ok $? "--resume finishes it on the other hosts: the single process's bytes"
cl -S $H -m m.yaml -o full-retry --retries 2 "$@" > log 2>&1
[ $? -eq 0 ] && same full-retry && grep -q '^cluster: h3: .*trying another host' log
ok $? "--retries: the full host is dropped, its partitions go elsewhere"
if [ $MODE = netns ]; then
	nsenter -t "$(cat hosts/h3/sshd.pid)" -m umount "$T/hosts/h3/tmp"
else
	rm hosts/h3/.fsize
fi

# --- a host killed mid-run ----------------------------------------------
cat > hosts/h1/bin/policy-split <<EOF
#!/bin/sh
[ "\$1" = hist ] && { echo \$\$ > $T/hosts/h1/wrapper.pid; touch $T/hosts/h1/hist; sleep 30; }
exec $B/policy-split "\$@"
EOF
chmod +x hosts/h1/bin/policy-split
cl -S $H -m m.yaml -o killed --retries 3 "$@" > log 2>&1 &
p=$!
wait_for hosts/h1/hist && host_kill h1
wait $p
st=$?
[ $st -eq 0 ] && same killed && grep -q '^cluster: h1: ' log
r=$?
ok $r "a host killed mid-run: retried elsewhere, the single process's bytes"
[ $r -eq 0 ] || sed 's/^/#   /' log | head -8
[ -z "$(left_on_hosts h1)" ]
ok $? "the surviving hosts are clean"
left_on_hosts h1 | sed 's/^/#   /' 
rm -f hosts/h1/bin/policy-split hosts/h1/hist

# --- a link that drops (real hosts only) --------------------------------
if [ $MODE = netns ]; then
	cat > hosts/h3/bin/policy-split <<EOF
#!/bin/sh
[ "\$1" = hist ] && { touch $T/hosts/h3/hist; sleep 40; }
exec $B/policy-split "\$@"
EOF
	chmod +x hosts/h3/bin/policy-split
	t0=$(date +%s)
	cl -S 2/h2,2/h3 -m m.yaml -o link --retries 2 "$@" > log 2>&1 &
	p=$!
	wait_for hosts/h3/hist && ip netns exec "ptc$$.3" ip link set "vc$$b3" down
	wait $p
	st=$?
	[ $st -eq 0 ] && same link && grep -q '^cluster: h3: .*lost' log
	ok $? "a link that drops: h3 lost after $(( $(date +%s) - t0 )) s, retried elsewhere, same bytes"
	[ $st -eq 0 ] || sed 's/^/#   /' log | head -5
else
	skip 1 "a dropped link needs real hosts in network namespaces"
fi

# --- usage ---------------------------------------------------------------
cl -S $H -m m.yaml -o bad --depth x "$@" > log 2>&1
[ $? -eq 2 ] && [ ! -e bad ] && [ ! -e bad.part ] && grep -q '^cluster: --depth' log
ok $? "a bad --depth: exit 2 and no output directory"
echo "# mode ran: $MODE"
done_testing

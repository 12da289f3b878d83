#!/bin/sh
# scripts/cluster against several hosts: three simulated hosts
# (scripts/local-ssh gives each its own file tree, so partitions, manifest
# and model really travel with rsync), six partitions; the model and tree
# must be the bytes a single process gives.
. "$(dirname "$0")/lib.sh"
if ! command -v parallel >/dev/null 2>&1 || ! command -v rsync >/dev/null 2>&1; then
	echo "1..0 # SKIP needs GNU parallel and rsync"
	exit 0
fi
cd "$T"
LOCAL_SSH_ROOT=$T/hosts
export LOCAL_SSH_ROOT
mkdir hosts parts
policy-prep synth --rows 20000 --seed 4 --missing 0.05 > d.csv
policy-prep fit --treatment arm --outcome y --bins 16 d.csv > m.yaml
policy-prep apply -m m.yaml d.csv > d.pf
policy-prep split -n 6 -o parts/p.%d.pf d.pf
sh "$top/scripts/cluster" -S 1/host1,1/host2,1/host3 --ssh "$top/scripts/local-ssh" \
	-m m.yaml -o out parts/p.0.pf parts/p.1.pf parts/p.2.pf parts/p.3.pf \
	parts/p.4.pf parts/p.5.pf > log 2>&1
st=$?
ok $st "cluster run over three hosts"
[ $st -eq 0 ] || sed 's/^/#   /' log | head -20
[ "$(cut -f2 out/jobs.log | sort -u | wc -l)" -eq 3 ] && [ "$(wc -l < out/jobs.log)" -eq 18 ]
ok $? "18 jobs (6 partitions, 3 steps), spread over all three hosts"
policy-score fit -m m.yaml d.pf > model.yaml
cmp -s out/model.yaml model.yaml
ok $? "the model is the single process's, byte for byte"
policy-score -M model.yaml d.pf | policy-split fit -m m.yaml -M model.yaml --depth 2 > tree.yaml
cmp -s out/tree.yaml tree.yaml
ok $? "the tree is the single process's, byte for byte"
[ -z "$(find hosts -name '*.pf*' -type f)" ] && [ -z "$(ls -A parts | grep -v '^p\.[0-5]\.pf$')" ]
ok $? "nothing is left behind on the hosts or beside the partitions"
sh "$top/scripts/cluster" -S 1/host1 --ssh "$top/scripts/local-ssh" -m m.yaml \
	-o out2 "$T/parts/p.0.pf" > log2 2>&1
[ $? -eq 2 ] && grep -q 'relative' log2
ok $? "an absolute partition path is refused"
done_testing

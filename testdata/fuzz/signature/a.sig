# policy-tools contract signature; see policy-signature(5).
format: policy-signature
version: 1
row_count: 50
components:
  manifest: 6f842bc92b0f19521e18073058d235f8
  feature_order: 045d4e4ba203babb4e8009356fd8b892
  vocabulary: 3ba4acc76c8cb764e70c9d40ee5097d4
  preprocessing: 85f15b320c1c5050c55e9250a397740f
  boundaries: 4e56a8cb6c4aa17426d79461432bf0a8
  model: 900443dad675fc2d989b66e267a72dfd
  rows: dd6d6663ddae1bb2dd5f916969efeac8
  scores: 93135de836bf456135f316899e29e219
  tree: 8f3590428df6621697fd039591b89c62
  policy: 3c08fd24ac0bfa711a1cde912341a602
digest: ca221c7df2fb1e9ba8da9afddf420ff8

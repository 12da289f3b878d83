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
  model: 4c33df146a3037500374804d0b63278c
  rows: 0bebe2965d6a467c96b879439927ee44
  scores: 3b64273cd640898591d8a1716f52730c
  tree: ab86933446be0b45424710cfbf40bc0a
  policy: 0a4aab561ba89d4e6d602b3e86cc8d9f
digest: 613b4f5f73b059347b86749fc7a6c851

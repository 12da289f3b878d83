# policy-tools contract signature; see policy-signature(5).
format: policy-signature
version: 1
components:
  manifest: 6f842bc92b0f19521e18073058d235f8
  feature_order: 045d4e4ba203babb4e8009356fd8b892
  vocabulary: 3ba4acc76c8cb764e70c9d40ee5097d4
  preprocessing: 85f15b320c1c5050c55e9250a397740f
  boundaries: 4e56a8cb6c4aa17426d79461432bf0a8
digest: 3ebf4b84693c15f4ef99fd119c4bcd16

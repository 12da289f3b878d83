# policy-tools contract signature; see policy-signature(5).
format: policy-signature
version: 1
row_count: 28007
components:
  manifest: 87604024b2743211f3c37c96ba4c91ac
  feature_order: 14fa18c2747f5fcb7fd41b087cd2eb09
  vocabulary: 3ba4acc76c8cb764e70c9d40ee5097d4
  preprocessing: d0215d0924c5868ea14cb56a6d187670
  boundaries: 0509d122875d644dd2879f4d2b6ad6ca
  model: b23790e1c65b8b9c1a5cc935671e3d6e
  rows: 66a017ca25bdc7af5b99de7e1a7e7b46
  scores: a094562a27c1cff14b681954bbc33c20
  tree: da8a39ad1ca4c10ce4e72953595747be
  policy: eddbc3acd75931bff8614ffa90e350ac
digest: a305bf56e03e3dd99498a305c9e10cd7

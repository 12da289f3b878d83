# policy-tools contract signature; see policy-signature(5).
format: policy-signature
version: 1
row_count: 27852
components:
  manifest: 1b36cf1bcc1570090c6b25b8152a8e72
  feature_order: 14fa18c2747f5fcb7fd41b087cd2eb09
  vocabulary: 3ba4acc76c8cb764e70c9d40ee5097d4
  preprocessing: d0215d0924c5868ea14cb56a6d187670
  boundaries: 7ea1ca1e9409fc6a6b7fa3050c1b370f
  model: 763fc7bee3e3d12ad115ce995fc5e9e8
  rows: 19ca60c20c2acbe8639e6f53cede4863
  scores: fffd44525ce16d2684012bc59632d8a6
  tree: da91278df21c11380b674b6b15bc94a3
  policy: 8ccd5aeb517785643e987d6756c2cd9a
digest: 6061505d46f690f1f1896514c46b792d

/*
 * search.h: split search on exact partial histograms (DESIGN 6): the best
 * split of a node, greedy level-wise growth and the exact depth-2 search.
 *
 * Decisions compare exact sums, so ties are real ties, broken by the fixed
 * rule: best score, then lowest feature index, lowest threshold,
 * missing-right before missing-left, lowest action.
 */
#ifndef PT_SEARCH_H
#define PT_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "manifest.h"
#include "pt.h"
#include "tree.h"

/* A chosen split: feature, boundary index k (threshold bounds[k]), and the
 * side missing values take. */
typedef struct pt_split {
	int feature;    /* -1: no valid split */
	int k;
	int missing_left;
	pt_wide score;  /* welfare: exact, at the histogram's scale */
	double dscore;  /* ddp: the criterion value */
} pt_split;

/* The best split of node slot `slot` of h under criterion crit, with both
 * sides holding at least min_node_size rows.  control: the control arm
 * (ddp).  Returns 0 (split->feature -1 when none is valid) or -1. */
int pt_search_node(const pt_hist *h, int slot, int crit, int control,
    uint64_t min_node_size, pt_split *split, pt_err *e);

/* Grows t by one level from the merged partial h of t's open nodes (the
 * root when t->level is 0).  Checks that h belongs to t and m.  When the
 * level reaches t->depth (or no node is left open) the tree is completed:
 * open leaves are closed and same-action siblings pruned. */
int pt_search_grow(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    pt_err *e);

/* Rows held in memory for the exact search: bins per feature, scores. */
typedef struct pt_rowset {
	size_t n, cap;
	int nfeatures, narms, has_treatment;
	uint32_t *bin;     /* n * nfeatures, row-major */
	double *g;         /* n * narms */
	double *y;         /* n */
	int32_t *w;        /* n (-1 in rewards mode) */
	uint64_t *rowhash; /* n: the _row column (0 without one) */
	int no_rowhash;    /* some frame had no _row column */
	double *wt;        /* n sample weights, or NULL without (every
	                    * reader of g and y must weigh them) */
} pt_rowset;

void pt_rowset_init(pt_rowset *r, const pt_manifest *m);
/* Appends a frame's rows (columns as bound by pt_hist_bind). */
int pt_rowset_add(pt_rowset *r, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, pt_err *e);
void pt_rowset_free(pt_rowset *r);

/* pt_search_exact at depth 2, welfare, one thread (t fresh from
 * pt_ptree_new with depth 2). */
int pt_search_exact2(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    pt_err *e);

/*
 * The exact search at any depth (lib/exact.c).  The globally optimal tree
 * of depth t->depth (1 or more) under t->criterion over the manifest's
 * boundaries, defined recursively: a node whose rows admit a valid split
 * (both sides min-node-size rows; for ddp also every arm on both sides)
 * splits, on the split whose subtree value is the highest, ties to the
 * lowest (feature, boundary index, missing side: right 0 before left 1);
 * its children are the optimal subtrees of one depth less.  Value of a
 * subtree: welfare, the sum over its leaves of the best arm's total score
 * (exact); ddp, the sum over its splits of the ddp criterion, computed as
 * ddp(split) + value(left) + value(right) in that order (doubles), 0 for a
 * leaf.  A node with no valid split is a leaf.  Same-action siblings are
 * then pruned, as in greedy growth.
 */
typedef struct pt_exact_plan {
	double work;     /* estimated operations (about 1e9 a second) */
	double memory;   /* bytes beyond the rows */
	int method;      /* internal: which sweep */
} pt_exact_plan;

/* The plan (work, memory) of the exact search of depth `depth` over
 * nrows rows of manifest m (nrows 0: the part that needs no rows). */
void pt_exact_estimate(const pt_manifest *m, size_t nrows, int narms,
    int depth, int criterion, pt_exact_plan *plan);

/* Which sweeps the exact search uses: 0 (the default) the cheaper by
 * its estimate; 1 the histogram sweeps and the recursion on rows only; 2
 * the segment sweep (welfare, on rows) at depth 2 and pair tables at
 * depth 3.  Every choice gives the same tree.  For tests and benchmarks;
 * not thread-safe.  Returns the previous setting. */
int pt_exact_force(int how);

/* Calls fn(arg, done, total) as the search of the root finishes each of
 * its `total` first features (from whichever thread finished it, one call
 * at a time), for a progress line; NULL: none.  Not thread-safe to set. */
void pt_exact_progress(void (*fn)(void *arg, int done, int total),
    void *arg);

/* The exact search on rows in memory into t (fresh from pt_ptree_new with
 * the depth, criterion and min-node-size wanted), with `threads` threads
 * (1 or more; the tree does not depend on it).  Returns 0, or -1 with e
 * set. */
int pt_search_exact(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    int threads, pt_err *e);

/* The same search from a merged pair partial h (hist.h, hist --pairs):
 * depth 1 or 2.  Gives the bytes pt_search_exact gives on the rows the
 * partials were made from. */
int pt_search_exact_pairs(pt_ptree *t, const pt_hist *h,
    const pt_manifest *m, int threads, pt_err *e);

/* Grows tree number `tree` of a forest (t fresh from pt_ptree_new) to its
 * depth by the greedy search on the rows in memory: the rows whose
 * splitmix64(_row ^ h(seed, tree)) falls under subsample * 2^64 (all when
 * subsample is 1), trying at each node the mtry features with the
 * smallest hash of (seed, tree, node id, feature) (all when mtry is 0 or
 * at least the feature count).  Same-action siblings are pruned as in a
 * single tree. */
int pt_search_forest_tree(pt_ptree *t, const pt_rowset *r,
    const pt_manifest *m, int tree, const pt_forest_info *fi, pt_err *e);

/* The seed of tree number `tree` of a forest: its rows are those whose
 * splitmix64(_row ^ seed) falls under subsample * 2^64, its nodes' masks
 * hash it. */
uint64_t pt_forest_tree_seed(const pt_forest_info *fi, int tree);
/* One level of tree `tree` of a forest from the merged partial h of its
 * open nodes (made from the rows of its subsample): the level
 * pt_search_forest_tree grows from the same rows. */
int pt_search_grow_forest(pt_ptree *t, const pt_hist *h,
    const pt_manifest *m, int tree, const pt_forest_info *fi, pt_err *e);

#endif

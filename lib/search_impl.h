/*
 * search_impl.h: what the greedy search (search.c) and the exact search
 * (exact.c) share inside the library: a set's exact sums, node statistics,
 * completing a tree, and the ddp criterion from the arms' mean outcomes.
 */
#ifndef PT_SEARCH_IMPL_H
#define PT_SEARCH_IMPL_H

#include "search.h"

/* The sums of a set of rows: n, and per arm cnt, ysum, gsum. */
typedef struct pt_side {
	uint64_t n;
	uint64_t cnt[64];
	pt_wide y[64], g[64];
	/* With sample weights (y and g then weighted sums): the weight of
	 * the rows that received each arm and of every row, in units of
	 * 2^wscale; means and values divide by them instead of counts. */
	int weighted, wscale;
	pt_wide wa[64], wn;
} pt_side;

void pt_side_zero(pt_side *s, int A);
/* Adds the weights of cell (node-major index) of partial h to s, when h
 * has sample weights; nothing otherwise. */
void pt_side_add_weights(pt_side *s, const pt_hist *h, size_t cell);
/* A node's statistics (rows, action, per-arm count, mean, value). */
void pt_side_stats(pt_pnode *p, const pt_side *s, int A, int scale);
/* Closes every node, prunes same-action siblings, marks t complete. */
void pt_search_complete(pt_ptree *t);
/* The ddp criterion from each side's per-arm mean outcomes (every arm has
 * rows on both sides): the larger of max uR - min uL and max uL - min uR,
 * u the difference to the control's mean. */
double pt_ddp_of_means(const double *mL, const double *mR, int A,
    int control);

#endif

/*
 * ridge.h: ridge regression from exact sufficient statistics.
 *
 * The statistics of a set of rows are the row count and the exact sums
 * Z'Z (upper triangle) and Z'y, each product rounded once per row and then
 * summed in a pt_xsum, so they do not depend on the order or grouping of
 * rows: partitions add them up (merge) and a fold's complement is a
 * subtraction, both exact.  The solve rounds each sum once to double and
 * runs a Cholesky factorisation in a fixed operation order.
 *
 * Sample (frequency) weights: a weighted row adds w times each rounded
 * product, exactly (pt_xsum_add_prod), so a row of whole weight w adds
 * what w copies of it add, bit for bit.  zz[0], the intercept's square,
 * is then the exact weight sum (the row count when unweighted); rows
 * still counts rows.
 */
#ifndef PT_RIDGE_H
#define PT_RIDGE_H

#include <stdint.h>

#include "pt.h"
#include "xsum.h"

typedef struct pt_ridge {
	int p;          /* design columns, the intercept first */
	uint64_t rows;
	pt_xsum *zz;    /* p*(p+1)/2: (j, k) with j <= k at j*p - j*(j-1)/2 + k-j */
	pt_xsum *zy;    /* p */
} pt_ridge;

/* Returns 0, or -1 on ENOMEM. */
int pt_ridge_init(pt_ridge *r, int p);
void pt_ridge_free(pt_ridge *r);
/* Index of (j, k), j <= k, in zz. */
static inline int
pt_ridge_at(int p, int j, int k)
{
	return j * p - j * (j - 1) / 2 + (k - j);
}
/* Adds one row: z[0..p) (z[0] is 1 for the intercept) and outcome y.
 * Zero entries of z add nothing and are skipped. */
void pt_ridge_add(pt_ridge *r, const double *z, double y);
/* pt_ridge_add of n rows at once, given column-major: z[j * stride + i]
 * is row i's column j, y[i] its outcome.  The same exact sums; each is
 * taken over the n rows in turn, so its accumulator stays in cache. */
void pt_ridge_add_block(pt_ridge *r, const double *z, size_t stride,
    const double *y, size_t n);
/* The weighted twins: row i counts w[i] times (w finite, >= 0).  Return
 * 0, or -1 when a weighted product cannot be added exactly (overflow, or
 * below 2^-968: pt_xsum_add_prod), *bad then the index of that row and
 * the statistics incomplete (the caller refuses the input, PT_ELIMIT). */
int pt_ridge_add_w(pt_ridge *r, const double *z, double y, double w);
int pt_ridge_add_block_w(pt_ridge *r, const double *z, size_t stride,
    const double *y, const double *w, size_t n, size_t *bad);
void pt_ridge_merge(pt_ridge *dst, const pt_ridge *src); /* dst += src */
void pt_ridge_sub(pt_ridge *dst, const pt_ridge *src);   /* dst -= src */
/* Solves (Z'Z + lambda D) b = Z'y, D = identity but 0 for the intercept.
 * Returns 0, or -1 with e set (PT_EVALUE) when the system is singular or
 * not finite. */
int pt_ridge_solve(const pt_ridge *r, double lambda, double *b, pt_err *e);
/* The Cholesky factor L (p*p doubles, caller's) of scale * Z'Z + lambda D,
 * Z'Z rounded once per entry; then solutions of L L' b = rhs.  The same
 * operations as pt_ridge_solve. */
int pt_ridge_factor(const pt_ridge *r, double scale, double lambda, double *L,
    pt_err *e);
void pt_ridge_backsolve(const double *L, int p, const double *rhs, double *b);

#endif

/*
 * exact.c: the exact tree search at any depth (search.h), on rows in
 * memory or, at depth 1 and 2, on a merged pair partial.
 *
 * The optimum is defined recursively (search.h): a node's value is the
 * best over its valid splits (feature f, boundary k, missing side) of the
 * split's own term (ddp only) plus its children's optimal values at one
 * depth less.  The search follows the definition, with three kinds of
 * sweep, all on exact sums (128-bit integers at the data's lowest bit),
 * so ties are real and every method gives the same tree:
 *
 *  - depth 1: one histogram of the node's rows, every feature's bins
 *    swept once (prefix sums), O(n p A + p B A);
 *  - depth 2, histogram sweep: per first feature f1 the rows are taken in
 *    f1's bin order into a left histogram (over every feature); after each
 *    bin both sides' depth-1 values are read from their histograms,
 *    O(p (n p A + B p B A)); from a pair partial the rows of a bin come as
 *    that (f1, bin) slot's cells instead;
 *  - depth 2, segment sweep (welfare, many bins): per first feature and
 *    second feature a segment tree over the second feature's bins holds
 *    the best prefix differences of arm pairs, O(p^2 n A^2 log B);
 *  - depth 3 and more: per first feature the rows are taken in its bin
 *    order (a counting sort: children reuse the parent's lists, sliced),
 *    and both sides are solved at one depth less.  A side whose best
 *    conceivable value (every row its best arm) cannot beat the best found
 *    is skipped (welfare).
 *
 * The first features of the top node are shared among threads; each
 * feature's best is found alone and the results are taken in feature
 * order, so the tree does not depend on the number of threads.
 */
#include "search_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__extension__ typedef __int128 i128;

enum { M_HIST, M_SEG, M_PAIRS };

/* pt_exact_force: 0 the cheaper sweep, 1 rows only, 2 segment/pairs. */
static int force_how;

/* pt_exact_progress: told of each first feature of the root done. */
static void (*prog_fn)(void *, int, int);
static void *prog_arg;

void
pt_exact_progress(void (*fn)(void *arg, int done, int total), void *arg)
{
	prog_fn = fn;
	prog_arg = arg;
}

/* Bytes of pair tables a thread may hold for depth-3 sweeps (five). */
#define PAIRS_BUDGET ((double)(1u << 30))

/* A candidate split and its subtree's value (w: welfare, d: ddp). */
typedef struct cand {
	int found, f, k, ms;
	i128 w;
	double d;
} cand;

/* Sums of a set per cell (feature, bin): row count, and per arm the
 * score sum (welfare) or the treated count and outcome sum (ddp).  With
 * sample weights the ddp counts c are the rows' weights (units of
 * 2^wscale) and the outcome sums weighted; without, wscale is 0 and c
 * counts rows. */
typedef struct hs {
	uint64_t *n;
	int64_t *c;
	i128 *g, *y;
} hs;

/* A set's totals. */
typedef struct tot {
	uint64_t n;
	int64_t c[64];
	i128 g[64], y[64];
} tot;

/* The problem, shared read-only by the threads. */
typedef struct ex {
	const pt_manifest *m;
	int F, A, crit, control;
	uint64_t minsize;
	int *nb;            /* bins per feature (missing bin last) */
	size_t *off, ncells;
	int maxnb, maxL;
	/* rows */
	const pt_rowset *r;
	i128 *G;            /* n * A scores (welfare) */
	i128 *omax;         /* n: the row's best score (welfare) */
	i128 *Y;            /* n outcomes (ddp; weighted with weights) */
	int yscale;
	int64_t *Wt;        /* n weights in units of 2^wscale (ddp with
	                     * sample weights), or NULL: each row counts 1 */
	int wscale;
	/* a pair partial, as cells: slot (f1, b1) then cell (f2, b2) */
	const pt_hist *ph;
	hs P;
} ex;

/* Segment sweep state for one second feature (see seg_*). */
typedef struct xseg {
	int A, W, np, F, f;
	int pa[4096], pb[4096];
	const uint32_t *bin;
	const i128 *G;
	size_t L;
	int nb;
	i128 *node;
	uint32_t *fw;
	uint64_t mn;
	i128 *ms, *T, *tmp;
	uint64_t n, minsize;
} xseg;

/* Per-depth buffers: a node's rows in a feature's bin order, the bins'
 * starts, a side's rows when they are not one slice. */
typedef struct lvl {
	uint32_t *ord, *tmp;
	size_t *start;
	size_t cap;
} lvl;

/* One thread's workspace. */
typedef struct ws {
	const ex *x;
	const hs *pt;        /* the pair table of depth-2 sweeps on no rows */
	hs H, HL, M, L, R;
	int hs_ok;
	hs PT, PL, PM, PX, PR; /* depth 3 on pair tables: S, left, missing */
	int pt_ok;
	lvl lv[PT_PTREE_MAXDEPTH + 1];
	xseg seg;
	int seg_ok;
	i128 *V;
	unsigned char *valid;
	int nomem;
} ws;

/* ---- sums ---------------------------------------------------------------- */

/* v * 2^scale rounded once to the nearest double: the conversion of a
 * 128-bit integer rounds once (to nearest, ties even), and scaling by a
 * power of two is exact in the normal range; elsewhere pt_wide_round. */
static double
r128(i128 v, int scale)
{
	pt_wide w;
	double d = (double)v, s;

	if (v == 0)
		return 0;
	s = ldexp(d, scale);
	if (isfinite(s) && fabs(s) >= DBL_MIN)
		return s;
	memset(&w, 0, sizeof w);
	pt_wide_add_128(&w, (uint64_t)v, (uint64_t)((unsigned __int128)v >> 64),
	    0);
	return pt_wide_round(&w, scale);
}

static int
hs_alloc_n(hs *h, const ex *x, size_t nc)
{
	size_t A = (size_t)x->A;

	memset(h, 0, sizeof *h);
	h->n = calloc(nc, sizeof *h->n);
	if (x->crit == PT_CRIT_DDP) {
		h->c = calloc(nc * A, sizeof *h->c);
		h->y = calloc(nc * A, sizeof *h->y);
		return h->n && h->c && h->y ? 0 : -1;
	}
	h->g = calloc(nc * A, sizeof *h->g);
	return h->n && h->g ? 0 : -1;
}

static int
hs_alloc(hs *h, const ex *x)
{
	return hs_alloc_n(h, x, x->ncells);
}

static void
hs_free(hs *h)
{
	free(h->n);
	free(h->c);
	free(h->g);
	free(h->y);
	memset(h, 0, sizeof *h);
}

static void
hs_zero_n(hs *h, const ex *x, size_t nc)
{
	size_t A = (size_t)x->A;

	memset(h->n, 0, nc * sizeof *h->n);
	if (h->c)
		memset(h->c, 0, nc * A * sizeof *h->c);
	if (h->g)
		memset(h->g, 0, nc * A * sizeof *h->g);
	if (h->y)
		memset(h->y, 0, nc * A * sizeof *h->y);
}

static void
hs_zero(hs *h, const ex *x)
{
	hs_zero_n(h, x, x->ncells);
}

/* d = a + s * b (s = 1 or -1) over nc cells; b may be NULL for d = a. */
static void
hs_comb_n(hs *d, const hs *a, const hs *b, int s, const ex *x, size_t nc)
{
	size_t i, nA = nc * (size_t)x->A;

	if (b == NULL) {
		memcpy(d->n, a->n, nc * sizeof *d->n);
		if (d->g)
			memcpy(d->g, a->g, nA * sizeof *d->g);
		if (d->c) {
			memcpy(d->c, a->c, nA * sizeof *d->c);
			memcpy(d->y, a->y, nA * sizeof *d->y);
		}
		return;
	}
	for (i = 0; i < nc; i++)
		d->n[i] = s > 0 ? a->n[i] + b->n[i] : a->n[i] - b->n[i];
	if (d->g)
		for (i = 0; i < nA; i++)
			d->g[i] = s > 0 ? a->g[i] + b->g[i] : a->g[i] - b->g[i];
	if (d->c)
		for (i = 0; i < nA; i++) {
			d->c[i] = s > 0 ? a->c[i] + b->c[i] : a->c[i] - b->c[i];
			d->y[i] = s > 0 ? a->y[i] + b->y[i] : a->y[i] - b->y[i];
		}
}

static void
hs_comb(hs *d, const hs *a, const hs *b, int s, const ex *x)
{
	hs_comb_n(d, a, b, s, x, x->ncells);
}

/* h += row i (every feature's cell). */
static void
hs_row(hs *h, const ex *x, uint32_t i)
{
	const uint32_t *bin = x->r->bin + (size_t)i * x->F;
	int f, a, A = x->A;

	for (f = 0; f < x->F; f++) {
		size_t cell = x->off[f] + bin[f];
		h->n[cell]++;
		if (h->g) {
			const i128 *g = x->G + (size_t)i * A;
			i128 *d = h->g + cell * A;
			for (a = 0; a < A; a++)
				d[a] += g[a];
		} else if (x->r->w[i] >= 0) {
			size_t q = cell * A + (size_t)x->r->w[i];
			h->c[q] += x->Wt ? x->Wt[i] : 1;
			h->y[q] += x->Y[i];
		}
	}
}

/* h += slot s of pair table P (slot (f1, b1), then cell (f2, b2)). */
static void
hs_slot(hs *h, const ex *x, const hs *P, size_t s)
{
	size_t i, nc = x->ncells, nA = nc * (size_t)x->A, b = s * nc;

	for (i = 0; i < nc; i++)
		h->n[i] += P->n[b + i];
	if (h->g)
		for (i = 0; i < nA; i++)
			h->g[i] += P->g[b * x->A + i];
	else
		for (i = 0; i < nA; i++) {
			h->c[i] += P->c[b * x->A + i];
			h->y[i] += P->y[b * x->A + i];
		}
}

/* P += row i: slot (f1, its bin) cell (f2, its bin) for every f1, f2. */
static void
hs_pair_row(hs *P, const ex *x, uint32_t i)
{
	const uint32_t *bin = x->r->bin + (size_t)i * x->F;
	size_t nc = x->ncells;
	int f1, f2, a, A = x->A;

	for (f1 = 0; f1 < x->F; f1++) {
		size_t sb = (x->off[f1] + bin[f1]) * nc;
		for (f2 = 0; f2 < x->F; f2++) {
			size_t cell = sb + x->off[f2] + bin[f2];
			P->n[cell]++;
			if (P->g) {
				const i128 *g = x->G + (size_t)i * A;
				i128 *d = P->g + cell * A;
				for (a = 0; a < A; a++)
					d[a] += g[a];
			} else if (x->r->w[i] >= 0) {
				size_t q = cell * A + (size_t)x->r->w[i];
				P->c[q] += x->Wt ? x->Wt[i] : 1;
				P->y[q] += x->Y[i];
			}
		}
	}
}

/* The totals of a histogram (feature 0's cells). */
static void
hs_tot(const hs *h, const ex *x, tot *t)
{
	int b, a, A = x->A;

	memset(t, 0, sizeof *t);
	for (b = 0; b < x->nb[0]; b++) {
		size_t cell = x->off[0] + (size_t)b;
		t->n += h->n[cell];
		for (a = 0; a < A; a++)
			if (h->g)
				t->g[a] += h->g[cell * A + a];
			else {
				t->c[a] += h->c[cell * A + a];
				t->y[a] += h->y[cell * A + a];
			}
	}
}

static i128
best_arm(const i128 *g, int A)
{
	i128 b = g[0];
	int a;

	for (a = 1; a < A; a++)
		if (g[a] > b)
			b = g[a];
	return b;
}

/* The ddp criterion of sides with per-arm counts and outcome sums, or NAN
 * when the split is not valid (an arm without rows on a side). */
static double
ddp_of(const ex *x, const int64_t *cl, const i128 *yl, const int64_t *cr,
    const i128 *yr)
{
	double mL[64], mR[64];
	int a, A = x->A;

	for (a = 0; a < A; a++)
		if (cl[a] == 0 || cr[a] == 0)
			return NAN;
	if (A < 2)
		return NAN;
	/* Without weights wscale is 0 and the count's double is its
	 * value, as before. */
	for (a = 0; a < A; a++) {
		mL[a] = r128(yl[a], x->yscale) / (x->Wt != NULL || x->wscale ?
		    r128(cl[a], x->wscale) : (double)cl[a]);
		mR[a] = r128(yr[a], x->yscale) / (x->Wt != NULL || x->wscale ?
		    r128(cr[a], x->wscale) : (double)cr[a]);
	}
	return pt_ddp_of_means(mL, mR, A, x->control);
}

static int
better(const ex *x, const cand *c, i128 w, double d)
{
	if (!c->found)
		return 1;
	return x->crit == PT_CRIT_DDP ? d > c->d : w > c->w;
}

static void
take(cand *c, int f, int k, int ms, i128 w, double d)
{
	c->found = 1;
	c->f = f;
	c->k = k;
	c->ms = ms;
	c->w = w;
	c->d = d;
}

/* ---- depth 1 ------------------------------------------------------------- */

/* The best single split of the set whose histogram is X (its totals T);
 * *c->found 0 when none is valid. */
static void
depth1(const ex *x, const hs *X, const tot *T, cand *c)
{
	int f, k, ms, a, A = x->A;
	i128 Pg[64], Lg[64], Rg[64];
	int64_t Pc[64], Lc[64], Rc[64];
	i128 Py[64], Ly[64], Ry[64];

	c->found = 0;
	for (f = 0; f < x->F; f++) {
		int nb = x->nb[f];
		size_t fb = x->off[f], mc = fb + (size_t)nb - 1;
		uint64_t Pn = 0, mn = X->n[mc];
		for (a = 0; a < A; a++) {
			Pg[a] = Py[a] = 0;
			Pc[a] = 0;
		}
		for (k = 0; k < nb - 2; k++) {
			size_t cell = fb + (size_t)k;
			if (k > 0 && X->n[cell] == 0)
				continue; /* the sides of k - 1 */
			Pn += X->n[cell];
			for (a = 0; a < A; a++)
				if (X->g)
					Pg[a] += X->g[cell * A + a];
				else {
					Pc[a] += X->c[cell * A + a];
					Py[a] += X->y[cell * A + a];
				}
			for (ms = 0; ms < 2; ms++) {
				uint64_t Ln = Pn + (ms ? mn : 0);
				if (ms && mn == 0)
					break;
				if (Ln < x->minsize || T->n - Ln < x->minsize)
					continue;
				if (X->g) {
					i128 v;
					for (a = 0; a < A; a++) {
						Lg[a] = Pg[a] + (ms ?
						    X->g[mc * A + a] : 0);
						Rg[a] = T->g[a] - Lg[a];
					}
					v = best_arm(Lg, A) + best_arm(Rg, A);
					if (better(x, c, v, 0))
						take(c, f, k, ms, v, 0);
				} else {
					double d;
					for (a = 0; a < A; a++) {
						Lc[a] = Pc[a] + (ms ?
						    X->c[mc * A + a] : 0);
						Ly[a] = Py[a] + (ms ?
						    X->y[mc * A + a] : 0);
						Rc[a] = T->c[a] - Lc[a];
						Ry[a] = T->y[a] - Ly[a];
					}
					d = ddp_of(x, Lc, Ly, Rc, Ry);
					if (!isnan(d) && better(x, c, 0, d))
						take(c, f, k, ms, 0, d);
				}
			}
		}
	}
}

/* The value of the set (histogram X): its best split's, else a leaf's. */
static void
value1(const ex *x, const hs *X, i128 *w, double *d)
{
	tot T;
	cand c;

	hs_tot(X, x, &T);
	depth1(x, X, &T, &c);
	if (c.found) {
		*w = c.w;
		*d = c.d;
	} else {
		*w = X->g ? best_arm(T.g, x->A) : 0;
		*d = 0;
	}
}

/* ---- buffers ------------------------------------------------------------- */

static int
lvl_need(lvl *l, const ex *x, size_t n)
{
	if (l->start == NULL &&
	    (l->start = malloc(((size_t)x->maxnb + 1) * sizeof *l->start)) ==
	    NULL)
		return -1;
	if (n > l->cap) {
		void *p;
		if ((p = realloc(l->ord, n * sizeof *l->ord)) == NULL)
			return -1;
		l->ord = p;
		if ((p = realloc(l->tmp, n * sizeof *l->tmp)) == NULL)
			return -1;
		l->tmp = p;
		l->cap = n;
	}
	return 0;
}

/* The set's histogram only (depth 1). */
static int
ws_hist1(ws *W)
{
	if (W->H.n == NULL && hs_alloc(&W->H, W->x) < 0)
		return -1;
	return 0;
}

/* The five histograms of the depth-2 sweep. */
static int
ws_hist(ws *W)
{
	if (W->hs_ok)
		return 0;
	if (ws_hist1(W) < 0 || hs_alloc(&W->HL, W->x) < 0 ||
	    hs_alloc(&W->M, W->x) < 0 || hs_alloc(&W->L, W->x) < 0 ||
	    hs_alloc(&W->R, W->x) < 0)
		return -1;
	W->hs_ok = 1;
	return 0;
}

/* Rows S of the set in f's bin order into l->ord, bin b's at
 * [start[b], start[b + 1]). */
static void
by_bin(const ex *x, lvl *l, const uint32_t *S, size_t ns, int f)
{
	size_t i, *st = l->start;
	int b, nb = x->nb[f], F = x->F;
	const uint32_t *bin = x->r->bin;

	memset(st, 0, ((size_t)nb + 1) * sizeof *st);
	for (i = 0; i < ns; i++)
		st[bin[(size_t)S[i] * F + f] + 1]++;
	for (b = 0; b < nb; b++)
		st[b + 1] += st[b];
	for (i = 0; i < ns; i++)
		l->ord[st[bin[(size_t)S[i] * F + f]]++] = S[i];
	for (b = nb; b > 0; b--)
		st[b] = st[b - 1];
	st[0] = 0;
}

/* ---- depth 2: the histogram sweep ---------------------------------------- */

/* The best split of the set (rows S, or with S NULL the whole pair
 * partial) on first feature f1 at depth 2; W->H holds the set's
 * histogram.  Bound (welfare, rows): oS, the set's best conceivable
 * value. */
static int
hist2_f1(ws *W, const uint32_t *S, size_t ns, int f1, cand *c)
{
	const ex *x = W->x;
	lvl *l = &W->lv[2];
	int nb = x->nb[f1], k, ms, a, A = x->A;
	size_t i, mbin = (size_t)nb - 1;
	uint64_t nmiss, Pn = 0;
	tot T, Lt, Mt;
	i128 vl, vr;
	double dl, dr;

	c->found = 0;
	if (nb - 2 <= 0)
		return 0;
	hs_tot(&W->H, x, &T);
	hs_zero(&W->HL, x);
	hs_zero(&W->M, x);
	if (S != NULL) {
		by_bin(x, l, S, ns, f1);
		for (i = l->start[mbin]; i < l->start[mbin + 1]; i++)
			hs_row(&W->M, x, l->ord[i]);
	} else
		hs_slot(&W->M, x, W->pt, x->off[f1] + mbin);
	hs_tot(&W->M, x, &Mt);
	nmiss = Mt.n;
	for (k = 0; k < nb - 2; k++) {
		uint64_t nk;
		if (S != NULL) {
			for (i = l->start[k]; i < l->start[k + 1]; i++)
				hs_row(&W->HL, x, l->ord[i]);
			nk = l->start[k + 1] - l->start[k];
		} else {
			nk = W->pt->n[(x->off[f1] + (size_t)k) * x->ncells +
			    x->off[f1] + (size_t)k];
			hs_slot(&W->HL, x, W->pt, x->off[f1] + (size_t)k);
		}
		Pn += nk;
		if (k > 0 && nk == 0)
			continue;
		for (ms = 0; ms < 2; ms++) {
			uint64_t Ln = Pn + (ms ? nmiss : 0);
			const hs *Lh;
			double dd = 0;
			if (ms && nmiss == 0)
				break;
			if (Ln < x->minsize || T.n - Ln < x->minsize)
				continue;
			if (ms) {
				hs_comb(&W->L, &W->HL, &W->M, 1, x);
				Lh = &W->L;
			} else
				Lh = &W->HL;
			if (x->crit == PT_CRIT_DDP) {
				int64_t Rc[64];
				i128 Ry[64];
				hs_tot(Lh, x, &Lt);
				for (a = 0; a < A; a++) {
					Rc[a] = T.c[a] - Lt.c[a];
					Ry[a] = T.y[a] - Lt.y[a];
				}
				dd = ddp_of(x, Lt.c, Lt.y, Rc, Ry);
				if (isnan(dd))
					continue;
			}
			hs_comb(&W->R, &W->H, Lh, -1, x);
			value1(x, Lh, &vl, &dl);
			value1(x, &W->R, &vr, &dr);
			if (better(x, c, vl + vr, dd + dl + dr))
				take(c, f1, k, ms, vl + vr, dd + dl + dr);
		}
	}
	return 0;
}

/* ---- depth 2: the segment sweep (welfare) -------------------------------- */

static void
xseg_free(xseg *s)
{
	free(s->node);
	free(s->fw);
	free(s->ms);
	free(s->T);
	free(s->tmp);
}

static int
xseg_init(xseg *s, const ex *x)
{
	int a, b, A = x->A;
	size_t maxL = (size_t)x->maxL;

	memset(s, 0, sizeof *s);
	s->A = A;
	s->F = x->F;
	s->bin = x->r->bin;
	s->G = x->G;
	s->minsize = x->minsize;
	for (a = 0; a < A; a++)
		for (b = 0; b < A; b++)
			if (a != b) {
				s->pa[s->np] = a;
				s->pb[s->np] = b;
				s->np++;
			}
	s->W = A + s->np;
	s->node = calloc(2 * maxL * (size_t)s->W, sizeof *s->node);
	s->fw = calloc(maxL + 1, sizeof *s->fw);
	s->ms = calloc((size_t)A, sizeof *s->ms);
	s->T = calloc((size_t)A, sizeof *s->T);
	s->tmp = calloc(4 * (size_t)s->W, sizeof *s->tmp);
	if (s->node == NULL || s->fw == NULL || s->ms == NULL || s->T == NULL ||
	    s->tmp == NULL)
		return -1;
	return 0;
}

/* Starts on second feature f with an empty set. */
static void
xseg_reset(xseg *s, const ex *x, int f)
{
	size_t L = 1;

	s->f = f;
	s->nb = x->nb[f];
	while (L < (size_t)s->nb - 1)
		L *= 2;
	s->L = L;
	memset(s->node, 0, 2 * L * (size_t)s->W * sizeof *s->node);
	memset(s->fw, 0, (L + 1) * sizeof *s->fw);
	memset(s->ms, 0, (size_t)s->A * sizeof *s->ms);
	memset(s->T, 0, (size_t)s->A * sizeof *s->T);
	s->mn = 0;
	s->n = 0;
}

/* Recomputes the ancestors of leaf v.  Inlined with constant A and pair
 * tables for the common arm counts, where it is most of the sweep's time. */
static inline __attribute__((always_inline)) void
xseg_climb(i128 *nd, size_t v, int W, int A, int np, const int *pa,
    const int *pb)
{
	int a, q;

	for (v >>= 1; v > 0; v >>= 1) {
		i128 *d = nd + v * W, *l = nd + 2 * v * W, *rr = l + W;
		for (a = 0; a < A; a++)
			d[a] = l[a] + rr[a];
		for (q = 0; q < np; q++) {
			i128 y = l[pa[q]] - l[pb[q]] + rr[A + q];
			d[A + q] = y > l[A + q] ? y : l[A + q];
		}
	}
}

static const int pa2[2] = { 0, 1 }, pb2[2] = { 1, 0 };
static const int pa3[6] = { 0, 0, 1, 1, 2, 2 }, pb3[6] = { 1, 2, 0, 2, 0, 1 };
static const int pa4[12] = { 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3 },
    pb4[12] = { 1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2 };

/* Adds (neg 0) or removes (neg 1) row j. */
static void
xseg_row(xseg *s, size_t j, int neg)
{
	int A = s->A, W = s->W, np = s->np, a, q;
	uint32_t bin = s->bin[j * (size_t)s->F + s->f];
	const i128 *gj = s->G + j * A;
	size_t L = s->L, v, i;
	i128 *p;

	if (neg) {
		s->n--;
		for (a = 0; a < A; a++)
			s->T[a] -= gj[a];
	} else {
		s->n++;
		for (a = 0; a < A; a++)
			s->T[a] += gj[a];
	}
	if ((int)bin == s->nb - 1) {
		s->mn += neg ? (uint64_t)-1 : 1;
		for (a = 0; a < A; a++)
			s->ms[a] += neg ? -gj[a] : gj[a];
		return;
	}
	for (i = bin + 1; i <= L; i += i & -i)
		s->fw[i] += neg ? (uint32_t)-1 : 1;
	v = L + bin;
	p = s->node + v * W;
	for (a = 0; a < A; a++)
		p[a] += neg ? -gj[a] : gj[a];
	for (q = 0; q < np; q++)
		p[A + q] = p[s->pa[q]] - p[s->pb[q]];
	if (A == 2)
		xseg_climb(s->node, v, 4, 2, 2, pa2, pb2);
	else if (A == 3)
		xseg_climb(s->node, v, 9, 3, 6, pa3, pb3);
	else if (A == 4)
		xseg_climb(s->node, v, 16, 4, 12, pa4, pb4);
	else
		xseg_climb(s->node, v, W, A, np, s->pa, s->pb);
}

/* Smallest bin t whose count through t is at least y (L when none). */
static size_t
fw_lower(const uint32_t *fw, size_t L, uint64_t y)
{
	size_t pos = 0, step;

	for (step = L; step > 0; step >>= 1)
		if (pos + step <= L && fw[pos + step] < y) {
			pos += step;
			y -= fw[pos];
		}
	return pos;
}

/* mx[q] = max over t in [lo, hi] of P_a(t) - P_b(t), pair q = (a, b). */
static void
xseg_query(xseg *s, size_t lo, size_t hi, i128 *mx)
{
	int A = s->A, W = s->W, np = s->np, a, q, nl = 0, nr = 0, k;
	size_t L = s->L, l, r, left[64], right[64];
	const i128 *nd = s->node;
	i128 *pre = s->tmp + W;

	for (a = 0; a < A; a++)
		pre[a] = 0;
	for (l = L, r = L + lo; l < r; l >>= 1, r >>= 1) {
		if (l & 1) {
			for (a = 0; a < A; a++)
				pre[a] += nd[l * W + a];
			l++;
		}
		if (r & 1) {
			r--;
			for (a = 0; a < A; a++)
				pre[a] += nd[r * W + a];
		}
	}
	for (l = L + lo, r = L + hi + 1; l < r; l >>= 1, r >>= 1) {
		if (l & 1)
			left[nl++] = l++;
		if (r & 1)
			right[nr++] = --r;
	}
	while (nr > 0)
		left[nl++] = right[--nr];
	for (k = 0; k < nl; k++) {
		const i128 *p = nd + left[k] * W;
		for (q = 0; q < np; q++) {
			i128 y = pre[s->pa[q]] - pre[s->pb[q]] + p[A + q];
			if (k == 0 || y > mx[q])
				mx[q] = y;
		}
		for (a = 0; a < A; a++)
			pre[a] += p[a];
	}
}

/* The value of the current set on feature f: its best split on f or its
 * best leaf. */
static i128
xseg_value(xseg *s)
{
	int A = s->A, np = s->np, a, q, md;
	i128 best = s->T[0], *mx = s->tmp + 2 * s->W;
	uint64_t n = s->n, ms = s->minsize;
	size_t K = (size_t)s->nb - 2, L = s->L, plo = 1, phi = 0;

	for (a = 1; a < A; a++)
		if (s->T[a] > best)
			best = s->T[a];
	if (K == 0)
		return best;
	for (md = 0; md < 2; md++) {
		uint64_t nm = md ? s->mn : 0;
		size_t lo, hi;
		if (md == 1 && nm == 0)
			break;
		if (n < nm + ms)
			continue;
		/* Thresholds leaving min-node-size rows on both sides. */
		lo = ms > nm ? fw_lower(s->fw, L, ms - nm) : 0;
		hi = fw_lower(s->fw, L, n - nm - ms + 1);
		if (hi == 0)
			continue;
		hi--;
		if (hi > K - 1)
			hi = K - 1;
		if (lo > hi)
			continue;
		if (lo != plo || hi != phi)
			xseg_query(s, lo, hi, mx);
		plo = lo;
		phi = hi;
		for (q = 0; q < np; q++) {
			int pa = s->pa[q], pb = s->pb[q];
			i128 v = mx[q] + s->T[pb];
			if (md)
				v += s->ms[pa] - s->ms[pb];
			if (v > best)
				best = v;
		}
	}
	return best;
}

static void
xput(i128 *V, int k, i128 v, int first)
{
	if (first || v > V[k])
		V[k] = v;
}

static int
ws_seg(ws *W)
{
	const ex *x = W->x;

	if (W->seg_ok)
		return 0;
	if (xseg_init(&W->seg, x) < 0 ||
	    (W->V = malloc(4 * (size_t)x->maxnb * sizeof *W->V)) == NULL ||
	    (W->valid = malloc(2 * (size_t)x->maxnb)) == NULL)
		return -1;
	W->seg_ok = 1;
	return 0;
}

/*
 * The best split of rows S on first feature f1 at depth 2 by the segment
 * sweep.  One second feature at a time (its tree stays in cache), four
 * sweeps: missing right, the left side grows, then the right side
 * shrinks; missing left, the right side grows from the top, then the
 * left side shrinks from the top.  A bin with no rows leaves the set as
 * it was.
 */
static int
seg2_f1(ws *W, const uint32_t *S, size_t ns, int f1, cand *c)
{
	const ex *x = W->x;
	xseg *s = &W->seg;
	lvl *l = &W->lv[2];
	int nb = x->nb[f1], K = nb - 2, k, f, ms, maxnb = x->maxnb;
	size_t i, nmiss, *start = l->start;
	const uint32_t *order = l->ord;
	uint64_t minsize = x->minsize;
	i128 *VL0 = W->V, *VR0 = W->V + maxnb, *VL1 = W->V + 2 * maxnb,
	    *VR1 = W->V + 3 * maxnb;
	unsigned char *v0 = W->valid, *v1 = W->valid + maxnb;

	c->found = 0;
	if (K <= 0)
		return 0;
	by_bin(x, l, S, ns, f1);
	nmiss = start[nb] - start[nb - 1];
	for (k = 0; k < K; k++) {
		size_t nl = start[k + 1];
		v0[k] = nl >= minsize && ns - nl >= minsize;
		nl += nmiss;
		v1[k] = nmiss > 0 && nl >= minsize && ns - nl >= minsize;
	}
#define BIN_ROWS(b, neg) do { \
	for (i = start[(b)]; i < start[(b) + 1]; i++) \
		xseg_row(s, order[i], (neg)); \
} while (0)
	for (f = 0; f < x->F; f++) {
		int first = f == 0;
		xseg_reset(s, x, f);
		for (k = 0; k < K; k++) {
			int same = k > 0 && start[k + 1] == start[k];
			BIN_ROWS(k, 0);
			if (v0[k])
				xput(VL0, k, same ? VL0[k - 1] : xseg_value(s),
				    first);
		}
		BIN_ROWS(K, 0);
		BIN_ROWS(K + 1, 0);
		for (k = 0; k < K; k++) {
			int same = k > 0 && start[k + 1] == start[k];
			BIN_ROWS(k, 1);
			if (v0[k])
				xput(VR0, k, same ? VR0[k - 1] : xseg_value(s),
				    first);
		}
		BIN_ROWS(K, 1);
		BIN_ROWS(K + 1, 1);
		if (nmiss == 0)
			continue;
		for (k = K - 1; k >= 0; k--) {
			int same = k < K - 1 && start[k + 2] == start[k + 1];
			BIN_ROWS(k + 1, 0);
			if (v1[k])
				xput(VR1, k, same ? VR1[k + 1] : xseg_value(s),
				    first);
		}
		BIN_ROWS(0, 0);
		BIN_ROWS(K + 1, 0);
		for (k = K - 1; k >= 0; k--) {
			int same = k < K - 1 && start[k + 2] == start[k + 1];
			BIN_ROWS(k + 1, 1);
			if (v1[k])
				xput(VL1, k, same ? VL1[k + 1] : xseg_value(s),
				    first);
		}
	}
#undef BIN_ROWS
	/* In tie order: threshold, then missing right before left. */
	for (k = 0; k < K; k++)
		for (ms = 0; ms < 2; ms++) {
			i128 v;
			if (!(ms ? v1[k] : v0[k]))
				continue;
			if (k > 0 && start[k + 1] == start[k])
				continue; /* the sides of k - 1 */
			v = ms ? VL1[k] + VR1[k] : VL0[k] + VR0[k];
			if (better(x, c, v, 0))
				take(c, f1, k, ms, v, 0);
		}
	return 0;
}

/* ---- any depth ----------------------------------------------------------- */

static double log2up(double v);

/* Which depth-2 sweep for a set of ns rows: the cheaper (welfare). */
static int
method2(const ex *x, const uint32_t *S, size_t ns)
{
	double h = 0, s = 0, W = (double)x->A * x->A, n = (double)ns;
	int f;

	if (x->crit == PT_CRIT_DDP || S == NULL || force_how == 1)
		return M_HIST;
	if (force_how == 2)
		return M_SEG;
	for (f = 0; f < x->F; f++) {
		double K = x->nb[f] - 2;
		if (K > n)
			K = n;
		h += n * x->F * x->A + K * 3.0 * (double)x->ncells * x->A;
		s += 4 * n * x->F * (log2up(x->nb[f]) + 1) * W;
	}
	return s < h ? M_SEG : M_HIST;
}

static int solve(ws *W, int d, const uint32_t *S, size_t ns, cand *c,
    i128 *vw, double *vd);

int
pt_exact_force(int how)
{
	int old = force_how;

	force_how = how;
	return old;
}

static double
pair_table_bytes(const ex *x)
{
	double nc = (double)x->ncells;

	return nc * nc * (8 + (x->crit == PT_CRIT_DDP ? 24.0 : 16.0) * x->A);
}

/*
 * Which depth-3 sweep for a set of ns rows.  On rows, each side of every
 * first split is solved at depth 2 from its rows: about 2 K (n p^2 A)
 * per first feature.  On pair tables, the left side's table grows by the
 * rows of each bin (n p^2 (1 + A) per first feature in all) and each side
 * is solved from its table, at a cost that does not depend on n: 2 K
 * (2 C^2 A + 12 p K C A), C the cells.  Pair tables when they cost less
 * and five of them fit the budget.
 */
static int
method3(const ex *x, size_t ns)
{
	double n = (double)ns, F = x->F, A = x->A, C = (double)x->ncells;
	double K = x->maxnb - 2.0, rows, tabs;

	if (5 * pair_table_bytes(x) > PAIRS_BUDGET || force_how == 1)
		return M_HIST;
	if (force_how == 2)
		return M_PAIRS;
	rows = 2 * K * (n * F * F * A);
	tabs = n * F * F * (1 + A) + 2 * K * (2 * C * C * A + 12 * F * K * C *
	    A);
	return tabs < rows ? M_PAIRS : M_HIST;
}

static int
ws_pairs(ws *W)
{
	size_t nc = W->x->ncells * W->x->ncells;

	if (W->pt_ok)
		return 0;
	if (hs_alloc_n(&W->PT, W->x, nc) < 0 ||
	    hs_alloc_n(&W->PL, W->x, nc) < 0 ||
	    hs_alloc_n(&W->PM, W->x, nc) < 0 ||
	    hs_alloc_n(&W->PX, W->x, nc) < 0 ||
	    hs_alloc_n(&W->PR, W->x, nc) < 0)
		return -1;
	W->pt_ok = 1;
	return 0;
}

/* The leaf value of rows S (welfare: the best arm's total). */
static i128
leaf_rows(const ex *x, const uint32_t *S, size_t ns)
{
	i128 g[64] = { 0 };
	size_t i;
	int a, A = x->A;

	if (x->crit == PT_CRIT_DDP)
		return 0;
	for (a = 0; a < A; a++)
		g[a] = 0;
	for (i = 0; i < ns; i++)
		for (a = 0; a < A; a++)
			g[a] += x->G[(size_t)S[i] * A + a];
	return best_arm(g, A);
}

/* The best split of rows S on first feature f1 at depth d >= 3; with
 * method M_PAIRS (d 3), each side solved from its pair table. */
static int
deep_f1(ws *W, int d, int method, const uint32_t *S, size_t ns, int f1,
    cand *c)
{
	size_t ncc = W->x->ncells * W->x->ncells;
	int usep = method == M_PAIRS;
	const ex *x = W->x;
	lvl *l = &W->lv[d];
	int nb = x->nb[f1], k, ms, a, A = x->A;
	size_t i, j, mbin = (size_t)nb - 1, *st;
	uint64_t nmiss;
	i128 oS = 0, oL = 0, oM = 0;
	int64_t cP[64], cM[64], cS[64];
	i128 yP[64], yM[64], yS[64];

	c->found = 0;
	if (nb - 2 <= 0)
		return 0;
	by_bin(x, l, S, ns, f1);
	st = l->start;
	nmiss = st[mbin + 1] - st[mbin];
	for (a = 0; a < A; a++) {
		cP[a] = cM[a] = cS[a] = 0;
		yP[a] = yM[a] = yS[a] = 0;
	}
	if (usep) {
		hs_zero_n(&W->PL, x, ncc);
		hs_zero_n(&W->PM, x, ncc);
		for (i = st[mbin]; i < ns; i++)
			hs_pair_row(&W->PM, x, l->ord[i]);
	}
	for (i = 0; i < ns; i++) {
		uint32_t q = l->ord[i];
		int miss = i >= st[mbin];
		if (x->crit == PT_CRIT_DDP) {
			int32_t w = x->r->w[q];
			int64_t one = x->Wt ? x->Wt[q] : 1;
			if (w >= 0) {
				cS[w] += one;
				yS[w] += x->Y[q];
				if (miss) {
					cM[w] += one;
					yM[w] += x->Y[q];
				}
			}
		} else {
			oS += x->omax[q];
			if (miss)
				oM += x->omax[q];
		}
	}
	for (k = 0; k < nb - 2; k++) {
		size_t nl = st[k + 1];
		for (i = st[k]; i < st[k + 1]; i++) {
			uint32_t q = l->ord[i];
			if (usep)
				hs_pair_row(&W->PL, x, q);
			if (x->crit == PT_CRIT_DDP) {
				if (x->r->w[q] >= 0) {
					cP[x->r->w[q]] += x->Wt ? x->Wt[q] : 1;
					yP[x->r->w[q]] += x->Y[q];
				}
			} else
				oL += x->omax[q];
		}
		if (k > 0 && st[k + 1] == st[k])
			continue;
		for (ms = 0; ms < 2; ms++) {
			const uint32_t *Ls, *Rs;
			size_t nL = nl + (ms ? nmiss : 0), nR = ns - nL;
			cand cl, cr;
			i128 vl, vr;
			double dl, dr, dd = 0;
			if (ms && nmiss == 0)
				break;
			if (nL < x->minsize || nR < x->minsize)
				continue;
			if (x->crit == PT_CRIT_DDP) {
				int64_t cl_[64], cr_[64];
				i128 yl_[64], yr_[64];
				for (a = 0; a < A; a++) {
					cl_[a] = cP[a] + (ms ? cM[a] : 0);
					yl_[a] = yP[a] + (ms ? yM[a] : 0);
					cr_[a] = cS[a] - cl_[a];
					yr_[a] = yS[a] - yl_[a];
				}
				dd = ddp_of(x, cl_, yl_, cr_, yr_);
				if (isnan(dd))
					continue;
			} else if (c->found && oS <= c->w)
				return 0; /* nothing here can beat it */
			if (usep) {
				const hs *Lt = &W->PL;
				if (ms) {
					hs_comb_n(&W->PX, &W->PL, &W->PM, 1, x, ncc);
					Lt = &W->PX;
				}
				hs_comb_n(&W->PR, &W->PT, Lt, -1, x, ncc);
				W->pt = Lt;
				if (solve(W, 2, NULL, nL, &cl, &vl, &dl) < 0)
					return -1;
				if (x->crit == PT_CRIT_WELFARE && c->found &&
				    vl + (oS - oL - (ms ? oM : 0)) <= c->w)
					continue;
				W->pt = &W->PR;
				if (solve(W, 2, NULL, nR, &cr, &vr, &dr) < 0)
					return -1;
			} else {
				if (ms) {
					memcpy(l->tmp, l->ord, nl * sizeof *l->tmp);
					for (i = st[mbin], j = nl; i < ns; i++, j++)
						l->tmp[j] = l->ord[i];
					Ls = l->tmp;
					Rs = l->ord + nl;
				} else {
					Ls = l->ord;
					Rs = l->ord + nl;
				}
				if (solve(W, d - 1, Ls, nL, &cl, &vl, &dl) < 0)
					return -1;
				if (x->crit == PT_CRIT_WELFARE && c->found &&
				    vl + (oS - oL - (ms ? oM : 0)) <= c->w)
					continue; /* the right side cannot make up */
				if (solve(W, d - 1, Rs, nR, &cr, &vr, &dr) < 0)
					return -1;
			}
			if (better(x, c, vl + vr, dd + dl + dr))
				take(c, f1, k, ms, vl + vr, dd + dl + dr);
		}
	}
	return 0;
}

/* Prepares W for the first-feature sweeps of rows S at depth d (the
 * set's histogram for the histogram sweeps).  Returns the method. */
static int
prepare(ws *W, int d, const uint32_t *S, size_t ns, int *method)
{
	const ex *x = W->x;
	size_t i;

	*method = d == 2 ? method2(x, S, ns) : d == 3 ? method3(x, ns) :
	    M_HIST;
	if (lvl_need(&W->lv[d], x, ns) < 0)
		return -1;
	if (*method == M_PAIRS) {
		if (ws_pairs(W) < 0)
			return -1;
		hs_zero_n(&W->PT, x, x->ncells * x->ncells);
		for (i = 0; i < ns; i++)
			hs_pair_row(&W->PT, x, S[i]);
		return 0;
	}
	if (d > 2)
		return 0;
	if (*method == M_SEG)
		return ws_seg(W);
	if (ws_hist(W) < 0)
		return -1;
	hs_zero(&W->H, x);
	if (S == NULL) {
		int b;
		for (b = 0; b < x->nb[0]; b++)
			hs_slot(&W->H, x, W->pt, x->off[0] + (size_t)b);
	} else
		for (i = 0; i < ns; i++)
			hs_row(&W->H, x, S[i]);
	return 0;
}

static int
sweep_f1(ws *W, int d, int method, const uint32_t *S, size_t ns, int f1,
    cand *c)
{
	if (d > 2)
		return deep_f1(W, d, method, S, ns, f1, c);
	if (method == M_SEG)
		return seg2_f1(W, S, ns, f1, c);
	return hist2_f1(W, S, ns, f1, c);
}

/*
 * The best split of rows S (S NULL: the pair partial) at depth d, into c,
 * and the set's value at depth d into *vw / *vd (the best split's, or the
 * leaf's when no split is valid).
 */
static int
solve(ws *W, int d, const uint32_t *S, size_t ns, cand *c, i128 *vw,
    double *vd)
{
	const ex *x = W->x;
	int f1, method;

	c->found = 0;
	if (d == 1) {
		tot T;
		if (ws_hist1(W) < 0)
			return -1;
		hs_zero(&W->H, x);
		if (S == NULL) {
			int b;
			for (b = 0; b < x->nb[0]; b++)
				hs_slot(&W->H, x, W->pt, x->off[0] + (size_t)b);
		} else
			for (size_t i = 0; i < ns; i++)
				hs_row(&W->H, x, S[i]);
		hs_tot(&W->H, x, &T);
		depth1(x, &W->H, &T, c);
		if (!c->found) {
			*vw = x->crit == PT_CRIT_DDP ? 0 : best_arm(T.g, x->A);
			*vd = 0;
		} else {
			*vw = c->w;
			*vd = c->d;
		}
		return 0;
	}
	if (prepare(W, d, S, ns, &method) < 0)
		return -1;
	for (f1 = 0; f1 < x->F; f1++) {
		cand cf;
		if (sweep_f1(W, d, method, S, ns, f1, &cf) < 0)
			return -1;
		if (cf.found && better(x, c, cf.w, cf.d))
			*c = cf;
	}
	if (c->found) {
		*vw = c->w;
		*vd = c->d;
	} else {
		*vw = S != NULL ? leaf_rows(x, S, ns) : 0;
		*vd = 0;
		if (S == NULL && x->crit == PT_CRIT_WELFARE) {
			tot T;
			hs_tot(&W->H, x, &T);
			*vw = best_arm(T.g, x->A);
		}
	}
	return 0;
}

/* ---- workspaces and threads ---------------------------------------------- */

static void
ws_free(ws *W)
{
	int d;

	hs_free(&W->H);
	hs_free(&W->HL);
	hs_free(&W->M);
	hs_free(&W->L);
	hs_free(&W->R);
	hs_free(&W->PT);
	hs_free(&W->PL);
	hs_free(&W->PM);
	hs_free(&W->PX);
	hs_free(&W->PR);
	for (d = 0; d <= PT_PTREE_MAXDEPTH; d++) {
		free(W->lv[d].ord);
		free(W->lv[d].tmp);
		free(W->lv[d].start);
	}
	if (W->seg_ok || W->seg.node != NULL)
		xseg_free(&W->seg);
	free(W->V);
	free(W->valid);
	memset(W, 0, sizeof *W);
}

/* The top node's first features, shared among threads. */
typedef struct job {
	ws *W;
	int d, next, fail, done, report;
	const uint32_t *S;
	size_t ns;
	cand *res;           /* per first feature */
	pthread_mutex_t mu;
} job;

typedef struct worker {
	job *j;
	ws W;
	int method;
} worker;

static void *
work(void *arg)
{
	worker *k = arg;
	job *j = k->j;

	if (prepare(&k->W, j->d, j->S, j->ns, &k->method) < 0) {
		pthread_mutex_lock(&j->mu);
		j->fail = 1;
		pthread_mutex_unlock(&j->mu);
		return NULL;
	}
	for (;;) {
		int f1;
		pthread_mutex_lock(&j->mu);
		f1 = j->fail ? -1 : j->next < k->W.x->F ? j->next++ : -1;
		pthread_mutex_unlock(&j->mu);
		if (f1 < 0)
			break;
		if (sweep_f1(&k->W, j->d, k->method, j->S, j->ns, f1,
		    &j->res[f1]) < 0) {
			pthread_mutex_lock(&j->mu);
			j->fail = 1;
			pthread_mutex_unlock(&j->mu);
			break;
		}
		pthread_mutex_lock(&j->mu);
		j->done++;
		if (j->report && prog_fn != NULL)
			prog_fn(prog_arg, j->done, k->W.x->F);
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

/* solve() with the first features shared among `threads` threads (one:
 * this one); report: say each first feature done (the root's search). */
static int
solve_top(const ex *x, int threads, int d, const uint32_t *S, size_t ns,
    cand *c, i128 *vw, double *vd, int report, pt_err *e)
{
	worker *wk = NULL;
	pthread_t *th = NULL;
	job j;
	int t, f1, started = 0, rc = -1;

	if (d < 2) {
		ws W;
		memset(&W, 0, sizeof W);
		W.x = x;
		W.pt = &x->P;
		rc = solve(&W, d, S, ns, c, vw, vd);
		ws_free(&W);
		if (rc < 0)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		return 0;
	}
	if (threads > x->F)
		threads = x->F;
	memset(&j, 0, sizeof j);
	j.d = d;
	j.S = S;
	j.ns = ns;
	j.report = report;
	if (pthread_mutex_init(&j.mu, NULL) != 0)
		return pt_fail(e, PT_ENOMEM, "", "cannot make a mutex");
	wk = calloc((size_t)threads, sizeof *wk);
	th = calloc((size_t)threads, sizeof *th);
	j.res = calloc((size_t)x->F, sizeof *j.res);
	if (wk == NULL || th == NULL || j.res == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	for (t = 0; t < threads; t++) {
		wk[t].j = &j;
		wk[t].W.x = x;
		wk[t].W.pt = &x->P;
	}
	if (threads == 1) {
		work(&wk[0]);
		started = 1;
	} else {
		for (t = 0; t < threads; t++) {
			if (pthread_create(&th[t], NULL, work, &wk[t]) != 0)
				break;
			started++;
		}
		for (t = 0; t < started; t++)
			pthread_join(th[t], NULL);
	}
	if (started == 0) {
		pt_fail(e, PT_ENOMEM, "", "cannot start a thread");
		goto out;
	}
	if (j.fail) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	/* A thread that did not start leaves its features to the others;
	 * every feature was done once the queue is empty. */
	c->found = 0;
	for (f1 = 0; f1 < x->F; f1++)
		if (j.res[f1].found && better(x, c, j.res[f1].w, j.res[f1].d))
			*c = j.res[f1];
	if (c->found) {
		*vw = c->w;
		*vd = c->d;
	} else {
		*vw = S != NULL ? leaf_rows(x, S, ns) : 0;
		*vd = 0;
	}
	rc = 0;
out:
	if (wk != NULL)
		for (t = 0; t < threads; t++)
			ws_free(&wk[t].W);
	free(wk);
	free(th);
	free(j.res);
	pthread_mutex_destroy(&j.mu);
	return rc;
}

/* ---- the problem --------------------------------------------------------- */

static double
log2up(double v)
{
	double l = 0;

	while (v > 1) {
		v /= 2;
		l++;
	}
	return l;
}

static void
ex_free(ex *x)
{
	free(x->nb);
	free(x->off);
	free(x->G);
	free(x->omax);
	free(x->Y);
	free(x->Wt);
	hs_free(&x->P);
}

static int
ex_shape(ex *x, const pt_manifest *m, int A, int crit, uint64_t minsize,
    pt_err *e)
{
	int f;

	memset(x, 0, sizeof *x);
	x->m = m;
	x->F = m->nfeatures;
	x->A = A;
	x->crit = crit;
	x->control = m->control;
	x->minsize = minsize;
	if (A > 64)
		return pt_fail(e, PT_ELIMIT, "", "at most 64 actions");
	if (x->F < 1)
		return pt_fail(e, PT_EUSAGE, "", "no features");
	x->nb = calloc((size_t)x->F, sizeof *x->nb);
	x->off = calloc((size_t)x->F, sizeof *x->off);
	if (x->nb == NULL || x->off == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	x->maxL = 1;
	for (f = 0; f < x->F; f++) {
		x->nb[f] = m->features[f].nbounds + 2;
		x->off[f] = x->ncells;
		x->ncells += (size_t)x->nb[f];
		if (x->nb[f] > x->maxnb)
			x->maxnb = x->nb[f];
		while (x->maxL < x->nb[f] - 1)
			x->maxL *= 2;
	}
	return 0;
}

/* Whether a sum of n terms of magnitude below 2^(hi - lo + 1), in units
 * of 2^lo, fits a signed integer of width bits (with two to spare). */
static int
fits_width(int hi, int lo, size_t n, int width)
{
	int bits = 0;

	while (((size_t)1 << bits) <= n && bits < 63)
		bits++;
	return hi - lo + 1 + bits + 2 <= width - 2;
}

#define fits64(hi, lo, n) fits_width(hi, lo, n, 64)
#define fits128(hi, lo, n) fits_width(hi, lo, n, 128)

/* Score i of rows r (row i / A) as the sum of two exact doubles: with
 * sample weights the weight times the score (pt_two_prod: the rounded
 * product and its error), so the exact search of a row of weight w is that
 * of the row w times; else the score and 0.  0, or -1 when the product is
 * out of the range of exact sums. */
static int
ex_piece(const pt_rowset *r, size_t i, size_t A, double *p, double *q)
{
	if (r->wt != NULL)
		return pt_two_prod(r->wt[i / A], r->g[i], p, q);
	*p = r->g[i];
	*q = 0;
	return 0;
}

/* Outcome i of rows r as two exact doubles, as ex_piece does scores. */
static int
ex_ypiece(const pt_rowset *r, size_t i, double *p, double *q)
{
	if (r->wt != NULL)
		return pt_two_prod(r->wt[i], r->y[i], p, q);
	*p = r->y[i];
	*q = 0;
	return 0;
}

/* ddp with sample weights: the rows' weights as integers at their lowest
 * bit (x->Wt, x->wscale), which the counts of arms add instead of 1. */
static int
ex_weights(ex *x, const pt_rowset *r, pt_err *e)
{
	size_t i, n = r->n;
	int wlo = INT_MAX, whi = INT_MIN, lo, hi;

	x->wscale = 0;
	if (r->wt == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (r->wt[i] != 0) {
			pt_f64_bits(r->wt[i], &lo, &hi);
			wlo = lo < wlo ? lo : wlo;
			whi = hi > whi ? hi : whi;
		}
	if (wlo == INT_MAX)
		wlo = whi = 0;
	/* The counts stay 64-bit (the ddp search's speed): weights of few
	 * bits (whole, halves, quarters...) fit them; others are refused. */
	if (!fits64(whi, wlo, n))
		return pt_fail(e, PT_ELIMIT, "", "weights span 2^%d to 2^%d: too "
		    "wide for the exact ddp search's 64-bit weight sums (whole "
		    "or dyadic weights fit; the greedy search takes any)", wlo,
		    whi);
	if ((x->Wt = malloc((n + 1) * sizeof *x->Wt)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (i = 0; i < n; i++)
		x->Wt[i] = (int64_t)ldexp(r->wt[i], -wlo);
	x->wscale = wlo;
	return 0;
}

/* The rows' sums as 128-bit integers at their lowest bits. */
static int
ex_rows(ex *x, const pt_rowset *r, pt_err *e)
{
	size_t i, n = r->n, A = (size_t)x->A;
	int glo = INT_MAX, ghi = INT_MIN, ylo = INT_MAX, yhi = INT_MIN, lo, hi;

	x->r = r;
	if (n > UINT32_MAX)
		return pt_fail(e, PT_ELIMIT, "", "%zu rows (the exact search "
		    "takes at most 2^32 - 1)", n);
	if (x->crit == PT_CRIT_DDP) {
		if (!r->has_treatment)
			return pt_fail(e, PT_EUSAGE, "", "criterion ddp needs "
			    "treatment and outcome columns (not rewards)");
		/* Outcomes (with weights: weight times outcome, two exact
		 * pieces) as integers at their lowest bit; weights at
		 * theirs. */
		for (i = 0; i < n; i++) {
			double p, q;
			if (r->w[i] < 0)
				continue;
			if (ex_ypiece(r, i, &p, &q) < 0)
				return pt_fail(e, PT_ELIMIT, "", "row %zu: weight "
				    "%g times outcome %g is out of the range of "
				    "exact sums (overflows, or below 2^-968)",
				    i + 1, r->wt[i], r->y[i]);
			if (p != 0) {
				pt_f64_bits(p, &lo, &hi);
				ylo = lo < ylo ? lo : ylo;
				yhi = hi > yhi ? hi : yhi;
			}
			if (q != 0) {
				pt_f64_bits(q, &lo, &hi);
				ylo = lo < ylo ? lo : ylo;
			}
		}
		if (ylo == INT_MAX)
			ylo = yhi = 0;
		if (!fits128(yhi, ylo, n))
			return pt_fail(e, PT_ELIMIT, "", "%soutcomes span 2^%d to "
			    "2^%d: too wide for the exact search's 128-bit "
			    "sums", r->wt ? "weighted " : "", ylo, yhi);
		x->yscale = ylo;
		if ((x->Y = malloc(n * sizeof *x->Y)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		for (i = 0; i < n; i++) {
			double p, q;
			x->Y[i] = 0;
			if (r->w[i] >= 0) {
				ex_ypiece(r, i, &p, &q);
				x->Y[i] = (i128)ldexp(p, -ylo) +
				    (i128)ldexp(q, -ylo);
			}
		}
		return ex_weights(x, r, e);
	}
	for (i = 0; i < n * A; i++) {
		double p, q;
		if (ex_piece(r, i, A, &p, &q) < 0)
			return pt_fail(e, PT_ELIMIT, "", "row %zu: weight %g "
			    "times score %g is out of the range of exact sums "
			    "(overflows, or below 2^-968)", i / A + 1,
			    r->wt[i / A], r->g[i]);
		if (p != 0) {
			pt_f64_bits(p, &lo, &hi);
			glo = lo < glo ? lo : glo;
			ghi = hi > ghi ? hi : ghi;
		}
		if (q != 0) {
			pt_f64_bits(q, &lo, &hi);
			glo = lo < glo ? lo : glo;
		}
	}
	if (glo == INT_MAX)
		glo = ghi = 0;
	if (!fits128(ghi, glo, n))
		return pt_fail(e, PT_ELIMIT, "", "%sscores span 2^%d to 2^%d: "
		    "too wide for the exact search's 128-bit sums (the greedy "
		    "search takes them)", r->wt ? "weighted " : "", glo, ghi);
	x->G = malloc(n * A * sizeof *x->G);
	x->omax = malloc(n * sizeof *x->omax);
	if (x->G == NULL || x->omax == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (i = 0; i < n * A; i++) {
		double p, q;
		ex_piece(r, i, A, &p, &q);
		x->G[i] = (i128)ldexp(p, -glo) + (i128)ldexp(q, -glo);
	}
	for (i = 0; i < n; i++)
		x->omax[i] = best_arm(x->G + i * A, x->A);
	return 0;
}

/* ---- the tree ------------------------------------------------------------ */

/* Where a row with bin b of feature f goes at (f, k, ms): left 1. */
static int
goes_left(const ex *x, uint32_t b, int f, int k, int ms)
{
	if ((int)b == x->nb[f] - 1)
		return ms;
	return (int)b <= k;
}

static int
set_split(pt_ptree *t, const pt_manifest *m, int q, const cand *c, pt_err *e)
{
	uint32_t id = t->nodes[q].id;

	t->nodes[q].feature = c->f;
	t->nodes[q].threshold = m->features[c->f].bounds[c->k];
	t->nodes[q].missing_left = c->ms;
	t->nodes[q].open = 0;
	if (pt_ptree_add(t, 2 * id, e) < 0 || pt_ptree_add(t, 2 * id + 1, e) < 0)
		return -1;
	return 0;
}

/* Grows node id over rows S (their lists are scratch: split in place)
 * to depth d. */
static int
grow_rows(pt_ptree *t, const ex *x, int threads, uint32_t id, uint32_t *S,
    size_t ns, int d, const cand *given, pt_err *e)
{
	cand c;
	i128 vw;
	double vd;
	size_t i, nl = 0;
	uint32_t *tmp;
	int q;

	if (d == 0)
		return 0;
	if (given != NULL)
		c = *given;
	else if (solve_top(x, threads, d, S, ns, &c, &vw, &vd, id == 1, e) < 0)
		return -1;
	if (!c.found)
		return 0;
	q = pt_ptree_find(t, id);
	if (set_split(t, x->m, q, &c, e) < 0)
		return -1;
	/* Left rows first, in their order, then the right ones. */
	if ((tmp = malloc((ns ? ns : 1) * sizeof *tmp)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (i = 0; i < ns; i++)
		if (goes_left(x, x->r->bin[(size_t)S[i] * x->F + c.f], c.f, c.k,
		    c.ms))
			tmp[nl++] = S[i];
	{
		size_t j = nl;
		for (i = 0; i < ns; i++)
			if (!goes_left(x, x->r->bin[(size_t)S[i] * x->F + c.f],
			    c.f, c.k, c.ms))
				tmp[j++] = S[i];
	}
	memcpy(S, tmp, ns * sizeof *S);
	free(tmp);
	if (grow_rows(t, x, threads, 2 * id, S, nl, d - 1, NULL, e) < 0 ||
	    grow_rows(t, x, threads, 2 * id + 1, S + nl, ns - nl, d - 1, NULL,
	    e) < 0)
		return -1;
	return 0;
}

/* The boundary index of threshold v of feature f (v is a boundary). */
static int
bound_index(const pt_feature *pf, double v)
{
	int lo = 0, hi = pf->nbounds - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (pf->bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether bin b of split node p's feature goes left. */
static int
goes_left_t(const pt_manifest *m, const pt_pnode *p, uint32_t b)
{
	const pt_feature *pf = &m->features[p->feature];

	if ((int)b == pf->nbounds + 1)
		return p->missing_left;
	return (int)b <= bound_index(pf, p->threshold);
}

/* The lower of low and the lowest bit of the exact product a*b's two
 * pieces (pt_two_prod; a product out of range adds none, refused later
 * by pt_wide_from_f64 or before, by ex_rows). */
static int
low2(double a, double b, int low)
{
	double p, q;

	if (pt_two_prod(a, b, &p, &q) < 0)
		return low;
	if (p != 0 && pt_f64_lowbit(p) < low)
		low = pt_f64_lowbit(p);
	if (q != 0 && pt_f64_lowbit(q) < low)
		low = pt_f64_lowbit(q);
	return low;
}

/* pt_wide of the exact product a*b in units of 2^scale: 0, or -1. */
static int
wide_prod(pt_wide *d, double a, double b, int scale)
{
	double p, q;
	pt_wide t;

	if (pt_two_prod(a, b, &p, &q) < 0 ||
	    pt_wide_from_f64(d, p, scale) < 0 ||
	    pt_wide_from_f64(&t, q, scale) < 0)
		return -1;
	pt_wide_add(d, &t);
	return 0;
}

/* Row i of weighted rows r into side s. */
static int
stats_row_w(pt_side *s, const pt_rowset *r, size_t i, int scale, int wscale)
{
	int a, A = r->narms;
	pt_wide g, w;

	s->weighted = 1;
	s->wscale = wscale;
	if (pt_wide_from_f64(&w, r->wt[i], wscale) < 0)
		return -1;
	pt_wide_add(&s->wn, &w);
	for (a = 0; a < A; a++) {
		if (wide_prod(&g, r->wt[i], r->g[i * A + a], scale) < 0)
			return -1;
		pt_wide_add(&s->g[a], &g);
	}
	if (r->w[i] >= 0) {
		if (wide_prod(&g, r->wt[i], r->y[i], scale) < 0)
			return -1;
		s->cnt[r->w[i]]++;
		pt_wide_add(&s->y[r->w[i]], &g);
		pt_wide_add(&s->wa[r->w[i]], &w);
	}
	return 0;
}

/* Node statistics: every row routed through t, exact sums per node. */
static int
stats_rows(pt_ptree *t, const pt_rowset *r, const pt_manifest *m, pt_err *e)
{
	pt_side *sd;
	pt_wide g, y;
	size_t i;
	int k, a, A = r->narms, F = r->nfeatures, scale = INT_MAX;
	int wscale = INT_MAX;

	if (r->wt != NULL) {
		/* Weighted: the products' pieces and the weights. */
		for (i = 0; i < r->n * (size_t)A; i++)
			scale = low2(r->wt[i / A], r->g[i], scale);
		for (i = 0; i < r->n; i++) {
			if (r->w[i] >= 0)
				scale = low2(r->wt[i], r->y[i], scale);
			if (r->wt[i] != 0 && pt_f64_lowbit(r->wt[i]) < wscale)
				wscale = pt_f64_lowbit(r->wt[i]);
		}
		if (wscale == INT_MAX)
			wscale = 0;
	}
	for (i = 0; r->wt == NULL && i < r->n * (size_t)A; i++)
		if (r->g[i] != 0 && pt_f64_lowbit(r->g[i]) < scale)
			scale = pt_f64_lowbit(r->g[i]);
	for (i = 0; r->wt == NULL && i < r->n; i++)
		if (r->w[i] >= 0 && r->y[i] != 0 && pt_f64_lowbit(r->y[i]) < scale)
			scale = pt_f64_lowbit(r->y[i]);
	if (scale == INT_MAX)
		scale = 0;
	if ((sd = malloc((size_t)t->nnodes * sizeof *sd)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (k = 0; k < t->nnodes; k++)
		pt_side_zero(&sd[k], A);
	for (i = 0; i < r->n; i++) {
		int q = 0;
		for (;;) {
			pt_side *s = &sd[q];
			const pt_pnode *p = &t->nodes[q];
			uint32_t b;
			s->n++;
			if (r->wt != NULL) {
				if (stats_row_w(s, r, i, scale, wscale) < 0)
					goto wide;
			} else {
				for (a = 0; a < A; a++) {
					if (pt_wide_from_f64(&g, r->g[i * A + a],
					    scale) < 0)
						goto wide;
					pt_wide_add(&s->g[a], &g);
				}
				if (r->w[i] >= 0) {
					if (pt_wide_from_f64(&y, r->y[i], scale) < 0)
						goto wide;
					s->cnt[r->w[i]]++;
					pt_wide_add(&s->y[r->w[i]], &y);
				}
			}
			if (p->feature < 0)
				break;
			b = r->bin[i * F + p->feature];
			q = pt_ptree_find(t, 2 * p->id + (goes_left_t(m, p, b) ?
			    0 : 1));
			if (q < 0)
				break;
		}
	}
	for (k = 0; k < t->nnodes; k++)
		pt_side_stats(&t->nodes[k], &sd[k], A, scale);
	free(sd);
	return 0;
wide:
	free(sd);
	return pt_fail(e, PT_ELIMIT, "", "scores span too wide a range for "
	    "exact sums");
}

/* ---- a pair partial ------------------------------------------------------ */

/* ddp on a pair partial: the arms' counts per cell, or with sample
 * weights their weights (the weights' partial's per-arm sums) as integers
 * at the lowest bit any has (x->wscale). */
static int
pairs_counts(ex *x, const pt_hist *h, pt_err *e)
{
	size_t nc = x->ncells, A = (size_t)x->A, i, j, ncc = nc * nc;
	size_t WA = A + 1;
	int lo = INT_MAX;
	double mag = 0;

	x->wscale = 0;
	if (h->wh == NULL) {
		for (i = 0; i < ncc * A; i++)
			x->P.c[i] = (int64_t)h->cnt[i];
		return 0;
	}
	for (i = 0; i < ncc; i++)
		for (j = 0; j < A; j++) {
			const pt_wide *v = &h->wh->gsum[i * WA + j];
			if (pt_wide_sign(v) != 0) {
				int z = pt_wide_ctz(v);
				lo = z < lo ? z : lo;
				mag += ldexp(1, pt_wide_bits(v));
			}
		}
	if (lo == INT_MAX)
		lo = 0;
	if (mag > 0 && log2(mag) - lo + 2 > 62)
		return pt_fail(e, PT_ELIMIT, "", "the partial's weights are too "
		    "wide for the exact ddp search's 64-bit weight sums (whole "
		    "or dyadic weights fit; the greedy search takes any)");
	for (i = 0; i < ncc; i++)
		for (j = 0; j < A; j++) {
			pt_wide v = h->wh->gsum[i * WA + j];
			pt_wide_sar(&v, lo);
			x->P.c[i * A + j] = (int64_t)v.w[0];
		}
	x->wscale = h->wh->scale + lo;
	return 0;
}

/* The pair partial's sums as 128-bit integers: each family (scores, or
 * outcomes) at the lowest bit any of its sums has. */
static int
ex_pairs(ex *x, const pt_hist *h, pt_err *e)
{
	size_t nc = x->ncells, A = (size_t)x->A, ncc, i, nA;
	const pt_wide *src = x->crit == PT_CRIT_DDP ? h->ysum : h->gsum;
	int lo = INT_MAX, hi = 0;
	double mag = 0;
	i128 *dst;

	if (!h->pairs || h->nfeatures != x->F || h->narms != x->A ||
	    h->ncells != nc || (size_t)h->nnodes != nc)
		return pt_fail(e, PT_EUSAGE, "", "not a pair partial of this "
		    "manifest (make it with hist --pairs)");
	if (x->crit == PT_CRIT_DDP && !h->has_treatment)
		return pt_fail(e, PT_EUSAGE, "", "criterion ddp needs treatment "
		    "and outcome columns (not rewards)");
	if (pt_hist_folded(h, e) < 0)
		return -1;
	x->ph = h;
	ncc = nc * nc;
	nA = ncc * A;
	for (i = 0; i < nA; i++)
		if (pt_wide_sign(&src[i]) != 0) {
			int z = pt_wide_ctz(&src[i]), b = pt_wide_bits(&src[i]);
			lo = z < lo ? z : lo;
			hi = b > hi ? b : hi;
			mag += ldexp(1, b);
		}
	if (lo == INT_MAX)
		lo = 0;
	if (mag > 0 && log2(mag) - lo + 2 > 125)
		return pt_fail(e, PT_ELIMIT, "", "the partial's sums are too "
		    "wide for the exact search's 128-bit sums");
	x->P.n = malloc(ncc * sizeof *x->P.n);
	dst = malloc(nA * sizeof *dst);
	if (x->crit == PT_CRIT_DDP) {
		x->P.y = dst;
		x->P.c = malloc(nA * sizeof *x->P.c);
		x->yscale = h->scale + lo;
	} else
		x->P.g = dst;
	if (x->P.n == NULL || dst == NULL || (x->crit == PT_CRIT_DDP &&
	    x->P.c == NULL))
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	memcpy(x->P.n, h->n, ncc * sizeof *x->P.n);
	if (x->P.c != NULL && pairs_counts(x, h, e) < 0)
		return -1;
	for (i = 0; i < nA; i++) {
		pt_wide v = src[i];
		pt_wide_sar(&v, lo);
		dst[i] = (i128)(((unsigned __int128)v.w[1] << 64) | v.w[0]);
	}
	return 0;
}

/* Whether bin b of feature f is on side s (0 left) of split c. */
static int
on_side(const ex *x, const cand *c, int b, int s)
{
	return goes_left(x, (uint32_t)b, c->f, c->k, c->ms) == !s;
}

/* The exact sums of the rows under splits c[0..nc) (sides sd[]) of the
 * pair partial: slot (fa, b1), cell (fb, b2). */
static void
pairs_side(const ex *x, const cand *c, const int *sd, int ncond, pt_side *out)
{
	const pt_hist *h = x->ph;
	int fa = ncond > 0 ? c[0].f : 0, fb = ncond > 1 ? c[1].f : fa;
	int b1, b2, j, a, A = x->A;
	size_t nc = x->ncells;

	pt_side_zero(out, A);
	for (b1 = 0; b1 < x->nb[fa]; b1++) {
		int in = 1;
		for (j = 0; j < ncond; j++)
			if (c[j].f == fa && !on_side(x, &c[j], b1, sd[j]))
				in = 0;
		if (!in)
			continue;
		for (b2 = 0; b2 < x->nb[fb]; b2++) {
			size_t cell, q;
			int in2 = fb != fa || b2 == b1;
			for (j = 0; j < ncond && in2; j++)
				if (c[j].f == fb && !on_side(x, &c[j], b2, sd[j]))
					in2 = 0;
			if (!in2)
				continue;
			cell = (x->off[fa] + (size_t)b1) * nc + x->off[fb] +
			    (size_t)b2;
			out->n += h->n[cell];
			for (a = 0; a < A; a++) {
				q = cell * A + (size_t)a;
				out->cnt[a] += h->cnt[q];
				pt_wide_add(&out->y[a], &h->ysum[q]);
				pt_wide_add(&out->g[a], &h->gsum[q]);
			}
			pt_side_add_weights(out, h, cell);
		}
	}
}

/* ---- entry points -------------------------------------------------------- */

void
pt_exact_estimate(const pt_manifest *m, size_t nrows, int narms, int depth,
    int criterion, pt_exact_plan *plan)
{
	double n = nrows ? (double)nrows : 1, F = m->nfeatures, A = narms;
	double cells = 0, Wd, hmem, smem, L = 1, maxK = 0;
	double w1, w2h = 0, w2s = 0, ptab;
	int f, d, pairs = 0;

	for (f = 0; f < m->nfeatures; f++) {
		double nb = m->features[f].nbounds + 2.0;
		cells += nb;
		while (L < nb - 1)
			L *= 2;
		if (nb - 2 > maxK)
			maxK = nb - 2;
	}
	w1 = n * F * A + 2 * cells * A;
	for (f = 0; f < m->nfeatures; f++) {
		double K = m->features[f].nbounds;
		if (K > n)
			K = n;
		w2h += n * F * A + K * 2 * 3 * cells * A * 2;
		w2s += 4 * n * F * (log2up(m->features[f].nbounds + 2.0) + 1) *
		    A * A;
	}
	plan->method = criterion == PT_CRIT_DDP || w2h <= w2s ? M_HIST : M_SEG;
	Wd = depth == 1 ? w1 : plan->method == M_HIST ? w2h : w2s;
	ptab = cells * cells * (8 + (criterion == PT_CRIT_DDP ? 24 : 16) * A);
	for (d = 3; d <= depth; d++) {
		double c = 0, wp = 0;
		for (f = 0; f < m->nfeatures; f++) {
			double K = m->features[f].nbounds < n ?
			    m->features[f].nbounds : n;
			c += 2 * K;
			wp += n * F * F * (1 + A) + 2 * K * (2 * cells * cells *
			    A + 12 * F * maxK * cells * A);
		}
		Wd = n * F + c * Wd;
		/* Depth 3 on pair tables, when five fit (method3). */
		if (d == 3 && 5 * ptab <= PAIRS_BUDGET && wp < Wd) {
			Wd = wp;
			pairs = 1;
		}
	}
	plan->work = Wd;
	hmem = 5 * cells * (8 + (criterion == PT_CRIT_DDP ? 24 : 16) * A);
	smem = 2 * L * (A * A) * 16 + 4 * maxK * 17;
	plan->memory = (plan->method == M_SEG && depth >= 2 ? smem : 0) + hmem +
	    (pairs ? 5 * ptab : 0) + depth * (2 * n * 4 + (maxK + 3) * 8) +
	    n * (criterion == PT_CRIT_DDP ? 16 : 16 * (A + 1));
}

/* Checks t for the exact search. */
static int
tree_check(const pt_ptree *t, int maxdepth, pt_err *e)
{
	if (t->depth < 1 || t->depth > maxdepth)
		return pt_fail(e, PT_EUSAGE, "", "the exact search takes depth "
		    "1 to %d here", maxdepth);
	if (t->criterion != PT_CRIT_WELFARE && t->criterion != PT_CRIT_DDP)
		return pt_fail(e, PT_EUSAGE, "", "unknown criterion");
	return 0;
}

int
pt_search_exact(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    int threads, pt_err *e)
{
	ex x;
	uint32_t *S = NULL;
	size_t i;
	int rc = -1;

	if (tree_check(t, PT_PTREE_MAXDEPTH, e) < 0)
		return -1;
	if (r->n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows");
	if (ex_shape(&x, m, r->narms, t->criterion, t->min_node_size, e) < 0 ||
	    ex_rows(&x, r, e) < 0)
		goto out;
	if ((S = malloc(r->n * sizeof *S)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	for (i = 0; i < r->n; i++)
		S[i] = (uint32_t)i;
	if (grow_rows(t, &x, threads < 1 ? 1 : threads, 1, S, r->n, t->depth,
	    NULL, e) < 0 || stats_rows(t, r, m, e) < 0)
		goto out;
	t->level = t->depth;
	pt_search_complete(t);
	t->exact = 1;
	rc = 0;
out:
	free(S);
	ex_free(&x);
	return rc;
}

int
pt_search_exact2(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    pt_err *e)
{
	if (t->criterion != PT_CRIT_WELFARE)
		return pt_fail(e, PT_EUSAGE, "", "the exact search uses the "
		    "welfare criterion");
	return pt_search_exact(t, r, m, 1, e);
}

int
pt_search_exact_pairs(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    int threads, pt_err *e)
{
	ex x;
	ws W;
	cand top, ch[2];
	i128 vw;
	double vd;
	int s, k, rc = -1;

	memset(&W, 0, sizeof W);
	if (t->depth > 2)
		return pt_fail(e, PT_EUSAGE, "", "the exact search over pair "
		    "partials takes depth 1 to 2 (depth %d would need cells per "
		    "feature triple and bin triple; see policy-split(1), EXACT "
		    "SEARCH)", t->depth);
	if (tree_check(t, 2, e) < 0)
		return -1;
	if (ex_shape(&x, m, h->narms, t->criterion, t->min_node_size, e) < 0 ||
	    ex_pairs(&x, h, e) < 0)
		goto out;
	W.x = &x;
	W.pt = &x.P;
	if (solve_top(&x, threads < 1 ? 1 : threads, t->depth, NULL, 0, &top,
	    &vw, &vd, 1, e) < 0)
		goto out;
	ch[0].found = ch[1].found = 0;
	if (top.found) {
		if (set_split(t, m, 0, &top, e) < 0)
			goto out;
		/* Each child's best single split, on its own histogram. */
		for (s = 0; t->depth == 2 && s < 2; s++) {
			tot T;
			int b;
			if (ws_hist1(&W) < 0) {
				pt_fail(e, PT_ENOMEM, "", "out of memory");
				goto out;
			}
			hs_zero(&W.H, &x);
			for (b = 0; b < x.nb[top.f]; b++)
				if (on_side(&x, &top, b, s))
					hs_slot(&W.H, &x, &x.P, x.off[top.f] +
					    (size_t)b);
			hs_tot(&W.H, &x, &T);
			depth1(&x, &W.H, &T, &ch[s]);
			if (ch[s].found && set_split(t, m, pt_ptree_find(t,
			    2 + (uint32_t)s), &ch[s], e) < 0)
				goto out;
		}
	}
	/* Node statistics from the cells under each node's conditions. */
	for (k = 0; k < t->nnodes; k++) {
		uint32_t id = t->nodes[k].id;
		cand cs[2];
		int sd[2], nc = 0;
		pt_side side;
		if (id >= 2) {
			cs[nc] = top;
			sd[nc++] = id >= 4 ? (int)((id >> 1) & 1) : (int)(id & 1);
		}
		if (id >= 4) {
			cs[nc] = ch[(id >> 1) & 1];
			sd[nc++] = (int)(id & 1);
		}
		pairs_side(&x, cs, sd, nc, &side);
		pt_side_stats(&t->nodes[k], &side, x.A, h->scale);
	}
	t->level = t->depth;
	pt_search_complete(t);
	t->exact = 1;
	rc = 0;
out:
	ws_free(&W);
	ex_free(&x);
	return rc;
}

/*
 * t-exact.c: the exact search at any depth (pt_search_exact) against an
 * exhaustive oracle written here from the definition in search.h.
 *
 * The oracle is plain recursion over row index lists: at every node every
 * (feature, boundary index k, missing side) is tried, the rows are routed
 * by their raw feature values (not the library's bins), each valid split's
 * children are solved the same way one depth less, and the split with the
 * highest subtree value wins, ties to the first in (feature, k, missing
 * side) order (strict >).  Sums are exact (pt_wide at one scale, so
 * comparisons of welfare are exact); the ddp criterion is recomputed from
 * the exact sums with the same floating operations as search.c's
 * ddp_score, and a subtree's ddp value is ddp(split) + value(left) +
 * value(right) in that order, so its doubles are the library's bit for
 * bit.  The oracle's tree is then pruned of same-action sibling leaves as
 * the library prunes.  No incremental sums, no bounds, no bins.
 *
 * Problems (prob_make): 300 random ones (N 10..200, F 1..4, A 2..4, 1..6
 * boundaries per feature, missing values, integer, duplicated, planted
 * and wide scores, copied and mirrored features, min-node-size up to
 * N/3), 60 of a feature and its mirror with real outcomes (where ddp
 * picks a split over its mirror by the order of its sum alone), and 60
 * with many boundaries (7..40) and few rows (the other depth-2 sweep).
 * For depths 1, 2, 3 (4 where the oracle is cheap enough) and both
 * criteria:
 *   (a) pt_search_exact gives the same bytes with 1 and with 2 (or 4)
 *       threads;
 *   (b) its tree is the oracle's, node by node: split or leaf, feature,
 *       threshold, missing side, action, and the node's statistics (rows,
 *       per arm count, outcome mean, mean score);
 *   (c) its value, from the rows routed through it, is the oracle's
 *       optimum (welfare exactly; ddp when pruning did not change the
 *       oracle's tree);
 *   (d) at depth 1 it is the greedy tree (hist + grow), byte for byte but
 *       for the search label; at depth 2 welfare, pt_search_exact2's;
 *   (e) at depths 1 and 2, pt_search_exact_pairs on the rows' pair
 *       partial gives the same bytes (once pair partials can be made).
 * Welfare on scores spanning more than 2^128 may be refused as too wide
 * (PT_ELIMIT); nothing else may be.
 * The oracle itself is checked against greedy depth 1 (both criteria),
 * pt_search_exact2 (depth 2 welfare) and greedy welfare at any depth (no
 * better than the optimum), so that it does not rest on the code it
 * tests.  (pt_search_exact2 is now pt_search_exact at depth 2; the oracle
 * matched the separate depth-2 search it replaced, wide scores included,
 * on every problem here before lib/exact.c landed.)  Counters of what the oracle met at its chosen nodes (real ties,
 * min-node-size and arm cuts, ddp choices made by the sum's order,
 * perfect trees, pruning) are checked to be non-zero, so the problems
 * cannot silently miss what they are meant to exercise.
 *
 * PT_EXACT_SEED=n runs only problem n and prints its trees.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "search.h"
#include "tree.h"
#include "wide.h"
#include "xsum.h"
#include "../tap.h"

#define TEST_RNG_SEED 4242
#include "testrng.h"
#include "testgrow.h"

#define MAXF 4
#define MAXA 4
#define MAXD 4      /* depth 4 only on problems small enough */
#define MAXID 32    /* heap ids of a tree of depth MAXD */
/* Depth 4 when (2 * boundaries)^4 * N is at most this (oracle work). */
#define D4_WORK 2e6
#define D3_WORK 3e7
/* Problems from these seeds on are of the mirrored and the many-bins
 * families (prob_make). */
#define SYM_BASE 1000000
#define BINS_BASE 2000000

/* ---- problems --------------------------------------------------------- */

typedef struct prob {
	uint64_t seed;
	int N, F, A, kind, dup, control, fmode;
	int B[MAXF];
	double pmiss[MAXF];
	uint64_t minsize;
	pt_manifest *m;
	pt_schema *s;
	pt_batch *b;
	double *x;      /* N*F */
	double *g;      /* N*A */
	int *w;
	double *y;
	int scale;      /* the oracle's exact sums: units of 2^scale */
	pt_wide *G;     /* N*A */
	pt_wide *Y;     /* N */
} prob;

static void
prob_free(prob *p)
{
	pt_manifest_free(p->m);
	pt_batch_free(p->b);
	pt_schema_free(p->s);
	free(p->x);
	free(p->g);
	free(p->w);
	free(p->y);
	free(p->G);
	free(p->Y);
}

/*
 * Problem number `seed`, all of it drawn from that seed:
 *   N 10..200, F 1..4, A 2..4, 1..6 boundaries (1, 2, ...) per feature,
 *   feature values on a half grid from 0 to B+1 (values on the
 *   boundaries, empty bins), missing shares 0, 0.1, 0.3 or (rarely) 1 per
 *   feature, a random control arm, min-node-size 1..N/3;
 *   kind 0: integer scores -2..2 and outcomes 0..2 (many ties);
 *   kind 1: real scores and outcomes of mixed magnitudes;
 *   kind 2: scores spanning more than 2^128;
 *   kind 3: scores 0/1 with the last arm a copy of the first;
 *   kind 4: score 1 for the arm a random depth-3 tree of the features
 *   assigns, 0 for the others (but on a tenth of the rows in half the
 *   problems), so that perfect trees exist and many trees tie;
 * and in any kind: rows copied from earlier rows (dup), and with two
 * features or more, the last one a copy of the first, or its mirror
 * (B+1 - x on an integer grid), so that a split with its sides swapped
 * exists: its ddp value is then the same sum in another order.
 */
static int
prob_make(prob *p, uint64_t seed)
{
	int fam = seed >= BINS_BASE ? 2 : seed >= SYM_BASE;
	int f, a, i, N, F, A, pl_f[8], pl_k[8], pl_ml[8], pl_a[8], pl_act = 0;
	double pl_noise;
	char name[32];

	memset(p, 0, sizeof *p);
	rs = UINT64_C(0x5eed) ^ seed * UINT64_C(0x9e3779b97f4a7c15);
	p->seed = seed;
	p->N = N = 10 + (int)(rn() % 191);
	p->F = F = 1 + (int)(rn() % MAXF);
	p->A = A = 2 + (int)(rn() % (MAXA - 1));
	p->kind = (int)(rn() % 5);
	p->dup = p->kind == 3 || rn() % 4 == 0;
	p->fmode = F >= 2 ? (int)(rn() % 4) : 0; /* 1 mirror, 2 copy */
	if (fam == 1) {
		/* A feature and its mirror, real outcomes: the ddp values of
		 * the two ways of each cut are sums in other orders. */
		p->F = F = 2;
		p->fmode = 1;
		p->kind = 1;
		p->minsize = 1 + rn() % 4;
	}
	if (fam == 2) {
		/* Many boundaries, fewer rows: the other depth-2 sweep. */
		p->N = N = 10 + (int)(rn() % 70);
		p->F = F = 1 + (int)(rn() % 3);
		p->fmode = 0;
		p->minsize = 1 + rn() % (uint64_t)(N / 3);
	}
	p->control = rn() % 2 ? 0 : (int)(rn() % (uint64_t)A);
	p->minsize = 1 + rn() % (uint64_t)(N / 3 > 1 ? N / 3 : 1);
	for (f = 0; f < F; f++) {
		static const double pm[8] = { 0, 0, 0, 0.1, 0.1, 0.3, 0.3, 1 };
		p->B[f] = fam == 2 ? 7 + (int)(rn() % 34) : 1 + (int)(rn() % 6);
		p->pmiss[f] = pm[rn() % 8];
		if (p->pmiss[f] == 1 && rn() % 3)
			p->pmiss[f] = 0;
	}
	if (p->fmode == 1 || p->fmode == 2) {
		p->B[F - 1] = p->B[0];
		p->pmiss[F - 1] = p->pmiss[0];
	}

	p->m = pt_manifest_new();
	p->m->nfeatures = F;
	p->m->features = calloc((size_t)F, sizeof *p->m->features);
	for (f = 0; f < F; f++) {
		pt_feature *pf = &p->m->features[f];
		snprintf(name, sizeof name, "x%d", f + 1);
		pf->name = pt_strdup(name);
		pf->level = -1;
		pf->nbounds = p->B[f];
		pf->bounds = calloc((size_t)p->B[f], sizeof *pf->bounds);
		pf->counts = calloc((size_t)p->B[f] + 2, sizeof *pf->counts);
		for (i = 0; i < p->B[f]; i++)
			pf->bounds[i] = i + 1;
	}
	p->m->nvocab = A;
	p->m->vocab = calloc((size_t)A, sizeof *p->m->vocab);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "a%d", a);
		p->m->vocab[a] = pt_strdup(name);
	}
	p->m->control = p->control;
	memcpy(p->m->digest, "0123456789abcdef0123456789abcdef", 33);
	p->s = pt_schema_new(p->m->digest);
	pt_schema_add(p->s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	for (f = 0; f < F; f++)
		pt_schema_add(p->s, p->m->features[f].name, PT_F64,
		    PT_ROLE_FEATURE, 0, NULL, NULL);
	pt_schema_add(p->s, "arm", PT_I32, PT_ROLE_TREATMENT, A, p->m->vocab,
	    NULL);
	pt_schema_add(p->s, "y", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "score:a%d", a);
		pt_schema_add(p->s, name, PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
	}
	p->b = pt_batch_new(p->s, (size_t)N);
	p->b->nrows = (size_t)N;
	/* kind 4: the planted tree (ids 1..7 split, 8..15 leaves). */
	for (i = 1; i < 8; i++) {
		pl_f[i] = (int)(rn() % (uint64_t)F);
		pl_k[i] = (int)(rn() % (uint64_t)p->B[pl_f[i]]);
		pl_ml[i] = (int)(rn() % 2);
	}
	for (i = 0; i < 8; i++)
		pl_a[i] = (int)(rn() % (uint64_t)A);
	pl_noise = rn() % 2 ? 0.0 : 0.1;
	p->x = calloc((size_t)N * F, sizeof *p->x);
	p->g = calloc((size_t)N * A, sizeof *p->g);
	p->w = calloc((size_t)N, sizeof *p->w);
	p->y = calloc((size_t)N, sizeof *p->y);
	for (i = 0; i < N; i++) {
		int src = p->dup && i > 0 && rn() % 2 ? (int)(rn() % (uint64_t)i) :
		    -1;
		for (f = 0; f < F; f++)
			p->x[i * F + f] = src >= 0 ? p->x[src * F + f] :
			    unif() < p->pmiss[f] ? NAN : p->fmode == 1 && f == 0 ?
			    (double)(rn() % ((uint64_t)p->B[f] + 2)) :
			    (double)(rn() % (2 * (uint64_t)p->B[f] + 3)) * 0.5;
		if (p->fmode == 1)
			p->x[i * F + F - 1] = p->B[0] + 1 - p->x[i * F];
		if (p->fmode == 2)
			p->x[i * F + F - 1] = p->x[i * F];
		p->w[i] = src >= 0 ? p->w[src] : (int)(rn() % (uint64_t)A);
		/* (One draw per statement: the order of a call's arguments or
		 * an operator's operands is the compiler's, and the problems
		 * must be the same under every compiler.) */
		if (src >= 0) {
			p->y[i] = p->y[src];
		} else if (p->kind == 1 || p->kind == 2) {
			double u = unif();
			p->y[i] = ldexp(u, (int)(rn() % 20) - 10);
		} else {
			p->y[i] = (double)(rn() % 3);
		}
		if (p->kind == 4) {
			uint32_t id = 1;
			while (id < 8) {
				double v = p->x[i * F + pl_f[id]];
				id = 2 * id + !(isnan(v) ? pl_ml[id] : v <=
				    p->m->features[pl_f[id]].bounds[pl_k[id]]);
			}
			pl_act = pl_a[id - 8];
		}
		for (a = 0; a < A; a++) {
			double v, u;
			if (src >= 0)
				v = p->g[src * A + a];
			else if (p->kind == 4)
				v = unif() < pl_noise ? (double)(rn() % 2) :
				    a == pl_act;
			else if (p->kind == 0)
				v = (double)((int)(rn() % 5) - 2);
			else if (p->kind == 1) {
				u = unif() - 0.4;
				v = u * ldexp(1.0, (int)(rn() % 30) - 15);
			} else if (p->kind == 2) {
				u = unif() - 0.4;
				v = u * ldexp(1.0, rn() % 2 ? 60 : -80);
			} else
				v = a == A - 1 ? p->g[i * A] : (double)(rn() % 2);
			p->g[i * A + a] = v;
		}
	}
	for (i = 0; i < N; i++) {
		PT_COL_U64(p->b, 0)[i] = rn();
		for (f = 0; f < F; f++)
			PT_COL_F64(p->b, 1 + f)[i] = p->x[i * F + f];
		PT_COL_I32(p->b, 1 + F)[i] = p->w[i];
		PT_COL_F64(p->b, 2 + F)[i] = p->y[i];
		for (a = 0; a < A; a++)
			PT_COL_F64(p->b, 3 + F + a)[i] = p->g[i * A + a];
	}

	/* The oracle's exact values: every score and outcome as an integer
	 * count of 2^scale, scale the lowest set bit of any of them. */
	p->scale = 0;
	{
		int lo = INT32_MAX;
		for (i = 0; i < N * A; i++)
			if (p->g[i] != 0 && pt_f64_lowbit(p->g[i]) < lo)
				lo = pt_f64_lowbit(p->g[i]);
		for (i = 0; i < N; i++)
			if (p->y[i] != 0 && pt_f64_lowbit(p->y[i]) < lo)
				lo = pt_f64_lowbit(p->y[i]);
		if (lo != INT32_MAX)
			p->scale = lo;
	}
	p->G = calloc((size_t)N * A, sizeof *p->G);
	p->Y = calloc((size_t)N, sizeof *p->Y);
	for (i = 0; i < N * A; i++)
		if (pt_wide_from_f64(&p->G[i], p->g[i], p->scale) < 0)
			return -1;
	for (i = 0; i < N; i++)
		if (pt_wide_from_f64(&p->Y[i], p->y[i], p->scale) < 0)
			return -1;
	return 0;
}

/* ---- the oracle ---------------------------------------------------------- */

/* Sums of a list of rows, exact. */
typedef struct osum {
	uint64_t n, cnt[MAXA];
	pt_wide g[MAXA], y[MAXA];
} osum;

/* The sums of rows: what & OS_G the scores, what & OS_Y the treated
 * counts and outcomes (the others stay 0). */
enum { OS_G = 1, OS_Y = 2, OS_ALL = 3 };

static void
osum_rows(const prob *p, const int *rows, int n, osum *s, int what)
{
	int i, a;

	memset(s, 0, sizeof *s);
	s->n = (uint64_t)n;
	for (i = 0; i < n; i++) {
		int r = rows[i];
		if (what & OS_G)
			for (a = 0; a < p->A; a++)
				pt_wide_add(&s->g[a], &p->G[r * p->A + a]);
		if (what & OS_Y) {
			s->cnt[p->w[r]]++;
			pt_wide_add(&s->y[p->w[r]], &p->Y[r]);
		}
	}
}

/* The arm of the highest total score, lowest on ties; *tie set when
 * another arm has the same total. */
static int
osum_best(const osum *s, int A, int *tie)
{
	int a, best = 0;

	for (a = 1; a < A; a++)
		if (pt_wide_cmp(&s->g[a], &s->g[best]) > 0)
			best = a;
	if (tie != NULL)
		for (*tie = 0, a = 0; a < A; a++)
			*tie |= a != best && pt_wide_cmp(&s->g[a], &s->g[best]) == 0;
	return best;
}

/* The ddp criterion of a split into sides L and R: the largest difference
 * of an arm's uplift over the control (outcome mean minus the control's)
 * between the sides, either way round; NAN when an arm has no row on a
 * side.  The same floating operations as search.c's ddp_score. */
static double
oracle_ddp(const osum *L, const osum *R, int A, int control, int scale)
{
	double rl, rr, maxR = -INFINITY, minL = INFINITY, maxL = -INFINITY,
	    minR = INFINITY;
	int a;

	for (a = 0; a < A; a++)
		if (L->cnt[a] == 0 || R->cnt[a] == 0)
			return NAN;
	rl = pt_wide_round(&L->y[control], scale) / (double)L->cnt[control];
	rr = pt_wide_round(&R->y[control], scale) / (double)R->cnt[control];
	for (a = 0; a < A; a++) {
		double ul, ur;
		if (a == control)
			continue;
		ul = pt_wide_round(&L->y[a], scale) / (double)L->cnt[a] - rl;
		ur = pt_wide_round(&R->y[a], scale) / (double)R->cnt[a] - rr;
		maxR = ur > maxR ? ur : maxR;
		minR = ur < minR ? ur : minR;
		maxL = ul > maxL ? ul : maxL;
		minL = ul < minL ? ul : minL;
	}
	return maxR - minL > maxL - minR ? maxR - minL : maxL - minR;
}

/* Row r goes left at (feature f, threshold thr, missing side ml), by its
 * raw value. */
static int
goes_left(const prob *p, int r, int f, double thr, int ml)
{
	double v = p->x[r * p->F + f];

	return isnan(v) ? ml : v <= thr;
}

static int
partition(const prob *p, const int *rows, int n, int f, double thr, int ml,
    int *L, int *R, int *nr)
{
	int i, nl = 0;

	*nr = 0;
	for (i = 0; i < n; i++) {
		if (goes_left(p, rows[i], f, thr, ml))
			L[nl++] = rows[i];
		else
			R[(*nr)++] = rows[i];
	}
	return nl;
}

/* What the oracle saw at the nodes of its chosen tree. */
typedef struct ostat {
	int ties;      /* best split tied by a split of other sides */
	int atie;      /* a leaf's best arm tied */
	int oties;     /* ddp: the best split beats an earlier one only by
	                * the order of its sum (d + (vl + vr) would tie) */
	int mcut;      /* a split with rows on both sides under min-node-size */
	int mleaf;     /* a node left a leaf by min-node-size alone */
	int acut;      /* ddp: a split without every arm on both sides */
	int splits;
} ostat;

typedef struct orc {
	const prob *p;
	int crit;
	uint64_t minsize;
} orc;

typedef struct oval {
	pt_wide w;     /* welfare */
	double d;      /* ddp */
} oval;

/* The left side's identity, to tell real ties (other sides) from a split
 * that cuts the rows as an earlier one did. */
static uint64_t
side_hash(const int *L, int nl)
{
	uint64_t h = (uint64_t)nl;
	int i;

	for (i = 0; i < nl; i++)
		h += pt_splitmix64((uint64_t)L[i] + 1);
	return h;
}

/*
 * The optimal subtree of depth `depth` over rows: its value into v and
 * its root split into *bf, *bk, *bml (*bf -1: a leaf).  st, when not
 * NULL, counts what was seen at this node (only the chosen tree's nodes
 * are given one).
 */
static void
opt(const orc *o, const int *rows, int n, int depth, oval *v, int *bf,
    int *bk, int *bml, ostat *st)
{
	const prob *p = o->p;
	osum s, sl, sr;
	int f, k, ml, found = 0, tie = 0, otie = 0, anyboth = 0;
	int *L, *R;
	uint64_t bh = 0;
	double balt = 0;

	/* A leaf's value: welfare its best arm's total, ddp 0. */
	osum_rows(p, rows, n, &s, o->crit == PT_CRIT_WELFARE ? OS_G : 0);
	v->w = s.g[osum_best(&s, p->A, NULL)];
	v->d = 0.0;
	*bf = -1;
	if (depth == 0)
		return;
	L = malloc((size_t)n * sizeof *L + 1);
	R = malloc((size_t)n * sizeof *R + 1);
	for (f = 0; f < p->F; f++)
		for (k = 0; k < p->B[f]; k++)
			for (ml = 0; ml < 2; ml++) {
				double thr = p->m->features[f].bounds[k], d = 0, alt;
				int nl, nr, cf, ck, cm, better, same, flip;
				oval vl, vr, cv;
				uint64_t h;
				nl = partition(p, rows, n, f, thr, ml, L, R, &nr);
				if (nl > 0 && nr > 0)
					anyboth = 1;
				if ((uint64_t)nl < o->minsize ||
				    (uint64_t)nr < o->minsize) {
					if (st != NULL && nl > 0 && nr > 0)
						st->mcut++;
					continue;
				}
				if (o->crit == PT_CRIT_DDP) {
					osum_rows(p, L, nl, &sl, OS_Y);
					osum_rows(p, R, nr, &sr, OS_Y);
					d = oracle_ddp(&sl, &sr, p->A, p->control,
					    p->scale);
					if (isnan(d)) {
						if (st != NULL)
							st->acut++;
						continue;
					}
				}
				opt(o, L, nl, depth - 1, &vl, &cf, &ck, &cm, NULL);
				opt(o, R, nr, depth - 1, &vr, &cf, &ck, &cm, NULL);
				if (o->crit == PT_CRIT_DDP) {
					cv.d = d + vl.d;
					cv.d = cv.d + vr.d;
					better = cv.d > v->d;
					same = cv.d == v->d;
				} else {
					cv.w = vl.w;
					pt_wide_add(&cv.w, &vr.w);
					better = pt_wide_cmp(&cv.w, &v->w) > 0;
					same = pt_wide_cmp(&cv.w, &v->w) == 0;
				}
				h = side_hash(L, nl);
				/* The same terms summed as d + (vl + vr). */
				alt = d + (vl.d + vr.d);
				flip = found && o->crit == PT_CRIT_DDP &&
				    alt == balt && better;
				if (!found || better) {
					otie = flip;
					found = 1;
					*v = cv;
					*bf = f;
					*bk = k;
					*bml = ml;
					bh = h;
					balt = alt;
					tie = 0;
				} else if (same && h != bh) {
					tie = 1;
				}
			}
	if (st != NULL) {
		st->ties += tie;
		st->oties += otie;
		st->mleaf += !found && anyboth && o->crit == PT_CRIT_WELFARE;
		st->splits += found;
	}
	if (!found) {
		v->w = s.g[osum_best(&s, p->A, NULL)];
		v->d = 0.0;
	}
	free(L);
	free(R);
}

typedef struct onode {
	int used, leaf, f, k, ml, action;
	uint64_t rows;
	osum s;        /* the node's sums, for its statistics */
} onode;

/* The oracle's tree: at each node the split opt chooses, its children the
 * optimal subtrees one depth less. */
static void
build(const orc *o, const int *rows, int n, int depth, onode *nodes,
    uint32_t id, ostat *st, oval *v)
{
	const prob *p = o->p;
	onode *nd = &nodes[id];
	oval cv;
	osum s;
	int f, k, ml, nl, nr, tie, *L, *R;

	opt(o, rows, n, depth, v, &f, &k, &ml, st);
	osum_rows(p, rows, n, &s, OS_ALL);
	nd->used = 1;
	nd->leaf = f < 0;
	nd->action = osum_best(&s, p->A, &tie);
	nd->rows = (uint64_t)n;
	nd->s = s;
	if (f < 0) {
		st->atie += tie;
		return;
	}
	nd->f = f;
	nd->k = k;
	nd->ml = ml;
	L = malloc((size_t)n * sizeof *L + 1);
	R = malloc((size_t)n * sizeof *R + 1);
	nl = partition(p, rows, n, f, p->m->features[f].bounds[k], ml, L, R, &nr);
	build(o, L, nl, depth - 1, nodes, 2 * id, st, &cv);
	build(o, R, nr, depth - 1, nodes, 2 * id + 1, st, &cv);
	free(L);
	free(R);
}

/* Collapses, bottom-up, splits whose children are leaves of one action
 * (as pt_ptree_prune does).  Returns whether anything changed. */
static int
oprune(onode *nodes, uint32_t id)
{
	onode *nd = &nodes[id], *l, *r;
	int ch;

	if (nd->leaf)
		return 0;
	ch = oprune(nodes, 2 * id);
	ch |= oprune(nodes, 2 * id + 1);
	l = &nodes[2 * id];
	r = &nodes[2 * id + 1];
	if (l->leaf && r->leaf && l->action == r->action) {
		nd->leaf = 1;
		nd->action = l->action;
		l->used = r->used = 0;
		return 1;
	}
	return ch;
}

static void
onodes_print(const prob *p, const onode *nodes)
{
	uint32_t id;

	for (id = 1; id < MAXID; id++) {
		const onode *nd = &nodes[id];
		if (!nd->used)
			continue;
		if (nd->leaf)
			diag("  oracle %2u: leaf a%d (%llu rows)", id, nd->action,
			    (unsigned long long)nd->rows);
		else
			diag("  oracle %2u: x%d <= %g, missing %s (%llu rows)", id,
			    nd->f + 1, p->m->features[nd->f].bounds[nd->k],
			    nd->ml ? "left" : "right",
			    (unsigned long long)nd->rows);
	}
}

static void
tree_print(const pt_ptree *t)
{
	int i;

	for (i = 0; i < t->nnodes; i++) {
		const pt_pnode *n = &t->nodes[i];
		if (n->feature < 0)
			diag("  tree   %2u: leaf a%d (%llu rows)", n->id, n->action,
			    (unsigned long long)n->rows);
		else
			diag("  tree   %2u: x%d <= %g, missing %s (%llu rows)", n->id,
			    n->feature + 1, n->threshold,
			    n->missing_left ? "left" : "right",
			    (unsigned long long)n->rows);
	}
}

/* The tree equals the oracle's nodes: the same ids, splits, leaves'
 * actions, and each node's statistics (rows; per arm the rows that
 * received it, their outcome mean and the arm's mean score, means of the
 * exact sums rounded once). */
static int
same_tree(const prob *p, const pt_ptree *t, const onode *nodes)
{
	uint32_t id;
	int used = 0, i, a;

	for (id = 1; id < MAXID; id++) {
		const onode *nd = &nodes[id];
		const pt_pnode *n;
		int q;
		if (!nd->used)
			continue;
		used++;
		if ((q = pt_ptree_find(t, id)) < 0)
			return 0;
		n = &t->nodes[q];
		if (n->rows != nd->rows || n->action != nd->action ||
		    n->open)
			return 0;
		if (nd->leaf != (n->feature < 0))
			return 0;
		for (a = 0; a < p->A; a++) {
			const osum *s = &nd->s;
			double mean = s->cnt[a] ? pt_wide_round(&s->y[a], p->scale) /
			    (double)s->cnt[a] : 0.0;
			double value = s->n ? pt_wide_round(&s->g[a], p->scale) /
			    (double)s->n : 0.0;
			if (n->count[a] != s->cnt[a] || n->mean[a] != mean ||
			    n->value[a] != value)
				return 0;
		}
		if (!nd->leaf && (n->feature != nd->f || n->missing_left !=
		    nd->ml || n->threshold !=
		    p->m->features[nd->f].bounds[nd->k]))
			return 0;
	}
	for (i = 0; i < t->nnodes; i++)
		if (t->nodes[i].id >= MAXID || !nodes[t->nodes[i].id].used)
			return 0;
	return used == t->nnodes && t->complete;
}

/* ---- a tree's value from the rows routed through it ------------------ */

/* Welfare: the exact sum over rows of the score of their leaf's action. */
static void
tree_welfare(const prob *p, const pt_ptree *t, pt_xsum *v)
{
	const double *cols[MAXF];
	int f, i;

	for (f = 0; f < p->F; f++)
		cols[f] = PT_COL_F64(p->b, 1 + f);
	pt_xsum_init(v);
	for (i = 0; i < p->N; i++) {
		int q = pt_ptree_route(t, cols, (size_t)i);
		pt_xsum_add(v, p->g[i * p->A + t->nodes[q].action]);
	}
}

/* ddp: the sum over the tree's splits of the criterion on the rows
 * reaching them, ddp(split) + value(left) + value(right); NAN when a
 * split is not valid. */
static double
tree_ddp(const prob *p, const pt_ptree *t, uint32_t id, const int *rows, int n)
{
	int q = pt_ptree_find(t, id), nl, nr, *L, *R;
	const pt_pnode *nd;
	osum sl, sr;
	double d;

	if (q < 0)
		return NAN;
	nd = &t->nodes[q];
	if (nd->feature < 0)
		return 0.0;
	L = malloc((size_t)n * sizeof *L + 1);
	R = malloc((size_t)n * sizeof *R + 1);
	nl = partition(p, rows, n, nd->feature, nd->threshold, nd->missing_left,
	    L, R, &nr);
	osum_rows(p, L, nl, &sl, OS_Y);
	osum_rows(p, R, nr, &sr, OS_Y);
	d = oracle_ddp(&sl, &sr, p->A, p->control, p->scale);
	if ((uint64_t)nl < t->min_node_size || (uint64_t)nr < t->min_node_size)
		d = NAN;
	d = d + tree_ddp(p, t, 2 * id, L, nl);
	d = d + tree_ddp(p, t, 2 * id + 1, R, nr);
	free(L);
	free(R);
	return d;
}

/* ---- the library --------------------------------------------------------- */

/* The pair partial's making (hist --pairs) is declared ahead of its
 * implementation: weak references, so that the pair search is checked
 * once it lands and the test builds meanwhile. */
#pragma weak pt_hist_new_pairs
#pragma weak pt_hist_add_pairs

/* The pair partial of a problem's rows (one frame), or NULL with e set. */
static pt_hist *
pair_partial(const prob *p, pt_err *e)
{
	pt_hist *h = pt_hist_new_pairs(p->m, NULL, e);
	pt_hist_cols c;
	int rc = -1;

	if (h != NULL && pt_hist_bind(h, p->m, p->s, &c, e) == 0) {
		if (pt_hist_add_pairs(h, p->m, &c, p->b, e) == 0 &&
		    pt_hist_flush(h, e) == 0)
			rc = 0;
		pt_hist_cols_free(&c);
	}
	if (rc < 0) {
		pt_hist_free(h);
		return NULL;
	}
	return h;
}

/* A refusal the search may make: welfare on scores spanning more than
 * 2^128 (kind 2), too wide for its 128-bit sums, said as such. */
static int
wide_refusal(const prob *p, int crit, const pt_err *e)
{
	return p->kind == 2 && crit == PT_CRIT_WELFARE &&
	    e->code == PT_ELIMIT && strstr(e->msg, "too wide") != NULL;
}

static pt_ptree *
lib_exact(const prob *p, const pt_rowset *r, int depth, int crit,
    int threads, pt_err *e)
{
	pt_ptree *t = pt_ptree_new(p->m, NULL, crit, depth, p->minsize, e);

	if (t == NULL || pt_search_exact(t, r, p->m, threads, e) < 0) {
		pt_ptree_free(t);
		return NULL;
	}
	return t;
}

static pt_ptree *
lib_exact2(const prob *p, const pt_rowset *r, pt_err *e)
{
	pt_ptree *t = pt_ptree_new(p->m, NULL, PT_CRIT_WELFARE, 2, p->minsize,
	    e);

	if (t == NULL || pt_search_exact2(t, r, p->m, e) < 0) {
		pt_ptree_free(t);
		return NULL;
	}
	return t;
}

static pt_ptree *
lib_greedy(const prob *p, int depth, int crit)
{
	pt_err e;

	return grow_by_partials(pt_ptree_new(p->m, NULL, crit, depth,
	    p->minsize, &e), p->m, p->s, p->b, p->F);
}

/* Bytes of a tree as written. */
static char *
tree_bytes(pt_ptree *t, size_t *len)
{
	pt_err e;
	char *buf;

	if (pt_ptree_write(t, &buf, len, &e) < 0)
		return NULL;
	return buf;
}

static int
same_bytes(pt_ptree *a, pt_ptree *b)
{
	size_t la, lb;
	char *ba = tree_bytes(a, &la), *bb = tree_bytes(b, &lb);
	int same = ba != NULL && bb != NULL && la == lb &&
	    memcmp(ba, bb, la) == 0;

	free(ba);
	free(bb);
	return same;
}

/* ---- the run ------------------------------------------------------------- */

typedef struct tally {
	int runs, problems;
	int oracle_greedy, oracle_greedy_ok;    /* oracle vs greedy depth 1 */
	int oracle_x2, oracle_x2_ok;            /* oracle vs exact2 */
	int oracle_ge, oracle_ge_ok;            /* oracle welfare >= greedy */
	int lib, threads_ok, tree_ok, value_n, value_ok;
	int d1, d1_ok, x2, x2_ok, d4, pairs, pairs_ok, pairs_wide;
	int refused, wide_refused, rootleaf;
	unsigned methods;  /* plan methods seen at depth 2 (bit per method) */
	int forced, forced_ok; /* searches with a sweep forced */
	int pruned, wide;
	ostat st;
	int tie_problems, atie_problems, mcut_problems, mleaf_problems,
	    acut_problems, otie_problems, perfect;
	/* the smallest failing run */
	int fails;
	uint64_t fseed;
	int fN, fdepth, fcrit;
} tally;

static void
fail(tally *ty, const prob *p, int depth, int crit, const char *what,
    const pt_ptree *t, const onode *nodes, int verbose)
{
	ty->fails++;
	if (ty->fails <= 5 || verbose) {
		diag("MISMATCH (%s): problem %llu: N %d F %d A %d kind %d dup %d "
		    "fmode %d control %d min-node-size %llu depth %d %s", what,
		    (unsigned long long)p->seed, p->N, p->F, p->A, p->kind,
		    p->dup, p->fmode, p->control, (unsigned long long)p->minsize, depth,
		    crit == PT_CRIT_DDP ? "ddp" : "welfare");
		if (nodes != NULL)
			onodes_print(p, nodes);
		if (t != NULL)
			tree_print(t);
	}
	if (ty->fails == 1 || p->N < ty->fN || (p->N == ty->fN &&
	    depth < ty->fdepth)) {
		ty->fseed = p->seed;
		ty->fN = p->N;
		ty->fdepth = depth;
		ty->fcrit = crit;
	}
}

static void
run(uint64_t seed, tally *ty, int verbose)
{
	prob p;
	pt_rowset r;
	pt_hist_cols c;
	pt_hist *h, *ph = NULL;
	pt_err e;
	int *rows, i, depth, crit, maxd, got_otie = 0, got_tie = 0, got_atie = 0,
	    got_mcut = 0,
	    got_mleaf = 0, got_acut = 0;

	if (prob_make(&p, seed) < 0) {
		ok(0, "problem %llu: values do not fit exact sums",
		    (unsigned long long)seed);
		prob_free(&p);
		return;
	}
	ty->problems++;
	ty->wide += p.kind == 2;
	h = pt_hist_new(p.m, NULL, NULL, 0, NULL, 0, &e);
	pt_rowset_init(&r, p.m);
	if (h == NULL || pt_hist_bind(h, p.m, p.s, &c, &e) < 0 ||
	    pt_rowset_add(&r, p.m, &c, p.b, &e) < 0) {
		ok(0, "problem %llu: rows: %s", (unsigned long long)seed, e.msg);
		exit(1);
	}
	pt_hist_cols_free(&c);
	pt_hist_free(h);
	rows = malloc((size_t)p.N * sizeof *rows);
	for (i = 0; i < p.N; i++)
		rows[i] = i;
	if (verbose)
		diag("problem %llu: N %d F %d A %d kind %d dup %d fmode %d "
		    "control %d min-node-size %llu", (unsigned long long)seed, p.N,
		    p.F, p.A, p.kind, p.dup, p.fmode, p.control,
		    (unsigned long long)p.minsize);

	{
		int sb = 0, f;
		for (f = 0; f < p.F; f++)
			sb += p.B[f];
		maxd = pow(2.0 * sb, 4) * p.N <= D4_WORK ? 4 :
		    pow(2.0 * sb, 3) * p.N <= D3_WORK ? 3 : 2;
	}
	for (crit = 0; crit < 2; crit++)
		for (depth = 1; depth <= maxd; depth++) {
			orc o = { &p, crit, p.minsize };
			onode full[MAXID], nodes[MAXID];
			ostat st;
			oval best;
			pt_xsum bx, got;
			int pruned;
			pt_ptree *t1 = NULL, *t2 = NULL, *gt;
			pt_err e1, e2;
			/* threads 1, 2, and 4 on every third problem */
			int th2 = seed % 3 == 0 ? 4 : 2;

			ty->runs++;
			memset(full, 0, sizeof full);
			memset(&st, 0, sizeof st);
			build(&o, rows, p.N, depth, full, 1, &st, &best);
			memcpy(nodes, full, sizeof nodes);
			pruned = oprune(nodes, 1);
			ty->pruned += pruned;
			pt_wide_to_xsum(&best.w, p.scale, &bx);
			got_tie |= st.ties > 0;
			got_otie |= st.oties > 0;
			ty->st.oties += st.oties;
			got_atie |= st.atie > 0;
			got_mcut |= st.mcut > 0;
			got_mleaf |= st.mleaf > 0;
			got_acut |= st.acut > 0;
			ty->st.ties += st.ties;
			ty->st.atie += st.atie;
			ty->st.mcut += st.mcut;
			ty->st.mleaf += st.mleaf;
			ty->st.acut += st.acut;
			ty->st.splits += st.splits;
			ty->rootleaf += full[1].leaf;
			if (crit == PT_CRIT_WELFARE && depth >= 2) {
				pt_wide all;
				memset(&all, 0, sizeof all);
				for (i = 0; i < p.N; i++) {
					int a, b = 0;
					for (a = 1; a < p.A; a++)
						if (pt_wide_cmp(&p.G[i * p.A + a],
						    &p.G[i * p.A + b]) > 0)
							b = a;
					pt_wide_add(&all, &p.G[i * p.A + b]);
				}
				ty->perfect += pt_wide_cmp(&all, &best.w) == 0;
			}
			if (verbose) {
				diag("depth %d %s: oracle (ties %d, min-node-size "
				    "cuts %d, arm cuts %d, pruned %d):", depth,
				    crit ? "ddp" : "welfare", st.ties, st.mcut,
				    st.acut, pruned);
				onodes_print(&p, nodes);
			}

			/* The oracle against the library's other searches. */
			if (depth == 1 || (crit == PT_CRIT_WELFARE)) {
				gt = lib_greedy(&p, depth, crit);
				if (depth == 1) {
					ty->oracle_greedy++;
					if (gt != NULL && same_tree(&p, gt, nodes))
						ty->oracle_greedy_ok++;
					else
						fail(ty, &p, depth, crit, "oracle vs "
						    "greedy", gt, nodes, verbose);
				} else if (gt != NULL) {
					/* The optimum is no worse than greedy. */
					ty->oracle_ge++;
					tree_welfare(&p, gt, &got);
					if (pt_xsum_cmp(&bx, &got) >= 0)
						ty->oracle_ge_ok++;
					else
						fail(ty, &p, depth, crit, "oracle below "
						    "greedy", gt, nodes, verbose);
				}
				pt_ptree_free(gt);
			}
			if (depth == 2 && crit == PT_CRIT_WELFARE && !full[1].leaf) {
				pt_ptree *x2 = lib_exact2(&p, &r, &e1);
				ty->oracle_x2 += x2 != NULL || !wide_refusal(&p, crit,
				    &e1);
				if (x2 != NULL) {
					tree_welfare(&p, x2, &got);
					if (same_tree(&p, x2, nodes) &&
					    pt_xsum_cmp(&got, &bx) == 0)
						ty->oracle_x2_ok++;
					else
						fail(ty, &p, depth, crit, "oracle vs "
						    "exact2", x2, nodes, verbose);
				} else if (!wide_refusal(&p, crit, &e1)) {
					diag("exact2: %s", e1.msg);
					fail(ty, &p, depth, crit, "exact2 refused",
					    NULL, nodes, verbose);
				}
				pt_ptree_free(x2);
			}

			/* The search under test. */
			if (depth == 2) {
				pt_exact_plan plan;
				pt_exact_estimate(p.m, (size_t)p.N, p.A, depth, crit,
				    &plan);
				if (plan.method >= 0 && plan.method < 32)
					ty->methods |= 1u << plan.method;
			}
			t1 = lib_exact(&p, &r, depth, crit, 1, &e1);
			t2 = lib_exact(&p, &r, depth, crit, th2, &e2);
			if (t1 == NULL && t2 == NULL && wide_refusal(&p, crit, &e1) &&
			    wide_refusal(&p, crit, &e2)) {
				ty->wide_refused++;
				continue;
			}
			ty->lib++;
			ty->d4 += depth == 4;
			if (t1 == NULL || t2 == NULL) {
				ty->refused++;
				diag("problem %llu depth %d %s: refused: %s",
				    (unsigned long long)seed, depth,
				    crit ? "ddp" : "welfare", t1 ? e2.msg : e1.msg);
				fail(ty, &p, depth, crit, "refused", NULL, nodes,
				    verbose);
				pt_ptree_free(t1);
				pt_ptree_free(t2);
				continue;
			}
			if (verbose)
				tree_print(t1);
			/* (a) */
			if (same_bytes(t1, t2))
				ty->threads_ok++;
			else
				fail(ty, &p, depth, crit, "threads 1 vs more", t2,
				    NULL, verbose);
			/* Every sweep the search can choose gives the same
			 * bytes: forced to the rows' histogram sweeps and
			 * recursion, then to the segment sweep and pair tables. */
			if (depth >= 2) {
				int how;
				for (how = 1; how <= 2; how++) {
					pt_ptree *tf;
					pt_exact_force(how);
					tf = lib_exact(&p, &r, depth, crit, th2, &e2);
					pt_exact_force(0);
					ty->forced++;
					if (tf != NULL && same_bytes(t1, tf))
						ty->forced_ok++;
					else
						fail(ty, &p, depth, crit, how == 1 ?
						    "forced rows" : "forced segment/"
						    "pair tables", tf, NULL, verbose);
					pt_ptree_free(tf);
				}
			}
			/* (b) */
			if (same_tree(&p, t1, nodes))
				ty->tree_ok++;
			else
				fail(ty, &p, depth, crit, "tree", t1, nodes, verbose);
			/* (c) */
			if (crit == PT_CRIT_WELFARE) {
				ty->value_n++;
				tree_welfare(&p, t1, &got);
				if (pt_xsum_cmp(&got, &bx) == 0)
					ty->value_ok++;
				else
					fail(ty, &p, depth, crit, "welfare value", t1,
					    nodes, verbose);
			} else if (!pruned) {
				double d = tree_ddp(&p, t1, 1, rows, p.N);
				ty->value_n++;
				if (d == best.d)
					ty->value_ok++;
				else {
					diag("ddp value %.17g, oracle %.17g", d, best.d);
					fail(ty, &p, depth, crit, "ddp value", t1,
					    nodes, verbose);
				}
			}
			/* (d) */
			if (depth == 1) {
				gt = lib_greedy(&p, 1, crit);
				ty->d1++;
				if (gt != NULL) {
					gt->exact = t1->exact;
					gt->level = t1->level;
				}
				if (gt != NULL && same_bytes(gt, t1))
					ty->d1_ok++;
				else
					fail(ty, &p, depth, crit, "depth 1 vs greedy",
					    t1, nodes, verbose);
				pt_ptree_free(gt);
			}
			if (depth == 2 && crit == PT_CRIT_WELFARE) {
				pt_ptree *x2 = lib_exact2(&p, &r, &e1);
				if (x2 != NULL) {
					ty->x2++;
					if (same_bytes(x2, t1))
						ty->x2_ok++;
					else
						fail(ty, &p, depth, crit, "depth 2 vs "
						    "exact2", t1, nodes, verbose);
				}
				pt_ptree_free(x2);
			}
			/* (e) the same search from a pair partial */
			if (depth <= 2 && pt_hist_new_pairs != NULL &&
			    pt_hist_add_pairs != NULL) {
				pt_ptree *tp = NULL;
				if (ph == NULL && (ph = pair_partial(&p, &e1)) == NULL)
					diag("pair partial: %s", e1.msg);
				if (ph != NULL && (tp = pt_ptree_new(p.m, NULL, crit,
				    depth, p.minsize, &e1)) != NULL &&
				    pt_search_exact_pairs(tp, ph, p.m, th2, &e1) < 0) {
					pt_ptree_free(tp);
					tp = NULL;
				}
				if (tp == NULL && wide_refusal(&p, crit, &e1)) {
					ty->pairs_wide++;
				} else {
					ty->pairs++;
					if (tp != NULL && same_bytes(tp, t1))
						ty->pairs_ok++;
					else {
						if (tp == NULL)
							diag("pairs: %s", e1.msg);
						fail(ty, &p, depth, crit, "pairs vs rows",
						    tp, nodes, verbose);
					}
				}
				pt_ptree_free(tp);
			}
			pt_ptree_free(t1);
			pt_ptree_free(t2);
		}
	ty->tie_problems += got_tie;
	ty->otie_problems += got_otie;
	ty->atie_problems += got_atie;
	ty->mcut_problems += got_mcut;
	ty->mleaf_problems += got_mleaf;
	ty->acut_problems += got_acut;
	free(rows);
	pt_hist_free(ph);
	pt_rowset_free(&r);
	prob_free(&p);
}

int
main(void)
{
	tally ty;
	const char *one = getenv("PT_EXACT_SEED");
	/* Fewer problems under the sanitizers (make test passes
	 * PT_SANITIZE empty otherwise). */
	const char *san = getenv("PT_SANITIZE");
	int small = san != NULL && *san != '\0';
	int nprob = small ? 40 : 300, nsym = small ? 40 : 60;
	int nbins = small ? 8 : 60, k;

	memset(&ty, 0, sizeof ty);
	if (one != NULL) {
		run(strtoull(one, NULL, 0), &ty, 1);
		ok(ty.fails == 0, "problem %s: %d mismatches", one, ty.fails);
		return done_testing();
	}
	for (k = 0; k < nprob; k++)
		run((uint64_t)k, &ty, 0);
	for (k = 0; k < nsym; k++)
		run(SYM_BASE + (uint64_t)k, &ty, 0);
	for (k = 0; k < nbins; k++)
		run(BINS_BASE + (uint64_t)k, &ty, 0);

	diag("%d problems (%d with scores wider than 2^128), %d searches; "
	    "oracle's chosen trees: %d splits, %d pruned, %d root leaves",
	    ty.problems, ty.wide, ty.runs, ty.st.splits, ty.pruned,
	    ty.rootleaf);
	diag("at the chosen nodes: %d real split ties (%d problems), %d arm "
	    "ties at leaves (%d problems), %d min-node-size cuts (%d problems), "
	    "%d leaves by min-node-size alone (%d problems), %d ddp arm cuts "
	    "(%d problems), %d ddp bests by the order of their sum alone (%d "
	    "problems); %d welfare optima of depth 2+ giving every row its "
	    "best arm", ty.st.ties, ty.tie_problems, ty.st.atie,
	    ty.atie_problems, ty.st.mcut, ty.mcut_problems, ty.st.mleaf,
	    ty.mleaf_problems, ty.st.acut, ty.acut_problems, ty.st.oties,
	    ty.otie_problems, ty.perfect);
	ok(ty.tie_problems > 0 && ty.atie_problems > 0 && ty.mcut_problems > 0 &&
	    ty.mleaf_problems > 0 && ty.acut_problems > 0 && ty.pruned > 0 &&
	    ty.wide > 0 && ty.otie_problems > 0 && ty.perfect > 0,
	    "the problems exercise ties (%d), min-node-size (%d, %d), ddp arm "
	    "rules (%d), ddp sum order (%d), pruning (%d), wide scores (%d), "
	    "perfect trees (%d)", ty.tie_problems, ty.mcut_problems,
	    ty.mleaf_problems, ty.acut_problems, ty.otie_problems, ty.pruned,
	    ty.wide, ty.perfect);
	ok(ty.oracle_greedy_ok == ty.oracle_greedy && ty.oracle_greedy > 0,
	    "oracle: depth 1 is the greedy tree (%d/%d)", ty.oracle_greedy_ok,
	    ty.oracle_greedy);
	ok(ty.oracle_x2_ok == ty.oracle_x2 && ty.oracle_x2 > 0,
	    "oracle: depth 2 welfare is pt_search_exact2's tree and value "
	    "(%d/%d)", ty.oracle_x2_ok, ty.oracle_x2);
	ok(ty.oracle_ge_ok == ty.oracle_ge && ty.oracle_ge > 0,
	    "oracle: welfare at depths 2 to 4 no lower than greedy's (%d/%d)",
	    ty.oracle_ge_ok, ty.oracle_ge);
	{
		diag("pt_search_exact: %d searches (%d of depth 4), %d refused "
		    "as scores too wide (welfare on scores spanning over 2^128)",
		    ty.lib, ty.d4, ty.wide_refused);
		ok(ty.refused == 0, "pt_search_exact: no other search refused "
		    "(%d)", ty.refused);
		ok(ty.threads_ok == ty.lib - ty.refused, "pt_search_exact: threads "
		    "1 and 2 (or 4) give the same bytes (%d/%d)", ty.threads_ok,
		    ty.lib - ty.refused);
		ok(ty.tree_ok == ty.lib - ty.refused, "pt_search_exact: the "
		    "oracle's tree, node by node (%d/%d)", ty.tree_ok,
		    ty.lib - ty.refused);
		ok(ty.value_ok == ty.value_n && ty.value_n > 0, "pt_search_exact: "
		    "the oracle's value (%d/%d)", ty.value_ok, ty.value_n);
		ok(ty.d1_ok == ty.d1 && ty.d1 > 0, "pt_search_exact: depth 1 is "
		    "greedy's tree, byte for byte (%d/%d)", ty.d1_ok, ty.d1);
		ok(ty.forced_ok == ty.forced && ty.forced > 0, "pt_search_exact: "
		    "every sweep it can choose gives the same bytes (%d/%d)",
		    ty.forced_ok, ty.forced);
		ok(__builtin_popcount(ty.methods) >= 2, "pt_search_exact: its "
		    "depth-2 plans use more than one sweep (methods seen: %#x)",
		    ty.methods);
		ok(ty.x2_ok == ty.x2 && ty.x2 > 0, "pt_search_exact: depth 2 "
		    "welfare is pt_search_exact2's tree, byte for byte (%d/%d)",
		    ty.x2_ok, ty.x2);
	}
	if (pt_hist_new_pairs == NULL || pt_hist_add_pairs == NULL)
		diag("pair partials cannot be made yet (pt_hist_new_pairs): "
		    "pt_search_exact_pairs not checked");
	else
		ok(ty.pairs_ok == ty.pairs && ty.pairs > 0, "pt_search_exact_pairs: "
		    "the bytes of pt_search_exact at depths 1 and 2 (%d/%d, %d "
		    "refused as too wide)", ty.pairs_ok, ty.pairs, ty.pairs_wide);
	if (ty.fails > 0)
		diag("smallest failing problem: PT_EXACT_SEED=%llu (N %d, depth "
		    "%d, %s)", (unsigned long long)ty.fseed, ty.fN, ty.fdepth,
		    ty.fcrit ? "ddp" : "welfare");
	return done_testing();
}

/*
 * t-search.c: split search against naive references written here with
 * pt_xsum arithmetic on row lists:
 *   - greedy growth (hist + grow, level by level) equals a recursive naive
 *     greedy search, node by node, on small random problems with ties
 *     (integer scores, values on the boundaries) and missing values;
 *   - the exact depth-2 search finds the optimum of an exhaustive
 *     enumeration of every depth-2 tree over the same thresholds (value
 *     and, under the fixed tie rule, the root split);
 *   - the ddp criterion: its validity rules and value on a hand-computed
 *     table, and the naive criterion's choice on random problems;
 *   - the planted policy of a synthetic problem is recovered.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "search.h"
#include "tree.h"
#include "../tap.h"

#define TEST_RNG_SEED 99
#include "testrng.h"
#include "testgrow.h"

typedef struct prob {
	int N, F, A, B;
	pt_manifest *m;
	pt_schema *s;
	pt_batch *b;
	double *x;   /* N*F */
	double *g;   /* N*A */
	int *w;
	double *y;
} prob;

static char *
xstrdup(const char *s)
{
	return pt_strdup(s);
}

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
}

/* kind 0: integer scores and grid features (many ties); 1: real scores of
 * mixed magnitudes; 2: scores spanning more than 2^128 (which the exact
 * search's 128-bit sums refuse, and the greedy search takes). */
static void
prob_make(prob *p, int N, int F, int A, int B, double pmiss, int kind)
{
	int f, a, i;
	char name[32];

	memset(p, 0, sizeof *p);
	p->N = N; p->F = F; p->A = A; p->B = B;
	p->m = pt_manifest_new();
	p->m->nfeatures = F;
	p->m->features = calloc((size_t)F, sizeof *p->m->features);
	for (f = 0; f < F; f++) {
		pt_feature *pf = &p->m->features[f];
		snprintf(name, sizeof name, "x%d", f + 1);
		pf->name = xstrdup(name);
		pf->level = -1;
		pf->nbounds = B;
		pf->bounds = calloc((size_t)B, sizeof *pf->bounds);
		pf->counts = calloc((size_t)B + 2, sizeof *pf->counts);
		for (i = 0; i < B; i++)
			pf->bounds[i] = i + 1;
	}
	p->m->nvocab = A;
	p->m->vocab = calloc((size_t)A, sizeof *p->m->vocab);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "a%d", a);
		p->m->vocab[a] = xstrdup(name);
	}
	p->m->control = 0;
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
	p->x = calloc((size_t)N * F, sizeof *p->x);
	p->g = calloc((size_t)N * A, sizeof *p->g);
	p->w = calloc((size_t)N, sizeof *p->w);
	p->y = calloc((size_t)N, sizeof *p->y);
	for (i = 0; i < N; i++) {
		PT_COL_U64(p->b, 0)[i] = rn();
		for (f = 0; f < F; f++) {
			double v = unif() < pmiss ? NAN : (double)(rn() % (2 *
			    (uint64_t)B + 3)) * 0.5;
			p->x[i * F + f] = v;
			PT_COL_F64(p->b, 1 + f)[i] = v;
		}
		p->w[i] = (int)(rn() % (uint64_t)A);
		p->y[i] = kind ? ldexp(unif(), (int)(rn() % 20) - 10) :
		    (double)(rn() % 3);
		PT_COL_I32(p->b, 1 + F)[i] = p->w[i];
		PT_COL_F64(p->b, 2 + F)[i] = p->y[i];
		for (a = 0; a < A; a++) {
			double v = kind == 2 ? (unif() - 0.4) * ldexp(1.0,
			    rn() % 2 ? 60 : -80) : kind ? (unif() - 0.4) *
			    ldexp(1.0, (int)(rn() % 30) - 15) :
			    (double)((int)(rn() % 5) - 2);
			p->g[i * A + a] = v;
			PT_COL_F64(p->b, 3 + F + a)[i] = v;
		}
	}
}

/* ---- the system under test: hist + grow, level by level ------------- */

static pt_ptree *
grow(prob *p, int depth, uint64_t minsize, int crit)
{
	pt_err e;

	return grow_by_partials(pt_ptree_new(p->m, NULL, crit, depth, minsize,
	    &e), p->m, p->s, p->b, p->F);
}

/* ---- the naive reference -------------------------------------------- */

typedef struct rnode {
	int feature, k, ml, action, leaf;
} rnode;

static int
goes_left(prob *p, int i, int f, int k, int ml)
{
	double v = p->x[i * p->F + f];

	if (isnan(v))
		return ml;
	return v <= p->m->features[f].bounds[k];
}

/* Best action of a row list by exact sums (lowest on ties), its sum. */
static int
best_action(prob *p, const int *rows, int n, pt_xsum *out)
{
	int a, i, best = 0;
	pt_xsum s[16];

	for (a = 0; a < p->A; a++) {
		pt_xsum_init(&s[a]);
		for (i = 0; i < n; i++)
			pt_xsum_add(&s[a], p->g[rows[i] * p->A + a]);
		if (a > 0 && pt_xsum_cmp(&s[a], &s[best]) > 0)
			best = a;
	}
	*out = s[best];
	return best;
}

/* The best single split of rows (naive), tie rule by iteration order.
 * Returns 0 when none is valid. */
static int
naive_split(prob *p, const int *rows, int n, uint64_t minsize, int *bf,
    int *bk, int *bml, pt_xsum *bscore)
{
	int f, k, ml, i, found = 0;
	int *L = malloc((size_t)n * sizeof *L + 1), *R = malloc((size_t)n *
	    sizeof *R + 1);

	for (f = 0; f < p->F; f++)
		for (k = 0; k < p->B; k++)
			for (ml = 0; ml < 2; ml++) {
				int nl = 0, nr = 0;
				pt_xsum sl, sr;
				for (i = 0; i < n; i++) {
					if (goes_left(p, rows[i], f, k, ml))
						L[nl++] = rows[i];
					else
						R[nr++] = rows[i];
				}
				if ((uint64_t)nl < minsize || (uint64_t)nr < minsize)
					continue;
				best_action(p, L, nl, &sl);
				best_action(p, R, nr, &sr);
				pt_xsum_merge(&sl, &sr);
				if (!found || pt_xsum_cmp(&sl, bscore) > 0) {
					found = 1;
					*bscore = sl;
					*bf = f;
					*bk = k;
					*bml = ml;
				}
			}
	free(L);
	free(R);
	return found;
}

static void
naive_grow(prob *p, rnode *nodes, uint32_t id, const int *rows, int n,
    int depth, uint64_t minsize)
{
	rnode *r = &nodes[id];
	pt_xsum s;
	int f, k, ml, i, nl = 0, nr = 0, *L, *R;

	r->leaf = 1;
	r->action = best_action(p, rows, n, &s);
	if (depth == 0 || !naive_split(p, rows, n, minsize, &f, &k, &ml, &s))
		return;
	r->leaf = 0;
	r->feature = f;
	r->k = k;
	r->ml = ml;
	L = malloc((size_t)n * sizeof *L + 1);
	R = malloc((size_t)n * sizeof *R + 1);
	for (i = 0; i < n; i++) {
		if (goes_left(p, rows[i], f, k, ml))
			L[nl++] = rows[i];
		else
			R[nr++] = rows[i];
	}
	naive_grow(p, nodes, 2 * id, L, nl, depth - 1, minsize);
	naive_grow(p, nodes, 2 * id + 1, R, nr, depth - 1, minsize);
	free(L);
	free(R);
}

static void
naive_prune(rnode *nodes, uint32_t id, int maxid)
{
	rnode *r = &nodes[id];

	if (r->leaf || (int)(2 * id + 1) > maxid)
		return;
	naive_prune(nodes, 2 * id, maxid);
	naive_prune(nodes, 2 * id + 1, maxid);
	if (nodes[2 * id].leaf && nodes[2 * id + 1].leaf &&
	    nodes[2 * id].action == nodes[2 * id + 1].action) {
		r->leaf = 1;
		r->action = nodes[2 * id].action;
	}
}

/* Compares the tree to the naive nodes; returns 1 when identical. */
static int
same_tree(prob *p, const pt_ptree *t, rnode *nodes, uint32_t id)
{
	int q = pt_ptree_find(t, id);
	const pt_pnode *n;

	if (q < 0)
		return 0;
	n = &t->nodes[q];
	if (nodes[id].leaf)
		return n->feature < 0 && n->action == nodes[id].action;
	if (n->feature != nodes[id].feature || n->missing_left != nodes[id].ml ||
	    n->threshold != p->m->features[n->feature].bounds[nodes[id].k])
		return 0;
	return same_tree(p, t, nodes, 2 * id) && same_tree(p, t, nodes,
	    2 * id + 1);
}

/* ---- exhaustive depth 2 ---------------------------------------------- */

/* Value of the best depth-2 tree by enumeration of every root and every
 * split (or leaf) of each side: each side's options are enumerated and
 * combined, so every depth-2 tree is considered. */
static void
exhaustive2(prob *p, uint64_t minsize, pt_xsum *best, int *rf, int *rk,
    int *rml)
{
	int f, k, ml, i, found = 0, *L = malloc((size_t)p->N * sizeof *L),
	    *R = malloc((size_t)p->N * sizeof *R);

	for (f = 0; f < p->F; f++)
		for (k = 0; k < p->B; k++)
			for (ml = 0; ml < 2; ml++) {
				int nl = 0, nr = 0, s;
				pt_xsum tot;
				for (i = 0; i < p->N; i++) {
					if (goes_left(p, i, f, k, ml))
						L[nl++] = i;
					else
						R[nr++] = i;
				}
				if ((uint64_t)nl < minsize || (uint64_t)nr < minsize)
					continue;
				pt_xsum_init(&tot);
				for (s = 0; s < 2; s++) {
					int *S = s ? R : L, n = s ? nr : nl;
					int f2, k2, m2, j, *A1 = malloc((size_t)n *
					    sizeof *A1 + 1), *A2 = malloc((size_t)n *
					    sizeof *A2 + 1);
					pt_xsum sb;
					best_action(p, S, n, &sb);
					/* every split of this side */
					for (f2 = 0; f2 < p->F; f2++)
						for (k2 = 0; k2 < p->B; k2++)
							for (m2 = 0; m2 < 2; m2++) {
								int n1 = 0, n2 = 0;
								pt_xsum a, b;
								for (j = 0; j < n; j++) {
									if (goes_left(p, S[j], f2, k2, m2))
										A1[n1++] = S[j];
									else
										A2[n2++] = S[j];
								}
								if ((uint64_t)n1 < minsize ||
								    (uint64_t)n2 < minsize)
									continue;
								best_action(p, A1, n1, &a);
								best_action(p, A2, n2, &b);
								pt_xsum_merge(&a, &b);
								if (pt_xsum_cmp(&a, &sb) > 0)
									sb = a;
							}
					pt_xsum_merge(&tot, &sb);
					free(A1);
					free(A2);
				}
				if (!found || pt_xsum_cmp(&tot, best) > 0) {
					found = 1;
					*best = tot;
					*rf = f;
					*rk = k;
					*rml = ml;
				}
			}
	free(L);
	free(R);
}

/* The exact value of a tree on the problem's rows. */
static void
tree_value(prob *p, const pt_ptree *t, pt_xsum *v)
{
	const double **cols = calloc((size_t)p->F, sizeof *cols);
	int f, i;

	for (f = 0; f < p->F; f++)
		cols[f] = PT_COL_F64(p->b, 1 + f);
	pt_xsum_init(v);
	for (i = 0; i < p->N; i++) {
		int q = pt_ptree_route(t, cols, (size_t)i);
		pt_xsum_add(v, p->g[i * p->A + t->nodes[q].action]);
	}
	free(cols);
}

static int exact_refused; /* exact() refused scores too wide */

static pt_ptree *
exact(prob *p, uint64_t minsize)
{
	pt_err e;
	pt_ptree *t = pt_ptree_new(p->m, NULL, PT_CRIT_WELFARE, 2, minsize, &e);
	pt_rowset r;
	pt_hist_cols c;
	pt_hist *h = pt_hist_new(p->m, NULL, NULL, 0, NULL, 0, &e);

	pt_rowset_init(&r, p->m);
	pt_hist_bind(h, p->m, p->s, &c, &e);
	pt_rowset_add(&r, p->m, &c, p->b, &e);
	if (pt_search_exact2(t, &r, p->m, &e) < 0) {
		if (e.code == PT_ELIMIT && strstr(e.msg, "too wide"))
			exact_refused++;
		else
			diag("exact: %s", e.msg);
		pt_ptree_free(t);
		t = NULL;
	}
	pt_hist_cols_free(&c);
	pt_hist_free(h);
	pt_rowset_free(&r);
	return t;
}

/* ---- the ddp criterion --------------------------------------------- */

/* The best ddp split of a row-less problem's histogram (slot 0). */
static int
ddp_search(prob *p, uint64_t minsize, pt_split *sp)
{
	pt_err e;
	pt_hist_cols c;
	pt_hist *h = pt_hist_new(p->m, NULL, NULL, 0, NULL, 0, &e);
	int rc = -1;

	if (h != NULL && pt_hist_bind(h, p->m, p->s, &c, &e) == 0) {
		if (pt_hist_add(h, p->m, &c, p->b, NULL, &e) == 0 &&
		    pt_hist_flush(h, &e) == 0 &&
		    pt_search_node(h, 0, PT_CRIT_DDP, 0, minsize, sp, &e) == 0)
			rc = 0;
		pt_hist_cols_free(&c);
	}
	if (rc < 0)
		diag("ddp: %s", e.msg);
	pt_hist_free(h);
	return rc;
}

/* The naive ddp criterion of one split, from the rows: NAN when not valid
 * (an arm without rows on a side, or a side under minsize). */
static double
naive_ddp(prob *p, int f, int k, int ml, uint64_t minsize)
{
	pt_xsum ys[2][16];
	uint64_t cnt[2][16], n[2] = { 0, 0 };
	double rate[2][16], u[2][16], maxu[2], minu[2];
	int i, a, s;

	for (s = 0; s < 2; s++)
		for (a = 0; a < p->A; a++) {
			pt_xsum_init(&ys[s][a]);
			cnt[s][a] = 0;
		}
	for (i = 0; i < p->N; i++) {
		s = goes_left(p, i, f, k, ml) ? 0 : 1;
		n[s]++;
		cnt[s][p->w[i]]++;
		pt_xsum_add(&ys[s][p->w[i]], p->y[i]);
	}
	if (n[0] < minsize || n[1] < minsize)
		return NAN;
	for (s = 0; s < 2; s++) {
		maxu[s] = -INFINITY;
		minu[s] = INFINITY;
		for (a = 0; a < p->A; a++) {
			if (cnt[s][a] == 0)
				return NAN;
			rate[s][a] = pt_xsum_round(&ys[s][a]) / (double)cnt[s][a];
		}
		for (a = 1; a < p->A; a++) {
			u[s][a] = rate[s][a] - rate[s][0];
			maxu[s] = u[s][a] > maxu[s] ? u[s][a] : maxu[s];
			minu[s] = u[s][a] < minu[s] ? u[s][a] : minu[s];
		}
	}
	return maxu[1] - minu[0] > maxu[0] - minu[1] ? maxu[1] - minu[0] :
	    maxu[0] - minu[1];
}

/* A hand-computed table: one feature x in 1..4 (boundaries 1, 2, 3),
 * control and one treated arm.
 *   x <= 1: left has no treated row: not valid.
 *   x <= 2: left control 0,1,0 (1/3), treated 1,1 (1): uL = 2/3;
 *           right control 1,0 (1/2), treated 0,1 (1/2): uR = 0;
 *           ddp = max(0 - 2/3, 2/3 - 0) = 2/3 (sides of 5 and 4 rows).
 *   x <= 3: left control 1/2, treated 2/3: uL = 1/6; right control 0,
 *           treated 1: uR = 1; ddp = max(1 - 1/6, 1/6 - 1) = 5/6
 *           (sides of 7 and 2 rows). */
static void
ddp_hand(void)
{
	static const double X[9] = { 1, 1, 2, 2, 2, 3, 3, 4, 4 };
	static const int W[9] = { 0, 0, 1, 1, 0, 1, 0, 1, 0 };
	static const double Y[9] = { 0, 1, 1, 1, 0, 0, 1, 1, 0 };
	prob p;
	pt_split sp;
	int i, a, rc;

	prob_make(&p, 9, 1, 2, 3, 0.0, 0);
	for (i = 0; i < 9; i++) {
		p.x[i] = X[i];
		PT_COL_F64(p.b, 1)[i] = X[i];
		p.w[i] = W[i];
		PT_COL_I32(p.b, 2)[i] = W[i];
		p.y[i] = Y[i];
		PT_COL_F64(p.b, 3)[i] = Y[i];
		for (a = 0; a < 2; a++) {
			p.g[i * 2 + a] = 0;
			PT_COL_F64(p.b, 4 + a)[i] = 0;
		}
	}
	rc = ddp_search(&p, 1, &sp);
	ok(rc == 0 && sp.feature == 0 && sp.k == 2 &&
	    sp.missing_left == 0 && fabs(sp.dscore - 5.0 / 6) < 1e-15,
	    "ddp: hand table, min-node-size 1: x <= 3 with 5/6 (got k %d, "
	    "%.17g)", sp.k, sp.dscore);
	rc = ddp_search(&p, 3, &sp);
	ok(rc == 0 && sp.feature == 0 && sp.k == 1 &&
	    fabs(sp.dscore - 2.0 / 3) < 1e-15,
	    "ddp: min-node-size 3 rules out the 2-row side: x <= 2 with 2/3 "
	    "(got k %d, %.17g)", sp.k, sp.dscore);
	ok(ddp_search(&p, 5, &sp) == 0 && sp.feature == -1,
	    "ddp: min-node-size 5: no valid split");
	/* Without treated rows at x >= 3 no split keeps both arms on both
	 * sides. */
	for (i = 5; i < 9; i++)
		PT_COL_I32(p.b, 2)[i] = 0;
	ok(ddp_search(&p, 1, &sp) == 0 && sp.feature == -1,
	    "ddp: an arm missing from a side makes the split invalid");
	prob_free(&p);
}

/* Random problems (3 or 4 arms, missing values): the ddp search picks the
 * naive best split (first in feature, threshold, missing-right-first
 * order among equal values). */
static void
ddp_random(void)
{
	int trial, okd = 0, ntrial = getenv("PT_SANITIZE") ? 10 : 40, nvalid = 0;

	for (trial = 0; trial < ntrial; trial++) {
		prob p;
		int N = 20 + (int)(rn() % 100), F = 1 + (int)(rn() % 3);
		int A = 2 + (int)(rn() % 3), B = 1 + (int)(rn() % 5), f, k, ml;
		int bf = -1, bk = -1, bml = 0;
		uint64_t minsize = 1 + rn() % 10;
		double best = 0;
		pt_split sp;

		prob_make(&p, N, F, A, B, trial % 2 ? 0.2 : 0.0, trial % 2);
		for (f = 0; f < F; f++)
			for (k = 0; k < B; k++)
				for (ml = 0; ml < 2; ml++) {
					double d = naive_ddp(&p, f, k, ml, minsize);
					int nm = 0, i;
					for (i = 0; i < N; i++)
						nm += isnan(p.x[i * F + f]);
					if (ml && nm == 0)
						continue;
					if (isnan(d) || (bf >= 0 && !(d > best)))
						continue;
					best = d;
					bf = f;
					bk = k;
					bml = ml;
				}
		nvalid += bf >= 0;
		if (ddp_search(&p, minsize, &sp) == 0 && sp.feature == bf &&
		    (bf < 0 || (sp.k == bk && sp.missing_left == bml &&
		    sp.dscore == best)))
			okd++;
		else
			diag("ddp differs: trial %d: got %d/%d/%d, naive %d/%d/%d",
			    trial, sp.feature, sp.k, sp.missing_left, bf, bk, bml);
		prob_free(&p);
	}
	ok(okd == ntrial && nvalid > ntrial / 2, "ddp: equals the naive "
	    "criterion on random problems (%d/%d, %d with a valid split)",
	    okd, ntrial, nvalid);
}

int
main(void)
{
	int trial, ntrial = getenv("PT_SANITIZE") ? 12 : 40;
	int okg = 0, oke = 0, okroot = 0, nexact = 0, nwide = 0;

	for (trial = 0; trial < ntrial; trial++) {
		prob p;
		int N = 30 + (int)(rn() % 90), F = 1 + (int)(rn() % 3);
		int A = 2 + (int)(rn() % 3), B = 1 + (int)(rn() % 4);
		int depth = 1 + (int)(rn() % 3), kind = trial % 3;
		uint64_t minsize = 1 + rn() % 8;
		double pmiss = trial % 3 == 0 ? 0.0 : 0.2;
		pt_ptree *t;
		rnode nodes[64];
		int *rows = malloc((size_t)N * sizeof *rows), i;

		prob_make(&p, N, F, A, B, pmiss, kind);
		for (i = 0; i < N; i++)
			rows[i] = i;
		memset(nodes, 0, sizeof nodes);
		t = grow(&p, depth, minsize, PT_CRIT_WELFARE);
		naive_grow(&p, nodes, 1, rows, N, depth, minsize);
		naive_prune(nodes, 1, 63);
		if (t && same_tree(&p, t, nodes, 1) && t->complete)
			okg++;
		else
			diag("greedy differs: trial %d N %d F %d A %d B %d depth %d "
			    "min %llu", trial, N, F, A, B, depth,
			    (unsigned long long)minsize);
		pt_ptree_free(t);
		if (N >= 2 * (int)minsize && trial < (getenv("PT_SANITIZE") ?
		    6 : 20)) {
			pt_xsum best, got;
			int rf = -1, rk = -1, rml = -1;
			if (kind == 2) {
				nwide++;
				pt_ptree_free(exact(&p, minsize));
				free(rows);
				prob_free(&p);
				continue;
			}
			nexact++;
			exhaustive2(&p, minsize, &best, &rf, &rk, &rml);
			t = exact(&p, minsize);
			if (t != NULL) {
				tree_value(&p, t, &got);
				if (pt_xsum_cmp(&got, &best) == 0)
					oke++;
				else
					diag("exact value differs: trial %d", trial);
				if (t->nodes[0].feature == rf &&
				    t->nodes[0].missing_left == rml &&
				    t->nodes[0].threshold ==
				    p.m->features[rf].bounds[rk])
					okroot++;
				else if (t->nodes[0].feature < 0)
					okroot += 0;
			}
			pt_ptree_free(t);
		}
		free(rows);
		prob_free(&p);
	}
	/* The exact search on more thresholds (the segment trees span
	 * several levels) with empty bins and larger min-node-sizes. */
	for (trial = 0; trial < (getenv("PT_SANITIZE") ? 4 : 12); trial++) {
		prob p;
		int N = 40 + (int)(rn() % 110), F = 1 + (int)(rn() % 3);
		int A = 2 + (int)(rn() % 4), B = 5 + (int)(rn() % 10);
		uint64_t minsize = 1 + rn() % 12;
		pt_xsum best, got;
		int rf = -1, rk = -1, rml = -1;
		pt_ptree *t;

		prob_make(&p, N, F, A, B, trial % 2 ? 0.15 : 0.0, trial % 3);
		if (N < 2 * (int)minsize) {
			prob_free(&p);
			continue;
		}
		if (trial % 3 == 2) {
			nwide++;
			pt_ptree_free(exact(&p, minsize));
			prob_free(&p);
			continue;
		}
		nexact++;
		exhaustive2(&p, minsize, &best, &rf, &rk, &rml);
		t = exact(&p, minsize);
		if (t != NULL) {
			tree_value(&p, t, &got);
			if (pt_xsum_cmp(&got, &best) == 0)
				oke++;
			else
				diag("exact value differs: wide trial %d", trial);
			if (t->nodes[0].feature == rf &&
			    t->nodes[0].missing_left == rml &&
			    t->nodes[0].threshold == p.m->features[rf].bounds[rk])
				okroot++;
		}
		pt_ptree_free(t);
		prob_free(&p);
	}
	ddp_hand();
	ddp_random();
	ok(okg == ntrial, "greedy growth equals the naive greedy reference "
	    "(%d/%d random problems, ties and missing values)", okg, ntrial);
	ok(oke == nexact && nexact > 0, "exact depth 2 reaches the exhaustive "
	    "optimum (%d/%d)", oke, nexact);
	ok(okroot == nexact, "exact depth 2 picks the exhaustive search's root "
	    "under the tie rule (%d/%d)", okroot, nexact);
	ok(nwide > 0 && exact_refused == nwide, "exact refuses scores too wide "
	    "for its 128-bit sums, with a message (%d/%d)", exact_refused,
	    nwide);
	return done_testing();
}

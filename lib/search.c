/*
 * search.c: best splits on exact histograms, greedy growth, the exact
 * depth-2 search, policy evaluation.
 */
#include "search.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sums of a set of rows: n, and per arm cnt, ysum, gsum. */
typedef struct side {
	uint64_t n;
	uint64_t cnt[64];
	pt_wide y[64], g[64];
} side;

static void
side_zero(side *s, int A)
{
	s->n = 0;
	memset(s->cnt, 0, (size_t)A * sizeof s->cnt[0]);
	memset(s->y, 0, (size_t)A * sizeof s->y[0]);
	memset(s->g, 0, (size_t)A * sizeof s->g[0]);
}

static void
side_add_cell(side *s, const pt_hist *h, size_t cell)
{
	int a, A = h->narms;

	s->n += h->n[cell];
	for (a = 0; a < A; a++) {
		s->cnt[a] += h->cnt[cell * A + a];
		pt_wide_add(&s->y[a], &h->ysum[cell * A + a]);
		pt_wide_add(&s->g[a], &h->gsum[cell * A + a]);
	}
}

/* d = a - b */
static void
side_diff(side *d, const side *a, const side *b, int A)
{
	int k;

	d->n = a->n - b->n;
	for (k = 0; k < A; k++) {
		d->cnt[k] = a->cnt[k] - b->cnt[k];
		d->y[k] = a->y[k];
		pt_wide_sub(&d->y[k], &b->y[k]);
		d->g[k] = a->g[k];
		pt_wide_sub(&d->g[k], &b->g[k]);
	}
}

/* The best arm of a side (lowest index on ties). */
static int
side_best(const side *s, int A)
{
	int a, best = 0;

	for (a = 1; a < A; a++)
		if (pt_wide_cmp(&s->g[a], &s->g[best]) > 0)
			best = a;
	return best;
}

/* ddp: the uplift criterion, or NAN when the split is not valid. */
static double
ddp_score(const side *L, const side *R, int A, int control, int scale)
{
	double uL[64], uR[64], rl, rr, maxR = -INFINITY, minL = INFINITY,
	    maxL = -INFINITY, minR = INFINITY;
	int a;

	for (a = 0; a < A; a++)
		if (L->cnt[a] == 0 || R->cnt[a] == 0)
			return NAN;
	if (A < 2)
		return NAN;
	rl = pt_wide_round(&L->y[control], scale) / (double)L->cnt[control];
	rr = pt_wide_round(&R->y[control], scale) / (double)R->cnt[control];
	for (a = 0; a < A; a++) {
		if (a == control)
			continue;
		uL[a] = pt_wide_round(&L->y[a], scale) / (double)L->cnt[a] - rl;
		uR[a] = pt_wide_round(&R->y[a], scale) / (double)R->cnt[a] - rr;
		maxR = uR[a] > maxR ? uR[a] : maxR;
		minR = uR[a] < minR ? uR[a] : minR;
		maxL = uL[a] > maxL ? uL[a] : maxL;
		minL = uL[a] < minL ? uL[a] : minL;
	}
	return maxR - minL > maxL - minR ? maxR - minL : maxL - minR;
}

/* The best split over the features with mask[f] set (NULL: all). */
static int
search_node(const pt_hist *h, int slot, int crit, int control,
    uint64_t min_node_size, const unsigned char *mask, pt_split *sp,
    pt_err *e)
{
	int A = h->narms, f, k, ms;
	size_t base = (size_t)slot * h->ncells, c;
	side *tot, *P, *L, *R;
	int found = 0;

	sp->feature = -1;
	if (A > 64)
		return pt_fail(e, PT_ELIMIT, "", "at most 64 actions");
	if (crit == PT_CRIT_DDP && !h->has_treatment)
		return pt_fail(e, PT_EUSAGE, "", "criterion ddp needs treatment "
		    "and outcome columns (not rewards)");
	tot = malloc(4 * sizeof *tot);
	if (tot == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	P = tot + 1;
	L = tot + 2;
	R = tot + 3;
	side_zero(tot, A);
	for (c = 0; c < (size_t)h->nbins[0]; c++)
		side_add_cell(tot, h, base + h->off[0] + c);
	for (f = 0; f < h->nfeatures; f++) {
		int nb = h->nbins[f];
		size_t fb = base + h->off[f];
		if (mask != NULL && !mask[f])
			continue;
		uint64_t nmiss = h->n[fb + nb - 1];
		side_zero(P, A);
		for (k = 0; k < nb - 2; k++) {
			side_add_cell(P, h, fb + k);
			for (ms = 0; ms < 2; ms++) {
				int better;
				if (ms == 1 && nmiss == 0)
					break;
				*L = *P;
				if (ms == 1)
					side_add_cell(L, h, fb + nb - 1);
				if (L->n < min_node_size || tot->n - L->n <
				    min_node_size)
					continue;
				side_diff(R, tot, L, A);
				if (crit == PT_CRIT_DDP) {
					double d = ddp_score(L, R, A, control,
					    h->scale);
					if (isnan(d))
						continue;
					better = !found || d > sp->dscore;
					if (better)
						sp->dscore = d;
				} else {
					pt_wide s = L->g[side_best(L, A)];
					pt_wide_add(&s, &R->g[side_best(R, A)]);
					better = !found || pt_wide_cmp(&s,
					    &sp->score) > 0;
					if (better)
						sp->score = s;
				}
				if (better) {
					found = 1;
					sp->feature = f;
					sp->k = k;
					sp->missing_left = ms;
				}
			}
		}
	}
	free(tot);
	return 0;
}

int
pt_search_node(const pt_hist *h, int slot, int crit, int control,
    uint64_t min_node_size, pt_split *sp, pt_err *e)
{
	if (pt_hist_folded(h, e) < 0)
		return -1;
	return search_node(h, slot, crit, control, min_node_size, NULL, sp, e);
}

/* Node statistics from exact sums. */
static void
set_stats(pt_pnode *p, const side *s, int A, int scale)
{
	int a;

	p->rows = s->n;
	p->action = side_best(s, A);
	for (a = 0; a < A; a++) {
		p->count[a] = s->cnt[a];
		p->mean[a] = s->cnt[a] ? pt_wide_round(&s->y[a], scale) /
		    (double)s->cnt[a] : 0.0;
		p->value[a] = s->n ? pt_wide_round(&s->g[a], scale) /
		    (double)s->n : 0.0;
	}
}

static void
complete(pt_ptree *t)
{
	int i;

	for (i = 0; i < t->nnodes; i++)
		t->nodes[i].open = 0;
	pt_ptree_prune(t);
	t->complete = 1;
}

/* Feature masks per open node for a forest's trees: NULL for all. */
typedef struct maskspec {
	int mtry;
	uint64_t seed;
} maskspec;

typedef struct fkey {
	uint64_t h;
	int f;
} fkey;

static int
fkey_cmp(const void *a, const void *b)
{
	const fkey *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return (x->f > y->f) - (x->f < y->f);
}

/* mask[f] = 1 for the mtry features of node id with the smallest hashes
 * of (seed, node id, feature), lowest index on equal hashes.  Returns -1
 * out of memory. */
static int
node_mask(const maskspec *ms, uint32_t id, int F, unsigned char *mask)
{
	fkey *k = malloc((size_t)F * sizeof *k);
	uint64_t base = pt_splitmix64(ms->seed ^ pt_splitmix64(id));
	int f;

	if (k == NULL)
		return -1;
	for (f = 0; f < F; f++) {
		k[f].h = pt_splitmix64(base ^ (uint64_t)f);
		k[f].f = f;
	}
	qsort(k, (size_t)F, sizeof *k, fkey_cmp);
	for (f = 0; f < F; f++)
		mask[f] = 0;
	for (f = 0; f < F && f < ms->mtry; f++)
		mask[k[f].f] = 1;
	free(k);
	return 0;
}

/* One level of growth from the partial h of t's open nodes (checked by
 * the caller), trying at each node the features of its mask. */
static int
grow_level(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    const maskspec *msk, pt_err *e)
{
	uint32_t *ids = NULL;
	int nopen, slot, A = h->narms, i, rc = -1;
	side *s = NULL;
	unsigned char *mask = NULL;

	if ((nopen = pt_ptree_open(t, &ids, e)) < 0)
		return -1;
	if (nopen != h->nnodes)
		goto nodes;
	for (i = 0; i < nopen; i++)
		if (ids[i] != h->nodes[i])
			goto nodes;
	s = malloc(3 * sizeof *s);
	mask = malloc((size_t)h->nfeatures + 1);
	if (s == NULL || mask == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	for (slot = 0; slot < nopen; slot++) {
		int k = pt_ptree_find(t, ids[slot]), f, c;
		pt_split sp;
		size_t fb;
		pt_pnode *p;
		side_zero(&s[0], A);
		for (c = 0; c < h->nbins[0]; c++)
			side_add_cell(&s[0], h, (size_t)slot * h->ncells + c);
		set_stats(&t->nodes[k], &s[0], A, h->scale);
		t->nodes[k].open = 0;
		if (msk != NULL && node_mask(msk, ids[slot], h->nfeatures,
		    mask) < 0) {
			pt_fail(e, PT_ENOMEM, "", "out of memory");
			goto out;
		}
		if (search_node(h, slot, t->criterion, m->control,
		    t->min_node_size, msk ? mask : NULL, &sp, e) < 0)
			goto out;
		if (sp.feature < 0)
			continue;
		f = sp.feature;
		/* The children's sums, as the search saw them. */
		fb = (size_t)slot * h->ncells + h->off[f];
		side_zero(&s[1], A);
		for (c = 0; c <= sp.k; c++)
			side_add_cell(&s[1], h, fb + c);
		if (sp.missing_left)
			side_add_cell(&s[1], h, fb + h->nbins[f] - 1);
		side_diff(&s[2], &s[0], &s[1], A);
		if (pt_ptree_add(t, 2 * ids[slot], e) < 0 ||
		    pt_ptree_add(t, 2 * ids[slot] + 1, e) < 0)
			goto out;
		k = pt_ptree_find(t, ids[slot]);
		p = &t->nodes[k];
		p->feature = f;
		p->threshold = m->features[f].bounds[sp.k];
		p->missing_left = sp.missing_left;
		for (c = 0; c < 2; c++) {
			pt_pnode *ch = &t->nodes[pt_ptree_find(t, 2 * ids[slot] +
			    (uint32_t)c)];
			set_stats(ch, &s[1 + c], A, h->scale);
			ch->open = 1;
		}
	}
	t->level++;
	{
		int any = 0;
		for (i = 0; i < t->nnodes; i++)
			any |= t->nodes[i].open;
		if (t->level >= t->depth || !any)
			complete(t);
	}
	rc = 0;
	goto out;
nodes:
	pt_fail(e, PT_EMISMATCH, "", "partial of other open nodes than the "
	    "tree's");
out:
	free(ids);
	free(s);
	free(mask);
	return rc;
}


int
pt_search_grow(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    pt_err *e)
{
	if (t->complete)
		return pt_fail(e, PT_EUSAGE, "", "the tree is complete (depth "
		    "%d reached)", t->depth);
	if (pt_ptree_check_manifest(t, m, e) < 0)
		return -1;
	if (pt_hist_folded(h, e) < 0)
		return -1;
	if (h->pairs)
		return pt_fail(e, PT_EUSAGE, "", "a pair partial is for the "
		    "exact search (best --exact)");
	if (strcmp(h->manifest, t->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "partial of manifest %s, the "
		    "tree's is %s", h->manifest, t->manifest);
	if (t->level == 0 ? h->tree[0] != '\0' : strcmp(h->tree, t->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "partial of tree %s, not of "
		    "this tree (%s)", h->tree[0] ? h->tree : "(root)",
		    t->level == 0 ? "(root)" : t->digest);
	if (h->level != t->level)
		return pt_fail(e, PT_EMISMATCH, "", "partial of level %d, the "
		    "tree is at level %d", h->level, t->level);
	if (t->level == 0)
		snprintf(t->model, sizeof t->model, "%s", h->model);
	else if (strcmp(h->model, t->model) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "partial of model %s, the "
		    "tree's is %s", h->model[0] ? h->model : "(none)",
		    t->model[0] ? t->model : "(none)");
	if (h->narms != t->narms || h->nfeatures != t->nfeatures)
		return pt_fail(e, PT_EMISMATCH, "", "partial of another shape");
	return grow_level(t, h, m, NULL, e);
}

/* ---- rows in memory --------------------------------------------------- */

void
pt_rowset_init(pt_rowset *r, const pt_manifest *m)
{
	memset(r, 0, sizeof *r);
	r->nfeatures = m->nfeatures;
	r->narms = m->nvocab;
	r->has_treatment = m->nrewards == 0;
}

void
pt_rowset_free(pt_rowset *r)
{
	free(r->bin);
	free(r->g);
	free(r->y);
	free(r->w);
	free(r->rowhash);
	memset(r, 0, sizeof *r);
}

int
pt_rowset_add(pt_rowset *r, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, pt_err *e)
{
	size_t i, need = r->n + b->nrows;
	int f, a, A = r->narms, F = r->nfeatures;

	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		void *p;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(r->bin, cap * F * sizeof *r->bin)) == NULL)
			goto nomem;
		r->bin = p;
		if ((p = realloc(r->g, cap * A * sizeof *r->g)) == NULL)
			goto nomem;
		r->g = p;
		if ((p = realloc(r->y, cap * sizeof *r->y)) == NULL)
			goto nomem;
		r->y = p;
		if ((p = realloc(r->w, cap * sizeof *r->w)) == NULL)
			goto nomem;
		r->w = p;
		if ((p = realloc(r->rowhash, cap * sizeof *r->rowhash)) == NULL)
			goto nomem;
		r->rowhash = p;
		r->cap = cap;
	}
	/* Bins: the frames' codes where they carry them (the same bins,
	 * checked against the feature's), else a search of the boundaries. */
	for (f = 0; f < F; f++) {
		const pt_feature *pf = &m->features[f];
		if (c->code != NULL && c->code[f] >= 0) {
			const uint8_t *code = PT_COL_U8(b, c->code[f]);
			for (i = 0; i < b->nrows; i++) {
				if (code[i] > pf->nbounds + 1)
					return pt_fail(e, PT_EVALUE, "", "row %zu: bin "
					    "code %d of feature %s is past its bins",
					    r->n + i + 1, code[i], pf->name);
				r->bin[(r->n + i) * F + f] = code[i];
			}
		} else {
			const double *x = PT_COL_F64(b, c->feature[f]);
			for (i = 0; i < b->nrows; i++)
				r->bin[(r->n + i) * F + f] = (uint32_t)
				    pt_feature_bin(pf, x[i]);
		}
	}
	for (i = 0; i < b->nrows; i++) {
		size_t j = r->n + i;
		for (a = 0; a < A; a++) {
			double v = PT_COL_F64(b, c->score[a])[i];
			if (!isfinite(v))
				return pt_fail(e, PT_EVALUE, "", "row %zu: a "
				    "score is not finite", j + 1);
			r->g[j * A + a] = v;
		}
		r->w[j] = c->treatment >= 0 ? PT_COL_I32(b, c->treatment)[i] : -1;
		r->rowhash[j] = c->row >= 0 ? PT_COL_U64(b, c->row)[i] : 0;
		if (c->row < 0)
			r->no_rowhash = 1;
		r->y[j] = c->outcome >= 0 ? PT_COL_F64(b, c->outcome)[i] : 0.0;
		if (r->w[j] >= A)
			return pt_fail(e, PT_EVALUE, "", "row %zu: treatment "
			    "code out of range", j + 1);
		if (r->w[j] >= 0 && !isfinite(r->y[j]))
			return pt_fail(e, PT_EVALUE, "", "row %zu: outcome is "
			    "not finite", j + 1);
	}
	r->n = need;
	return 0;
nomem:
	return pt_fail(e, PT_ENOMEM, "", "out of memory holding %zu rows", need);
}

/* ---- exact depth 2 ---------------------------------------------------- */

/*
 * For every root split (f1, k1, missing side) the best depth-2 tree under
 * it has, on each side, that side's best single split or a leaf (the two
 * sides are independent).  So for each root feature the search sweeps the
 * rows in that feature's bin order, growing or shrinking one side by one
 * root bin at a time, and asks after each bin for the side's best value.
 *
 * The question is answered without scanning bins.  For a set S and a
 * second feature f, let P_a(t) be the sum of arm a's scores over the rows
 * of S with f-bin <= t (missing excluded), T_a the total over S and M_a
 * that of S's missing rows.  The best split on f at t, missing right, is
 * max_a P_a(t) + max_b (T_b - P_b(t)) = max over arm pairs (a, b) of
 * (P_a(t) - P_b(t)) + T_b; missing left adds M_a - M_b.  (a = b gives the
 * leaf, which is always allowed.)  So per feature a segment tree over the
 * bins holds, per node, the arms' sums and, per pair, the largest prefix
 * of P_a - P_b inside the node: adding or removing a row is a point update
 * (O(log B) per feature), the best split on f is a range query over the
 * thresholds that leave min-node-size rows on both sides (found in a
 * Fenwick tree of counts).  Per root feature: O(N p A^2 log B).  The
 * second features are taken one at a time, so one tree is in memory (and
 * mostly in cache), and a side's value is the best over them.
 *
 * Sums are 128-bit integers at one scale (the lowest bit of any score),
 * checked not to overflow, so comparisons are exact and ties are real.
 * Scores too wide for that use the histogram sweep (pt_wide sums), which
 * costs O(p^2 B^2 A).  Only the root is chosen by the sweep; the children's
 * splits are then found by the greedy search on each side's histogram, so
 * every tie follows the fixed rule.
 */

__extension__ typedef __int128 i128;

/* The histogram sweep's work limit (cell visits, about 2 minutes). */
#define WIDE_LIMIT 2e11

/* Cost in node operations of the sweep for nrows rows (0: a bound that
 * needs no rows), and its memory. */
static double
log2up(double x)
{
	double l = 0;

	while (x > 1) {
		x /= 2;
		l++;
	}
	return l;
}

double
pt_exact_cost(const pt_manifest *m, size_t nrows, int narms)
{
	double c = 0, w = narms + (double)narms * (narms - 1), p = m->nfeatures;
	int f1, f;

	for (f1 = 0; f1 < m->nfeatures; f1++) {
		double k = m->features[f1].nbounds, q = 0;
		if (k > (double)nrows)
			k = (double)nrows;
		for (f = 0; f < m->nfeatures; f++)
			q += 2 * (log2up(m->features[f].nbounds + 1.0) + 1);
		/* Four sweeps: each row updates every feature's tree; each
		 * distinct threshold asks every feature twice. */
		c += 4 * (double)nrows * p * (log2up(m->features[f1].nbounds +
		    1.0) + 1) * w + 4 * k * 2 * q * w;
		(void)f;
	}
	return c;
}

size_t
pt_exact_memory(const pt_manifest *m, size_t nrows, int narms)
{
	size_t W = (size_t)narms * (size_t)narms, tree, cells = 0, maxk = 0;
	size_t hist, L = 1;
	int f;

	for (f = 0; f < m->nfeatures; f++) {
		size_t nb = (size_t)m->features[f].nbounds + 2;
		while (L < nb - 1)
			L *= 2;
		cells += nb;
		if (nb > maxk)
			maxk = nb;
	}
	/* One segment tree at a time (the largest feature's). */
	tree = 2 * L * W * sizeof(i128) + (L + 1) * sizeof(uint32_t) +
	    4 * maxk * (sizeof(i128) + 1) + nrows * ((size_t)narms *
	    sizeof(i128) + sizeof(size_t));
	/* The children's histograms, once the sweep's tree is freed. */
	hist = 2 * cells * (8 + (size_t)narms * (8 + 2 * sizeof(pt_wide)));
	return (tree > hist ? tree : hist) + nrows * ((size_t)narms *
	    sizeof(pt_wide) + sizeof(pt_wide));
}

/* The sweep's state for one second feature f: its segment tree, its
 * Fenwick tree of counts, its missing rows, and the set's totals. */
typedef struct xseg {
	int A, W, np, F, f;
	int pa[4096], pb[4096];  /* arms of pair q */
	const pt_rowset *r;
	const i128 *G;           /* n * A scores at the common scale */
	size_t L;                /* leaves of f's tree (a power of two) */
	int nb;                  /* f's bins */
	i128 *node;              /* 2L nodes of W values (room for any f) */
	uint32_t *fw;            /* counts, 1-based, L + 1 */
	uint64_t mn;             /* missing rows */
	i128 *ms;                /* A: their sums */
	i128 *T;                 /* A: totals of the set */
	i128 *tmp;               /* 4 * W scratch */
	uint64_t n, minsize;
} xseg;

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
xseg_init(xseg *s, const pt_rowset *r, const pt_manifest *m, const i128 *G,
    uint64_t minsize)
{
	int f, a, b, A = r->narms;
	size_t maxL = 1;

	memset(s, 0, sizeof *s);
	s->A = A;
	s->F = r->nfeatures;
	s->r = r;
	s->G = G;
	s->minsize = minsize;
	for (a = 0; a < A; a++)
		for (b = 0; b < A; b++)
			if (a != b) {
				s->pa[s->np] = a;
				s->pb[s->np] = b;
				s->np++;
			}
	s->W = A + s->np;
	for (f = 0; f < s->F; f++)
		while (maxL < (size_t)m->features[f].nbounds + 1)
			maxL *= 2;
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
xseg_reset(xseg *s, const pt_manifest *m, int f)
{
	size_t L = 1;

	s->f = f;
	s->nb = m->features[f].nbounds + 2;
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
 * tables for the common arm counts, where it is most of the search's time. */
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
			i128 x = l[pa[q]] - l[pb[q]] + rr[A + q];
			d[A + q] = x > l[A + q] ? x : l[A + q];
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
	uint32_t bin = s->r->bin[j * (size_t)s->F + s->f];
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

/* Smallest bin t whose count through t is at least x (L when none). */
static size_t
fw_lower(const uint32_t *fw, size_t L, uint64_t x)
{
	size_t pos = 0, step;

	for (step = L; step > 0; step >>= 1)
		if (pos + step <= L && fw[pos + step] < x) {
			pos += step;
			x -= fw[pos];
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
			i128 x = pre[s->pa[q]] - pre[s->pb[q]] + p[A + q];
			if (k == 0 || x > mx[q])
				mx[q] = x;
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

/* Records value v of the set at threshold k of family V: the best over
 * second features so far. */
static void
xput(i128 *V, int k, i128 v, int first)
{
	if (first || v > V[k])
		V[k] = v;
}

/* The root split of the fast sweep into *bf, *bk, *bms.  Returns 0, 1 when
 * no root split is valid, -1 out of memory. */
static int
exact2_fast(const pt_rowset *r, const pt_manifest *m, const i128 *G,
    uint64_t minsize, int *bf, int *bk, int *bms)
{
	xseg s;
	size_t n = r->n, i, *order = NULL, *start = NULL, maxnb = 0;
	int F = r->nfeatures, f1, f, rc = -1, found = 0, ms;
	i128 *V = NULL, best = 0;
	unsigned char *valid = NULL;

	for (f1 = 0; f1 < F; f1++)
		if ((size_t)m->features[f1].nbounds + 2 > maxnb)
			maxnb = (size_t)m->features[f1].nbounds + 2;
	if (xseg_init(&s, r, m, G, minsize) < 0)
		goto out;
	order = malloc(n * sizeof *order);
	start = malloc((maxnb + 1) * sizeof *start);
	V = malloc(4 * maxnb * sizeof *V);
	valid = malloc(2 * maxnb);
	if (order == NULL || start == NULL || V == NULL || valid == NULL)
		goto out;
	for (f1 = 0; f1 < F; f1++) {
		int nb = m->features[f1].nbounds + 2, K = nb - 2, k;
		size_t nmiss;
		i128 *VL0 = V, *VR0 = V + maxnb, *VL1 = V + 2 * maxnb,
		    *VR1 = V + 3 * maxnb;
		unsigned char *v0 = valid, *v1 = valid + maxnb;
#define BIN_ROWS(b, neg) do { \
	for (i = start[(b)]; i < start[(b) + 1]; i++) \
		xseg_row(&s, order[i], (neg)); \
} while (0)
		if (K <= 0)
			continue;
		/* Rows in f1's bin order (a counting sort). */
		memset(start, 0, ((size_t)nb + 1) * sizeof *start);
		for (i = 0; i < n; i++)
			start[r->bin[i * F + f1] + 1]++;
		for (k = 0; k < nb; k++)
			start[k + 1] += start[k];
		for (i = 0; i < n; i++)
			order[start[r->bin[i * F + f1]]++] = i;
		for (k = nb; k > 0; k--)
			start[k] = start[k - 1];
		start[0] = 0;
		nmiss = start[nb] - start[nb - 1];
		for (k = 0; k < K; k++) {
			size_t nl = start[k + 1];
			v0[k] = nl >= minsize && n - nl >= minsize;
			nl += nmiss;
			v1[k] = nmiss > 0 && nl >= minsize && n - nl >= minsize;
		}
		/*
		 * One second feature at a time (its tree stays in cache), four
		 * sweeps: missing right, the left side grows, then the right
		 * side shrinks; missing left, the right side grows from the
		 * top, then the left side shrinks from the top.  A bin with
		 * no rows leaves the set as it was.
		 */
		for (f = 0; f < F; f++) {
			int first = f == 0;
			xseg_reset(&s, m, f);
			for (k = 0; k < K; k++) {
				int same = k > 0 && start[k + 1] == start[k];
				BIN_ROWS(k, 0);
				if (v0[k])
					xput(VL0, k, same ? VL0[k - 1] :
					    xseg_value(&s), first);
			}
			BIN_ROWS(K, 0);
			BIN_ROWS(K + 1, 0);
			for (k = 0; k < K; k++) {
				int same = k > 0 && start[k + 1] == start[k];
				BIN_ROWS(k, 1);
				if (v0[k])
					xput(VR0, k, same ? VR0[k - 1] :
					    xseg_value(&s), first);
			}
			BIN_ROWS(K, 1);
			BIN_ROWS(K + 1, 1);
			if (nmiss == 0)
				continue;
			for (k = K - 1; k >= 0; k--) {
				int same = k < K - 1 && start[k + 2] ==
				    start[k + 1];
				BIN_ROWS(k + 1, 0);
				if (v1[k])
					xput(VR1, k, same ? VR1[k + 1] :
					    xseg_value(&s), first);
			}
			BIN_ROWS(0, 0);
			BIN_ROWS(K + 1, 0);
			for (k = K - 1; k >= 0; k--) {
				int same = k < K - 1 && start[k + 2] ==
				    start[k + 1];
				BIN_ROWS(k + 1, 1);
				if (v1[k])
					xput(VL1, k, same ? VL1[k + 1] :
					    xseg_value(&s), first);
			}
		}
#undef BIN_ROWS
		/* Ties: lowest feature, threshold, missing-right first. */
		for (ms = 0; ms < 2; ms++)
			for (k = 0; k < K; k++) {
				i128 v;
				int better;
				if (!(ms ? v1[k] : v0[k]))
					continue;
				v = ms ? VL1[k] + VR1[k] : VL0[k] + VR0[k];
				better = !found || v > best;
				if (!better && v == best)
					better = f1 == *bf && (k < *bk ||
					    (k == *bk && ms < *bms));
				if (better) {
					found = 1;
					best = v;
					*bf = f1;
					*bk = k;
					*bms = ms;
				}
			}
	}
	rc = found ? 0 : 1;
out:
	xseg_free(&s);
	free(order);
	free(start);
	free(V);
	free(valid);
	return rc;
}

static void
hist_zero(pt_hist *h)
{
	size_t nc = h->ncells;

	memset(h->n, 0, nc * sizeof *h->n);
	memset(h->cnt, 0, nc * h->narms * sizeof *h->cnt);
	memset(h->ysum, 0, nc * h->narms * sizeof *h->ysum);
	memset(h->gsum, 0, nc * h->narms * sizeof *h->gsum);
}

/* Adds (sign +1) or removes row j into slot `slot` of h. */
static void
hist_row_at(pt_hist *h, const pt_rowset *r, size_t j, const pt_wide *G,
    const pt_wide *Y, int sign, int slot)
{
	int f, a, A = h->narms;

	for (f = 0; f < h->nfeatures; f++) {
		size_t cell = (size_t)slot * h->ncells + h->off[f] +
		    r->bin[j * r->nfeatures + f];
		h->n[cell] += sign > 0 ? 1 : (uint64_t)-1;
		for (a = 0; a < A; a++) {
			if (sign > 0)
				pt_wide_add(&h->gsum[cell * A + a], &G[j * A + a]);
			else
				pt_wide_sub(&h->gsum[cell * A + a], &G[j * A + a]);
		}
		if (r->w[j] >= 0) {
			size_t q = cell * A + (size_t)r->w[j];
			h->cnt[q] += sign > 0 ? 1 : (uint64_t)-1;
			if (sign > 0)
				pt_wide_add(&h->ysum[q], &Y[j]);
			else
				pt_wide_sub(&h->ysum[q], &Y[j]);
		}
	}
}

static void
hist_row(pt_hist *h, const pt_rowset *r, size_t j, const pt_wide *G,
    const pt_wide *Y, int sign)
{
	hist_row_at(h, r, j, G, Y, sign, 0);
}

static void
hist_row_slot(pt_hist *h, const pt_rowset *r, size_t j, const pt_wide *G,
    const pt_wide *Y, int slot)
{
	hist_row_at(h, r, j, G, Y, 1, slot);
}

/* The value of one side: its best split, or its best leaf. */
static int
side_value(const pt_hist *h, uint64_t minsize, pt_split *sp, pt_wide *v,
    pt_err *e)
{
	if (pt_search_node(h, 0, PT_CRIT_WELFARE, 0, minsize, sp, e) < 0)
		return -1;
	if (sp->feature >= 0) {
		*v = sp->score;
	} else {
		side s;
		int c;
		side_zero(&s, h->narms);
		for (c = 0; c < h->nbins[0]; c++)
			side_add_cell(&s, h, h->off[0] + c);
		*v = s.g[side_best(&s, h->narms)];
	}
	return 0;
}

/*
 * The histogram sweep, for scores too wide for 128-bit sums: per root
 * threshold, both sides' histograms are scanned with the greedy search's
 * function.  Returns 0, 1 when no root is valid, -1 with e set.
 */
static int
exact2_wide(const pt_rowset *r, const pt_manifest *m, const pt_wide *G,
    const pt_wide *Y, int scale, uint64_t minsize, int *bf, int *bk,
    int *bms, pt_err *e)
{
	pt_hist *HL = NULL, *HR = NULL;
	size_t i, n = r->n, *order = NULL, *start = NULL;
	int F = r->nfeatures, f1, ms, k1, found = 0, rc = -1;
	pt_wide best;

	HL = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e);
	HR = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e);
	if (HL == NULL || HR == NULL)
		goto out;
	HL->scale = HR->scale = scale;
	if ((order = malloc(n * sizeof *order)) == NULL)
		goto nomem;
	for (f1 = 0; f1 < F; f1++) {
		int nb = HL->nbins[f1];
		size_t nmiss;
		free(start);
		if ((start = calloc((size_t)nb + 1, sizeof *start)) == NULL)
			goto nomem;
		for (i = 0; i < n; i++)
			start[r->bin[i * F + f1] + 1]++;
		for (k1 = 0; k1 < nb; k1++)
			start[k1 + 1] += start[k1];
		for (i = 0; i < n; i++)
			order[start[r->bin[i * F + f1]]++] = i;
		for (k1 = nb; k1 > 0; k1--)
			start[k1] = start[k1 - 1];
		start[0] = 0;
		nmiss = start[nb] - start[nb - 1];
		for (ms = 0; ms < 2; ms++) {
			size_t nl = 0;
			if (ms == 1 && nmiss == 0)
				break;
			hist_zero(HL);
			hist_zero(HR);
			for (i = 0; i < n; i++)
				hist_row(HR, r, i, G, Y, 1);
			if (ms == 1)
				for (i = start[nb - 1]; i < start[nb]; i++) {
					hist_row(HL, r, order[i], G, Y, 1);
					hist_row(HR, r, order[i], G, Y, -1);
					nl++;
				}
			for (k1 = 0; k1 < nb - 2; k1++) {
				pt_split sl, sr;
				pt_wide vl, vr;
				int better;
				for (i = start[k1]; i < start[k1 + 1]; i++) {
					hist_row(HL, r, order[i], G, Y, 1);
					hist_row(HR, r, order[i], G, Y, -1);
					nl++;
				}
				if (start[k1 + 1] == start[k1] && k1 > 0)
					continue; /* same sides as before */
				if (nl < minsize || n - nl < minsize)
					continue;
				if (side_value(HL, minsize, &sl, &vl, e) < 0 ||
				    side_value(HR, minsize, &sr, &vr, e) < 0)
					goto out;
				pt_wide_add(&vl, &vr);
				better = !found || pt_wide_cmp(&vl, &best) > 0;
				if (!better && pt_wide_cmp(&vl, &best) == 0)
					better = f1 == *bf && (k1 < *bk ||
					    (k1 == *bk && ms < *bms));
				if (better) {
					found = 1;
					best = vl;
					*bf = f1;
					*bk = k1;
					*bms = ms;
				}
			}
		}
	}
	rc = found ? 0 : 1;
	goto out;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
out:
	free(order);
	free(start);
	pt_hist_free(HL);
	pt_hist_free(HR);
	return rc;
}

/* Row i goes left at a split (feature f, boundary k, missing side). */
static int
bin_left(const pt_manifest *m, uint32_t b, int f, int k, int ml)
{
	if (b == (uint32_t)m->features[f].nbounds + 1)
		return ml;
	return (int)b <= k;
}

/* Builds t under the root split: each side's split by the greedy search
 * on its histogram, then the nodes' statistics from the rows. */
static int
exact_build(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    const pt_wide *G, const pt_wide *Y, int scale, int bf, int bk, int bms,
    pt_err *e)
{
	pt_hist *H[2] = { NULL, NULL };
	pt_split sps[2];
	side *sd = NULL;
	size_t i, n = r->n;
	int s, k, A = r->narms, F = r->nfeatures, rc = -1;
	int nf[8], nk[8], nml[8];

	for (s = 0; s < 2; s++) {
		if ((H[s] = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e)) == NULL)
			goto out;
		H[s]->scale = scale;
	}
	for (i = 0; i < n; i++)
		hist_row(H[bin_left(m, r->bin[i * F + bf], bf, bk, bms) ? 0 : 1],
		    r, i, G, Y, 1);
	for (s = 0; s < 2; s++) {
		pt_wide v;
		if (side_value(H[s], t->min_node_size, &sps[s], &v, e) < 0)
			goto out;
	}
	if ((sd = malloc(7 * sizeof *sd)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	for (k = 0; k < 7; k++)
		side_zero(&sd[k], A);
	t->nodes[0].feature = bf;
	t->nodes[0].threshold = m->features[bf].bounds[bk];
	t->nodes[0].missing_left = bms;
	t->nodes[0].open = 0;
	for (s = 0; s < 2; s++) {
		if (pt_ptree_add(t, 2 + (uint32_t)s, e) < 0)
			goto out;
		if (sps[s].feature >= 0) {
			int q = pt_ptree_find(t, 2 + (uint32_t)s);
			t->nodes[q].feature = sps[s].feature;
			t->nodes[q].threshold =
			    m->features[sps[s].feature].bounds[sps[s].k];
			t->nodes[q].missing_left = sps[s].missing_left;
			if (pt_ptree_add(t, 4 + 2 * (uint32_t)s, e) < 0 ||
			    pt_ptree_add(t, 5 + 2 * (uint32_t)s, e) < 0)
				goto out;
		}
	}
	/* Route each row by bins; node id holds its sums in sd[id - 1]. */
	for (k = 0; k < 8; k++)
		nf[k] = -1;
	nf[1] = bf; nk[1] = bk; nml[1] = bms;
	for (s = 0; s < 2; s++) {
		nf[2 + s] = sps[s].feature;
		nk[2 + s] = sps[s].k;
		nml[2 + s] = sps[s].missing_left;
	}
	for (i = 0; i < n; i++) {
		int id = 1, a;
		for (;;) {
			side *x = &sd[id - 1];
			x->n++;
			for (a = 0; a < A; a++)
				pt_wide_add(&x->g[a], &G[i * A + a]);
			if (r->w[i] >= 0) {
				x->cnt[r->w[i]]++;
				pt_wide_add(&x->y[r->w[i]], &Y[i]);
			}
			if (id >= 4 || nf[id] < 0)
				break;
			id = 2 * id + (bin_left(m, r->bin[i * F + nf[id]],
			    nf[id], nk[id], nml[id]) ? 0 : 1);
		}
	}
	for (k = 0; k < t->nnodes; k++)
		set_stats(&t->nodes[k], &sd[t->nodes[k].id - 1], A, scale);
	t->level = 2;
	complete(t);
	t->exact = 1;
	rc = 0;
out:
	free(sd);
	pt_hist_free(H[0]);
	pt_hist_free(H[1]);
	return rc;
}

int
pt_search_exact2(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    pt_err *e)
{
	pt_wide *G = NULL, *Y = NULL;
	i128 *GI = NULL;
	size_t i, n = r->n;
	int scale = INT_MAX, gscale = INT_MAX, A = r->narms, maxexp = INT_MIN;
	int bf = -1, bk = -1, bms = 0, rc = -1, st, bits;
	uint64_t minsize = t->min_node_size;

	if (t->criterion != PT_CRIT_WELFARE)
		return pt_fail(e, PT_EUSAGE, "", "the exact search uses the "
		    "welfare criterion");
	if (n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows");
	if (A > 64)
		return pt_fail(e, PT_ELIMIT, "", "at most 64 actions");
	for (i = 0; i < n * A; i++)
		if (r->g[i] != 0) {
			int ex;
			if (pt_f64_lowbit(r->g[i]) < gscale)
				gscale = pt_f64_lowbit(r->g[i]);
			(void)frexp(r->g[i], &ex);
			if (ex > maxexp)
				maxexp = ex;
		}
	scale = gscale;
	for (i = 0; i < n; i++)
		if (r->w[i] >= 0 && r->y[i] != 0 && pt_f64_lowbit(r->y[i]) < scale)
			scale = pt_f64_lowbit(r->y[i]);
	if (scale == INT_MAX)
		scale = 0;
	G = malloc(n * A * sizeof *G);
	Y = malloc(n * sizeof *Y);
	if (G == NULL || Y == NULL)
		goto nomem;
	for (i = 0; i < n * A; i++)
		if (pt_wide_from_f64(&G[i], r->g[i], scale) < 0) {
			pt_fail(e, PT_ELIMIT, "", "scores span too wide a range "
			    "for exact sums");
			goto out;
		}
	for (i = 0; i < n; i++)
		if (pt_wide_from_f64(&Y[i], r->w[i] >= 0 ? r->y[i] : 0.0,
		    scale) < 0) {
			pt_fail(e, PT_ELIMIT, "", "outcomes span too wide a "
			    "range for exact sums");
			goto out;
		}
	/* 128-bit sums when |score| * 4n fits at the scores' own scale
	 * (pair differences of prefix sums plus a total). */
	for (bits = 0; ((size_t)1 << bits) <= n && bits < 63; bits++)
		;
	if (gscale == INT_MAX || maxexp - gscale + bits + 3 <= 126) {
		if (gscale == INT_MAX)
			gscale = 0;
		if ((GI = malloc(n * A * sizeof *GI)) == NULL)
			goto nomem;
		for (i = 0; i < n * A; i++)
			GI[i] = (i128)ldexp(r->g[i], -gscale);
		st = exact2_fast(r, m, GI, minsize, &bf, &bk, &bms);
		if (st < 0)
			goto nomem;
	} else {
		double c = 0, cells = 0;
		int f;
		for (f = 0; f < m->nfeatures; f++) {
			c += m->features[f].nbounds;
			cells += m->features[f].nbounds + 2;
		}
		if (4.0 * c * cells * A > WIDE_LIMIT) {
			pt_fail(e, PT_ELIMIT, "", "scores span more than 2^%d "
			    "(lowest bit 2^%d): too wide for the fast exact "
			    "search's 128-bit sums, and the histogram sweep "
			    "would take about %.3g cell visits; use fewer bins",
			    maxexp - gscale, gscale, 4.0 * c * cells * A);
			goto out;
		}
		st = exact2_wide(r, m, G, Y, scale, minsize, &bf, &bk, &bms, e);
		if (st < 0)
			goto out;
	}
	if (st == 1) {
		pt_fail(e, PT_EEMPTY, "", "no valid root split: min-node-size "
		    "%llu exceeds half of the %zu rows, so the tree would be "
		    "a single leaf", (unsigned long long)minsize, n);
		goto out;
	}
	rc = exact_build(t, r, m, G, Y, scale, bf, bk, bms, e);
	goto out;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
out:
	free(G);
	free(Y);
	free(GI);
	return rc;
}

/* ---- trees of a forest ------------------------------------------------ */

/* The boundary index of threshold t of feature f (t is a boundary). */
static int
bound_index(const pt_feature *pf, double t)
{
	int lo = 0, hi = pf->nbounds - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (pf->bounds[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
pt_search_forest_tree(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    int tree, const pt_forest_info *fi, pt_err *e)
{
	size_t i, n = r->n, nused = 0;
	int A = r->narms, F = r->nfeatures, scale = INT_MAX, rc = -1;
	unsigned char *use = NULL;
	pt_wide *G = NULL, *Y = NULL;
	int *bk = NULL;
	uint32_t *ids = NULL;
	pt_hist *h = NULL;
	maskspec msk;
	uint64_t cut, tseed = pt_splitmix64(fi->seed ^ pt_splitmix64((uint64_t)tree + 1));

	if (fi->subsample <= 0 || !(fi->subsample <= 1))
		return pt_fail(e, PT_EUSAGE, "", "subsample must be in (0, 1]");
	if (fi->subsample < 1 && r->no_rowhash)
		return pt_fail(e, PT_EVALUE, "", "subsampling needs the _row "
		    "column");
	cut = fi->subsample >= 1 ? UINT64_MAX :
	    (uint64_t)ldexp(fi->subsample, 64);
	use = malloc(n + 1);
	G = malloc((n * A + 1) * sizeof *G);
	Y = malloc((n + 1) * sizeof *Y);
	bk = malloc(((size_t)t->nnodes + 64) * sizeof *bk);
	if (use == NULL || G == NULL || Y == NULL || bk == NULL)
		goto nomem;
	/* Rows by hash of (row, seed, tree): the same rows whatever the
	 * order or partitioning of the input. */
	for (i = 0; i < n; i++) {
		int a;
		use[i] = fi->subsample >= 1 || pt_splitmix64(r->rowhash[i] ^ tseed) < cut;
		if (!use[i])
			continue;
		nused++;
		for (a = 0; a < A; a++)
			if (r->g[i * A + a] != 0 &&
			    pt_f64_lowbit(r->g[i * A + a]) < scale)
				scale = pt_f64_lowbit(r->g[i * A + a]);
		if (r->w[i] >= 0 && r->y[i] != 0 && pt_f64_lowbit(r->y[i]) < scale)
			scale = pt_f64_lowbit(r->y[i]);
	}
	if (nused == 0) {
		pt_fail(e, PT_EEMPTY, "", "tree %d: no rows in its subsample",
		    tree);
		goto out;
	}
	if (scale == INT_MAX)
		scale = 0;
	for (i = 0; i < n; i++) {
		int a;
		if (!use[i])
			continue;
		for (a = 0; a < A; a++)
			if (pt_wide_from_f64(&G[i * A + a], r->g[i * A + a],
			    scale) < 0)
				goto wide;
		if (pt_wide_from_f64(&Y[i], r->w[i] >= 0 ? r->y[i] : 0.0,
		    scale) < 0)
			goto wide;
	}
	msk.mtry = fi->mtry;
	msk.seed = tseed;
	while (!t->complete) {
		int nopen = pt_ptree_open(t, &ids, e), q;
		void *p;
		if (nopen < 0)
			goto out;
		if ((p = realloc(bk, ((size_t)t->nnodes + 1) * sizeof *bk)) == NULL)
			goto nomem;
		bk = p;
		for (q = 0; q < t->nnodes; q++)
			bk[q] = t->nodes[q].feature >= 0 ? bound_index(
			    &m->features[t->nodes[q].feature],
			    t->nodes[q].threshold) : -1;
		if ((h = pt_hist_new(m, NULL, NULL, t->level, ids, nopen,
		    e)) == NULL)
			goto out;
		h->scale = scale;
		for (i = 0; i < n; i++) {
			int lo = 0, hi = nopen - 1;
			const pt_pnode *nd;
			if (!use[i])
				continue;
			q = 0;
			while (t->nodes[q].feature >= 0) {
				int f = t->nodes[q].feature;
				uint32_t b = r->bin[i * F + f], id;
				if (b == (uint32_t)m->features[f].nbounds + 1)
					id = 2 * t->nodes[q].id +
					    (t->nodes[q].missing_left ? 0 : 1);
				else
					id = 2 * t->nodes[q].id +
					    ((int)b <= bk[q] ? 0 : 1);
				q = pt_ptree_find(t, id);
			}
			nd = &t->nodes[q];
			if (!nd->open)
				continue;
			while (lo < hi) {
				int mid = (lo + hi) / 2;
				if (ids[mid] < nd->id)
					lo = mid + 1;
				else
					hi = mid;
			}
			hist_row_slot(h, r, i, G, Y, lo);
		}
		if (grow_level(t, h, m, fi->mtry > 0 && fi->mtry < F ? &msk :
		    NULL, e) < 0)
			goto out;
		pt_hist_free(h);
		h = NULL;
		free(ids);
		ids = NULL;
	}
	rc = 0;
	goto out;
wide:
	pt_fail(e, PT_ELIMIT, "", "scores span too wide a range for exact sums");
	goto out;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
out:
	pt_hist_free(h);
	free(ids);
	free(use);
	free(G);
	free(Y);
	free(bk);
	return rc;
}

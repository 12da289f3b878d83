/*
 * search.c: best splits on exact histograms, greedy growth, the exact
 * depth-2 search, policy evaluation.
 */
#include "search_impl.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef pt_side side;

static void
side_zero(side *s, int A)
{
	s->n = 0;
	memset(s->cnt, 0, (size_t)A * sizeof s->cnt[0]);
	memset(s->y, 0, (size_t)A * sizeof s->y[0]);
	memset(s->g, 0, (size_t)A * sizeof s->g[0]);
	s->weighted = 0;
	s->wscale = 0;
	memset(s->wa, 0, (size_t)A * sizeof s->wa[0]);
	memset(&s->wn, 0, sizeof s->wn);
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
	pt_side_add_weights(s, h, cell);
}

void
pt_side_add_weights(pt_side *s, const pt_hist *h, size_t cell)
{
	if (h->wh != NULL) {
		int a, A = h->narms, WA = PT_HIST_WCOLS(h);
		const pt_wide *w = h->wh->gsum + cell * (size_t)WA;
		s->weighted = 1;
		s->wscale = h->wh->scale;
		for (a = 0; a < A && h->has_treatment; a++)
			pt_wide_add(&s->wa[a], &w[a]);
		pt_wide_add(&s->wn, &w[WA - 1]);
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
		d->wa[k] = a->wa[k];
		pt_wide_sub(&d->wa[k], &b->wa[k]);
	}
	d->weighted = a->weighted;
	d->wscale = a->wscale;
	d->wn = a->wn;
	pt_wide_sub(&d->wn, &b->wn);
}

/* The mean outcome of arm a on side s: weighted when s is. */
static double
side_mean(const side *s, int a, int scale)
{
	if (s->weighted)
		return pt_wide_sign(&s->wa[a]) > 0 ? pt_wide_round(&s->y[a],
		    scale) / pt_wide_round(&s->wa[a], s->wscale) : 0.0;
	return s->cnt[a] ? pt_wide_round(&s->y[a], scale) / (double)s->cnt[a] :
	    0.0;
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

double
pt_ddp_of_means(const double *mL, const double *mR, int A, int control)
{
	double maxR = -INFINITY, minL = INFINITY, maxL = -INFINITY,
	    minR = INFINITY;
	int a;

	for (a = 0; a < A; a++) {
		double uL, uR;
		if (a == control)
			continue;
		uL = mL[a] - mL[control];
		uR = mR[a] - mR[control];
		maxR = uR > maxR ? uR : maxR;
		minR = uR < minR ? uR : minR;
		maxL = uL > maxL ? uL : maxL;
		minL = uL < minL ? uL : minL;
	}
	return maxR - minL > maxL - minR ? maxR - minL : maxL - minR;
}

/* ddp: the uplift criterion, or NAN when the split is not valid. */
static double
ddp_score(const side *L, const side *R, int A, int control, int scale)
{
	double mL[64], mR[64];
	int a;

	for (a = 0; a < A; a++)
		if (L->cnt[a] == 0 || R->cnt[a] == 0 || (L->weighted &&
		    (pt_wide_sign(&L->wa[a]) <= 0 ||
		    pt_wide_sign(&R->wa[a]) <= 0)))
			return NAN;
	if (A < 2)
		return NAN;
	for (a = 0; a < A; a++) {
		mL[a] = side_mean(L, a, scale);
		mR[a] = side_mean(R, a, scale);
	}
	return pt_ddp_of_means(mL, mR, A, control);
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
		p->mean[a] = side_mean(s, a, scale);
		if (s->weighted)
			p->value[a] = pt_wide_sign(&s->wn) > 0 ?
			    pt_wide_round(&s->g[a], scale) /
			    pt_wide_round(&s->wn, s->wscale) : 0.0;
		else
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

void
pt_side_zero(pt_side *s, int A)
{
	side_zero(s, A);
}

void
pt_side_stats(pt_pnode *p, const pt_side *s, int A, int scale)
{
	set_stats(p, s, A, scale);
}

void
pt_search_complete(pt_ptree *t)
{
	complete(t);
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
		/* Below the root the node's rows were counted when its parent
		 * was split: a partial of other rows (a partition left out, or
		 * one of another split) is refused, not grown into a tree that
		 * describes no data. */
		if (t->level > 0 && s[0].n != t->nodes[k].rows) {
			pt_fail(e, PT_EMISMATCH, "", "node %" PRIu32 " holds %"
			    PRIu64 " rows in the partial, not the tree's %" PRIu64
			    " (a partial of other rows than the tree's)", ids[slot],
			    (uint64_t)s[0].n, (uint64_t)t->nodes[k].rows);
			goto out;
		}
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
	free(r->wt);
	memset(r, 0, sizeof *r);
}

int
pt_rowset_add(pt_rowset *r, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, pt_err *e)
{
	size_t i, need = r->n + b->nrows;
	int f, a, A = r->narms, F = r->nfeatures;

	if ((c->weight >= 0) != (r->wt != NULL) && r->n > 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames with and without "
		    "sample weights");
	if (need > r->cap || (c->weight >= 0 && r->wt == NULL)) {
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
		if (c->weight >= 0) {
			if ((p = realloc(r->wt, cap * sizeof *r->wt)) == NULL)
				goto nomem;
			r->wt = p;
		}
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
		if (r->wt != NULL) {
			double v = PT_COL_F64(b, c->weight)[i];
			if (!(v >= 0) || !isfinite(v))
				return pt_fail(e, PT_EVALUE, "", "row %zu: weight "
				    "%g is not a finite number >= 0", j + 1, v);
			r->wt[j] = v + 0.0;
		}
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

/* ---- rows into a histogram (forests) --------------------------------- */

/* Adds row j into slot `slot` of h. */
static void
hist_row_slot(pt_hist *h, const pt_rowset *r, size_t j, const pt_wide *G,
    const pt_wide *Y, int slot)
{
	int f, a, A = h->narms;

	for (f = 0; f < h->nfeatures; f++) {
		size_t cell = (size_t)slot * h->ncells + h->off[f] +
		    r->bin[j * r->nfeatures + f];
		h->n[cell]++;
		for (a = 0; a < A; a++)
			pt_wide_add(&h->gsum[cell * A + a], &G[j * A + a]);
		if (r->w[j] >= 0) {
			size_t q = cell * A + (size_t)r->w[j];
			h->cnt[q]++;
			pt_wide_add(&h->ysum[q], &Y[j]);
		}
	}
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

uint64_t
pt_forest_tree_seed(const pt_forest_info *fi, int tree)
{
	return pt_splitmix64(fi->seed ^ pt_splitmix64((uint64_t)tree + 1));
}

int
pt_search_grow_forest(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    int tree, const pt_forest_info *fi, pt_err *e)
{
	maskspec msk;

	if (t->complete)
		return pt_fail(e, PT_EUSAGE, "", "tree %d is complete", tree);
	if (pt_hist_folded(h, e) < 0)
		return -1;
	if (h->level != t->level)
		return pt_fail(e, PT_EMISMATCH, "", "tree %d: partial of level %d, "
		    "the tree is at level %d", tree, h->level, t->level);
	msk.mtry = fi->mtry;
	msk.seed = pt_forest_tree_seed(fi, tree);
	return grow_level(t, h, m, fi->mtry > 0 && fi->mtry < m->nfeatures ?
	    &msk : NULL, e);
}

int
pt_search_forest_tree(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    int tree, const pt_forest_info *fi, pt_err *e)
{
	size_t i, n = r->n, nused = 0;
	int A = r->narms, F = r->nfeatures, scale = INT_MAX, rc = -1;
	unsigned char *use = NULL;
	pt_wide *G = NULL, *Y = NULL;

	/* The reference grower of the tests: no weights. */
	if (r->wt != NULL)
		return pt_fail(e, PT_EUSAGE, "", "the rows-in-memory forest "
		    "grower does not take sample weights");
	int *bk = NULL;
	uint32_t *ids = NULL;
	pt_hist *h = NULL;
	maskspec msk;
	uint64_t cut, tseed = pt_forest_tree_seed(fi, tree);

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

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

int
pt_search_node(const pt_hist *h, int slot, int crit, int control,
    uint64_t min_node_size, pt_split *sp, pt_err *e)
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

int
pt_search_grow(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    pt_err *e)
{
	uint32_t *ids = NULL;
	int nopen, slot, A = h->narms, i, rc = -1;
	side *s = NULL;

	if (t->complete)
		return pt_fail(e, PT_EUSAGE, "", "the tree is complete (depth "
		    "%d reached)", t->depth);
	if (pt_ptree_check_manifest(t, m, e) < 0)
		return -1;
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
	if ((nopen = pt_ptree_open(t, &ids, e)) < 0)
		return -1;
	if (nopen != h->nnodes)
		goto nodes;
	for (i = 0; i < nopen; i++)
		if (ids[i] != h->nodes[i])
			goto nodes;
	s = malloc(3 * sizeof *s);
	if (s == NULL) {
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
		if (pt_search_node(h, slot, t->criterion, m->control,
		    t->min_node_size, &sp, e) < 0)
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
	return rc;
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
		r->cap = cap;
	}
	for (i = 0; i < b->nrows; i++) {
		size_t j = r->n + i;
		for (f = 0; f < F; f++)
			r->bin[j * F + f] = (uint32_t)pt_feature_bin(
			    &m->features[f], PT_COL_F64(b, c->feature[f])[i]);
		for (a = 0; a < A; a++) {
			double v = PT_COL_F64(b, c->score[a])[i];
			if (!isfinite(v))
				return pt_fail(e, PT_EVALUE, "", "row %zu: a "
				    "score is not finite", j + 1);
			r->g[j * A + a] = v;
		}
		r->w[j] = c->treatment >= 0 ? PT_COL_I32(b, c->treatment)[i] : -1;
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
 * it has, on each side, that side's best single split (the two sides are
 * independent), or a leaf when that side cannot be split.  So the search
 * sweeps each root feature's thresholds once per missing side, moving
 * rows from the right histogram to the left one (each row moves once per
 * sweep), and at each threshold asks both histograms for their best split
 * with the same function the greedy search uses.  Ties between roots go to
 * the lowest (feature, threshold, missing-right first) in that order.
 */

double
pt_exact_cost(const pt_manifest *m, size_t nrows, int narms)
{
	double cells = 0, cand = 0;
	int f;

	for (f = 0; f < m->nfeatures; f++) {
		cells += m->features[f].nbounds + 2;
		cand += m->features[f].nbounds;
	}
	/* Per root threshold (two sides), a scan of both histograms; plus
	 * moving every row once per root feature and side. */
	return 2.0 * cand * 2.0 * cells * narms + 2.0 * m->nfeatures *
	    (double)nrows * m->nfeatures * narms;
}

size_t
pt_exact_memory(const pt_manifest *m, size_t nrows, int narms)
{
	size_t cells = 0;
	int f;

	for (f = 0; f < m->nfeatures; f++)
		cells += (size_t)m->features[f].nbounds + 2;
	return 2 * cells * (8 + (size_t)narms * (8 + 2 * sizeof(pt_wide))) +
	    nrows * (sizeof(uint32_t) * 2 + (size_t)narms * sizeof(pt_wide) +
	    sizeof(pt_wide) + 8);
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

/* Moves (sign +1) or removes row j into h. */
static void
hist_row(pt_hist *h, const pt_rowset *r, size_t j, const pt_wide *G,
    const pt_wide *Y, int sign)
{
	int f, a, A = h->narms;

	for (f = 0; f < h->nfeatures; f++) {
		size_t cell = h->off[f] + r->bin[j * r->nfeatures + f];
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

int
pt_search_exact2(pt_ptree *t, const pt_rowset *r, const pt_manifest *m,
    pt_err *e)
{
	pt_hist *HL = NULL, *HR = NULL;
	pt_wide *G = NULL, *Y = NULL, best;
	size_t i, n = r->n;
	int scale = INT_MAX, A = r->narms, F = r->nfeatures, f1, ms, k1;
	int found = 0, bf = -1, bk = -1, bms = 0, rc = -1;
	pt_split bsl, bsr;
	size_t *order = NULL, *start = NULL;
	uint64_t minsize = t->min_node_size;

	if (t->criterion != PT_CRIT_WELFARE)
		return pt_fail(e, PT_EUSAGE, "", "the exact search uses the "
		    "welfare criterion");
	if (n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows");
	for (i = 0; i < n * A; i++)
		if (r->g[i] != 0 && pt_f64_lowbit(r->g[i]) < scale)
			scale = pt_f64_lowbit(r->g[i]);
	for (i = 0; i < n; i++)
		if (r->w[i] >= 0 && r->y[i] != 0 && pt_f64_lowbit(r->y[i]) < scale)
			scale = pt_f64_lowbit(r->y[i]);
	if (scale == INT_MAX)
		scale = 0;
	G = malloc(n * A * sizeof *G);
	Y = malloc(n * sizeof *Y);
	order = malloc(n * sizeof *order);
	start = malloc(((size_t)65536 + 3) * sizeof *start);
	if (G == NULL || Y == NULL || order == NULL || start == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
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
	HL = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e);
	HR = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e);
	if (HL == NULL || HR == NULL)
		goto out;
	HL->scale = HR->scale = scale;
	for (f1 = 0; f1 < F; f1++) {
		int nb = HL->nbins[f1];
		size_t *st;
		/* Rows of f1 in bin order (a counting sort). */
		free(start);
		start = calloc((size_t)nb + 1, sizeof *start);
		if (start == NULL) {
			pt_fail(e, PT_ENOMEM, "", "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++)
			start[r->bin[i * F + f1] + 1]++;
		for (k1 = 0; k1 < nb; k1++)
			start[k1 + 1] += start[k1];
		st = malloc(((size_t)nb + 1) * sizeof *st);
		if (st == NULL) {
			pt_fail(e, PT_ENOMEM, "", "out of memory");
			goto out;
		}
		memcpy(st, start, ((size_t)nb + 1) * sizeof *st);
		for (i = 0; i < n; i++)
			order[st[r->bin[i * F + f1]]++] = i;
		free(st);
		for (ms = 0; ms < 2; ms++) {
			size_t nmiss = start[nb] - start[nb - 1], nl;
			if (ms == 1 && nmiss == 0)
				break;
			hist_zero(HL);
			hist_zero(HR);
			for (i = 0; i < n; i++)
				hist_row(HR, r, i, G, Y, 1);
			nl = 0;
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
					better = f1 == bf && (k1 < bk ||
					    (k1 == bk && ms < bms));
				if (better) {
					found = 1;
					best = vl;
					bf = f1;
					bk = k1;
					bms = ms;
					bsl = sl;
					bsr = sr;
				}
			}
		}
	}
	if (!found) {
		pt_fail(e, PT_EEMPTY, "", "no valid root split: min-node-size "
		    "%llu exceeds half of the %zu rows, so the tree would be "
		    "a single leaf", (unsigned long long)minsize, n);
		goto out;
	}
	/* Build the tree and fill its statistics from the rows. */
	{
		pt_split sps[2] = { bsl, bsr };
		int s, k;
		side *sd = malloc(7 * sizeof *sd);
		if (sd == NULL) {
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
			if (pt_ptree_add(t, 2 + (uint32_t)s, e) < 0) {
				free(sd);
				goto out;
			}
			if (sps[s].feature >= 0) {
				int q = pt_ptree_find(t, 2 + (uint32_t)s);
				t->nodes[q].feature = sps[s].feature;
				t->nodes[q].threshold =
				    m->features[sps[s].feature].bounds[sps[s].k];
				t->nodes[q].missing_left = sps[s].missing_left;
				if (pt_ptree_add(t, 4 + 2 * (uint32_t)s, e) < 0 ||
				    pt_ptree_add(t, 5 + 2 * (uint32_t)s, e) < 0) {
					free(sd);
					goto out;
				}
			}
		}
		/* Route each row by bins; node ids 1..7 hold sums in
		 * sd[id - 1]. */
		{
			int nf[8], nk[8], nml[8];
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
					uint32_t b;
					x->n++;
					for (a = 0; a < A; a++)
						pt_wide_add(&x->g[a], &G[i * A + a]);
					if (r->w[i] >= 0) {
						x->cnt[r->w[i]]++;
						pt_wide_add(&x->y[r->w[i]], &Y[i]);
					}
					if (id >= 4 || nf[id] < 0)
						break;
					b = r->bin[i * F + nf[id]];
					if (b == (uint32_t)m->features[nf[id]].nbounds + 1)
						id = 2 * id + (nml[id] ? 0 : 1);
					else
						id = 2 * id + ((int)b <= nk[id] ? 0 : 1);
				}
			}
			for (k = 0; k < t->nnodes; k++)
				set_stats(&t->nodes[k], &sd[t->nodes[k].id - 1], A,
				    scale);
		}
		t->level = 2;
		complete(t);
		t->exact = 1;
		free(sd);
	}
	rc = 0;
out:
	free(G);
	free(Y);
	free(order);
	free(start);
	pt_hist_free(HL);
	pt_hist_free(HR);
	return rc;
}

/* ---- evaluation -------------------------------------------------------- */

int
pt_eval_init(pt_evalacc *a, int narms, pt_err *e)
{
	int k;

	memset(a, 0, sizeof *a);
	a->narms = narms;
	pt_xsum_init(&a->pol);
	pt_xsum_init(&a->pol2);
	a->arm = malloc((size_t)narms * sizeof *a->arm);
	a->arm2 = malloc((size_t)narms * sizeof *a->arm2);
	if (a->arm == NULL || a->arm2 == NULL) {
		pt_eval_free(a);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	for (k = 0; k < narms; k++) {
		pt_xsum_init(&a->arm[k]);
		pt_xsum_init(&a->arm2[k]);
	}
	return 0;
}

void
pt_eval_row(pt_evalacc *a, const double *g, int stride, int action)
{
	int k;
	double v = g[(size_t)action * stride];

	a->n++;
	pt_xsum_add(&a->pol, v);
	pt_xsum_add(&a->pol2, v * v);
	for (k = 0; k < a->narms; k++) {
		double x = g[(size_t)k * stride];
		pt_xsum_add(&a->arm[k], x);
		pt_xsum_add(&a->arm2[k], x * x);
	}
}

void
pt_eval_free(pt_evalacc *a)
{
	free(a->arm);
	free(a->arm2);
	a->arm = a->arm2 = NULL;
}

void
pt_eval_stats(const pt_xsum *s, const pt_xsum *s2, uint64_t n, double *mean,
    double *se)
{
	double m, m2, var;

	if (n == 0) {
		*mean = *se = NAN;
		return;
	}
	m = pt_xsum_round(s) / (double)n;
	m2 = pt_xsum_round(s2) / (double)n;
	var = n > 1 ? (m2 - m * m) * ((double)n / (double)(n - 1)) : 0.0;
	*mean = m;
	*se = var > 0 ? sqrt(var / (double)n) : 0.0;
}

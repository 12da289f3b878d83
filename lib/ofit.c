/*
 * ofit.c: outcome forests grown level by level from exact partial
 * histograms (ofit.h).
 */
#include "ofit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "partid.h"
#include "wide.h"
#include "xsum.h"
#include "yamlin.h"
#include "yamlout.h"

/* Node states of a tree being grown; nodes are heap ids (root 1, children
 * 2i and 2i + 1), as in partials. */
enum { N_ABSENT = 0, N_OPEN = 1, N_LEAF = 2, N_SPLIT = 3 };

typedef struct otree {
	uint8_t *state;
	int32_t *feat, *bin;
	uint8_t *mleft;
	double *val;        /* per node nvocab values */
	uint64_t *rows;     /* rows of the sample in the node */
	uint64_t seed;      /* the tree's seed: sample and mtry */
	uint64_t cut;       /* a row is in the sample when its hash < cut */
	int all;            /* subsample 1: every row */
	int hold;           /* the fold whose rows it never sees, or -1 */
	int folds;
	uint64_t fold_seed;
} otree;

struct pt_ofit {
	const pt_manifest *m;
	pt_ofspec s;
	int level;          /* open nodes are at this level */
	uint32_t maxn;      /* heap slots: 2^(depth + 1) */
	int mtry;
	otree *t;
	uint64_t batch;     /* the next pass grows this many open nodes, the
	                     * first in tree and id order (0: all) */
	int has_rows;       /* level 0 was grown: rows holds its counts */
	uint64_t rows[64];  /* training rows per arm (all rows, not samples) */
	pt_xsum wrows[64];  /* with sample weights: their exact sums per arm */
};

struct pt_oflevel {
	const pt_ofit *f;
	pt_hist **h;        /* per tree: the partial of its open nodes, or NULL */
	int *slot;          /* per tree, per heap id: slot in h, or -1 */
	pt_hist_cols cols;
	int bound;
	int *node_of;
	size_t cap;
	pt_partid pid;      /* which partitions the rows are (partid.h) */
	uint64_t rows[64];  /* rows per arm read (every row, any tree) */
	pt_xsum wrows[64];  /* their weights, with sample weights */
};

static void
otree_free(otree *t)
{
	free(t->state);
	free(t->feat);
	free(t->bin);
	free(t->mleft);
	free(t->val);
	free(t->rows);
}

void
pt_ofit_free(pt_ofit *f)
{
	if (f == NULL)
		return;
	if (f->t != NULL)
		for (int k = 0; k < f->s.trees; k++)
			otree_free(&f->t[k]);
	free(f->t);
	free(f);
}

pt_ofit *
pt_ofit_new(const pt_manifest *m, const pt_ofspec *s, pt_err *e)
{
	pt_ofit *f;
	int F = m->nfeatures;

	int folds = s->folds < 1 ? 1 : s->folds;

	if (s->trees < 1 || s->depth < 1 || s->depth > PT_OFIT_MAXDEPTH ||
	    s->min_leaf < 1 || s->mtry < 0 || !(s->subsample > 0) ||
	    s->subsample > 1 || folds > 100) {
		pt_fail(e, PT_EUSAGE, "", "forest: trees >= 1, depth 1 to %d, "
		    "min-leaf >= 1, mtry >= 0, subsample in (0, 1] and folds "
		    "1 to 100", PT_OFIT_MAXDEPTH);
		return NULL;
	}
	if (folds > s->trees) {
		pt_fail(e, PT_EUSAGE, "", "forest: %d folds need %d trees at "
		    "least (each fold's rows are scored by the trees that did "
		    "not see them)", folds, folds);
		return NULL;
	}
	if (m->treatment < 0 || m->outcome < 0 || m->nrewards > 0) {
		pt_fail(e, PT_EUSAGE, "", "forest: the manifest names no "
		    "treatment and outcome (rewards mode has no outcome model)");
		return NULL;
	}
	if (F < 1) {
		pt_fail(e, PT_EUSAGE, "", "forest: the manifest has no features");
		return NULL;
	}
	if ((f = calloc(1, sizeof *f)) == NULL)
		goto nomem;
	f->m = m;
	f->s = *s;
	f->batch = 0;
	f->maxn = UINT32_C(1) << (s->depth + 1);
	if (s->mtry == 0) {
		int k = (int)ceil(sqrt((double)F)) + 20;
		f->mtry = k < F ? k : F;
	} else
		f->mtry = s->mtry < F ? s->mtry : F;
	f->s.mtry = f->mtry; /* the spec as written and compared: resolved */
	f->s.folds = folds;
	if ((f->t = calloc((size_t)s->trees, sizeof *f->t)) == NULL)
		goto nomem;
	for (int k = 0; k < s->trees; k++) {
		otree *t = &f->t[k];
		size_t n = f->maxn, A = (size_t)m->nvocab;
		t->state = calloc(n, 1);
		t->feat = calloc(n, sizeof *t->feat);
		t->bin = calloc(n, sizeof *t->bin);
		t->mleft = calloc(n, 1);
		t->val = calloc(n * A, sizeof *t->val);
		t->rows = calloc(n, sizeof *t->rows);
		if (!t->state || !t->feat || !t->bin || !t->mleft || !t->val ||
		    !t->rows)
			goto nomem;
		t->state[1] = N_OPEN;
		t->seed = pt_splitmix64(s->seed ^
		    pt_splitmix64(UINT64_C(0x6f66697474726565) + (uint64_t)k));
		t->all = s->subsample >= 1;
		/* ldexp(s, 64) < 2^64 for s < 1: no overflow in the cast. */
		t->cut = t->all ? UINT64_MAX : (uint64_t)ldexp(s->subsample, 64);
		t->hold = folds > 1 ? k % folds : -1;
		t->folds = folds;
		t->fold_seed = s->fold_seed;
	}
	return f;
nomem:
	pt_ofit_free(f);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

int
pt_ofit_level(const pt_ofit *f)
{
	return f->level;
}

int
pt_ofit_trees(const pt_ofit *f)
{
	return f->s.trees;
}

/* The open nodes of tree t at level lv, ascending ids, into ids (room for
 * 2^lv); their count. */
static int
open_nodes(const pt_ofit *f, const otree *t, int lv, uint32_t *ids)
{
	int n = 0;

	if (lv >= f->s.depth)
		return 0;
	for (uint32_t id = UINT32_C(1) << lv; id < (UINT32_C(2) << lv); id++)
		if (t->state[id] == N_OPEN)
			ids[n++] = id;
	return n;
}

int
pt_ofit_done(const pt_ofit *f)
{
	uint32_t *ids;
	int any = 0;

	if (f->level >= f->s.depth)
		return 1;
	ids = malloc(((size_t)1 << f->level) * sizeof *ids);
	if (ids == NULL)
		return 0; /* the next call says out of memory */
	for (int k = 0; k < f->s.trees && !any; k++)
		any = open_nodes(f, &f->t[k], f->level, ids) > 0;
	free(ids);
	return !any;
}

static double
pt_ofit_tree_bytes(const pt_ofit *f, int k)
{
	double nodes;
	uint32_t *ids = malloc(((size_t)1 << f->level) * sizeof *ids);

	if (ids == NULL)
		return INFINITY;
	nodes = open_nodes(f, &f->t[k], f->level, ids);
	free(ids);
	/* The exact sums and, while rows are added, the frame cells. */
	return nodes * pt_hist_node_bytes(f->m);
}

double
pt_ofit_level_bytes(const pt_ofit *f)
{
	double b = 0;

	for (int k = 0; k < f->s.trees; k++)
		b += pt_ofit_tree_bytes(f, k);
	return b;
}

double
pt_ofit_node_bytes(const pt_ofit *f)
{
	return pt_hist_node_bytes(f->m);
}

void
pt_ofit_batch(pt_ofit *f, uint64_t nodes)
{
	f->batch = nodes;
}

void
pt_ofit_next_level(pt_ofit *f)
{
	f->level++;
	f->batch = 0;
}

void
pt_oflevel_free(pt_oflevel *l)
{
	if (l == NULL)
		return;
	if (l->h != NULL)
		for (int k = 0; k < l->f->s.trees; k++)
			pt_hist_free(l->h[k]);
	free(l->h);
	free(l->slot);
	pt_hist_cols_free(&l->cols);
	if (l->bound)
		pt_partid_free(&l->pid);
	free(l->node_of);
	free(l);
}

pt_oflevel *
pt_oflevel_new(const pt_ofit *f, pt_err *e)
{
	pt_oflevel *l = calloc(1, sizeof *l);
	uint32_t *ids = malloc(((size_t)1 << f->level) * sizeof *ids);
	int any = 0;

	if (l == NULL || ids == NULL)
		goto nomem;
	l->f = f;
	l->h = calloc((size_t)f->s.trees, sizeof *l->h);
	l->slot = malloc((size_t)f->s.trees * f->maxn * sizeof *l->slot);
	if (l->h == NULL || l->slot == NULL)
		goto nomem;
	uint64_t room = f->batch ? f->batch : UINT64_MAX;

	for (int k = 0; k < f->s.trees; k++) {
		int n = room ? open_nodes(f, &f->t[k], f->level, ids) : 0;
		int *slot = l->slot + (size_t)k * f->maxn;
		if ((uint64_t)n > room)
			n = (int)room;
		room -= (uint64_t)n;
		for (uint32_t id = 0; id < f->maxn; id++)
			slot[id] = -1;
		if (n == 0)
			continue;
		for (int i = 0; i < n; i++)
			slot[ids[i]] = i;
		if ((l->h[k] = pt_hist_new(f->m, NULL, NULL, f->level, ids, n,
		    e)) == NULL)
			goto fail;
		any = 1;
	}
	free(ids);
	if (!any) {
		pt_fail(e, PT_EUSAGE, "", "forest: every tree is complete");
		pt_oflevel_free(l);
		return NULL;
	}
	return l;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	free(ids);
	pt_oflevel_free(l);
	return NULL;
}

int
pt_oflevel_bind(pt_oflevel *l, const pt_schema *s, pt_err *e)
{
	const pt_hist *h = NULL;

	if (l->bound)
		return 0;
	for (int k = 0; k < l->f->s.trees && h == NULL; k++)
		h = l->h[k];
	if (pt_hist_bind_unscored(h, l->f->m, s, &l->cols, e) < 0)
		return -1;
	if (l->cols.row < 0) {
		pt_hist_cols_free(&l->cols);
		return pt_fail(e, PT_EMISMATCH, "", "forest: frames lack the "
		    "_row column (rows are sampled by their identity)");
	}
	if (pt_partid_bind(&l->pid, s, e) < 0) {
		pt_hist_cols_free(&l->cols);
		return -1;
	}
	l->bound = 1;
	return 0;
}

/* Whether tree t's sample holds the row of identity id. */
static inline int
in_sample(const otree *t, uint64_t id)
{
	if (t->hold >= 0 && (int)(pt_splitmix64(id ^ t->fold_seed) %
	    (uint64_t)t->folds) == t->hold)
		return 0;
	return t->all || pt_splitmix64(id ^ t->seed) < t->cut;
}

int
pt_oflevel_add(pt_oflevel *l, const pt_batch *b, pt_err *e)
{
	const pt_ofit *f = l->f;
	const pt_manifest *m = f->m;
	const uint64_t *rid;
	size_t n = b->nrows;

	if (!l->bound && pt_oflevel_bind(l, b->schema, e) < 0)
		return -1;
	if (pt_partid_add(&l->pid, b, e) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (n > l->cap) {
		int *p = realloc(l->node_of, n * sizeof *p);
		if (p == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		l->node_of = p;
		l->cap = n;
	}
	rid = PT_COL_U64(b, l->cols.row);
	{
		const int32_t *w = PT_COL_I32(b, l->cols.treatment);
		const double *wt = l->cols.weight >= 0 ? PT_COL_F64(b,
		    l->cols.weight) : NULL;
		for (size_t i = 0; i < n; i++)
			if (w[i] >= 0 && w[i] < m->nvocab) {
				l->rows[w[i]]++;
				/* (hist refuses a bad weight, below) */
				if (wt != NULL && wt[i] >= 0 && isfinite(wt[i]))
					pt_xsum_add(&l->wrows[w[i]], wt[i]);
			}
	}
	for (int k = 0; k < f->s.trees; k++) {
		const otree *t = &f->t[k];
		const int *slot = l->slot + (size_t)k * f->maxn;
		if (l->h[k] == NULL)
			continue;
		for (size_t i = 0; i < n; i++) {
			uint32_t id = 1;
			if (!in_sample(t, rid[i])) {
				l->node_of[i] = -1;
				continue;
			}
			while (t->state[id] == N_SPLIT) {
				int j = t->feat[id];
				double x = PT_COL_F64(b, l->cols.feature[j])[i];
				int left = isnan(x) ? t->mleft[id] :
				    x <= m->features[j].bounds[t->bin[id]];
				id = 2 * id + (left ? 0 : 1);
			}
			l->node_of[i] = t->state[id] == N_OPEN ? slot[id] : -1;
		}
		if (pt_hist_add(l->h[k], m, &l->cols, b, l->node_of, e) < 0)
			return -1;
	}
	return 0;
}

/* The node's value of arm a from its exact sum y (units of 2^scale) of c
 * rows, or else its parent's. */
static double
arm_value(const pt_wide *y, uint64_t c, int scale, double parent)
{
	return c > 0 ? pt_wide_round(y, scale) / (double)c : parent;
}

/* The same with sample weights: y is then a weighted sum, and w (units of
 * 2^wscale) the weight of its rows; NULL without weights. */
static double
arm_value_w(const pt_wide *y, uint64_t c, const pt_wide *w, int scale,
    int wscale, double parent)
{
	if (w == NULL)
		return arm_value(y, c, scale, parent);
	return pt_wide_sign(w) > 0 ? pt_wide_round(y, scale) /
	    pt_wide_round(w, wscale) : parent;
}

/* mtry distinct features of F for node id of tree t, ascending, into out
 * (room for mtry); idx is scratch of F. */
static void
choose_features(const pt_ofit *f, const otree *t, uint32_t id, int *out,
    int *idx)
{
	int F = f->m->nfeatures, K = f->mtry;
	uint64_t st = t->seed ^ pt_splitmix64((uint64_t)id);

	for (int j = 0; j < F; j++)
		idx[j] = j;
	if (K < F)
		for (int j = 0; j < K; j++) {
			int r = j + (int)(pt_splitmix64_next(&st) %
			    (uint64_t)(F - j));
			int tmp = idx[j];
			idx[j] = idx[r];
			idx[r] = tmp;
		}
	/* Ascending: the tie rule prefers the lowest feature. */
	for (int j = 1; j < K; j++) {
		int v = idx[j], i = j;
		while (i > 0 && idx[i - 1] > v) {
			idx[i] = idx[i - 1];
			i--;
		}
		idx[i] = v;
	}
	memcpy(out, idx, (size_t)K * sizeof *out);
}

/* Scratch of one node's search: per arm sums (units of 2^scale) and
 * counts of the node, the prefix of bins, the missing bin, a side. */
typedef struct scratch {
	pt_wide *tot, *pre, *miss, *lw, *rw;
	uint64_t *ctot, *cpre, *cmiss, *clw, *crw;
	/* With sample weights: the weights of the same rows (wscale), and
	 * the weight sums of the partial (WA = A + 1 a cell); else NULL. */
	pt_wide *wtot, *wpre, *wmiss, *wlw, *wrw;
	const pt_wide *wg;
	int wscale;
	int *feats, *idx;
} scratch;

/* The sum over arms of Y^2 / C, or with weights (w not NULL) of Y^2 / W,
 * W the arm's weight. */
static double
side_score(const pt_wide *y, const uint64_t *c, const pt_wide *w, int A,
    int scale, int wscale)
{
	double s = 0;

	for (int a = 0; a < A; a++)
		if (w != NULL ? pt_wide_sign(&w[a]) > 0 : c[a] > 0) {
			double v = pt_wide_round(&y[a], scale);
			s += v * v / (w != NULL ? pt_wide_round(&w[a], wscale) :
			    (double)c[a]);
		}
	return s;
}

/* Adds the weights of cell i (of arm a: index i * A + a in ysum) to *d. */
static inline void
add_w(const scratch *x, pt_wide *d, size_t i, int A, int a)
{
	if (x->wg != NULL)
		pt_wide_add(d, &x->wg[i * (size_t)(A + 1) + (size_t)a]);
}

/* The left side of candidate (feature at off, bin b, missing left ml) of
 * slot base in x->lw/clw and its right side in x->rw/crw; the left side's
 * rows.  Sums bins 0..b afresh (the search keeps a running prefix). */
static uint64_t
sides(const pt_hist *h, int A, size_t off, int nb, int b, int ml,
    scratch *x)
{
	uint64_t nl = 0;

	memset(x->lw, 0, (size_t)A * sizeof *x->lw);
	memset(x->clw, 0, (size_t)A * sizeof *x->clw);
	memset(x->wlw, 0, (size_t)A * sizeof *x->wlw);
	for (int k = 0; k <= b; k++)
		for (int a = 0; a < A; a++) {
			size_t i = (off + (size_t)k) * (size_t)A + (size_t)a;
			pt_wide_add(&x->lw[a], &h->ysum[i]);
			x->clw[a] += h->cnt[i];
			add_w(x, &x->wlw[a], off + (size_t)k, A, a);
		}
	for (int a = 0; a < A; a++) {
		if (ml) {
			size_t i = (off + (size_t)nb + 1) * (size_t)A + (size_t)a;
			pt_wide_add(&x->lw[a], &h->ysum[i]);
			x->clw[a] += h->cnt[i];
			add_w(x, &x->wlw[a], off + (size_t)nb + 1, A, a);
		}
		x->rw[a] = x->tot[a];
		pt_wide_sub(&x->rw[a], &x->lw[a]);
		x->crw[a] = x->ctot[a] - x->clw[a];
		x->wrw[a] = x->wtot[a];
		pt_wide_sub(&x->wrw[a], &x->wlw[a]);
		nl += x->clw[a];
	}
	return nl;
}

/* Grows the open node in slot s of partial h (tree t, node id): a split
 * with its children's values, or a leaf. */
static int
grow_node(const pt_ofit *f, otree *t, const pt_hist *h, int s, uint32_t id,
    scratch *x, pt_err *e)
{
	const pt_manifest *m = f->m;
	int A = m->nvocab, last = f->level + 1 >= f->s.depth;
	size_t base = (size_t)s * h->ncells;
	uint64_t nrows = 0, ml_rows;
	double base_score, best = -INFINITY;
	int bf = -1, bb = -1, bml = 0;
	double *val = t->val + (size_t)id * A;

	const pt_wide *W0 = x->wg != NULL ? x->wtot : NULL;
	const pt_wide *WL = x->wg != NULL ? x->wlw : NULL;
	const pt_wide *WR = x->wg != NULL ? x->wrw : NULL;

	memset(x->tot, 0, (size_t)A * sizeof *x->tot);
	memset(x->ctot, 0, (size_t)A * sizeof *x->ctot);
	memset(x->wtot, 0, (size_t)A * sizeof *x->wtot);
	/* The node's totals: every feature's bins hold all its rows. */
	for (int b = 0; b < h->nbins[0]; b++)
		for (int a = 0; a < A; a++) {
			size_t i = (base + h->off[0] + (size_t)b) * A + (size_t)a;
			pt_wide_add(&x->tot[a], &h->ysum[i]);
			x->ctot[a] += h->cnt[i];
			add_w(x, &x->wtot[a], base + h->off[0] + (size_t)b, A, a);
		}
	for (int a = 0; a < A; a++)
		nrows += x->ctot[a];
	t->rows[id] = nrows;
	if (id == 1) {
		for (int a = 0; a < A; a++)
			if (x->ctot[a] == 0 || (W0 != NULL &&
			    pt_wide_sign(&W0[a]) <= 0))
				return pt_fail(e, PT_EVALUE, "", "forest: no row "
				    "of arm %s %sin the sample of a tree (more "
				    "rows, or a larger --subsample)", m->vocab[a],
				    x->ctot[a] ? "of weight above 0 " : "");
		for (int a = 0; a < A; a++)
			val[a] = arm_value_w(&x->tot[a], x->ctot[a], W0 ? &W0[a] :
			    NULL, h->scale, x->wscale, 0);
	}
	base_score = side_score(x->tot, x->ctot, W0, A, h->scale, x->wscale);
	choose_features(f, t, id, x->feats, x->idx);
	for (int q = 0; q < f->mtry && nrows >= 2 * f->s.min_leaf; q++) {
		int j = x->feats[q], nb = m->features[j].nbounds;
		size_t off = base + h->off[j];
		uint64_t nmiss = 0;
		memset(x->pre, 0, (size_t)A * sizeof *x->pre);
		memset(x->cpre, 0, (size_t)A * sizeof *x->cpre);
		memset(x->wpre, 0, (size_t)A * sizeof *x->wpre);
		memset(x->wmiss, 0, (size_t)A * sizeof *x->wmiss);
		for (int a = 0; a < A; a++) {
			size_t i = (off + (size_t)nb + 1) * A + (size_t)a;
			x->miss[a] = h->ysum[i];
			x->cmiss[a] = h->cnt[i];
			nmiss += h->cnt[i];
			add_w(x, &x->wmiss[a], off + (size_t)nb + 1, A, a);
		}
		for (int b = 0; b < nb; b++) {
			uint64_t npre = 0;
			for (int a = 0; a < A; a++) {
				size_t i = (off + (size_t)b) * A + (size_t)a;
				pt_wide_add(&x->pre[a], &h->ysum[i]);
				x->cpre[a] += h->cnt[i];
				npre += x->cpre[a];
				add_w(x, &x->wpre[a], off + (size_t)b, A, a);
			}
			for (int ml = 0; ml < 2; ml++) {
				uint64_t nl = npre + (ml ? nmiss : 0);
				double sc;
				if (ml && nmiss == 0)
					break;
				if (nl < f->s.min_leaf || nrows - nl < f->s.min_leaf)
					continue;
				for (int a = 0; a < A; a++) {
					x->lw[a] = x->pre[a];
					x->clw[a] = x->cpre[a];
					x->wlw[a] = x->wpre[a];
					if (ml) {
						pt_wide_add(&x->lw[a], &x->miss[a]);
						x->clw[a] += x->cmiss[a];
						pt_wide_add(&x->wlw[a], &x->wmiss[a]);
					}
					x->rw[a] = x->tot[a];
					pt_wide_sub(&x->rw[a], &x->lw[a]);
					x->crw[a] = x->ctot[a] - x->clw[a];
					x->wrw[a] = x->wtot[a];
					pt_wide_sub(&x->wrw[a], &x->wlw[a]);
				}
				sc = side_score(x->lw, x->clw, WL, A, h->scale,
				    x->wscale) + side_score(x->rw, x->crw, WR, A,
				    h->scale, x->wscale);
				if (sc > best) {
					best = sc;
					bf = j;
					bb = b;
					bml = ml;
				}
			}
		}
	}
	if (bf < 0 || !(best > base_score + 1e-12 * fabs(base_score))) {
		t->state[id] = N_LEAF;
		return 0;
	}
	ml_rows = sides(h, A, base + h->off[bf], m->features[bf].nbounds, bb,
	    bml, x);
	t->state[id] = N_SPLIT;
	t->feat[id] = bf;
	t->bin[id] = bb;
	t->mleft[id] = (uint8_t)bml;
	for (int c = 0; c < 2; c++) {
		uint32_t k = 2 * id + (uint32_t)c;
		double *cv = t->val + (size_t)k * A;
		for (int a = 0; a < A; a++)
			cv[a] = c == 0 ? arm_value_w(&x->lw[a], x->clw[a], WL ?
			    &WL[a] : NULL, h->scale, x->wscale, val[a]) :
			    arm_value_w(&x->rw[a], x->crw[a], WR ? &WR[a] : NULL,
			    h->scale, x->wscale, val[a]);
		t->state[k] = last ? N_LEAF : N_OPEN;
		t->rows[k] = c == 0 ? ml_rows : nrows - ml_rows;
	}
	return 0;
}

static int
grow_hists(pt_ofit *f, pt_hist *const *hs, pt_err *e)
{
	int A = f->m->nvocab, F = f->m->nfeatures, rc = 0;
	scratch x;
	pt_wide *w = calloc((size_t)A * 10, sizeof *w);
	uint64_t *c = calloc((size_t)A * 5, sizeof *c);
	int *ints = malloc((size_t)F * 2 * sizeof *ints);

	if (w == NULL || c == NULL || ints == NULL) {
		free(w);
		free(c);
		free(ints);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	x.tot = w;
	x.pre = w + A;
	x.miss = w + 2 * A;
	x.lw = w + 3 * A;
	x.rw = w + 4 * A;
	x.wtot = w + 5 * A;
	x.wpre = w + 6 * A;
	x.wmiss = w + 7 * A;
	x.wlw = w + 8 * A;
	x.wrw = w + 9 * A;
	x.ctot = c;
	x.cpre = c + A;
	x.cmiss = c + 2 * A;
	x.clw = c + 3 * A;
	x.crw = c + 4 * A;
	x.feats = ints;
	x.idx = ints + F;
	for (int k = 0; k < f->s.trees && rc == 0; k++) {
		pt_hist *h = hs[k];
		if (h == NULL)
			continue;
		if (pt_hist_flush(h, e) < 0) {
			rc = -1;
			break;
		}
		x.wg = h->wh != NULL ? h->wh->gsum : NULL;
		x.wscale = h->wh != NULL ? h->wh->scale : 0;
		for (int s = 0; s < h->nnodes && rc == 0; s++)
			rc = grow_node(f, &f->t[k], h, s, h->nodes[s], &x, e);
	}
	free(w);
	free(c);
	free(ints);
	/* A batch leaves the level open: pt_ofit_next_level closes it. */
	if (rc == 0 && f->batch == 0)
		f->level++;
	return rc;
}

/* "weights: [...]\n", the exact weight per arm (canonical xsum text). */
static void
put_wrows(pt_buf *b, const pt_xsum *w, int A)
{
	char t[PT_XSUM_TEXT];

	pt_buf_puts(b, "weights: [");
	for (int a = 0; a < A; a++) {
		pt_xsum_encode(&w[a], t);
		pt_buf_puts(b, a ? ", " : "");
		pt_y_str(b, t, PT_Y_QUOTE_ALL);
	}
	pt_buf_puts(b, "]\n");
}

/* Reads the optional "weights" of a file of A arms into w: 1 when there,
 * 0 when not, -1 on error (the form, a count other than A, a weight that
 * is negative or not finite). */
static int
get_wrows(pt_ydoc *d, yaml_node_t *root, int A, pt_xsum *w, pt_err *e)
{
	yaml_node_t *n = pt_ynode_get(d, root, "weights");
	char **v;
	int k = 0, rc = 1;

	if (n == NULL)
		return 0;
	if ((v = pt_ynode_strs(d, n, "weights", &k, e)) == NULL)
		return -1;
	if (k != A)
		rc = pt_yfail(e, d, n, PT_EFORMAT, "weights: %d, not one per arm "
		    "(%d)", k, A);
	for (int a = 0; a < k && rc == 1; a++) {
		double x;
		if (pt_xsum_decode(&w[a], v[a]) < 0 || pt_xsum_sign(&w[a]) < 0 ||
		    !isfinite(x = pt_xsum_round(&w[a])))
			rc = pt_yfail(e, d, n, PT_EFORMAT, "weights: '%.40s' is "
			    "not an exact sum of weights", v[a]);
	}
	pt_strs_free(v, k);
	return rc;
}

/* Level 0 records the rows per arm (the forest's propensities); a later
 * level must have read the same rows. */
static int
check_rows(pt_ofit *f, const uint64_t *rows, const pt_xsum *wrows, pt_err *e)
{
	int A = f->m->nvocab;

	if (!f->has_rows) {
		memcpy(f->rows, rows, (size_t)A * sizeof *rows);
		memcpy(f->wrows, wrows, (size_t)A * sizeof *wrows);
		f->has_rows = 1;
		return 0;
	}
	for (int a = 0; a < A; a++)
		if (rows[a] != f->rows[a])
			return pt_fail(e, PT_EMISMATCH, "", "level %d read %"
			    PRIu64 " rows of arm '%s', the forest's first level "
			    "%" PRIu64 ": not the rows it was grown on",
			    f->level + 1, rows[a], f->m->vocab[a], f->rows[a]);
		else if (pt_xsum_cmp(&wrows[a], &f->wrows[a]) != 0)
			return pt_fail(e, PT_EMISMATCH, "", "level %d read rows "
			    "of arm '%s' of another weight than the forest's "
			    "first level: not the rows it was grown on",
			    f->level + 1, f->m->vocab[a]);
	return 0;
}

int
pt_ofit_grow(pt_ofit *f, pt_oflevel *l, pt_err *e)
{
	if (check_rows(f, l->rows, l->wrows, e) < 0)
		return -1;
	return grow_hists(f, l->h, e);
}

/* Whether two specs are the same fit's. */
static int
spec_eq(const pt_ofspec *a, const pt_ofspec *b)
{
	return a->trees == b->trees && a->depth == b->depth &&
	    a->min_leaf == b->min_leaf && a->mtry == b->mtry &&
	    a->subsample == b->subsample && a->seed == b->seed &&
	    a->folds == b->folds && a->fold_seed == b->fold_seed;
}

pt_forest *
pt_ofit_forest(const pt_ofit *f, double floor, const double *cost,
    pt_err *e)
{
	const pt_manifest *m = f->m;
	int A = m->nvocab;
	pt_forest *out = calloc(1, sizeof *out);
	int32_t *map = malloc(f->maxn * sizeof *map);

	if (out == NULL || map == NULL)
		goto nomem;
	if (!pt_ofit_done(f)) {
		pt_fail(e, PT_EUSAGE, "", "forest: the fit is not complete");
		goto fail;
	}
	memcpy(out->manifest, m->digest, sizeof out->manifest);
	out->nfeatures = m->nfeatures;
	out->nvocab = A;
	{
		char **names = malloc((size_t)m->nfeatures * sizeof *names);
		if (names == NULL)
			goto nomem;
		for (int j = 0; j < m->nfeatures; j++)
			names[j] = m->features[j].name;
		out->features = pt_strs_dup(names, m->nfeatures);
		free(names);
		if (out->features == NULL)
			goto nomem;
	}
	if ((out->vocab = pt_strs_dup(m->vocab, A)) == NULL ||
	    (out->trees = calloc((size_t)f->s.trees, sizeof *out->trees)) ==
	    NULL)
		goto nomem;
	out->ntrees = f->s.trees;
	/* The propensities: each arm's share of the rows level 0 read. */
	if (!(floor > 0 && floor <= 1)) {
		pt_fail(e, PT_EUSAGE, "", "forest: propensity floor in (0, 1]");
		goto fail;
	}
	if ((out->rows = malloc((size_t)A * sizeof *out->rows)) == NULL ||
	    (out->prop = malloc((size_t)A * sizeof *out->prop)) == NULL ||
	    (cost != NULL && (out->cost = malloc((size_t)A *
	    sizeof *out->cost)) == NULL))
		goto nomem;
	{
		uint64_t n = 0;
		pt_xsum wt;
		double W;
		pt_xsum_init(&wt);
		for (int a = 0; a < A; a++) {
			n += f->rows[a];
			pt_xsum_merge(&wt, &f->wrows[a]);
		}
		W = pt_xsum_round(&wt);
		for (int a = 0; a < A; a++) {
			out->rows[a] = f->rows[a];
			/* With weights each arm's share of the weight, as of
			 * the rows repeated. */
			if (f->m->weight >= 0)
				out->prop[a] = W > 0 ? pt_xsum_round(&f->wrows[a]) /
				    W : 0.0;
			else
				out->prop[a] = n ? (double)f->rows[a] / (double)n :
				    0.0;
			if (cost != NULL)
				out->cost[a] = cost[a];
		}
	}
	out->prop_floor = floor;
	out->folds = f->s.folds;
	out->fold_seed = f->s.fold_seed;
	for (int k = 0; k < f->s.trees; k++) {
		const otree *t = &f->t[k];
		pt_tree *o = &out->trees[k];
		int n = 0;
		/* Ascending heap ids are breadth-first order. */
		for (uint32_t id = 1; id < f->maxn; id++)
			map[id] = t->state[id] == N_ABSENT ? -1 : n++;
		o->nnodes = n;
		o->feature = calloc((size_t)n, sizeof *o->feature);
		o->threshold = calloc((size_t)n, sizeof *o->threshold);
		o->missing_left = calloc((size_t)n, 1);
		o->left = calloc((size_t)n, sizeof *o->left);
		o->right = calloc((size_t)n, sizeof *o->right);
		o->value = calloc((size_t)n * A, sizeof *o->value);
		if (!o->feature || !o->threshold || !o->missing_left ||
		    !o->left || !o->right || !o->value)
			goto nomem;
		for (uint32_t id = 1; id < f->maxn; id++) {
			int i = map[id];
			if (i < 0)
				continue;
			memcpy(o->value + (size_t)i * A, t->val + (size_t)id * A,
			    (size_t)A * sizeof *o->value);
			if (t->state[id] == N_SPLIT) {
				o->feature[i] = t->feat[id];
				o->threshold[i] =
				    m->features[t->feat[id]].bounds[t->bin[id]];
				o->missing_left[i] = t->mleft[id];
				o->left[i] = map[2 * id];
				o->right[i] = map[2 * id + 1];
			} else {
				o->feature[i] = -1;
				o->left[i] = o->right[i] = -1;
			}
		}
	}
	free(map);
	if (pt_forest_compile(out, e) < 0) {
		pt_forest_free(out);
		return NULL;
	}
	return out;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	free(map);
	pt_forest_free(out);
	return NULL;
}

/* ---- the state between levels, and partials over partitions ---------- */

#define STATE_HEAD "# policy-tools: an outcome forest being grown, level by " \
	"level; see policy-model(5).\n"
#define PART_HEAD "# policy-score forest partial: a YAML header, one " \
	"policy-split partial per tree with open nodes, a checksum.\n"

/* The state's text into b (ends with its digest line). */
static void
state_text(const pt_ofit *f, pt_buf *b, char digest[33])
{
	int A = f->m->nvocab;

	pt_buf_puts(b, STATE_HEAD);
	pt_buf_puts(b, "format: policy-forest-fit\nversion: 1\nmanifest: ");
	pt_buf_puts(b, f->m->digest);
	pt_buf_printf(b, "\ntrees: %d\ndepth: %d\nmin_leaf: ", f->s.trees,
	    f->s.depth);
	pt_y_u64(b, f->s.min_leaf);
	pt_buf_printf(b, "\nmtry: %d\nsubsample: ", f->mtry);
	pt_y_f64(b, f->s.subsample);
	pt_buf_puts(b, "\nseed: ");
	pt_y_u64(b, f->s.seed);
	pt_buf_printf(b, "\nfolds: %d\nfold_seed: ", f->s.folds);
	pt_y_u64(b, f->s.fold_seed);
	pt_buf_printf(b, "\nlevel: %d\n", f->level);
	if (f->has_rows) {
		pt_buf_puts(b, "rows: [");
		for (int a = 0; a < A; a++) {
			pt_buf_puts(b, a ? ", " : "");
			pt_y_u64(b, f->rows[a]);
		}
		pt_buf_puts(b, "]\n");
		if (f->m->weight >= 0)
			put_wrows(b, f->wrows, A);
	}
	pt_buf_puts(b, "forest:\n");
	for (int k = 0; k < f->s.trees; k++) {
		const otree *t = &f->t[k];
		const char *sep = "";
		pt_buf_puts(b, "  - nodes: [");
		for (uint32_t id = 1; id < f->maxn; id++)
			if (t->state[id] != N_ABSENT) {
				pt_buf_printf(b, "%s%u, %u, %d, %d, %u, ", sep,
				    (unsigned)id, (unsigned)t->state[id],
				    (int)t->feat[id], (int)t->bin[id],
				    (unsigned)t->mleft[id]);
				pt_y_u64(b, t->rows[id]);
				sep = ", ";
			}
		pt_buf_puts(b, "]\n    value: [");
		sep = "";
		for (uint32_t id = 1; id < f->maxn; id++)
			if (t->state[id] != N_ABSENT)
				for (int a = 0; a < A; a++) {
					pt_buf_puts(b, sep);
					pt_y_f64(b, t->val[(size_t)id * A + a]);
					sep = ", ";
				}
		pt_buf_puts(b, "]\n");
	}
	pt_y_digest(b, digest);
}

void
pt_ofit_digest(const pt_ofit *f, char out[33])
{
	pt_buf b = PT_BUF_INIT;

	out[0] = '\0';
	state_text(f, &b, out);
	if (b.err)
		out[0] = '\0';
	pt_buf_free(&b);
}

int
pt_ofit_write(const pt_ofit *f, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;

	state_text(f, &b, NULL);
	return pt_buf_take(&b, out, len, "forest fit state", e);
}

/* The spec's numbers from map root of d. */
static int
read_spec(pt_ydoc *d, yaml_node_t *root, pt_ofspec *s, pt_err *e)
{
	int64_t v;

	memset(s, 0, sizeof *s);
	if (pt_ynode_int(d, pt_ynode_need(d, root, "trees", e), "trees", 1,
	    100000, &v, e) < 0)
		return -1;
	s->trees = (int)v;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "depth", e), "depth", 1,
	    PT_OFIT_MAXDEPTH, &v, e) < 0)
		return -1;
	s->depth = (int)v;
	if (pt_ynode_u64(d, pt_ynode_need(d, root, "min_leaf", e), "min_leaf",
	    &s->min_leaf, e) < 0)
		return -1;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "mtry", e), "mtry", 1,
	    1000000, &v, e) < 0)
		return -1;
	s->mtry = (int)v;
	if (pt_ynode_f64(d, pt_ynode_need(d, root, "subsample", e),
	    "subsample", &s->subsample, e) < 0 ||
	    pt_ynode_u64(d, pt_ynode_need(d, root, "seed", e), "seed",
	    &s->seed, e) < 0)
		return -1;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "folds", e), "folds", 1,
	    100, &v, e) < 0 || pt_ynode_u64(d, pt_ynode_need(d, root,
	    "fold_seed", e), "fold_seed", &s->fold_seed, e) < 0)
		return -1;
	s->folds = (int)v;
	return 0;
}

pt_ofit *
pt_ofit_read(const char *buf, size_t len, const char *name,
    const pt_manifest *m, pt_err *e)
{
	static const char *const keys[] = { "format", "version", "manifest",
		"trees", "depth", "min_leaf", "mtry", "subsample", "seed",
		"folds", "fold_seed", "level", "rows", "weights", "forest",
		"digest", NULL };
	pt_ydoc d;
	yaml_node_t *root, *trees;
	uint64_t *rows;
	int nr = 0;
	pt_ofspec s;
	pt_ofit *f = NULL;
	char dig[33];
	int64_t v;
	int A = m->nvocab;

	memset(&d, 0, sizeof d);
	if (pt_y_digest_check(buf, len, name, "forest fit state", NULL, e) < 0)
		return NULL;
	if ((root = pt_ydoc_load(&d, buf, len, name, e)) == NULL ||
	    pt_ymap_only(&d, root, keys, e) < 0)
		goto fail;
	if (!pt_ynode_is(pt_ynode_need(&d, root, "format", e),
	    "policy-forest-fit")) {
		pt_fail(e, PT_EFORMAT, name, "not a forest fit state "
		    "(policy-score fit --learner forest --merge writes one)");
		goto fail;
	}
	if (pt_ynode_int(&d, pt_ynode_need(&d, root, "version", e), "version",
	    1, 1, &v, e) < 0 ||
	    pt_ynode_digest(&d, pt_ynode_need(&d, root, "manifest", e),
	    "manifest", 0, dig, e) < 0 || read_spec(&d, root, &s, e) < 0)
		goto fail;
	if (strcmp(dig, m->digest) != 0) {
		pt_fail(e, PT_EMISMATCH, name, "the forest was grown under "
		    "manifest %s, not %s", dig, m->digest);
		goto fail;
	}
	if ((f = pt_ofit_new(m, &s, e)) == NULL)
		goto fail;
	if (pt_ynode_int(&d, pt_ynode_need(&d, root, "level", e), "level", 1,
	    s.depth, &v, e) < 0)
		goto fail;
	f->level = (int)v;
	/* Level 0 was grown from every row: their count per arm. */
	if ((rows = pt_ynode_u64s(&d, pt_ynode_need(&d, root, "rows", e),
	    "rows", A, &nr, e)) == NULL)
		goto fail;
	memcpy(f->rows, rows, (size_t)A * sizeof *rows);
	f->has_rows = 1;
	free(rows);
	{
		int wr = get_wrows(&d, root, A, f->wrows, e);
		if (wr < 0)
			goto fail;
		if (wr != (m->weight >= 0)) {
			pt_fail(e, PT_EFORMAT, name, "weights: %s", wr ?
			    "in the state of a manifest without sample weights" :
			    "missing (the manifest locks sample weights)");
			goto fail;
		}
	}
	if ((trees = pt_ynode_need(&d, root, "forest", e)) == NULL ||
	    pt_ynode_seq(&d, trees, "forest", s.trees, e) < 0)
		goto fail;
	for (int k = 0; k < s.trees; k++) {
		static const char *const tk[] = { "nodes", "value", NULL };
		yaml_node_t *tn = pt_ynode_item(&d, trees, k);
		otree *t = &f->t[k];
		int64_t *nd = NULL;
		double *val = NULL;
		int nn = 0, nv = 0, ok = 1;
		if (pt_ymap_only(&d, tn, tk, e) < 0 ||
		    (nd = pt_ynode_i64s(&d, pt_ynode_need(&d, tn, "nodes", e),
		    "nodes", -1, &nn, e)) == NULL)
			goto fail;
		if ((val = pt_ynode_f64s(&d, pt_ynode_need(&d, tn, "value", e),
		    "value", -1, &nv, e)) == NULL) {
			free(nd);
			goto fail;
		}
		memset(t->state, 0, f->maxn);
		ok = nn % 6 == 0 && nn > 0 && (int64_t)nv == nn / 6 * A;
		for (int i = 0; ok && i < nn / 6; i++) {
			int64_t id = nd[6 * i], st = nd[6 * i + 1];
			int64_t ft = nd[6 * i + 2], bn = nd[6 * i + 3];
			int64_t ml = nd[6 * i + 4], rows = nd[6 * i + 5];
			int lv = 0;
			for (int64_t x = id; x > 1; x /= 2)
				lv++;
			ok = id >= 1 && id < (int64_t)f->maxn &&
			    (i == 0 ? id == 1 : id > nd[6 * (i - 1)]) &&
			    st >= N_OPEN && st <= N_SPLIT && rows >= 0 &&
			    (ml == 0 || ml == 1) &&
			    (id == 1 || t->state[id / 2] == N_SPLIT) &&
			    (st != N_OPEN || lv == f->level) &&
			    (st != N_SPLIT || (lv < f->level && ft >= 0 &&
			    ft < m->nfeatures && bn >= 0 &&
			    bn < m->features[ft].nbounds)) &&
			    (st == N_SPLIT || (ft == 0 && bn == 0 && ml == 0));
			if (!ok)
				break;
			t->state[id] = (uint8_t)st;
			t->feat[id] = (int32_t)ft;
			t->bin[id] = (int32_t)bn;
			t->mleft[id] = (uint8_t)ml;
			t->rows[id] = (uint64_t)rows;
			for (int a = 0; a < A; a++) {
				double x = val[(size_t)i * A + a];
				ok &= isfinite(x);
				t->val[(size_t)id * A + a] = x;
			}
		}
		/* Every split's children are there. */
		for (uint32_t id = 1; ok && id < f->maxn / 2; id++)
			if (t->state[id] == N_SPLIT)
				ok = t->state[2 * id] != N_ABSENT &&
				    t->state[2 * id + 1] != N_ABSENT;
		free(nd);
		free(val);
		if (!ok) {
			pt_yfail(e, &d, tn, PT_EFORMAT, "tree %d: not a tree being grown "
			    "(nodes out of order or range, an open node off "
			    "level %d, a split without children, a value not "
			    "finite)", k, f->level);
			goto fail;
		}
	}
	pt_ydoc_free(&d);
	return f;
fail:
	pt_ydoc_free(&d);
	pt_ofit_free(f);
	return NULL;
}

/* The partition ids of the rows a level saw. */
static int
level_parts(pt_oflevel *l, const char *partition,
    char (**ids)[PT_PARTID_LEN], int *n, pt_err *e)
{
	if (partition != NULL) {
		if (pt_partid_check(partition, e) < 0)
			return -1;
		if ((*ids = malloc(sizeof **ids)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		snprintf((*ids)[0], PT_PARTID_LEN, "%s", partition);
		*n = 1;
		return 0;
	}
	return pt_partid_ids(&l->pid, ids, n, e);
}

int
pt_oflevel_partial(pt_oflevel *l, const char *partition, char **out,
    size_t *len, pt_err *e)
{
	const pt_ofit *f = l->f;
	char (*ids)[PT_PARTID_LEN] = NULL, dig[33], hex[17];
	char **bufs = calloc((size_t)f->s.trees, sizeof *bufs);
	size_t *lens = calloc((size_t)f->s.trees, sizeof *lens);
	pt_buf b = PT_BUF_INIT;
	int n = 0, rc = -1;

	if (bufs == NULL || lens == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	if (!l->bound) {
		pt_fail(e, PT_EUSAGE, "", "forest partial: no frames were read");
		goto out;
	}
	if (level_parts(l, partition, &ids, &n, e) < 0)
		goto out;
	pt_ofit_digest(f, dig);
	for (int k = 0; k < f->s.trees; k++) {
		pt_hist *h = l->h[k];
		char (*cp)[PT_PARTID_LEN];
		if (h == NULL)
			continue;
		if (pt_hist_flush(h, e) < 0)
			goto out;
		if ((cp = malloc((size_t)n * sizeof *cp)) == NULL) {
			pt_fail(e, PT_ENOMEM, "", "out of memory");
			goto out;
		}
		memcpy(cp, ids, (size_t)n * sizeof *cp);
		free(h->parts);
		h->parts = cp;
		h->nparts = n;
		snprintf(h->tree, sizeof h->tree, "%s", dig);
		if (pt_hist_write(h, &bufs[k], &lens[k], e) < 0)
			goto out;
	}
	pt_buf_puts(&b, PART_HEAD);
	pt_buf_puts(&b, "format: policy-forest-partial\nversion: 1\nmanifest: ");
	pt_buf_puts(&b, f->m->digest);
	pt_buf_printf(&b, "\nstate: %s\nlevel: %d\ntrees: %d\ndepth: %d\n"
	    "min_leaf: ", dig, f->level, f->s.trees, f->s.depth);
	pt_y_u64(&b, f->s.min_leaf);
	pt_buf_printf(&b, "\nmtry: %d\nsubsample: ", f->mtry);
	pt_y_f64(&b, f->s.subsample);
	pt_buf_puts(&b, "\nseed: ");
	pt_y_u64(&b, f->s.seed);
	pt_buf_printf(&b, "\nfolds: %d\nfold_seed: ", f->s.folds);
	pt_y_u64(&b, f->s.fold_seed);
	pt_buf_puts(&b, "\nrows: [");
	for (int a = 0; a < f->m->nvocab; a++) {
		pt_buf_puts(&b, a ? ", " : "");
		pt_y_u64(&b, l->rows[a]);
	}
	pt_buf_puts(&b, "]\n");
	if (f->m->weight >= 0)
		put_wrows(&b, l->wrows, f->m->nvocab);
	pt_buf_puts(&b, "partitions: [");
	for (int i = 0; i < n; i++) {
		pt_buf_puts(&b, i ? ", " : "");
		pt_y_str(&b, ids[i], PT_Y_QUOTE_ALL);
	}
	pt_buf_puts(&b, "]\nsizes: [");
	for (int k = 0; k < f->s.trees; k++)
		pt_buf_printf(&b, "%s%zu", k ? ", " : "", lens[k]);
	pt_buf_puts(&b, "]\nbody:\n");
	for (int k = 0; k < f->s.trees; k++)
		if (bufs[k] != NULL)
			pt_buf_put(&b, bufs[k], lens[k]);
	if (!b.err) {
		snprintf(hex, sizeof hex, "%016" PRIx64,
		    pt_hash64(b.p, b.n, 0));
		pt_buf_printf(&b, "\nchecksum: %s\n", hex);
	}
	rc = pt_buf_take(&b, out, len, "forest partial", e);
out:
	pt_buf_free(&b);
	if (bufs != NULL)
		for (int k = 0; k < f->s.trees; k++)
			free(bufs[k]);
	free(bufs);
	free(lens);
	free(ids);
	return rc;
}

/* A forest partial read back, or the merge of several. */
struct pt_ofpart {
	char manifest[33], state[33];
	int level;
	pt_ofspec spec;
	int nparts;
	char (*parts)[PT_PARTID_LEN];
	pt_hist **h;
	int narms;
	uint64_t rows[64];  /* rows per arm the partitions read */
	int weighted;       /* wrows holds their weights (sample weights) */
	pt_xsum wrows[64];
};

void
pt_ofpart_free(pt_ofpart *p)
{
	if (p == NULL)
		return;
	if (p->h != NULL)
		for (int k = 0; k < p->spec.trees; k++)
			pt_hist_free(p->h[k]);
	free(p->h);
	free(p->parts);
	free(p);
}

pt_ofpart *
pt_ofpart_read(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const keys[] = { "format", "version", "manifest",
		"state", "level", "trees", "depth", "min_leaf", "mtry",
		"subsample", "seed", "folds", "fold_seed", "rows", "weights",
		"partitions", "sizes", "body", NULL };
	pt_ofpart *p = calloc(1, sizeof *p);
	pt_ydoc d;
	yaml_node_t *root;
	const char *body;
	char hex[17], **pv = NULL;
	size_t hl, pos;
	int64_t v, *sizes = NULL;
	int ns = 0, np = 0;

	memset(&d, 0, sizeof d);
	if (p == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	if (len < strlen(PART_HEAD) || memcmp(buf, PART_HEAD,
	    strlen(PART_HEAD)) != 0) {
		pt_fail(e, PT_EFORMAT, name, "not a forest partial "
		    "(policy-score fit --learner forest --partial)");
		goto fail;
	}
	/* The checksum line: "\nchecksum: " and 16 hex digits, the end. */
	if (len < 28 + strlen(PART_HEAD) ||
	    memcmp(buf + len - 28, "\nchecksum: ", 11) != 0 ||
	    buf[len - 1] != '\n') {
		pt_fail(e, PT_ECORRUPT, name, "truncated or missing checksum");
		goto fail;
	}
	snprintf(hex, sizeof hex, "%016" PRIx64, pt_hash64(buf, len - 28, 0));
	if (memcmp(hex, buf + len - 17, 16) != 0) {
		pt_fail(e, PT_ECORRUPT, name, "checksum mismatch (corrupted "
		    "forest partial)");
		goto fail;
	}
	body = NULL;
	for (size_t q = 0; q + 6 <= len; ) {
		const char *nl = memchr(buf + q, '\n', len - q);
		if (nl == NULL)
			break;
		if (memcmp(buf + q, "body:\n", 6) == 0) {
			body = nl + 1;
			break;
		}
		q = (size_t)(nl - buf) + 1;
	}
	if (body == NULL) {
		pt_fail(e, PT_ECORRUPT, name, "no body line");
		goto fail;
	}
	hl = (size_t)(body - buf);
	if ((root = pt_ydoc_load(&d, buf, hl, name, e)) == NULL ||
	    pt_ymap_only(&d, root, keys, e) < 0)
		goto fail;
	if (!pt_ynode_is(pt_ynode_need(&d, root, "format", e),
	    "policy-forest-partial") ||
	    pt_ynode_int(&d, pt_ynode_need(&d, root, "version", e), "version",
	    1, 1, &v, e) < 0 ||
	    pt_ynode_digest(&d, pt_ynode_need(&d, root, "manifest", e),
	    "manifest", 0, p->manifest, e) < 0 ||
	    pt_ynode_digest(&d, pt_ynode_need(&d, root, "state", e),
	    "state", 0, p->state, e) < 0 ||
	    read_spec(&d, root, &p->spec, e) < 0 ||
	    pt_ynode_int(&d, pt_ynode_need(&d, root, "level", e), "level", 0,
	    p->spec.depth - 1, &v, e) < 0) {
		if (e->code == PT_OK)
			pt_fail(e, PT_EFORMAT, name, "not a forest partial");
		goto fail;
	}
	p->level = (int)v;
	{
		uint64_t *rows = pt_ynode_u64s(&d, pt_ynode_need(&d, root,
		    "rows", e), "rows", -1, &p->narms, e);
		if (rows == NULL)
			goto fail;
		if (p->narms < 1 || p->narms > 64) {
			free(rows);
			pt_fail(e, PT_EFORMAT, name, "rows: one count per arm "
			    "(1 to 64)");
			goto fail;
		}
		memcpy(p->rows, rows, (size_t)p->narms * sizeof *rows);
		free(rows);
		if ((p->weighted = get_wrows(&d, root, p->narms, p->wrows,
		    e)) < 0)
			goto fail;
	}
	if ((pv = pt_ynode_strs(&d, pt_ynode_need(&d, root, "partitions", e),
	    "partitions", &np, e)) == NULL ||
	    (sizes = pt_ynode_i64s(&d, pt_ynode_need(&d, root, "sizes", e),
	    "sizes", p->spec.trees, &ns, e)) == NULL)
		goto fail;
	if (np < 1 || pt_partid_list(pv, np, &p->parts, e) < 0) {
		if (np < 1)
			pt_fail(e, PT_EFORMAT, name, "a forest partial names no "
			    "partition");
		goto fail;
	}
	p->nparts = np;
	pt_ydoc_free(&d);
	if ((p->h = calloc((size_t)p->spec.trees, sizeof *p->h)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto fail;
	}
	pos = hl;
	for (int k = 0; k < p->spec.trees; k++) {
		pt_hist *h;
		if (sizes[k] < 0 || (uint64_t)sizes[k] > len - 28 - pos) {
			pt_fail(e, PT_ECORRUPT, name, "tree %d's partial runs "
			    "past the end", k);
			goto fail;
		}
		if (sizes[k] == 0)
			continue;
		if ((h = pt_hist_read(buf + pos, (size_t)sizes[k], name, e)) ==
		    NULL)
			goto fail;
		p->h[k] = h;
		pos += (size_t)sizes[k];
		if (strcmp(h->tree, p->state) != 0 || h->level != p->level ||
		    strcmp(h->manifest, p->manifest) != 0) {
			pt_fail(e, PT_ECORRUPT, name, "tree %d's partial is of "
			    "another fit", k);
			goto fail;
		}
	}
	if (pos != len - 28) {
		pt_fail(e, PT_ECORRUPT, name, "bytes after the trees' partials");
		goto fail;
	}
	pt_strs_free(pv, np);
	free(sizes);
	return p;
fail:
	pt_ydoc_free(&d);
	pt_strs_free(pv, np);
	free(sizes);
	pt_ofpart_free(p);
	return NULL;
}

int
pt_ofpart_merge(pt_ofpart *dst, const pt_ofpart *src, const char *name,
    pt_err *e)
{
	char (*u)[PT_PARTID_LEN] = NULL;
	int nu = 0;

	if (strcmp(dst->manifest, src->manifest) != 0 ||
	    strcmp(dst->state, src->state) != 0 || dst->level != src->level ||
	    !spec_eq(&dst->spec, &src->spec))
		return pt_fail(e, PT_EMISMATCH, name, "a partial of another "
		    "forest fit or level (state %s level %d, not state %s "
		    "level %d)", src->state, src->level, dst->state,
		    dst->level);
	if (dst->narms != src->narms)
		return pt_fail(e, PT_EMISMATCH, name, "%d arms, not %d",
		    src->narms, dst->narms);
	if (dst->weighted != src->weighted)
		return pt_fail(e, PT_EMISMATCH, name, "a partial with sample "
		    "weights and one without");
	for (int a = 0; a < dst->narms; a++)
		if (dst->rows[a] > UINT64_MAX - src->rows[a])
			return pt_fail(e, PT_ELIMIT, name, "row counts overflow");
	for (int k = 0; k < dst->spec.trees; k++)
		if ((dst->h[k] == NULL) != (src->h[k] == NULL))
			return pt_fail(e, PT_EMISMATCH, name, "tree %d: open "
			    "in one partial, complete in another", k);
	if (pt_partid_union(dst->parts, dst->nparts, src->parts, src->nparts,
	    &u, &nu, e) < 0) {
		snprintf(e->where, sizeof e->where, "%s", name);
		return -1;
	}
	/* All or nothing: merge into copies first?  pt_hist_merge leaves
	 * dst unchanged on failure, but an earlier tree would have taken
	 * src already; the caller discards dst on any failure. */
	for (int k = 0; k < dst->spec.trees; k++)
		if (dst->h[k] != NULL && pt_hist_merge(dst->h[k], src->h[k],
		    e) < 0) {
			free(u);
			snprintf(e->where, sizeof e->where, "%s", name);
			return -1;
		}
	for (int a = 0; a < dst->narms; a++) {
		dst->rows[a] += src->rows[a];
		pt_xsum_merge(&dst->wrows[a], &src->wrows[a]);
	}
	free(dst->parts);
	dst->parts = u;
	dst->nparts = nu;
	return 0;
}

int
pt_ofpart_expect(const pt_ofpart *p, int n, pt_err *e)
{
	return pt_partid_expect(p->parts, p->nparts, n, e);
}

pt_ofit *
pt_ofpart_fit(const pt_ofpart *p, const pt_manifest *m, pt_err *e)
{
	pt_ofit *f;
	char dig[33];

	if (strcmp(p->manifest, m->digest) != 0) {
		pt_fail(e, PT_EMISMATCH, "", "the partials were made under "
		    "manifest %s, not %s", p->manifest, m->digest);
		return NULL;
	}
	if (p->level != 0) {
		pt_fail(e, PT_EUSAGE, "", "partials of level %d: give the "
		    "state they were made from (--state)", p->level);
		return NULL;
	}
	if ((f = pt_ofit_new(m, &p->spec, e)) == NULL)
		return NULL;
	pt_ofit_digest(f, dig);
	if (strcmp(dig, p->state) != 0) {
		pt_ofit_free(f);
		pt_fail(e, PT_EMISMATCH, "", "the partials' header does not "
		    "match the fit they came from");
		return NULL;
	}
	return f;
}

int
pt_ofit_grow_merged(pt_ofit *f, const pt_ofpart *p, pt_err *e)
{
	char dig[33];

	pt_ofit_digest(f, dig);
	if (strcmp(dig, p->state) != 0 || p->level != f->level ||
	    !spec_eq(&p->spec, &f->s))
		return pt_fail(e, PT_EMISMATCH, "", "the partials were made "
		    "from state %s at level %d, not from this state (%s, level "
		    "%d)", p->state, p->level, dig, f->level);
	if (p->narms != f->m->nvocab)
		return pt_fail(e, PT_EMISMATCH, "", "the partials count %d "
		    "arms, the manifest %d", p->narms, f->m->nvocab);
	if (p->weighted != (f->m->weight >= 0))
		return pt_fail(e, PT_EMISMATCH, "", "the partials are %s, the "
		    "manifest %s", p->weighted ? "weighted" : "not weighted",
		    f->m->weight >= 0 ? "locks sample weights" : "has none");
	if (check_rows(f, p->rows, p->wrows, e) < 0)
		return -1;
	return grow_hists(f, p->h, e);
}

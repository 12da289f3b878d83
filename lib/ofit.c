/*
 * ofit.c: outcome forests grown level by level from exact partial
 * histograms (ofit.h).
 */
#include "ofit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wide.h"

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
} otree;

struct pt_ofit {
	const pt_manifest *m;
	pt_ofspec s;
	int level;          /* open nodes are at this level */
	uint32_t maxn;      /* heap slots: 2^(depth + 1) */
	int mtry;
	otree *t;
};

struct pt_oflevel {
	const pt_ofit *f;
	pt_hist **h;        /* per tree: the partial of its open nodes, or NULL */
	int *slot;          /* per tree, per heap id: slot in h, or -1 */
	pt_hist_cols cols;
	int bound;
	int *node_of;
	size_t cap;
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

	if (s->trees < 1 || s->depth < 1 || s->depth > PT_OFIT_MAXDEPTH ||
	    s->min_leaf < 1 || s->mtry < 0 || !(s->subsample > 0) ||
	    s->subsample > 1) {
		pt_fail(e, PT_EUSAGE, "", "forest: trees >= 1, depth 1 to %d, "
		    "min-leaf >= 1, mtry >= 0 and subsample in (0, 1]",
		    PT_OFIT_MAXDEPTH);
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
	f->maxn = UINT32_C(1) << (s->depth + 1);
	if (s->mtry == 0) {
		int k = (int)ceil(sqrt((double)F)) + 20;
		f->mtry = k < F ? k : F;
	} else
		f->mtry = s->mtry < F ? s->mtry : F;
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

/* Cells of the manifest: the sum of its features' bins. */
static size_t
ncells(const pt_manifest *m)
{
	size_t n = 0;

	for (int j = 0; j < m->nfeatures; j++)
		n += (size_t)m->features[j].nbounds + 2;
	return n;
}

double
pt_ofit_level_bytes(const pt_ofit *f)
{
	double nodes = 0, A = f->m->nvocab;
	uint32_t *ids = malloc(((size_t)1 << f->level) * sizeof *ids);

	if (ids == NULL)
		return INFINITY;
	for (int k = 0; k < f->s.trees; k++)
		nodes += open_nodes(f, &f->t[k], f->level, ids);
	free(ids);
	return nodes * (double)ncells(f->m) *
	    (8 + A * (8 + 2 * (double)sizeof(pt_wide)));
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
	for (int k = 0; k < f->s.trees; k++) {
		int n = open_nodes(f, &f->t[k], f->level, ids);
		int *slot = l->slot + (size_t)k * f->maxn;
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
	l->bound = 1;
	return 0;
}

/* Whether tree t's sample holds the row of identity id. */
static inline int
in_sample(const otree *t, uint64_t id)
{
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
	int *feats, *idx;
} scratch;

/* The sum over arms of Y^2 / C. */
static double
side_score(const pt_wide *y, const uint64_t *c, int A, int scale)
{
	double s = 0;

	for (int a = 0; a < A; a++)
		if (c[a] > 0) {
			double v = pt_wide_round(&y[a], scale);
			s += v * v / (double)c[a];
		}
	return s;
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
	for (int k = 0; k <= b; k++)
		for (int a = 0; a < A; a++) {
			size_t i = (off + (size_t)k) * (size_t)A + (size_t)a;
			pt_wide_add(&x->lw[a], &h->ysum[i]);
			x->clw[a] += h->cnt[i];
		}
	for (int a = 0; a < A; a++) {
		if (ml) {
			size_t i = (off + (size_t)nb + 1) * (size_t)A + (size_t)a;
			pt_wide_add(&x->lw[a], &h->ysum[i]);
			x->clw[a] += h->cnt[i];
		}
		x->rw[a] = x->tot[a];
		pt_wide_sub(&x->rw[a], &x->lw[a]);
		x->crw[a] = x->ctot[a] - x->clw[a];
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

	memset(x->tot, 0, (size_t)A * sizeof *x->tot);
	memset(x->ctot, 0, (size_t)A * sizeof *x->ctot);
	/* The node's totals: every feature's bins hold all its rows. */
	for (int b = 0; b < h->nbins[0]; b++)
		for (int a = 0; a < A; a++) {
			size_t i = (base + h->off[0] + (size_t)b) * A + (size_t)a;
			pt_wide_add(&x->tot[a], &h->ysum[i]);
			x->ctot[a] += h->cnt[i];
		}
	for (int a = 0; a < A; a++)
		nrows += x->ctot[a];
	t->rows[id] = nrows;
	if (id == 1) {
		for (int a = 0; a < A; a++)
			if (x->ctot[a] == 0)
				return pt_fail(e, PT_EVALUE, "", "forest: no row "
				    "of arm %s in the sample of a tree (more "
				    "rows, or a larger --subsample)", m->vocab[a]);
		for (int a = 0; a < A; a++)
			val[a] = arm_value(&x->tot[a], x->ctot[a], h->scale, 0);
	}
	base_score = side_score(x->tot, x->ctot, A, h->scale);
	choose_features(f, t, id, x->feats, x->idx);
	for (int q = 0; q < f->mtry && nrows >= 2 * f->s.min_leaf; q++) {
		int j = x->feats[q], nb = m->features[j].nbounds;
		size_t off = base + h->off[j];
		uint64_t nmiss = 0;
		memset(x->pre, 0, (size_t)A * sizeof *x->pre);
		memset(x->cpre, 0, (size_t)A * sizeof *x->cpre);
		for (int a = 0; a < A; a++) {
			size_t i = (off + (size_t)nb + 1) * A + (size_t)a;
			x->miss[a] = h->ysum[i];
			x->cmiss[a] = h->cnt[i];
			nmiss += h->cnt[i];
		}
		for (int b = 0; b < nb; b++) {
			uint64_t npre = 0;
			for (int a = 0; a < A; a++) {
				size_t i = (off + (size_t)b) * A + (size_t)a;
				pt_wide_add(&x->pre[a], &h->ysum[i]);
				x->cpre[a] += h->cnt[i];
				npre += x->cpre[a];
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
					if (ml) {
						pt_wide_add(&x->lw[a], &x->miss[a]);
						x->clw[a] += x->cmiss[a];
					}
					x->rw[a] = x->tot[a];
					pt_wide_sub(&x->rw[a], &x->lw[a]);
					x->crw[a] = x->ctot[a] - x->clw[a];
				}
				sc = side_score(x->lw, x->clw, A, h->scale) +
				    side_score(x->rw, x->crw, A, h->scale);
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
			cv[a] = c == 0 ? arm_value(&x->lw[a], x->clw[a], h->scale,
			    val[a]) : arm_value(&x->rw[a], x->crw[a], h->scale,
			    val[a]);
		t->state[k] = last ? N_LEAF : N_OPEN;
		t->rows[k] = c == 0 ? ml_rows : nrows - ml_rows;
	}
	return 0;
}

int
pt_ofit_grow(pt_ofit *f, pt_oflevel *l, pt_err *e)
{
	int A = f->m->nvocab, F = f->m->nfeatures, rc = 0;
	scratch x;
	pt_wide *w = calloc((size_t)A * 5, sizeof *w);
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
	x.ctot = c;
	x.cpre = c + A;
	x.cmiss = c + 2 * A;
	x.clw = c + 3 * A;
	x.crw = c + 4 * A;
	x.feats = ints;
	x.idx = ints + F;
	for (int k = 0; k < f->s.trees && rc == 0; k++) {
		pt_hist *h = l->h[k];
		if (h == NULL)
			continue;
		if (pt_hist_flush(h, e) < 0) {
			rc = -1;
			break;
		}
		for (int s = 0; s < h->nnodes && rc == 0; s++)
			rc = grow_node(f, &f->t[k], h, s, h->nodes[s], &x, e);
	}
	free(w);
	free(c);
	free(ints);
	if (rc == 0)
		f->level++;
	return rc;
}

pt_forest *
pt_ofit_forest(const pt_ofit *f, pt_err *e)
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

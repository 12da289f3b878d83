/*
 * hist.c: the partial histogram itself: making one, adding frames to it,
 * folding what was added into its exact sums, its partition ids, merging
 * two; pair partials (hist.h) too, whose every row goes into one slot per
 * feature through the same blocks and kernels.  What it builds on has files of its own: the exact sums (wide.c),
 * the per-block work of adding (hist_kernels.c, hist_kernels_x86.c), bin
 * codes (bincode.c) and the file form (partial.c).
 *
 * The hot path (pt_hist_add) never touches a wide integer per row.  Per
 * frame, every sum column (outcome and scores) is cut into fixed-point
 * "limbs": the lowest needed bit s (the smallest trailing bit of any
 * value) fixes the unit, and each value becomes L signed int64 limbs of W
 * bits each, W = 63 - bits(FOLD_ROWS, or the rows of a bigger frame), so
 * the sum of that many rows' limbs in one cell cannot overflow.  Rows are
 * added into int64 frame cells (plain integer adds, exact, vectorisable).
 * The cells carry over to the next frame when its values fit their unit
 * and limbs and its rows their headroom; otherwise, and at pt_hist_flush,
 * each cell limb is folded once into its 256-bit pt_wide at the partial's
 * scale.  Integer addition is associative, so the result is the exact sum
 * whatever the order and grouping of rows, frames and partials.
 */
#include "hist.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "hist_impl.h"
#include "hist_kernels.h"

#define LMAX 5     /* limbs per value in one frame */
#define BLK 4096    /* rows per block in the hot loop */
#define FOLD_ROWS 65536 /* rows the frame cells hold before a fold */
#define GROUP_BYTES (32 * 1024) /* frame cells of a group of features (L1) */
#define GROUP_CODES (128 * 1024) /* the same, when the frames carry codes */
#define SUB_BYTES (16 * 1024)   /* bins of a group of features */

static void cell_free(int64_t *c);

/* ---- the partial ------------------------------------------------------ */

/*
 * Per-frame state of pt_hist_add.  Frame cells are int64 lanes in units of
 * 2^s, laid out per node and feature (aoff: a feature's first frame cell;
 * the features with at most 31 boundaries first, PAD_BINS cells each):
 *   G[node][acell][KG]: the A score columns, L limbs each (lanes a*L + l);
 *   Y[slot][node][acell][KY]: per slot (the received arm, or slot A for
 *     rows with no treatment; one slot in rewards mode) the row count,
 *     then the outcome's L limbs.
 * A row's count is in exactly one slot, so a cell's row count is the sum
 * of its slots' counts, and a row costs one vector add into G and one into
 * Y per feature.
 */
struct pt_hist_acc {
	int L, W, s;          /* limbs, limb width, unit exponent of this frame */
	int KG, KY, nsl;      /* lanes of G and Y, slots of Y */
	int64_t *G, *Y;       /* frame cells, zero between frames */
	size_t *aoff, atot;   /* first frame cell per feature; cells per node */
	int64_t *rg, *ry;     /* per-block row vectors */
	int rL;               /* the L whose constant lanes rg and ry hold */
	size_t *gro, *yro;    /* per-block: offsets of a row's node (and slot) */
	uint32_t *ri;         /* per-block: row index in the frame */
	uint16_t *bin;        /* per-block: bins of one wide feature */
	uint8_t *bins;        /* per sub-block: bins of a group of features */
	double *xs;           /* per block: one column's kept values */
	unsigned char *touched; /* per node: rows in this frame */
	double *tab;          /* 32 bounds padded with +inf per feature */
	double *ptab;         /* per feature: pt_hk_bin32_tables of tab */
	int *pidx, npad;      /* the features with <= 31 boundaries */
	int *widx, nwide;     /* the others */
	int grp[2];           /* padded features per group: values, codes */
	size_t sub[2];        /* rows per sub-block: values, codes */
	uint8_t *pbins;       /* pairs, per block: the padded features' bins */
	uint16_t *pwide;      /* pairs, per block: the other features' bins */
	size_t *pyro;         /* pairs, per block: Y offsets of a row's slot */
	uint64_t pend;        /* rows in the frame cells, not yet folded */
	int broken;           /* a frame was refused after some of its rows */
};

static void
make_shape(pt_hist *h, const pt_manifest *m)
{
	size_t off = 0;
	int f;

	for (f = 0; f < h->nfeatures; f++) {
		h->nbins[f] = m->features[f].nbounds + 2;
		h->off[f] = off;
		off += (size_t)h->nbins[f];
	}
	h->ncells = off;
}

pt_hist *
pt_hist_alloc(int nfeatures, int narms, int nnodes, pt_err *e)
{
	pt_hist *h = calloc(1, sizeof *h);

	if (h == NULL)
		goto nomem;
	h->nfeatures = nfeatures;
	h->narms = narms;
	h->nnodes = nnodes;
	h->scale = INT_MAX;
	h->has_treatment = 1;
	h->nbins = calloc((size_t)nfeatures + 1, sizeof *h->nbins);
	h->off = calloc((size_t)nfeatures + 1, sizeof *h->off);
	h->nodes = calloc((size_t)nnodes + 1, sizeof *h->nodes);
	if (h->nbins == NULL || h->off == NULL || h->nodes == NULL)
		goto nomem;
	return h;
nomem:
	pt_hist_free(h);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

int
pt_hist_alloc_cells(pt_hist *h, pt_err *e)
{
	size_t nc = (size_t)h->nnodes * h->ncells;

	/* A pair partial's nodes are its cells: their product, times the
	 * arms, must not wrap. */
	if (h->ncells != 0 && ((size_t)h->nnodes > SIZE_MAX / h->ncells ||
	    nc > SIZE_MAX / sizeof(pt_wide) / ((size_t)h->narms + 1) - 1))
		return pt_fail(e, PT_ENOMEM, "", "out of memory for %d x %zu "
		    "cells", h->nnodes, h->ncells);
	h->n = calloc(nc + 1, sizeof *h->n);
	h->cnt = calloc(nc * h->narms + 1, sizeof *h->cnt);
	h->ysum = calloc(nc * h->narms + 1, sizeof *h->ysum);
	h->gsum = calloc(nc * h->narms + 1, sizeof *h->gsum);
	if (h->n == NULL || h->cnt == NULL || h->ysum == NULL || h->gsum == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory for %zu cells", nc);
	return 0;
}

int
pt_hist_add_weights(pt_hist *h, pt_err *e)
{
	pt_hist *w = pt_hist_alloc(h->nfeatures, PT_HIST_WCOLS(h), h->nnodes, e);
	int i;

	if (w == NULL)
		return -1;
	memcpy(w->manifest, h->manifest, sizeof w->manifest);
	memcpy(w->model, h->model, sizeof w->model);
	memcpy(w->tree, h->tree, sizeof w->tree);
	w->level = h->level;
	w->has_treatment = 0;
	w->pairs = h->pairs;
	for (i = 0; i < h->nfeatures; i++) {
		w->nbins[i] = h->nbins[i];
		w->off[i] = h->off[i];
	}
	w->ncells = h->ncells;
	for (i = 0; i < h->nnodes; i++)
		w->nodes[i] = h->nodes[i];
	if (pt_hist_alloc_cells(w, e) < 0) {
		pt_hist_free(w);
		return -1;
	}
	h->wh = w;
	return 0;
}

/* A partial of manifest m for the given open nodes (nnodes of them; NULL
 * means the root), with no limit on their number. */
static pt_hist *
hist_make(const pt_manifest *m, const char *model, const char *tree,
    int level, const uint32_t *nodes, int nnodes, pt_err *e)
{
	pt_hist *h;
	int i;

	if (m->nvocab < 1 || m->nfeatures < 1) {
		pt_fail(e, PT_EFORMAT, "", "manifest has no features or actions");
		return NULL;
	}
	for (i = 0; i < m->nfeatures; i++)
		if (m->features[i].nbounds > 65000) {
			pt_fail(e, PT_ELIMIT, "", "feature %s: %d boundaries (at "
			    "most 65000)", m->features[i].name,
			    m->features[i].nbounds);
			return NULL;
		}
	h = pt_hist_alloc(m->nfeatures, m->nvocab, nnodes, e);
	if (h == NULL)
		return NULL;
	snprintf(h->manifest, sizeof h->manifest, "%s", m->digest);
	snprintf(h->model, sizeof h->model, "%s", model ? model : "");
	snprintf(h->tree, sizeof h->tree, "%s", tree ? tree : "");
	h->level = level;
	h->has_treatment = m->nrewards == 0;
	for (i = 0; i < nnodes; i++)
		h->nodes[i] = nodes ? nodes[i] : 1;
	for (i = 1; i < nnodes; i++)
		if (h->nodes[i] <= h->nodes[i - 1]) {
			pt_hist_free(h);
			pt_fail(e, PT_EUSAGE, "", "open nodes not ascending");
			return NULL;
		}
	make_shape(h, m);
	return h;
}

pt_hist *
pt_hist_new(const pt_manifest *m, const char *model, const char *tree,
    int level, const uint32_t *nodes, int nnodes, pt_err *e)
{
	pt_hist *h;

	if (nodes == NULL || nnodes == 0) {
		nodes = NULL;
		nnodes = 1;
	}
	if (nnodes > PT_HIST_MAXNODES) {
		pt_fail(e, PT_ELIMIT, "", "%d open nodes (at most %d)", nnodes,
		    PT_HIST_MAXNODES);
		return NULL;
	}
	if ((h = hist_make(m, model, tree, level, nodes, nnodes, e)) == NULL)
		return NULL;
	if (pt_hist_alloc_cells(h, e) < 0 ||
	    (m->weight >= 0 && pt_hist_add_weights(h, e) < 0)) {
		pt_hist_free(h);
		return NULL;
	}
	return h;
}

pt_hist *
pt_hist_new_pairs(const pt_manifest *m, const char *model, pt_err *e)
{
	uint32_t *ids;
	size_t ncells = 0, k = 0;
	pt_hist *h;
	int f, b;

	/* PT_PAIR_ID holds the feature in 15 bits; the slots are counted
	 * by an int. */
	if (m->nfeatures > 32766) {
		pt_fail(e, PT_ELIMIT, "", "%d features: too many for a pair "
		    "partial (at most 32766)", m->nfeatures);
		return NULL;
	}
	for (f = 0; f < m->nfeatures; f++)
		ncells += (size_t)m->features[f].nbounds + 2;
	if (ncells > INT_MAX) {
		pt_fail(e, PT_ELIMIT, "", "%zu bins: too many for a pair partial",
		    ncells);
		return NULL;
	}
	if ((ids = malloc((ncells + 1) * sizeof *ids)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (f = 0; f < m->nfeatures; f++)
		for (b = 0; b < m->features[f].nbounds + 2; b++)
			ids[k++] = PT_PAIR_ID(f, b);
	h = hist_make(m, model, NULL, 0, ids, (int)ncells, e);
	free(ids);
	if (h == NULL)
		return NULL;
	h->pairs = 1;
	if (pt_hist_alloc_cells(h, e) < 0 ||
	    (m->weight >= 0 && pt_hist_add_weights(h, e) < 0)) {
		pt_hist_free(h);
		return NULL;
	}
	return h;
}

/* The shape of m's partials: cells (every feature's bins), frame cells
 * per node (features of at most 31 boundaries padded), and per frame cell
 * at its widest (LMAX limbs a value; most data takes one or two) the G and
 * Y lanes chunk_unit gives it and the Y slots. */
typedef struct {
	double ncells, atot, KG, KY, nsl;
} cellshape;

static cellshape
cell_shape(const pt_manifest *m)
{
	cellshape c = { 0, 0, 0, 0, 0 };
	int f, treated = m->nrewards == 0;

	for (f = 0; f < m->nfeatures; f++) {
		double nb = m->features[f].nbounds + 2;
		c.ncells += nb;
		c.atot += m->features[f].nbounds <= 31 ? PAD_BINS : nb;
	}
	c.KG = (double)((m->nvocab * LMAX + 1) & ~1);
	c.KY = treated ? (double)((1 + LMAX + 1) & ~1) : 1;
	c.nsl = treated ? m->nvocab + 1 : 1;
	return c;
}

double
pt_hist_pairs_bytes(const pt_manifest *m)
{
	cellshape c = cell_shape(m);
	double A = m->nvocab, wb = 0;

	/* With sample weights, the partial of the weights (pt_hist.wh): WA
	 * columns of sums in rewards mode, and its frame cells. */
	if (m->weight >= 0) {
		double WA = m->nrewards == 0 ? A + 1 : 1, KGw = WA * LMAX + 1;
		wb = c.ncells * c.ncells * (8 + WA * (8 + 2 * sizeof(pt_wide))) +
		    c.ncells * c.atot * (KGw + 1) * 8 + BLK * (KGw + 1) * 8;
	}
	/* The exact sums (n; cnt, ysum, gsum per arm) of every slot's
	 * cells, the frame cells, and per block the rows' vectors, offsets
	 * and bins. */
	return c.ncells * c.ncells * (8 + A * (8 + 2 * sizeof(pt_wide))) +
	    c.ncells * c.atot * (c.KG + c.nsl * c.KY) * 8 +
	    BLK * ((c.KG + c.KY) * 8 + 5 * sizeof(size_t) + 3 * m->nfeatures) +
	    c.ncells * (sizeof(uint32_t) + 1) + wb;
}

double
pt_hist_node_bytes(const pt_manifest *m)
{
	cellshape c = cell_shape(m);
	double wb = 0;

	/* With sample weights, the node's part of the weights' partial. */
	if (m->weight >= 0) {
		double WA = m->nrewards == 0 ? m->nvocab + 1 : 1;
		wb = c.ncells * (8 + WA * (8 + 2 * (double)sizeof(pt_wide))) +
		    c.atot * (WA * LMAX + 2) * 8;
	}
	return c.ncells * (8 + m->nvocab * (8 + 2 * (double)sizeof(pt_wide))) +
	    c.atot * (c.KG + c.nsl * c.KY) * 8 + wb;
}

static void
acc_free(struct pt_hist_acc *a)
{
	if (a == NULL)
		return;
	cell_free(a->G);
	cell_free(a->Y);
	cell_free(a->rg);
	cell_free(a->ry);
	free(a->gro);
	free(a->yro);
	free(a->aoff);
	free(a->ri);
	free(a->bin);
	free(a->bins);
	free(a->xs);
	free(a->touched);
	free(a->tab);
	free(a->ptab);
	free(a->pidx);
	free(a->widx);
	free(a->pbins);
	free(a->pwide);
	free(a->pyro);
	free(a);
}

void
pt_hist_free(pt_hist *h)
{
	if (h == NULL)
		return;
	free(h->nbins);
	free(h->off);
	free(h->nodes);
	free(h->n);
	free(h->cnt);
	free(h->ysum);
	free(h->gsum);
	free(h->parts);
	pt_partid_free(&h->pid);
	acc_free(h->acc);
	pt_hist_free(h->wh);
	free(h);
}

void
pt_hist_feature_digest(const pt_manifest *m, char out[33])
{
	/* Names and bin counts, each name NUL-terminated, in feature order. */
	XXH3_state_t *st = XXH3_createState();
	XXH128_hash_t d;
	int f;

	/* No way to report: an empty digest, which matches none. */
	out[0] = '\0';
	if (st == NULL)
		return;
	XXH3_128bits_reset(st);
	for (f = 0; f < m->nfeatures; f++) {
		uint32_t nb = (uint32_t)m->features[f].nbounds;
		XXH3_128bits_update(st, m->features[f].name,
		    strlen(m->features[f].name) + 1);
		XXH3_128bits_update(st, &nb, sizeof nb);
	}
	d = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, (uint64_t)d.high64,
	    (uint64_t)d.low64);
}

static int hist_bind(const pt_hist *h, const pt_manifest *m,
    const pt_schema *s, pt_hist_cols *c, int unscored, pt_err *e);

int
pt_hist_bind(const pt_hist *h, const pt_manifest *m, const pt_schema *s,
    pt_hist_cols *c, pt_err *e)
{
	return hist_bind(h, m, s, c, 0, e);
}

int
pt_hist_bind_unscored(const pt_hist *h, const pt_manifest *m,
    const pt_schema *s, pt_hist_cols *c, pt_err *e)
{
	return hist_bind(h, m, s, c, 1, e);
}

static int
hist_bind(const pt_hist *h, const pt_manifest *m, const pt_schema *s,
    pt_hist_cols *c, int unscored, pt_err *e)
{
	int f, a, nscore;
	pt_role sr = PT_ROLE_SCORE;
	char nm[512];

	memset(c, 0, sizeof *c);
	if (strcmp(s->manifest, m->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames were made under "
		    "manifest %s, not %s", s->manifest, m->digest);
	/* Weights: the manifest's weight column, in every frame. */
	c->weight = pt_schema_weight(s);
	if (c->weight >= 0 && s->cols[c->weight].type != PT_F64)
		return pt_fail(e, PT_EFORMAT, "", "weight column %s is not f64",
		    s->cols[c->weight].name);
	if ((h->wh != NULL) != (c->weight >= 0))
		return pt_fail(e, PT_EMISMATCH, "", h->wh != NULL ? "the "
		    "manifest locks a weight column, and the frames carry none" :
		    "the frames carry sample weights (column %s) that the "
		    "partial does not hold", s->cols[c->weight].name);
	c->feature = calloc((size_t)h->nfeatures, sizeof *c->feature);
	c->score = calloc((size_t)h->narms, sizeof *c->score);
	c->code = calloc((size_t)h->nfeatures, sizeof *c->code);
	if (c->feature == NULL || c->score == NULL || c->code == NULL) {
		pt_hist_cols_free(c);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	for (f = 0; f < h->nfeatures; f++) {
		int j = pt_schema_find(s, m->features[f].name);
		if (j < 0 || s->cols[j].type != PT_F64) {
			pt_hist_cols_free(c);
			return pt_fail(e, PT_EMISMATCH, "", "frames lack feature "
			    "column %s", m->features[f].name);
		}
		c->feature[f] = j;
		c->code[f] = -1;
		if (pt_hist_code_name(&m->features[f], nm) && (j = pt_schema_find(s,
		    nm)) >= 0 && s->cols[j].type == PT_U8 &&
		    s->cols[j].role == PT_ROLE_BIN)
			c->code[f] = j;
	}
	nscore = unscored ? 0 : pt_schema_count_role(s, PT_ROLE_SCORE);
	if (unscored)
		nscore = h->narms;
	else if (nscore == 0 && pt_schema_count_role(s, PT_ROLE_REWARD) > 0) {
		sr = PT_ROLE_REWARD;
		nscore = pt_schema_count_role(s, PT_ROLE_REWARD);
	}
	if (nscore == 0) {
		pt_hist_cols_free(c);
		return pt_fail(e, PT_EVALUE, "", "frames have no score columns "
		    "(run policy-score first)");
	}
	if (nscore != h->narms) {
		pt_hist_cols_free(c);
		return pt_fail(e, PT_EMISMATCH, "", "frames have %d score "
		    "columns for %d actions", nscore, h->narms);
	}
	for (a = 0; a < h->narms && !unscored; a++) {
		c->score[a] = pt_schema_find_role(s, sr, a);
		if (s->cols[c->score[a]].type != PT_F64) {
			pt_hist_cols_free(c);
			return pt_fail(e, PT_EFORMAT, "", "score column %s is "
			    "not f64", s->cols[c->score[a]].name);
		}
	}
	c->row = pt_schema_find_role(s, PT_ROLE_ROW, 0);
	if (c->row >= 0 && s->cols[c->row].type != PT_U64)
		c->row = -1;
	c->treatment = -1;
	c->outcome = -1;
	if (h->has_treatment) {
		c->treatment = pt_schema_find_role(s, PT_ROLE_TREATMENT, 0);
		c->outcome = pt_schema_find_role(s, PT_ROLE_OUTCOME, 0);
		if (c->treatment >= 0 && (s->cols[c->treatment].type != PT_I32))
			c->treatment = -1;
		if (c->outcome >= 0 && s->cols[c->outcome].type != PT_F64)
			c->outcome = -1;
		if (c->treatment < 0 || c->outcome < 0) {
			pt_hist_cols_free(c);
			return pt_fail(e, PT_EMISMATCH, "", "frames lack the "
			    "treatment or outcome column");
		}
	}
	if (unscored) {
		if (c->outcome < 0) {
			pt_hist_cols_free(c);
			return pt_fail(e, PT_EMISMATCH, "", "frames lack the "
			    "treatment or outcome column");
		}
		for (a = 0; a < h->narms; a++)
			c->score[a] = c->outcome;
	}
	return 0;
}

void
pt_hist_cols_free(pt_hist_cols *c)
{
	free(c->feature);
	free(c->score);
	free(c->code);
	c->feature = c->score = c->code = NULL;
}

/* Shifts every sum left by d bits (a lower unit).  Checks every sum first,
 * so a refusal leaves h unchanged. */
static int
hist_rescale(pt_hist *h, int newscale, pt_err *e)
{
	size_t i, n = (size_t)h->nnodes * h->ncells * h->narms;
	int d, maxb = 0;

	if (h->scale == INT_MAX) {
		h->scale = newscale;
		return 0;
	}
	if (newscale >= h->scale)
		return 0;
	d = h->scale - newscale;
	for (i = 0; i < n; i++) {
		int b1 = pt_wide_bits(&h->ysum[i]), b2 = pt_wide_bits(&h->gsum[i]);
		maxb = b1 > maxb ? b1 : maxb;
		maxb = b2 > maxb ? b2 : maxb;
	}
	if (maxb > 0 && maxb + d > PT_WIDE_LIMIT)
		return pt_fail(e, PT_ELIMIT, "", "sums span more than 2^%d "
		    "(values from 2^%d to about 2^%d): too wide for exact "
		    "histogram sums", PT_WIDE_LIMIT, newscale, newscale + maxb + d);
	if (maxb > 0)
		for (i = 0; i < n; i++) {
			if (pt_wide_sign(&h->ysum[i]) != 0)
				pt_wide_shl(&h->ysum[i], d);
			if (pt_wide_sign(&h->gsum[i]) != 0)
				pt_wide_shl(&h->gsum[i], d);
		}
	h->scale = newscale;
	return 0;
}

static int
bitlen64(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* d += the L limbs v[l] * 2^(sh + l*W).  Two limbs are joined first into
 * one 128-bit value (|v[l]| < 2^63 and W <= 62, so it fits). */
static inline void
fold_limbs(pt_wide *d, const int64_t *v, int L, int W, int sh)
{
	int l;

	if (L <= 2) {
		__int128 t = v[0];
		if (L == 2)
			t += (__int128)v[1] * ((__int128)1 << W);
		if (t != 0)
			pt_wide_add_128(d, (uint64_t)t, (uint64_t)((unsigned __int128)t
			    >> 64), sh);
		return;
	}
	for (l = 0; l < L; l++)
		if (v[l] != 0)
			pt_wide_add_128(d, (uint64_t)v[l], v[l] < 0 ? ~UINT64_C(0) : 0,
			    sh + l * W);
}

/* Splits a double into L signed limbs of W bits in units of 2^s. */
static void
to_limbs(double v, int s, int L, int W, int64_t *out)
{
	uint64_t u, M;
	int E, e0, j, o;
	uint64_t mask = (UINT64_C(1) << W) - 1;

	memcpy(&u, &v, sizeof u);
	E = (int)((u >> 52) & 0x7ff);
	M = u & ((UINT64_C(1) << 52) - 1);
	if (E == 0 && M == 0) {
		for (j = 0; j < L; j++)
			out[j] = 0;
		return;
	}
	if (E != 0)
		M |= UINT64_C(1) << 52;
	e0 = (E ? E : 1) - 1075;
	o = e0 - s; /* >= 0 */
	for (j = 0; j < L; j++) {
		int sh = o - j * W;
		uint64_t part;
		if (sh >= 0)
			part = sh >= W ? 0 : (uint64_t)(((unsigned __int128)M << sh)
			    & mask);
		else
			part = -sh >= 64 ? 0 : (M >> -sh) & mask;
		out[j] = (u >> 63) ? -(int64_t)part : (int64_t)part;
	}
}

/* to_limbs, branch-free for one and two limbs (the usual cases: values of
 * a frame spanning at most 2W bits). */
static inline void
put_limbs(double v, int s, int L, int W, int64_t *out)
{
	uint64_t u, a, M, E, sg;
	int o, tz;

	if (L > 2) {
		to_limbs(v, s, L, W, out);
		return;
	}
	memcpy(&u, &v, sizeof u);
	a = u & ~(UINT64_C(1) << 63);
	E = a >> 52;
	M = (a & ((UINT64_C(1) << 52) - 1)) | ((uint64_t)(E != 0) << 52);
	/* From the lowest set bit: o = lowbit - s >= 0. */
	tz = __builtin_ctzll(M | UINT64_C(1) << 63);
	o = (int)(E ? E : 1) - 1075 + tz - s;
	M >>= tz;
	o = M != 0 ? o : 0;
	sg = -(u >> 63);
	if (L == 1) {
		out[0] = (int64_t)(((M << o) ^ sg) - sg);
	} else {
		unsigned __int128 X = (unsigned __int128)M << o;
		uint64_t mask = (UINT64_C(1) << W) - 1;
		out[0] = (int64_t)((((uint64_t)X & mask) ^ sg) - sg);
		out[1] = (int64_t)(((uint64_t)(X >> W) ^ sg) - sg);
	}
}

/* The row-by-row check of rows i0 .. i0+n-1, for the message naming the
 * first bad row. */
static int
frame_check(const pt_hist *h, const double *const *g, const int32_t *w,
    const double *y, size_t i0, size_t n, const int *node_of, pt_err *e)
{
	size_t i;
	int k;

	for (i = i0; i < i0 + n; i++) {
		if (node_of != NULL && node_of[i] < 0)
			continue;
		for (k = 0; k < h->narms; k++)
			if (!isfinite(g[k][i]))
				return pt_fail(e, PT_EVALUE, "", "row %zu: score "
				    "column %d is %s", i + 1, k + 1,
				    isnan(g[k][i]) ? "NaN" : "infinite");
		if (w == NULL || w[i] < 0)
			continue;
		if (w[i] >= h->narms)
			return pt_fail(e, PT_EVALUE, "", "row %zu: treatment code "
			    "%d out of range", i + 1, (int)w[i]);
		if (!isfinite(y[i]))
			return pt_fail(e, PT_EVALUE, "", "row %zu: outcome is %s",
			    i + 1, isnan(y[i]) ? "NaN" : "infinite");
	}
	return 0;
}

/* n int64 lanes, zeroed, on a cache-line boundary: a frame cell of 4 or
 * 8 lanes then never straddles two lines (a split load and store cost
 * the hot loop about a quarter of its time).  From calloc, so that the
 * pages of cells no row reaches are never touched; the block calloc gave
 * is kept just before the lanes, for cell_free.  NULL when out of memory. */
static int64_t *
cell_alloc(size_t n)
{
	char *raw;
	uintptr_t p;

	if (n > (SIZE_MAX - 128) / sizeof(int64_t) ||
	    (raw = calloc(1, n * sizeof(int64_t) + 128)) == NULL)
		return NULL;
	p = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
	memcpy((char *)p - sizeof(void *), &raw, sizeof raw);
	return (int64_t *)p;
}

static void
cell_free(int64_t *c)
{
	void *raw;

	if (c == NULL)
		return;
	memcpy(&raw, (char *)c - sizeof(void *), sizeof raw);
	free(raw);
}

/* Padded features per group, whose frame cells take about `bytes`, and
 * rows per sub-block, whose bins fit SUB_BYTES. */
static void
group_size(struct pt_hist_acc *a, size_t bytes, int *grp, size_t *sub)
{
	int g = (int)(bytes / (PAD_BINS * (a->KG + (size_t)a->nsl * a->KY) *
	    sizeof(int64_t)));

	g = g < 1 ? 1 : g > SUB_BYTES / 64 ? SUB_BYTES / 64 : g;
	if (a->npad > 0 && g > a->npad)
		g = a->npad;
	*grp = g;
	*sub = SUB_BYTES / (size_t)g / 64 * 64;
	*sub = *sub < 64 ? 64 : *sub > BLK ? BLK : *sub;
}

/* ---- adding a frame --------------------------------------------------- */

static int
acc_reserve(pt_hist *h, const pt_manifest *m, int KG, int KY, int nsl,
    pt_err *e)
{
	struct pt_hist_acc *a = h->acc;
	size_t nc;
	int f, k;

	if (a == NULL) {
		a = h->acc = calloc(1, sizeof *a);
		if (a == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		a->gro = malloc(BLK * sizeof *a->gro);
		a->yro = malloc(BLK * sizeof *a->yro);
		a->ri = malloc(BLK * sizeof *a->ri);
		a->bin = malloc(BLK * sizeof *a->bin);
		a->xs = malloc(BLK * sizeof *a->xs);
		a->bins = malloc(SUB_BYTES);
		a->touched = calloc((size_t)h->nnodes, 1);
		a->aoff = malloc((size_t)h->nfeatures * sizeof *a->aoff);
		a->tab = malloc((size_t)h->nfeatures * 32 * sizeof *a->tab);
		a->ptab = malloc((size_t)h->nfeatures * PTAB * sizeof *a->ptab);
		a->pidx = malloc((size_t)h->nfeatures * sizeof *a->pidx);
		a->widx = malloc((size_t)h->nfeatures * sizeof *a->widx);
		if (!a->gro || !a->yro || !a->ri || !a->bin || !a->xs ||
		    !a->bins || !a->touched || !a->aoff || !a->tab || !a->ptab ||
		    !a->pidx || !a->widx) {
			acc_free(a);
			h->acc = NULL;
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		}
		/* The padded features' cells first, PAD_BINS each in feature
		 * order (so the kernels find feature q of a group at q
		 * PAD_BINS), then the others'. */
		a->atot = 0;
		for (f = 0; f < h->nfeatures; f++)
			if (m->features[f].nbounds <= 31) {
				a->aoff[f] = a->atot;
				a->atot += PAD_BINS;
			}
		for (f = 0; f < h->nfeatures; f++)
			if (m->features[f].nbounds > 31) {
				a->aoff[f] = a->atot;
				a->atot += (size_t)h->nbins[f];
			}
		for (f = 0; f < h->nfeatures; f++) {
			const pt_feature *pf = &m->features[f];
			for (k = 0; k < 32; k++)
				a->tab[f * 32 + k] = k < pf->nbounds &&
				    pf->nbounds <= 31 ? pf->bounds[k] : INFINITY;
			pt_hk_bin32_tables(a->tab + f * 32, a->ptab + f * PTAB);
			if (pf->nbounds <= 31)
				a->pidx[a->npad++] = f;
			else
				a->widx[a->nwide++] = f;
		}
		/* A pair partial bins a block once for every feature's
		 * pass (add_pairs). */
		if (h->pairs) {
			a->pbins = malloc((size_t)a->npad * BLK + 1);
			a->pwide = malloc(((size_t)a->nwide * BLK + 1) *
			    sizeof *a->pwide);
			a->pyro = malloc(BLK * sizeof *a->pyro);
			if (!a->pbins || !a->pwide || !a->pyro) {
				acc_free(a);
				h->acc = NULL;
				return pt_fail(e, PT_ENOMEM, "", "out of memory");
			}
		}
	}
	/* The frame cells stay zero between frames (the fold clears them);
	 * they are reallocated, zeroed, only when the lane counts change. */
	nc = (size_t)h->nnodes * a->atot;
	if (KG != a->KG || KY != a->KY || nsl != a->nsl || a->G == NULL) {
		cell_free(a->G);
		cell_free(a->Y);
		cell_free(a->rg);
		cell_free(a->ry);
		a->rg = cell_alloc((size_t)BLK * KG);
		a->ry = cell_alloc((size_t)BLK * KY);
		a->rL = 0;
		a->G = cell_alloc(nc * KG);
		a->Y = cell_alloc(nc * nsl * KY);
		a->KG = KG;
		a->KY = KY;
		a->nsl = nsl;
		if (!a->rg || !a->ry || !a->G || !a->Y) {
			a->KG = 0;
			return pt_fail(e, PT_ENOMEM, "", "out of memory for %zu "
			    "cells", nc);
		}
		/* Groups of padded features, sub-blocks of rows whose bins
		 * fit SUB_BYTES.  Binning values, a group's cells fit L1 and
		 * its value columns stream from few places at once; adding
		 * at codes (one byte a value), bigger groups whose cells fit
		 * L2 win, the rows' vectors being read once per group (at
		 * F=10 and F=1000 about 10% faster than L1-sized groups). */
		group_size(a, GROUP_BYTES, &a->grp[0], &a->sub[0]);
		group_size(a, GROUP_CODES, &a->grp[1], &a->sub[1]);
	}
	return 0;
}

/* Folds the frame cells of one node into the exact sums and clears them;
 * returns non-zero when a sum outgrew PT_WIDE_LIMIT. */
static int
fold_node(pt_hist *h, int node)
{
	struct pt_hist_acc *a = h->acc;
	int A = h->narms, KG = a->KG, KY = a->KY, nsl = a->nsl, L = a->L;
	int W = a->W, sh = a->s - h->scale, k, sl, f, bad = 0;
	size_t nn = (size_t)h->nnodes, ac, slotstride = nn * a->atot * KY;

	for (f = 0; f < h->nfeatures; f++) {
		size_t a0 = (size_t)node * a->atot + a->aoff[f];
		size_t na = h->nbins[f] <= PAD_BINS ? PAD_BINS :
		    (size_t)h->nbins[f];
		for (ac = 0; ac < na; ac++) {
			int64_t *gc = a->G + (a0 + ac) * KG;
			int64_t *yc = a->Y + (a0 + ac) * KY;
			uint64_t cnt = 0;
			size_t bin, c;
			for (sl = 0; sl < nsl; sl++)
				cnt += (uint64_t)yc[sl * slotstride];
			if (cnt == 0)
				continue;
			/* Cell 32 of a padded feature is its missing bin, as is
			 * cell nbounds+1 (where bin codes put missing values). */
			bin = na == PAD_BINS && ac == PAD_BINS - 1 ?
			    (size_t)h->nbins[f] - 1 : ac;
			c = (size_t)node * h->ncells + h->off[f] + bin;
			h->n[c] += cnt;
			for (k = 0; k < A; k++) {
				pt_wide *gs = &h->gsum[c * A + k];
				fold_limbs(gs, gc + k * L, L, W, sh);
				bad |= !pt_wide_fits(gs);
			}
			memset(gc, 0, (size_t)KG * sizeof *gc);
			for (sl = 0; sl < nsl; sl++) {
				int64_t *v = yc + sl * slotstride;
				if (v[0] != 0 && nsl > 1 && sl < A) {
					pt_wide *ys = &h->ysum[c * A + sl];
					h->cnt[c * A + sl] += (uint64_t)v[0];
					fold_limbs(ys, v + 1, L, W, sh);
					bad |= !pt_wide_fits(ys);
				}
				memset(v, 0, (size_t)KY * sizeof *v);
			}
		}
	}
	return bad;
}

/* Folds the nodes this frame reached (the cells of others are zero). */
static int
acc_fold(pt_hist *h, pt_err *e)
{
	struct pt_hist_acc *a = h->acc;
	int node, bad = 0;

	a->pend = 0;
	for (node = 0; node < h->nnodes; node++)
		if (a->touched[node]) {
			a->touched[node] = 0;
			bad |= fold_node(h, node);
		}
	if (bad)
		return pt_fail(e, PT_ELIMIT, "", "score or outcome sums too wide "
		    "for exact sums");
	return 0;
}

/* One feature's values of the block's kept rows j0 .. j0+mm-1,
 * contiguous. */
static const double *
block_values(struct pt_hist_acc *a, const double *x, size_t i0, size_t j0,
    size_t mm, int dense)
{
	size_t j;

	if (dense)
		return x + i0 + j0;
	for (j = 0; j < mm; j++)
		a->xs[j] = x[a->ri[j0 + j]];
	return a->xs;
}

/* The codes of the block's kept rows j0 .. j0+mm-1 from code column col
 * into dst.  A padded feature's missing code nbounds+1 is a cell the fold
 * reads as its missing bin, as it does cell 32 where bin32 puts NaN. */
static void
block_codes(const struct pt_hist_acc *a, const uint8_t *col, size_t i0,
    size_t j0, size_t mm, int dense, uint8_t *dst)
{
	size_t j;

	if (dense) {
		memcpy(dst, col + i0 + j0, mm);
	} else {
		for (j = 0; j < mm; j++)
			dst[j] = col[a->ri[j0 + j]];
	}
}

/* Adds the block's mrows kept rows (rows i0.. of the frame; their vectors
 * in a->rg, a->ry and cell offsets in gro, NULL at the root, and a->yro) into the frame
 * cells of every feature. */
static void
add_block(pt_hist *h, const hk_table *K, const pt_manifest *m,
    const pt_hist_cols *c, const pt_batch *b, size_t i0, size_t mrows,
    int dense, rows_fn *rk, const size_t *gro)
{
	struct pt_hist_acc *a = h->acc;
	int KG = a->KG, KY = a->KY, g0, q, codes = 1, grp;
	size_t j0, sub;

	for (q = 0; q < a->npad && codes; q++)
		codes = c->code[a->pidx[q]] >= 0;
	grp = a->grp[codes];
	sub = a->sub[codes];
	for (g0 = 0; g0 < a->npad; g0 += grp) {
		int nf = a->npad - g0 < grp ? a->npad - g0 : grp;
		/* The group's first frame cell: padded features come first. */
		size_t goff = (size_t)g0 * PAD_BINS;
		for (j0 = 0; j0 < mrows; j0 += sub) {
			size_t mm = mrows - j0 < sub ? mrows - j0 : sub;
			for (q = 0; q < nf; q++) {
				int f = a->pidx[g0 + q];
				uint8_t *dst = a->bins + (size_t)q * sub;
				if (c->code[f] >= 0)
					block_codes(a, PT_COL_U8(b, c->code[f]), i0,
					    j0, mm, dense, dst);
				else
					K->bin32(a->tab + (size_t)f * 32, a->ptab +
					    (size_t)f * PTAB, block_values(a,
					    PT_COL_F64(b, c->feature[f]), i0, j0, mm,
					    dense), mm, dst);
			}
			if (rk != NULL)
				rk(a->bins, sub, nf, mm, a->G + goff * KG,
				    a->rg + j0 * KG, gro ? gro + j0 : NULL,
				    a->Y + goff * KY, a->ry + j0 * KY, a->yro + j0);
			else
				pt_hk_rows_any(a->bins, sub, nf, mm, a->G + goff * KG,
				    a->rg + j0 * KG, gro ? gro + j0 : NULL, a->Y + goff * KY,
				    a->ry + j0 * KY, a->yro + j0, KG, KY);
		}
	}
	for (q = 0; q < a->nwide; q++) {
		int f = a->widx[q];
		const pt_feature *pf = &m->features[f];
		if (c->code[f] >= 0) {
			const uint8_t *col = PT_COL_U8(b, c->code[f]);
			size_t j;
			for (j = 0; j < mrows; j++)
				a->bin[j] = col[dense ? i0 + j : a->ri[j]];
		} else {
			pt_hk_bin_any(pf->bounds, pf->nbounds, block_values(a,
			    PT_COL_F64(b, c->feature[f]), i0, 0, mrows, dense),
			    mrows, a->bin);
		}
		pt_hk_acc_any(a->bin, mrows, a->G + a->aoff[f] * KG, a->rg, gro,
		    a->Y + a->aoff[f] * KY, a->ry, a->yro, KG, KY);
	}
}

/*
 * A pair partial's adds of the block's rows i0 .. i0+mrows-1 (all kept;
 * their vectors in a->rg, a->ry, their Y slot offsets in a->yro): every
 * feature's bins are made once; then for each feature f1 every row is
 * added, by the same row kernels as add_block's, into the cells of every
 * feature of its slot (f1, its bin of f1), all padded features in one
 * group (smaller groups, or rows sorted by slot so that the adds stay in
 * one slot's cells, measured no faster at F = 10 and 20).  The rows'
 * counts and the partition hash are the caller's, once per row.
 */
static void
add_pairs(pt_hist *h, const hk_table *K, const pt_manifest *m,
    const pt_hist_cols *c, const pt_batch *b, size_t i0, size_t mrows,
    rows_fn *rk)
{
	struct pt_hist_acc *a = h->acc;
	int KG = a->KG, KY = a->KY, q, f1;
	size_t j, k, gnode = a->atot * KG, ynode = a->atot * KY;

	for (q = 0; q < a->npad; q++) {
		int f = a->pidx[q];
		uint8_t *dst = a->pbins + (size_t)q * BLK;
		if (c->code[f] >= 0)
			memcpy(dst, PT_COL_U8(b, c->code[f]) + i0, mrows);
		else
			K->bin32(a->tab + (size_t)f * 32, a->ptab + (size_t)f *
			    PTAB, PT_COL_F64(b, c->feature[f]) + i0, mrows, dst);
	}
	for (q = 0; q < a->nwide; q++) {
		int f = a->widx[q];
		const pt_feature *pf = &m->features[f];
		uint16_t *dst = a->pwide + (size_t)q * BLK;
		if (c->code[f] >= 0) {
			const uint8_t *col = PT_COL_U8(b, c->code[f]) + i0;
			for (j = 0; j < mrows; j++)
				dst[j] = col[j];
		} else
			pt_hk_bin_any(pf->bounds, pf->nbounds, PT_COL_F64(b,
			    c->feature[f]) + i0, mrows, dst);
	}
	for (q = 0; q < a->npad + a->nwide; q++) {
		int pad = q < a->npad;
		f1 = pad ? a->pidx[q] : a->widx[q - a->npad];
		/* Slot (f1, bin) is cell off[f1] + bin; bin32 puts missing
		 * values at 32, codes at nbounds + 1, both the missing bin. */
		for (j = 0; j < mrows; j++) {
			size_t bin = pad ? a->pbins[(size_t)q * BLK + j] :
			    a->pwide[(size_t)(q - a->npad) * BLK + j];
			size_t node = h->off[f1] + (bin == PAD_BINS - 1 && pad ?
			    (size_t)h->nbins[f1] - 1 : bin);
			a->gro[j] = node * gnode;
			a->pyro[j] = node * ynode + a->yro[j];
			a->touched[node] = 1;
		}
		if (a->npad > 0 && rk != NULL)
			rk(a->pbins, BLK, a->npad, mrows, a->G, a->rg, a->gro, a->Y,
			    a->ry, a->pyro);
		else if (a->npad > 0)
			pt_hk_rows_any(a->pbins, BLK, a->npad, mrows, a->G, a->rg,
			    a->gro, a->Y, a->ry, a->pyro, KG, KY);
		for (k = 0; k < (size_t)a->nwide; k++) {
			int f = a->widx[k];
			pt_hk_acc_any(a->pwide + k * BLK, mrows, a->G + a->aoff[f] *
			    KG, a->rg, a->gro, a->Y + a->aoff[f] * KY, a->ry,
			    a->pyro, KG, KY);
		}
	}
}

/* The kept rows of rows i0 .. i0+nb-1 (all at the root) and their cells'
 * offsets for the lanes in use; returns how many, *dense when all. */
static size_t
chunk_rows(pt_hist *h, const hk_table *K, const int32_t *w,
    const int *node_of, size_t i0, size_t nb, int *dense)
{
	struct pt_hist_acc *a = h->acc;
	size_t i, mrows = 0, gnode = a->atot * a->KG, ynode = a->atot * a->KY;
	size_t yslot = (size_t)h->nnodes * ynode;
	int A = h->narms;

	*dense = 1;
	if (node_of == NULL) {
		a->touched[0] = 1;
		if (w != NULL)
			K->yro(w + i0, nb, A, yslot, a->yro);
		else
			memset(a->yro, 0, nb * sizeof *a->yro);
		return nb;
	}
	for (i = 0; i < nb; i++) {
		size_t r = i0 + i, j;
		int node = node_of[r], arm;
		if (node < 0) {
			*dense = 0;
			continue;
		}
		j = mrows++;
		arm = w ? w[r] : -1;
		a->ri[j] = (uint32_t)r;
		a->touched[node] = 1;
		a->gro[j] = (size_t)node * gnode;
		a->yro[j] = (size_t)node * ynode + (w == NULL ? 0 :
		    (arm >= 0 ? (size_t)arm : (size_t)A) * yslot);
	}
	return mrows;
}

/* Whether the frame cells' limbs are cut through floating point, every
 * scaling by a power of two involved staying normal (the limbs kernels). */
static int
limbs_fp(const struct pt_hist_acc *a)
{
	return a->L <= 2 && a->s >= -1000 && a->s + a->W <= 1000;
}

/* The limbs of the kept rows' scores (and outcomes) in the frame cells'
 * unit.  Through floating point, non-zero unless every value fits the
 * unit; otherwise only for values known to fit it. */
static int
chunk_limbs(pt_hist *h, const hk_table *K, const double *const *g,
    const int32_t *w, const double *y, size_t i0, size_t mrows, int dense,
    int nocount)
{
	struct pt_hist_acc *a = h->acc;
	int A = h->narms, L = a->L, W = a->W, s = a->s, KG = a->KG, KY = a->KY;
	int k, bad = 0;
	size_t i;

	if (limbs_fp(a)) {
		double ilo = ldexp(1.0, -s), ihi = ldexp(1.0, -(s + W));
		double chi = ldexp(1.0, s + W), lim = ldexp(1.0, W);
		if (K->limbs_rows != NULL && dense && A * L <= 8) {
			const double *x[8];
			for (k = 0; k < A; k++)
				x[k] = g[k] + i0;
			bad = K->limbs_rows(x, A, mrows, L, ihi, chi, ilo, lim,
			    a->rg, KG);
		} else
			for (k = 0; k < A; k++)
				bad |= K->limbs(block_values(a, g[k], i0, 0, mrows,
				    dense), mrows, L, ihi, chi, ilo, lim, a->rg +
				    k * L, KG);
		/* (yrows writes the count lanes too.) */
		if (w != NULL && K->yrows != NULL && dense && !nocount &&
		    KY == (L == 2 ? 4 : 2))
			bad |= K->yrows(w + i0, y + i0, mrows, L, ihi, chi, ilo,
			    lim, a->ry);
		else if (w != NULL) {
			if (dense)
				for (i = 0; i < mrows; i++)
					a->xs[i] = w[i0 + i] >= 0 ? y[i0 + i] : 0.0;
			else
				for (i = 0; i < mrows; i++) {
					size_t r = a->ri[i];
					a->xs[i] = w[r] >= 0 ? y[r] : 0.0;
				}
			bad |= K->limbs(a->xs, mrows, L, ihi, chi, ilo, lim,
			    a->ry + 1, KY);
		}
		return bad;
	}
	/* Called only once the block is known to fit (the scan). */
	for (i = 0; i < mrows; i++) {
		size_t r = dense ? i0 + i : a->ri[i];
		for (k = 0; k < A; k++)
			put_limbs(g[k][r], s, L, W, a->rg + i * KG + k * L);
		if (w != NULL)
			put_limbs(w[r] >= 0 ? y[r] : 0.0, s, L, W,
			    a->ry + i * KY + 1);
	}
	return 0;
}

/* Makes the frame cells' unit s with L limbs of W bits, and their lanes. */
static int
chunk_unit(pt_hist *h, const pt_manifest *m, int L, int W, int s, int treated,
    pt_err *e)
{
	struct pt_hist_acc *a;
	int A = h->narms, KG, KY, nsl;
	size_t i;

	/* Lanes: G padded to even, Y a count and the outcome's limbs padded
	 * to even (just the count in rewards mode). */
	KG = (A * L + 1) & ~1;
	nsl = treated ? A + 1 : 1;
	KY = treated ? (1 + L + 1) & ~1 : 1;
	if (acc_reserve(h, m, KG, KY, nsl, e) < 0)
		return -1;
	a = h->acc;
	a->L = L;
	a->W = W;
	a->s = s;
	/* The lanes no limb fills: a row's count of 1, zero padding. */
	if (a->rL != L) {
		for (i = 0; i < BLK; i++) {
			if (KG > A * L)
				a->rg[i * KG + KG - 1] = 0;
			a->ry[i * KY] = 1;
			if (KY > 1 + L)
				a->ry[i * KY + KY - 1] = 0;
		}
		a->rL = L;
	}
	return 0;
}

/*
 * Rows i0 .. i0+nb-1 of the frame (nb <= BLK): checked, cut into limbs and
 * added, a block at a time while its values are in the cache.  When the
 * frame cells hold rows, the block is first cut in their unit, the cutting
 * checking that every value fits it (the usual case: blocks alike); else,
 * or when one does not fit, every value is scanned for its bit range (and
 * checked), the cells are folded when the block's values do not fit them,
 * and new cells get a unit of the block's range.
 */
static int
add_chunk(pt_hist *h, const hk_table *K, const pt_manifest *m,
    const pt_hist_cols *c, const pt_batch *b, const int *node_of, size_t i0,
    size_t nb, const double *const *g, const int32_t *w, const double *y,
    const double *const *g2, const double *y2, pt_err *e)
{
	struct pt_hist_acc *a = h->acc;
	size_t i, mrows;
	int lo = INT_MAX, hi = INT_MIN, A = h->narms, L, W, s;
	int k, bad = 0, dense, passes = g2 != NULL ? 2 : 1;
	uint64_t amax = 0;
	const int *nd = node_of != NULL ? node_of + i0 : NULL;

	/* Treatment codes and bin codes index the cells: none may pass the
	 * last arm, or a feature's missing bin. */
	if (w != NULL) {
		int32_t wm = 0;
		if (nd == NULL)
			wm = K->wmax(w + i0, nb);
		else
			for (i = 0; i < nb; i++)
				wm = w[i0 + i] > wm && nd[i] >= 0 ? w[i0 + i] : wm;
		if (wm >= A)
			return frame_check(h, g, w, y, i0, nb, node_of, e) < 0 ?
			    -1 : pt_fail(e, PT_EVALUE, "", "a treatment code is "
			    "out of range");
	}
	for (k = 0; k < h->nfeatures; k++) {
		if (c->code[k] >= 0) {
			int cm = K->codes_max(PT_COL_U8(b, c->code[k]) + i0, nb);
			if (cm > m->features[k].nbounds + 1)
				return pt_fail(e, PT_EVALUE, "", "bin code %d in "
				    "column %s: feature %s has bins 0 to %d", cm,
				    b->schema->cols[c->code[k]].name,
				    m->features[k].name, m->features[k].nbounds + 1);
		}
	}
	/* Limb width: the sum of the limbs of FOLD_ROWS rows in one cell
	 * cannot overflow, and limbs stay below 2^51 (exact through doubles
	 * in the limbs kernels). */
	W = 63 - bitlen64((uint64_t)FOLD_ROWS);
	W = W > 51 ? 51 : W;
	/* The frame cells' unit, if the block's values fit it.  Not with a
	 * second set of values: the scan below makes one unit for both, so
	 * that no fold comes between their adds (a fold skips cells with no
	 * rows). */
	if (g2 == NULL && a != NULL && a->pend > 0 && limbs_fp(a) &&
	    a->W == W && a->pend + nb < (UINT64_C(1) << (63 - W)) && a->s + a->L * a->W - 1 - h->scale +
	    bitlen64(h->rows + nb) + 2 <= PT_WIDE_LIMIT) {
		mrows = chunk_rows(h, K, w, node_of, i0, nb, &dense);
		if (mrows == 0 || chunk_limbs(h, K, g, w, y, i0, mrows, dense,
		    0) == 0)
			goto add;
	}
	/* The block's bit range, and a check of every value, column by
	 * column; the row-by-row check names the first bad row. */
	for (k = 0; k < A; k++)
		bad |= K->scan(g[k] + i0, nb, nd, NULL, &lo, &amax);
	if (w != NULL)
		bad |= K->scan(y + i0, nb, nd, w + i0, &lo, &amax);
	for (k = 0; g2 != NULL && k < A; k++)
		bad |= K->scan(g2[k] + i0, nb, nd, NULL, &lo, &amax);
	if (g2 != NULL && w != NULL)
		bad |= K->scan(y2 + i0, nb, nd, w + i0, &lo, &amax);
	if (bad)
		return frame_check(h, g, w, y, i0, nb, node_of, e) < 0 ? -1 :
		    pt_fail(e, PT_EVALUE, "", "a value is out of range");
	if (amax != 0) {
		double v;
		int l;
		memcpy(&v, &amax, sizeof v);
		pt_f64_bits(v, &l, &hi);
	}
	/* Cells holding rows of values this block's do not fit: folded. */
	if (a != NULL && a->pend > 0) {
		int fits = W == a->W && a->pend + passes * nb <
		    (UINT64_C(1) << (63 - W));
		if (lo != INT_MAX)
			fits = fits && lo >= a->s && hi - a->s + 1 <= a->L * a->W;
		if (!fits && acc_fold(h, e) < 0)
			return -1;
	}
	if (a != NULL && a->pend > 0) {
		L = a->L;
		s = a->s;
	} else if (lo == INT_MAX) {
		L = 1;
		s = h->scale == INT_MAX ? 0 : h->scale;
	} else {
		int span = hi - lo + 1, room;
		L = (span + W - 1) / W;
		if (L > LMAX || span > PT_WIDE_LIMIT - 40)
			return pt_fail(e, PT_ELIMIT, "", "values span 2^%d to "
			    "2^%d: too wide for exact histogram sums", lo, hi);
		/* New cells: the limbs' spare bits, up to 8 below the lowest
		 * bit and the rest above the highest, so that the next
		 * blocks, alike but not the same, fit them too (a fold at
		 * F = 1000 costs about a block's adds). */
		room = L * W - span;
		s = lo - (room / 2 < 8 ? room / 2 : 8);
		if (hi - (h->scale < s ? h->scale : s) + bitlen64(h->rows +
		    nb) + 2 > PT_WIDE_LIMIT)
			s = lo;
	}
	if (h->scale == INT_MAX || s < h->scale)
		if (hist_rescale(h, s, e) < 0)
			return -1;
	if (lo != INT_MAX && hi - h->scale + bitlen64(h->rows + nb) + 2 >
	    PT_WIDE_LIMIT)
		return pt_fail(e, PT_ELIMIT, "", "values span 2^%d to 2^%d: "
		    "too wide for exact histogram sums", h->scale, hi);
	if (chunk_unit(h, m, L, W, s, w != NULL, e) < 0)
		return -1;
	a = h->acc;
	mrows = chunk_rows(h, K, w, node_of, i0, nb, &dense);
	if (mrows > 0 && chunk_limbs(h, K, g, w, y, i0, mrows, dense, 0) != 0)
		return pt_fail(e, PT_ELIMIT, "", "limbs of a scanned block "
		    "do not fit its unit");
add:
	h->rows += nb;
	a->pend += nb;
	if (mrows == 0)
		return 0;
	if (h->pairs)
		add_pairs(h, K, m, c, b, i0, mrows, pt_hk_rows(K, a->KG, a->KY));
	else
		add_block(h, K, m, c, b, i0, mrows, dense, pt_hk_rows(K, a->KG,
		    a->KY), node_of == NULL ? NULL : a->gro);
	if (g2 == NULL)
		return 0;
	/* The second values (the rounding errors of weight times value) go
	 * to the same cells with a count of 0: the rows are counted once. */
	for (i = 0; i < mrows; i++)
		a->ry[i * a->KY] = 0;
	bad = chunk_limbs(h, K, g2, w, y2, i0, mrows, dense, 1);
	if (!bad && h->pairs)
		add_pairs(h, K, m, c, b, i0, mrows, pt_hk_rows(K, a->KG, a->KY));
	else if (!bad)
		add_block(h, K, m, c, b, i0, mrows, dense, pt_hk_rows(K, a->KG,
		    a->KY), node_of == NULL ? NULL : a->gro);
	for (i = 0; i < mrows; i++)
		a->ry[i * a->KY] = 1;
	a->pend += nb;
	if (bad) {
		a->broken = 1;
		return pt_fail(e, PT_ELIMIT, "", "limbs of a scanned block "
		    "do not fit its unit");
	}
	return 0;
}

int
pt_hist_bind_part(pt_hist *h, const pt_schema *s, pt_err *e)
{
	if (h->pid_bound)
		return 0;
	if (pt_partid_bind(&h->pid, s, e) < 0)
		return -1;
	h->pid_bound = 1;
	return 0;
}

/* p[i] + q[i] = wt[i] * v[i] exactly (pt_two_prod) for the rows that are
 * added (node_of[i] >= 0 when given, w[i] >= 0 when given, v[i] finite);
 * the others' v[i] and 0, which the scan refuses or the adds skip.  0, or
 * -1 with e set naming the row whose product is out of range. */
static int
weigh(const double *v, const double *wt, const int *node_of,
    const int32_t *w, size_t n, double *p, double *q, const char *what,
    pt_err *e)
{
	for (size_t i = 0; i < n; i++) {
		if ((node_of != NULL && node_of[i] < 0) || (w != NULL && w[i] < 0) ||
		    !isfinite(v[i])) {
			p[i] = v[i];
			q[i] = 0.0;
		} else if (pt_two_prod(wt[i], v[i], &p[i], &q[i]) < 0)
			return pt_fail(e, PT_ELIMIT, "", "row %zu: weight %g times "
			    "%s %g is out of the range of exact sums (overflows, "
			    "or below 2^-968)", i + 1, wt[i], what, v[i]);
	}
	return 0;
}

/*
 * The rows of a frame with sample weights.  Each score (and outcome) v of
 * a row of weight w is added as w v exactly: the rounded product and its
 * rounding error (pt_two_prod), two exact doubles, both in one add_chunk
 * so that they share the frame cells' unit and the row is counted once.
 * The weights go into h->wh: per arm the weight of the rows that received
 * it, then every row's weight.
 */
static int
add_weighted(pt_hist *h, const hk_table *K, const pt_manifest *m,
    const pt_hist_cols *c, const pt_batch *b, const int *node_of, pt_err *e)
{
	size_t n = b->nrows, i, i0;
	int A = h->narms, WA = PT_HIST_WCOLS(h), k, rc = -1;
	const int32_t *w = c->treatment >= 0 ? PT_COL_I32(b, c->treatment) :
	    NULL;
	const double *y = c->outcome >= 0 ? PT_COL_F64(b, c->outcome) : NULL;
	const double *wt = PT_COL_F64(b, c->weight);
	const double *g[64], *ge[64], *gw[65];
	double *buf;
	size_t nv = (size_t)2 * A + 2 + WA;

	if (n > SIZE_MAX / sizeof(double) / nv ||
	    (buf = malloc(n * nv * sizeof(double))) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory for a frame's "
		    "weighted values");
	for (i = 0; i < n; i++) {
		double v = wt[i];
		if (node_of != NULL && node_of[i] < 0)
			continue;
		if (!(v >= 0) || !isfinite(v)) {
			pt_fail(e, PT_EVALUE, "", "row %zu: weight %g is not a "
			    "finite number >= 0", i + 1, v);
			goto out;
		}
	}
	for (k = 0; k < A; k++) {
		int j;
		/* A column given twice (the outcome standing in for every
		 * score, for the outcome forest) is weighed once. */
		for (j = 0; j < k && c->score[j] != c->score[k]; j++)
			;
		if (j < k) {
			g[k] = g[j];
			ge[k] = ge[j];
		} else if (weigh(PT_COL_F64(b, c->score[k]), wt, node_of, NULL, n,
		    buf + (size_t)k * n, buf + (size_t)(A + k) * n, "score",
		    e) < 0)
			goto out;
		else {
			g[k] = buf + (size_t)k * n;
			ge[k] = buf + (size_t)(A + k) * n;
		}
	}
	{
		double *yp = buf + (size_t)2 * A * n, *yq = yp + n;
		const double *p = yp, *q = yq;
		if (y != NULL && c->outcome == c->score[0]) {
			/* (the rows without a treatment add no outcome) */
			p = g[0];
			q = ge[0];
		} else if (y != NULL && weigh(y, wt, node_of, w, n, yp, yq,
		    "outcome", e) < 0)
			goto out;
		for (k = 0; k < WA; k++) {
			double *d = buf + (size_t)(2 * A + 2 + k) * n;
			for (i = 0; i < n; i++)
				d[i] = k == WA - 1 || (w != NULL && w[i] == k) ?
				    wt[i] + 0.0 : 0.0;
			gw[k] = d;
		}
		for (i0 = 0; i0 < n; i0 += BLK) {
			size_t nb = n - i0 < BLK ? n - i0 : BLK;
			if (add_chunk(h, K, m, c, b, node_of, i0, nb, g, w,
			    y ? p : NULL, ge, y ? q : NULL, e) < 0) {
				if (i0 > 0 && h->acc != NULL)
					h->acc->broken = 1;
				goto out;
			}
			/* This block is in h: a refusal now breaks it. */
			if (add_chunk(h->wh, K, m, c, b, node_of, i0, nb, gw, NULL,
			    NULL, NULL, NULL, e) < 0) {
				if (h->acc != NULL)
					h->acc->broken = 1;
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The rows of a frame: node_of as pt_hist_add says (NULL for a pair
 * partial, whose every row goes to a slot per feature). */
static int
add_frame(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, const int *node_of, pt_err *e)
{
	const hk_table *K = pt_hk_table();
	size_t n = b->nrows, i0;
	int A = h->narms;

	if (h->acc != NULL && h->acc->broken)
		return pt_fail(e, PT_EUSAGE, "", "partial holds part of a "
		    "refused frame");
	if (n == 0)
		return 0;
	if (A > 64)
		return pt_fail(e, PT_ELIMIT, "", "%d actions (at most 64)", A);
	/* Which partition: from every row of the frame (partid.h). */
	if (pt_hist_bind_part(h, b->schema, e) < 0)
		return -1;
	if (pt_partid_add(&h->pid, b, e) < 0)
		return -1;
	if (n > UINT32_MAX)
		return pt_fail(e, PT_ELIMIT, "", "frame of %zu rows", n);
	if (h->wh != NULL)
		return add_weighted(h, K, m, c, b, node_of, e);
	{
		const int32_t *w = c->treatment >= 0 ? PT_COL_I32(b,
		    c->treatment) : NULL;
		const double *y = c->outcome >= 0 ? PT_COL_F64(b, c->outcome) :
		    NULL;
		const double *g[64];
		for (int k = 0; k < A; k++)
			g[k] = PT_COL_F64(b, c->score[k]);
		for (i0 = 0; i0 < n; i0 += BLK) {
			size_t nb = n - i0 < BLK ? n - i0 : BLK;
			if (add_chunk(h, K, m, c, b, node_of, i0, nb, g, w, y,
			    NULL, NULL, e) < 0) {
				/* The frame's earlier blocks are in: the
				 * partial no longer matches any set of whole
				 * frames. */
				if (i0 > 0 && h->acc != NULL)
					h->acc->broken = 1;
				return -1;
			}
		}
	}
	return 0;
}

int
pt_hist_add(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, const int *node_of, pt_err *e)
{
	if (h->pairs)
		return pt_fail(e, PT_EUSAGE, "", "a pair partial takes rows "
		    "through pt_hist_add_pairs");
	return add_frame(h, m, c, b, node_of, e);
}

int
pt_hist_add_pairs(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, pt_err *e)
{
	if (!h->pairs)
		return pt_fail(e, PT_EUSAGE, "", "not a pair partial");
	return add_frame(h, m, c, b, NULL, e);
}

int
pt_hist_flush(pt_hist *h, pt_err *e)
{
	if (h->acc != NULL && h->acc->broken)
		return pt_hist_folded(h, e);
	if (h->wh != NULL && pt_hist_flush(h->wh, e) < 0)
		return -1;
	return h->acc != NULL && h->acc->pend > 0 ? acc_fold(h, e) : 0;
}

int
pt_hist_folded(const pt_hist *h, pt_err *e)
{
	if (h->acc != NULL && h->acc->broken)
		return pt_fail(e, PT_EUSAGE, "", "partial holds part of a "
		    "refused frame");
	if (h->acc != NULL && h->acc->pend > 0)
		return pt_fail(e, PT_EUSAGE, "", "partial has rows not folded "
		    "(pt_hist_flush)");
	return h->wh != NULL ? pt_hist_folded(h->wh, e) : 0;
}

int
pt_hist_set_part(pt_hist *h, const char *id, pt_err *e)
{
	char (*parts)[PT_PARTID_LEN];
	int n = 1;

	if (pt_hist_flush(h, e) < 0)
		return -1;
	/* The new ids first: on failure h keeps its old ones. */
	if (id == NULL) {
		if (pt_partid_ids(&h->pid, &parts, &n, e) < 0)
			return -1;
	} else {
		if (pt_partid_check(id, e) < 0)
			return -1;
		if ((parts = malloc(sizeof *parts)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		snprintf(parts[0], sizeof parts[0], "%s", id);
	}
	free(h->parts);
	h->parts = parts;
	h->nparts = n;
	/* A pair partial's frame cells, about as big as its sums, are freed
	 * before it is written (pt_hist_pairs_bytes counts them once). */
	if (h->pairs) {
		acc_free(h->acc);
		h->acc = NULL;
		if (h->wh != NULL) {
			acc_free(h->wh->acc);
			h->wh->acc = NULL;
		}
	}
	return 0;
}

static int
same_shape(const pt_hist *a, const pt_hist *b, pt_err *e)
{
	int i;

	if (a->pairs != b->pairs)
		return pt_fail(e, PT_EMISMATCH, "", "a pair partial (hist "
		    "--pairs) and an ordinary partial do not merge");
	if ((a->wh != NULL) != (b->wh != NULL))
		return pt_fail(e, PT_EMISMATCH, "", "a partial with sample "
		    "weights and one without do not merge");
	if (strcmp(a->manifest, b->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "partial of manifest %s, "
		    "not %s", b->manifest, a->manifest);
	if (strcmp(a->model, b->model) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "partial of model %s, not %s",
		    b->model[0] ? b->model : "(none)",
		    a->model[0] ? a->model : "(none)");
	if (strcmp(a->tree, b->tree) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "partial of tree %s, not %s",
		    b->tree[0] ? b->tree : "(root)",
		    a->tree[0] ? a->tree : "(root)");
	if (a->level != b->level)
		return pt_fail(e, PT_EMISMATCH, "", "partial of level %d, not %d",
		    b->level, a->level);
	if (a->nfeatures != b->nfeatures || a->narms != b->narms ||
	    a->nnodes != b->nnodes || a->has_treatment != b->has_treatment)
		return pt_fail(e, PT_EMISMATCH, "", "partials of another shape");
	for (i = 0; i < a->nfeatures; i++)
		if (a->nbins[i] != b->nbins[i])
			return pt_fail(e, PT_EMISMATCH, "", "partials of another "
			    "shape (feature %d)", i + 1);
	for (i = 0; i < a->nnodes; i++)
		if (a->nodes[i] != b->nodes[i])
			return pt_fail(e, PT_EMISMATCH, "", "partials of other "
			    "open nodes");
	return 0;
}

/* dst[i] += src[i] * 2^d for i < n.  Returns how many entries were added
 * (n on success); *fail is set when a sum would outgrow PT_WIDE_LIMIT bits,
 * and the caller undoes the adds made. */
static size_t
merge_sums(pt_wide *dst, const pt_wide *src, size_t n, int d, int *fail)
{
	size_t i;

	for (i = 0; i < n; i++) {
		pt_wide t = src[i];
		if (pt_wide_sign(&t) == 0)
			continue;
		if (d != 0) {
			if (pt_wide_bits(&t) + d > PT_WIDE_LIMIT) {
				*fail = 1;
				return i;
			}
			pt_wide_shl(&t, d);
		}
		pt_wide_add(&dst[i], &t);
		if (!pt_wide_fits(&dst[i])) {
			*fail = 1;
			return i + 1;
		}
	}
	return n;
}

/* Undoes the first k adds of merge_sums (modular adds invert exactly). */
static void
unmerge_sums(pt_wide *dst, const pt_wide *src, size_t k, int d)
{
	size_t i;

	for (i = 0; i < k; i++) {
		pt_wide t = src[i];
		if (pt_wide_sign(&t) == 0)
			continue;
		if (d != 0)
			pt_wide_shl(&t, d);
		pt_wide_sub(&dst[i], &t);
	}
}

/* Whether the sums of b add into a's without outgrowing PT_WIDE_LIMIT
 * bits at the lower of their scales (a sufficient test: each fits one bit
 * less). */
static int
merge_fits(const pt_hist *a, const pt_hist *b)
{
	size_t i, n = (size_t)a->nnodes * a->ncells * a->narms;
	int s, ba = 0, bb = 0;

	if (a->scale == INT_MAX || b->scale == INT_MAX)
		return 1;
	s = a->scale < b->scale ? a->scale : b->scale;
	for (i = 0; i < n; i++) {
		int t = pt_wide_bits(&a->gsum[i]), u = pt_wide_bits(&b->gsum[i]);
		ba = t > ba ? t : ba;
		bb = u > bb ? u : bb;
	}
	return (ba == 0 || ba + a->scale - s < PT_WIDE_LIMIT) &&
	    (bb == 0 || bb + b->scale - s < PT_WIDE_LIMIT);
}

int
pt_hist_merge(pt_hist *dst, const pt_hist *src, pt_err *e)
{
	size_t i, n, nn, r1, r2;
	int np, d, old = dst->scale, fail = 0;
	char (*parts)[PT_PARTID_LEN];

	if (same_shape(dst, src, e) < 0)
		return -1;
	if (pt_hist_folded(dst, e) < 0 || pt_hist_folded(src, e) < 0)
		return -1;
	/* The weights merge after the rest, which may fail; they must not,
	 * so that dst stays as it was on failure: checked first. */
	if (dst->wh != NULL && !merge_fits(dst->wh, src->wh))
		return pt_fail(e, PT_ELIMIT, "", "weight sums too wide for exact "
		    "merge");
	/* Partitions: a sorted union; a repeat is an error (partid.h). */
	if (pt_partid_union(dst->parts, dst->nparts, src->parts, src->nparts,
	    &parts, &np, e) < 0)
		return -1;
	n = (size_t)dst->nnodes * dst->ncells * dst->narms;
	nn = (size_t)dst->nnodes * dst->ncells;
	if (src->scale != INT_MAX) {
		/* One scale: the lower one (rescaling dst checks first). */
		if (hist_rescale(dst, src->scale, e) < 0) {
			free(parts);
			return -1;
		}
		d = src->scale - dst->scale;
		r1 = merge_sums(dst->gsum, src->gsum, n, d, &fail);
		r2 = fail ? 0 : merge_sums(dst->ysum, src->ysum, n, d, &fail);
		if (fail) {
			/* Undo, so dst is unchanged on failure. */
			unmerge_sums(dst->gsum, src->gsum, r1, d);
			unmerge_sums(dst->ysum, src->ysum, r2, d);
			if (old != INT_MAX && old > dst->scale) {
				for (i = 0; i < n; i++) {
					if (pt_wide_sign(&dst->gsum[i]) != 0)
						pt_wide_sar(&dst->gsum[i], old - dst->scale);
					if (pt_wide_sign(&dst->ysum[i]) != 0)
						pt_wide_sar(&dst->ysum[i], old - dst->scale);
				}
			}
			dst->scale = old;
			free(parts);
			return pt_fail(e, PT_ELIMIT, "", "sums too wide for exact "
			    "merge");
		}
	}
	if (dst->wh != NULL) {
		pt_hist *dw = dst->wh;
		if (src->wh->scale != INT_MAX) {
			/* merge_fits said this cannot fail. */
			if (hist_rescale(dw, src->wh->scale, e) < 0)
				return -1;
			merge_sums(dw->gsum, src->wh->gsum, nn * (size_t)dw->narms,
			    src->wh->scale - dw->scale, &fail);
		}
		for (i = 0; i < nn; i++)
			dw->n[i] += src->wh->n[i];
		dw->rows += src->wh->rows;
	}
	for (i = 0; i < nn; i++)
		dst->n[i] += src->n[i];
	for (i = 0; i < n; i++)
		dst->cnt[i] += src->cnt[i];
	dst->rows += src->rows;
	free(dst->parts);
	dst->parts = parts;
	dst->nparts = np;
	return 0;
}

/*
 * t-hist.c: partial histograms.
 *   - every exact cell sum equals pt_xsum over the same rows (adversarial
 *     values: mixed signs and magnitudes, cancellation, frames of very
 *     different scales), and rounds to the same double;
 *   - partition independence: one partition versus 16, each cut into
 *     frames differently, serialised, read back and merged in random
 *     groupings and orders, give byte-identical bodies and trees;
 *   - corrupted and truncated partials, and mismatched merges, fail;
 *   - the fast paths: value regimes that take one, two and more limbs, the
 *     floating-point and the integer limb split, features with 0, 5, 31
 *     and 40 boundaries (the padded SIMD bins and the general search),
 *     open nodes with skipped rows, rewards mode, and the SIMD and portable
 *     kernels, all exact and byte-identical;
 *   - the SIMD value scan: vector tails (frames of 1 to 9 rows), a frame
 *     of 65536 rows, skipped rows, NaN in kept and skipped rows;
 *   - pair partials: every slot's cells against a row-by-row count, 1
 *     partition against 7 merged, the file form, the refusals.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "hist.h"
#include "search.h"
#include "tree.h"
#include "../tap.h"

#define TEST_RNG_SEED 7
#include "testrng.h"

#define F 4
#define A 3

static const int nbs[F] = { 5, 31, 40, 0 }; /* boundaries per feature */
static int regime;                         /* value distribution */
static long bad_code_at = -1; /* row whose x1 code hist_nodes corrupts */
static pt_hist *refused;      /* set: hist_nodes keeps a refused partial */
static int keep_refused;
static int pairs_mode;        /* set: hist_nodes makes pair partials */
static const double *row_wts; /* per row of r: the weight column's values */

static pt_manifest *
make_manifest(void)
{
	pt_manifest *m = pt_manifest_new();
	int f, a, i;
	char name[32];

	m->nfeatures = F;
	m->features = calloc(F, sizeof *m->features);
	for (f = 0; f < F; f++) {
		snprintf(name, sizeof name, "x%d", f + 1);
		m->features[f].name = pt_strdup(name);
		m->features[f].level = -1;
		m->features[f].nbounds = nbs[f];
		m->features[f].bounds = calloc(nbs[f] + 1, sizeof(double));
		m->features[f].counts = calloc(nbs[f] + 2, sizeof(uint64_t));
		for (i = 0; i < nbs[f]; i++)
			m->features[f].bounds[i] = (i + 1) / (double)(nbs[f] + 1);
	}
	m->nvocab = A;
	m->vocab = calloc(A, sizeof *m->vocab);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "a%d", a);
		m->vocab[a] = pt_strdup(name);
	}
	memcpy(m->digest, "fedcba9876543210fedcba9876543210", 33);
	return m;
}

/* Frames of the test; with rewards, reward columns and no treatment. */
static pt_schema *
make_schema(const pt_manifest *m, int rewards)
{
	pt_schema *s = pt_schema_new(m->digest);
	int f, a;
	char name[32];

	pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	for (f = 0; f < F; f++)
		pt_schema_add(s, m->features[f].name, PT_F64, PT_ROLE_FEATURE, 0,
		    NULL, NULL);
	if (!rewards) {
		pt_schema_add(s, "arm", PT_I32, PT_ROLE_TREATMENT, A, m->vocab,
		    NULL);
		pt_schema_add(s, "y", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	}
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, rewards ? "a%d" : "score:a%d", a);
		pt_schema_add(s, name, PT_F64, rewards ? PT_ROLE_REWARD :
		    PT_ROLE_SCORE, 0, NULL, NULL);
	}
	return s;
}

/* The rows of the test, as arrays; the scale of values changes along the
 * rows so frames differ in scale. */
typedef struct rows {
	size_t n;
	uint64_t *id;
	double *x, *y, *g;
	int32_t *w;
} rows;

static double
adversarial(size_t i)
{
	double v;

	switch (regime) {
	case 1: /* full mantissas in [-4, 4): two limbs, through doubles */
		return (unif() - 0.5) * 8;
	case 2: /* small integers and halves: one limb */
		return (double)(int)(rn() % 41) * 0.5 - 10;
	case 3: /* tiny: units below 2^-1000, the integer split */
		return ldexp((double)(int)(rn() % 2001) - 1000, -1040) *
		    (rn() % 5 == 0 ? 1e10 : 1);
	case 4: /* huge: units above 2^1000, the integer split */
		return ldexp((double)(int)(rn() % 2001) - 1000, 1005);
	case 5: /* 2^-128 to 2^75: four limbs, the general adds */
		return ldexp(unif() - 0.5, rn() % 2 ? 75 : -75);
	case 6: /* runs of rows at drifting scales, some of coarse units:
		 * the frame cells kept across frames, and folded when a
		 * frame's unit or span no longer fits them */
		switch ((i / 700) % 4) {
		case 0: return (double)(int)(rn() % 41) * 0.25 - 5;
		case 1: return ldexp(unif() - 0.5, -(int)((i / 700) % 13));
		case 2: return ldexp(unif() - 0.5, 40);
		default: return (unif() - 0.5) * 8;
		}
	}
	switch (rn() % 6) {
	case 0: v = (double)(int)(rn() % 7) - 3; break;             /* ties */
	case 1: v = ldexp(unif(), 60 - (int)(rn() % 120)); break;   /* wide */
	case 2: v = 1e15 + (double)(rn() % 1000); break;            /* big */
	case 3: v = -1e15 - (double)(rn() % 1000); break;           /* cancel */
	case 4: v = ldexp(1.0, -60) * (double)(rn() % 1000); break; /* tiny */
	default: v = unif() * (i % 1000 < 500 ? 1.0 : 1e-9);         /* scale */
	}
	return (rn() & 1) ? -v : v;
}

static void
make_rows(rows *r, size_t n)
{
	size_t i;
	int f, a;

	r->n = n;
	r->id = malloc(n * sizeof *r->id);
	r->x = malloc(n * F * sizeof *r->x);
	r->y = malloc(n * sizeof *r->y);
	r->g = malloc(n * A * sizeof *r->g);
	r->w = malloc(n * sizeof *r->w);
	for (i = 0; i < n; i++) {
		r->id[i] = rn();
		for (f = 0; f < F; f++) {
			uint64_t k = rn() % 40;
			r->x[i * F + f] = k == 0 ? NAN : k == 1 ? INFINITY :
			    k == 2 ? -INFINITY : k < 12 ?
			    (double)(rn() % (nbs[f] + 2)) / (nbs[f] + 1) : unif();
		}
		r->w[i] = rn() % 30 == 0 ? -1 : (int32_t)(rn() % A);
		r->y[i] = r->w[i] < 0 ? NAN : adversarial(i);
		for (a = 0; a < A; a++)
			r->g[i * A + a] = adversarial(i);
	}
}

static void
rows_free(rows *r)
{
	free(r->id);
	free(r->x);
	free(r->y);
	free(r->g);
	free(r->w);
}

/* A partial of the rows listed in idx (in that order), in frames of
 * frame rows; node_of (per row of r, or NULL) places rows in the open
 * nodes 1..nnodes (-1: skipped). */
static pt_hist *
hist_nodes(const pt_manifest *m, const pt_schema *s, const rows *r,
    const size_t *idx, size_t n, size_t frame, const char *part,
    const int *node_of, int nnodes)
{
	pt_err e;
	uint32_t ids[8];
	pt_hist *h;
	pt_hist_cols c;
	pt_batch *b = pt_batch_new(s, frame);
	int *slot = malloc(frame * sizeof *slot);
	size_t i0, i;
	int f, a, tc = pt_schema_find_role(s, PT_ROLE_TREATMENT, 0);
	int yc = pt_schema_find_role(s, PT_ROLE_OUTCOME, 0);
	int gc = pt_schema_find_role(s, tc >= 0 ? PT_ROLE_SCORE :
	    PT_ROLE_REWARD, 0);
	int wc = pt_schema_weight(s);

	for (i = 0; i < 8; i++)
		ids[i] = (uint32_t)i + 1;
	h = pairs_mode ? pt_hist_new_pairs(m, NULL, &e) : pt_hist_new(m, NULL,
	    NULL, 0, node_of ? ids : NULL, nnodes, &e);
	pt_hist_bind(h, m, s, &c, &e);
	for (i0 = 0; i0 < n; i0 += frame) {
		size_t nb = n - i0 < frame ? n - i0 : frame;
		for (i = 0; i < nb; i++) {
			size_t j = idx[i0 + i];
			PT_COL_U64(b, 0)[i] = r->id[j];
			for (f = 0; f < F; f++)
				PT_COL_F64(b, 1 + f)[i] = r->x[j * F + f];
			if (tc >= 0) {
				PT_COL_I32(b, tc)[i] = r->w[j];
				PT_COL_F64(b, yc)[i] = r->y[j];
			}
			for (a = 0; a < A; a++)
				PT_COL_F64(b, gc + a)[i] = r->g[j * A + a];
			if (wc >= 0)
				PT_COL_F64(b, wc)[i] = row_wts[j];
			slot[i] = node_of ? node_of[j] : 0;
		}
		b->nrows = nb;
		pt_hist_fill_codes(m, b, &e);
		if (bad_code_at >= 0 && (size_t)bad_code_at >= i0 &&
		    (size_t)bad_code_at < i0 + nb)
			PT_COL_U8(b, pt_schema_find(s, "bin:x1"))[bad_code_at - i0] =
			    (uint8_t)(nbs[0] + 2);
		if ((pairs_mode ? pt_hist_add_pairs(h, m, &c, b, &e) :
		    pt_hist_add(h, m, &c, b, node_of ? slot : NULL, &e)) < 0) {
			diag("hist_add: %s", e.msg);
			if (keep_refused)
				refused = h;
			else
				pt_hist_free(h);
			h = NULL;
			break;
		}
	}
	if (h)
		pt_hist_set_part(h, part, &e);
	pt_hist_cols_free(&c);
	pt_batch_free(b);
	free(slot);
	return h;
}

/* The first output of splitmix64 seeded with x, written out here from
 * its definition. */
static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static pt_hist *
hist_of(const pt_manifest *m, const pt_schema *s, const rows *r,
    const size_t *idx, size_t n, size_t frame, const char *part)
{
	return hist_nodes(m, s, r, idx, n, frame, part, NULL, 1);
}

/* Compares node slot `slot` of h, cell by cell, with pt_xsum sums of the
 * rows of r in that slot: returns the number of differing values (sums,
 * their rounding, counts). */
static int
check_exact(const pt_manifest *m, const pt_hist *h, const rows *r,
    const int *node_of, int slot, int rewards)
{
	size_t nc = h->ncells, i, cell;
	pt_xsum *gs = malloc(nc * A * sizeof *gs), *ys = malloc(nc * A *
	    sizeof *ys);
	uint64_t *n = calloc(nc, sizeof *n), *cnt = calloc(nc * A, sizeof *cnt);
	int f, a, bad = 0;

	for (i = 0; i < nc * A; i++) {
		pt_xsum_init(&gs[i]);
		pt_xsum_init(&ys[i]);
	}
	for (i = 0; i < r->n; i++) {
		if (node_of != NULL && node_of[i] != slot)
			continue;
		for (f = 0; f < F; f++) {
			cell = h->off[f] + (size_t)pt_feature_bin(&m->features[f],
			    r->x[i * F + f]);
			n[cell]++;
			for (a = 0; a < A; a++)
				pt_xsum_add(&gs[cell * A + a], r->g[i * A + a]);
			if (!rewards && r->w[i] >= 0) {
				cnt[cell * A + r->w[i]]++;
				pt_xsum_add(&ys[cell * A + r->w[i]], r->y[i]);
			}
		}
	}
	for (cell = 0; cell < nc; cell++) {
		size_t hc = (size_t)slot * nc + cell;
		bad += h->n[hc] != n[cell];
		for (a = 0; a < A; a++) {
			pt_xsum got;
			const pt_wide *gw = &h->gsum[hc * A + a];
			const pt_wide *yw = &h->ysum[hc * A + a];
			pt_wide_to_xsum(gw, h->scale, &got);
			if (pt_xsum_cmp(&got, &gs[cell * A + a]) != 0 && bad < 3)
				diag("cell %zu arm %d: score sum differs: %a vs %a, "
				    "scale %d", cell, a, pt_xsum_round(&got),
				    pt_xsum_round(&gs[cell * A + a]), h->scale);
			else if (pt_wide_round(gw, h->scale) !=
			    pt_xsum_round(&gs[cell * A + a]) && bad < 3)
				diag("cell %zu arm %d: %a rounds to %a, not %a", cell,
				    a, pt_xsum_round(&got), pt_wide_round(gw,
				    h->scale), pt_xsum_round(&gs[cell * A + a]));
			bad += pt_xsum_cmp(&got, &gs[cell * A + a]) != 0;
			bad += pt_wide_round(gw, h->scale) !=
			    pt_xsum_round(&gs[cell * A + a]);
			pt_wide_to_xsum(yw, h->scale, &got);
			bad += pt_xsum_cmp(&got, &ys[cell * A + a]) != 0;
			bad += pt_wide_round(yw, h->scale) !=
			    pt_xsum_round(&ys[cell * A + a]);
			bad += h->cnt[hc * A + a] != cnt[cell * A + a];
		}
	}
	free(gs);
	free(ys);
	free(n);
	free(cnt);
	return bad;
}

static char *
body_of(const pt_hist *h, size_t *len)
{
	char *buf, *p;
	size_t n;
	pt_err e;

	if (pt_hist_write(h, &buf, &n, &e) < 0)
		return NULL;
	/* From the "body" line to the checksum line (the header names the
	 * partitions, which differ). */
	p = strstr(buf, "\nbody: ");
	*len = n - (size_t)(p - buf) - 28; /* "\nchecksum: " 16 hex "\n" */
	memmove(buf, p, *len);
	return buf;
}

static char *
tree_of(const pt_manifest *m, const pt_hist *h, size_t *len)
{
	pt_err e;
	pt_ptree *t = pt_ptree_new(m, NULL, PT_CRIT_WELFARE, 1, 5, &e);
	char *buf = NULL;

	if (pt_search_grow(t, h, m, &e) == 0)
		pt_ptree_write(t, &buf, len, &e);
	pt_ptree_free(t);
	return buf;
}

static pt_hist *
roundtrip(pt_hist *h)
{
	char *buf;
	size_t len;
	pt_err e;
	pt_hist *r;

	pt_hist_write(h, &buf, &len, &e);
	r = pt_hist_read(buf, len, "mem", &e);
	free(buf);
	pt_hist_free(h);
	return r;
}

/*
 * A wide manifest: WF features of 31 boundaries (the kernels take them a
 * group at a time, groups of other sizes on codes than on values) and
 * WF2 of 40 (one at a time), 3 arms, 5000 rows in frames of 1500.  Every
 * cell is compared with sums made here row by row: counts exactly, and
 * score and outcome sums through pt_xsum.  Returns the number of cells
 * that differ, or -1 when a partial could not be made.
 */
#define WF 300
#define WF2 3
static int
wide_check(int codes)
{
	pt_manifest *m = pt_manifest_new();
	pt_schema *s, *sc;
	pt_batch *b;
	pt_hist *h;
	pt_hist_cols c;
	pt_err e;
	const size_t n = 5000, fr = 1500;
	const int nf = WF + WF2;
	double *x = malloc(n * nf * sizeof *x), *g = malloc(n * A * sizeof *g);
	double *y = malloc(n * sizeof *y);
	int32_t *w = malloc(n * sizeof *w);
	size_t i, i0, cell;
	int f, a, k, bad = 0;
	char name[32];
	pt_xsum *xs;
	uint64_t *cnt;

	m->nfeatures = nf;
	m->features = calloc((size_t)nf, sizeof *m->features);
	for (f = 0; f < nf; f++) {
		int nb = f < WF ? 31 : 40;
		snprintf(name, sizeof name, "w%d", f);
		m->features[f].name = pt_strdup(name);
		m->features[f].level = -1;
		m->features[f].nbounds = nb;
		m->features[f].bounds = calloc((size_t)nb + 1, sizeof(double));
		m->features[f].counts = calloc((size_t)nb + 2, sizeof(uint64_t));
		for (k = 0; k < nb; k++)
			m->features[f].bounds[k] = (k + 1) / (double)(nb + 1);
	}
	m->nvocab = A;
	m->vocab = calloc(A, sizeof *m->vocab);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "a%d", a);
		m->vocab[a] = pt_strdup(name);
	}
	memcpy(m->digest, "0123456789abcdef0123456789abcdef", 33);
	s = pt_schema_new(m->digest);
	pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	for (f = 0; f < nf; f++)
		pt_schema_add(s, m->features[f].name, PT_F64, PT_ROLE_FEATURE, 0,
		    NULL, NULL);
	pt_schema_add(s, "arm", PT_I32, PT_ROLE_TREATMENT, A, m->vocab, NULL);
	pt_schema_add(s, "y", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "score:a%d", a);
		pt_schema_add(s, name, PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
	}
	sc = codes ? pt_hist_code_schema(m, s, &e) : s;
	for (i = 0; i < n; i++) {
		for (f = 0; f < nf; f++)
			x[i * nf + f] = rn() % 20 == 0 ? NAN : unif();
		w[i] = rn() % 25 == 0 ? -1 : (int32_t)(rn() % A);
		y[i] = (unif() - 0.5) * 100;
		for (a = 0; a < A; a++)
			g[i * A + a] = (unif() - 0.5) * 8;
	}
	b = pt_batch_new(sc, fr);
	h = pt_hist_new(m, NULL, NULL, 0, NULL, 0, &e);
	if (h == NULL || pt_hist_bind(h, m, sc, &c, &e) < 0) {
		bad = -1;
		goto out;
	}
	for (i0 = 0; i0 < n && bad == 0; i0 += fr) {
		size_t nb = n - i0 < fr ? n - i0 : fr;
		for (i = 0; i < nb; i++) {
			PT_COL_U64(b, 0)[i] = rn();
			for (f = 0; f < nf; f++)
				PT_COL_F64(b, 1 + f)[i] = x[(i0 + i) * nf + f];
			PT_COL_I32(b, 1 + nf)[i] = w[i0 + i];
			PT_COL_F64(b, 2 + nf)[i] = y[i0 + i];
			for (a = 0; a < A; a++)
				PT_COL_F64(b, 3 + nf + a)[i] = g[(i0 + i) * A + a];
		}
		b->nrows = nb;
		if (codes)
			pt_hist_fill_codes(m, b, &e);
		if (pt_hist_add(h, m, &c, b, NULL, &e) < 0)
			bad = -1;
	}
	pt_hist_cols_free(&c);
	if (bad < 0 || pt_hist_flush(h, &e) < 0) {
		diag("wide: %s", e.msg);
		bad = -1;
		goto out;
	}
	/* Per cell: the row count, per arm the treated count, their
	 * outcome sum and every row's score sum. */
	xs = malloc(h->ncells * A * 2 * sizeof *xs);
	cnt = calloc(h->ncells * (A + 1), sizeof *cnt);
	for (i = 0; i < h->ncells * A * 2; i++)
		pt_xsum_init(&xs[i]);
	for (i = 0; i < n; i++)
		for (f = 0; f < nf; f++) {
			cell = h->off[f] + (size_t)pt_feature_bin(&m->features[f],
			    x[i * nf + f]);
			cnt[cell * (A + 1)]++;
			for (a = 0; a < A; a++)
				pt_xsum_add(&xs[(cell * A + a) * 2], g[i * A + a]);
			if (w[i] >= 0) {
				cnt[cell * (A + 1) + 1 + w[i]]++;
				pt_xsum_add(&xs[(cell * A + w[i]) * 2 + 1], y[i]);
			}
		}
	for (cell = 0; cell < h->ncells; cell++) {
		int cb = h->n[cell] != cnt[cell * (A + 1)];
		for (a = 0; a < A; a++) {
			pt_xsum gs, ys;
			pt_wide_to_xsum(&h->gsum[cell * A + a], h->scale, &gs);
			pt_wide_to_xsum(&h->ysum[cell * A + a], h->scale, &ys);
			cb |= h->cnt[cell * A + a] != cnt[cell * (A + 1) + 1 + a];
			cb |= pt_xsum_round(&gs) != pt_xsum_round(&xs[(cell * A +
			    a) * 2]);
			cb |= pt_xsum_round(&ys) != pt_xsum_round(&xs[(cell * A +
			    a) * 2 + 1]);
		}
		bad += cb;
	}
	free(xs);
	free(cnt);
out:
	pt_hist_free(h);
	pt_batch_free(b);
	if (sc != s)
		pt_schema_free(sc);
	pt_schema_free(s);
	pt_manifest_free(m);
	free(x);
	free(g);
	free(y);
	free(w);
	return bad;
}

/* a and b hold the same exact sums and counts in every cell of every
 * slot (whatever their scales); returns how many values differ. */
static int
same_cells(const pt_hist *a, const pt_hist *b)
{
	size_t i, nc, na;
	int bad = 0;

	if (a->nnodes != b->nnodes || a->ncells != b->ncells ||
	    a->narms != b->narms)
		return -1;
	nc = (size_t)a->nnodes * a->ncells;
	na = nc * (size_t)a->narms;
	for (i = 0; i < nc; i++)
		bad += a->n[i] != b->n[i];
	for (i = 0; i < na; i++) {
		pt_xsum x, y;
		bad += a->cnt[i] != b->cnt[i];
		pt_wide_to_xsum(&a->gsum[i], a->scale, &x);
		pt_wide_to_xsum(&b->gsum[i], b->scale, &y);
		bad += pt_xsum_cmp(&x, &y) != 0;
		pt_wide_to_xsum(&a->ysum[i], a->scale, &x);
		pt_wide_to_xsum(&b->ysum[i], b->scale, &y);
		bad += pt_xsum_cmp(&x, &y) != 0;
	}
	return bad;
}

/*
 * Sample weights: a partial of rows with whole weights 0..4 against the
 * partial of the rows repeated that many times (no weights): the same
 * exact score and outcome sums in every cell, and weight sums equal to the
 * repeated rows' counts; at every kernel level, at the root and in two
 * nodes, for value regimes of one limb, two and many.  Merging the halves
 * gives the whole; the partial reads back to its bytes.  Returns the
 * number of values that differ, -1 when a partial could not be made.
 */
static int
weights_check(pt_manifest *m, int pairs)
{
	size_t n = pairs ? 400 : 1500, i, k, nd = 0, *idx, *dup;
	pt_schema *s = make_schema(m, 0), *sw = make_schema(m, 0);
	double *wt;
	int *node_of, lv, bad = 0, reg, A1 = A + 1;
	rows r;

	pt_schema_add(sw, "wt", PT_F64, PT_ROLE_WEIGHT, 0, NULL, NULL);
	for (reg = 0; reg < 3 && bad == 0; reg++) {
		int saved = regime;
		regime = reg == 0 ? 1 : reg == 1 ? 2 : 0;
		make_rows(&r, n);
		regime = saved;
		wt = malloc(n * sizeof *wt);
		idx = malloc(n * sizeof *idx);
		dup = malloc(5 * n * sizeof *dup);
		node_of = malloc(n * sizeof *node_of);
		nd = 0;
		for (i = 0; i < n; i++) {
			wt[i] = (double)(rn() % 5);
			idx[i] = i;
			for (k = 0; k < (size_t)wt[i]; k++)
				dup[nd++] = i;
			node_of[i] = (int)(rn() % 3) - 1; /* -1 skips */
		}
		for (lv = 0; lv < 3 && bad == 0; lv++) {
			for (int nodes = 0; nodes < 2 - pairs && bad == 0;
			    nodes++) {
				pt_hist *hw, *hd, *h1, *h2;
				size_t c, nc;
				pt_hist_simd(lv);
				pairs_mode = pairs;
				m->weight = 0;
				row_wts = wt;
				hw = hist_nodes(m, sw, &r, idx, n, 500, "p",
				    nodes ? node_of : NULL, nodes ? 2 : 1);
				h1 = hist_nodes(m, sw, &r, idx, n / 3, 500, "p1",
				    nodes ? node_of : NULL, nodes ? 2 : 1);
				h2 = hist_nodes(m, sw, &r, idx + n / 3, n - n / 3, 700,
				    "p2", nodes ? node_of : NULL, nodes ? 2 : 1);
				m->weight = -1;
				hd = hist_nodes(m, s, &r, dup, nd, 500, "p",
				    nodes ? node_of : NULL, nodes ? 2 : 1);
				pairs_mode = 0;
				if (hw == NULL || hd == NULL || h1 == NULL ||
				    h2 == NULL || hw->wh == NULL) {
					bad = -1;
				} else {
					pt_err e;
					nc = (size_t)hw->nnodes * hw->ncells;
					for (c = 0; c < nc * A; c++) {
						pt_xsum x, y;
						pt_wide_to_xsum(&hw->gsum[c], hw->scale, &x);
						pt_wide_to_xsum(&hd->gsum[c], hd->scale, &y);
						bad += pt_xsum_cmp(&x, &y) != 0;
						pt_wide_to_xsum(&hw->ysum[c], hw->scale, &x);
						pt_wide_to_xsum(&hd->ysum[c], hd->scale, &y);
						bad += pt_xsum_cmp(&x, &y) != 0;
					}
					for (c = 0; c < nc; c++)
						for (int a = 0; a < A1; a++) {
							double want = a == A1 - 1 ?
							    (double)hd->n[c] :
							    (double)hd->cnt[c * A + a];
							bad += pt_wide_round(&hw->wh->gsum[c *
							    A1 + a], hw->wh->scale) != want;
						}
					/* The halves merged: the whole. */
					if (pt_hist_merge(h1, h2, &e) < 0)
						bad++;
					else {
						bad += same_cells(h1, hw) != 0;
						bad += same_cells(h1->wh, hw->wh) != 0;
					}
					/* Read back: the same bytes. */
					{
						char *b1, *b2;
						size_t l1, l2;
						pt_hist *rb;
						pt_hist_write(hw, &b1, &l1, &e);
						rb = pt_hist_read(b1, l1, "mem", &e);
						if (rb == NULL)
							bad++;
						else {
							pt_hist_write(rb, &b2, &l2, &e);
							bad += l1 != l2 || memcmp(b1, b2,
							    l1) != 0;
							free(b2);
							pt_hist_free(rb);
						}
						free(b1);
					}
				}
				pt_hist_free(hw);
				pt_hist_free(hd);
				pt_hist_free(h1);
				pt_hist_free(h2);
			}
		}
		pt_hist_simd(2);
		rows_free(&r);
		free(wt);
		free(idx);
		free(dup);
		free(node_of);
	}
	row_wts = NULL;
	pt_schema_free(s);
	pt_schema_free(sw);
	return bad;
}

/* Every slot (f1, b1) of pair partial h against the rows of r whose f1
 * value falls in bin b1, counted here row by row (check_exact); returns
 * the number of values that differ. */
static int
check_pairs(const pt_manifest *m, const pt_hist *h, const rows *r,
    int rewards)
{
	int *slot = malloc(r->n * sizeof *slot), f1, b1, bad = 0;
	size_t i;

	for (f1 = 0; f1 < F; f1++) {
		for (i = 0; i < r->n; i++)
			slot[i] = (int)h->off[f1] + pt_feature_bin(&m->features[f1],
			    r->x[i * F + f1]);
		for (b1 = 0; b1 < h->nbins[f1]; b1++)
			bad += check_exact(m, h, r, slot, (int)h->off[f1] + b1,
			    rewards);
	}
	free(slot);
	return bad;
}

/* buf (a written partial) with the first `from` of its header made `to`
 * and a checksum that matches again: wrong in that one way only. */
static char *
edit_partial(const char *buf, size_t len, const char *from, const char *to,
    size_t *nlen)
{
	const char *body = strstr(buf, "\nbody: ");
	const char *p = strstr(buf, from);
	size_t lf = strlen(from), lt = strlen(to), k;
	char *out, hex[17];

	if (p == NULL || body == NULL || p > body)
		return NULL;
	*nlen = len - lf + lt;
	out = malloc(*nlen);
	k = (size_t)(p - buf);
	memcpy(out, buf, k);
	memcpy(out + k, to, lt);
	memcpy(out + k + lt, p + lf, len - k - lf);
	snprintf(hex, sizeof hex, "%016" PRIx64, (uint64_t)XXH3_64bits(out,
	    *nlen - 28));
	memcpy(out + *nlen - 17, hex, 16);
	return out;
}

/*
 * Pair partials (hist --pairs): every slot's cells equal a count made
 * row by row, on values and on codes, in treatment and rewards mode;
 * each row counted once; the kernels agree; 1 partition against 7 merged
 * in a random order; the file form round trip; refusals.
 */
static void
pairs_tests(pt_manifest *m, const pt_schema *s, const rows *r,
    const size_t *idx, size_t N)
{
	pt_err e;
	pt_schema *sc = pt_hist_code_schema(m, s, &e);
	pt_schema *sr = make_schema(m, 1);
	pt_schema *src = pt_hist_code_schema(m, sr, &e);
	pt_hist *h, *o, *p0, *p2;
	char *b0 = NULL, *b2 = NULL, *buf = NULL, *buf2 = NULL;
	size_t l0 = 0, l2 = 0, len, len2, i, ncells = 0;
	int pass, bad, f, b, k, nodes_ok;

	for (f = 0; f < F; f++)
		ncells += (size_t)nbs[f] + 2;
	pairs_mode = 1;
	regime = 0;
	for (pass = 0; pass < 4; pass++) {
		int rw = pass >= 2;
		const pt_schema *ps = pass == 0 ? s : pass == 1 ? sc : pass == 2 ?
		    sr : src;
		size_t fr = 1 + rn() % 5000;
		m->nrewards = rw ? A : 0;
		h = hist_nodes(m, ps, r, idx, N, fr, NULL, NULL, 1);
		m->nrewards = 0;
		nodes_ok = h != NULL && h->pairs && h->level == 0 &&
		    h->tree[0] == '\0' && (size_t)h->nnodes == ncells;
		for (f = 0, k = 0; nodes_ok && f < F; f++)
			for (b = 0; b < nbs[f] + 2; b++, k++)
				nodes_ok &= h->nodes[k] == PT_PAIR_ID(f, b) &&
				    PT_PAIR_FEATURE(h->nodes[k]) == f &&
				    PT_PAIR_BIN(h->nodes[k]) == b &&
				    h->off[f] + (size_t)b == (size_t)k;
		ok(nodes_ok, "pair partial (%s, %s): a slot per (feature, bin) "
		    "in cell order, %zu of them, ids PT_PAIR_ID", rw ? "rewards" :
		    "treatment", pass % 2 ? "codes" : "values", ncells);
		bad = h ? check_pairs(m, h, r, rw) : -1;
		ok(bad == 0, "  every cell of every slot equals the counts and "
		    "exact sums made row by row (frames of %zu rows; %d differ)",
		    fr, bad);
		ok(h && h->rows == N && h->nparts == 1, "  each row counted once: "
		    "%" PRIu64 " rows", h ? h->rows : 0);
		pt_hist_free(h);
	}
	/* Values of one and two limbs (the floating-point limb kernels),
	 * with the portable and the widest kernels. */
	for (pass = 0; pass < 4; pass++) {
		rows q;
		int lv = pass % 2 ? 0 : 2;
		regime = 1 + pass / 2;
		make_rows(&q, N);
		pt_hist_simd(lv);
		h = hist_nodes(m, pass / 2 ? sc : s, &q, idx, N, 1 + rn() % 5000,
		    NULL, NULL, 1);
		pt_hist_simd(2);
		bad = h ? check_pairs(m, h, &q, 0) : -1;
		ok(bad == 0, "pair partial of %s values (%s, kernel level %d): "
		    "every cell exact (%d differ)", regime == 1 ? "two-limb" :
		    "one-limb", pass / 2 ? "codes" : "values", lv, bad);
		pt_hist_free(h);
		rows_free(&q);
	}
	regime = 0;
	/* The partition id is the one an ordinary partial of the rows gets;
	 * the portable and SIMD kernels give the same partial. */
	pairs_mode = 0;
	o = hist_of(m, s, r, idx, N, 4096, NULL);
	pairs_mode = 1;
	pt_hist_simd(0);
	p0 = hist_nodes(m, s, r, idx, N, 3000, NULL, NULL, 1);
	pt_hist_simd(2);
	p2 = hist_nodes(m, s, r, idx, N, 777, NULL, NULL, 1);
	ok(o && p0 && p2 && strcmp(o->parts[0], p0->parts[0]) == 0 &&
	    strcmp(o->parts[0], p2->parts[0]) == 0, "the pair partial's "
	    "partition id is the ordinary partial's: %s", o ? o->parts[0] : "");
	b0 = p0 ? body_of(p0, &l0) : NULL;
	b2 = p2 ? body_of(p2, &l2) : NULL;
	ok(b0 && b2 && l0 == l2 && memcmp(b0, b2, l0) == 0, "portable and "
	    "SIMD kernels, other framings: the same pair partial");
	free(b0);
	free(b2);

	/* 1 partition against 7, merged one by one in a random order
	 * through the file form. */
	{
		size_t *pidx[7], pn[7], *sh = malloc(N * sizeof *sh);
		pt_hist *parts[7], *acc = NULL;
		int order[7];
		char name[8];
		memcpy(sh, idx, N * sizeof *sh);
		for (i = 0; i < N; i++) {
			size_t j = rn() % (i + 1), t = sh[i];
			sh[i] = sh[j];
			sh[j] = t;
		}
		for (k = 0; k < 7; k++) {
			pidx[k] = malloc(N * sizeof **pidx);
			pn[k] = 0;
			order[k] = k;
		}
		for (i = 0; i < N; i++) {
			k = (int)(rn() % 7);
			pidx[k][pn[k]++] = sh[i];
		}
		for (k = 0; k < 7; k++) {
			snprintf(name, sizeof name, "q%d", k);
			parts[k] = roundtrip(hist_nodes(m, s, r, pidx[k], pn[k],
			    1 + rn() % 2000, name, NULL, 1));
			free(pidx[k]);
		}
		for (k = 6; k > 0; k--) {
			int j = (int)(rn() % (uint64_t)(k + 1)), t = order[k];
			order[k] = order[j];
			order[j] = t;
		}
		bad = 0;
		for (k = 0; k < 7; k++) {
			if (parts[order[k]] == NULL) {
				bad++;
				continue;
			}
			if (acc == NULL) {
				acc = parts[order[k]];
				continue;
			}
			if (pt_hist_merge(acc, parts[order[k]], &e) < 0) {
				diag("merge: %s", e.msg);
				bad++;
			}
			pt_hist_free(parts[order[k]]);
			acc = roundtrip(acc);
		}
		pt_hist_flush(p2, &e);
		k = acc ? same_cells(acc, p2) : -1;
		ok(bad == 0 && k == 0 && acc->nparts == 7 && acc->rows == N &&
		    acc->pairs, "1 partition vs 7 merged in a random order: the "
		    "same counts and exact sums in every cell (%d differ)", k);
		b0 = acc ? body_of(acc, &l0) : NULL;
		b2 = body_of(p2, &l2);
		ok(b0 && b2 && l0 == l2 && memcmp(b0, b2, l0) == 0, "  and "
		    "byte-identical bodies");
		free(b0);
		free(b2);
		/* A partition merged twice is refused, all or nothing. */
		if (acc != NULL) {
			pt_hist *again = hist_nodes(m, s, r, idx, 5, 5, "q3", NULL,
			    1);
			uint64_t rows0 = acc->rows;
			ok(again && pt_hist_merge(acc, again, &e) < 0 &&
			    e.code == PT_EMISMATCH && acc->rows == rows0,
			    "a partition seen twice is refused: %s", e.msg);
			pt_hist_free(again);
		}
		pt_hist_free(acc);
		free(sh);
	}

	/* The file form: a round trip gives the same bytes; "pairs: 1" is
	 * written for pair partials only. */
	pt_hist_write(p2, &buf, &len, &e);
	h = pt_hist_read(buf, len, "mem", &e);
	if (h != NULL)
		pt_hist_write(h, &buf2, &len2, &e);
	ok(h && h->pairs && buf2 && len == len2 && memcmp(buf, buf2, len) == 0,
	    "a pair partial written, read and written again: the same bytes");
	ok(strstr(buf, "\npairs: 1\n") != NULL, "  its header says pairs: 1");
	free(buf2);
	buf2 = NULL;
	pt_hist_free(h);
	pt_hist_write(o, &buf2, &len2, &e);
	ok(buf2 && strstr(buf2, "pairs") == NULL, "an ordinary partial's "
	    "header does not name pairs");
	free(buf2);

	/* A pair partial and an ordinary one do not merge, either way. */
	pt_hist_set_part(o, "ordinary", &e);
	ok(pt_hist_merge(o, p2, &e) < 0 && e.code == PT_EMISMATCH &&
	    strstr(e.msg, "pair") != NULL, "an ordinary partial refuses a pair "
	    "partial: %s", e.msg);
	ok(pt_hist_merge(p2, o, &e) < 0 && e.code == PT_EMISMATCH &&
	    strstr(e.msg, "pair") != NULL, "and a pair partial an ordinary "
	    "one: %s", e.msg);
	/* Rows go in through the right call only. */
	{
		pt_hist_cols c;
		pt_batch *bt = pt_batch_new(s, 1);
		pt_hist_bind(o, m, s, &c, &e);
		bt->nrows = 0;
		ok(pt_hist_add(p2, m, &c, bt, NULL, &e) < 0 && e.code ==
		    PT_EUSAGE && pt_hist_add_pairs(o, m, &c, bt, &e) < 0 &&
		    e.code == PT_EUSAGE, "pt_hist_add refuses a pair partial, "
		    "pt_hist_add_pairs an ordinary one");
		pt_hist_cols_free(&c);
		pt_batch_free(bt);
	}

	/* Headers wrong in one way (the checksum made to match) are
	 * refused with a message saying what is wrong. */
	{
		char from[64], to[64], *x;
		size_t lx;
		uint32_t last = PT_PAIR_ID(F - 1, nbs[F - 1] + 1);
		static const char *what[] = { "the last node id changed",
			"a node left out", "level 1", "a tree named", "pairs: 2",
			"pairs: 1 in an ordinary partial" };
		pt_hist *x1;
		char *ob;
		size_t ol;
		pt_hist_write(o, &ob, &ol, &e);
		for (k = 0; k < 6; k++) {
			const char *src = buf;
			size_t sl = len;
			switch (k) {
			case 0:
				snprintf(from, sizeof from, ", %" PRIu32 "]", last);
				snprintf(to, sizeof to, ", %" PRIu32 "]", last + 1);
				break;
			case 1:
				snprintf(from, sizeof from, "nodes: [%" PRIu32 ", ",
				    PT_PAIR_ID(0, 0));
				snprintf(to, sizeof to, "nodes: [");
				break;
			case 2:
				snprintf(from, sizeof from, "level: 0\n");
				snprintf(to, sizeof to, "level: 1\n");
				break;
			case 3:
				snprintf(from, sizeof from, "tree: none\n");
				snprintf(to, sizeof to, "tree: "
				    "0123456789abcdef0123456789abcdef\n");
				break;
			case 4:
				snprintf(from, sizeof from, "pairs: 1\n");
				snprintf(to, sizeof to, "pairs: 2\n");
				break;
			default:
				snprintf(from, sizeof from, "nodes: [");
				snprintf(to, sizeof to, "pairs: 1\nnodes: [");
				src = ob;
				sl = ol;
				break;
			}
			x = edit_partial(src, sl, from, to, &lx);
			x1 = x ? pt_hist_read(x, lx, "mem", &e) : NULL;
			ok(x && x1 == NULL && e.code == PT_EFORMAT, "%s: refused: "
			    "%s", what[k], x ? e.msg : "(no edit)");
			pt_hist_free(x1);
			free(x);
		}
		free(ob);
		/* And random single-byte corruptions. */
		bad = 0;
		for (k = 0; k < 100; k++) {
			size_t at = rn() % len;
			char keep = buf[at];
			buf[at] ^= (char)(1 + rn() % 255);
			x1 = pt_hist_read(buf, len, "mem", &e);
			bad += x1 != NULL;
			pt_hist_free(x1);
			buf[at] = keep;
		}
		ok(bad == 0, "100 single-byte corruptions of a pair partial all "
		    "refused");
	}
	/* The memory estimate covers the sums at least. */
	ok(pt_hist_pairs_bytes(m) > (double)ncells * ncells * (8 + A * (8 +
	    2 * sizeof(pt_wide))), "pt_hist_pairs_bytes: %.0f bytes",
	    pt_hist_pairs_bytes(m));
	free(buf);
	pt_hist_free(o);
	pt_hist_free(p0);
	pt_hist_free(p2);
	pt_schema_free(sc);
	pt_schema_free(sr);
	pt_schema_free(src);
	pairs_mode = 0;
}

int
main(void)
{
	pt_manifest *m = make_manifest();
	pt_schema *s = make_schema(m, 0);
	size_t N = getenv("PT_SANITIZE") ? 3000 : 20000, i, *idx;
	rows r;
	pt_hist *one, *parts[16];
	int k, rep, bad;
	pt_err e;

	make_rows(&r, N);
	idx = malloc(N * sizeof *idx);
	for (i = 0; i < N; i++)
		idx[i] = i;
	one = hist_of(m, s, &r, idx, N, 4096, NULL);
	ok(one != NULL, "a partial of %zu adversarial rows", N);

	/* Exactness against pt_xsum, cell by cell. */
	ok(check_exact(m, one, &r, NULL, 0, 0) == 0, "every cell's exact "
	    "score and outcome sums and counts equal pt_xsum's, and round to "
	    "the same doubles");

	/* Partition independence. */
	{
		char *b1, *t1;
		size_t l1, lt1;
		int same_body = 0, same_tree = 0, reps = 4;
		one = roundtrip(one);
		b1 = body_of(one, &l1);
		t1 = tree_of(m, one, &lt1);
		ok(t1 != NULL, "a tree from the single partial");
		for (rep = 0; rep < reps; rep++) {
			size_t *pidx[16], pn[16];
			pt_hist *acc;
			char name[16], *b2, *t2;
			size_t l2, lt2;
			int order[16], live = 16;
			for (k = 0; k < 16; k++) {
				pidx[k] = malloc(N * sizeof **pidx);
				pn[k] = 0;
			}
			/* Shuffled rows, split by a random (skewed) rule. */
			for (i = 0; i < N; i++) {
				size_t j = rn() % (i + 1), t = idx[i];
				idx[i] = idx[j];
				idx[j] = t;
			}
			for (i = 0; i < N; i++) {
				k = rep == 1 ? (int)(rn() % 4) : (int)(rn() % 16);
				pidx[k][pn[k]++] = idx[i];
			}
			for (k = 0; k < 16; k++) {
				snprintf(name, sizeof name, "p%02d", k);
				parts[k] = roundtrip(hist_of(m, s, &r, pidx[k], pn[k],
				    1 + rn() % 3000, name));
				order[k] = k;
				free(pidx[k]);
			}
			/* Random grouping: merge random pairs until one is
			 * left (merges of merges, through the file form). */
			while (live > 1) {
				int x = (int)(rn() % (uint64_t)live), y;
				do
					y = (int)(rn() % (uint64_t)live);
				while (y == x);
				if (pt_hist_merge(parts[order[x]], parts[order[y]],
				    &e) < 0)
					diag("merge: %s", e.msg);
				pt_hist_free(parts[order[y]]);
				parts[order[x]] = roundtrip(parts[order[x]]);
				order[y] = order[--live];
			}
			acc = parts[order[0]];
			b2 = body_of(acc, &l2);
			t2 = tree_of(m, acc, &lt2);
			same_body += l1 == l2 && memcmp(b1, b2, l1) == 0;
			same_tree += t2 && lt1 == lt2 && memcmp(t1, t2, lt1) == 0;
			if (rep == 0)
				ok(acc->nparts == 16, "16 partition ids after "
				    "merging");
			free(b2);
			free(t2);
			pt_hist_free(acc);
		}
		ok(same_body == reps, "1 vs 16 partitions, random groupings and "
		    "orders: byte-identical partial bodies (%d/%d)", same_body,
		    reps);
		ok(same_tree == reps, "and byte-identical trees (%d/%d)",
		    same_tree, reps);
		free(b1);
		free(t1);
	}

	/* Corruption and mismatches. */
	{
		char *buf;
		size_t len, j;
		pt_hist *h2;
		pt_hist_write(one, &buf, &len, &e);
		bad = 0;
		for (j = 0; j < 200; j++) {
			size_t at = rn() % len;
			pt_hist *x;
			buf[at] ^= (char)(1 + rn() % 255);
			x = pt_hist_read(buf, len, "mem", &e);
			bad += x != NULL;
			pt_hist_free(x);
			buf[at] ^= 0; /* restore below */
			free(buf);
			pt_hist_write(one, &buf, &len, &e);
		}
		ok(bad == 0, "200 single-byte corruptions all refused");
		h2 = pt_hist_read(buf, len / 2, "mem", &e);
		ok(h2 == NULL && (e.code == PT_ECORRUPT || e.code == PT_EFORMAT),
		    "a truncated partial is refused: %s", e.msg);
		{
			/* The header without its "rows" line. */
			char *p = strstr(buf, "\nrows: "), *q = p ? strchr(p + 1,
			    '\n') : NULL;
			char *cut = malloc(len);
			size_t k = p && q ? (size_t)(p - buf) : 0;
			if (k > 0) {
				memcpy(cut, buf, k);
				memcpy(cut + k, q, len - (size_t)(q - buf));
			}
			h2 = k > 0 ? pt_hist_read(cut, len - (size_t)(q - p), "mem",
			    &e) : NULL;
			ok(k > 0 && h2 == NULL && e.code == PT_EFORMAT &&
			    strstr(e.msg, "missing key 'rows'") != NULL,
			    "a partial without its rows line is refused: %s", e.msg);
			pt_hist_free(h2);
			free(cut);
		}
		h2 = pt_hist_read(buf, len, "mem", &e);
		ok(h2 && pt_hist_merge(h2, one, &e) < 0 && e.code == PT_EMISMATCH,
		    "a partition seen twice is refused: %s", e.msg);
		pt_hist_free(h2);
		h2 = pt_hist_read(buf, len, "mem", &e);
		pt_hist_set_part(h2, "other", &e);
		h2->level = 1;
		ok(pt_hist_merge(h2, one, &e) < 0 && e.code == PT_EMISMATCH,
		    "a partial of another level is refused: %s", e.msg);
		h2->level = 0;
		memcpy(h2->tree, "00000000000000000000000000000000", 33);
		ok(pt_hist_merge(h2, one, &e) < 0 && e.code == PT_EMISMATCH,
		    "a partial of another tree is refused: %s", e.msg);
		h2->tree[0] = '\0';
		h2->manifest[0] = '1';
		ok(pt_hist_merge(h2, one, &e) < 0 && e.code == PT_EMISMATCH,
		    "a partial of another manifest is refused: %s", e.msg);
		pt_hist_free(h2);
		free(buf);
	}
	/* Value regimes taking the other paths: two limbs through doubles,
	 * one limb, and the integer split at both ends of the exponent range;
	 * frames of random sizes.  SIMD and portable kernels agree. */
	{
		static const char *what[7] = { "adversarial (3 limbs)",
		    "[-4, 4) (two limbs)", "halves (one limb)",
		    "tiny (integer split)", "huge (integer split)",
		    "very wide (four limbs)", "drifting scales" };
		int rg;
		for (rg = 0; rg < 7; rg++) {
			rows q;
			pt_hist *h1, *h2, *h3;
			char *b1, *b2, *b3;
			size_t l1 = 0, l2 = 0, l3 = 0, fr = 1 + rn() % 5000;
			int simd;
			regime = rg;
			make_rows(&q, N);
			simd = pt_hist_simd(2);
			h1 = hist_of(m, s, &q, idx, N, fr, "x");
			pt_hist_simd(0);
			h2 = hist_of(m, s, &q, idx, N, fr, "x");
			pt_hist_simd(1);
			h3 = hist_of(m, s, &q, idx, N, fr, "x");
			pt_hist_simd(2);
			ok(h1 && check_exact(m, h1, &q, NULL, 0, 0) == 0,
			    "%s values, frames of %zu rows: exact", what[rg], fr);
			b1 = h1 ? body_of(h1, &l1) : NULL;
			b2 = h2 ? body_of(h2, &l2) : NULL;
			b3 = h3 ? body_of(h3, &l3) : NULL;
			ok(b1 && b2 && b3 && l1 == l2 && l1 == l3 &&
			    memcmp(b1, b2, l1) == 0 && memcmp(b1, b3, l1) == 0,
			    "  and the portable, AVX2 and widest SIMD kernels give "
			    "the same partial (SIMD level %d here)", simd);
			free(b3);
			pt_hist_free(h3);
			free(b1);
			free(b2);
			pt_hist_free(h1);
			pt_hist_free(h2);
			rows_free(&q);
		}
		regime = 0;
	}

	/* The partition's own id: its rows, and two sums of splitmix64 of
	 * their row ids, as policy-tree(5) says, at every SIMD level and
	 * frame size. */
	{
		uint64_t p1 = 0, p2 = 0;
		char want[64];
		pt_hist *h0, *h2;
		int lv;
		for (i = 0; i < N; i++) {
			p1 += splitmix(r.id[i]);
			p2 += splitmix(r.id[i] ^ 0x5851f42d4c957f2dULL);
		}
		snprintf(want, sizeof want, "%zu-%016" PRIx64 "%016" PRIx64, N,
		    p1, p2);
		lv = pt_hist_simd(0);
		h0 = hist_of(m, s, &r, idx, N, 1 + rn() % 5000, NULL);
		lv = pt_hist_simd(2);
		h2 = hist_of(m, s, &r, idx, N, 1 + rn() % 5000, NULL);
		ok(h0 && h2 && strcmp(h0->parts[0], want) == 0 &&
		    strcmp(h2->parts[0], want) == 0, "the partition id is the "
		    "row count and the splitmix64 sums of the row ids, with "
		    "portable and SIMD (level %d) kernels: %s", lv,
		    h2 ? h2->parts[0] : "(none)");
		pt_hist_free(h0);
		pt_hist_free(h2);
	}

	/* Open nodes: rows in three nodes, some skipped; each node's cells
	 * hold exactly its rows. */
	{
		int *node = malloc(N * sizeof *node), nb = 0, sl;
		pt_hist *h;
		regime = 1;
		for (i = 0; i < N; i++)
			node[i] = (int)(rn() % 4) - 1;
		h = hist_nodes(m, s, &r, idx, N, 1 + rn() % 3000, "n", node, 3);
		for (sl = 0; sl < 3 && h; sl++)
			nb += check_exact(m, h, &r, node, sl, 0);
		ok(h && nb == 0, "three open nodes, a quarter of the rows "
		    "skipped: every node's cells exact (%d differ)", nb);
		pt_hist_free(h);
		free(node);
		regime = 0;
	}

	/* The value scan (lowest bit, largest magnitude, non-finite values)
	 * of the SIMD kernels against the portable one: frames of 1 to 9
	 * rows (vector tails), one frame of every row (up to 65536), rows
	 * skipped through open nodes and through untreated rows (whose
	 * outcome is NaN): exact and byte-identical. */
	{
		static const size_t frs[] = { 1, 7, 8, 9, 65536 };
		size_t nq = getenv("PT_SANITIZE") ? 9000 : 65536, *qi, fi;
		int *node = malloc(nq * sizeof *node), nbad = 0, ndiff = 0, sl;
		rows q;
		qi = malloc(nq * sizeof *qi);
		for (i = 0; i < nq; i++) {
			qi[i] = i;
			node[i] = (int)(rn() % 4) - 1;
		}
		for (fi = 0; fi < sizeof frs / sizeof frs[0]; fi++) {
			size_t nr = frs[fi] < 10 ? 200 : nq;
			pt_hist *h1, *h2;
			char *b1 = NULL, *b2 = NULL;
			size_t l1 = 0, l2 = 0;
			regime = fi % 2;
			make_rows(&q, nr);
			pt_hist_simd(0);
			h1 = hist_nodes(m, s, &q, qi, nr, frs[fi], "v", node, 3);
			pt_hist_simd(2);
			h2 = hist_nodes(m, s, &q, qi, nr, frs[fi], "v", node, 3);
			for (sl = 0; sl < 3 && h2; sl++)
				nbad += check_exact(m, h2, &q, node, sl, 0) != 0;
			b1 = h1 ? body_of(h1, &l1) : NULL;
			b2 = h2 ? body_of(h2, &l2) : NULL;
			ndiff += !(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
			if (h2 == NULL)
				nbad++;
			free(b1);
			free(b2);
			pt_hist_free(h1);
			pt_hist_free(h2);
			rows_free(&q);
		}
		ok(nbad == 0 && ndiff == 0, "frames of 1, 7, 8, 9 and %zu rows "
		    "with skipped rows: exact, and the portable and SIMD value "
		    "scans agree (%d inexact, %d differ)", nq, nbad, ndiff);
		/* A NaN score: refused in a kept row, ignored in a skipped one,
		 * at every kernel level and at every position of a vector. */
		regime = 1;
		make_rows(&q, 16);
		nbad = 0;
		for (sl = 0; sl < 3; sl += 2) {
			size_t at;
			pt_hist_simd(sl);
			for (at = 0; at < 16; at += 7) {
				double keep = q.g[at * A + 1];
				pt_hist *h;
				int nd = node[at];
				q.g[at * A + 1] = NAN;
				node[at] = -1;
				h = hist_nodes(m, s, &q, qi, 16, 16, "v", node, 3);
				nbad += h == NULL;
				pt_hist_free(h);
				node[at] = 0;
				h = hist_nodes(m, s, &q, qi, 16, 16, "v", node, 3);
				nbad += h != NULL;
				pt_hist_free(h);
				node[at] = nd;
				q.g[at * A + 1] = keep;
			}
		}
		pt_hist_simd(2);
		ok(nbad == 0, "a NaN score is refused in a kept row and ignored "
		    "in a skipped one (rows 1, 8 and 15; portable and "
		    "SIMD kernels)");
		rows_free(&q);
		/* One frame of 9000 rows is added a block of 4096 at a time,
		 * the later blocks cut in the first one's unit while that is
		 * checked: a value finer or bigger than the unit starts new
		 * cells (exact), a NaN or an infinity there is refused, and
		 * the partial holding the frame's first rows with it. */
		{
			static const struct {
				size_t at; double v; int ok;
			} pl[] = {
				{ 5000, 0x1p-80, 1 }, { 8500, 1e6, 1 },
				{ 4097, -0x1p-70, 1 }, { 5000, NAN, 0 },
				{ 8191, INFINITY, 0 }, { 8192, -INFINITY, 0 },
			};
			size_t pi, at;
			int nwrong = 0, nstuck = 0;
			regime = 1;
			make_rows(&q, 9000);
			for (pi = 0; pi < sizeof pl / sizeof pl[0]; pi++)
			for (sl = 0; sl < 3; sl += 2) {
				pt_hist *h;
				double keep;
				pt_err e;
				at = pl[pi].at;
				keep = q.g[at * A + 2];
				q.g[at * A + 2] = pl[pi].v;
				pt_hist_simd(sl);
				keep_refused = 1;
				refused = NULL;
				h = hist_nodes(m, s, &q, qi, 9000, 9000, "v", NULL,
				    1);
				keep_refused = 0;
				if (pl[pi].ok)
					nwrong += h == NULL ||
					    check_exact(m, h, &q, NULL, 0, 0) != 0;
				else
					nwrong += h != NULL;
				if (refused != NULL) {
					char *buf = NULL;
					size_t len;
					nstuck += pt_hist_flush(refused, &e) == 0 ||
					    pt_hist_write(refused, &buf, &len,
					    &e) == 0;
					free(buf);
					pt_hist_free(refused);
				} else if (!pl[pi].ok) {
					nstuck++;
				}
				pt_hist_free(h);
				q.g[at * A + 2] = keep;
			}
			pt_hist_simd(2);
			ok(nwrong == 0 && nstuck == 0, "a frame of 9000 rows with "
			    "2^-80, 1e6 or -2^-70 in a later block: exact; with "
			    "NaN or an infinity there: refused, and the partial "
			    "holding its first block is refused by flush and "
			    "write (%d wrong, %d usable)", nwrong, nstuck);
			rows_free(&q);
		}
		regime = 0;
		free(node);
		free(qi);
	}

	/* Rewards mode: reward columns, no treatment. */
	{
		pt_schema *sr = make_schema(m, 1);
		pt_hist *h;
		m->nrewards = A;
		h = hist_of(m, sr, &r, idx, N, 2048, "r");
		ok(h && !h->has_treatment && check_exact(m, h, &r, NULL, 0, 1)
		    == 0, "rewards mode: counts and reward sums exact");
		pt_hist_free(h);
		m->nrewards = 0;
		pt_schema_free(sr);
	}

	/* A merge that would outgrow the exact sums fails and leaves the
	 * destination as it was. */
	{
		rows q;
		pt_hist *big, *tiny;
		char *b1 = NULL, *b2 = NULL;
		size_t l1 = 0, l2 = 0, k2;
		make_rows(&q, 64);
		{
		for (k2 = 0; k2 < 64; k2++) {
			int a2;
			for (a2 = 0; a2 < A; a2++)
				q.g[k2 * A + a2] = ldexp(1.0, 200);
			q.y[k2] = 1;
		}
		size_t id64[64];
		for (k2 = 0; k2 < 64; k2++)
			id64[k2] = k2;
		big = hist_of(m, s, &q, id64, 64, 64, "big");
		for (k2 = 0; k2 < 64 * A; k2++)
			q.g[k2] = ldexp(1.0, -60);
		tiny = hist_of(m, s, &q, id64, 64, 64, "tiny");
		if (big)
			b1 = body_of(big, &l1);
		ok(big && tiny && pt_hist_merge(big, tiny, &e) < 0 &&
		    e.code == PT_ELIMIT, "2^200 merged with 2^-60: refused: %s",
		    e.msg);
		if (big)
			b2 = body_of(big, &l2);
		ok(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0 &&
		    big->nparts == 1, "and the destination is unchanged");
		free(b1);
		free(b2);
		pt_hist_free(big);
		pt_hist_free(tiny);
		}
		rows_free(&q);
	}

	/* Bin codes carried by the frames: the same partial as binning the
	 * values, at the root, in open nodes with skipped rows, and in
	 * rewards mode, with every kernel. */
	{
		pt_schema *sc = pt_hist_code_schema(m, s, &e);
		pt_schema *sr = make_schema(m, 1);
		pt_schema *src = pt_hist_code_schema(m, sr, &e);
		static const size_t frs[] = { 1, 7, 4096, 0 };
		int *node = malloc(N * sizeof *node), ndiff = 0, ncmp = 0, lv, ncode;
		size_t fi;
		pt_hist *h;
		for (i = 0; i < N; i++)
			node[i] = (int)(rn() % 4) - 1;
		ncode = sc ? pt_schema_count_role(sc, PT_ROLE_BIN) : 0;
		ok(ncode == F && pt_schema_find(sc, "bin:x3") >= 0 &&
		    sc->cols[pt_schema_find(sc, "bin:x3")].type == PT_U8,
		    "a code column per feature (at most %d boundaries)",
		    PT_CODE_BOUNDS);
		for (lv = 0; lv <= 2; lv++) {
			pt_hist_simd(lv);
			for (fi = 0; fi < sizeof frs / sizeof frs[0]; fi++) {
				size_t fr = frs[fi] ? frs[fi] : 1 + rn() % 5000;
				size_t nr = fr < 10 ? 300 : N;
				int pass;
				for (pass = 0; pass < 3; pass++) {
					const pt_schema *s1 = pass == 2 ? sr : s;
					const pt_schema *s2 = pass == 2 ? src : sc;
					const int *no = pass == 1 ? node : NULL;
					pt_hist *h1, *h2;
					m->nrewards = pass == 2 ? A : 0;
					h1 = hist_nodes(m, s1, &r, idx, nr, fr,
					    "c", no, no ? 3 : 1);
					h2 = hist_nodes(m, s2, &r, idx, nr, fr,
					    "c", no, no ? 3 : 1);
					m->nrewards = 0;
					size_t l1 = 0, l2 = 0;
					char *b1 = h1 ? body_of(h1, &l1) : NULL, *b2;
					b2 = h2 ? body_of(h2, &l2) : NULL;
					ncmp++;
					ndiff += !(b1 && b2 && l1 == l2 &&
					    memcmp(b1, b2, l1) == 0);
					free(b1);
					free(b2);
					pt_hist_free(h1);
					pt_hist_free(h2);
				}
			}
		}
		pt_hist_simd(2);
		ok(ncmp == 36 && ndiff == 0, "frames with bin codes give the "
		    "same partial as frames without (root, open nodes with "
		    "skipped rows, rewards; portable, AVX2 and widest kernels; "
		    "frames of 1, 7, 4096 rows and random; %d of %d differ)",
		    ndiff, ncmp);
		/* A code past the missing bin indexes no cell: refused. */
		bad_code_at = (long)(N / 2);
		h = hist_of(m, sc, &r, idx, N, 4096, "c");
		ok(h == NULL, "a code past a feature's missing bin is refused");
		pt_hist_free(h);
		bad_code_at = -1;
		/* A code schema of another manifest's features is refused. */
		{
			pt_batch *b = pt_batch_new(sc, 4);
			pt_manifest *m2 = make_manifest();
			free(m2->features[2].name);
			m2->features[2].name = pt_strdup("other");
			b->nrows = 4;
			ok(pt_hist_fill_codes(m2, b, &e) < 0 && strstr(e.msg,
			    "bin:x3") != NULL, "codes of features the manifest "
			    "lacks are refused: %s", e.msg);
			pt_manifest_free(m2);
			pt_batch_free(b);
		}
		/* The in-process search's rows take the same bins from codes,
		 * and refuse a code past the missing bin. */
		{
			size_t nr = 500, j;
			const pt_schema *ss[2] = { s, sc };
			pt_rowset rs[2];
			int v, okb, tcol = pt_schema_find_role(s, PT_ROLE_TREATMENT, 0);
			int ycol = pt_schema_find_role(s, PT_ROLE_OUTCOME, 0);
			int gcol = pt_schema_find_role(s, PT_ROLE_SCORE, 0), rc1;
			pt_hist_cols hc;
			for (v = 0; v < 2; v++) {
				pt_batch *b = pt_batch_new(ss[v], nr);
				pt_hist *hh = pt_hist_new(m, NULL, NULL, 0, NULL, 0, &e);
				int f2, a2;
				for (j = 0; j < nr; j++) {
					PT_COL_U64(b, 0)[j] = r.id[j];
					for (f2 = 0; f2 < F; f2++)
						PT_COL_F64(b, 1 + f2)[j] = r.x[j * F + f2];
					PT_COL_I32(b, tcol)[j] = r.w[j];
					PT_COL_F64(b, ycol)[j] = r.y[j];
					for (a2 = 0; a2 < A; a2++)
						PT_COL_F64(b, gcol + a2)[j] = r.g[j * A + a2];
				}
				b->nrows = nr;
				pt_hist_fill_codes(m, b, &e);
				pt_rowset_init(&rs[v], m);
				pt_hist_bind(hh, m, ss[v], &hc, &e);
				rc1 = pt_rowset_add(&rs[v], m, &hc, b, &e);
				if (v == 1) {
					pt_rowset bad;
					okb = rc1 == 0 && rs[0].n == nr && rs[1].n == nr &&
					    memcmp(rs[0].bin, rs[1].bin, nr * F *
					    sizeof *rs[0].bin) == 0;
					ok(okb, "the in-process search's rows: the same "
					    "bins from codes as from values");
					PT_COL_U8(b, pt_schema_find(sc, "bin:x3"))[7] =
					    (uint8_t)(nbs[2] + 2);
					pt_rowset_init(&bad, m);
					ok(pt_rowset_add(&bad, m, &hc, b, &e) < 0 &&
					    strstr(e.msg, "x3") != NULL, "and refuse a "
					    "code past the missing bin: %s", e.msg);
					pt_rowset_free(&bad);
				}
				pt_hist_cols_free(&hc);
				pt_hist_free(hh);
				pt_batch_free(b);
			}
			pt_rowset_free(&rs[0]);
			pt_rowset_free(&rs[1]);
		}
		free(node);
		pt_schema_free(sc);
		pt_schema_free(sr);
		pt_schema_free(src);
	}

	/* pt_hist_codes against a linear search, at every kernel level and
	 * length (vector tails), with values on, between and beyond the
	 * boundaries, infinities and NaN. */
	{
		int nbad = 0, lv, f2, nb;
		double x[77];
		uint8_t got[77];
		for (lv = 0; lv <= 2; lv++) {
			pt_hist_simd(lv);
			for (f2 = 0; f2 < F; f2++) {
				const pt_feature *pf = &m->features[f2];
				size_t len;
				nb = pf->nbounds;
				for (len = 0; len <= 77; len += 1 + len / 8) {
					size_t j;
					for (j = 0; j < len; j++) {
						uint64_t k = rn() % 8;
						x[j] = k == 0 ? NAN : k == 1 ? INFINITY :
						    k == 2 ? -INFINITY : k < 5 && nb > 0 ?
						    pf->bounds[rn() % (uint64_t)nb] :
						    unif() * 1.2 - 0.1;
					}
					pt_hist_codes(pf, x, len, got);
					for (j = 0; j < len; j++) {
						int want = 0;
						if (x[j] != x[j])
							want = nb + 1;
						else
							while (want < nb && !(x[j] <=
							    pf->bounds[want]))
								want++;
						nbad += got[j] != want;
					}
				}
			}
		}
		pt_hist_simd(2);
		ok(nbad == 0, "pt_hist_codes: the first boundary k with x <= "
		    "bounds[k], nbounds above them all, nbounds+1 for NaN "
		    "(%d wrong)", nbad);
	}

	/* Values too wide for exact sums are refused, not rounded. */
	{
		size_t one_idx = 0;
		rows w = r;
		double g[A * 2] = { 1e300, 1e-300, 1, 1, 1, 1 };
		pt_hist *h;
		w.g = g;
		w.n = 1;
		h = hist_of(m, s, &w, &one_idx, 1, 1, NULL);
		ok(h == NULL, "1e300 beside 1e-300 in one partial: refused "
		    "(PT_ELIMIT)");
		pt_hist_free(h);
	}
	pairs_tests(m, s, &r, idx, N);
	pt_hist_free(one);
	rows_free(&r);
	free(idx);
	{
		int wb = weights_check(m, 0);
		ok(wb == 0, "sample weights 0..4 == the rows repeated: exact sums, "
		    "weight sums, at every kernel level, at the root and in two "
		    "nodes, merged halves, read back (%d differ)", wb);
		wb = weights_check(m, 1);
		ok(wb == 0, "the same for pair partials (%d differ)", wb);
	}
	pt_schema_free(s);
	pt_manifest_free(m);
	{
		int sl, wb[3][2];
		for (sl = 0; sl < 3; sl++) {
			pt_hist_simd(sl);
			wb[sl][0] = wide_check(0);
			wb[sl][1] = wide_check(1);
		}
		pt_hist_simd(2);
		ok(wb[0][0] == 0 && wb[0][1] == 0 && wb[1][0] == 0 &&
		    wb[1][1] == 0 && wb[2][0] == 0 && wb[2][1] == 0,
		    "%d features in groups (on values and on codes) and %d "
		    "wide ones, 5000 rows: every cell's counts and sums as "
		    "made row by row (cells differing, values/codes: portable "
		    "%d/%d, AVX2 %d/%d, AVX-512 %d/%d)", WF, WF2, wb[0][0],
		    wb[0][1], wb[1][0], wb[1][1], wb[2][0], wb[2][1]);
	}
	return done_testing();
}

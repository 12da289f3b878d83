/*
 * hist.c: partial histograms with exact sums.
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

#define LMAX 5     /* limbs per value in one frame */
#define BLK 4096    /* rows per block in the hot loop */
#define FOLD_ROWS 65536 /* rows the frame cells hold before a fold */
#define GROUP_BYTES (32 * 1024) /* frame cells of a group of features (L1) */
#define GROUP_CODES (128 * 1024) /* the same, when the frames carry codes */
#define SUB_BYTES (16 * 1024)   /* bins of a group of features */
#define WIDE_LIMIT 250 /* bits a magnitude may use (of 255) */

static void bit_range(double v, int *lo, int *hi);
static void cell_free(int64_t *c);

/* ---- wide integers ---------------------------------------------------- */

int
pt_wide_sign(const pt_wide *a)
{
	int i;

	if ((int64_t)a->w[PT_WIDE_WORDS - 1] < 0)
		return -1;
	for (i = 0; i < PT_WIDE_WORDS; i++)
		if (a->w[i] != 0)
			return 1;
	return 0;
}

int
pt_wide_cmp(const pt_wide *a, const pt_wide *b)
{
	int i = PT_WIDE_WORDS - 1;
	int64_t ta = (int64_t)a->w[i], tb = (int64_t)b->w[i];

	if (ta != tb)
		return ta < tb ? -1 : 1;
	for (i--; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

void
pt_wide_add(pt_wide *d, const pt_wide *a)
{
	uint64_t c = 0;
	int i;

	for (i = 0; i < PT_WIDE_WORDS; i++) {
		uint64_t s = d->w[i] + a->w[i];
		uint64_t c1 = s < a->w[i];
		uint64_t t = s + c;
		c = c1 | (t < s);
		d->w[i] = t;
	}
}

void
pt_wide_sub(pt_wide *d, const pt_wide *a)
{
	uint64_t b = 0;
	int i;

	for (i = 0; i < PT_WIDE_WORDS; i++) {
		uint64_t x = d->w[i], y = a->w[i];
		uint64_t t = x - y;
		uint64_t b1 = x < y;
		uint64_t u = t - b;
		b = b1 | (t < b);
		d->w[i] = u;
	}
}

static void
wide_neg(pt_wide *a)
{
	pt_wide z;

	memset(&z, 0, sizeof z);
	pt_wide_sub(&z, a);
	*a = z;
}

/* Bits used by the magnitude (0 for zero). */
static int
wide_bits(const pt_wide *a)
{
	pt_wide m = *a;
	int i;

	if (pt_wide_sign(&m) < 0)
		wide_neg(&m);
	for (i = PT_WIDE_WORDS - 1; i >= 0; i--)
		if (m.w[i] != 0)
			return 64 * i + 64 - __builtin_clzll(m.w[i]);
	return 0;
}

/* Whether a sum uses at most WIDE_LIMIT bits: wide_bits(a) <= WIDE_LIMIT,
 * from the top word alone but for one value. */
static inline int
wide_fits(const pt_wide *a)
{
	int64_t t = (int64_t)a->w[3] >> (WIDE_LIMIT - 192);

	if (t == 0)
		return 1;
	if (t != -1)
		return 0;
	/* Negative: the magnitude fits unless a is exactly -2^WIDE_LIMIT. */
	return !(a->w[3] == ~UINT64_C(0) << (WIDE_LIMIT - 192) && a->w[2] == 0 &&
	    a->w[1] == 0 && a->w[0] == 0);
}

/* Magnitude shifted left by sh (sh < 256); caller checked the room. */
static void
wide_shl(pt_wide *a, int sh)
{
	pt_wide r;
	int q = sh / 64, s = sh % 64, i;

	memset(&r, 0, sizeof r);
	for (i = PT_WIDE_WORDS - 1; i >= q; i--) {
		uint64_t v = a->w[i - q] << s;
		if (s != 0 && i - q - 1 >= 0)
			v |= a->w[i - q - 1] >> (64 - s);
		r.w[i] = v;
	}
	*a = r;
}

void
pt_wide_to_xsum(const pt_wide *a, int scale, pt_xsum *x)
{
	pt_wide m = *a;
	int neg = pt_wide_sign(&m) < 0, bit;

	pt_xsum_init(x);
	if (neg)
		wide_neg(&m);
	/* 52-bit chunks: each is a double exactly, and so is chunk * 2^k
	 * because every unit 2^scale is at least 2^-1074. */
	for (bit = 0; bit < 64 * PT_WIDE_WORDS; bit += 52) {
		int q = bit / 64, s = bit % 64;
		uint64_t c = m.w[q] >> s;
		if (s > 12 && q + 1 < PT_WIDE_WORDS)
			c |= m.w[q + 1] << (64 - s);
		c &= (UINT64_C(1) << 52) - 1;
		if (c != 0) {
			double d = ldexp((double)c, scale + bit);
			pt_xsum_add(x, neg ? -d : d);
		}
	}
}

double
pt_wide_round(const pt_wide *a, int scale)
{
	pt_wide m = *a;
	int neg, top, i;
	uint64_t hi = 0, mant;
	int sticky = 0;
	double r;

	if (pt_wide_sign(&m) == 0)
		return 0.0;
	neg = pt_wide_sign(&m) < 0;
	if (neg)
		wide_neg(&m);
	top = wide_bits(&m) - 1;
	if (top < 53) {
		/* Fits a 53-bit integer: exact unless the scale underflows. */
		if (scale + top >= -1022 || scale >= -1074) {
			r = ldexp((double)m.w[0], scale);
			if (scale >= -1074 && scale + top >= -1022)
				return neg ? -r : r;
		}
	} else if (scale + top - 52 >= -1022) {
		/* The 64 bits below and at top, and whether anything lower is set. */
		int lo = top - 63;
		for (i = 0; i < 64; i++) {
			int b = lo + i;
			if (b >= 0 && (m.w[b / 64] >> (b % 64)) & 1)
				hi |= UINT64_C(1) << i;
		}
		for (i = 0; i < lo; i++)
			if ((m.w[i / 64] >> (i % 64)) & 1) {
				sticky = 1;
				break;
			}
		mant = hi >> 11;
		{
			uint64_t rem = hi & 0x7ff;
			if (rem > 0x400 || (rem == 0x400 && (sticky || (mant & 1))))
				mant++;
		}
		r = ldexp((double)mant, scale + top - 52);
		return neg ? -r : r;
	}
	{
		/* Near or below the subnormal range: let pt_xsum round. */
		pt_xsum x;
		pt_wide_to_xsum(a, scale, &x);
		return pt_xsum_round(&x);
	}
}

int
pt_f64_lowbit(double v)
{
	int lo, hi;

	bit_range(v, &lo, &hi);
	return lo;
}

int
pt_wide_from_f64(pt_wide *d, double v, int scale)
{
	int lo, hi;

	memset(d, 0, sizeof *d);
	if (v == 0)
		return 0;
	if (!isfinite(v))
		return -1;
	bit_range(v, &lo, &hi);
	if (lo < scale || hi - scale > WIDE_LIMIT - 40)
		return -1;
	{
		uint64_t u, M;
		int E, e0;
		memcpy(&u, &v, sizeof u);
		E = (int)((u >> 52) & 0x7ff);
		M = u & ((UINT64_C(1) << 52) - 1);
		if (E != 0)
			M |= UINT64_C(1) << 52;
		e0 = (E ? E : 1) - 1075;
		d->w[0] = M;
		if (e0 - scale > 0)
			wide_shl(d, e0 - scale);
		else if (e0 < scale)
			d->w[0] = M >> (scale - e0);
		if (u >> 63)
			wide_neg(d);
	}
	return 0;
}

/* ---- canonical binary form of an exact value -------------------------- */

typedef struct wbuf {
	unsigned char *p;
	size_t n, cap;
	int err;
} wbuf;

static void
wb_put(wbuf *b, const void *src, size_t n)
{
	if (b->err)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *q;
		while (cap < b->n + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL) {
			b->err = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void
wb_varint(wbuf *b, uint64_t v)
{
	unsigned char t[10];
	int n = 0;

	while (v >= 0x80) {
		t[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (unsigned char)v;
	wb_put(b, t, n);
}

static void
wb_printf(wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void
wb_printf(wbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->err = 1;
		return;
	}
	wb_put(b, tmp, (size_t)n);
}

/* Lowest set bit of a non-zero sum. */
static int
wide_ctz(const pt_wide *a)
{
	int i;

	for (i = 0; i < PT_WIDE_WORDS && a->w[i] == 0; i++)
		;
	return 64 * i + __builtin_ctzll(a->w[i]);
}

/* a >>= sh (arithmetic), 0 <= sh < 256. */
static void
wide_sar(pt_wide *a, int sh)
{
	uint64_t fill = (int64_t)a->w[PT_WIDE_WORDS - 1] < 0 ? ~UINT64_C(0) : 0;
	uint64_t src[2 * PT_WIDE_WORDS];
	int q = sh / 64, r = sh % 64, i;

	for (i = 0; i < PT_WIDE_WORDS; i++) {
		src[i] = a->w[i];
		src[PT_WIDE_WORDS + i] = fill;
	}
	for (i = 0; i < PT_WIDE_WORDS; i++) {
		uint64_t v = src[i + q] >> r;
		if (r != 0)
			v |= src[i + q + 1] << (64 - r);
		a->w[i] = v;
	}
}

/* Bytes of the shortest two's complement form of a (0 for zero). */
static inline int
wide_nbytes(const pt_wide *a)
{
	uint64_t fill = (int64_t)a->w[PT_WIDE_WORDS - 1] < 0 ? ~UINT64_C(0) : 0;
	int i;

	for (i = PT_WIDE_WORDS - 1; i >= 0; i--) {
		uint64_t v = a->w[i] ^ fill; /* the magnitude bits, sign cleared */
		if (v != 0)
			return (64 * i + 64 - __builtin_clzll(v) + 1 + 7) / 8;
	}
	return fill ? 1 : 0;
}

/* The little-endian bytes of a's words (memcpy on little-endian hosts). */
static inline void
wide_le(const pt_wide *a, unsigned char *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(out, a->w, 8 * PT_WIDE_WORDS);
#else
	int i;

	for (i = 0; i < 8 * PT_WIDE_WORDS; i++)
		out[i] = (unsigned char)(a->w[i / 8] >> (8 * (i % 8)));
#endif
}

/* A sum in units of 2^e as the shortest two's complement little-endian
 * bytes: a length byte k (0 for zero), then k bytes. */
static void
wb_int(wbuf *b, const pt_wide *a, int sh)
{
	pt_wide m = *a;
	unsigned char bytes[1 + 8 * PT_WIDE_WORDS];
	int k;

	if (sh > 0)
		wide_sar(&m, sh);
	k = wide_nbytes(&m);
	bytes[0] = (unsigned char)k;
	wide_le(&m, bytes + 1);
	wb_put(b, bytes, (size_t)k + 1);
}

typedef struct rbuf {
	const unsigned char *p;
	size_t n, pos;
	int err;
} rbuf;

static inline uint64_t
rb_varint(rbuf *r)
{
	uint64_t v = 0;
	int s = 0;

	/* One byte, the usual case, first. */
	if (r->pos < r->n && r->p[r->pos] < 0x80)
		return r->p[r->pos++];
	while (r->pos < r->n && s < 64) {
		unsigned char c = r->p[r->pos++];
		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			return v;
		s += 7;
	}
	r->err = 1;
	return 0;
}

/* The inverse of wb_int; refuses non-shortest forms and values wider
 * than WIDE_LIMIT bits. */
static inline void
rb_int(rbuf *r, pt_wide *a)
{
	unsigned char bytes[8 * PT_WIDE_WORDS];
	const unsigned char *p;
	int k;

	if (r->pos >= r->n) {
		r->err = 1;
		memset(a, 0, sizeof *a);
		return;
	}
	k = r->p[r->pos++];
	if (k == 0) {
		memset(a, 0, sizeof *a);
		return;
	}
	if (k > 8 * PT_WIDE_WORDS || r->pos + (size_t)k > r->n) {
		r->err = 1;
		memset(a, 0, sizeof *a);
		return;
	}
	p = r->p + r->pos;
	r->pos += (size_t)k;
	memset(bytes, p[k - 1] & 0x80 ? 0xff : 0, sizeof bytes);
	memcpy(bytes, p, (size_t)k);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(a->w, bytes, sizeof bytes);
#else
	{
		int i;
		memset(a, 0, sizeof *a);
		for (i = 0; i < 8 * PT_WIDE_WORDS; i++)
			a->w[i / 8] |= (uint64_t)bytes[i] << (8 * (i % 8));
	}
#endif
	if (wide_nbytes(a) != k || !wide_fits(a))
		r->err = 1;
}

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
	double *ptab;         /* per feature: bin32_tables of tab */
	int *pidx, npad;      /* the features with <= 31 boundaries */
	int *widx, nwide;     /* the others */
	int grp[2];           /* padded features per group: values, codes */
	size_t sub[2];        /* rows per sub-block: values, codes */
	uint64_t ph1, ph2, prows; /* partition hash */
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

static pt_hist *
hist_alloc(int nfeatures, int narms, int nnodes, pt_err *e)
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

static int
hist_alloc_cells(pt_hist *h, pt_err *e)
{
	size_t nc = (size_t)h->nnodes * h->ncells;

	h->n = calloc(nc + 1, sizeof *h->n);
	h->cnt = calloc(nc * h->narms + 1, sizeof *h->cnt);
	h->ysum = calloc(nc * h->narms + 1, sizeof *h->ysum);
	h->gsum = calloc(nc * h->narms + 1, sizeof *h->gsum);
	if (h->n == NULL || h->cnt == NULL || h->ysum == NULL || h->gsum == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory for %zu cells", nc);
	return 0;
}

pt_hist *
pt_hist_new(const pt_manifest *m, const char *model, const char *tree,
    int level, const uint32_t *nodes, int nnodes, pt_err *e)
{
	pt_hist *h;
	int i;

	if (nodes == NULL || nnodes == 0)
		nnodes = 1;
	if (nnodes > PT_HIST_MAXNODES) {
		pt_fail(e, PT_ELIMIT, "", "%d open nodes (at most %d)", nnodes,
		    PT_HIST_MAXNODES);
		return NULL;
	}
	if (m->nvocab < 1 || m->nfeatures < 1) {
		pt_fail(e, PT_EFORMAT, "", "manifest has no features or actions");
		return NULL;
	}
	h = hist_alloc(m->nfeatures, m->nvocab, nnodes, e);
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
	for (i = 0; i < m->nfeatures; i++)
		if (m->features[i].nbounds > 65000) {
			pt_hist_free(h);
			pt_fail(e, PT_ELIMIT, "", "feature %s: %d boundaries (at "
			    "most 65000)", m->features[i].name,
			    m->features[i].nbounds);
			return NULL;
		}
	make_shape(h, m);
	if (hist_alloc_cells(h, e) < 0) {
		pt_hist_free(h);
		return NULL;
	}
	return h;
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
	acc_free(h->acc);
	free(h);
}

void
pt_hist_feature_digest(const pt_manifest *m, char out[33])
{
	/* Names and bin counts, each name NUL-terminated, in feature order. */
	XXH3_state_t *st = XXH3_createState();
	XXH128_hash_t d;
	int f;

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

/* The name of feature f's code column ("bin:NAME") into nm; 0 when f has
 * none (too many boundaries, or a name too long). */
static int
code_name(const pt_feature *f, char nm[512])
{
	return f->nbounds <= PT_CODE_BOUNDS &&
	    snprintf(nm, 512, "bin:%s", f->name) < 512;
}

int
pt_hist_bind(const pt_hist *h, const pt_manifest *m, const pt_schema *s,
    pt_hist_cols *c, pt_err *e)
{
	int f, a, nscore;
	pt_role sr = PT_ROLE_SCORE;
	char nm[512];

	memset(c, 0, sizeof *c);
	if (strcmp(s->manifest, m->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames were made under "
		    "manifest %s, not %s", s->manifest, m->digest);
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
		if (code_name(&m->features[f], nm) && (j = pt_schema_find(s,
		    nm)) >= 0 && s->cols[j].type == PT_U8 &&
		    s->cols[j].role == PT_ROLE_BIN)
			c->code[f] = j;
	}
	nscore = pt_schema_count_role(s, PT_ROLE_SCORE);
	if (nscore == 0 && pt_schema_count_role(s, PT_ROLE_REWARD) > 0) {
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
	for (a = 0; a < h->narms; a++) {
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
		int b1 = wide_bits(&h->ysum[i]), b2 = wide_bits(&h->gsum[i]);
		maxb = b1 > maxb ? b1 : maxb;
		maxb = b2 > maxb ? b2 : maxb;
	}
	if (maxb > 0 && maxb + d > WIDE_LIMIT)
		return pt_fail(e, PT_ELIMIT, "", "sums span more than 2^%d "
		    "(values from 2^%d to about 2^%d): too wide for exact "
		    "histogram sums", WIDE_LIMIT, newscale, newscale + maxb + d);
	if (maxb > 0)
		for (i = 0; i < n; i++) {
			if (pt_wide_sign(&h->ysum[i]) != 0)
				wide_shl(&h->ysum[i], d);
			if (pt_wide_sign(&h->gsum[i]) != 0)
				wide_shl(&h->gsum[i], d);
		}
	h->scale = newscale;
	return 0;
}

static int
bitlen64(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* d += v * 2^sh for a signed 128-bit v (lo, hi words); the caller knows
 * the result fits. */
static inline void
wide_add_128(pt_wide *d, uint64_t lo, uint64_t hi, int sh)
{
	uint64_t src[PT_WIDE_WORDS], carry = 0;
	int q = sh >> 6, r = sh & 63, k;

	src[0] = lo;
	src[1] = hi;
	src[2] = src[3] = (int64_t)hi < 0 ? ~UINT64_C(0) : 0;
	for (k = q; k < PT_WIDE_WORDS; k++) {
		int t = k - q;
		uint64_t x = src[t] << r, s1, s2;
		if (r != 0 && t > 0)
			x |= src[t - 1] >> (64 - r);
		s1 = d->w[k] + x;
		s2 = s1 + carry;
		carry = (s1 < x) | (s2 < s1);
		d->w[k] = s2;
	}
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
			wide_add_128(d, (uint64_t)t, (uint64_t)((unsigned __int128)t
			    >> 64), sh);
		return;
	}
	for (l = 0; l < L; l++)
		if (v[l] != 0)
			wide_add_128(d, (uint64_t)v[l], v[l] < 0 ? ~UINT64_C(0) : 0,
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

/* Lowest and highest set bit exponents of a finite non-zero double. */
static void
bit_range(double v, int *lo, int *hi)
{
	uint64_t u, M;
	int E, e0;

	memcpy(&u, &v, sizeof u);
	E = (int)((u >> 52) & 0x7ff);
	M = u & ((UINT64_C(1) << 52) - 1);
	if (E != 0)
		M |= UINT64_C(1) << 52;
	e0 = (E ? E : 1) - 1075;
	*lo = e0 + __builtin_ctzll(M);
	*hi = e0 + 63 - __builtin_clzll(M);
}

/* One column's lowest set bit (into *lo) and largest magnitude bits (into
 * *amax) over the rows kept (node_of[i] >= 0; with w, also w[i] >= 0).
 * Returns non-zero when a kept value is not finite.  Branch-free but for
 * the row filter. */
static int
scan_col(const double *v, size_t n, const int *node_of, const int32_t *w,
    int *lo, uint64_t *amax)
{
	const uint64_t expm = UINT64_C(0x7ff) << 52;
	uint64_t mx = *amax, bad = 0;
	int l0 = *lo;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t u, a, E, M;
		int e0, l;
		if ((node_of != NULL && node_of[i] < 0) || (w != NULL && w[i] < 0))
			continue;
		memcpy(&u, &v[i], sizeof u);
		a = u & ~(UINT64_C(1) << 63);
		bad |= (a & expm) == expm;
		mx = a > mx ? a : mx;
		E = a >> 52;
		M = (a & ((UINT64_C(1) << 52) - 1)) | ((uint64_t)(E != 0) << 52);
		e0 = (int)(E ? E : 1) - 1075;
		l = e0 + __builtin_ctzll(M | UINT64_C(1) << 63);
		l = a != 0 ? l : INT_MAX;
		l0 = l < l0 ? l : l0;
	}
	*lo = l0;
	*amax = mx;
	return bad != 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* scan_col eight values at a time (AVX-512F and CD: vplzcntq gives the
 * trailing zero count of the lowest set bit).  Same results as scan_col:
 * a minimum, a maximum and an or do not depend on the order. */
__attribute__((target("avx512f,avx512cd,avx512vl"))) static int
scan_col_avx512(const double *v, size_t n, const int *node_of,
    const int32_t *w, int *lo, uint64_t *amax)
{
	const __m512i expm = _mm512_set1_epi64((long long)(UINT64_C(0x7ff) << 52));
	const __m512i absm = _mm512_set1_epi64(INT64_MAX);
	const __m512i m52 = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - 1));
	const __m512i one52 = _mm512_set1_epi64((long long)(UINT64_C(1) << 52));
	const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
	__m512i mx = _mm512_set1_epi64((long long)*amax);
	__m512i l0 = _mm512_set1_epi64(*lo);
	__mmask8 bad = 0;
	size_t i;

	for (i = 0; i < n; i += 8) {
		__mmask8 keep = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
		__m512i u, a, E, M, low, tz, l;
		__mmask8 nz;
		if (node_of != NULL)
			keep &= _mm512_cmpge_epi64_mask(_mm512_cvtepi32_epi64(
			    _mm256_maskz_loadu_epi32(keep, node_of + i)), zero);
		if (w != NULL)
			keep &= _mm512_cmpge_epi64_mask(_mm512_cvtepi32_epi64(
			    _mm256_maskz_loadu_epi32(keep, w + i)), zero);
		u = _mm512_maskz_loadu_epi64(keep, v + i);
		a = _mm512_and_si512(u, absm);
		bad |= _mm512_mask_cmpeq_epi64_mask(keep,
		    _mm512_and_si512(a, expm), expm);
		mx = _mm512_max_epu64(mx, a);
		E = _mm512_srli_epi64(a, 52);
		nz = _mm512_test_epi64_mask(a, a);
		M = _mm512_and_si512(a, m52);
		M = _mm512_mask_or_epi64(M, _mm512_test_epi64_mask(E, E), M,
		    one52);
		low = _mm512_and_si512(M, _mm512_sub_epi64(zero, M));
		tz = _mm512_sub_epi64(_mm512_set1_epi64(63), _mm512_lzcnt_epi64(low));
		l = _mm512_add_epi64(_mm512_max_epi64(E, one), tz);
		l = _mm512_sub_epi64(l, _mm512_set1_epi64(1075));
		l0 = _mm512_mask_min_epi64(l0, nz, l0, l);
	}
	*lo = (int)_mm512_reduce_min_epi64(l0);
	*amax = (uint64_t)_mm512_reduce_max_epu64(mx);
	return bad != 0;
}
#endif

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

/* ---- kernels ---------------------------------------------------------- */

/*
 * A block of rows is added in two steps.  First every feature's values
 * are binned into a byte per row (features with at most 31 boundaries,
 * the usual case: they use 33 frame cells, bins 0..31 and the missing bin
 * at 32, the padded bins nbounds+1..31 staying empty, so a bin is a
 * branch-free count).  Then the rows are walked once, each row's vectors
 * held in registers while they are added into the cell of every feature
 * in turn: G gets the score limbs at the bin, Y the count and outcome
 * limbs at (slot, bin).  Walking rows across features, not features
 * across rows, reads each row's vectors once per block, and consecutive
 * adds go to different features' cells, so they do not wait on each
 * other.  Features are taken in groups whose cells fit the cache.
 *
 * The kernels are plain C (the compiler vectorises the lane loops); on
 * x86-64 each is compiled twice, for the baseline and for AVX2, and the
 * AVX2 copy is used when the CPU has it (no -march flag: the build stays
 * portable), with AVX-512 binning when the CPU has that.  Integer adds
 * give the same bits either way; tests compare the levels.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HIST_X86 1
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,popcnt")))
#define AVX512_FN __attribute__((target("avx512f")))

/* The first n (< 8 or more) of eight lanes. */
static inline __mmask8
tail_mask(size_t n)
{
	return n >= 8 ? 0xff : (__mmask8)((1u << n) - 1);
}
#endif

#define PAD_BINS 33 /* frame cells of a feature with <= 31 boundaries */
#define PTAB 40     /* doubles per feature in the AVX-512 search tables */

/* First k with x <= b[k] (nb when none), branch-free; x not NaN. */
static inline int
bin_of(const double *b, int nb, double x)
{
	const double *base = b;
	int n = nb;

	if (n == 0)
		return 0;
	/* Arithmetic instead of a conditional, so the compiler cannot turn
	 * it into an unpredictable branch. */
	while (n > 1) {
		int half = n / 2;
		base += (size_t)(base[half - 1] < x) * (size_t)half;
		n -= half;
	}
	return (int)(base - b) + (base[0] < x);
}

/* Bins of a feature with more than 31 boundaries. */
static void
bin_any(const double *b, int nb, const double *x, size_t m, uint16_t *bin)
{
	size_t j;

	for (j = 0; j < m; j++)
		bin[j] = (uint16_t)(x[j] != x[j] ? nb + 1 : bin_of(b, nb, x[j]));
}

/* The count of t[k] < v over 32 bounds padded with +inf, in five halving
 * steps; NaN gives 32. */
static inline size_t
bin32_scalar(const double *t, double v)
{
	size_t p = (size_t)(t[15] < v) << 4;

	p += (size_t)(t[p + 7] < v) << 3;
	p += (size_t)(t[p + 3] < v) << 2;
	p += (size_t)(t[p + 1] < v) << 1;
	p += (size_t)(t[p] < v);
	return v != v ? 32 : p;
}

static void
bin32_base(const double *t, const double *x, size_t m, uint8_t *bin)
{
	size_t j;

	for (j = 0; j < m; j++)
		bin[j] = (uint8_t)bin32_scalar(t, x[j]);
}

#ifdef HIST_X86
/* !(v <= t) against the splitters t[3], t[7], .., t[27] gives v's group of
 * four bounds, then against the group: NaN compares true everywhere and
 * lands at 28 + 4 = 32. */
AVX2_FN static void
bin32_avx2(const double *t, const double *x, size_t m, uint8_t *bin)
{
	__m256d s0 = _mm256_set_pd(t[15], t[11], t[7], t[3]);
	__m256d s1 = _mm256_set_pd(t[31], t[27], t[23], t[19]);
	size_t j;

	for (j = 0; j < m; j++) {
		__m256d xv = _mm256_set1_pd(x[j]);
		unsigned m1 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(xv, s0,
		    _CMP_NLE_UQ)) | ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(xv,
		    s1, _CMP_NLE_UQ)) & 7u) << 4;
		size_t g = (size_t)__builtin_popcount(m1);
		unsigned m2 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(xv,
		    _mm256_loadu_pd(t + 4 * g), _CMP_NLE_UQ));
		bin[j] = (uint8_t)(4 * g + (size_t)__builtin_popcount(m2));
	}
}

/*
 * The search tables of bin32_avx512 for the 32 padded bounds t: the probe
 * of each halving step, indexed by the answers so far, b1 + 2 b2 + ...
 * (bit i the answer of step i + 1), so that one in-register permute
 * fetches every row's next probe: steps 2 to 4 from 2, 4 and 8 entries,
 * step 5 from 16 (two registers).
 */
static void
bin32_tables(const double *t, double *pt)
{
	int c;

	for (c = 0; c < 8; c++) {
		int b1 = c & 1, b2 = (c >> 1) & 1, b3 = (c >> 2) & 1;
		pt[c] = t[16 * b1 + 7];
		pt[8 + c] = t[16 * b1 + 8 * b2 + 3];
		pt[16 + c] = t[16 * b1 + 8 * b2 + 4 * b3 + 1];
	}
	for (c = 0; c < 16; c++)
		pt[24 + c] = t[16 * (c & 1) + 8 * ((c >> 1) & 1) +
		    4 * ((c >> 2) & 1) + 2 * ((c >> 3) & 1)];
}

/* bin32_scalar for 8 rows at a time (pt: bin32_tables; t15 = t[15]),
 * writing bin[0 .. m rounded up to 8).  NaN compares "not <=" everywhere,
 * reaches 31 and is moved to 32. */
AVX512_FN static void
bin32_avx512(const double *pt, double t15, const double *x, size_t m,
    uint8_t *bin)
{
	const __m512d T2 = _mm512_loadu_pd(pt), T3 = _mm512_loadu_pd(pt + 8);
	const __m512d T4 = _mm512_loadu_pd(pt + 16);
	const __m512d T5a = _mm512_loadu_pd(pt + 24);
	const __m512d T5b = _mm512_loadu_pd(pt + 32);
	const __m512d mid = _mm512_set1_pd(t15);
	const __m512i one = _mm512_set1_epi64(1);
	size_t j;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512d xv = _mm512_maskz_loadu_pd(lm, x + j);
		__mmask8 k = _mm512_cmp_pd_mask(xv, mid, _CMP_NLE_UQ);
		__m512i c = _mm512_maskz_mov_epi64(k, one);
		__m512i p = _mm512_maskz_mov_epi64(k, _mm512_set1_epi64(16));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutexvar_pd(c, T2),
		    _CMP_NLE_UQ);
		c = _mm512_mask_add_epi64(c, k, c, _mm512_set1_epi64(2));
		p = _mm512_mask_add_epi64(p, k, p, _mm512_set1_epi64(8));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutexvar_pd(c, T3),
		    _CMP_NLE_UQ);
		c = _mm512_mask_add_epi64(c, k, c, _mm512_set1_epi64(4));
		p = _mm512_mask_add_epi64(p, k, p, _mm512_set1_epi64(4));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutexvar_pd(c, T4),
		    _CMP_NLE_UQ);
		c = _mm512_mask_add_epi64(c, k, c, _mm512_set1_epi64(8));
		p = _mm512_mask_add_epi64(p, k, p, _mm512_set1_epi64(2));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutex2var_pd(T5a, c, T5b),
		    _CMP_NLE_UQ);
		p = _mm512_mask_add_epi64(p, k, p, one);
		k = _mm512_cmp_pd_mask(xv, xv, _CMP_UNORD_Q);
		p = _mm512_mask_add_epi64(p, k, p, one);
		/* The register form of the narrowing and a plain 8-byte store
		 * (a store narrowing to memory is slow on some CPUs); the
		 * caller's buffer has room for a whole group of 8. */
		_mm_storel_epi64((__m128i *)(bin + j), _mm512_cvtepi64_epi8(p));
	}
}
#endif

/* One row's adds: N lanes at d from s. */
#define ADDN(d, s, N) do { \
	int q_; \
	for (q_ = 0; q_ < (N); q_++) \
		(d)[q_] += (s)[q_]; \
} while (0)

/*
 * The adds of m rows over nf features: row j's G vector (KG lanes at
 * rg + j KG) into G + gro[j] + (q PAD_BINS + bin) KG for every feature q
 * of the group, its Y vector likewise; bins[q * bs + j] is row j's bin in
 * feature q.
 */
#define ROWS_ARGS const uint8_t *bins, size_t bs, int nf, size_t m, \
	int64_t *restrict G, const int64_t *restrict rg, const size_t *gro, \
	int64_t *restrict Y, const int64_t *restrict ry, const size_t *yro
typedef void rows_fn(ROWS_ARGS);
/* Row j's adds over the group's nf features. */
#define ROW_ADDS(j, KG, KY) do { \
	const int64_t *restrict gv_ = rg + (j) * (size_t)(KG); \
	const int64_t *restrict yv_ = ry + (j) * (size_t)(KY); \
	int64_t *gb_ = G + (gro ? gro[j] : 0), *yb_ = Y + yro[j]; \
	int q_; \
	for (q_ = 0; q_ < nf; q_++) { \
		size_t b_ = bins[(size_t)q_ * bs + (j)] + (size_t)q_ * PAD_BINS; \
		ADDN(gb_ + b_ * (KG), gv_, KG); \
		ADDN(yb_ + b_ * (KY), yv_, KY); \
	} \
} while (0)
#define ROWS_PAIRS(KG, KY, GO) do { \
	for (; j + 2 <= m; j += 2) { \
		const int64_t *restrict gv = rg + j * (KG); \
		const int64_t *restrict yv = ry + j * (KY); \
		int64_t *g0 = G + GO(j), *y0 = Y + yro[j]; \
		int64_t *g1 = G + GO(j + 1), *y1 = Y + yro[j + 1]; \
		const uint8_t *bj = bins + j; \
		for (q = 0; q < nf; q++) { \
			size_t c_ = (size_t)q * PAD_BINS; \
			size_t b0 = bj[(size_t)q * bs] + c_; \
			size_t b1 = bj[(size_t)q * bs + 1] + c_; \
			ADDN(g0 + b0 * (KG), gv, KG); \
			ADDN(y0 + b0 * (KY), yv, KY); \
			ADDN(g1 + b1 * (KG), gv + (KG), KG); \
			ADDN(y1 + b1 * (KY), yv + (KY), KY); \
		} \
	} \
} while (0)
#define GO_NODE(j) gro[j]
#define GO_ROOT(j) 0
#define ROWS_LOOP(KG, KY) { \
	size_t j = 0; \
	int q; \
	/* Two rows at a time: twice the independent adds per feature; at \
	 * the root (gro NULL) every row's cells are node 0's. */ \
	if (gro == NULL) \
		ROWS_PAIRS(KG, KY, GO_ROOT); \
	else \
		ROWS_PAIRS(KG, KY, GO_NODE); \
	if (j < m) \
		ROW_ADDS(j, KG, KY); \
}
#ifdef HIST_X86
#define DEF_ROWS(KG, KY) \
static void rows_##KG##_##KY(ROWS_ARGS) ROWS_LOOP(KG, KY) \
AVX2_FN static void rows_##KG##_##KY##_avx2(ROWS_ARGS) ROWS_LOOP(KG, KY)
#define ROWS_ENTRY(KG, KY) { KG, KY, rows_##KG##_##KY, rows_##KG##_##KY##_avx2 }
#else
#define DEF_ROWS(KG, KY) \
static void rows_##KG##_##KY(ROWS_ARGS) ROWS_LOOP(KG, KY)
#define ROWS_ENTRY(KG, KY) { KG, KY, rows_##KG##_##KY, NULL }
#endif
#define DEF_ROWS3(KG) DEF_ROWS(KG, 1) DEF_ROWS(KG, 2) DEF_ROWS(KG, 4)
DEF_ROWS3(2)
DEF_ROWS3(4)
DEF_ROWS3(6)
DEF_ROWS3(8)
DEF_ROWS3(10)
DEF_ROWS3(12)
DEF_ROWS3(16)

static const struct {
	int kg, ky;
	rows_fn *base, *avx2;
} rows_tab[] = {
#define ROWS_ENTRY3(KG) ROWS_ENTRY(KG, 1), ROWS_ENTRY(KG, 2), \
	ROWS_ENTRY(KG, 4)
	ROWS_ENTRY3(2), ROWS_ENTRY3(4), ROWS_ENTRY3(6), ROWS_ENTRY3(8),
	ROWS_ENTRY3(10), ROWS_ENTRY3(12), ROWS_ENTRY3(16)
};

/* Any lane counts (the lanes of 3 or more limbs). */
static void
rows_any(const uint8_t *bins, size_t bs, int nf, size_t m, int64_t *G,
    const int64_t *rg, const size_t *gro, int64_t *Y, const int64_t *ry,
    const size_t *yro, int KG, int KY)
{
	size_t j;

	for (j = 0; j < m; j++)
		ROW_ADDS(j, KG, KY);
}

/* One feature with more than 31 boundaries, bins given. */
static void
acc_any(const uint16_t *bin, size_t m, int64_t *Gf, const int64_t *rg,
    const size_t *gro, int64_t *Yf, const int64_t *ry, const size_t *yro,
    int KG, int KY)
{
	size_t j;

	for (j = 0; j < m; j++) {
		ADDN(Gf + (gro ? gro[j] : 0) + (size_t)bin[j] * KG, rg + j *
		    (size_t)KG, KG);
		ADDN(Yf + yro[j] + (size_t)bin[j] * KY, ry + j * (size_t)KY, KY);
	}
}

/* -1: not decided yet; 0: baseline kernels; 1: AVX2 kernels; with
 * use_avx512 also AVX-512 binning. */
static int use_avx2 = -1, use_avx512, use_avx512cd, use_avx512dq;

int
pt_hist_simd(int enable)
{
	if (enable < 0 && use_avx2 >= 0)
		return use_avx2 + use_avx512;
	if (enable < 0)
		enable = 2;
#ifdef HIST_X86
	use_avx2 = enable >= 1 && __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("popcnt");
	use_avx512 = enable >= 2 && use_avx2 &&
	    __builtin_cpu_supports("avx512f");
	use_avx512cd = use_avx512 && __builtin_cpu_supports("avx512cd") &&
	    __builtin_cpu_supports("avx512vl");
	use_avx512dq = use_avx512 && __builtin_cpu_supports("avx512dq");
#else
	(void)enable;
	use_avx2 = use_avx512 = use_avx512cd = use_avx512dq = 0;
#endif
	return use_avx2 + use_avx512;
}

static rows_fn *
pick_rows(int KG, int KY)
{
	size_t i;

	for (i = 0; i < sizeof rows_tab / sizeof rows_tab[0]; i++)
		if (rows_tab[i].kg == KG && rows_tab[i].ky == KY)
			return use_avx2 > 0 && rows_tab[i].avx2 ?
			    rows_tab[i].avx2 : rows_tab[i].base;
	return NULL;
}

/* Bins of m rows (x contiguous) of padded feature f, a byte each. */
static void
bin32(const struct pt_hist_acc *a, int f, const double *x, size_t m,
    uint8_t *bin)
{
	const double *t = a->tab + (size_t)f * 32;

#ifdef HIST_X86
	if (use_avx512) {
		bin32_avx512(a->ptab + (size_t)f * PTAB, t[15], x, m, bin);
		return;
	}
	if (use_avx2 > 0) {
		bin32_avx2(t, x, m, bin);
		return;
	}
#endif
	bin32_base(t, x, m, bin);
}

/* ---- bin codes -------------------------------------------------------- */

static int
codes_max_base(const uint8_t *x, size_t n)
{
	uint8_t m = 0;
	size_t j;

	for (j = 0; j < n; j++)
		m = x[j] > m ? x[j] : m;
	return m;
}

#ifdef HIST_X86
AVX2_FN static int
codes_max_avx2(const uint8_t *x, size_t n)
{
	__m256i m = _mm256_setzero_si256();
	uint8_t l[32];
	size_t j;
	int r, t;

	for (j = 0; j + 32 <= n; j += 32)
		m = _mm256_max_epu8(m, _mm256_loadu_si256((const __m256i *)(x +
		    j)));
	_mm256_storeu_si256((__m256i *)l, m);
	r = codes_max_base(l, 32);
	t = codes_max_base(x + j, n - j);
	return r > t ? r : t;
}
#endif

/* The largest of n codes. */
static int
codes_max(const uint8_t *x, size_t n)
{
#ifdef HIST_X86
	if (use_avx2 > 0)
		return codes_max_avx2(x, n);
#endif
	return codes_max_base(x, n);
}

void
pt_hist_codes(const pt_feature *f, const double *x, size_t n, uint8_t *out)
{
	int nb = f->nbounds, k;
	size_t j;

	if (use_avx2 < 0)
		pt_hist_simd(2);
	if (nb <= 31) {
		double t[32], pt[PTAB];
		uint8_t tail[8];
		for (k = 0; k < 32; k++)
			t[k] = k < nb ? f->bounds[k] : INFINITY;
#ifdef HIST_X86
		if (use_avx512) {
			/* Whole groups of 8 in place, the rest through tail. */
			bin32_tables(t, pt);
			j = n & ~(size_t)7;
			bin32_avx512(pt, t[15], x, j, out);
			if (j < n) {
				bin32_avx512(pt, t[15], x + j, n - j, tail);
				memcpy(out + j, tail, n - j);
			}
		} else if (use_avx2 > 0) {
			bin32_avx2(t, x, n, out);
		} else
#endif
			bin32_base(t, x, n, out);
		/* The padded search puts a missing value at 32. */
		for (j = 0; j < n; j++)
			out[j] = out[j] == 32 ? (uint8_t)(nb + 1) : out[j];
		return;
	}
	for (j = 0; j < n; j++)
		out[j] = (uint8_t)(x[j] != x[j] ? nb + 1 : bin_of(f->bounds, nb,
		    x[j]));
}

pt_schema *
pt_hist_code_schema(const pt_manifest *m, const pt_schema *s, pt_err *e)
{
	pt_schema *o = pt_schema_clone(s);
	char nm[512];
	int f;

	if (o == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (f = 0; f < m->nfeatures; f++) {
		if (!code_name(&m->features[f], nm) || pt_schema_find(o, nm) >= 0)
			continue;
		if (pt_schema_add(o, nm, PT_U8, PT_ROLE_BIN, 0, NULL, e) < 0) {
			pt_schema_free(o);
			return NULL;
		}
	}
	return o;
}

int
pt_hist_fill_codes(const pt_manifest *m, pt_batch *b, pt_err *e)
{
	const pt_schema *s = b->schema;
	int j, f, nbin = pt_schema_count_role(s, PT_ROLE_BIN);
	int *fc;
	char nm[512];

	if (nbin == 0)
		return 0;
	if ((fc = malloc(sizeof *fc * ((size_t)m->nfeatures + 1))) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	/* The features' columns, then each code column's feature. */
	for (f = 0; f < m->nfeatures; f++)
		fc[f] = -1;
	for (j = 0, f = 0; j < s->ncols && f < m->nfeatures; j++)
		if (s->cols[j].role == PT_ROLE_FEATURE && s->cols[j].type ==
		    PT_F64 && strcmp(s->cols[j].name, m->features[f].name) == 0)
			fc[f++] = j;
	for (j = 0, f = 0; j < s->ncols; j++) {
		if (s->cols[j].role != PT_ROLE_BIN)
			continue;
		while (f < m->nfeatures && (!code_name(&m->features[f], nm) ||
		    strcmp(s->cols[j].name, nm) != 0))
			f++;
		if (f == m->nfeatures || fc[f] < 0 || s->cols[j].type != PT_U8) {
			free(fc);
			return pt_fail(e, PT_EMISMATCH, "", "code column %s does not "
			    "follow the manifest's features", s->cols[j].name);
		}
		pt_hist_codes(&m->features[f], PT_COL_F64(b, fc[f]), b->nrows,
		    PT_COL_U8(b, j));
		f++;
	}
	free(fc);
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
#ifdef HIST_X86
			bin32_tables(a->tab + f * 32, a->ptab + f * PTAB);
#endif
			if (pf->nbounds <= 31)
				a->pidx[a->npad++] = f;
			else
				a->widx[a->nwide++] = f;
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
 * returns non-zero when a sum outgrew WIDE_LIMIT. */
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
				bad |= !wide_fits(gs);
			}
			memset(gc, 0, (size_t)KG * sizeof *gc);
			for (sl = 0; sl < nsl; sl++) {
				int64_t *v = yc + sl * slotstride;
				if (v[0] != 0 && nsl > 1 && sl < A) {
					pt_wide *ys = &h->ysum[c * A + sl];
					h->cnt[c * A + sl] += (uint64_t)v[0];
					fold_limbs(ys, v + 1, L, W, sh);
					bad |= !wide_fits(ys);
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

/* The limbs of m values through floating point, when every scaling by
 * powers of two involved stays normal (fp in pt_hist_add): x * 2^-(s+W)
 * truncated is the high limb, and what is left, scaled by 2^-s, the low
 * one.  Every step is exact and gives the same limbs as put_limbs.  Row j's
 * limbs go to out[j stride] (low) and out[j stride + 1] (high, L = 2).
 * Returns non-zero unless every value fits the unit and limbs: a low limb
 * that is an integer (x a multiple of 2^s; what is left after the high
 * limb is exact whatever x is) and every limb of magnitude below 2^W
 * (lim).  NaN and infinities fail both. */
static int
limbs_base(const double *x, size_t m, int L, double ihi, double chi,
    double ilo, double lim, int64_t *out, int stride)
{
	size_t j;
	int bad = 0;

	if (L == 1)
		for (j = 0; j < m; j++) {
			double d = x[j] * ilo;
			int ok = fabs(d) < lim;
			out[j * stride] = ok ? (int64_t)d : 0;
			bad |= !ok || (double)out[j * stride] != d;
		}
	else
		for (j = 0; j < m; j++) {
			double td = trunc(x[j] * ihi), r;
			int ok = fabs(td) < lim;
			int64_t t = ok ? (int64_t)td : 0;
			r = ok ? (x[j] - td * chi) * ilo : 0.0;
			out[j * stride] = (int64_t)r;
			out[j * stride + 1] = t;
			bad |= !ok || (double)out[j * stride] != r;
		}
	return bad;
}

#ifdef HIST_X86
/* limbs_base four values at a time.  A double holding an integer of
 * magnitude below 2^51 becomes that int64 by adding 1.5 * 2^52 (exact:
 * the sum lies in [2^52, 2^53), whose unit is 1) and subtracting the bits
 * of 1.5 * 2^52; truncation comes from vroundpd.  Two limbs of a row are
 * stored together.  The checks: the magic sum less the magic gives back
 * an integer unchanged, and the magnitude compares below lim. */
AVX2_FN static int
limbs_avx2(const double *x, size_t m, int L, double ihi, double chi,
    double ilo, double lim, int64_t *out, int stride)
{
	const __m256d magic = _mm256_set1_pd(6755399441055744.0);
	const __m256i mbits = _mm256_set1_epi64x(0x4338000000000000LL);
	const __m256d vhi = _mm256_set1_pd(ihi), vchi = _mm256_set1_pd(chi);
	const __m256d vlo = _mm256_set1_pd(ilo), vlim = _mm256_set1_pd(lim);
	const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
	__m256d okm = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
	size_t j, st = (size_t)stride;

	for (j = 0; j + 4 <= m; j += 4) {
		__m256d v = _mm256_loadu_pd(x + j), t, r, rm, tm;
		__m256i lo, hi, p02, p13;
		int64_t *o = out + j * st;
		if (L == 1) {
			r = _mm256_mul_pd(v, vlo);
			rm = _mm256_add_pd(r, magic);
			okm = _mm256_and_pd(okm, _mm256_and_pd(_mm256_cmp_pd(
			    _mm256_sub_pd(rm, magic), r, _CMP_EQ_OQ),
			    _mm256_cmp_pd(_mm256_and_pd(r, absm), vlim,
			    _CMP_LT_OQ)));
			lo = _mm256_sub_epi64(_mm256_castpd_si256(rm), mbits);
			o[0] = _mm256_extract_epi64(lo, 0);
			o[st] = _mm256_extract_epi64(lo, 1);
			o[2 * st] = _mm256_extract_epi64(lo, 2);
			o[3 * st] = _mm256_extract_epi64(lo, 3);
			continue;
		}
		t = _mm256_round_pd(_mm256_mul_pd(v, vhi), _MM_FROUND_TO_ZERO |
		    _MM_FROUND_NO_EXC);
		r = _mm256_mul_pd(_mm256_sub_pd(v, _mm256_mul_pd(t, vchi)), vlo);
		rm = _mm256_add_pd(r, magic);
		tm = _mm256_add_pd(t, magic);
		okm = _mm256_and_pd(okm, _mm256_and_pd(_mm256_cmp_pd(
		    _mm256_sub_pd(rm, magic), r, _CMP_EQ_OQ), _mm256_cmp_pd(
		    _mm256_and_pd(t, absm), vlim, _CMP_LT_OQ)));
		lo = _mm256_sub_epi64(_mm256_castpd_si256(rm), mbits);
		hi = _mm256_sub_epi64(_mm256_castpd_si256(tm), mbits);
		p02 = _mm256_unpacklo_epi64(lo, hi); /* rows 0 and 2 */
		p13 = _mm256_unpackhi_epi64(lo, hi); /* rows 1 and 3 */
		_mm_storeu_si128((__m128i *)o, _mm256_castsi256_si128(p02));
		_mm_storeu_si128((__m128i *)(o + st), _mm256_castsi256_si128(p13));
		_mm_storeu_si128((__m128i *)(o + 2 * st),
		    _mm256_extracti128_si256(p02, 1));
		_mm_storeu_si128((__m128i *)(o + 3 * st),
		    _mm256_extracti128_si256(p13, 1));
	}
	return (_mm256_movemask_pd(okm) != 0xf) | (j < m ? limbs_base(x + j,
	    m - j, L, ihi, chi, ilo, lim, out + j * st, stride) : 0);
}
#endif

#ifdef HIST_X86
/* One limb (L = 1) of eight values, and its checks into *bad. */
AVX512_FN static inline __m512i
limb1_x8(const double *x, __mmask8 lm, __m512d vlo, __m512d vlim,
    __mmask8 *bad)
{
	const __m512d magic = _mm512_set1_pd(6755399441055744.0);
	__m512d v = _mm512_maskz_loadu_pd(lm, x), rv, rm;

	rv = _mm512_mul_pd(v, vlo);
	rm = _mm512_add_pd(rv, magic);
	*bad |= _mm512_mask_cmp_pd_mask(lm, _mm512_sub_pd(rm, magic), rv,
	    _CMP_NEQ_UQ) | _mm512_mask_cmp_pd_mask(lm, _mm512_abs_pd(rv), vlim,
	    _CMP_NLT_UQ);
	return _mm512_sub_epi64(_mm512_castpd_si512(rm),
	    _mm512_set1_epi64(0x4338000000000000LL));
}

/* Two limbs (L = 2) of eight values: the low one returned, the high one
 * in *hi; checks into *bad. */
AVX512_FN static inline __m512i
limb2_x8(const double *x, __mmask8 lm, __m512d vhi, __m512d vchi,
    __m512d vlo, __m512d vlim, __m512i *hi, __mmask8 *bad)
{
	const __m512d magic = _mm512_set1_pd(6755399441055744.0);
	const __m512i mbits = _mm512_set1_epi64(0x4338000000000000LL);
	__m512d v = _mm512_maskz_loadu_pd(lm, x), tv, rv, rm;

	tv = _mm512_roundscale_pd(_mm512_mul_pd(v, vhi), _MM_FROUND_TO_ZERO |
	    _MM_FROUND_NO_EXC);
	rv = _mm512_mul_pd(_mm512_sub_pd(v, _mm512_mul_pd(tv, vchi)), vlo);
	rm = _mm512_add_pd(rv, magic);
	*bad |= _mm512_mask_cmp_pd_mask(lm, _mm512_sub_pd(rm, magic), rv,
	    _CMP_NEQ_UQ) | _mm512_mask_cmp_pd_mask(lm, _mm512_abs_pd(tv), vlim,
	    _CMP_NLT_UQ);
	*hi = _mm512_sub_epi64(_mm512_castpd_si512(_mm512_add_pd(tv, magic)),
	    mbits);
	return _mm512_sub_epi64(_mm512_castpd_si512(rm), mbits);
}

/* Treatment codes of the rows in lm of eight, widened to 64 bits
 * (AVX-512F alone: a 16-lane masked load, its low half). */
AVX512_FN static inline __m512i
load_w8(const int32_t *w, __mmask8 lm)
{
	return _mm512_cvtepi32_epi64(_mm512_castsi512_si256(
	    _mm512_maskz_loadu_epi32((__mmask16)lm, w)));
}

/* The largest of m treatment codes, or 0. */
AVX512_FN static int32_t
wmax_avx512(const int32_t *w, size_t m)
{
	__m512i mx = _mm512_setzero_si512();
	size_t j;

	for (j = 0; j < m; j += 16) {
		__mmask16 lm = m - j >= 16 ? 0xffff :
		    (__mmask16)((1u << (m - j)) - 1);
		mx = _mm512_max_epi32(mx, _mm512_maskz_loadu_epi32(lm, w + j));
	}
	return _mm512_reduce_max_epi32(mx);
}

/* yro of m rows at the root: (w, or A when negative) * yslot, for codes
 * already checked below A and yslot below 2^32 (vpmuludq). */
AVX512_FN static void
yro_avx512(const int32_t *w, size_t m, int A, size_t yslot, size_t *yro)
{
	const __m512i va = _mm512_set1_epi64(A), vs = _mm512_set1_epi64(
	    (long long)yslot), z = _mm512_setzero_si512();
	size_t j;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512i a = load_w8(w + j, lm);
		a = _mm512_mask_mov_epi64(a, _mm512_cmplt_epi64_mask(a, z), va);
		_mm512_mask_storeu_epi64(yro + j, lm, _mm512_mul_epu32(a, vs));
	}
}

/*
 * The Y vectors of m rows: a count of 1, the outcome's limbs (0 for a row
 * with no treatment), zero padding: [1, lo, hi, 0] (L = 2, KY = 4) or
 * [1, lo] (L = 1, KY = 2), eight rows at a time, put together in
 * registers and stored 64 bytes at a time.  The same limbs and checks as
 * limb_col on the outcomes of the treated rows.
 */
AVX512_FN static int
yrows_avx512(const int32_t *w, const double *y, size_t m, int L, double ihi,
    double chi, double ilo, double lim, int64_t *ry)
{
	const __m512d vhi = _mm512_set1_pd(ihi), vchi = _mm512_set1_pd(chi);
	const __m512d vlo = _mm512_set1_pd(ilo), vlim = _mm512_set1_pd(lim);
	const __m512i one = _mm512_set1_epi64(1), z = _mm512_setzero_si512();
	const __m512i p0 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
	const __m512i p1 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
	const __m512i h0 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
	const __m512i h1 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
	__mmask8 bad = 0;
	size_t j, n, KY = L == 2 ? 4 : 2;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__mmask8 keep = _mm512_mask_cmpge_epi64_mask(lm,
		    load_w8(w + j, lm), z);
		__m512i lo, hi = z, v0, v1, v2 = z, v3 = z;
		int64_t *o = ry + j * KY;
		if (L == 2)
			lo = limb2_x8(y + j, keep, vhi, vchi, vlo, vlim, &hi, &bad);
		else
			lo = limb1_x8(y + j, keep, vlo, vlim, &bad);
		if (L == 2) {
			/* Rows 0, 2 | 4, 6 (e) and 1, 3 | 5, 7 (d) as
			 * [1 lo hi 0], then pairs of neighbours. */
			__m512i el = _mm512_unpacklo_epi64(one, lo);
			__m512i eh = _mm512_unpacklo_epi64(hi, z);
			__m512i dl = _mm512_unpackhi_epi64(one, lo);
			__m512i dh = _mm512_unpackhi_epi64(hi, z);
			__m512i e0 = _mm512_permutex2var_epi64(el, p0, eh);
			__m512i e1 = _mm512_permutex2var_epi64(el, p1, eh);
			__m512i d0 = _mm512_permutex2var_epi64(dl, p0, dh);
			__m512i d1 = _mm512_permutex2var_epi64(dl, p1, dh);
			v0 = _mm512_permutex2var_epi64(e0, h0, d0);
			v1 = _mm512_permutex2var_epi64(e0, h1, d0);
			v2 = _mm512_permutex2var_epi64(e1, h0, d1);
			v3 = _mm512_permutex2var_epi64(e1, h1, d1);
		} else {
			__m512i el = _mm512_unpacklo_epi64(one, lo);
			__m512i dl = _mm512_unpackhi_epi64(one, lo);
			v0 = _mm512_permutex2var_epi64(el, p0, dl);
			v1 = _mm512_permutex2var_epi64(el, p1, dl);
		}
		/* The lanes of the rows that are among the m. */
		n = (m - j < 8 ? m - j : 8) * KY;
		_mm512_mask_storeu_epi64(o, tail_mask(n), v0);
		_mm512_mask_storeu_epi64(o + 8, tail_mask(n > 8 ? n - 8 : 0), v1);
		if (L == 2) {
			_mm512_mask_storeu_epi64(o + 16, tail_mask(n > 16 ? n - 16 :
			    0), v2);
			_mm512_mask_storeu_epi64(o + 24, tail_mask(n > 24 ? n - 24 :
			    0), v3);
		}
	}
	return bad != 0;
}

/*
 * limbs_base of A columns at once, eight rows at a time, into rows of KG
 * lanes (A L <= KG <= 8): the A L limb vectors of eight rows, transposed
 * in registers (unpack, then two rounds of two-register permutes), give
 * each row's lanes, stored with one masked 64-byte store per row instead
 * of a 16-byte store per row and column.  Lanes past A L get zeros.  The
 * same limbs and checks as limbs_avx2.  (Named vectors, not an array: an
 * array indexed by a run-time count would live in memory.)
 */
AVX512_FN static int
limbs_rows_avx512(const double *const *x, int A, size_t m, int L,
    double ihi, double chi, double ilo, double lim, int64_t *out, int KG)
{
	const __m512d vhi = _mm512_set1_pd(ihi), vchi = _mm512_set1_pd(chi);
	const __m512d vlo = _mm512_set1_pd(ilo), vlim = _mm512_set1_pd(lim);
	const __m512i q02 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
	const __m512i q13 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
	const __m512i h0 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
	const __m512i h1 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
	const __mmask8 sm = (__mmask8)((1u << KG) - 1);
	const __m512i z = _mm512_setzero_si512();
	__mmask8 bad = 0;
	size_t j, st = (size_t)KG;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512i c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z;
		__m512i c7 = z, t0, t1, t2, t3, t4, t5, t6, t7, u0, u1, u2, u3;
		__m512i u4, u5, u6, u7;
		int64_t *o = out + j * st;
		if (L == 2) {
			c0 = limb2_x8(x[0] + j, lm, vhi, vchi, vlo, vlim, &c1, &bad);
			if (A > 1)
				c2 = limb2_x8(x[1] + j, lm, vhi, vchi, vlo, vlim,
				    &c3, &bad);
			if (A > 2)
				c4 = limb2_x8(x[2] + j, lm, vhi, vchi, vlo, vlim,
				    &c5, &bad);
			if (A > 3)
				c6 = limb2_x8(x[3] + j, lm, vhi, vchi, vlo, vlim,
				    &c7, &bad);
		} else {
			c0 = limb1_x8(x[0] + j, lm, vlo, vlim, &bad);
			if (A > 1)
				c1 = limb1_x8(x[1] + j, lm, vlo, vlim, &bad);
			if (A > 2)
				c2 = limb1_x8(x[2] + j, lm, vlo, vlim, &bad);
			if (A > 3)
				c3 = limb1_x8(x[3] + j, lm, vlo, vlim, &bad);
			if (A > 4)
				c4 = limb1_x8(x[4] + j, lm, vlo, vlim, &bad);
			if (A > 5)
				c5 = limb1_x8(x[5] + j, lm, vlo, vlim, &bad);
			if (A > 6)
				c6 = limb1_x8(x[6] + j, lm, vlo, vlim, &bad);
			if (A > 7)
				c7 = limb1_x8(x[7] + j, lm, vlo, vlim, &bad);
		}
		/* ck holds lane k of rows 0..7.  t: lanes (0,1), (2,3),
		 * (4,5), (6,7) of rows 0, 2, 4, 6 (even t) and 1, 3, 5, 7. */
		t0 = _mm512_unpacklo_epi64(c0, c1);
		t1 = _mm512_unpackhi_epi64(c0, c1);
		t2 = _mm512_unpacklo_epi64(c2, c3);
		t3 = _mm512_unpackhi_epi64(c2, c3);
		t4 = _mm512_unpacklo_epi64(c4, c5);
		t5 = _mm512_unpackhi_epi64(c4, c5);
		t6 = _mm512_unpacklo_epi64(c6, c7);
		t7 = _mm512_unpackhi_epi64(c6, c7);
		/* u: lanes 0-3 (u0-u3) or 4-7 (u4-u7) of rows (0, 4),
		 * (2, 6), (1, 5), (3, 7). */
		u0 = _mm512_permutex2var_epi64(t0, q02, t2);
		u1 = _mm512_permutex2var_epi64(t0, q13, t2);
		u2 = _mm512_permutex2var_epi64(t1, q02, t3);
		u3 = _mm512_permutex2var_epi64(t1, q13, t3);
		u4 = _mm512_permutex2var_epi64(t4, q02, t6);
		u5 = _mm512_permutex2var_epi64(t4, q13, t6);
		u6 = _mm512_permutex2var_epi64(t5, q02, t7);
		u7 = _mm512_permutex2var_epi64(t5, q13, t7);
		/* Row k of the eight, stored only when it is one of the m. */
#define ROW_STORE(k, v) _mm512_mask_storeu_epi64(o + (k) * st, \
	j + (k) < m ? sm : 0, v)
		ROW_STORE(0, _mm512_permutex2var_epi64(u0, h0, u4));
		ROW_STORE(1, _mm512_permutex2var_epi64(u2, h0, u6));
		ROW_STORE(2, _mm512_permutex2var_epi64(u1, h0, u5));
		ROW_STORE(3, _mm512_permutex2var_epi64(u3, h0, u7));
		ROW_STORE(4, _mm512_permutex2var_epi64(u0, h1, u4));
		ROW_STORE(5, _mm512_permutex2var_epi64(u2, h1, u6));
		ROW_STORE(6, _mm512_permutex2var_epi64(u1, h1, u5));
		ROW_STORE(7, _mm512_permutex2var_epi64(u3, h1, u7));
#undef ROW_STORE
	}
	return bad != 0;
}
#endif

/* The limbs of m values x into rows of `stride` lanes from out; non-zero
 * unless every value fits (limbs_base). */
static int
limb_col(const double *x, size_t m, int L, double ihi, double chi,
    double ilo, double lim, int64_t *out, int stride)
{
#ifdef HIST_X86
	if (use_avx2 > 0)
		return limbs_avx2(x, m, L, ihi, chi, ilo, lim, out, stride);
#endif
	return limbs_base(x, m, L, ihi, chi, ilo, lim, out, stride);
}

#ifdef HIST_X86
/* pt_splitmix64 of 8 values (AVX-512DQ for the 64-bit multiplies). */
__attribute__((target("avx512f,avx512dq"))) static inline __m512i
mix64x8(__m512i x)
{
	x = _mm512_add_epi64(x, _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL));
	x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)),
	    _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL));
	x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)),
	    _mm512_set1_epi64((long long)0x94d049bb133111ebULL));
	return _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
}

/* part_hash for contiguous rows, 8 at a time (sums mod 2^64, so the
 * lanes may be added in any order). */
__attribute__((target("avx512f,avx512dq"))) static void
part_hash_avx512(struct pt_hist_acc *a, const uint64_t *rowh, size_t m)
{
	const __m512i salt = _mm512_set1_epi64((long long)0x5851f42d4c957f2dULL);
	__m512i s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512();
	size_t j;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512i v = _mm512_maskz_loadu_epi64(lm, rowh + j);
		s1 = _mm512_add_epi64(s1, _mm512_maskz_mov_epi64(lm, mix64x8(v)));
		s2 = _mm512_add_epi64(s2, _mm512_maskz_mov_epi64(lm,
		    mix64x8(_mm512_xor_si512(v, salt))));
	}
	a->ph1 += (uint64_t)_mm512_reduce_add_epi64(s1);
	a->ph2 += (uint64_t)_mm512_reduce_add_epi64(s2);
}
#endif

/* The partition hash of the block's kept rows (ri, or rows i0.. when
 * NULL): a sum, so it does not depend on their order. */
static void
part_hash(struct pt_hist_acc *a, const uint64_t *rowh, const uint32_t *ri,
    size_t i0, size_t m)
{
	uint64_t p1 = 0, p2 = 0;
	size_t j;

#ifdef HIST_X86
	if (ri == NULL && use_avx512dq) {
		part_hash_avx512(a, rowh + i0, m);
		return;
	}
#endif

	for (j = 0; j < m; j++) {
		uint64_t v = ri ? rowh[ri[j]] : rowh[i0 + j];
		p1 += pt_splitmix64(v);
		p2 += pt_splitmix64(v ^ 0x5851f42d4c957f2dULL);
	}
	a->ph1 += p1;
	a->ph2 += p2;
}

#ifdef HIST_X86
#define SCAN_COL(...) (use_avx512cd ? scan_col_avx512(__VA_ARGS__) : \
	scan_col(__VA_ARGS__))
#else
#define SCAN_COL scan_col
#endif

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
add_block(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, size_t i0, size_t mrows, int dense, rows_fn *rk,
    const size_t *gro)
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
					bin32(a, f, block_values(a, PT_COL_F64(b,
					    c->feature[f]), i0, j0, mm, dense), mm,
					    dst);
			}
			if (rk != NULL)
				rk(a->bins, sub, nf, mm, a->G + goff * KG,
				    a->rg + j0 * KG, gro ? gro + j0 : NULL,
				    a->Y + goff * KY, a->ry + j0 * KY, a->yro + j0);
			else
				rows_any(a->bins, sub, nf, mm, a->G + goff * KG,
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
			bin_any(pf->bounds, pf->nbounds, block_values(a,
			    PT_COL_F64(b, c->feature[f]), i0, 0, mrows, dense),
			    mrows, a->bin);
		}
		acc_any(a->bin, mrows, a->G + a->aoff[f] * KG, a->rg, gro,
		    a->Y + a->aoff[f] * KY, a->ry, a->yro, KG, KY);
	}
}

/* The kept rows of rows i0 .. i0+nb-1 (all at the root) and their cells'
 * offsets for the lanes in use; returns how many, *dense when all. */
static size_t
chunk_rows(pt_hist *h, const int32_t *w, const int *node_of, size_t i0,
    size_t nb, int *dense)
{
	struct pt_hist_acc *a = h->acc;
	size_t i, mrows = 0, gnode = a->atot * a->KG, ynode = a->atot * a->KY;
	size_t yslot = (size_t)h->nnodes * ynode;
	int A = h->narms;

	*dense = 1;
	if (node_of == NULL) {
		a->touched[0] = 1;
#ifdef HIST_X86
		if (w != NULL && use_avx512 && yslot <= UINT32_MAX)
			yro_avx512(w + i0, nb, A, yslot, a->yro);
		else
#endif
		if (w != NULL)
			for (i = 0; i < nb; i++) {
				int32_t arm = w[i0 + i];
				a->yro[i] = (size_t)(arm >= 0 ? arm : A) * yslot;
			}
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
 * scaling by a power of two involved staying normal (limbs_base). */
static int
limbs_fp(const struct pt_hist_acc *a)
{
	return a->L <= 2 && a->s >= -1000 && a->s + a->W <= 1000;
}

/* The limbs of the kept rows' scores (and outcomes) in the frame cells'
 * unit.  Through floating point, non-zero unless every value fits the
 * unit; otherwise only for values known to fit it. */
static int
chunk_limbs(pt_hist *h, const double *const *g, const int32_t *w,
    const double *y, size_t i0, size_t mrows, int dense)
{
	struct pt_hist_acc *a = h->acc;
	int A = h->narms, L = a->L, W = a->W, s = a->s, KG = a->KG, KY = a->KY;
	int k, bad = 0;
	size_t i;

	if (limbs_fp(a)) {
		double ilo = ldexp(1.0, -s), ihi = ldexp(1.0, -(s + W));
		double chi = ldexp(1.0, s + W), lim = ldexp(1.0, W);
#ifdef HIST_X86
		if (use_avx512 && dense && A * L <= 8) {
			const double *x[8];
			for (k = 0; k < A; k++)
				x[k] = g[k] + i0;
			bad = limbs_rows_avx512(x, A, mrows, L, ihi, chi, ilo,
			    lim, a->rg, KG);
		} else
#endif
		for (k = 0; k < A; k++)
			bad |= limb_col(block_values(a, g[k], i0, 0, mrows, dense),
			    mrows, L, ihi, chi, ilo, lim, a->rg + k * L, KG);
#ifdef HIST_X86
		if (w != NULL && use_avx512 && dense && KY == (L == 2 ? 4 : 2))
			bad |= yrows_avx512(w + i0, y + i0, mrows, L, ihi, chi,
			    ilo, lim, a->ry);
		else
#endif
		if (w != NULL) {
			if (dense)
				for (i = 0; i < mrows; i++)
					a->xs[i] = w[i0 + i] >= 0 ? y[i0 + i] : 0.0;
			else
				for (i = 0; i < mrows; i++) {
					size_t r = a->ri[i];
					a->xs[i] = w[r] >= 0 ? y[r] : 0.0;
				}
			bad |= limb_col(a->xs, mrows, L, ihi, chi, ilo, lim,
			    a->ry + 1, KY);
		}
		return bad;
	}
	/* Called only once the block is known to fit (scan_col). */
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
add_chunk(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, const int *node_of, size_t i0, size_t nb, pt_err *e)
{
	struct pt_hist_acc *a = h->acc;
	size_t i, mrows;
	int lo = INT_MAX, hi = INT_MIN, A = h->narms, L, W, s;
	int k, bad = 0, dense;
	uint64_t amax = 0;
	const int32_t *w = c->treatment >= 0 ? PT_COL_I32(b, c->treatment) : NULL;
	const double *y = c->outcome >= 0 ? PT_COL_F64(b, c->outcome) : NULL;
	const double *g[64];
	const uint64_t *rowh = c->row >= 0 ? PT_COL_U64(b, c->row) : NULL;
	const int *nd = node_of != NULL ? node_of + i0 : NULL;

	for (k = 0; k < A; k++)
		g[k] = PT_COL_F64(b, c->score[k]);
	/* Treatment codes and bin codes index the cells: none may pass the
	 * last arm, or a feature's missing bin. */
	if (w != NULL) {
		int32_t wm = 0;
		if (nd == NULL) {
#ifdef HIST_X86
			if (use_avx512)
				wm = wmax_avx512(w + i0, nb);
			else
#endif
			for (i = i0; i < i0 + nb; i++)
				wm = w[i] > wm ? w[i] : wm;
		}
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
			int cm = codes_max(PT_COL_U8(b, c->code[k]) + i0, nb);
			if (cm > m->features[k].nbounds + 1)
				return pt_fail(e, PT_EVALUE, "", "bin code %d in "
				    "column %s: feature %s has bins 0 to %d", cm,
				    b->schema->cols[c->code[k]].name,
				    m->features[k].name, m->features[k].nbounds + 1);
		}
	}
	/* Limb width: the sum of the limbs of FOLD_ROWS rows in one cell
	 * cannot overflow, and limbs stay below 2^51 (exact through doubles
	 * in limbs_base). */
	W = 63 - bitlen64((uint64_t)FOLD_ROWS);
	W = W > 51 ? 51 : W;
	/* The frame cells' unit, if the block's values fit it. */
	if (a != NULL && a->pend > 0 && limbs_fp(a) && a->W == W && a->pend + nb <
	    (UINT64_C(1) << (63 - W)) && a->s + a->L * a->W - 1 - h->scale +
	    bitlen64(h->rows + nb) + 2 <= WIDE_LIMIT) {
		mrows = chunk_rows(h, w, node_of, i0, nb, &dense);
		if (mrows == 0 || chunk_limbs(h, g, w, y, i0, mrows, dense) == 0)
			goto add;
	}
	/* The block's bit range, and a check of every value, column by
	 * column; the row-by-row check names the first bad row. */
	for (k = 0; k < A; k++)
		bad |= SCAN_COL(g[k] + i0, nb, nd, NULL, &lo, &amax);
	if (w != NULL)
		bad |= SCAN_COL(y + i0, nb, nd, w + i0, &lo, &amax);
	if (bad)
		return frame_check(h, g, w, y, i0, nb, node_of, e) < 0 ? -1 :
		    pt_fail(e, PT_EVALUE, "", "a value is out of range");
	if (amax != 0) {
		double v;
		int l;
		memcpy(&v, &amax, sizeof v);
		bit_range(v, &l, &hi);
	}
	/* Cells holding rows of values this block's do not fit: folded. */
	if (a != NULL && a->pend > 0) {
		int fits = W == a->W && a->pend + nb < (UINT64_C(1) << (63 - W));
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
		if (L > LMAX || span > WIDE_LIMIT - 40)
			return pt_fail(e, PT_ELIMIT, "", "values span 2^%d to "
			    "2^%d: too wide for exact histogram sums", lo, hi);
		/* New cells: the limbs' spare bits, up to 8 below the lowest
		 * bit and the rest above the highest, so that the next
		 * blocks, alike but not the same, fit them too (a fold at
		 * F = 1000 costs about a block's adds). */
		room = L * W - span;
		s = lo - (room / 2 < 8 ? room / 2 : 8);
		if (hi - (h->scale < s ? h->scale : s) + bitlen64(h->rows +
		    nb) + 2 > WIDE_LIMIT)
			s = lo;
	}
	if (h->scale == INT_MAX || s < h->scale)
		if (hist_rescale(h, s, e) < 0)
			return -1;
	if (lo != INT_MAX && hi - h->scale + bitlen64(h->rows + nb) + 2 >
	    WIDE_LIMIT)
		return pt_fail(e, PT_ELIMIT, "", "values span 2^%d to 2^%d: "
		    "too wide for exact histogram sums", h->scale, hi);
	if (chunk_unit(h, m, L, W, s, w != NULL, e) < 0)
		return -1;
	a = h->acc;
	mrows = chunk_rows(h, w, node_of, i0, nb, &dense);
	if (mrows > 0 && chunk_limbs(h, g, w, y, i0, mrows, dense) != 0)
		return pt_fail(e, PT_ELIMIT, "", "limbs of a scanned block "
		    "do not fit its unit");
add:
	h->rows += nb;
	a->pend += nb;
	if (mrows == 0)
		return 0;
	if (rowh != NULL)
		part_hash(a, rowh, dense ? NULL : a->ri, i0, mrows);
	a->prows += mrows;
	add_block(h, m, c, b, i0, mrows, dense, pick_rows(a->KG, a->KY),
	    node_of == NULL ? NULL : a->gro);
	return 0;
}

int
pt_hist_add(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, const int *node_of, pt_err *e)
{
	size_t n = b->nrows, i0;
	int A = h->narms;

	if (h->acc != NULL && h->acc->broken)
		return pt_fail(e, PT_EUSAGE, "", "partial holds part of a "
		    "refused frame");
	if (n == 0)
		return 0;
	if (A > 64)
		return pt_fail(e, PT_ELIMIT, "", "%d actions (at most 64)", A);
	if (n > UINT32_MAX)
		return pt_fail(e, PT_ELIMIT, "", "frame of %zu rows", n);
	if (use_avx2 < 0)
		pt_hist_simd(2);
	for (i0 = 0; i0 < n; i0 += BLK) {
		size_t nb = n - i0 < BLK ? n - i0 : BLK;
		if (add_chunk(h, m, c, b, node_of, i0, nb, e) < 0) {
			/* The frame's earlier blocks are in: the partial no
			 * longer matches any set of whole frames. */
			if (i0 > 0 && h->acc != NULL)
				h->acc->broken = 1;
			return -1;
		}
	}
	return 0;
}

int
pt_hist_flush(pt_hist *h, pt_err *e)
{
	if (h->acc != NULL && h->acc->broken)
		return pt_hist_folded(h, e);
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
	return 0;
}

static int
part_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Why s[0..n) is not a partition id (1 to 63 bytes, none of them a blank
 * or a control byte), or NULL when it is one.  The reader holds the ids
 * of a partial to the same rule as --partition: a NUL byte would cut an
 * id short, so the partial would not write back as it was read. */
static const char *
part_id_bad(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= sizeof ((pt_hist *)NULL)->parts[0])
		return "partition id must be 1 to 63 bytes";
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return "partition id may not hold blanks or control "
			    "bytes";
	return NULL;
}

int
pt_hist_set_part(pt_hist *h, const char *id, pt_err *e)
{
	char buf[64];
	const char *why;

	if (pt_hist_flush(h, e) < 0)
		return -1;

	if (id == NULL) {
		struct pt_hist_acc *a = h->acc;
		if (a == NULL || a->prows == 0)
			snprintf(buf, sizeof buf, "empty");
		else
			snprintf(buf, sizeof buf, "%" PRIu64 "-%016" PRIx64
			    "%016" PRIx64, a->prows, a->ph1, a->ph2);
	} else {
		if ((why = part_id_bad(id, strlen(id))) != NULL)
			return pt_fail(e, PT_EUSAGE, "", "%s", why);
		snprintf(buf, sizeof buf, "%s", id);
	}
	free(h->parts);
	h->parts = malloc(sizeof *h->parts);
	if (h->parts == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	memcpy(h->parts[0], buf, sizeof buf);
	h->nparts = 1;
	return 0;
}

static int
same_shape(const pt_hist *a, const pt_hist *b, pt_err *e)
{
	int i;

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
 * (n on success); *fail is set when a sum would outgrow WIDE_LIMIT bits,
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
			if (wide_bits(&t) + d > WIDE_LIMIT) {
				*fail = 1;
				return i;
			}
			wide_shl(&t, d);
		}
		pt_wide_add(&dst[i], &t);
		if (!wide_fits(&dst[i])) {
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
			wide_shl(&t, d);
		pt_wide_sub(&dst[i], &t);
	}
}

int
pt_hist_merge(pt_hist *dst, const pt_hist *src, pt_err *e)
{
	size_t i, n, nn, r1, r2;
	int k, np, d, old = dst->scale, fail = 0;
	char (*parts)[64];

	if (same_shape(dst, src, e) < 0)
		return -1;
	if (pt_hist_folded(dst, e) < 0 || pt_hist_folded(src, e) < 0)
		return -1;
	/* Partitions: a sorted union; a repeat is an error (empty ones are
	 * all alike and may repeat). */
	np = dst->nparts + src->nparts;
	parts = malloc(((size_t)np + 1) * sizeof *parts);
	if (parts == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	memcpy(parts, dst->parts, (size_t)dst->nparts * sizeof *parts);
	memcpy(parts + dst->nparts, src->parts, (size_t)src->nparts *
	    sizeof *parts);
	qsort(parts, (size_t)np, sizeof *parts, part_cmp);
	for (k = 1; k < np; k++)
		if (strcmp(parts[k], parts[k - 1]) == 0 &&
		    strcmp(parts[k], "empty") != 0) {
			pt_fail(e, PT_EMISMATCH, "", "partition %s seen twice",
			    parts[k]);
			free(parts);
			return -1;
		}
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
						wide_sar(&dst->gsum[i], old - dst->scale);
					if (pt_wide_sign(&dst->ysum[i]) != 0)
						wide_sar(&dst->ysum[i], old - dst->scale);
				}
			}
			dst->scale = old;
			free(parts);
			return pt_fail(e, PT_ELIMIT, "", "sums too wide for exact "
			    "merge");
		}
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

/* ---- file form -------------------------------------------------------- */

#define MAGIC "policy-split partial\n"

int
pt_hist_write(const pt_hist *h, char **out, size_t *len, pt_err *e)
{
	wbuf hb = { 0 }, bb = { 0 };
	size_t cell, nc = h->ncells;
	int k, A = h->narms, i, sh;
	uint64_t ck;
	XXH3_state_t *st;

	if (h->nparts < 1)
		return pt_fail(e, PT_EUSAGE, "", "partial has no partition id");
	if (pt_hist_folded(h, e) < 0)
		return -1;
	/* Body: the exponent e of a unit (the lowest set bit of any sum, so
	 * the form does not depend on h->scale), then per node the number of
	 * non-empty cells, then per cell the gap from the previous one, n,
	 * and per arm cnt, ysum, gsum in units of 2^e. */
	{
		size_t j, tot = (size_t)h->nnodes * nc * A;
		int low = INT_MAX, ex;
		for (j = 0; j < tot; j++) {
			if (pt_wide_sign(&h->ysum[j]) != 0) {
				int t = wide_ctz(&h->ysum[j]);
				low = t < low ? t : low;
			}
			if (pt_wide_sign(&h->gsum[j]) != 0) {
				int t = wide_ctz(&h->gsum[j]);
				low = t < low ? t : low;
			}
		}
		sh = low == INT_MAX ? 0 : low;
		ex = low == INT_MAX ? 0 : h->scale + low;
		wb_varint(&bb, ((uint64_t)(int64_t)ex << 1) ^
		    (uint64_t)((int64_t)ex >> 63));
	}
	for (i = 0; i < h->nnodes; i++) {
		size_t cnt = 0, prev = 0;
		int first = 1;
		for (cell = 0; cell < nc; cell++)
			cnt += h->n[(size_t)i * nc + cell] != 0;
		wb_varint(&bb, cnt);
		for (cell = 0; cell < nc; cell++) {
			size_t c = (size_t)i * nc + cell;
			if (h->n[c] == 0)
				continue;
			wb_varint(&bb, first ? cell : cell - prev - 1);
			first = 0;
			prev = cell;
			wb_varint(&bb, h->n[c]);
			for (k = 0; k < A; k++) {
				wb_varint(&bb, h->cnt[c * A + k]);
				wb_int(&bb, &h->ysum[c * A + k], sh);
				wb_int(&bb, &h->gsum[c * A + k], sh);
			}
		}
	}
	wb_put(&hb, MAGIC, strlen(MAGIC));
	wb_printf(&hb, "version %d\n", PT_HIST_VERSION);
	wb_printf(&hb, "manifest %s\n", h->manifest);
	wb_printf(&hb, "model %s\n", h->model[0] ? h->model : "-");
	wb_printf(&hb, "tree %s\n", h->tree[0] ? h->tree : "-");
	wb_printf(&hb, "level %d\n", h->level);
	wb_printf(&hb, "mode %s\n", h->has_treatment ? "treatment" : "rewards");
	wb_printf(&hb, "arms %d\n", h->narms);
	wb_printf(&hb, "features %d\n", h->nfeatures);
	wb_printf(&hb, "bins");
	for (i = 0; i < h->nfeatures; i++)
		wb_printf(&hb, " %d", h->nbins[i]);
	wb_printf(&hb, "\nnodes %d", h->nnodes);
	for (i = 0; i < h->nnodes; i++)
		wb_printf(&hb, " %" PRIu32, h->nodes[i]);
	wb_printf(&hb, "\nrows %" PRIu64 "\n", h->rows);
	wb_printf(&hb, "partitions %d\n", h->nparts);
	for (i = 0; i < h->nparts; i++)
		wb_printf(&hb, "%s\n", h->parts[i]);
	wb_printf(&hb, "body %zu\n", bb.n);
	wb_put(&hb, bb.p, bb.n);
	if (hb.err || bb.err) {
		free(hb.p);
		free(bb.p);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	st = XXH3_createState();
	XXH3_64bits_reset(st);
	XXH3_64bits_update(st, hb.p, hb.n);
	ck = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	wb_printf(&hb, "\nchecksum %016" PRIx64 "\n", ck);
	free(bb.p);
	if (hb.err) {
		free(hb.p);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	*out = (char *)hb.p;
	*len = hb.n;
	return 0;
}

/* Reads "key value\n" from the header at *pos. */
static int
hline(const char *buf, size_t len, size_t *pos, const char *key, char *val,
    size_t valsz)
{
	size_t kl = strlen(key), p = *pos, q;

	if (p + kl + 1 > len || memcmp(buf + p, key, kl) != 0 ||
	    buf[p + kl] != ' ')
		return -1;
	p += kl + 1;
	for (q = p; q < len && buf[q] != '\n'; q++)
		;
	if (q >= len || q - p >= valsz)
		return -1;
	memcpy(val, buf + p, q - p);
	val[q - p] = '\0';
	*pos = q + 1;
	return 0;
}

static int
is_hex32(const char *s)
{
	int i;

	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[32] == '\0';
}

static int
parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

pt_hist *
pt_hist_read(const char *buf, size_t len, const char *name, pt_err *e)
{
	size_t pos = 0, body, bodylen, q;
	char *val = NULL, digest[3][33];
	long long version, level, arms, feats, nnodes, nparts, rows;
	pt_hist *h = NULL;
	uint64_t ck, want;
	const char *why = "malformed header";
	int i;
	rbuf rb;
	uint64_t odd = 0;
	int nz = 0;
	char modebuf[16];

	val = malloc(len + 1);
	if (val == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		return NULL;
	}
	if (len < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0) {
		free(val);
		pt_fail(e, PT_EFORMAT, name, "not a policy-split partial");
		return NULL;
	}
	pos = strlen(MAGIC);
#define NEED(key) do { if (hline(buf, len, &pos, key, val, len) < 0) { \
	why = "malformed or missing '" key "' line"; goto bad; } } while (0)
	NEED("version");
	if (parse_int(val, 0, 1000, &version) < 0) goto bad;
	if (version != PT_HIST_VERSION) {
		why = "unsupported partial version";
		goto bad;
	}
	NEED("manifest");
	snprintf(digest[0], sizeof digest[0], "%.32s", val);
	if (strlen(val) != 32) goto bad;
	NEED("model");
	snprintf(digest[1], sizeof digest[1], "%.32s", val);
	if (strlen(val) != 32 && strcmp(val, "-")) goto bad;
	NEED("tree");
	snprintf(digest[2], sizeof digest[2], "%.32s", val);
	if (strlen(val) != 32 && strcmp(val, "-")) goto bad;
	if (!is_hex32(digest[0]) || (strcmp(digest[1], "-") && !is_hex32(digest[1]))
	    || (strcmp(digest[2], "-") && !is_hex32(digest[2]))) {
		why = "malformed digest";
		goto bad;
	}
	NEED("level");
	if (parse_int(val, 0, 64, &level) < 0) goto bad;
	NEED("mode");
	snprintf(modebuf, sizeof modebuf, "%.15s", val);
	if (strcmp(modebuf, "treatment") && strcmp(modebuf, "rewards")) goto bad;
	NEED("arms");
	if (parse_int(val, 1, 64, &arms) < 0) goto bad;
	NEED("features");
	if (parse_int(val, 1, 10000000, &feats) < 0) goto bad;
	h = hist_alloc((int)feats, (int)arms, 1, e);
	if (h == NULL)
		goto fail;
	h->has_treatment = modebuf[0] == 't';
	NEED("bins");
	{
		char *p = val, *end;
		size_t off = 0;
		for (i = 0; i < feats; i++) {
			long b = strtol(p, &end, 10);
			if (end == p || b < 2 || b > 65002)
				goto bad;
			h->nbins[i] = (int)b;
			h->off[i] = off;
			off += (size_t)b;
			p = end;
		}
		if (*p != '\0')
			goto bad;
		h->ncells = off;
	}
	NEED("nodes");
	{
		char *p = val, *end;
		nnodes = strtol(p, &end, 10);
		if (end == p || nnodes < 1 || nnodes > PT_HIST_MAXNODES)
			goto bad;
		free(h->nodes);
		h->nodes = calloc((size_t)nnodes, sizeof *h->nodes);
		if (h->nodes == NULL)
			goto nomem;
		h->nnodes = (int)nnodes;
		p = end;
		for (i = 0; i < nnodes; i++) {
			unsigned long id = strtoul(p, &end, 10);
			if (end == p || id < 1 || id > UINT32_MAX ||
			    (i > 0 && id <= h->nodes[i - 1]))
				goto bad;
			h->nodes[i] = (uint32_t)id;
			p = end;
		}
		if (*p != '\0')
			goto bad;
	}
	NEED("rows");
	if (parse_int(val, 0, INT64_MAX, &rows) < 0) goto bad;
	h->rows = (uint64_t)rows;
	NEED("partitions");
	if (parse_int(val, 1, 1000000, &nparts) < 0) goto bad;
	h->parts = calloc((size_t)nparts, sizeof *h->parts);
	if (h->parts == NULL)
		goto nomem;
	h->nparts = (int)nparts;
	for (i = 0; i < nparts; i++) {
		for (q = pos; q < len && buf[q] != '\n'; q++)
			;
		if (q >= len)
			goto bad;
		if (part_id_bad(buf + pos, q - pos) != NULL) {
			why = "malformed partition id";
			goto bad;
		}
		memcpy(h->parts[i], buf + pos, q - pos);
		h->parts[i][q - pos] = '\0';
		if (i > 0 && strcmp(h->parts[i], h->parts[i - 1]) < 0) {
			why = "partitions not sorted";
			goto bad;
		}
		pos = q + 1;
	}
	NEED("body");
	{
		long long bl;
		if (parse_int(val, 0, (long long)len, &bl) < 0) goto bad;
		bodylen = (size_t)bl;
	}
	body = pos;
	if (body + bodylen > len) {
		why = "truncated";
		goto corrupt;
	}
	pos = body + bodylen;
	{
		XXH3_state_t *st = XXH3_createState();
		XXH3_64bits_reset(st);
		XXH3_64bits_update(st, buf, pos);
		want = XXH3_64bits_digest(st);
		XXH3_freeState(st);
	}
	if (pos >= len || buf[pos] != '\n') {
		why = "truncated";
		goto corrupt;
	}
	pos++;
	if (hline(buf, len, &pos, "checksum", val, len) < 0 || strlen(val) != 16) {
		why = "truncated or missing checksum";
		goto corrupt;
	}
	ck = strtoull(val, NULL, 16);
	if (ck != want) {
		why = "checksum mismatch (corrupted partial)";
		goto corrupt;
	}
	if (pos != len) {
		why = "data after the checksum";
		goto corrupt;
	}
	snprintf(h->manifest, sizeof h->manifest, "%s", digest[0]);
	snprintf(h->model, sizeof h->model, "%s", strcmp(digest[1], "-") ?
	    digest[1] : "");
	snprintf(h->tree, sizeof h->tree, "%s", strcmp(digest[2], "-") ?
	    digest[2] : "");
	h->level = (int)level;
	if (hist_alloc_cells(h, e) < 0)
		goto fail;
	/* The body: the exponent of a unit, then the cells. */
	rb.p = (const unsigned char *)buf + body;
	rb.n = bodylen;
	rb.pos = 0;
	rb.err = 0;
	{
		uint64_t z = rb_varint(&rb);
		int64_t ex = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
		if (ex < -1074 - WIDE_LIMIT || ex > 1100)
			rb.err = 1;
		h->scale = (int)ex;
	}
	for (i = 0; i < h->nnodes && !rb.err; i++) {
		uint64_t cnt = rb_varint(&rb), c;
		size_t cell = 0;
		if (cnt > h->ncells)
			rb.err = 1;
		for (c = 0; c < cnt && !rb.err; c++) {
			uint64_t gap = rb_varint(&rb);
			size_t ci;
			int a;
			if (gap >= h->ncells || (c > 0 && gap >= h->ncells - cell - 1)) {
				rb.err = 1;
				break;
			}
			cell = c == 0 ? gap : cell + 1 + gap;
			ci = (size_t)i * h->ncells + cell;
			h->n[ci] = rb_varint(&rb);
			if (h->n[ci] == 0)
				rb.err = 1;
			for (a = 0; a < arms; a++) {
				h->cnt[ci * arms + a] = rb_varint(&rb);
				rb_int(&rb, &h->ysum[ci * arms + a]);
				rb_int(&rb, &h->gsum[ci * arms + a]);
				odd |= (h->ysum[ci * arms + a].w[0] |
				    h->gsum[ci * arms + a].w[0]) & 1;
				nz |= pt_wide_sign(&h->ysum[ci * arms + a]) != 0 ||
				    pt_wide_sign(&h->gsum[ci * arms + a]) != 0;
			}
		}
	}
	/* Canonical: some sum is odd in units of 2^e (e is their lowest set
	 * bit), or all are zero and e is 0. */
	if (rb.err || rb.pos != rb.n || (nz ? !odd : h->scale != 0)) {
		why = "malformed body";
		goto corrupt;
	}
	free(val);
	return h;
bad:
	pt_fail(e, PT_EFORMAT, name, "%s", why);
	goto fail;
corrupt:
	pt_fail(e, PT_ECORRUPT, name, "%s", why);
	goto fail;
nomem:
	pt_fail(e, PT_ENOMEM, name, "out of memory");
fail:
	free(val);
	pt_hist_free(h);
	return NULL;
#undef NEED
}

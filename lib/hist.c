/*
 * hist.c: partial histograms with exact sums.
 *
 * The hot path (pt_hist_add) never touches a wide integer per row.  Per
 * frame, every sum column (outcome and scores) is cut into fixed-point
 * "limbs": the frame's lowest needed bit s (the smallest trailing bit of
 * any value) fixes the unit, and each value becomes L signed int64 limbs
 * of W bits each, W = 63 - bits(rows in frame), so the sum of a whole
 * frame's limbs in one cell cannot overflow.  Rows are then added into
 * per-frame int64 cells (plain integer adds, exact, vectorisable), and at
 * the end of the frame each cell limb is folded once into its 256-bit
 * pt_wide at the partial's scale.  Integer addition is associative, so the
 * result is the exact sum whatever the order and grouping of rows, frames
 * and partials.
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
#define BLK 1024   /* rows per block in the hot loop */
#define WIDE_LIMIT 250 /* bits a magnitude may use (of 255) */

static void bit_range(double v, int *lo, int *hi);

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

/* d += v * 2^sh, sh >= 0 and sh + 64 < 256 (the caller checks). */
static void
wide_add_i64(pt_wide *d, int64_t v, int sh)
{
	pt_wide t;
	uint64_t fill = v < 0 ? ~UINT64_C(0) : 0;
	int i;

	for (i = 0; i < PT_WIDE_WORDS; i++)
		t.w[i] = fill;
	t.w[0] = (uint64_t)v;
	if (sh > 0) {
		/* Shift a sign-extended value: wide_shl shifts zeros in at the
		 * bottom, and the top stays sign-extended because the value
		 * is far from the top (sh + 64 < 256). */
		wide_shl(&t, sh);
	}
	pt_wide_add(d, &t);
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

/* Byte (nbytes << 1 | negative), zigzag exponent, mantissa bytes (odd
 * mantissa, little-endian).  Zero is the single byte 0. */
static void
wb_wide(wbuf *b, const pt_wide *a, int scale)
{
	pt_wide m = *a;
	int neg, tz = 0, nb, i;
	unsigned char bytes[32];
	int64_t ex;

	if (pt_wide_sign(&m) == 0) {
		wb_put(b, "", 1);
		return;
	}
	neg = pt_wide_sign(&m) < 0;
	if (neg)
		wide_neg(&m);
	for (i = 0; i < PT_WIDE_WORDS && m.w[i] == 0; i++)
		tz += 64;
	tz += __builtin_ctzll(m.w[i]);
	if (tz > 0) {
		/* Shift right by tz. */
		pt_wide r;
		int q = tz / 64, s = tz % 64;
		memset(&r, 0, sizeof r);
		for (i = 0; i + q < PT_WIDE_WORDS; i++) {
			uint64_t v = m.w[i + q] >> s;
			if (s != 0 && i + q + 1 < PT_WIDE_WORDS)
				v |= m.w[i + q + 1] << (64 - s);
			r.w[i] = v;
		}
		m = r;
	}
	nb = (wide_bits(&m) + 7) / 8;
	for (i = 0; i < nb; i++)
		bytes[i] = (unsigned char)(m.w[i / 8] >> (8 * (i % 8)));
	{
		unsigned char h = (unsigned char)(nb << 1 | neg);
		wb_put(b, &h, 1);
	}
	ex = (int64_t)scale + tz;
	wb_varint(b, ((uint64_t)ex << 1) ^ (uint64_t)(ex >> 63));
	wb_put(b, bytes, (size_t)nb);
}

typedef struct rbuf {
	const unsigned char *p;
	size_t n, pos;
	int err;
} rbuf;

static uint64_t
rb_varint(rbuf *r)
{
	uint64_t v = 0;
	int s = 0;

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

/* An encoded value: mantissa (odd) and exponent, or zero. */
typedef struct xval {
	pt_wide m;
	int64_t ex;
	int zero, neg;
} xval;

static void
rb_xval(rbuf *r, xval *v)
{
	unsigned char h;
	int nb, i;
	uint64_t z;

	memset(v, 0, sizeof *v);
	if (r->pos >= r->n) {
		r->err = 1;
		return;
	}
	h = r->p[r->pos++];
	if (h == 0) {
		v->zero = 1;
		return;
	}
	nb = h >> 1;
	v->neg = h & 1;
	z = rb_varint(r);
	v->ex = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
	if (nb == 0 || nb > 32 || r->pos + (size_t)nb > r->n) {
		r->err = 1;
		return;
	}
	for (i = 0; i < nb; i++)
		v->m.w[i / 8] |= (uint64_t)r->p[r->pos + i] << (8 * (i % 8));
	r->pos += (size_t)nb;
	/* Canonical: odd mantissa, top byte non-zero, within the limit. */
	if (!(v->m.w[0] & 1) || r->p[r->pos - 1] == 0 ||
	    wide_bits(&v->m) > WIDE_LIMIT || v->ex < -1074 || v->ex > 1100)
		r->err = 1;
}

/* ---- the partial ------------------------------------------------------ */

struct pt_hist_acc {
	int L, W, s;          /* limbs, limb width, unit exponent of this frame */
	int kc, ky;           /* lanes: common (n, score limbs), per arm */
	size_t capc, capy;
	int64_t *c, *y;       /* per-frame cells */
	int64_t *rc, *ry;     /* per-block row vectors */
	int32_t *arm, *slot;
	uint16_t *bin;
	uint64_t ph1, ph2, prows; /* partition hash */
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
	free(a->c);
	free(a->y);
	free(a->rc);
	free(a->ry);
	free(a->arm);
	free(a->slot);
	free(a->bin);
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

int
pt_hist_bind(const pt_hist *h, const pt_manifest *m, const pt_schema *s,
    pt_hist_cols *c, pt_err *e)
{
	int f, a, nscore;
	pt_role sr = PT_ROLE_SCORE;

	memset(c, 0, sizeof *c);
	if (strcmp(s->manifest, m->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames were made under "
		    "manifest %s, not %s", s->manifest, m->digest);
	c->feature = calloc((size_t)h->nfeatures, sizeof *c->feature);
	c->score = calloc((size_t)h->narms, sizeof *c->score);
	if (c->feature == NULL || c->score == NULL) {
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
	c->feature = c->score = NULL;
}

/* Shifts every sum left by d bits (a lower unit); fails on overflow. */
static int
hist_rescale(pt_hist *h, int newscale, pt_err *e)
{
	size_t i, n = (size_t)h->nnodes * h->ncells * h->narms;
	int d;

	if (h->scale == INT_MAX) {
		h->scale = newscale;
		return 0;
	}
	if (newscale >= h->scale)
		return 0;
	d = h->scale - newscale;
	for (i = 0; i < n; i++) {
		pt_wide *v[2] = { &h->ysum[i], &h->gsum[i] };
		int k;
		for (k = 0; k < 2; k++) {
			int b = wide_bits(v[k]);
			if (b == 0)
				continue;
			if (b + d > WIDE_LIMIT)
				return pt_fail(e, PT_ELIMIT, "", "sums span more "
				    "than 2^%d (values from 2^%d to about 2^%d): "
				    "too wide for exact histogram sums",
				    WIDE_LIMIT, newscale, newscale + b + d);
			wide_shl(v[k], d);
		}
	}
	h->scale = newscale;
	return 0;
}

static int
bitlen64(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
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

static int
acc_reserve(pt_hist *h, int kc, int ky, pt_err *e)
{
	struct pt_hist_acc *a = h->acc;
	size_t nc = (size_t)h->nnodes * h->ncells;

	if (a == NULL) {
		a = h->acc = calloc(1, sizeof *a);
		if (a == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		a->arm = malloc(BLK * sizeof *a->arm);
		a->slot = malloc(BLK * sizeof *a->slot);
		a->bin = malloc(BLK * sizeof *a->bin);
		a->rc = malloc((size_t)BLK * (2 + (size_t)h->narms * LMAX) *
		    sizeof *a->rc);
		a->ry = malloc((size_t)BLK * (2 + LMAX) * sizeof *a->ry);
		if (!a->arm || !a->slot || !a->bin || !a->rc || !a->ry)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	if (nc * kc > a->capc) {
		free(a->c);
		a->capc = nc * kc;
		a->c = malloc(a->capc * sizeof *a->c);
		if (a->c == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	if (nc * h->narms * ky > a->capy) {
		free(a->y);
		a->capy = nc * h->narms * ky;
		a->y = malloc(a->capy * sizeof *a->y);
		if (a->y == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	a->kc = kc;
	a->ky = ky;
	memset(a->c, 0, nc * kc * sizeof *a->c);
	memset(a->y, 0, nc * h->narms * ky * sizeof *a->y);
	return 0;
}

/* The first k with x <= b[k] (nb when none), branch-free; x not NaN. */
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

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The lanes of one row into dst (kc lanes common, ky lanes per arm). */
#define ADD_LANES(dst, src, k) do { \
	int64_t *d_ = (dst); const int64_t *s_ = (src); int q_; \
	for (q_ = 0; q_ < (k); q_++) d_[q_] += s_[q_]; \
} while (0)

/* Two int64 lanes at a time: SSE2 paddq on x86-64 (GCC and Clang vector
 * extensions; memcpy keeps the loads unaligned-safe and alias-safe). */
typedef int64_t pt_v2 __attribute__((vector_size(16)));

static inline void
add_lanes2(int64_t *d, const int64_t *s, int k)
{
	int q;

	for (q = 0; q < k; q += 2) {
		pt_v2 a, b;
		memcpy(&a, d + q, sizeof a);
		memcpy(&b, s + q, sizeof b);
		a += b;
		memcpy(d + q, &a, sizeof a);
	}
}

/* Specialised inner loops for a fixed (even) lane count so the compiler
 * unrolls them: common lanes into the (node, cell) slot, and the arm lanes
 * into (node, cell, arm). */
#define DEF_ACCUM(NAME, KC) \
static void NAME(int64_t *cells, const int64_t *rc, const int32_t *slot, \
    const uint16_t *bin, size_t n, size_t ncells, size_t off) \
{ \
	size_t i; \
	for (i = 0; i < n; i++) { \
		if (slot[i] < 0) continue; \
		add_lanes2(cells + ((size_t)slot[i] * ncells + off + bin[i]) * \
		    (KC), rc + i * (KC), (KC)); \
	} \
}
DEF_ACCUM(accum4, 4)
DEF_ACCUM(accum6, 6)
DEF_ACCUM(accum8, 8)
DEF_ACCUM(accum10, 10)
DEF_ACCUM(accum14, 14)

static void
accum_any(int64_t *cells, const int64_t *rc, const int32_t *slot,
    const uint16_t *bin, size_t n, size_t ncells, size_t off, int kc)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (slot[i] < 0)
			continue;
		add_lanes2(cells + ((size_t)slot[i] * ncells + off + bin[i]) * kc,
		    rc + i * kc, kc);
	}
}

#define DEF_ACCY(NAME, KY) \
static void NAME(int64_t *cells, const int64_t *ry, const int32_t *slot, \
    const int32_t *arm, const uint16_t *bin, size_t n, size_t ncells, \
    size_t off, int A) \
{ \
	size_t i; \
	for (i = 0; i < n; i++) { \
		if (slot[i] < 0 || arm[i] < 0) continue; \
		add_lanes2(cells + ((((size_t)slot[i] * ncells + off + bin[i]) * \
		    (size_t)A) + (size_t)arm[i]) * (KY), ry + i * (KY), (KY)); \
	} \
}
DEF_ACCY(accy2, 2)
DEF_ACCY(accy4, 4)

static void
accy_any(int64_t *cells, const int64_t *ry, const int32_t *slot,
    const int32_t *arm, const uint16_t *bin, size_t n, size_t ncells,
    size_t off, int A, int ky)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (slot[i] < 0 || arm[i] < 0)
			continue;
		add_lanes2(cells + ((((size_t)slot[i] * ncells + off + bin[i]) *
		    (size_t)A) + (size_t)arm[i]) * ky, ry + i * ky, ky);
	}
}

int
pt_hist_add(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, const int *node_of, pt_err *e)
{
	struct pt_hist_acc *a;
	size_t n = b->nrows, i, i0, nc;
	int lo = INT_MAX, hi = INT_MIN, A = h->narms, L, W, s, kc, ky, k, f;
	const int32_t *w = c->treatment >= 0 ? PT_COL_I32(b, c->treatment) : NULL;
	const double *y = c->outcome >= 0 ? PT_COL_F64(b, c->outcome) : NULL;
	const double *g[64];
	const uint64_t *rowh = c->row >= 0 ? PT_COL_U64(b, c->row) : NULL;

	if (n == 0)
		return 0;
	if (A > 64)
		return pt_fail(e, PT_ELIMIT, "", "%d actions (at most 64)", A);
	for (k = 0; k < A; k++)
		g[k] = PT_COL_F64(b, c->score[k]);
	/* The frame's bit range, and a check of every value. */
	for (i = 0; i < n; i++) {
		int l, t;
		if (node_of != NULL && node_of[i] < 0)
			continue;
		for (k = 0; k < A; k++) {
			double v = g[k][i];
			if (!isfinite(v))
				return pt_fail(e, PT_EVALUE, "", "row %zu: score "
				    "column %d is %s", i + 1, k + 1,
				    isnan(v) ? "NaN" : "infinite");
			if (v != 0) {
				bit_range(v, &l, &t);
				lo = l < lo ? l : lo;
				hi = t > hi ? t : hi;
			}
		}
		if (w != NULL) {
			if (w[i] >= A)
				return pt_fail(e, PT_EVALUE, "", "row %zu: "
				    "treatment code %d out of range", i + 1,
				    (int)w[i]);
			if (w[i] < 0)
				continue;
			if (!isfinite(y[i]))
				return pt_fail(e, PT_EVALUE, "", "row %zu: "
				    "outcome is %s", i + 1, isnan(y[i]) ? "NaN" :
				    "infinite");
			if (y[i] != 0) {
				bit_range(y[i], &l, &t);
				lo = l < lo ? l : lo;
				hi = t > hi ? t : hi;
			}
		}
	}
	W = 63 - bitlen64((uint64_t)n);
	if (lo == INT_MAX) {
		L = 1;
		s = h->scale == INT_MAX ? 0 : h->scale;
	} else {
		int span = hi - lo + 1;
		L = (span + W - 1) / W;
		s = lo;
		if (L > LMAX || span > WIDE_LIMIT - 40)
			return pt_fail(e, PT_ELIMIT, "", "values span 2^%d to "
			    "2^%d: too wide for exact histogram sums", lo, hi);
	}
	if (h->scale == INT_MAX || s < h->scale)
		if (hist_rescale(h, s, e) < 0)
			return -1;
	if (lo != INT_MAX && hi - h->scale + bitlen64(h->rows + n) + 2 >
	    WIDE_LIMIT)
		return pt_fail(e, PT_ELIMIT, "", "values span 2^%d to 2^%d: "
		    "too wide for exact histogram sums", h->scale, hi);
	/* Lane counts padded to even for the two-lane adds. */
	kc = (1 + A * L + 1) & ~1;
	ky = (1 + L + 1) & ~1;
	if (acc_reserve(h, kc, ky, e) < 0)
		return -1;
	a = h->acc;
	a->L = L;
	a->W = W;
	a->s = s;
	nc = h->ncells;
	for (i0 = 0; i0 < n; i0 += BLK) {
		size_t nb = n - i0 < BLK ? n - i0 : BLK;
		for (i = 0; i < nb; i++) {
			size_t r = i0 + i;
			int64_t *rc = a->rc + i * kc, *ry = a->ry + i * ky;
			a->slot[i] = node_of ? node_of[r] : 0;
			a->arm[i] = w ? w[r] : -1;
			if (a->slot[i] < 0)
				continue;
			rc[0] = 1;
			rc[kc - 1] = 0;
			for (k = 0; k < A; k++)
				to_limbs(g[k][r], s, L, W, rc + 1 + k * L);
			if (a->arm[i] >= 0) {
				ry[0] = 1;
				ry[ky - 1] = 0;
				to_limbs(y[r], s, L, W, ry + 1);
			}
			if (rowh != NULL) {
				a->ph1 += mix64(rowh[r]);
				a->ph2 += mix64(rowh[r] ^ 0x5851f42d4c957f2dULL);
			}
			a->prows++;
		}
		for (f = 0; f < h->nfeatures; f++) {
			const double *x = PT_COL_F64(b, c->feature[f]) + i0;
			const pt_feature *pf = &m->features[f];
			int nbd = pf->nbounds;
			for (i = 0; i < nb; i++)
				a->bin[i] = (uint16_t)(x[i] != x[i] ? nbd + 1 :
				    bin_of(pf->bounds, nbd, x[i]));
			switch (kc) {
			case 4: accum4(a->c, a->rc, a->slot, a->bin, nb, nc, h->off[f]); break;
			case 6: accum6(a->c, a->rc, a->slot, a->bin, nb, nc, h->off[f]); break;
			case 8: accum8(a->c, a->rc, a->slot, a->bin, nb, nc, h->off[f]); break;
			case 10: accum10(a->c, a->rc, a->slot, a->bin, nb, nc, h->off[f]); break;
			case 14: accum14(a->c, a->rc, a->slot, a->bin, nb, nc, h->off[f]); break;
			default: accum_any(a->c, a->rc, a->slot, a->bin, nb, nc,
			    h->off[f], kc);
			}
			if (w == NULL)
				continue;
			switch (ky) {
			case 2: accy2(a->y, a->ry, a->slot, a->arm, a->bin, nb, nc,
			    h->off[f], A); break;
			case 4: accy4(a->y, a->ry, a->slot, a->arm, a->bin, nb, nc,
			    h->off[f], A); break;
			default: accy_any(a->y, a->ry, a->slot, a->arm, a->bin, nb,
			    nc, h->off[f], A, ky);
			}
		}
	}
	/* Fold the frame's cells into the exact sums, once per cell. */
	{
		size_t cell, tot = (size_t)h->nnodes * nc;
		int base = s - h->scale;
		for (cell = 0; cell < tot; cell++) {
			const int64_t *cc = a->c + cell * kc;
			if (cc[0] == 0)
				continue;
			h->n[cell] += (uint64_t)cc[0];
			for (k = 0; k < A; k++) {
				pt_wide *gs = &h->gsum[cell * A + k];
				const int64_t *cy = a->y + (cell * A + k) * ky;
				int j;
				for (j = 0; j < L; j++)
					if (cc[1 + k * L + j] != 0)
						wide_add_i64(gs, cc[1 + k * L + j],
						    base + j * W);
				if (cy[0] == 0)
					continue;
				h->cnt[cell * A + k] += (uint64_t)cy[0];
				for (j = 0; j < L; j++)
					if (cy[1 + j] != 0)
						wide_add_i64(&h->ysum[cell * A + k],
						    cy[1 + j], base + j * W);
				if (wide_bits(&h->ysum[cell * A + k]) > WIDE_LIMIT)
					return pt_fail(e, PT_ELIMIT, "", "outcome "
					    "sums too wide for exact sums");
			}
			for (k = 0; k < A; k++)
				if (wide_bits(&h->gsum[cell * A + k]) > WIDE_LIMIT)
					return pt_fail(e, PT_ELIMIT, "", "score "
					    "sums too wide for exact sums");
		}
	}
	h->rows += n;
	return 0;
}

static int
part_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int
pt_hist_set_part(pt_hist *h, const char *id, pt_err *e)
{
	char buf[64];

	if (id == NULL) {
		struct pt_hist_acc *a = h->acc;
		if (a == NULL || a->prows == 0)
			snprintf(buf, sizeof buf, "empty");
		else
			snprintf(buf, sizeof buf, "%" PRIu64 "-%016" PRIx64
			    "%016" PRIx64, a->prows, a->ph1, a->ph2);
	} else {
		size_t i, n = strlen(id);
		if (n == 0 || n >= sizeof buf)
			return pt_fail(e, PT_EUSAGE, "", "partition id must be "
			    "1 to 63 bytes");
		for (i = 0; i < n; i++)
			if (id[i] <= ' ' || id[i] > '~')
				return pt_fail(e, PT_EUSAGE, "", "partition id "
				    "may not hold blanks or control bytes");
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

int
pt_hist_merge(pt_hist *dst, const pt_hist *src, pt_err *e)
{
	size_t i, n, nn;
	int k, j, np;
	char (*parts)[64];

	if (same_shape(dst, src, e) < 0)
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
	/* Bring both to one scale, checking the room before changing dst. */
	n = (size_t)dst->nnodes * dst->ncells * dst->narms;
	nn = (size_t)dst->nnodes * dst->ncells;
	if (src->scale != INT_MAX) {
		int sc = dst->scale == INT_MAX || src->scale < dst->scale ?
		    src->scale : dst->scale;
		int d = src->scale - sc;
		for (i = 0; i < n; i++) {
			int b1 = wide_bits(&src->gsum[i]), b2 = wide_bits(&src->ysum[i]);
			if ((b1 && b1 + d > WIDE_LIMIT - 1) ||
			    (b2 && b2 + d > WIDE_LIMIT - 1)) {
				free(parts);
				return pt_fail(e, PT_ELIMIT, "", "sums too wide "
				    "for exact merge");
			}
		}
		if (hist_rescale(dst, sc, e) < 0) {
			free(parts);
			return -1;
		}
		for (i = 0; i < n; i++) {
			pt_wide t;
			t = src->gsum[i];
			if (d)
				wide_shl(&t, d);
			pt_wide_add(&dst->gsum[i], &t);
			t = src->ysum[i];
			if (d)
				wide_shl(&t, d);
			pt_wide_add(&dst->ysum[i], &t);
		}
		for (i = 0; i < n; i++)
			if (wide_bits(&dst->gsum[i]) > WIDE_LIMIT ||
			    wide_bits(&dst->ysum[i]) > WIDE_LIMIT) {
				free(parts);
				return pt_fail(e, PT_ELIMIT, "", "sums too wide "
				    "for exact merge");
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
	(void)j;
	return 0;
}

/* ---- file form -------------------------------------------------------- */

#define MAGIC "policy-split partial\n"

int
pt_hist_write(const pt_hist *h, char **out, size_t *len, pt_err *e)
{
	wbuf hb = { 0 }, bb = { 0 };
	size_t cell, nc = h->ncells;
	int k, A = h->narms, i;
	uint64_t ck;
	XXH3_state_t *st;

	if (h->nparts < 1)
		return pt_fail(e, PT_EUSAGE, "", "partial has no partition id");
	/* Body: per node, the number of non-empty cells, then per cell the
	 * gap from the previous one, n, and per arm cnt, ysum, gsum. */
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
				wb_wide(&bb, &h->ysum[c * A + k], h->scale);
				wb_wide(&bb, &h->gsum[c * A + k], h->scale);
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
	int i, k;
	rbuf rb;
	xval *vals = NULL;
	int64_t minex = INT64_MAX;
	size_t nv = 0;
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
		if (q >= len || q == pos || q - pos >= 64)
			goto bad;
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
	/* Two passes over the body: the lowest exponent fixes the scale,
	 * then the values go in. */
	for (k = 0; k < 2; k++) {
		rb.p = (const unsigned char *)buf + body;
		rb.n = bodylen;
		rb.pos = 0;
		rb.err = 0;
		if (k == 1) {
			h->scale = minex == INT64_MAX ? 0 : (int)minex;
		}
		for (i = 0; i < h->nnodes; i++) {
			uint64_t cnt = rb_varint(&rb), c;
			size_t cell = 0;
			if (cnt > h->ncells)
				rb.err = 1;
			for (c = 0; c < cnt && !rb.err; c++) {
				uint64_t gap = rb_varint(&rb);
				size_t ci;
				int a;
				cell = c == 0 ? gap : cell + 1 + gap;
				if (gap > h->ncells || cell >= h->ncells) {
					rb.err = 1;
					break;
				}
				ci = (size_t)i * h->ncells + cell;
				h->n[ci] = rb_varint(&rb);
				if (h->n[ci] == 0)
					rb.err = 1;
				for (a = 0; a < arms && !rb.err; a++) {
					xval xv[2];
					int t;
					h->cnt[ci * arms + a] = rb_varint(&rb);
					rb_xval(&rb, &xv[0]);
					rb_xval(&rb, &xv[1]);
					for (t = 0; t < 2 && !rb.err; t++) {
						pt_wide *dst = t == 0 ?
						    &h->ysum[ci * arms + a] :
						    &h->gsum[ci * arms + a];
						if (xv[t].zero)
							continue;
						if (k == 0) {
							if (xv[t].ex < minex)
								minex = xv[t].ex;
							continue;
						}
						{
							int sh = (int)(xv[t].ex - h->scale);
							if (wide_bits(&xv[t].m) + sh > WIDE_LIMIT) {
								rb.err = 1;
								break;
							}
							*dst = xv[t].m;
							if (sh)
								wide_shl(dst, sh);
							if (xv[t].neg)
								wide_neg(dst);
						}
					}
				}
			}
		}
		if (rb.err || rb.pos != rb.n) {
			why = "malformed body";
			goto corrupt;
		}
		(void)nv;
	}
	free(vals);
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
	free(vals);
	free(val);
	pt_hist_free(h);
	return NULL;
#undef NEED
}

/*
 * partial.c: the file form of a partial (man/policy-tree.5, PARTIALS): a
 * text header, a binary body of the non-empty cells, an XXH3-64 checksum.
 * Partials travel between processes and hosts, and the merge of any
 * grouping must give the same bytes, so the form is canonical: it does
 * not depend on the scale a partial happened to be kept at, and a reader
 * refuses any other encoding of the same values.
 */
#include "hist.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "hist_impl.h"

/* ---- canonical binary form of an exact value -------------------------- */

typedef struct wbuf {
	unsigned char *p;
	size_t n, cap;
	int err;
} wbuf;

/* Appends n bytes; nothing for n = 0 (src may then be NULL: the body of
 * a write whose body buffer never got memory). */
static void
wb_put(wbuf *b, const void *src, size_t n)
{
	if (b->err || n == 0)
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
		pt_wide_sar(&m, sh);
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
 * than PT_WIDE_LIMIT bits. */
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
	if (wide_nbytes(a) != k || !pt_wide_fits(a))
		r->err = 1;
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
				int t = pt_wide_ctz(&h->ysum[j]);
				low = t < low ? t : low;
			}
			if (pt_wide_sign(&h->gsum[j]) != 0) {
				int t = pt_wide_ctz(&h->gsum[j]);
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
	ck = XXH3_64bits(hb.p, hb.n);
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

/* hline for a line the header must have next; on failure *missing names
 * it, for the message. */
static int
need(const char *buf, size_t len, size_t *pos, const char *key, char *val,
    const char **missing)
{
	if (hline(buf, len, pos, key, val, len) == 0)
		return 0;
	*missing = key;
	return -1;
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
	const char *why = "malformed header", *missing = NULL;
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
	if (need(buf, len, &pos, "version", val, &missing) < 0)
		goto bad;
	if (parse_int(val, 0, 1000, &version) < 0) goto bad;
	if (version != PT_HIST_VERSION) {
		why = "unsupported partial version";
		goto bad;
	}
	if (need(buf, len, &pos, "manifest", val, &missing) < 0)
		goto bad;
	snprintf(digest[0], sizeof digest[0], "%.32s", val);
	if (strlen(val) != 32) goto bad;
	if (need(buf, len, &pos, "model", val, &missing) < 0)
		goto bad;
	snprintf(digest[1], sizeof digest[1], "%.32s", val);
	if (strlen(val) != 32 && strcmp(val, "-")) goto bad;
	if (need(buf, len, &pos, "tree", val, &missing) < 0)
		goto bad;
	snprintf(digest[2], sizeof digest[2], "%.32s", val);
	if (strlen(val) != 32 && strcmp(val, "-")) goto bad;
	if (!is_hex32(digest[0]) || (strcmp(digest[1], "-") && !is_hex32(digest[1]))
	    || (strcmp(digest[2], "-") && !is_hex32(digest[2]))) {
		why = "malformed digest";
		goto bad;
	}
	if (need(buf, len, &pos, "level", val, &missing) < 0)
		goto bad;
	if (parse_int(val, 0, 64, &level) < 0) goto bad;
	if (need(buf, len, &pos, "mode", val, &missing) < 0)
		goto bad;
	snprintf(modebuf, sizeof modebuf, "%.15s", val);
	if (strcmp(modebuf, "treatment") && strcmp(modebuf, "rewards")) goto bad;
	if (need(buf, len, &pos, "arms", val, &missing) < 0)
		goto bad;
	if (parse_int(val, 1, 64, &arms) < 0) goto bad;
	if (need(buf, len, &pos, "features", val, &missing) < 0)
		goto bad;
	if (parse_int(val, 1, 10000000, &feats) < 0) goto bad;
	h = pt_hist_alloc((int)feats, (int)arms, 1, e);
	if (h == NULL)
		goto fail;
	h->has_treatment = modebuf[0] == 't';
	if (need(buf, len, &pos, "bins", val, &missing) < 0)
		goto bad;
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
	if (need(buf, len, &pos, "nodes", val, &missing) < 0)
		goto bad;
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
	if (need(buf, len, &pos, "rows", val, &missing) < 0)
		goto bad;
	if (parse_int(val, 0, INT64_MAX, &rows) < 0) goto bad;
	h->rows = (uint64_t)rows;
	if (need(buf, len, &pos, "partitions", val, &missing) < 0)
		goto bad;
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
	if (need(buf, len, &pos, "body", val, &missing) < 0)
		goto bad;
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
	want = XXH3_64bits(buf, pos);
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
	if (pt_hist_alloc_cells(h, e) < 0)
		goto fail;
	/* The body: the exponent of a unit, then the cells. */
	rb.p = (const unsigned char *)buf + body;
	rb.n = bodylen;
	rb.pos = 0;
	rb.err = 0;
	{
		uint64_t z = rb_varint(&rb);
		int64_t ex = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
		if (ex < -1074 - PT_WIDE_LIMIT || ex > 1100)
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
	if (missing != NULL)
		pt_fail(e, PT_EFORMAT, name, "malformed or missing '%s' line",
		    missing);
	else
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
}

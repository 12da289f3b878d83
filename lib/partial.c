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

#include "buf.h"
#include "hist_impl.h"
#include "partid.h"
#include "yamlin.h"
#include "yamlout.h"

/* ---- canonical binary form of an exact value -------------------------- */

static void
wb_varint(pt_buf *b, uint64_t v)
{
	unsigned char t[10];
	int n = 0;

	while (v >= 0x80) {
		t[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (unsigned char)v;
	pt_buf_put(b, t, (size_t)n);
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
wb_int(pt_buf *b, const pt_wide *a, int sh)
{
	pt_wide m = *a;
	unsigned char bytes[1 + 8 * PT_WIDE_WORDS];
	int k;

	if (sh > 0)
		pt_wide_sar(&m, sh);
	k = wide_nbytes(&m);
	bytes[0] = (unsigned char)k;
	wide_le(&m, bytes + 1);
	pt_buf_put(b, bytes, (size_t)k + 1);
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

/* The header is YAML (yamlout.h, read back by yamlin.h) up to and
 * including its "body: N" line; then N bytes of body; then a line
 * "checksum: HEX", the XXH3-64 of every byte before its newline. */
#define HEAD "# policy-split partial: a YAML header, a binary body and a " \
    "checksum; see policy-tree(5).\n"

int
pt_hist_write(const pt_hist *h, char **out, size_t *len, pt_err *e)
{
	pt_buf hb = PT_BUF_INIT, bb = PT_BUF_INIT;
	size_t cell, nc = h->ncells;
	int k, A = h->narms, i, sh, shw = 0, WA = PT_HIST_WCOLS(h);

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
		/* With weights, the same for the weight sums. */
		if (h->wh != NULL) {
			tot = (size_t)h->nnodes * nc * WA;
			low = INT_MAX;
			for (j = 0; j < tot; j++)
				if (pt_wide_sign(&h->wh->gsum[j]) != 0) {
					int t = pt_wide_ctz(&h->wh->gsum[j]);
					low = t < low ? t : low;
				}
			shw = low == INT_MAX ? 0 : low;
			ex = low == INT_MAX ? 0 : h->wh->scale + low;
			wb_varint(&bb, ((uint64_t)(int64_t)ex << 1) ^
			    (uint64_t)((int64_t)ex >> 63));
		}
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
			for (k = 0; h->wh != NULL && k < WA; k++)
				wb_int(&bb, &h->wh->gsum[c * WA + k], shw);
		}
	}
	pt_buf_puts(&hb, HEAD);
	pt_buf_printf(&hb, "format: policy-partial\nversion: %d\n",
	    PT_HIST_VERSION);
	pt_buf_printf(&hb, "manifest: %s\n", h->manifest);
	pt_buf_printf(&hb, "model: %s\n", h->model[0] ? h->model : "none");
	pt_buf_printf(&hb, "tree: %s\n", h->tree[0] ? h->tree : "none");
	pt_buf_printf(&hb, "level: %d\n", h->level);
	pt_buf_printf(&hb, "mode: %s\n", h->has_treatment ? "treatment" :
	    "rewards");
	pt_buf_printf(&hb, "arms: %d\nbins: [", h->narms);
	for (i = 0; i < h->nfeatures; i++)
		pt_buf_printf(&hb, i ? ", %d" : "%d", h->nbins[i]);
	pt_buf_puts(&hb, "]\n");
	/* Only pair partials say so: the bytes of the others stay as they
	 * were. */
	if (h->pairs)
		pt_buf_puts(&hb, "pairs: 1\n");
	/* Likewise partials with sample weights. */
	if (h->wh != NULL)
		pt_buf_puts(&hb, "weights: 1\n");
	pt_buf_puts(&hb, "nodes: [");
	for (i = 0; i < h->nnodes; i++)
		pt_buf_printf(&hb, i ? ", %" PRIu32 : "%" PRIu32, h->nodes[i]);
	pt_buf_printf(&hb, "]\nrows: %" PRIu64 "\npartitions: [", h->rows);
	for (i = 0; i < h->nparts; i++) {
		if (i)
			pt_buf_puts(&hb, ", ");
		pt_y_str(&hb, h->parts[i], PT_Y_PLAIN_WHEN_SAFE);
	}
	if (bb.err)
		pt_buf_fail(&hb, (pt_status)bb.err, bb.why);
	pt_buf_printf(&hb, "]\nbody: %zu\n", bb.n);
	pt_buf_put(&hb, bb.p, bb.n);
	pt_buf_free(&bb);
	if (!hb.err)
		pt_buf_printf(&hb, "\nchecksum: %016" PRIx64 "\n",
		    XXH3_64bits(hb.p, hb.n));
	return pt_buf_take(&hb, out, len, "partial", e);
}

/* The end of the header: just past its "body: N" line (the first line
 * that starts so: YAML escapes every line end inside a string), or 0. */
static size_t
header_end(const char *buf, size_t len)
{
	for (size_t p = 0; p + 6 <= len; ) {
		const char *nl = memchr(buf + p, '\n', len - p);
		if (memcmp(buf + p, "body: ", 6) == 0)
			return nl ? (size_t)(nl - buf) + 1 : 0;
		if (nl == NULL)
			return 0;
		p = (size_t)(nl - buf) + 1;
	}
	return 0;
}

static int
read_header(pt_ydoc *d, yaml_node_t *root, pt_hist **hp, size_t *bodylen,
    size_t len, int *weighted, pt_err *e)
{
	static const char *const keys[] = { "format", "version", "manifest",
		"model", "tree", "level", "mode", "arms", "bins", "pairs",
		"weights", "nodes", "rows", "partitions", "body", NULL };
	yaml_node_t *n;
	int64_t v, arms, level;
	uint64_t u;
	int mode, nb, np = 0;
	int64_t *bins = NULL, *nodes = NULL;
	char **parts = NULL;
	pt_hist *h = NULL;
	int rc = -1;

	if (pt_ymap_only(d, root, keys, e) < 0)
		return -1;
	n = pt_ynode_get(d, root, "format");
	if (n == NULL || !pt_ynode_is(n, "policy-partial"))
		return pt_yfail(e, d, n ? n : root, PT_EFORMAT, "not a "
		    "policy-split partial (format: policy-partial missing)");
	if ((n = pt_ynode_need(d, root, "version", e)) == NULL ||
	    pt_ynode_i64(d, n, "version", &v, e) < 0)
		return -1;
	if (v != PT_HIST_VERSION)
		return pt_yfail(e, d, n, PT_EMISMATCH, "partial version %" PRId64
		    " is not supported (this program reads version %d)", v,
		    PT_HIST_VERSION);
	if (pt_ynode_int(d, pt_ynode_need(d, root, "level", e), "level", 0,
	    PT_HIST_MAXLEVEL, &level, e) < 0 ||
	    (mode = pt_ynode_word(d, pt_ynode_need(d, root, "mode", e), "mode",
	    "treatment|rewards", e)) < 0 ||
	    pt_ynode_int(d, pt_ynode_need(d, root, "arms", e), "arms", 1, 64,
	    &arms, e) < 0 ||
	    (bins = pt_ynode_i64s(d, (n = pt_ynode_need(d, root, "bins", e)),
	    "bins", -1, &nb, e)) == NULL)
		goto out;
	if (nb < 1) {
		pt_yfail(e, d, n, PT_EFORMAT, "bins: no features");
		goto out;
	}
	if ((h = pt_hist_alloc(nb, (int)arms, 1, e)) == NULL)
		goto out;
	h->has_treatment = mode == 0;
	h->level = (int)level;
	if (pt_ynode_digest(d, pt_ynode_need(d, root, "manifest", e),
	    "manifest", 0, h->manifest, e) < 0 ||
	    pt_ynode_digest(d, pt_ynode_need(d, root, "model", e), "model", 1,
	    h->model, e) < 0 ||
	    pt_ynode_digest(d, pt_ynode_need(d, root, "tree", e), "tree", 1,
	    h->tree, e) < 0)
		goto out;
	{
		size_t off = 0;
		for (int i = 0; i < nb; i++) {
			if (bins[i] < 2 || bins[i] > PT_HIST_MAXBINS) {
				pt_yfail(e, d, n, PT_EFORMAT, "bins: %" PRId64 " is "
				    "not 2 to %d", bins[i], PT_HIST_MAXBINS);
				goto out;
			}
			h->nbins[i] = (int)bins[i];
			h->off[i] = off;
			off += (size_t)bins[i];
		}
		h->ncells = off;
	}
	/* A pair partial (pairs: 1, no other value) is of the root. */
	if ((n = pt_ynode_get(d, root, "pairs")) != NULL) {
		if (pt_ynode_int(d, n, "pairs", 1, 1, &v, e) < 0)
			goto out;
		h->pairs = 1;
		if (h->level != 0 || h->tree[0] != '\0') {
			pt_yfail(e, d, n, PT_EFORMAT, "pairs: a pair partial is "
			    "of the root (level 0, tree none)");
			goto out;
		}
	}
	/* Sample weights: "weights: 1", no other value; the reader gives
	 * the partial its weight sums once its cells are made. */
	if ((n = pt_ynode_get(d, root, "weights")) != NULL) {
		if (pt_ynode_int(d, n, "weights", 1, 1, &v, e) < 0)
			goto out;
		*weighted = 1;
	}
	if ((nodes = pt_ynode_i64s(d, (n = pt_ynode_need(d, root, "nodes", e)),
	    "nodes", -1, &np, e)) == NULL)
		goto out;
	if (h->pairs ? np != (int64_t)h->ncells : np < 1 ||
	    np > PT_HIST_MAXNODES) {
		if (h->pairs)
			pt_yfail(e, d, n, PT_EFORMAT, "nodes: a pair partial has "
			    "a node per bin of every feature (%zu), not %d",
			    h->ncells, np);
		else
			pt_yfail(e, d, n, PT_EFORMAT, "nodes: 1 to %d open nodes",
			    PT_HIST_MAXNODES);
		goto out;
	}
	free(h->nodes);
	if ((h->nodes = calloc((size_t)np, sizeof *h->nodes)) == NULL) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		goto out;
	}
	h->nnodes = np;
	for (int i = 0; i < np; i++) {
		if (nodes[i] < 1 || nodes[i] > UINT32_MAX ||
		    (i > 0 && nodes[i] <= nodes[i - 1])) {
			pt_yfail(e, d, n, PT_EFORMAT, "nodes: ids must be "
			    "ascending, from 1");
			goto out;
		}
		h->nodes[i] = (uint32_t)nodes[i];
	}
	/* A pair partial's nodes: (feature, bin) of every cell, in cell
	 * order. */
	for (int f = 0, i = 0; h->pairs && f < h->nfeatures; f++)
		for (int b = 0; b < h->nbins[f]; b++, i++)
			if (h->nodes[i] != PT_PAIR_ID(f, b)) {
				pt_yfail(e, d, n, PT_EFORMAT, "nodes: node %d of a "
				    "pair partial is %" PRIu32 ", not %" PRIu32
				    " (feature %d, bin %d)", i + 1, h->nodes[i],
				    PT_PAIR_ID(f, b), f + 1, b);
				goto out;
			}
	if (pt_ynode_u64(d, pt_ynode_need(d, root, "rows", e), "rows",
	    &h->rows, e) < 0 ||
	    (parts = pt_ynode_strs(d, (n = pt_ynode_need(d, root, "partitions",
	    e)), "partitions", &np, e)) == NULL)
		goto out;
	if (pt_partid_list(parts, np, &h->parts, e) < 0) {
		if (e->code != PT_ENOMEM) {
			char msg[sizeof e->msg];
			memcpy(msg, e->msg, sizeof msg);
			pt_yfail(e, d, n, PT_EFORMAT, "%s", msg);
		}
		goto out;
	}
	h->nparts = np;
	if (pt_ynode_u64(d, pt_ynode_need(d, root, "body", e), "body", &u,
	    e) < 0)
		goto out;
	if (u > len) {
		pt_fail(e, PT_ECORRUPT, d->name, "truncated");
		goto out;
	}
	*bodylen = (size_t)u;
	*hp = h;
	h = NULL;
	rc = 0;
out:
	free(bins);
	free(nodes);
	pt_strs_free(parts, np);
	pt_hist_free(h);
	return rc;
}

pt_hist *
pt_hist_read(const char *buf, size_t len, const char *name, pt_err *e)
{
	size_t body, bodylen = 0, pos;
	pt_hist *h = NULL;
	pt_ydoc d;
	yaml_node_t *root;
	const char *why;
	rbuf rb;
	uint64_t odd = 0, oddw = 0;
	int nz = 0, nzw = 0, i, arms, weighted = 0, WA;
	char hex[17];

	memset(&d, 0, sizeof d);
	if (len < strlen(HEAD) || memcmp(buf, HEAD, strlen(HEAD)) != 0) {
		pt_fail(e, PT_EFORMAT, name, "not a policy-split partial");
		return NULL;
	}
	if ((body = header_end(buf, len)) == 0) {
		pt_fail(e, PT_ECORRUPT, name, "truncated: no body line");
		return NULL;
	}
	if ((root = pt_ydoc_load(&d, buf, body, name, e)) == NULL ||
	    read_header(&d, root, &h, &bodylen, len, &weighted, e) < 0)
		goto fail;
	pt_ydoc_free(&d);
	pos = body + bodylen;
	/* The checksum line: "\nchecksum: " and 16 hex digits, the end. */
	if (bodylen > len - body || len - pos != 28 ||
	    memcmp(buf + pos, "\nchecksum: ", 11) != 0 || buf[len - 1] != '\n') {
		why = "truncated or missing checksum";
		goto corrupt;
	}
	snprintf(hex, sizeof hex, "%016" PRIx64, XXH3_64bits(buf, pos));
	if (memcmp(hex, buf + pos + 11, 16) != 0) {
		why = "checksum mismatch (corrupted partial)";
		goto corrupt;
	}
	if (pt_hist_alloc_cells(h, e) < 0 ||
	    (weighted && pt_hist_add_weights(h, e) < 0))
		goto fail;
	WA = PT_HIST_WCOLS(h);
	/* The body: the exponent of a unit, then the cells. */
	arms = h->narms;
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
		if (weighted) {
			z = rb_varint(&rb);
			ex = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
			if (ex < -1074 - PT_WIDE_LIMIT || ex > 1100)
				rb.err = 1;
			h->wh->scale = (int)ex;
		}
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
			for (a = 0; weighted && a < WA; a++) {
				pt_wide *x = &h->wh->gsum[ci * WA + a];
				rb_int(&rb, x);
				oddw |= x->w[0] & 1;
				nzw |= pt_wide_sign(x) != 0;
				/* Weights are not negative. */
				if (pt_wide_sign(x) < 0)
					rb.err = 1;
			}
			if (weighted)
				h->wh->n[ci] = h->n[ci];
		}
	}
	/* Canonical: some sum is odd in units of 2^e (e is their lowest set
	 * bit), or all are zero and e is 0. */
	if (rb.err || rb.pos != rb.n || (nz ? !odd : h->scale != 0) ||
	    (weighted && (nzw ? !oddw : h->wh->scale != 0))) {
		why = "malformed body";
		goto corrupt;
	}
	if (weighted)
		h->wh->rows = h->rows;
	return h;
corrupt:
	pt_fail(e, PT_ECORRUPT, name, "%s", why);
fail:
	pt_ydoc_free(&d);
	pt_hist_free(h);
	return NULL;
}

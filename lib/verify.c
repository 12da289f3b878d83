/*
 * verify.c: contract signatures, their file format, comparison, and drift.
 *
 * Per-row components hash each row on its own (XXH3-128 over the bytes of
 * its input columns, in schema order) and add the hashes modulo 2^128: the
 * sum is the same for any order and partitioning, and a change of any bit
 * of any value changes it (with probability 1 - 2^-128 per change).
 */
#include "verify.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const names[PT_SIG_N] = {
	"manifest", "feature_order", "vocabulary", "preprocessing", "boundaries",
	"model", "rows", "scores", "tree", "policy"
};

const char *
pt_sig_name(pt_sigcomp c)
{
	return c < PT_SIG_N ? names[c] : "?";
}

void
pt_sig_init(pt_sig *s)
{
	memset(s, 0, sizeof *s);
}

/* ---- hashing structured content ------------------------------------------ */

/* A streaming XXH3-128 state with typed feeds: each string is fed with its
 * length first, so ["ab","c"] and ["a","bc"] differ. */
typedef struct hstate {
	XXH3_state_t *st;
} hstate;

static int
h_begin(hstate *h)
{
	h->st = XXH3_createState();
	if (h->st == NULL)
		return -1;
	XXH3_128bits_reset(h->st);
	return 0;
}

static void
h_bytes(hstate *h, const void *p, size_t n)
{
	if (h->st != NULL)
		XXH3_128bits_update(h->st, p, n);
}

static void
h_u64(hstate *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	h_bytes(h, b, 8);
}

static void
h_f64(hstate *h, double x)
{
	uint64_t v;

	memcpy(&v, &x, 8);
	h_u64(h, v);
}

static void
h_str(hstate *h, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	h_u64(h, s ? n : UINT64_MAX);
	if (s)
		h_bytes(h, s, n);
}

static pt_h128
h_end(hstate *h)
{
	pt_h128 r = { 0, 0 };

	if (h->st != NULL) {
		XXH128_hash_t x = XXH3_128bits_digest(h->st);
		r.lo = x.low64;
		r.hi = x.high64;
		XXH3_freeState(h->st);
		h->st = NULL;
	}
	return r;
}

static void
set(pt_sig *s, pt_sigcomp c, pt_h128 h)
{
	s->have[c] = 1;
	s->h[c] = h;
}

static const char *
colname(const pt_manifest *m, int i)
{
	return i >= 0 ? m->columns[i] : NULL;
}

void
pt_sig_manifest(pt_sig *s, const pt_manifest *m)
{
	hstate h;

	h_begin(&h);
	h_str(&h, m->digest);
	set(s, PT_SIG_MANIFEST, h_end(&h));

	h_begin(&h);
	h_u64(&h, (uint64_t)m->nfeatures);
	for (int i = 0; i < m->nfeatures; i++)
		h_str(&h, m->features[i].name);
	set(s, PT_SIG_FEATURES, h_end(&h));

	h_begin(&h);
	h_u64(&h, (uint64_t)m->nvocab);
	for (int i = 0; i < m->nvocab; i++)
		h_str(&h, m->vocab[i]);
	h_str(&h, m->vocab[m->control]);
	set(s, PT_SIG_VOCABULARY, h_end(&h));

	/* Preprocessing: everything that turns a CSV row into a frame row,
	 * except the feature order, vocabulary and boundaries (their own
	 * components) and the fit's bookkeeping. */
	h_begin(&h);
	h_u64(&h, (uint64_t)m->ncolumns);
	for (int i = 0; i < m->ncolumns; i++)
		h_str(&h, m->columns[i]);
	h_str(&h, colname(m, m->treatment));
	h_str(&h, colname(m, m->outcome));
	h_str(&h, colname(m, m->key));
	h_u64(&h, (uint64_t)m->nrewards);
	for (int i = 0; i < m->nrewards; i++)
		h_str(&h, colname(m, m->rewards[i]));
	h_u64(&h, (uint64_t)m->drop_missing);
	h_u64(&h, (uint64_t)m->nmissing_tokens);
	for (int i = 0; i < m->nmissing_tokens; i++)
		h_str(&h, m->missing_tokens[i]);
	h_u64(&h, (uint64_t)m->nonfinite_missing);
	h_u64(&h, (uint64_t)m->split);
	h_f64(&h, m->train_fraction);
	h_u64(&h, m->seed);
	h_str(&h, colname(m, m->split_column));
	h_f64(&h, m->until);
	h_u64(&h, (uint64_t)m->nsources);
	/* Sources in CSV column order, not feature order (its own component). */
	for (int c = 0; c < m->ncolumns; c++) {
		const pt_source *src = NULL;
		for (int i = 0; i < m->nsources; i++)
			if (m->sources[i].column == c)
				src = &m->sources[i];
		if (src == NULL)
			continue;
		h_str(&h, src->name);
		h_u64(&h, (uint64_t)src->kind);
		h_u64(&h, (uint64_t)src->missing);
		h_f64(&h, src->impute);
		h_u64(&h, (uint64_t)src->impute_level);
		h_u64(&h, (uint64_t)src->unknown_missing);
		h_u64(&h, (uint64_t)src->nlevels);
		for (int k = 0; k < src->nlevels; k++)
			h_str(&h, src->levels[k]);
	}
	set(s, PT_SIG_PREPROCESSING, h_end(&h));

	/* Boundaries: a multiset of (feature name, its boundaries), so that
	 * reordering features moves the feature order alone. */
	{
		pt_mset bs;
		pt_mset_init(&bs);
		for (int i = 0; i < m->nfeatures; i++) {
			const pt_feature *f = &m->features[i];
			h_begin(&h);
			h_str(&h, f->name);
			h_u64(&h, (uint64_t)f->nbounds);
			for (int k = 0; k < f->nbounds; k++)
				h_f64(&h, f->bounds[k]);
			pt_mset_add_hash(&bs, h_end(&h));
		}
		set(s, PT_SIG_BOUNDARIES, bs.sum);
	}
}

void
pt_sig_file(pt_sig *s, pt_sigcomp c, const void *buf, size_t len)
{
	set(s, c, pt_hash128(buf, len, 0));
}

/* ---- frames ---------------------------------------------------------------- */

typedef struct group {
	pt_schema *schema;
	pt_mset rows, scores, policy;
	int nscores, action;
	int *scorecol;     /* the score columns, in vocabulary order */
	int *incol, nin;   /* input columns, sorted by name */
	pt_h128 shape;     /* hash of their names and types */
	const char *first_name;
} group;

struct pt_signer {
	const pt_manifest *m;
	void (*progress)(uint64_t rows, uint64_t bytes);
	uint64_t rows_seen;
	char manifest[33];
	group *g;
	int ng;
	uint64_t bytes;
	unsigned char *buf;
	size_t bufcap;
};

pt_signer *
pt_signer_new(const pt_manifest *m, pt_err *e)
{
	pt_signer *g = calloc(1, sizeof *g);

	if (g == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	g->m = m;
	if (m != NULL)
		memcpy(g->manifest, m->digest, sizeof g->manifest);
	return g;
}

void
pt_signer_free(pt_signer *g)
{
	if (g == NULL)
		return;
	for (int i = 0; i < g->ng; i++) {
		pt_schema_free(g->g[i].schema);
		free(g->g[i].scorecol);
		free(g->g[i].incol);
	}
	free(g->g);
	free(g->buf);
	free(g);
}

uint64_t
pt_signer_bytes(const pt_signer *g)
{
	return g->bytes;
}

/* Input columns make a row what it is; scores and actions are outputs. */
static int
is_input(pt_role r)
{
	/* Bin codes follow from the features and the manifest. */
	return r != PT_ROLE_SCORE && r != PT_ROLE_ACTION && r != PT_ROLE_BIN;
}

static group *
find_group(pt_signer *g, const pt_schema *s, const char *name, pt_err *e)
{
	group *ng;

	for (int i = 0; i < g->ng; i++)
		if (pt_schema_equal(g->g[i].schema, s))
			return &g->g[i];
	ng = realloc(g->g, sizeof *ng * ((size_t)g->ng + 1));
	if (ng == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	g->g = ng;
	ng = &g->g[g->ng];
	memset(ng, 0, sizeof *ng);
	if ((ng->schema = pt_schema_clone(s)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	pt_mset_init(&ng->rows);
	pt_mset_init(&ng->scores);
	pt_mset_init(&ng->policy);
	ng->nscores = pt_schema_count_role(s, PT_ROLE_SCORE);
	ng->action = pt_schema_find_role(s, PT_ROLE_ACTION, 0);
	if ((ng->scorecol = malloc(sizeof(int) * ((size_t)ng->nscores + 1))) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (int k = 0; k < ng->nscores; k++)
		ng->scorecol[k] = pt_schema_find_role(s, PT_ROLE_SCORE, k);
	/* A row is its input columns by name, whatever their order in the
	 * frames, and a coded column by its label, whatever the code. */
	if ((ng->incol = malloc(sizeof(int) * ((size_t)s->ncols + 1))) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (int j = 0; j < s->ncols; j++)
		if (is_input(s->cols[j].role))
			ng->incol[ng->nin++] = j;
	for (int a = 1; a < ng->nin; a++)
		for (int b = a; b > 0 && strcmp(s->cols[ng->incol[b - 1]].name,
		    s->cols[ng->incol[b]].name) > 0; b--) {
			int t = ng->incol[b];
			ng->incol[b] = ng->incol[b - 1];
			ng->incol[b - 1] = t;
		}
	{
		hstate h;
		h_begin(&h);
		for (int k = 0; k < ng->nin; k++) {
			const pt_colspec *cs = &s->cols[ng->incol[k]];
			h_str(&h, cs->name);
			h_u64(&h, (uint64_t)cs->type);
		}
		ng->shape = h_end(&h);
	}
	ng->first_name = name;
	g->ng++;
	return ng;
}


/* Little-endian 8 bytes at p: a plain copy on little-endian hosts. */
static void
put64(unsigned char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
#endif
}

/* The 8 bytes that stand for code v of a coded column: the hash of its
 * label (so the row does not depend on the code), or of the bare code
 * when it has no label. */
static uint64_t
code_word(const pt_colspec *cs, int32_t v)
{
	if (v >= 0 && v < cs->nlevels)
		return pt_hash64(cs->levels[v], strlen(cs->levels[v]), 0x6c6162656cULL);
	return 0xffffffff00000000ULL | (uint32_t)v;
}

/* Rows are laid out row-major in a scratch buffer, filled one column at a
 * time (so the inner loops are plain strided copies), then hashed one by
 * one: [shape 16][input columns by name, 8 bytes each].  Scores hash as
 * [row hash 16][score bits 8 each], actions as [row hash 16][label word 8]. */
int
pt_signer_feed(pt_signer *g, pt_reader *r, const char *name, pt_err *e)
{
	const pt_schema *s = pt_reader_schema(r);
	const pt_batch *b;
	group *gr;
	size_t stride, sstride;
	int rc;

	if (g->manifest[0] == '\0')
		memcpy(g->manifest, s->manifest, sizeof g->manifest);
	else if (strcmp(g->manifest, s->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, name, "frames of manifest %s, but %s "
		    "is %s", s->manifest, g->m ? "the manifest given" :
		    "the first input's", g->manifest);
	if ((gr = find_group(g, s, name, e)) == NULL)
		return -1;
	stride = 16 + 8 * (size_t)gr->nin;
	sstride = 16 + 8 * (size_t)(gr->nscores > 0 ? gr->nscores : 1);
	while ((rc = pt_reader_next(r, &b, e)) == 1) {
		size_t n = b->nrows, need = n * (stride > sstride ? stride : sstride);
		if (need > g->bufcap) {
			free(g->buf);
			g->bufcap = need + need / 4;
			if ((g->buf = malloc(g->bufcap)) == NULL) {
				g->bufcap = 0;
				rc = pt_fail(e, PT_ENOMEM, "", "out of memory");
				break;
			}
		}
		for (size_t i = 0; i < n; i++) {
			put64(g->buf + i * stride, gr->shape.lo);
			put64(g->buf + i * stride + 8, gr->shape.hi);
		}
		for (int k = 0; k < gr->nin; k++) {
			int j = gr->incol[k];
			const pt_colspec *cs = &s->cols[j];
			unsigned char *p = g->buf + 16 + 8 * (size_t)k;
			if (cs->type == PT_I32) {
				const int32_t *v = PT_COL_I32(b, j);
				/* Few distinct codes: hash each label once per run of
				 * equal codes (the first row always computes it). */
				int32_t last = 0;
				uint64_t w = 0;
				for (size_t i = 0; i < n; i++, p += stride) {
					if (i == 0 || v[i] != last) {
						last = v[i];
						w = code_word(cs, last);
					}
					put64(p, w);
				}
			} else if (cs->type == PT_U8) {
				const uint8_t *v = PT_COL_U8(b, j);
				for (size_t i = 0; i < n; i++, p += stride)
					put64(p, v[i]);
			} else {
				const uint64_t *v = b->col[j];
				for (size_t i = 0; i < n; i++, p += stride)
					put64(p, v[i]);
			}
		}
		/* Hash rows in place: row i's hash goes to the first 16 bytes of
		 * its score record, which is laid out over the same buffer
		 * afterwards, so keep the row hashes aside first. */
		{
			pt_h128 *rh = malloc(sizeof *rh * (n + 1));
			if (rh == NULL) {
				rc = pt_fail(e, PT_ENOMEM, "", "out of memory");
				break;
			}
			for (size_t i = 0; i < n; i++) {
				rh[i] = pt_hash128(g->buf + i * stride, stride, 0);
				pt_mset_add_hash(&gr->rows, rh[i]);
			}
			if (gr->nscores > 0) {
				for (size_t i = 0; i < n; i++) {
					unsigned char *p = g->buf + i * sstride;
					put64(p, rh[i].lo);
					put64(p + 8, rh[i].hi);
				}
				for (int k = 0; k < gr->nscores; k++) {
					const uint64_t *v = b->col[gr->scorecol[k]];
					unsigned char *p = g->buf + 16 + 8 * (size_t)k;
					for (size_t i = 0; i < n; i++, p += sstride)
						put64(p, v[i]);
				}
				for (size_t i = 0; i < n; i++)
					pt_mset_add(&gr->scores, g->buf + i * sstride, sstride);
			}
			if (gr->action >= 0) {
				const pt_colspec *cs = &s->cols[gr->action];
				const int32_t *v = PT_COL_I32(b, gr->action);
				unsigned char rec[24];
				int32_t last = 0;
				uint64_t w = 0;
				for (size_t i = 0; i < n; i++) {
					if (i == 0 || v[i] != last) {
						last = v[i];
						w = code_word(cs, last);
					}
					put64(rec, rh[i].lo);
					put64(rec + 8, rh[i].hi);
					put64(rec + 16, w);
					pt_mset_add(&gr->policy, rec, 24);
				}
			}
			free(rh);
		}
		g->rows_seen += n;
		if (g->progress)
			g->progress(g->rows_seen, g->bytes + pt_reader_bytes(r));
	}
	g->bytes += pt_reader_bytes(r);
	return rc < 0 ? -1 : 0;
}

static int
mset_eq(const pt_mset *a, const pt_mset *b)
{
	return a->count == b->count && a->sum.lo == b->sum.lo &&
	    a->sum.hi == b->sum.hi;
}

int
pt_signer_finish(pt_signer *g, pt_sig *s, pt_err *e)
{
	group *rows = NULL, *scores = NULL, *policy = NULL;

	for (int i = 0; i < g->ng; i++) {
		group *gr = &g->g[i];
		if (rows == NULL)
			rows = gr;
		else if (!mset_eq(&rows->rows, &gr->rows))
			return pt_fail(e, PT_EMISMATCH, gr->first_name, "these frames "
			    "hold other rows than %s (%llu rows against %llu)",
			    rows->first_name, (unsigned long long)gr->rows.count,
			    (unsigned long long)rows->rows.count);
		if (gr->nscores > 0) {
			if (scores != NULL && !mset_eq(&scores->scores, &gr->scores))
				return pt_fail(e, PT_EMISMATCH, gr->first_name, "these "
				    "frames hold other scores than %s",
				    scores->first_name);
			scores = gr;
		}
		if (gr->action >= 0) {
			if (policy != NULL && !mset_eq(&policy->policy, &gr->policy))
				return pt_fail(e, PT_EMISMATCH, gr->first_name, "these "
				    "frames hold other actions than %s",
				    policy->first_name);
			policy = gr;
		}
	}
	if (rows != NULL) {
		set(s, PT_SIG_ROWS, rows->rows.sum);
		s->rows = rows->rows.count;
		s->have_rows = 1;
	}
	if (scores != NULL)
		set(s, PT_SIG_SCORES, scores->scores.sum);
	if (policy != NULL)
		set(s, PT_SIG_POLICY, policy->policy.sum);
	return 0;
}

/* ---- the signature file ------------------------------------------------------ */

int
pt_sig_write(const pt_sig *s, char **out, size_t *len, pt_err *e)
{
	size_t cap = 2048, n = 0;
	char *p = malloc(cap), hex[33];

	if (p == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	n += (size_t)snprintf(p + n, cap - n,
	    "# policy-tools contract signature; see policy-signature(5).\n"
	    "format: policy-signature\nversion: %d\n", PT_SIG_VERSION);
	if (s->have_rows)
		n += (size_t)snprintf(p + n, cap - n, "row_count: %llu\n",
		    (unsigned long long)s->rows);
	n += (size_t)snprintf(p + n, cap - n, "components:\n");
	for (int c = 0; c < PT_SIG_N; c++) {
		if (!s->have[c])
			continue;
		pt_h128_hex(s->h[c], hex);
		n += (size_t)snprintf(p + n, cap - n, "  %s: %s\n", names[c], hex);
	}
	pt_h128_hex(pt_hash128(p, n, 0), hex);
	n += (size_t)snprintf(p + n, cap - n, "digest: %s\n", hex);
	*out = p;
	*len = n;
	return 0;
}

static int
parse_hex(const char *s, size_t n, pt_h128 *h)
{
	uint64_t v[2] = { 0, 0 };

	if (n != 32)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int c = s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		v[i / 16] = v[i / 16] << 4 | (uint64_t)d;
	}
	h->hi = v[0];
	h->lo = v[1];
	return 0;
}

/* The file is line-oriented YAML of a fixed shape; reading it line by line
 * keeps every check (and every error line number) simple. */
int
pt_sig_parse(pt_sig *s, const char *buf, size_t len, const char *name,
    pt_err *e)
{
	size_t off = 0, digest_at = 0;
	int line = 0, seen_format = 0, seen_version = 0, in_comp = 0, done = 0;
	char where[300];

	pt_sig_init(s);
	if (len == 0)
		return pt_fail(e, PT_EFORMAT, name, "empty signature file");
	while (off < len) {
		const char *l = buf + off, *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;
		line++;
		snprintf(where, sizeof where, "%s:%d", name, line);
		if (done)
			return pt_fail(e, PT_EFORMAT, where, "text after the digest line");
		if (nl == NULL)
			return pt_fail(e, PT_EFORMAT, where, "truncated (no line end)");
		if (n == 0 || l[0] == '#') {
			/* comment or blank */
		} else if (n > 8 && memcmp(l, "digest: ", 8) == 0) {
			pt_h128 want, got;
			if (parse_hex(l + 8, n - 8, &got) != 0)
				return pt_fail(e, PT_EFORMAT, where, "bad digest");
			want = pt_hash128(buf, off, 0);
			if (want.lo != got.lo || want.hi != got.hi)
				return pt_fail(e, PT_EFORMAT, where, "digest does not match "
				    "the content: the file was edited or damaged");
			digest_at = off;
			done = 1;
		} else if (n == 24 && memcmp(l, "format: policy-signature", 24) == 0) {
			if (seen_format++)
				return pt_fail(e, PT_EFORMAT, where, "format twice");
		} else if (n > 9 && memcmp(l, "version: ", 9) == 0) {
			if (n != 10 || l[9] != '0' + PT_SIG_VERSION)
				return pt_fail(e, PT_EFORMAT, where, "signature version "
				    "%.*s is not supported (this program reads version %d)",
				    (int)(n - 9), l + 9, PT_SIG_VERSION);
			if (seen_version++)
				return pt_fail(e, PT_EFORMAT, where, "version twice");
		} else if (n > 11 && memcmp(l, "row_count: ", 11) == 0) {
			char tmp[32], *end;
			if (n - 11 >= sizeof tmp)
				return pt_fail(e, PT_EFORMAT, where, "bad row count");
			memcpy(tmp, l + 11, n - 11);
			tmp[n - 11] = '\0';
			if (s->have_rows)
				return pt_fail(e, PT_EFORMAT, where, "row_count twice");
			errno = 0;
			s->rows = strtoull(tmp, &end, 10);
			if (*end != '\0' || tmp[0] < '0' || tmp[0] > '9' ||
			    errno == ERANGE)
				return pt_fail(e, PT_EFORMAT, where, "bad row count");
			s->have_rows = 1;
		} else if (n == 11 && memcmp(l, "components:", 11) == 0) {
			in_comp = 1;
		} else if (in_comp && n > 2 && l[0] == ' ' && l[1] == ' ') {
			const char *colon = memchr(l, ':', n);
			int c;
			if (colon == NULL)
				return pt_fail(e, PT_EFORMAT, where, "expected 'name: hex'");
			for (c = 0; c < PT_SIG_N; c++)
				if ((size_t)(colon - l - 2) == strlen(names[c]) &&
				    memcmp(l + 2, names[c], strlen(names[c])) == 0)
					break;
			if (c == PT_SIG_N)
				return pt_fail(e, PT_EFORMAT, where, "unknown component "
				    "'%.*s'", (int)(colon - l - 2), l + 2);
			if (s->have[c])
				return pt_fail(e, PT_EFORMAT, where, "component '%s' twice",
				    names[c]);
			if (colon + 2 > l + n || colon[1] != ' ' ||
			    parse_hex(colon + 2, (size_t)(l + n - colon - 2), &s->h[c]) != 0)
				return pt_fail(e, PT_EFORMAT, where, "bad digest for '%s'",
				    names[c]);
			s->have[c] = 1;
		} else {
			return pt_fail(e, PT_EFORMAT, where, "unexpected line '%.*s'",
			    (int)(n > 40 ? 40 : n), l);
		}
		off += n + 1;
	}
	(void)digest_at;
	if (!seen_format)
		return pt_fail(e, PT_EFORMAT, name, "not a policy signature "
		    "(format: policy-signature missing)");
	if (!seen_version)
		return pt_fail(e, PT_EFORMAT, name, "no version line");
	if (!done)
		return pt_fail(e, PT_EFORMAT, name, "truncated: no digest line at "
		    "the end");
	return 0;
}

pt_cmp
pt_sig_compare(const pt_sig *a, const pt_sig *b, pt_sigcomp c)
{
	if (!a->have[c] && !b->have[c])
		return PT_CMP_ABSENT;
	if (!b->have[c])
		return PT_CMP_ONLY_A;
	if (!a->have[c])
		return PT_CMP_ONLY_B;
	return a->h[c].lo == b->h[c].lo && a->h[c].hi == b->h[c].hi ?
	    PT_CMP_SAME : PT_CMP_DRIFTED;
}

/* ---- drift -------------------------------------------------------------------- */

struct pt_drift {
	const pt_manifest *m;
	uint64_t **counts; /* per feature: nbounds + 2 */
	uint64_t rows;
};

pt_drift *
pt_drift_new(const pt_manifest *m, pt_err *e)
{
	pt_drift *d = calloc(1, sizeof *d);

	if (d == NULL || (d->counts = calloc((size_t)m->nfeatures + 1,
	    sizeof *d->counts)) == NULL)
		goto oom;
	d->m = m;
	for (int f = 0; f < m->nfeatures; f++)
		if ((d->counts[f] = calloc((size_t)m->features[f].nbounds + 2,
		    sizeof **d->counts)) == NULL)
			goto oom;
	return d;
oom:
	pt_drift_free(d);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

void
pt_drift_free(pt_drift *d)
{
	if (d == NULL)
		return;
	if (d->counts != NULL)
		for (int f = 0; f < d->m->nfeatures; f++)
			free(d->counts[f]);
	free(d->counts);
	free(d);
}

int
pt_drift_feed(pt_drift *d, pt_reader *r, const char *name, pt_err *e)
{
	const pt_manifest *m = d->m;
	const pt_schema *s = pt_reader_schema(r);
	const pt_batch *b;
	int *col = malloc(sizeof *col * ((size_t)m->nfeatures + 1)), rc;

	if (col == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	if (strcmp(s->manifest, m->digest) != 0) {
		free(col);
		return pt_fail(e, PT_EMISMATCH, name, "frames of manifest %s, not of "
		    "the manifest given (%s)", s->manifest, m->digest);
	}
	for (int f = 0; f < m->nfeatures; f++) {
		col[f] = pt_schema_find(s, m->features[f].name);
		if (col[f] < 0 || s->cols[col[f]].type != PT_F64) {
			rc = pt_fail(e, PT_EMISMATCH, name, "no feature column '%s'",
			    m->features[f].name);
			free(col);
			return rc;
		}
	}
	while ((rc = pt_reader_next(r, &b, e)) == 1) {
		for (int f = 0; f < m->nfeatures; f++) {
			const pt_feature *ft = &m->features[f];
			const double *x = PT_COL_F64(b, col[f]);
			uint64_t *c = d->counts[f];
			for (size_t i = 0; i < b->nrows; i++)
				c[pt_feature_bin(ft, x[i])]++;
		}
		d->rows += b->nrows;
	}
	free(col);
	return rc < 0 ? -1 : 0;
}

uint64_t
pt_drift_rows(const pt_drift *d)
{
	return d->rows;
}

double
pt_drift_psi(const pt_drift *d, int f)
{
	const pt_feature *ft = &d->m->features[f];
	int k = ft->nbounds + 2;
	double nt = 0, nn = 0, psi = 0;

	for (int i = 0; i < k; i++) {
		nt += (double)ft->counts[i];
		nn += (double)d->counts[f][i];
	}
	for (int i = 0; i < k; i++) {
		double p = ((double)d->counts[f][i] + 0.5) / (nn + 0.5 * k);
		double q = ((double)ft->counts[i] + 0.5) / (nt + 0.5 * k);
		psi += (p - q) * log(p / q);
	}
	return psi;
}

void
pt_signer_progress(pt_signer *g, void (*fn)(uint64_t rows, uint64_t bytes))
{
	g->progress = fn;
}

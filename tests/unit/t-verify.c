/*
 * t-verify.c: signatures of frames through the library: one flipped bit of
 * one score drifts the scores alone, one row's action the policy alone;
 * any permutation and split of the rows into streams signs the same.  The
 * signer's digests are held to a slow reference that follows
 * policy-signature(5) field by field, on schemas of every column type and
 * role, missing values and codes without a label, row lengths that reach
 * every length class of XXH3, frames of several sizes and any number of
 * threads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "frame.h"
#include "verify.h"
#include "../tap.h"

#define N 5000

typedef struct rows {
	uint64_t id[N];
	double x[N], y[N], s0[N], s1[N];
	int32_t w[N], act[N];
} rows;

static pt_schema *
schema(void)
{
	char *lv[] = { "No E-Mail", "Mens E-Mail" };
	pt_schema *s = pt_schema_new("0123456789abcdef0123456789abcdef");

	pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	pt_schema_add(s, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	pt_schema_add(s, "segment", PT_I32, PT_ROLE_TREATMENT, 2, lv, NULL);
	pt_schema_add(s, "spend", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	pt_schema_add(s, "score:No E-Mail", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
	pt_schema_add(s, "score:Mens E-Mail", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
	pt_schema_add(s, "action", PT_I32, PT_ROLE_ACTION, 2, lv, NULL);
	return s;
}

/* Writes rows order[lo..hi) as one stream into a temporary file; returns
 * an fd positioned at its start. */
static int
stream(const pt_schema *s, const rows *r, const int *order, int lo, int hi)
{
	char path[] = "/tmp/t-verify.XXXXXX";
	int fd = mkstemp(path);
	pt_writer *w;
	pt_batch *b = pt_batch_new(s, 777);
	pt_err e;

	unlink(path);
	w = pt_writer_open(fd, path, s, 0, &e);
	for (int i = lo; i < hi; i++) {
		int k = order[i];
		size_t j = b->nrows++;
		PT_COL_U64(b, 0)[j] = r->id[k];
		PT_COL_F64(b, 1)[j] = r->x[k];
		PT_COL_I32(b, 2)[j] = r->w[k];
		PT_COL_F64(b, 3)[j] = r->y[k];
		PT_COL_F64(b, 4)[j] = r->s0[k];
		PT_COL_F64(b, 5)[j] = r->s1[k];
		PT_COL_I32(b, 6)[j] = r->act[k];
		if (b->nrows == b->cap) {
			pt_writer_write(w, b, &e);
			b->nrows = 0;
		}
	}
	if (b->nrows > 0)
		pt_writer_write(w, b, &e);
	pt_writer_close(w, &e);
	pt_batch_free(b);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Signs the rows split at the given cut points into streams. */
static int
sign(const pt_schema *s, const rows *r, const int *order, const int *cuts,
    int ncuts, pt_sig *sig)
{
	pt_err e;
	pt_signer *g = pt_signer_new(NULL, &e);
	int lo = 0, rc = 0;

	pt_sig_init(sig);
	for (int c = 0; c <= ncuts && rc == 0; c++) {
		int hi = c < ncuts ? cuts[c] : N;
		int fd = stream(s, r, order, lo, hi);
		pt_reader *rd = pt_reader_open(fd, "t", &e);
		rc = rd == NULL ? -1 : pt_signer_feed(g, rd, "t", &e);
		pt_reader_close(rd);
		close(fd);
		lo = hi;
	}
	if (rc == 0)
		rc = pt_signer_finish(g, sig, &e);
	pt_signer_free(g);
	return rc;
}

/* Components that differ between a and b, as a bit set. */
static unsigned
diff(const pt_sig *a, const pt_sig *b)
{
	unsigned d = 0;

	for (int c = 0; c < PT_SIG_N; c++)
		if (pt_sig_compare(a, b, (pt_sigcomp)c) != PT_CMP_SAME &&
		    pt_sig_compare(a, b, (pt_sigcomp)c) != PT_CMP_ABSENT)
			d |= 1u << c;
	return d;
}


/* ---- the slow reference ------------------------------------------------ */

/* A generated stream: ncols columns of the given types and roles, nrows
 * rows of values (8 bytes a value, whatever the type). */
typedef struct gen {
	pt_schema *s;
	size_t nrows;
	uint64_t **v;
} gen;

static uint64_t
rnd(uint64_t *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return *st ^ *st >> 29;
}

static void
ref_u64(XXH3_state_t *st, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	XXH3_128bits_update(st, b, 8);
}

static uint64_t
ref_word(const pt_colspec *cs, int32_t v)
{
	if (v >= 0 && v < cs->nlevels)
		return XXH3_64bits_withSeed(cs->levels[v], strlen(cs->levels[v]),
		    0x6c6162656cULL);
	return 0xffffffff00000000ULL | (uint32_t)v;
}

static void
ref_add(pt_h128 *sum, XXH128_hash_t h)
{
	sum->lo += h.low64;
	sum->hi += h.high64 + (sum->lo < h.low64);
}

static int
ref_input(pt_role r)
{
	return r != PT_ROLE_SCORE && r != PT_ROLE_ACTION && r != PT_ROLE_BIN &&
	    r != PT_ROLE_PART;
}

/* The signature of g's rows as policy-signature(5) says, row by row. */
static void
ref_sign(const gen *g, pt_sig *sig)
{
	const pt_schema *s = g->s;
	int order[64], nin = 0, act = -1;
	pt_h128 rows = { 0, 0 }, scores = { 0, 0 }, policy = { 0, 0 };
	int nscores = 0;
	XXH3_state_t *st = XXH3_createState();
	XXH128_hash_t shape;

	for (int j = 0; j < s->ncols; j++) {
		if (ref_input(s->cols[j].role))
			order[nin++] = j;
		nscores += s->cols[j].role == PT_ROLE_SCORE;
		if (s->cols[j].role == PT_ROLE_ACTION && act < 0)
			act = j;
	}
	/* Bytewise order of the names. */
	for (int a = 0; a < nin; a++)
		for (int b = a + 1; b < nin; b++)
			if (strcmp(s->cols[order[b]].name, s->cols[order[a]].name) < 0) {
				int t = order[a];
				order[a] = order[b];
				order[b] = t;
			}
	XXH3_128bits_reset(st);
	for (int k = 0; k < nin; k++) {
		const char *name = s->cols[order[k]].name;
		ref_u64(st, strlen(name));
		XXH3_128bits_update(st, name, strlen(name));
		ref_u64(st, (uint64_t)s->cols[order[k]].type);
	}
	shape = XXH3_128bits_digest(st);
	for (size_t i = 0; i < g->nrows; i++) {
		XXH128_hash_t h;
		XXH3_128bits_reset(st);
		ref_u64(st, shape.low64);
		ref_u64(st, shape.high64);
		for (int k = 0; k < nin; k++) {
			const pt_colspec *cs = &s->cols[order[k]];
			uint64_t v = g->v[order[k]][i];
			ref_u64(st, cs->type == PT_I32 ? ref_word(cs, (int32_t)v) : v);
		}
		h = XXH3_128bits_digest(st);
		ref_add(&rows, h);
		if (nscores > 0) {
			XXH3_128bits_reset(st);
			ref_u64(st, h.low64);
			ref_u64(st, h.high64);
			for (int j = 0; j < s->ncols; j++)
				if (s->cols[j].role == PT_ROLE_SCORE)
					ref_u64(st, g->v[j][i]);
			ref_add(&scores, XXH3_128bits_digest(st));
		}
		if (act >= 0) {
			XXH3_128bits_reset(st);
			ref_u64(st, h.low64);
			ref_u64(st, h.high64);
			ref_u64(st, ref_word(&s->cols[act], (int32_t)g->v[act][i]));
			ref_add(&policy, XXH3_128bits_digest(st));
		}
	}
	XXH3_freeState(st);
	pt_sig_init(sig);
	sig->have[PT_SIG_ROWS] = 1;
	sig->h[PT_SIG_ROWS] = rows;
	sig->have_rows = 1;
	sig->rows = g->nrows;
	if (nscores > 0) {
		sig->have[PT_SIG_SCORES] = 1;
		sig->h[PT_SIG_SCORES] = scores;
	}
	if (act >= 0) {
		sig->have[PT_SIG_POLICY] = 1;
		sig->h[PT_SIG_POLICY] = policy;
	}
}

/* Values of column j's type: doubles with missing ones (NaN), -0 and
 * infinities; codes with missing (-1), unlabelled and extreme ones. */
static uint64_t
gen_value(const pt_colspec *cs, uint64_t *st)
{
	uint64_t r = rnd(st);
	double x;

	switch (cs->type) {
	case PT_F64:
		switch (r % 11) {
		case 0: x = NAN; break;
		case 1: x = -0.0; break;
		case 2: x = r % 3 ? HUGE_VAL : -HUGE_VAL; break;
		default: x = (double)(r >> 11) * 0x1p-40 - 1000; break;
		}
		memcpy(&r, &x, 8);
		return r;
	case PT_I32:
		switch (r % 13) {
		case 0: return (uint64_t)(uint32_t)-1;
		case 1: return (uint64_t)(uint32_t)INT32_MIN;
		case 2: return (uint64_t)(uint32_t)INT32_MAX;
		case 3: return (uint64_t)(cs->nlevels + (int)(r >> 40 & 3));
		default: return cs->nlevels > 0 ? (r >> 20) % (uint64_t)cs->nlevels :
		    (r >> 20) % 5;
		}
	case PT_U8:
		return r >> 56;
	default:
		return r;
	}
}

/* Writes g's rows as one stream, cap rows a frame. */
static int
gen_stream(const gen *g, size_t cap)
{
	char path[] = "/tmp/t-verify.XXXXXX";
	int fd = mkstemp(path);
	pt_writer *w;
	pt_batch *b = pt_batch_new(g->s, cap);
	pt_err e;

	unlink(path);
	w = pt_writer_open(fd, path, g->s, 0, &e);
	for (size_t i = 0; i < g->nrows; i++) {
		size_t r = b->nrows++;
		for (int j = 0; j < g->s->ncols; j++) {
			uint64_t v = g->v[j][i];
			switch (g->s->cols[j].type) {
			case PT_I32: PT_COL_I32(b, j)[r] = (int32_t)(uint32_t)v; break;
			case PT_U8: PT_COL_U8(b, j)[r] = (uint8_t)v; break;
			default: PT_COL_U64(b, j)[r] = v; break;
			}
		}
		if (b->nrows == b->cap) {
			pt_writer_write(w, b, &e);
			b->nrows = 0;
		}
	}
	if (b->nrows > 0)
		pt_writer_write(w, b, &e);
	pt_writer_close(w, &e);
	pt_batch_free(b);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int
gen_sign(const gen *g, size_t cap, int threads, pt_sig *sig)
{
	pt_err e;
	pt_signer *sg = pt_signer_new(NULL, &e);
	int fd = gen_stream(g, cap), rc;
	pt_reader *rd = pt_reader_open(fd, "t", &e);

	pt_sig_init(sig);
	pt_signer_threads(sg, threads);
	rc = rd == NULL ? -1 : pt_signer_feed(sg, rd, "t", &e);
	if (rc == 0)
		rc = pt_signer_finish(sg, sig, &e);
	pt_reader_close(rd);
	close(fd);
	pt_signer_free(sg);
	return rc;
}

/* Schema kind k: 0 the usual run (row, features, treatment, outcome,
 * scores, action); 1 categorical features, a u8 column, bins and a part
 * column (not inputs), names out of order, no outputs; 2.. f64 columns
 * only, 2 + k - 2 of them... so that a row is 16 + 8c bytes for c across
 * XXH3's length classes (16, 17-128, 129-240, above), with scores. */
static gen
gen_make(int kind, size_t nrows, uint64_t seed)
{
	static char *arms[] = { "control", "mail", "call" };
	static char *cats[] = { "red", "green", "",
		"a much longer label, past sixteen bytes" };
	static const int widths[] = { 0, 1, 13, 14, 15, 27, 28, 29, 40 };
	gen g;
	char name[32];

	g.s = pt_schema_new("0123456789abcdef0123456789abcdef");
	g.nrows = nrows;
	if (kind == 0) {
		pt_schema_add(g.s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
		pt_schema_add(g.s, "x2", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
		pt_schema_add(g.s, "x10", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
		pt_schema_add(g.s, "arm", PT_I32, PT_ROLE_TREATMENT, 3, arms, NULL);
		pt_schema_add(g.s, "y", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
		pt_schema_add(g.s, "score:control", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
		pt_schema_add(g.s, "score:mail", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
		pt_schema_add(g.s, "score:call", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
		pt_schema_add(g.s, "action", PT_I32, PT_ROLE_ACTION, 3, arms, NULL);
	} else if (kind == 1) {
		pt_schema_add(g.s, "zeta", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
		pt_schema_add(g.s, "colour", PT_I32, PT_ROLE_FEATURE, 4, cats, NULL);
		pt_schema_add(g.s, "Colour", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
		pt_schema_add(g.s, "bin:zeta", PT_U8, PT_ROLE_BIN, 0, NULL, NULL);
		pt_schema_add(g.s, "flags", PT_U8, PT_ROLE_OTHER, 0, NULL, NULL);
		pt_schema_add(g.s, "_part", PT_I32, PT_ROLE_PART, 2, arms, NULL);
		pt_schema_add(g.s, "w", PT_F64, PT_ROLE_PROPENSITY, 0, NULL, NULL);
		pt_schema_add(g.s, "key", PT_U64, PT_ROLE_OTHER, 0, NULL, NULL);
		pt_schema_add(g.s, "arm", PT_I32, PT_ROLE_TREATMENT, 3, arms, NULL);
	} else {
		int c = widths[kind - 2];
		for (int j = 0; j < c; j++) {
			snprintf(name, sizeof name, "f%d", (j * 7) % (c ? c : 1));
			if (j * 7 % c != j)
				snprintf(name, sizeof name, "f%d_%d", j * 7 % c, j);
			pt_schema_add(g.s, name, PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
		}
		pt_schema_add(g.s, "score:a", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
		pt_schema_add(g.s, "score:b", PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
	}
	g.v = calloc((size_t)g.s->ncols, sizeof *g.v);
	for (int j = 0; j < g.s->ncols; j++) {
		g.v[j] = malloc(sizeof **g.v * (nrows + 1));
		for (size_t i = 0; i < nrows; i++)
			g.v[j][i] = gen_value(&g.s->cols[j], &seed);
	}
	return g;
}

static void
gen_free(gen *g)
{
	for (int j = 0; j < g->s->ncols; j++)
		free(g->v[j]);
	free(g->v);
	pt_schema_free(g->s);
}

/* Every schema kind, against the reference: frames of one row, of a few
 * hundred (runs of BLOCK and a remainder), and of more than the threads
 * share; one to three threads. */
static void
against_reference(void)
{
	static const size_t caps[] = { 1, 300, 20000 };
	int nkinds = 2 + 9;

	for (int kind = 0; kind < nkinds; kind++) {
		size_t nrows = kind < 2 ? 20011 : 9001;
		gen g = gen_make(kind, nrows, 1000 + (uint64_t)kind);
		pt_sig want, got;
		int bad = 0, tried = 0;
		ref_sign(&g, &want);
		for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
			for (int t = 1; t <= 3; t++) {
				if (caps[c] == 1 && (t > 1 || nrows > 10000))
					continue;
				tried++;
				if (gen_sign(&g, caps[c], t, &got) != 0 ||
				    diff(&want, &got) != 0 || got.rows != want.rows ||
				    memcmp(got.have, want.have, sizeof got.have) != 0)
					bad++;
			}
		ok(bad == 0, "schema %d (%d columns): the signer agrees with the "
		    "reference in %d of %d settings", kind, g.s->ncols,
		    tried - bad, tried);
		gen_free(&g);
	}
}

int
main(void)
{
	static rows r;
	static int order[N], perm[N];
	pt_schema *s = schema();
	pt_sig base, other;
	int cuts[3] = { 1000, 1001, 4000 }, none[1] = { 0 };
	uint64_t seed = 7;

	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		r.id[i] = seed;
		r.x[i] = (double)(seed >> 11) * 0x1p-53;
		r.w[i] = (int32_t)(seed >> 63);
		r.y[i] = i % 7 == 0 ? NAN : (double)(i % 13) * 0.1;
		r.s0[i] = r.x[i] * 3 - 1;
		r.s1[i] = r.y[i] * 0.5;
		r.act[i] = r.s1[i] > r.s0[i];
		order[i] = perm[i] = i;
	}
	for (int i = N - 1; i > 0; i--) {
		int j = (int)((seed = seed * 6364136223846793005ULL + 1) % (uint64_t)(i + 1));
		int t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	ok(sign(s, &r, order, none, 0, &base) == 0, "sign one stream");
	ok(base.have[PT_SIG_ROWS] && base.have[PT_SIG_SCORES] &&
	    base.have[PT_SIG_POLICY] && base.rows == N,
	    "rows, scores and policy are signed");
	ok(sign(s, &r, perm, cuts, 3, &other) == 0 && diff(&base, &other) == 0,
	    "permuted rows in four streams (one of one row) sign the same");

	{
		/* A code equal to INT32_MIN first or later in a frame must hash
		 * the same (it once collided with a "nothing cached" mark). */
		pt_sig a, b;
		int32_t keep = r.w[perm[0]];
		r.w[perm[0]] = INT32_MIN;
		sign(s, &r, order, none, 0, &a);
		sign(s, &r, perm, none, 0, &b);
		ok(diff(&a, &b) == 0, "an out-of-range code (INT32_MIN) signs the "
		    "same wherever it stands");
		r.w[perm[0]] = keep;
	}
	{
		uint64_t bits;
		memcpy(&bits, &r.s1[1234], 8);
		bits ^= 1;
		memcpy(&r.s1[1234], &bits, 8);
		sign(s, &r, order, none, 0, &other);
		ok(diff(&base, &other) == 1u << PT_SIG_SCORES,
		    "one bit of one score: only the scores drift (0x%x)",
		    diff(&base, &other));
		bits ^= 1;
		memcpy(&r.s1[1234], &bits, 8);
	}
	r.act[42] ^= 1;
	sign(s, &r, order, none, 0, &other);
	ok(diff(&base, &other) == 1u << PT_SIG_POLICY,
	    "one row's action: only the policy drifts (0x%x)", diff(&base, &other));
	r.act[42] ^= 1;
	r.w[7] ^= 1;
	sign(s, &r, order, none, 0, &other);
	ok(diff(&base, &other) == ((1u << PT_SIG_ROWS) | (1u << PT_SIG_SCORES) |
	    (1u << PT_SIG_POLICY)), "one row's treatment: rows, and the scores "
	    "and action tied to that row, drift (0x%x)", diff(&base, &other));
	r.w[7] ^= 1;
	r.id[N - 1] ^= 1ULL << 63;
	sign(s, &r, order, none, 0, &other);
	ok(diff(&base, &other) != 0 && (diff(&base, &other) & (1u << PT_SIG_ROWS)),
	    "one bit of one row hash: rows drift");
	r.id[N - 1] ^= 1ULL << 63;
	{
		/* Two identical rows are a multiset of two, not a set. */
		rows *d = malloc(sizeof *d);
		*d = r;
		d->x[1] = d->x[0];
		d->id[1] = d->id[0];
		d->w[1] = d->w[0];
		d->y[1] = d->y[0];
		d->s0[1] = d->s0[0];
		d->s1[1] = d->s1[0];
		d->act[1] = d->act[0];
		sign(s, d, order, none, 0, &other);
		d->x[2] = d->x[0];
		d->id[2] = d->id[0];
		d->w[2] = d->w[0];
		d->y[2] = d->y[0];
		d->s0[2] = d->s0[0];
		d->s1[2] = d->s1[0];
		d->act[2] = d->act[0];
		{
			pt_sig third;
			sign(s, d, order, none, 0, &third);
			ok(diff(&other, &third) & (1u << PT_SIG_ROWS),
			    "a duplicated row counts: two copies differ from three");
		}
		free(d);
	}
	{
		char *text;
		size_t len;
		pt_sig back;
		pt_err e;
		ok(pt_sig_write(&base, &text, &len, &e) == 0 &&
		    pt_sig_parse(&back, text, len, "x.sig", &e) == 0 &&
		    diff(&base, &back) == 0 && back.rows == base.rows,
		    "the signature file round trips");
		text[len - 5] ^= 1;
		ok(pt_sig_parse(&back, text, len, "x.sig", &e) != 0,
		    "a damaged digest line is refused: %s", e.msg);
		free(text);
	}
	pt_schema_free(s);
	against_reference();
	return done_testing();
}

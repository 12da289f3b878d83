/*
 * t-frame.c: the frame codec through its public API: bit-exact round trips,
 * per-column compression, concatenated streams, every truncation and every
 * single-byte flip of a small stream, crafted headers, EPIPE, buffer reuse
 * and decode speed; the same round trips, cuts and damage again through a
 * reader that reads ahead, and closing one that waits on a quiet pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xxhash.h>

#include "frame.h"
#include "../tap.h"

#define MD "0123456789abcdef0123456789abcdef"

static int sanitize;
static int ahead; /* readers read ahead (pt_reader_readahead) */

/* ---- little helpers ---- */

typedef struct mem {
	unsigned char *p;
	size_t n;
} mem;

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
putle64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static double
bits2d(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof d);
	return d;
}

static int
tmpfile_fd(void)
{
	char path[] = "/tmp/t-frame.XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path); /* gone when closed, whatever happens */
	return fd;
}

/* A readable fd holding the bytes: a pipe when they fit, else a file. */
static int
fd_from_mem(const unsigned char *p, size_t n)
{
	int fds[2], fd;
	size_t off = 0;
	ssize_t k;

	if (n < 60000) {
		if (pipe(fds) < 0)
			return -1;
		while (off < n && (k = write(fds[1], p + off, n - off)) > 0)
			off += (size_t)k;
		close(fds[1]);
		return fds[0];
	}
	if ((fd = tmpfile_fd()) < 0)
		return -1;
	while (off < n && (k = write(fd, p + off, n - off)) > 0)
		off += (size_t)k;
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static mem
fd_to_mem(int fd)
{
	mem m = { NULL, 0 };
	off_t end = lseek(fd, 0, SEEK_END);
	ssize_t k;

	m.p = malloc(end > 0 ? (size_t)end : 1);
	lseek(fd, 0, SEEK_SET);
	while (m.n < (size_t)end &&
	    (k = read(fd, m.p + m.n, (size_t)end - m.n)) > 0)
		m.n += (size_t)k;
	return m;
}

static mem
cat2(mem a, mem b)
{
	mem m;

	m.n = a.n + b.n;
	m.p = malloc(m.n);
	memcpy(m.p, a.p, a.n);
	memcpy(m.p + a.n, b.p, b.n);
	return m;
}

/* ---- test schemas and data ---- */

static char *treat_levels[] = { "control", "email", "call" };

static pt_schema *
schema_mixed(const char *md)
{
	pt_schema *s = pt_schema_new(md);

	pt_schema_add(s, "row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	pt_schema_add(s, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	pt_schema_add(s, "treatment", PT_I32, PT_ROLE_TREATMENT, 3,
	    treat_levels, NULL);
	pt_schema_add(s, "code", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
	pt_schema_add(s, "noise", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	return s;
}

static const uint64_t f64_specials[] = {
	0x7ff8000000000000u, 0x7ff8000000000001u, 0xfff0000000000123u,
	0x7ff0000000000001u, 0x8000000000000000u, 0x0000000000000001u,
	0x000fffffffffffffu, 0x800fffffffffffffu, 0x7fefffffffffffffu,
	0xfff0000000000000u, 0x7ff0000000000000u, 0x0010000000000000u,
};
static const uint64_t u64_specials[] = {
	0, 1, UINT64_MAX, UINT64_MAX - 1, 1ull << 63, (1ull << 63) - 1,
};

/* Fills rows [0, n) of b; row i of the stream is row (base + i). */
static void
fill_mixed(pt_batch *b, size_t base, size_t n)
{
	size_t i, r;
	uint64_t u;
	double d;

	for (i = 0; i < n; i++) {
		r = base + i;
		u = r % 7 == 0 ? u64_specials[r / 7 % 6] : rnd();
		PT_COL_U64(b, 0)[i] = u;
		u = r % 3 == 0 ? f64_specials[r / 3 % 12] :
		    (uint64_t)0x3ff0000000000000u | (rnd() >> 12);
		memcpy(&d, &u, sizeof d);
		PT_COL_F64(b, 1)[i] = d;
		PT_COL_I32(b, 2)[i] = (int32_t)(rnd() % 4) - 1;
		PT_COL_I32(b, 3)[i] = r % 11 == 0 ? INT32_MIN :
		    r % 13 == 0 ? INT32_MAX : (int32_t)(rnd() % 5);
		u = rnd();
		memcpy(&d, &u, sizeof d);
		PT_COL_F64(b, 4)[i] = d; /* any bits, NaNs included */
	}
	b->nrows = n;
}

/* Everything read back from a stream, column by column, as raw bytes. */
typedef struct got {
	pt_schema *schema;
	size_t nrows, cap;
	unsigned char **col;
	int nframes;
	pt_err err;
	int rc; /* 0 ok, -1 failed at open, -2 failed later */
} got;

static void
got_free(got *g)
{
	int j;

	if (g->schema != NULL) {
		for (j = 0; j < g->schema->ncols; j++)
			free(g->col[j]);
		pt_schema_free(g->schema);
	}
	free(g->col);
	memset(g, 0, sizeof *g);
}

static size_t
width(pt_type t)
{
	return t == PT_I32 ? 4 : 8;
}

static void
read_fd(int fd, got *g)
{
	pt_reader *r;
	const pt_batch *b;
	const pt_schema *s;
	int j, rc;

	memset(g, 0, sizeof *g);
	pt_err_clear(&g->err);
	if ((r = pt_reader_open(fd, "in.pf", &g->err)) == NULL) {
		g->rc = -1;
		return;
	}
	if (ahead)
		pt_reader_readahead(r);
	s = pt_reader_schema(r);
	g->schema = pt_schema_clone(s);
	g->col = calloc((size_t)s->ncols + 1, sizeof *g->col);
	while ((rc = pt_reader_next(r, &b, &g->err)) == 1) {
		if (g->nrows + b->nrows > g->cap) {
			g->cap = (g->nrows + b->nrows) * 2;
			for (j = 0; j < s->ncols; j++)
				g->col[j] = realloc(g->col[j],
				    g->cap * width(s->cols[j].type));
		}
		for (j = 0; j < s->ncols; j++) {
			size_t w = width(s->cols[j].type);

			memcpy(g->col[j] + g->nrows * w, b->col[j],
			    b->nrows * w);
		}
		g->nrows += b->nrows;
		g->nframes++;
	}
	g->rc = rc < 0 ? -2 : 0;
	if (rc == 0 && pt_reader_rows(r) != g->nrows)
		g->rc = -3;
	pt_reader_close(r);
}

static void
read_mem(mem m, got *g)
{
	int fd = fd_from_mem(m.p, m.n);

	read_fd(fd, g);
	close(fd);
}

/* Writes the mixed schema in frames of the given sizes; rows are numbered
 * from base.  Returns the stream and the expected columns in *want. */
static mem
write_mixed(const pt_schema *s, const size_t *sizes, int nsizes, int level,
    size_t base, got *want, int *okp)
{
	pt_writer *w;
	pt_batch *b;
	pt_err e;
	size_t cap = 1, total = 0;
	uint64_t before;
	int i, j, fd = tmpfile_fd();
	mem m;

	for (i = 0; i < nsizes; i++) {
		cap = sizes[i] > cap ? sizes[i] : cap;
		total += sizes[i];
	}
	memset(want, 0, sizeof *want);
	want->schema = pt_schema_clone(s);
	want->col = calloc((size_t)s->ncols, sizeof *want->col);
	for (j = 0; j < s->ncols; j++)
		want->col[j] = malloc(total * width(s->cols[j].type) + 1);
	b = pt_batch_new(s, cap);
	w = pt_writer_open(fd, "out.pf", s, level, &e);
	*okp = w != NULL && b != NULL;
	for (i = 0; i < nsizes && *okp; i++) {
		fill_mixed(b, base + want->nrows, sizes[i]);
		for (j = 0; j < s->ncols; j++) {
			size_t wd = width(s->cols[j].type);

			memcpy(want->col[j] + want->nrows * wd, b->col[j],
			    sizes[i] * wd);
		}
		want->nrows += sizes[i];
		want->nframes += sizes[i] > 0;
		before = pt_writer_bytes(w);
		if (pt_writer_write(w, b, &e) < 0)
			*okp = 0;
		if (sizes[i] == 0 && pt_writer_bytes(w) != before)
			*okp = 0; /* an empty batch must write nothing */
	}
	before = w != NULL ? pt_writer_bytes(w) : 0;
	if (w != NULL && pt_writer_close(w, &e) < 0)
		*okp = 0;
	pt_batch_free(b);
	m = fd_to_mem(fd);
	close(fd);
	/* The end frame (56 bytes) is all close adds. */
	if (m.n != before + 56)
		*okp = 0;
	return m;
}

static int
same_rows(const got *a, const got *b)
{
	int j;

	if (a->nrows != b->nrows || !pt_schema_equal(a->schema, b->schema))
		return 0;
	for (j = 0; j < a->schema->ncols; j++)
		if (a->nrows > 0 && memcmp(a->col[j], b->col[j],
		    a->nrows * width(a->schema->cols[j].type)) != 0)
			return 0;
	return 1;
}

/* Rows got holds are a prefix of want's: nothing wrong was returned. */
static int
prefix_rows(const got *g, const got *want)
{
	int j;

	if (g->schema == NULL)
		return 1;
	if (g->nrows > want->nrows)
		return 0;
	for (j = 0; j < want->schema->ncols; j++)
		if (g->nrows > 0 && memcmp(g->col[j], want->col[j],
		    g->nrows * width(want->schema->cols[j].type)) != 0)
			return 0;
	return 1;
}

/* ---- a parser for the documented layout, independent of frame.c ---- */

/* Codec of column j in the first data frame, or -1. */
static int
first_codec(mem m, int j)
{
	size_t off = 0, pos;
	uint64_t plen;
	int k;

	while (off + 56 <= m.n) {
		plen = le64(m.p + off + 24);
		if (m.p[off + 6] == 2) {
			pos = off + 48;
			for (k = 0; k < j; k++)
				pos += 24 + ((le64(m.p + pos + 8) + 7) & ~7u);
			return (int)m.p[pos];
		}
		off += 56 + plen;
	}
	return -1;
}

static int
count_frames(mem m)
{
	size_t off = 0;
	int n = 0;

	while (off + 56 <= m.n) {
		off += 56 + le64(m.p + off + 24);
		n++;
	}
	return off == m.n ? n : -1;
}

/* ---- the tests ---- */

static void
test_schema(void)
{
	pt_schema *s = schema_mixed(MD), *c, *d;
	char *lv2[] = { "control", "email", "sms" };
	char *bad = "x";
	pt_err e;

	ok(s->ncols == 5 && strcmp(s->manifest, MD) == 0,
	    "schema: 5 columns and the digest");
	ok(pt_schema_find(s, "treatment") == 2 && pt_schema_find(s, "y") == -1,
	    "schema: find by name");
	ok(pt_schema_find_role(s, PT_ROLE_FEATURE, 0) == 1 &&
	    pt_schema_find_role(s, PT_ROLE_FEATURE, 1) == -1 &&
	    pt_schema_count_role(s, PT_ROLE_OUTCOME) == 1 &&
	    pt_schema_count_role(s, PT_ROLE_SCORE) == 0,
	    "schema: find and count by role");
	c = pt_schema_clone(s);
	ok(c != NULL && pt_schema_equal(s, c) && c->cols[2].levels !=
	    s->cols[2].levels && strcmp(c->cols[2].levels[2], "call") == 0,
	    "schema: a clone is equal and owns its strings");
	pt_schema_free(c);

	d = pt_schema_new(MD);
	pt_schema_add(d, "row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	pt_schema_add(d, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	pt_schema_add(d, "treatment", PT_I32, PT_ROLE_TREATMENT, 3, lv2, NULL);
	pt_schema_add(d, "code", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
	pt_schema_add(d, "noise", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	ok(!pt_schema_equal(s, d), "schema: a different level label differs");
	free(d->cols[2].levels[2]);
	d->cols[2].levels[2] = pt_strdup("call");
	ok(pt_schema_equal(s, d), "schema: ... and fixed, it is equal");
	d->cols[4].role = PT_ROLE_SCORE;
	ok(!pt_schema_equal(s, d), "schema: a different role differs");
	d->cols[4].role = PT_ROLE_OUTCOME;
	d->cols[3].type = PT_U64;
	ok(!pt_schema_equal(s, d), "schema: a different type differs");
	d->cols[3].type = PT_I32;
	d->manifest[0] = 'f';
	ok(!pt_schema_equal(s, d), "schema: a different manifest differs");
	pt_schema_free(d);

	ok(pt_schema_add(s, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, &e) < 0 &&
	    s->ncols == 5, "schema: a duplicate column name is refused");
	ok(pt_schema_add(s, "y", PT_F64, PT_ROLE_FEATURE, 1, &bad, &e) < 0,
	    "schema: levels on an f64 column are refused");
	ok(pt_schema_add(s, "", PT_F64, PT_ROLE_FEATURE, 0, NULL, &e) < 0,
	    "schema: an empty name is refused");
	ok(strcmp(pt_type_name(PT_I32), "i32") == 0 &&
	    strcmp(pt_role_name(PT_ROLE_TREATMENT), "treatment") == 0 &&
	    strcmp(pt_role_name(PT_ROLE_PROPENSITY), "propensity") == 0,
	    "schema: type and role names");
	pt_schema_free(s);
}

static void
test_roundtrip(void)
{
	static const size_t none[] = { 0 }, one[] = { 1 },
	    full[] = { PT_FRAME_ROWS }, several[] = { 1000, 0, 1, 70001, 5 };
	static const struct {
		const size_t *sizes;
		int n;
		const char *what;
	} cases[] = {
		{ none, 1, "0 rows" }, { one, 1, "1 row" },
		{ full, 1, "65536 rows" }, { several, 5, "several frames" },
	};
	static const int levels[] = { 0, 1, 3 };
	pt_schema *s = schema_mixed(MD);
	got want, g;
	mem m;
	size_t c;
	int l, okw;

	for (c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (l = 0; l < 3; l++) {
			m = write_mixed(s, cases[c].sizes, cases[c].n,
			    levels[l], 0, &want, &okw);
			ok(okw, "write %s at level %d", cases[c].what,
			    levels[l]);
			read_mem(m, &g);
			ok(g.rc == 0 && same_rows(&g, &want) &&
			    g.nframes == want.nframes &&
			    count_frames(m) == want.nframes + 2,
			    "round trip %s at level %d: %zu rows in %d "
			    "frames, bit-identical", cases[c].what,
			    levels[l], g.nrows, g.nframes);
			if (g.rc != 0)
				diag("%s: %s", g.err.where, g.err.msg);
			got_free(&g);
			got_free(&want);
			free(m.p);
		}
	pt_schema_free(s);
}

static void
test_codecs(void)
{
	pt_schema *s = schema_mixed(MD);
	static const size_t sz[] = { 20000 };
	got want;
	mem m0, m1;
	int okw;

	m0 = write_mixed(s, sz, 1, 0, 0, &want, &okw);
	got_free(&want);
	m1 = write_mixed(s, sz, 1, 1, 0, &want, &okw);
	got_free(&want);
	ok(first_codec(m0, 2) == 0 && first_codec(m0, 4) == 0,
	    "level 0: columns stored raw");
	ok(first_codec(m1, 2) == 1 && first_codec(m1, 3) == 1,
	    "level 1: small-integer columns stored zstd");
	ok(first_codec(m1, 4) == 0,
	    "level 1: a column of random bits is stored raw");
	ok(m1.n < m0.n - 20000 * 4,
	    "level 1 stream is smaller (%zu vs %zu bytes)", m1.n, m0.n);
	free(m0.p);
	free(m1.p);
	pt_schema_free(s);
}

static void
test_concat(void)
{
	static const size_t sa[] = { 100, 37 }, sb[] = { 5 }, s0[] = { 0 };
	pt_schema *s = schema_mixed(MD), *t;
	got wa, wb, w0, g, want;
	mem a, b, z, ab, abz, az, azb;
	char *lv2[] = { "control", "email", "sms" };
	char where[256];
	int okw, j;

	a = write_mixed(s, sa, 2, 1, 0, &wa, &okw);
	b = write_mixed(s, sb, 1, 0, 137, &wb, &okw);
	z = write_mixed(s, s0, 1, 3, 0, &w0, &okw);
	ab = cat2(a, b);
	abz = cat2(ab, z);
	az = cat2(a, z);
	azb = cat2(az, b);
	/* want: rows of a then rows of b, built by hand. */
	memset(&want, 0, sizeof want);
	want.schema = pt_schema_clone(s);
	want.nrows = wa.nrows + wb.nrows;
	want.col = calloc(5, sizeof *want.col);
	for (j = 0; j < 5; j++) {
		size_t w = width(s->cols[j].type);

		want.col[j] = malloc(want.nrows * w);
		memcpy(want.col[j], wa.col[j], wa.nrows * w);
		memcpy(want.col[j] + wa.nrows * w, wb.col[j], wb.nrows * w);
	}
	read_mem(ab, &g);
	ok(g.rc == 0 && same_rows(&g, &want) && g.nframes == 3,
	    "cat a b: one stream of %zu rows", g.nrows);
	got_free(&g);
	read_mem(abz, &g);
	ok(g.rc == 0 && same_rows(&g, &want),
	    "cat a b empty: still all rows");
	got_free(&g);
	read_mem(azb, &g);
	ok(g.rc == 0 && same_rows(&g, &want),
	    "cat a empty b: still all rows");
	got_free(&g);

	/* Another schema after the end frame. */
	t = pt_schema_new(MD);
	pt_schema_add(t, "row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	pt_schema_add(t, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	pt_schema_add(t, "treatment", PT_I32, PT_ROLE_TREATMENT, 3, lv2, NULL);
	pt_schema_add(t, "code", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
	pt_schema_add(t, "noise", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	free(b.p);
	got_free(&wb);
	b = write_mixed(t, sb, 1, 0, 0, &wb, &okw);
	free(ab.p);
	ab = cat2(a, b);
	read_mem(ab, &g);
	snprintf(where, sizeof where, "in.pf: frame %d at byte %zu",
	    count_frames(a) + 1, a.n);
	ok(g.rc == -2 && g.err.code == PT_EMISMATCH &&
	    strcmp(g.err.where, where) == 0 &&
	    strstr(g.err.msg, "treatment") != NULL &&
	    strstr(g.err.msg, "sms") != NULL && prefix_rows(&g, &wa),
	    "cat a b' (another level label): PT_EMISMATCH naming the column: "
	    "%s: %s", g.err.where, g.err.msg);
	got_free(&g);
	pt_schema_free(t);

	t = schema_mixed("ffffffffffffffffffffffffffffffff");
	free(b.p);
	got_free(&wb);
	b = write_mixed(t, sb, 1, 0, 0, &wb, &okw);
	free(ab.p);
	ab = cat2(a, b);
	read_mem(ab, &g);
	ok(g.rc == -2 && g.err.code == PT_EMISMATCH &&
	    strstr(g.err.msg, "manifest") != NULL,
	    "cat a b' (another manifest): PT_EMISMATCH: %s", g.err.msg);
	got_free(&g);
	pt_schema_free(t);

	free(a.p), free(b.p), free(z.p), free(ab.p), free(abz.p);
	free(az.p), free(azb.p);
	got_free(&wa), got_free(&wb), got_free(&w0), got_free(&want);
	pt_schema_free(s);
}

/* A small multi-frame stream with a compressed and raw columns. */
static mem
small_stream(got *want)
{
	static const size_t sz[] = { 40, 1, 24 };
	pt_schema *s = schema_mixed(MD);
	int okw;
	mem m = write_mixed(s, sz, 3, 1, 0, want, &okw);

	pt_schema_free(s);
	return m;
}

static void
test_truncation(void)
{
	got want, g;
	mem m = small_stream(&want);
	size_t cut, bad = 0, wrong = 0, bounds = 0, boundary_msgs = 0;
	size_t off;

	ok(first_codec(m, 3) == 1 && first_codec(m, 4) == 0,
	    "small stream has a zstd and a raw column (%zu bytes)", m.n);
	for (cut = 0; cut < m.n; cut++) {
		mem c = { m.p, cut };

		read_mem(c, &g);
		if (cut == 0) {
			ok(g.rc == -1 && g.err.code == PT_EFORMAT &&
			    strstr(g.err.msg, "empty input") != NULL,
			    "empty input: %s", g.err.msg);
		} else if (g.rc == 0 || g.err.code != PT_ECORRUPT ||
		    strstr(g.err.msg, "truncated") == NULL ||
		    strstr(g.err.where, "frame ") == NULL) {
			if (bad++ < 3)
				diag("cut at %zu: rc %d: %s: %s", cut, g.rc,
				    g.err.where, g.err.msg);
		}
		if (!prefix_rows(&g, &want))
			wrong++;
		got_free(&g);
	}
	ok(bad == 0, "every cut short of %zu bytes fails as truncated", m.n);
	ok(wrong == 0, "no cut returns a wrong row");

	/* Cuts at frame boundaries say which frame is missing, and where. */
	for (off = 0; off + 56 <= m.n; off += 56 + le64(m.p + off + 24)) {
		mem c = { m.p, off };
		char where[64];

		if (off == 0)
			continue;
		bounds++;
		read_mem(c, &g);
		snprintf(where, sizeof where, "frame %zu at byte %zu",
		    bounds + 1, off);
		if (g.rc != 0 && strstr(g.err.where, where) != NULL &&
		    strstr(g.err.msg, "without an end frame") != NULL)
			boundary_msgs++;
		else
			diag("boundary %zu: %s: %s", off, g.err.where,
			    g.err.msg);
		got_free(&g);
	}
	ok(bounds == 4 && boundary_msgs == bounds,
	    "cuts at the %zu frame boundaries name the next frame and byte",
	    bounds);
	got_free(&want);
	free(m.p);
}

static void
test_flips(void)
{
	got want, g;
	mem m = small_stream(&want);
	size_t off, silent = 0, wrong = 0, tries = 0;
	int x, mism = 0;
	static const unsigned char xors[] = { 0x01, 0xff };

	for (off = 0; off < m.n; off++)
		for (x = 0; x < 2; x++) {
			m.p[off] ^= xors[x];
			read_mem(m, &g);
			m.p[off] ^= xors[x];
			tries++;
			if (g.rc == 0 && silent++ < 3)
				diag("flip %02x at %zu read fine", xors[x], off);
			if (!prefix_rows(&g, &want))
				wrong++;
			if (strstr(g.err.msg, "checksum mismatch (corrupt)"))
				mism++;
			got_free(&g);
		}
	ok(silent == 0, "all %zu single-byte flips are detected", tries);
	ok(wrong == 0, "no flip returns a wrong row");
	ok(mism > 0, "payload flips report a checksum mismatch");

	/* The exact wording for a flipped payload byte of frame 2. */
	off = 56 + le64(m.p + 24);
	m.p[off + 100] ^= 0x10;
	read_mem(m, &g);
	m.p[off + 100] ^= 0x10;
	{
		char where[64];

		snprintf(where, sizeof where, "in.pf: frame 2 at byte %zu", off);
		ok(g.rc == -2 && g.err.code == PT_ECORRUPT &&
		    strcmp(g.err.where, where) == 0 &&
		    strcmp(g.err.msg, "checksum mismatch (corrupt)") == 0,
		    "flip in frame 2: \"%s: %s\"", g.err.where, g.err.msg);
	}
	got_free(&g);
	got_free(&want);
	free(m.p);
}

/* Headers that pass their own checksum but claim absurd sizes. */
static void
test_crafted(void)
{
	got want, g;
	mem m = small_stream(&want);
	size_t d = 56 + le64(m.p + 24); /* first data frame */
	static const struct {
		size_t field;
		uint64_t v;
		const char *what;
	} cases[] = {
		{ 24, 1ull << 60, "payload length 2^60" },
		{ 24, UINT64_MAX, "payload length 2^64-1" },
		{ 16, 1ull << 62, "row count 2^62" },
		{ 16, 0, "row count 0" },
		{ 8, 0xffffffffu, "column count 2^32-1" },
	};
	size_t i;
	unsigned char save[48];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memcpy(save, m.p + d, 48);
		putle64(m.p + d + cases[i].field, cases[i].field == 8 ?
		    (le64(m.p + d + 8) & ~0xffffffffull) | cases[i].v :
		    cases[i].v);
		putle64(m.p + d + 40, XXH3_64bits(m.p + d, 40));
		read_mem(m, &g);
		ok(g.rc == -2 && g.err.code == PT_ECORRUPT,
		    "crafted data header, %s: %s", cases[i].what, g.err.msg);
		got_free(&g);
		memcpy(m.p + d, save, 48);
	}
	memcpy(save, m.p, 48);
	putle64(m.p + 24, 1ull << 40);
	putle64(m.p + 40, XXH3_64bits(m.p, 40));
	read_mem(m, &g);
	ok(g.rc == -1 && g.err.code == PT_ECORRUPT,
	    "crafted schema header, payload 2^40: %s", g.err.msg);
	got_free(&g);
	memcpy(m.p, save, 48);

	{
		static const char csv[] = "row,x,treatment\n1,2.5,email\n";
		mem c = { (unsigned char *)csv, sizeof csv - 1 };

		read_mem(c, &g);
		ok(g.rc == -1 && g.err.code == PT_EFORMAT &&
		    strcmp(g.err.msg, "not a policy frame stream (bad magic)")
		    == 0, "CSV text: %s", g.err.msg);
		got_free(&g);
	}
	{
		/* Text after the end frame is not a new stream. */
		mem c = cat2(m, (mem){ (unsigned char *)"trailing\n", 9 });

		read_mem(c, &g);
		ok(g.rc == -2 && g.err.code == PT_ECORRUPT &&
		    g.nrows == want.nrows,
		    "garbage after the end frame: %s", g.err.msg);
		got_free(&g);
		free(c.p);
	}
	got_free(&want);
	free(m.p);
}

static void
test_epipe(void)
{
	pt_schema *s = schema_mixed(MD);
	pt_batch *b = pt_batch_new(s, 1000);
	pt_writer *w;
	pt_err e;
	int fds[2], rc, saved;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(fds) < 0) {
		ok(0, "pipe");
		return;
	}
	close(fds[0]);
	fill_mixed(b, 0, 1000);
	pt_err_clear(&e);
	errno = 0;
	w = pt_writer_open(fds[1], "<stdout>", s, 0, &e);
	rc = w == NULL ? -1 : pt_writer_write(w, b, &e);
	if (rc == 0)
		rc = pt_writer_close(w, &e);
	else if (w != NULL)
		pt_writer_abort(w);
	saved = errno;
	ok(rc < 0 && e.code == PT_EIO && saved == EPIPE &&
	    strcmp(e.where, "<stdout>") == 0,
	    "closed pipe: PT_EIO with errno EPIPE (%s: %s)", e.where, e.msg);
	close(fds[1]);
	pt_batch_free(b);
	pt_schema_free(s);
}

/*
 * Buffer reuse: the reader keeps one frame buffer and one batch, grown to
 * the largest frame and reused.  We see the batch (its arrays stay put
 * over 200 frames) and that frames smaller than the largest never move it.
 */
static void
test_reuse(void)
{
	pt_schema *s = schema_mixed(MD);
	pt_batch *b = pt_batch_new(s, 300);
	pt_writer *w;
	pt_reader *r;
	const pt_batch *rb;
	void *first[5] = { 0 };
	const pt_batch *firstb = NULL;
	int fd = tmpfile_fd(), i, j, moved = 0, aligned = 1, n = 0;
	uint64_t rows = 0;
	pt_err e;

	w = pt_writer_open(fd, "reuse.pf", s, 1, &e);
	for (i = 0; i < 200; i++) {
		fill_mixed(b, 0, i == 0 ? 300 : 1 + (size_t)i % 290);
		rows += b->nrows;
		pt_writer_write(w, b, &e);
	}
	pt_writer_close(w, &e);
	lseek(fd, 0, SEEK_SET);
	r = pt_reader_open(fd, "reuse.pf", &e);
	while (r != NULL && pt_reader_next(r, &rb, &e) == 1) {
		if (n++ == 0) {
			firstb = rb;
			for (j = 0; j < 5; j++)
				first[j] = rb->col[j];
		}
		if (rb != firstb)
			moved++;
		for (j = 0; j < 5; j++) {
			moved += rb->col[j] != first[j];
			aligned &= ((uintptr_t)rb->col[j] & 63) == 0;
		}
	}
	ok(n == 200 && moved == 0,
	    "200 frames read into one batch, never reallocated");
	ok(aligned, "batch arrays are 64-byte aligned");
	ok(r != NULL && pt_reader_rows(r) == rows &&
	    pt_reader_bytes(r) == (uint64_t)lseek(fd, 0, SEEK_CUR),
	    "reader counts %llu rows and every byte read",
	    (unsigned long long)rows);
	pt_reader_close(r);
	close(fd);
	pt_batch_free(b);
	pt_schema_free(s);
}

/* Feeds m through a pipe from a child writing odd-sized pieces, so that
 * the reader meets short reads everywhere, in headers and payloads. */
static void
read_trickled(mem m, got *g)
{
	int fds[2], status;
	pid_t pid;
	size_t off = 0, k, i = 0;
	ssize_t n;
	static const size_t piece[] = { 1, 7, 3, 4097, 13, 48, 5, 65536 };

	if (pipe(fds) < 0 || (pid = fork()) < 0) {
		memset(g, 0, sizeof *g);
		g->rc = -9;
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		while (off < m.n) {
			k = piece[i++ % 8];
			k = k > m.n - off ? m.n - off : k;
			if ((n = write(fds[1], m.p + off, k)) <= 0)
				_exit(1);
			off += (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	read_fd(fds[0], g);
	close(fds[0]);
	waitpid(pid, &status, 0);
}

static void
test_short_reads(void)
{
	static const size_t sz[] = { 3, 70000, 1, 20 };
	pt_schema *s = schema_mixed(MD);
	got want, g;
	mem m;
	int okw;

	m = write_mixed(s, sz, 4, 1, 0, &want, &okw);
	read_trickled(m, &g);
	ok(okw && g.rc == 0 && same_rows(&g, &want),
	    "a stream trickled through a pipe in odd pieces reads back whole");
	got_free(&g);
	got_free(&want);
	free(m.p);
	pt_schema_free(s);
}

/* Every frame's trailer is the XXH3-64 of its header and payload, also for
 * frames sent by writev in pieces.  Returns the number of frames, or -1. */
static int
check_trailers(mem m)
{
	size_t off = 0, len;
	int n = 0;

	while (off + 56 <= m.n) {
		len = 48 + (size_t)le64(m.p + off + 24);
		if (off + len + 8 > m.n ||
		    le64(m.p + off + len) != XXH3_64bits(m.p + off, len))
			return -1;
		off += len + 8;
		n++;
	}
	return off == m.n ? n : -1;
}

/* Reads m through a pipe fed by a child, checking each batch as it comes:
 * its rows are the next of want, its arrays aligned. */
static int
read_checked(mem m, const got *want)
{
	int fds[2], status, j, good = 1, rc;
	pid_t pid;
	pt_reader *r;
	const pt_batch *b;
	pt_err e;
	size_t at = 0, wd;

	if (pipe(fds) < 0 || (pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		size_t off = 0;
		ssize_t k;

		close(fds[0]);
		while (off < m.n && (k = write(fds[1], m.p + off,
		    m.n - off)) > 0)
			off += (size_t)k;
		_exit(off == m.n ? 0 : 1);
	}
	close(fds[1]);
	r = pt_reader_open(fds[0], "pipe.pf", &e);
	while (r != NULL && (rc = pt_reader_next(r, &b, &e)) == 1) {
		good &= b->cap >= b->nrows && at + b->nrows <= want->nrows;
		for (j = 0; good && j < want->schema->ncols; j++) {
			wd = width(want->schema->cols[j].type);
			good &= ((uintptr_t)b->col[j] & 63) == 0 &&
			    memcmp(b->col[j], want->col[j] + at * wd,
			    b->nrows * wd) == 0;
		}
		at += b->nrows;
	}
	good &= r != NULL && rc == 0 && at == want->nrows;
	pt_reader_close(r);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return good;
}

/*
 * Frames of 256 KiB and more take the direct paths: written by writev from
 * the batch's arrays, read by readv straight into the reader's batch.
 * Mixed raw and zstd columns, odd row counts (padded i32 columns), small
 * frames between large ones, through files and pipes.
 */
static void
test_big(void)
{
	static const size_t sz[] = { 9000, 70001, 3, 65536, 1 };
	pt_schema *s = schema_mixed(MD);
	got want, g;
	mem m;
	int okw, level;

	for (level = 0; level <= 1; level++) {
		m = write_mixed(s, sz, 5, level, 0, &want, &okw);
		ok(okw && check_trailers(m) == 7,
		    "level %d: large frames written in pieces carry the right "
		    "checks (%zu bytes)", level, m.n);
		if (level == 1)
			ok(first_codec(m, 4) == 0 && first_codec(m, 2) == 1,
			    "large frame mixes raw and zstd columns");
		read_mem(m, &g);
		ok(g.rc == 0 && same_rows(&g, &want) && g.nframes == 5,
		    "level %d: large frames read back bit for bit from a file",
		    level);
		got_free(&g);
		read_trickled(m, &g);
		ok(g.rc == 0 && same_rows(&g, &want),
		    "level %d: and trickled through a pipe", level);
		got_free(&g);
		ok(read_checked(m, &want), "level %d: each batch handed out "
		    "holds its rows, 64-byte aligned", level);
		got_free(&want);
		free(m.p);
	}
	pt_schema_free(s);
}

/*
 * Damage to a large frame (read column by column, checked as a whole) is
 * found like damage to a small one: every byte of its headers, padding and
 * trailer and a sample of its column bytes, flipped; cuts at those bytes.
 */
static void
test_big_damage(void)
{
	static const size_t sz[] = { 13001, 2 };
	pt_schema *s = schema_mixed(MD);
	got want, g;
	mem m;
	size_t off, *at, nat = 0, i, f0, f1, p, len, stored;
	int okw, j, caught = 0, wrong = 0, sum = 1, trunc = 1, n = 0;

	m = write_mixed(s, sz, 2, 1, 0, &want, &okw);
	/* The second frame is the large one. */
	f0 = 56 + (size_t)le64(m.p + 24);
	f1 = f0 + 56 + (size_t)le64(m.p + f0 + 24);
	at = malloc((f1 - f0) * sizeof *at);
	for (off = f0; off < f0 + 48; off++)
		at[nat++] = off;
	for (p = f0 + 48, j = 0; j < 5; j++) {
		for (off = p; off < p + 24; off++)
			at[nat++] = off;
		stored = (size_t)le64(m.p + p + 8);
		len = (stored + 7) & ~(size_t)7;
		for (i = 0; i < (sanitize ? 8u : 40u); i++)
			at[nat++] = p + 24 + (size_t)(rnd() % stored);
		for (off = p + 24 + stored; off < p + 24 + len; off++)
			at[nat++] = off;
		p += 24 + len;
	}
	for (off = p; off < p + 8; off++)
		at[nat++] = off;
	ok(okw && p + 8 == f1 && first_codec(m, 2) == 1,
	    "damage stream: a %zu-byte frame, mixed codecs", f1 - f0);
	for (i = 0; i < nat; i++) {
		m.p[at[i]] ^= 0x10;
		read_mem(m, &g);
		m.p[at[i]] ^= 0x10;
		n++;
		caught += g.rc != 0 && (g.err.code == PT_ECORRUPT ||
		    g.err.code == PT_EFORMAT || g.err.code == PT_EMISMATCH);
		wrong += g.rc == 0 || !prefix_rows(&g, &want);
		if (at[i] >= f0 + 48 && at[i] < p)
			sum &= strstr(g.err.msg, "checksum mismatch") != NULL;
		got_free(&g);
	}
	ok(caught == n && wrong == 0, "%d flips in a large frame: all "
	    "caught, no wrong row", n);
	ok(sum, "payload flips, column headers included, report a checksum "
	    "mismatch");
	for (i = 0; i < nat; i++) {
		mem c = { m.p, at[i] };

		read_mem(c, &g);
		trunc &= g.rc != 0 && g.err.code == PT_ECORRUPT &&
		    strstr(g.err.msg, "truncated") != NULL &&
		    prefix_rows(&g, &want);
		got_free(&g);
	}
	ok(trunc, "%zu cuts in a large frame: all truncated", nat);
	free(at);
	got_free(&want);
	free(m.p);
	pt_schema_free(s);
}

/*
 * The annotated dump in EXAMPLES of man/policy-frames.5 must be exactly
 * what the writer makes: the page cannot drift from the code.
 */
static void
test_manpage(void)
{
	const char *top = getenv("PT_TOP");
	char path[4096], line[512], *p, *q;
	char *lv[] = { "control", "email" };
	unsigned char doc[1024];
	size_t ndoc = 0;
	unsigned long v;
	pt_schema *s = pt_schema_new("5d41402abc4b2a76b9719d911017c592");
	pt_batch *b;
	pt_writer *w;
	pt_err e;
	FILE *f;
	mem m;
	int fd = tmpfile_fd();

	pt_schema_add(s, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	pt_schema_add(s, "t", PT_I32, PT_ROLE_TREATMENT, 2, lv, NULL);
	b = pt_batch_new(s, 2);
	PT_COL_F64(b, 0)[0] = 1.5;
	PT_COL_F64(b, 0)[1] = NAN;
	PT_COL_I32(b, 1)[0] = 1;
	PT_COL_I32(b, 1)[1] = -1;
	b->nrows = 2;
	w = pt_writer_open(fd, "ex.pf", s, 0, &e);
	pt_writer_write(w, b, &e);
	pt_writer_close(w, &e);
	m = fd_to_mem(fd);
	close(fd);

	snprintf(path, sizeof path, "%s/man/policy-frames.5",
	    top != NULL ? top : ".");
	if ((f = fopen(path, "r")) == NULL) {
		ok(0, "man page example: cannot open %s (set PT_TOP)", path);
		goto out;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		if (strspn(line, "0123456789abcdef") != 8 || line[8] != ':')
			continue;
		for (p = line + 9; ndoc < sizeof doc; p = q) {
			v = strtoul(p, &q, 16);
			if (q == p || v > 255)
				break;
			doc[ndoc++] = (unsigned char)v;
		}
	}
	fclose(f);
	ok(ndoc == m.n && memcmp(doc, m.p, ndoc) == 0,
	    "man page example: the %zu bytes shown are the writer's %zu",
	    ndoc, m.n);
	{
		got g;

		read_mem(m, &g);
		ok(g.rc == 0 && g.nrows == 2 &&
		    memcmp(g.col[0], b->col[0], 16) == 0 &&
		    memcmp(g.col[1], b->col[1], 8) == 0,
		    "man page example reads back");
		got_free(&g);
	}
out:
	free(m.p);
	pt_batch_free(b);
	pt_schema_free(s);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_speed(void)
{
	pt_schema *s = pt_schema_new(MD);
	pt_batch *b;
	pt_writer *w;
	pt_reader *r;
	const pt_batch *rb;
	char name[16];
	int fd, i, j, nframes = 48, okr = 1;
	uint64_t bytes = 0;
	double t0, tw, tr, sum = 0;
	pt_err e;

	for (j = 0; j < 8; j++) {
		snprintf(name, sizeof name, "f%d", j);
		pt_schema_add(s, name, PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	}
	b = pt_batch_new(s, PT_FRAME_ROWS);
	for (j = 0; j < 8; j++)
		for (i = 0; i < PT_FRAME_ROWS; i++)
			PT_COL_F64(b, j)[i] = bits2d(rnd() >> 2);
	b->nrows = PT_FRAME_ROWS;
	/* Writes timed into /dev/null: the codec's cost, not the disk's. */
	fd = open("/dev/null", O_WRONLY);
	t0 = now();
	w = pt_writer_open(fd, "speed.pf", s, 0, &e);
	for (i = 0; i < nframes; i++)
		okr &= pt_writer_write(w, b, &e) == 0;
	okr &= pt_writer_close(w, &e) == 0;
	tw = now() - t0;
	close(fd);
	fd = tmpfile_fd();
	w = pt_writer_open(fd, "speed.pf", s, 0, &e);
	for (i = 0; i < nframes; i++)
		okr &= pt_writer_write(w, b, &e) == 0;
	bytes = pt_writer_bytes(w) + 56;
	okr &= pt_writer_close(w, &e) == 0;
	lseek(fd, 0, SEEK_SET);
	t0 = now();
	r = pt_reader_open(fd, "speed.pf", &e);
	while (r != NULL && (i = pt_reader_next(r, &rb, &e)) == 1)
		sum += PT_COL_F64(rb, 7)[rb->nrows - 1];
	tr = now() - t0;
	okr &= r != NULL && i == 0 &&
	    pt_reader_rows(r) == (uint64_t)nframes * PT_FRAME_ROWS;
	ok(okr, "speed stream: %d frames, %.0f MB", nframes, bytes / 1e6);
	diag("level 0: write %.0f MB/s, decode %.0f MB/s (check %g)",
	    bytes / 1e6 / tw, bytes / 1e6 / tr, sum);
	{
		/* What "close to memcpy" is measured against. */
		size_t fb = (size_t)PT_FRAME_ROWS * 8;
		unsigned char *dst = malloc(fb * 8);

		t0 = now();
		for (i = 0; i < nframes; i++)
			for (j = 0; j < 8; j++)
				memcpy(dst + (size_t)j * fb, b->col[j], fb);
		tw = now() - t0;
		diag("memcpy of the same bytes: %.0f MB/s (check %d)",
		    nframes * 8.0 * fb / 1e6 / tw, dst[fb - 1]);
		free(dst);
	}
	pt_reader_close(r);
	close(fd);

	/* Level 1 on the same random doubles: stored raw, at what cost. */
	fd = open("/dev/null", O_WRONLY);
	t0 = now();
	w = pt_writer_open(fd, "speed.pf", s, 1, &e);
	for (i = 0; i < 8; i++)
		pt_writer_write(w, b, &e);
	bytes = pt_writer_bytes(w);
	pt_writer_close(w, &e);
	tw = now() - t0;
	diag("level 1 on random doubles: write %.0f MB/s", bytes / 1e6 / tw);
	close(fd);
	pt_batch_free(b);
	pt_schema_free(s);
}

/* The default frame size: 65536 rows, fewer for wide schemas so that a
 * frame's columns stay within PT_FRAME_BYTES, never fewer than 1024. */
static void
test_frame_rows(void)
{
	static const int widths[] = { 4, 40, 1000, 20000 };
	int k, j, bad = 0;
	char name[32];

	for (k = 0; k < 4; k++) {
		pt_schema *s = pt_schema_new("00112233445566778899aabbccddeeff");
		size_t rows, bytes;
		pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
		pt_schema_add(s, "arm", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
		for (j = 0; j < widths[k]; j++) {
			snprintf(name, sizeof name, "x%d", j);
			pt_schema_add(s, name, PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
		}
		bytes = 8 + 4 + 8 * (size_t)widths[k];
		rows = pt_frame_rows(s);
		if (widths[k] <= 40)
			bad += rows != PT_FRAME_ROWS;
		else if (widths[k] == 1000)
			bad += rows != (32u << 20) / bytes;
		else
			bad += rows != 1024;
		bad += rows * bytes > (32u << 20) && rows != 1024;
		pt_schema_free(s);
	}
	ok(bad == 0, "default rows per frame: 65536, fewer for wide schemas "
	    "(32 MiB of columns at most), never fewer than 1024");
}

/* The default on files, PT_LEVEL_AUTO: only a column that shrinks 32
 * times or more is kept compressed (a constant one); treatment codes,
 * which level 1 shrinks about 8 times, and random doubles stay raw; the
 * frames read back the same. */
static void
test_level_auto(void)
{
	pt_schema *s = pt_schema_new("00112233445566778899aabbccddeeff");
	pt_batch *b;
	pt_writer *w;
	pt_reader *r;
	const pt_batch *rb;
	uint64_t by[3];
	int lv[3] = { 0, PT_LEVEL_AUTO, 1 }, k, fd, got = -1, same = 1;
	size_t i, n = PT_FRAME_ROWS;
	pt_err e;

	pt_schema_add(s, "c", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
	pt_schema_add(s, "t", PT_I32, PT_ROLE_OTHER, 0, NULL, NULL);
	pt_schema_add(s, "x", PT_F64, PT_ROLE_FEATURE, 0, NULL, NULL);
	b = pt_batch_new(s, n);
	for (i = 0; i < n; i++) {
		PT_COL_I32(b, 0)[i] = 7;
		PT_COL_I32(b, 1)[i] = (int32_t)(rnd() % 3);
		PT_COL_F64(b, 2)[i] = bits2d(rnd() >> 2);
	}
	b->nrows = n;
	for (k = 0; k < 3; k++) {
		fd = tmpfile_fd();
		w = pt_writer_open(fd, "auto.pf", s, lv[k], &e);
		same &= w != NULL && pt_writer_write(w, b, &e) == 0;
		by[k] = w ? pt_writer_bytes(w) : 0;
		same &= w != NULL && pt_writer_close(w, &e) == 0;
		lseek(fd, 0, SEEK_SET);
		r = pt_reader_open(fd, "auto.pf", &e);
		while (r != NULL && (got = pt_reader_next(r, &rb, &e)) == 1)
			same &= rb->nrows == n &&
			    !memcmp(rb->col[0], b->col[0], n * 4) &&
			    !memcmp(rb->col[1], b->col[1], n * 4) &&
			    !memcmp(rb->col[2], b->col[2], n * 8);
		same &= r != NULL && got == 0;
		pt_reader_close(r);
		close(fd);
	}
	ok(same, "levels 0, auto and 1 read back the same rows");
	ok(by[1] < by[0] - 4 * n + 4096 && by[1] > by[2] + 2 * n,
	    "auto compresses the constant column only (%llu, %llu, %llu "
	    "bytes at 0, auto, 1)", (unsigned long long)by[0],
	    (unsigned long long)by[1], (unsigned long long)by[2]);
	pt_batch_free(b);
	pt_schema_free(s);
}

/*
 * A reader that reads ahead gives the same answers in the same order; a
 * batch stays valid until the next call while the thread fills the
 * other; and closing it while its thread waits for a frame on a pipe whose
 * writer is quiet (a caller that stops early) returns.
 */
static void
test_readahead(void)
{
	static const size_t sz[] = { 3, 5, 7 };
	pt_schema *s = schema_mixed(MD);
	pt_reader *r;
	const pt_batch *b, *b1;
	got want;
	pt_err e;
	mem m;
	int okw, fds[2], rc;
	size_t off = 0, cut;
	ssize_t k;
	double first;

	ahead = 1;
	diag("again, reading ahead");
	test_roundtrip();
	test_concat();
	test_truncation();
	test_short_reads();
	test_big();
	test_big_damage();
	ahead = 0;

	m = write_mixed(s, sz, 3, 0, 0, &want, &okw);
	/* The stream less its last frame and end frame: the writer keeps
	 * its end open and sends nothing more. */
	cut = 0;
	while (cut + 56 <= m.n && m.p[cut + 6] != 2)
		cut += 56 + le64(m.p + cut + 24);
	cut += 56 + le64(m.p + cut + 24); /* schema and first data frame */
	okw = okw && pipe(fds) == 0;
	while (okw && off < cut && (k = write(fds[1], m.p + off, cut -
	    off)) > 0)
		off += (size_t)k;
	r = okw ? pt_reader_open(fds[0], "quiet.pf", &e) : NULL;
	ok(r != NULL, "read ahead: open a reader on a pipe");
	if (r != NULL) {
		pt_reader_readahead(r);
		rc = pt_reader_next(r, &b, &e);
		b1 = b;
		first = rc == 1 ? PT_COL_F64(b, 1)[0] : 0;
		ok(rc == 1 && b->nrows == 3 && pt_reader_rows(r) == 3 &&
		    pt_reader_bytes(r) == cut,
		    "read ahead: the first frame, its rows and bytes counted");
		/* Let the thread reach the read that waits. */
		usleep(20000);
		ok(b == b1 && memcmp(&first, &PT_COL_F64(b, 1)[0],
		    sizeof first) == 0 && b->nrows == 3,
		    "read ahead: the batch given stays as it was while the "
		    "thread waits for the next frame");
		alarm(20); /* a close that hangs fails the test */
		pt_reader_close(r);
		alarm(0);
		ok(1, "read ahead: closing while the thread waits on a quiet "
		    "pipe returns");
	}
	close(fds[0]);
	close(fds[1]);
	got_free(&want);
	free(m.p);
	pt_schema_free(s);
}

int
main(void)
{
	sanitize = getenv("PT_SANITIZE") != NULL;
	test_frame_rows();
	test_level_auto();
	test_schema();
	test_roundtrip();
	test_codecs();
	test_concat();
	test_truncation();
	test_flips();
	test_crafted();
	test_epipe();
	test_reuse();
	test_short_reads();
	test_big();
	test_big_damage();
	test_manpage();
	test_readahead();
	if (!sanitize)
		test_speed();
	return done_testing();
}

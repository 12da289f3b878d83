/*
 * t-nomem.c: allocation failures in partial histograms (pair partials
 * too).  The library must report them (PT_ENOMEM) and never crash, and a
 * call that fails must leave the partial as it was.
 *
 * The test is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * (Makefile), so every allocation libpolicy makes goes through the
 * wrappers below, which fail the one chosen.  Allocations inside other
 * libraries (libc, libxxhash) are not wrapped.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "../tap.h"

#define TEST_RNG_SEED 11
#include "testrng.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);

/* The allocation to fail, counting from 0 after arm(); -1: none. */
static long fail_at = -1;

static int
failing(void)
{
	return fail_at >= 0 && fail_at-- == 0;
}

void *
__wrap_malloc(size_t n)
{
	return failing() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t k, size_t n)
{
	return failing() ? NULL : __real_calloc(k, n);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return failing() ? NULL : __real_realloc(p, n);
}

/* Fails the k-th allocation from now (k = 0: the next). */
static void
arm(long k)
{
	fail_at = k;
}

/* Whether the armed failure happened, disarming it. */
static int
disarm(void)
{
	int fired = fail_at < 0;

	fail_at = -1;
	return fired;
}

#define F 3
#define A 2

static pt_manifest *
make_manifest(void)
{
	pt_manifest *m = pt_manifest_new();
	char name[32];
	int f, a, k;

	m->nfeatures = F;
	m->features = calloc(F, sizeof *m->features);
	for (f = 0; f < F; f++) {
		snprintf(name, sizeof name, "x%d", f + 1);
		m->features[f].name = pt_strdup(name);
		m->features[f].level = -1;
		m->features[f].nbounds = 4 + 30 * f;
		m->features[f].bounds = calloc(4 + 30 * f, sizeof(double));
		m->features[f].counts = calloc(6 + 30 * f, sizeof(uint64_t));
		for (k = 0; k < 4 + 30 * f; k++)
			m->features[f].bounds[k] = (k + 1) / (5.0 + 30 * f);
	}
	m->nvocab = A;
	m->vocab = calloc(A, sizeof *m->vocab);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "a%d", a);
		m->vocab[a] = pt_strdup(name);
	}
	memcpy(m->digest, "0123456789abcdef0123456789abcdef", 33);
	return m;
}

/* A frame of n random rows (schema in *sp, the caller's to free). */
static pt_batch *
make_frame(const pt_manifest *m, size_t n, pt_schema **sp)
{
	pt_schema *s = pt_schema_new(m->digest);
	pt_batch *b;
	char name[32];
	size_t i;
	int f, a;

	pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	for (f = 0; f < F; f++)
		pt_schema_add(s, m->features[f].name, PT_F64, PT_ROLE_FEATURE, 0,
		    NULL, NULL);
	pt_schema_add(s, "arm", PT_I32, PT_ROLE_TREATMENT, A, m->vocab, NULL);
	pt_schema_add(s, "y", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "score:a%d", a);
		pt_schema_add(s, name, PT_F64, PT_ROLE_SCORE, 0, NULL, NULL);
	}
	b = pt_batch_new(s, n);
	b->nrows = n;
	for (i = 0; i < n; i++) {
		PT_COL_U64(b, 0)[i] = rn();
		for (f = 0; f < F; f++)
			PT_COL_F64(b, 1 + f)[i] = rn() % 10 == 0 ? NAN : unif();
		PT_COL_I32(b, 1 + F)[i] = (int32_t)(rn() % A);
		PT_COL_F64(b, 2 + F)[i] = unif() * 10;
		for (a = 0; a < A; a++)
			PT_COL_F64(b, 3 + F + a)[i] = unif() - 0.5;
	}
	*sp = s;
	return b;
}

/* The partial (a pair partial with pairs) of frame b named part, written
 * into *out; -1 with e set when a step fails. */
static int
partial_of(const pt_manifest *m, const pt_batch *b, const char *part,
    int pairs, char **out, size_t *len, pt_err *e)
{
	pt_hist *h = pairs ? pt_hist_new_pairs(m, NULL, e) : pt_hist_new(m,
	    NULL, NULL, 0, NULL, 0, e);
	pt_hist_cols c;
	int rc = -1;

	memset(&c, 0, sizeof c);
	if (h != NULL && pt_hist_bind(h, m, b->schema, &c, e) == 0 &&
	    (pairs ? pt_hist_add_pairs(h, m, &c, b, e) : pt_hist_add(h, m, &c,
	    b, NULL, e)) == 0 && pt_hist_set_part(h, part, e) == 0 &&
	    pt_hist_write(h, out, len, e) == 0)
		rc = 0;
	pt_hist_cols_free(&c);
	pt_hist_free(h);
	return rc;
}

/* A partial of n random rows named part. */
static pt_hist *
make_partial(const pt_manifest *m, size_t n, const char *part)
{
	pt_schema *s;
	pt_batch *b = make_frame(m, n, &s);
	pt_hist *h = pt_hist_new(m, NULL, NULL, 0, NULL, 0, NULL);
	pt_hist_cols c;

	if (pt_hist_bind(h, m, s, &c, NULL) < 0 ||
	    pt_hist_add(h, m, &c, b, NULL, NULL) < 0 ||
	    pt_hist_set_part(h, part, NULL) < 0) {
		pt_hist_free(h);
		h = NULL;
	}
	pt_hist_cols_free(&c);
	pt_batch_free(b);
	pt_schema_free(s);
	return h;
}

int
main(void)
{
	pt_manifest *m = make_manifest();
	pt_hist *h = make_partial(m, 1000, "old"), *h2, *r;
	pt_err e;
	char *buf, *out;
	size_t len, olen;
	long k;
	int nbad, rc, fired;

	ok(h != NULL, "a partial of 1000 rows");

	/* pt_hist_set_part: a failed allocation keeps the old id. */
	arm(0);
	rc = pt_hist_set_part(h, "new", &e);
	fired = disarm();
	ok(fired && rc < 0 && e.code == PT_ENOMEM, "pt_hist_set_part reports "
	    "a failed allocation (PT_ENOMEM)");
	ok(h->parts != NULL && h->nparts == 1 && strcmp(h->parts[0], "old") ==
	    0, "and leaves the partial's partition id as it was");
	h2 = make_partial(m, 500, "other");
	ok(h2 != NULL && pt_hist_merge(h, h2, &e) == 0 && h->nparts == 2,
	    "a merge gives two partition ids");
	arm(0);
	rc = pt_hist_set_part(h, NULL, &e);
	fired = disarm();
	ok(fired && rc < 0 && h->parts != NULL && h->nparts == 2 &&
	    strcmp(h->parts[0], "old") == 0 && strcmp(h->parts[1], "other") ==
	    0, "a failed pt_hist_set_part keeps both ids of a merged partial");

	/* Writing and reading fail cleanly at every allocation. */
	ok(pt_hist_write(h, &buf, &len, &e) == 0, "the partial is written");
	nbad = 0;
	for (k = 0; k < 1000; k++) {
		out = NULL;
		arm(k);
		rc = pt_hist_write(h, &out, &olen, &e);
		fired = disarm();
		if (!fired) {
			nbad += rc != 0 || olen != len || memcmp(out, buf, len) != 0;
			free(out);
			break;
		}
		nbad += rc == 0 || e.code != PT_ENOMEM || out != NULL;
	}
	ok(nbad == 0 && k > 0, "pt_hist_write fails with PT_ENOMEM at each of "
	    "its %ld allocations, and writes the same bytes without failures",
	    k);
	nbad = 0;
	for (k = 0; k < 1000; k++) {
		arm(k);
		r = pt_hist_read(buf, len, "mem", &e);
		fired = disarm();
		if (!fired) {
			char *again;
			size_t alen;
			nbad += r == NULL || pt_hist_write(r, &again, &alen, &e) !=
			    0 || alen != len || memcmp(again, buf, len) != 0;
			if (r != NULL && alen == len)
				free(again);
			pt_hist_free(r);
			break;
		}
		nbad += r != NULL || e.code != PT_ENOMEM;
		pt_hist_free(r);
	}
	ok(nbad == 0 && k > 0, "pt_hist_read fails with PT_ENOMEM at each of "
	    "its %ld allocations, and reads the partial back without failures",
	    k);

	/* A new partial, and a merge, under every allocation failure. */
	nbad = 0;
	for (k = 0; k < 1000; k++) {
		arm(k);
		r = pt_hist_new(m, NULL, NULL, 0, NULL, 0, &e);
		fired = disarm();
		if (!fired) {
			nbad += r == NULL;
			pt_hist_free(r);
			break;
		}
		nbad += r != NULL || e.code != PT_ENOMEM;
		pt_hist_free(r);
	}
	ok(nbad == 0 && k > 0, "pt_hist_new fails with PT_ENOMEM at each of its "
	    "%ld allocations", k);
	pt_hist_free(h2);
	h2 = make_partial(m, 300, "third");
	arm(0);
	rc = pt_hist_merge(h, h2, &e);
	fired = disarm();
	out = NULL;
	ok(fired && rc < 0 && e.code == PT_ENOMEM && h->nparts == 2 &&
	    pt_hist_write(h, &out, &olen, &e) == 0 && olen == len &&
	    memcmp(out, buf, len) == 0, "a merge that cannot allocate leaves "
	    "the partial byte for byte as it was");

	free(out);
	free(buf);

	/* A pair partial made, filled, named and written under every
	 * allocation failure: PT_ENOMEM, or without one the same bytes. */
	{
		pt_schema *s;
		pt_batch *b = make_frame(m, 700, &s);
		char *ref = NULL;
		size_t rlen = 0;
		ok(partial_of(m, b, "p", 1, &ref, &rlen, &e) == 0 && strstr(ref,
		    "\npairs: 1\n") != NULL, "a pair partial of 700 rows");
		nbad = 0;
		for (k = 0; k < 1000; k++) {
			out = NULL;
			arm(k);
			rc = partial_of(m, b, "p", 1, &out, &olen, &e);
			fired = disarm();
			if (!fired) {
				nbad += rc != 0 || olen != rlen || memcmp(out, ref,
				    rlen) != 0;
				free(out);
				break;
			}
			nbad += rc == 0 || e.code != PT_ENOMEM;
		}
		ok(nbad == 0 && k > 0, "pt_hist_new_pairs, pt_hist_add_pairs, "
		    "pt_hist_set_part and pt_hist_write fail with PT_ENOMEM at "
		    "each of their %ld allocations, and give the same bytes "
		    "without failures", k);
		free(ref);
		pt_batch_free(b);
		pt_schema_free(s);
	}
	pt_hist_free(h);
	pt_hist_free(h2);
	pt_manifest_free(m);
	return done_testing();
}

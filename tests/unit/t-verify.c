/*
 * t-verify.c: signatures of frames through the library: one flipped bit of
 * one score drifts the scores alone, one row's action the policy alone;
 * any permutation and split of the rows into streams signs the same.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	return done_testing();
}

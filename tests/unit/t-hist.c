/*
 * t-hist.c: partial histograms.
 *   - every exact cell sum equals pt_xsum over the same rows (adversarial
 *     values: mixed signs and magnitudes, cancellation, frames of very
 *     different scales), and rounds to the same double;
 *   - partition independence: one partition versus 16, each cut into
 *     frames differently, serialised, read back and merged in random
 *     groupings and orders, give byte-identical bodies and trees;
 *   - corrupted and truncated partials, and mismatched merges, fail.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "search.h"
#include "tree.h"
#include "../tap.h"

static uint64_t rs = 7;

static uint64_t
rn(void)
{
	uint64_t x = (rs += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static double
unif(void)
{
	return (double)(rn() >> 11) / 9007199254740992.0;
}

#define F 3
#define A 3
#define B 5

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
		m->features[f].nbounds = B;
		m->features[f].bounds = calloc(B, sizeof(double));
		m->features[f].counts = calloc(B + 2, sizeof(uint64_t));
		for (i = 0; i < B; i++)
			m->features[f].bounds[i] = (i + 1) * 0.15;
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

static pt_schema *
make_schema(const pt_manifest *m)
{
	pt_schema *s = pt_schema_new(m->digest);
	int f, a;
	char name[32];

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
		for (f = 0; f < F; f++)
			r->x[i * F + f] = rn() % 10 == 0 ? NAN :
			    (rn() % 4 == 0 ? (double)(rn() % 6) * 0.15 : unif());
		r->w[i] = (int32_t)(rn() % A);
		r->y[i] = adversarial(i);
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
 * frame rows. */
static pt_hist *
hist_of(const pt_manifest *m, const pt_schema *s, const rows *r,
    const size_t *idx, size_t n, size_t frame, const char *part)
{
	pt_err e;
	pt_hist *h = pt_hist_new(m, NULL, NULL, 0, NULL, 0, &e);
	pt_hist_cols c;
	pt_batch *b = pt_batch_new(s, frame);
	size_t i0, i;
	int f, a;

	pt_hist_bind(h, m, s, &c, &e);
	for (i0 = 0; i0 < n; i0 += frame) {
		size_t nb = n - i0 < frame ? n - i0 : frame;
		for (i = 0; i < nb; i++) {
			size_t j = idx[i0 + i];
			PT_COL_U64(b, 0)[i] = r->id[j];
			for (f = 0; f < F; f++)
				PT_COL_F64(b, 1 + f)[i] = r->x[j * F + f];
			PT_COL_I32(b, 1 + F)[i] = r->w[j];
			PT_COL_F64(b, 2 + F)[i] = r->y[j];
			for (a = 0; a < A; a++)
				PT_COL_F64(b, 3 + F + a)[i] = r->g[j * A + a];
		}
		b->nrows = nb;
		if (pt_hist_add(h, m, &c, b, NULL, &e) < 0) {
			diag("hist_add: %s", e.msg);
			pt_hist_free(h);
			h = NULL;
			break;
		}
	}
	if (h)
		pt_hist_set_part(h, part, &e);
	pt_hist_cols_free(&c);
	pt_batch_free(b);
	return h;
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
	p = strstr(buf, "\nbody ");
	*len = n - (size_t)(p - buf) - 26; /* "\nchecksum " 16 hex "\n" */
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

int
main(void)
{
	pt_manifest *m = make_manifest();
	pt_schema *s = make_schema(m);
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
	{
		int cells_bad = 0, round_bad = 0, cnt_bad = 0, f, a;
		for (f = 0; f < F; f++) {
			int bin;
			for (bin = 0; bin < B + 2; bin++) {
				size_t cell = one->off[f] + (size_t)bin;
				for (a = 0; a < A; a++) {
					pt_xsum ref, refy, got;
					uint64_t nc = 0;
					pt_xsum_init(&ref);
					pt_xsum_init(&refy);
					for (i = 0; i < N; i++) {
						if (pt_feature_bin(&m->features[f],
						    r.x[i * F + f]) != bin)
							continue;
						pt_xsum_add(&ref, r.g[i * A + a]);
						if (r.w[i] == a) {
							pt_xsum_add(&refy, r.y[i]);
							nc++;
						}
					}
					pt_wide_to_xsum(&one->gsum[cell * A + a],
					    one->scale, &got);
					cells_bad += pt_xsum_cmp(&got, &ref) != 0;
					round_bad += pt_wide_round(&one->gsum[cell * A
					    + a], one->scale) != pt_xsum_round(&ref);
					pt_wide_to_xsum(&one->ysum[cell * A + a],
					    one->scale, &got);
					cells_bad += pt_xsum_cmp(&got, &refy) != 0;
					round_bad += pt_wide_round(&one->ysum[cell * A
					    + a], one->scale) != pt_xsum_round(&refy);
					cnt_bad += one->cnt[cell * A + a] != nc;
				}
			}
		}
		ok(cells_bad == 0, "every cell's exact score and outcome sums "
		    "equal pt_xsum (%d differ)", cells_bad);
		ok(round_bad == 0, "and round to the same doubles (%d differ)",
		    round_bad);
		ok(cnt_bad == 0, "arm counts match");
	}

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
	pt_hist_free(one);
	rows_free(&r);
	free(idx);
	pt_schema_free(s);
	pt_manifest_free(m);
	return done_testing();
}

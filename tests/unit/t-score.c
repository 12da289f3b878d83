/*
 * t-score.c: reward models.  Exact statistics make the fit independent of
 * row order and partitioning (down to the bits of the coefficients); the
 * ridge solve recovers a known linear model; the model file round-trips
 * byte for byte; the scorer's backends agree with each other and with the
 * formula computed here; bad values and missing columns are refused;
 * whole sample weights give the model of repeated rows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "yamlout.h"
#include "ridge.h"
#include "score.h"
#include "../tap.h"

static uint64_t st = 99;

static double
unif(void)
{
	st += UINT64_C(0x9e3779b97f4a7c15);
	return (double)(pt_splitmix64(st) >> 11) * 0x1p-53;
}

#define F 3
#define A 3
#define DIGEST "0123456789abcdef0123456789abcdef"

static char *fnames[F] = { "x1", "x2", "x3" };
static char *vocab[A] = { "control", "t1", "t2" };

/* A manifest in memory: only what the fit reads. */
static void
fake_manifest(pt_manifest *m, pt_feature *feat, pt_source *src)
{
	int j;

	memset(m, 0, sizeof *m);
	m->weight = -1;
	m->nfeatures = F;
	m->features = feat;
	m->nsources = F;
	m->sources = src;
	for (j = 0; j < F; j++) {
		memset(&feat[j], 0, sizeof feat[j]);
		memset(&src[j], 0, sizeof src[j]);
		feat[j].name = fnames[j];
		feat[j].source = j;
		feat[j].level = -1;
		src[j].name = fnames[j];
		src[j].missing = j == 1 ? PT_MISS_KEEP : PT_MISS_MEDIAN;
	}
	m->nvocab = A;
	m->vocab = vocab;
	m->treatment = 3;
	m->outcome = 4;
	memcpy(m->digest, DIGEST, 33);
}

static pt_schema *
schema(int with_tw, int with_prop)
{
	pt_schema *s = pt_schema_new(DIGEST);
	int j;

	pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	for (j = 0; j < F; j++)
		pt_schema_add(s, fnames[j], PT_F64, PT_ROLE_FEATURE, 0, NULL,
		    NULL);
	if (with_tw) {
		pt_schema_add(s, "arm", PT_I32, PT_ROLE_TREATMENT, A, vocab,
		    NULL);
		pt_schema_add(s, "y", PT_F64, PT_ROLE_OUTCOME, 0, NULL, NULL);
	}
	if (with_prop)
		pt_schema_add(s, "p", PT_F64, PT_ROLE_PROPENSITY, 0, NULL, NULL);
	return s;
}

/* Rows: x2 missing 20% of the time; y linear in x plus noise. */
static void
fill(pt_batch *b, size_t n, uint64_t first, int with_tw, int with_prop)
{
	size_t i;
	int j;

	b->nrows = n;
	for (i = 0; i < n; i++) {
		PT_COL_U64(b, 0)[i] = pt_splitmix64(first + i);
		for (j = 0; j < F; j++)
			PT_COL_F64(b, 1 + j)[i] = j == 1 && unif() < 0.2 ? NAN :
			    unif() * 4 - 2;
		if (with_tw) {
			int32_t w = (int32_t)(unif() * A);

			PT_COL_I32(b, 1 + F)[i] = w;
			PT_COL_F64(b, 2 + F)[i] = 0.5 * w +
			    PT_COL_F64(b, 1)[i] - 0.25 * PT_COL_F64(b, 3)[i] +
			    unif() - 0.5;
		}
		if (with_prop)
			PT_COL_F64(b, 3 + F)[i] = 0.05 + unif() * 0.9;
	}
}

static char *
model_text(pt_rfit *f, pt_err *e)
{
	pt_rmodel *m = pt_rfit_model(f, e);
	char *t = NULL;
	size_t len;

	if (m && pt_rmodel_write(m, &t, &len, e) < 0)
		t = NULL;
	pt_rmodel_free(m);
	return t;
}

/*
 * pt.h lets a caller pass e == NULL.  Every error path that used to
 * write or read through e after a callee failed (naming the input, or
 * wrapping the callee's message), with e == NULL: each call must fail
 * and return, not crash.
 */
static void
null_err(const pt_manifest *man)
{
	pt_schema *s = schema(1, 0), *other = pt_schema_new(
	    "fedcba9876543210fedcba9876543210");
	pt_batch *b = pt_batch_new(s, 200), *ob;
	pt_rspec spec;
	pt_rfit *f;
	pt_scorer *sc;
	pt_rmodel *m;
	char *t = NULL;
	size_t len, i;
	int j;

	for (j = 0; j < F; j++)
		pt_schema_add(other, fnames[j], PT_F64, PT_ROLE_FEATURE, 0,
		    NULL, NULL);
	ob = pt_batch_new(other, 1);
	memset(&spec, 0, sizeof spec);
	spec.folds = 1;
	spec.floor = 0.05;
	spec.passes = 10;

	/* The frames of another manifest: the fit names the input. */
	f = pt_rfit_new(man, &spec, NULL);
	ok(f && pt_rfit_add(f, ob, "other", NULL) < 0, "e NULL: add refuses "
	    "frames of another manifest");
	/* A bad treatment code: the fit names the row. */
	fill(b, 200, 0, 1, 0);
	PT_COL_I32(b, 1 + F)[5] = 9;
	ok(pt_rfit_add(f, b, "b", NULL) < 0, "e NULL: add refuses a bad "
	    "treatment code");
	pt_rfit_free(f);

	/* A singular system (x1 always 0, no penalty): the solve's message
	 * is wrapped in the arm's. */
	fill(b, 200, 0, 1, 0);
	for (i = 0; i < 200; i++)
		PT_COL_F64(b, 1)[i] = 0;
	f = pt_rfit_new(man, &spec, NULL);
	ok(f && pt_rfit_add(f, b, "b", NULL) == 0 && pt_rfit_model(f, NULL) ==
	    NULL, "e NULL: a singular outcome model is refused");
	pt_rfit_free(f);

	/* The same for the logistic propensity model's bound; and a pass
	 * over frames of another manifest. */
	spec.prop = PT_PROP_LOGISTIC;
	f = pt_rfit_new(man, &spec, NULL);
	ok(f && pt_rfit_add(f, b, "b", NULL) == 0 &&
	    pt_rfit_logit_begin(f, NULL) < 0, "e NULL: a singular propensity "
	    "bound is refused");
	pt_rfit_free(f);
	spec.lambda = 0.5;
	f = pt_rfit_new(man, &spec, NULL);
	ok(f && pt_rfit_add(f, b, "b", NULL) == 0 &&
	    pt_rfit_logit_begin(f, NULL) == 0 &&
	    pt_rfit_logit_add(f, ob, "other", NULL) < 0, "e NULL: a logistic "
	    "pass refuses frames of another manifest");
	pt_rfit_free(f);

	/* A scorer bound to frames of another manifest; a model file whose
	 * settings fail their check. */
	spec.prop = PT_PROP_CONSTANT;
	f = pt_rfit_new(man, &spec, NULL);
	m = NULL;
	if (f && pt_rfit_add(f, b, "b", NULL) == 0 && (m = pt_rfit_model(f,
	    NULL)) != NULL && pt_rmodel_write(m, &t, &len, NULL) == 0) {
		char *l = strstr(t, "\nlambda: "), *d = strstr(t, "\ndigest: ");
		pt_buf mb = PT_BUF_INIT;

		sc = pt_scorer_load(t, len, "m.yaml", NULL);
		ok(sc && pt_scorer_bind(sc, other, PT_SCORE_DR, NULL) == NULL,
		    "e NULL: a scorer refuses frames of another manifest");
		pt_scorer_free(sc);
		/* lambda: -0.5, then a digest that matches. */
		d[1] = '\0';
		pt_buf_printf(&mb, "%.*s-%s", (int)(l + 9 - t), t, l + 9);
		pt_y_digest(&mb, NULL);
		ok(!mb.err && pt_rmodel_parse(mb.p, mb.n, "m.yaml", NULL) ==
		    NULL, "e NULL: a model file with bad settings is refused");
		free(mb.p);
	} else
		ok(0, "e NULL: a model to corrupt");
	free(t);
	pt_rmodel_free(m);
	pt_rfit_free(f);
	pt_batch_free(b);
	pt_batch_free(ob);
	pt_schema_free(s);
	pt_schema_free(other);
}

/* A partial's text with line `key: ...` replaced by `key: val`, signed
 * again (the digest recomputed), so that only the reader's checks of the
 * content can refuse it. */
static char *
resign(const char *t, const char *key, const char *val, size_t *len)
{
	pt_buf b = PT_BUF_INIT;
	const char *l = strstr(t, key), *end = strstr(t, "digest: ");
	char *out;

	pt_buf_put(&b, t, (size_t)(l - t));
	pt_buf_printf(&b, "%s %s", key, val);
	l = strchr(l + 1, '\n');
	pt_buf_put(&b, l, (size_t)(end - l));
	pt_y_digest(&b, NULL);
	if (pt_buf_take(&b, &out, len, "partial", NULL) < 0)
		return NULL;
	return out;
}

/*
 * Sample (frequency) weights: rows of whole weight w give the statistics
 * and the model of the rows repeated w times, bit for bit, but the row
 * counts; weighted products out of the exact range, bad weights, a frame
 * without the manifest's weight column and merges of weighted with
 * unweighted partials are refused.
 */
static void
weights(void)
{
	enum { P = 5, NR = 400, ST = 32 };
	pt_ridge r1, r2, r3;
	double z[P], zc[P * ST], yc[ST], wc[ST], y, w;
	char t1[PT_XSUM_TEXT], t2[PT_XSUM_TEXT], t3[PT_XSUM_TEXT];
	int nz = P * (P + 1) / 2, bad = 0, j, k, r;
	size_t i, nb = 0, at;

	pt_ridge_init(&r1, P);
	pt_ridge_init(&r2, P);
	pt_ridge_init(&r3, P);
	for (i = 0; i < NR; i++) {
		z[0] = 1;
		for (j = 1; j < P; j++)
			z[j] = unif() < 0.2 ? 0.0 : ldexp(unif() - 0.5,
			    (int)(unif() * 60) - 30);
		y = ldexp(unif() - 0.5, (int)(unif() * 40) - 20);
		w = (double)(int)(unif() * 5);
		for (r = 0; r < (int)w; r++)
			pt_ridge_add(&r1, z, y);
		bad += pt_ridge_add_w(&r2, z, y, w) != 0;
		for (j = 0; j < P; j++)
			zc[j * ST + nb] = z[j];
		yc[nb] = y;
		wc[nb] = w;
		if (++nb == ST || i == NR - 1) {
			bad += pt_ridge_add_block_w(&r3, zc, ST, yc, wc, nb,
			    &at) != 0;
			nb = 0;
		}
	}
	for (k = 0; k < nz + P; k++) {
		const pt_xsum *a = k < nz ? &r1.zz[k] : &r1.zy[k - nz];
		const pt_xsum *b = k < nz ? &r2.zz[k] : &r2.zy[k - nz];
		const pt_xsum *c = k < nz ? &r3.zz[k] : &r3.zy[k - nz];

		pt_xsum_encode(a, t1);
		pt_xsum_encode(b, t2);
		pt_xsum_encode(c, t3);
		bad += strcmp(t1, t2) != 0 || strcmp(t1, t3) != 0;
	}
	ok(bad == 0 && r2.rows == NR && r3.rows == NR, "ridge: whole weights "
	    "0..4 (row by row and in blocks) = rows repeated, bit for bit; "
	    "rows still count rows (%d differ)", bad);
	pt_xsum_encode(&r2.zz[0], t2);
	snprintf(t3, sizeof t3, "%.17g", pt_xsum_round(&r2.zz[0]));
	ok(r1.rows < NR * 4 && (double)r1.rows == pt_xsum_round(&r2.zz[0]),
	    "ridge: zz[0] is the exact weight sum (%s = %s)", t2, t3);
	z[0] = 1;
	z[1] = 0.5;
	for (j = 2; j < P; j++)
		z[j] = 0;
	ok(pt_ridge_add_w(&r2, z, 1, 0x1p-1000) < 0 &&
	    pt_ridge_add_w(&r2, z, 1, 0x1p1023) == 0 &&
	    pt_ridge_add_w(&r2, z, 1e300, 1e300) < 0,
	    "ridge: weighted products below 2^-968 or overflowing are refused");
	wc[0] = 1;
	wc[1] = 0x1p-1000;
	ok(pt_ridge_add_block_w(&r3, zc, ST, yc, wc, 2, &at) < 0 && at == 1,
	    "ridge: a block names the row out of range");
	pt_ridge_free(&r1);
	pt_ridge_free(&r2);
	pt_ridge_free(&r3);

	/* The fit: 600 rows of weights 0..4 against the rows repeated
	 * (the same row hashes), 4 folds, constant and logistic
	 * propensities. */
	{
		pt_manifest man;
		pt_feature feat[F];
		pt_source src[F];
		pt_schema *sw = schema(1, 0), *s0 = schema(1, 0);
		pt_batch *bw, *bd;
		pt_rspec spec;
		pt_rfit *fw, *fd, *f0, *fp = NULL;
		pt_rmodel *mw, *md;
		pt_err e;
		size_t n = 600, m = 0, len, c;
		char *txt, *t;
		int pass, done;

		fake_manifest(&man, feat, src);
		man.weight = 5;
		pt_schema_add(sw, "wt", PT_F64, PT_ROLE_WEIGHT, 0, NULL, NULL);
		bw = pt_batch_new(sw, n);
		bd = pt_batch_new(sw, 4 * n);
		fill(bw, n, 77, 1, 0);
		for (i = 0; i < n; i++) {
			w = (double)(int)(unif() * 5);
			PT_COL_F64(bw, 3 + F)[i] = w;
			for (r = 0; r < (int)w; r++, m++) {
				for (c = 0; c < (size_t)sw->ncols; c++) {
					size_t sz = sw->cols[c].type == PT_I32 ?
					    4 : 8;
					memcpy((char *)bd->col[c] + m * sz,
					    (char *)bw->col[c] + i * sz, sz);
				}
				PT_COL_F64(bd, 3 + F)[m] = 1;
			}
		}
		bd->nrows = m;
		memset(&spec, 0, sizeof spec);
		spec.lambda = 0.5;
		spec.folds = 4;
		spec.fold_seed = 3;
		spec.floor = 0.01;
		for (pass = 0; pass < 2; pass++) {
			spec.prop = pass ? PT_PROP_LOGISTIC : PT_PROP_CONSTANT;
			spec.passes = 30;
			fw = pt_rfit_new(&man, &spec, &e);
			fd = pt_rfit_new(&man, &spec, &e);
			bad = !fw || !fd || pt_rfit_add(fw, bw, "bw", &e) < 0 ||
			    pt_rfit_add(fd, bd, "bd", &e) < 0;
			if (!bad && pass) {
				bad = pt_rfit_logit_begin(fw, &e) < 0 ||
				    pt_rfit_logit_begin(fd, &e) < 0;
				for (done = 0; !bad && !done;) {
					bad = pt_rfit_logit_add(fw, bw, "bw",
					    &e) < 0 || pt_rfit_logit_add(fd, bd,
					    "bd", &e) < 0;
					if (!bad) {
						done = pt_rfit_logit_step(fw, &e);
						bad = done < 0 || done !=
						    pt_rfit_logit_step(fd, &e);
					}
				}
			}
			mw = bad ? NULL : pt_rfit_model(fw, &e);
			md = bad ? NULL : pt_rfit_model(fd, &e);
			bad = mw == NULL || md == NULL || mw->weight == NULL ||
			    memcmp(mw->coef, md->coef, (size_t)4 * A * mw->p *
			    sizeof(double)) != 0 ||
			    memcmp(mw->prop, md->prop, (size_t)4 * A *
			    sizeof(double)) != 0 ||
			    memcmp(mw->weight, md->weight, (size_t)4 * A *
			    sizeof(double)) != 0 || (pass && memcmp(mw->logit,
			    md->logit, (size_t)4 * (A - 1) * mw->p *
			    sizeof(double)) != 0);
			for (k = 0; !bad && k < 4 * A; k++)
				bad = (double)md->rows[k] != mw->weight[k] ||
				    mw->rows[k] >= md->rows[k];
			ok(!bad, "fit (%s propensities, 4 folds): weights = "
			    "rows repeated, but the row counts%s%s", pass ?
			    "logistic" : "constant", bad && !mw ? ": " : "",
			    bad && !mw ? e.msg : "");
			pt_rmodel_free(mw);
			pt_rmodel_free(md);
			pt_rfit_free(fd);
			pt_rfit_free(fw);
		}
		spec.prop = PT_PROP_CONSTANT;
		fw = pt_rfit_new(&man, &spec, &e);
		pt_rfit_add(fw, bw, "bw", &e);
		ok(pt_rfit_write(fw, &txt, &len, &e) == 0 &&
		    strstr(txt, "\nweight: 0x") != NULL &&
		    (fp = pt_rfit_parse(txt, len, "w.part", &e)) != NULL,
		    "a weighted partial says weight: and reads back");
		{
			char *t2b = NULL;
			size_t l2;

			ok(fp && pt_rfit_write(fp, &t2b, &l2, &e) == 0 &&
			    l2 == len && memcmp(t2b, txt, len) == 0,
			    "a weighted partial round-trips byte for byte");
			free(t2b);
		}
		t = resign(txt, "\nweight:", "0x3p0", &len);
		ok(t && pt_rfit_parse(t, len, "w.part", &e) == NULL &&
		    strstr(e.msg, "not the sum"), "a partial whose weight: is "
		    "not its entries' sum is refused: %s", e.msg);
		free(t);
		/* An unweighted fit of the same digest: merge refuses to mix. */
		man.weight = -1;
		f0 = pt_rfit_new(&man, &spec, &e);
		ok(f0 && fp && pt_rfit_merge(f0, fp, "w.part", &e) < 0 &&
		    e.code == PT_EMISMATCH && strstr(e.msg, "a weighted "
		    "partial, the others unweighted"), "merge refuses a "
		    "weighted partial into unweighted ones: %s", e.msg);
		ok(pt_rfit_merge(fp, f0, "u.part", &e) < 0 && strstr(e.msg,
		    "an unweighted partial"), "and the other way round: %s",
		    e.msg);
		ok(pt_rfit_add(f0, bw, "bw", &e) < 0 && strstr(e.msg,
		    "the manifest does not name"), "an unweighted fit refuses "
		    "weighted frames: %s", e.msg);
		pt_rfit_free(f0);
		pt_rfit_free(fp);
		free(txt);
		man.weight = 5;
		f0 = pt_rfit_new(&man, &spec, &e);
		bd->schema = s0;
		ok(f0 && pt_rfit_bind(f0, s0, "b0", &e) < 0 && strstr(e.msg,
		    "no weight column"), "a weighted fit refuses frames "
		    "without the weight column: %s", e.msg);
		bd->schema = sw;
		pt_rfit_free(f0);
		f0 = pt_rfit_new(&man, &spec, &e);
		PT_COL_F64(bw, 3 + F)[7] = -1;
		ok(f0 && pt_rfit_add(f0, bw, "bw", &e) < 0 && strstr(e.msg,
		    "weight -1 is not") && strstr(e.where, "row 8"),
		    "a negative weight is refused: %s: %s", e.where, e.msg);
		pt_rfit_free(f0);
		f0 = pt_rfit_new(&man, &spec, &e);
		PT_COL_F64(bw, 3 + F)[7] = 1e-300;
		ok(f0 && pt_rfit_add(f0, bw, "bw", &e) < 0 &&
		    e.code == PT_ELIMIT && strstr(e.where, "row 8"),
		    "a weighted product below 2^-968 is refused (PT_ELIMIT): "
		    "%s: %s", e.where, e.msg);
		pt_rfit_free(f0);
		/* All of an arm's weights 0: no training rows. */
		for (i = 0; i < n; i++)
			if (PT_COL_I32(bw, 1 + F)[i] == 2 || i == 7)
				PT_COL_F64(bw, 3 + F)[i] = 0;
		spec.folds = 1;
		f0 = pt_rfit_new(&man, &spec, &e);
		ok(f0 && pt_rfit_add(f0, bw, "bw", &e) == 0 &&
		    pt_rfit_model(f0, &e) == NULL && strstr(e.msg, "'t2' has no "
		    "training rows of positive weight"), "an arm of weight 0: %s",
		    e.msg);
		pt_rfit_free(f0);
		pt_rfit_free(fw);
		pt_batch_free(bw);
		pt_batch_free(bd);
		pt_schema_free(sw);
		pt_schema_free(s0);
	}
}

int
main(void)
{
	pt_manifest man;
	pt_feature feat[F];
	pt_source src[F];
	pt_schema *s = schema(1, 0), *s2, *s3;
	pt_batch *all, *part;
	pt_rspec spec;
	pt_rfit *f1, *f2, *fp;
	pt_err e;
	char *t1, *t2, *pt;
	size_t n = 4000, i, len;
	int k, j, a, bad;
	double cost[A] = { 0, 0.125, -0.5 };

	fake_manifest(&man, feat, src);
	memset(&spec, 0, sizeof spec);
	spec.lambda = 0.75;
	spec.folds = 4;
	spec.fold_seed = 11;
	spec.floor = 0.05;
	spec.cost = cost;

	/* One fit over all rows against fits over shuffled partitions. */
	all = pt_batch_new(s, n);
	fill(all, n, 0, 1, 0);
	f1 = pt_rfit_new(&man, &spec, &e);
	ok(f1 && pt_rfit_add(f1, all, "all", &e) == 0, "fit all rows");
	t1 = model_text(f1, &e);
	ok(t1 != NULL, "a model: %s", t1 ? "" : e.msg);
	f2 = pt_rfit_new(&man, &spec, &e);
	part = pt_batch_new(s, n);
	for (k = 0; k < 7; k++) {
		/* Partition k of 7: rows i with i % 7 == (k * 3) % 7, reversed. */
		size_t m = 0;

		for (i = n; i-- > 0;)
			if ((int)(i % 7) == (k * 3) % 7) {
				for (j = 0; j < s->ncols; j++) {
					size_t sz = s->cols[j].type == PT_I32 ?
					    4 : 8;

					memcpy((char *)part->col[j] + m * sz,
					    (char *)all->col[j] + i * sz, sz);
				}
				m++;
			}
		part->nrows = m;
		fp = pt_rfit_new(&man, &spec, &e);
		pt_rfit_add(fp, part, "part", &e);
		/* Through the partial text and back. */
		pt_rfit_write(fp, &pt, &len, &e);
		pt_rfit_free(fp);
		fp = pt_rfit_parse(pt, len, "part.yaml", &e);
		free(pt);
		if (fp == NULL || pt_rfit_merge(f2, fp, "part", &e) < 0)
			diag("%s", e.msg);
		pt_rfit_free(fp);
	}
	t2 = model_text(f2, &e);
	ok(t1 && t2 && strcmp(t1, t2) == 0, "7 reversed partitions through "
	    "partial files give the same model text");
	{
		pt_rmodel *m = pt_rmodel_parse(t1, strlen(t1), "m.yaml", &e);
		char *t3 = NULL;

		ok(m && pt_rmodel_write(m, &t3, &len, &e) == 0 &&
		    strcmp(t3, t1) == 0, "the model file round-trips byte for "
		    "byte");
		free(t3);
		pt_rmodel_free(m);
	}

	/* Ridge on an exact linear model: recovers it with lambda 0. */
	{
		pt_ridge r;
		double z[4], b[4], want[4] = { 0.5, -1.25, 2, 0.125 };
		int p;

		pt_ridge_init(&r, 4);
		for (i = 0; i < 500; i++) {
			z[0] = 1;
			for (p = 1; p < 4; p++)
				z[p] = floor(unif() * 64) / 8;
			pt_ridge_add(&r, z, want[0] + want[1] * z[1] +
			    want[2] * z[2] + want[3] * z[3]);
		}
		memset(b, 0, sizeof b);
		k = pt_ridge_solve(&r, 0, b, &e);
		ok(k == 0 &&
		    fabs(b[0] - want[0]) < 1e-9 && fabs(b[1] - want[1]) < 1e-9 &&
		    fabs(b[2] - want[2]) < 1e-9 && fabs(b[3] - want[3]) < 1e-9,
		    "ridge with lambda 0 recovers an exact linear model (%g %g "
		    "%g %g)", b[0], b[1], b[2], b[3]);
		pt_ridge_free(&r);
		pt_ridge_init(&r, 3);
		for (i = 0; i < 50; i++) {
			z[0] = 1;
			z[1] = unif();
			z[2] = 2 * z[1];
			pt_ridge_add(&r, z, z[1]);
		}
		ok(pt_ridge_solve(&r, 0, b, &e) < 0 && strstr(e.msg, "singular"),
		    "collinear columns with lambda 0: %s", e.msg);
		ok(pt_ridge_solve(&r, 1e-3, b, &e) == 0, "lambda > 0 solves it");
		pt_ridge_free(&r);
	}

	/* Blocks of rows, column-major, give the same exact sums as rows
	 * one at a time: wide magnitudes, zeros, blocks of 1 to 40 rows. */
	{
		enum { P = 6, NR = 300, ST = 40 };
		pt_ridge r1, r2;
		double zr[P], zc[P * ST], yc[ST], y;
		char t1[PT_XSUM_TEXT], t2[PT_XSUM_TEXT];
		int nz = P * (P + 1) / 2, bad = 0, p2;
		size_t got = 0, nb;

		pt_ridge_init(&r1, P);
		pt_ridge_init(&r2, P);
		for (i = 0; i < NR; i += (int)nb) {
			nb = 1 + (size_t)(unif() * ST);
			if (nb > (size_t)(NR - i))
				nb = (size_t)(NR - i);
			for (got = 0; got < nb; got++) {
				for (p2 = 0; p2 < P; p2++)
					zr[p2] = unif() < 0.2 ? 0.0 :
					    ldexp(unif() - 0.5, (int)(unif() * 80) - 40);
				y = ldexp(unif() - 0.5, (int)(unif() * 60) - 30);
				pt_ridge_add(&r1, zr, y);
				for (p2 = 0; p2 < P; p2++)
					zc[p2 * ST + got] = zr[p2];
				yc[got] = y;
			}
			pt_ridge_add_block(&r2, zc, ST, yc, nb);
		}
		bad += r1.rows != r2.rows;
		for (k = 0; k < nz; k++) {
			pt_xsum_encode(&r1.zz[k], t1);
			pt_xsum_encode(&r2.zz[k], t2);
			bad += strcmp(t1, t2) != 0;
		}
		for (k = 0; k < P; k++) {
			pt_xsum_encode(&r1.zy[k], t1);
			pt_xsum_encode(&r2.zy[k], t2);
			bad += strcmp(t1, t2) != 0;
		}
		ok(bad == 0, "ridge statistics added in column-major blocks equal "
		    "those added row by row (%d differ)", bad);
		pt_ridge_free(&r1);
		pt_ridge_free(&r2);
	}

	/* Scoring: the DR formula by hand, both backends, with a
	 * propensity column. */
	{
		pt_rmodel *m;
		pt_scorer *sc;
		const pt_schema *os;
		const pt_batch *ob;
		pt_batch *pb;
		char *txt;
		double want, mm, e_, *out[A];
		int fold, q;

		spec.prop = PT_PROP_COLUMN;
		spec.propcol = "p";
		s2 = schema(1, 1);
		pb = pt_batch_new(s2, n);
		fill(pb, 1003, 5, 1, 1);
		pt_rfit_free(f2);
		f2 = pt_rfit_new(&man, &spec, &e);
		ok(f2 && pt_rfit_add(f2, pb, "pb", &e) == 0, "fit with a "
		    "propensity column spec");
		{
			pt_rfit *fb = pt_rfit_new(&man, &spec, &e);
			double keep = PT_COL_F64(pb, 3 + F)[5];

			PT_COL_F64(pb, 3 + F)[5] = 0;
			ok(pt_rfit_add(fb, pb, "pb", &e) < 0 &&
			    strstr(e.msg, "outside (0, 1]"), "fit refuses a "
			    "propensity of 0: %s: %s", e.where, e.msg);
			PT_COL_F64(pb, 3 + F)[5] = keep;
			pt_rfit_free(fb);
		}
		m = pt_rfit_model(f2, &e);
		pt_rmodel_write(m, &txt, &len, &e);
		sc = pt_scorer_load(txt, len, "m.yaml", &e);
		free(txt);
		os = sc ? pt_scorer_bind(sc, s2, PT_SCORE_DR, &e) : NULL;
		ok(os != NULL && os->ncols == s2->ncols + A &&
		    strcmp(os->cols[s2->ncols + 2].name, "score:t2") == 0,
		    "bound: score columns appended in vocabulary order");
		for (a = 0; a < A; a++)
			out[a] = malloc(1003 * sizeof(double));
		pt_scorer_run(sc, pb, PT_BACKEND_ROW, &ob, "pb", &e);
		for (a = 0; a < A; a++)
			memcpy(out[a], ob->col[s2->ncols + a], 1003 * 8);
		ok(pt_scorer_run(sc, pb, PT_BACKEND_VECTOR, &ob, "pb", &e) == 0,
		    "vector backend runs");
		bad = 0;
		for (i = 0; i < 1003; i++) {
			fold = pt_score_fold(PT_COL_U64(pb, 0)[i], 11, 4);
			for (a = 0; a < A; a++) {
				const double *c = m->coef + ((size_t)fold * A +
				    a) * m->p;
				double x2 = PT_COL_F64(pb, 2)[i];

				mm = c[0] + c[1] * PT_COL_F64(pb, 1)[i];
				mm = mm + c[2] * (isnan(x2) ? 0 : x2);
				mm = mm + c[3] * PT_COL_F64(pb, 3)[i];
				q = 4; /* x2's missing indicator */
				mm = mm + c[q] * (isnan(x2) ? 1 : 0);
				e_ = PT_COL_F64(pb, 3 + F)[i];
				e_ = e_ < 0.05 ? 0.05 : e_;
				want = mm + (PT_COL_I32(pb, 1 + F)[i] == a ?
				    (PT_COL_F64(pb, 2 + F)[i] - mm) / e_ : 0.0) -
				    cost[a];
				if (memcmp(&want, &out[a][i], 8) ||
				    memcmp(&want, &((double *)ob->col[s2->ncols +
				    a])[i], 8))
					bad++;
			}
		}
		ok(bad == 0, "DR by hand = row backend = vector backend, bit for "
		    "bit (%d mismatches)", bad);
		PT_COL_F64(pb, 3 + F)[17] = 1.5;
		ok(pt_scorer_run(sc, pb, PT_BACKEND_VECTOR, &ob, "pb", &e) < 0 &&
		    strstr(e.msg, "outside (0, 1]") && strstr(e.where, "row 18"),
		    "a propensity of 1.5 is refused: %s: %s", e.where, e.msg);
		PT_COL_F64(pb, 3 + F)[17] = 0;
		ok(pt_scorer_run(sc, pb, PT_BACKEND_ROW, &ob, "pb", &e) < 0,
		    "a propensity of 0 is refused");
		PT_COL_F64(pb, 3 + F)[17] = 0.5;
		/* The vector kernel checks values and scores as it scores:
		 * both backends name the first faulty row. */
		{
			static const struct {
				int row, what;
				const char *msg;
			} bads[] = {
				{ 500, 0, "not in the vocabulary" },
				{ 300, 1, "missing or not finite" },
				{ 600, 2, "outside (0, 1]" },
				{ 700, 3, "overflow a double" },
				{ 1001, 0, "not in the vocabulary" },
			};
			char where[64], full[1200];
			size_t t;
			int r, be;

			for (t = 0; t < sizeof bads / sizeof bads[0]; t++)
				for (be = 0; be < 2; be++) {
					double ky, kp;
					int32_t kw;

					r = bads[t].row;
					kw = PT_COL_I32(pb, 1 + F)[r];
					ky = PT_COL_F64(pb, 2 + F)[r];
					kp = PT_COL_F64(pb, 3 + F)[r];
					if (bads[t].what == 0)
						PT_COL_I32(pb, 1 + F)[r] = A;
					else if (bads[t].what == 1)
						PT_COL_F64(pb, 2 + F)[r] = INFINITY;
					else if (bads[t].what == 2)
						PT_COL_F64(pb, 3 + F)[r] = NAN;
					else
						PT_COL_F64(pb, 2 + F)[r] = 1e308;
					if (bads[t].what == 3)
						PT_COL_F64(pb, 3 + F)[r] = 0.06;
					/* a later fault in another column
					 * (values are checked before scores) */
					if (bads[t].what != 3)
						PT_COL_I32(pb, 1 + F)[1002] = -1;
					snprintf(where, sizeof where, "row %d:",
					    r + 1);
					full[0] = '\0';
					if (pt_scorer_run(sc, pb, be ?
					    PT_BACKEND_ROW : PT_BACKEND_VECTOR,
					    &ob, "pb", &e) < 0)
						snprintf(full, sizeof full,
						    "%s: %s", e.where, e.msg);
					ok(strstr(full, bads[t].msg) &&
					    strstr(full, where) != NULL,
					    "%s backend: %s", be ? "row" :
					    "vector", full);
					PT_COL_I32(pb, 1 + F)[1002] = 0;
					PT_COL_I32(pb, 1 + F)[r] = kw;
					PT_COL_F64(pb, 2 + F)[r] = ky;
					PT_COL_F64(pb, 3 + F)[r] = kp;
				}
		}
		/* Frames without treatment/outcome: dr refuses, dm works. */
		s3 = schema(0, 0);
		ok(pt_scorer_bind(sc, s3, PT_SCORE_DR, &e) == NULL &&
		    strstr(e.msg, "treatment"), "dr on frames without a "
		    "treatment column: %s", e.msg);
		ok(pt_scorer_bind(sc, s3, PT_SCORE_DM, &e) != NULL, "dm needs "
		    "only the features");
		pt_schema_free(s3);
		s3 = pt_schema_new("ffffffffffffffffffffffffffffffff");
		ok(pt_scorer_bind(sc, s3, PT_SCORE_DM, &e) == NULL &&
		    e.code == PT_EMISMATCH, "another manifest: %s", e.msg);
		pt_schema_free(s3);
		/* Signed zeros: a sum of -0 plus a missing indicator's c * 0
		 * (+0) is +0, so the vector kernels may skip the indicators
		 * of a block without missing values only where no sum is
		 * zero.  Intercepts -0, features -1 times +0, indicators +1:
		 * dm of arm 0 (cost 0) is +0, in both backends. */
		{
			pt_scorer *sz;
			size_t nc = (size_t)m->spec.folds * A * m->p, c;

			PT_COL_F64(pb, 3 + F)[17] = 0.5;
			for (c = 0; c < nc; c++)
				m->coef[c] = c % (size_t)m->p == 0 ? -0.0 :
				    (int)(c % (size_t)m->p) <= F ? -1.0 : 1.0;
			for (i = 0; i < 40; i++)
				for (j = 1; j <= F; j++)
					PT_COL_F64(pb, j)[i] = i == 21 && j == 2 ?
					    NAN : 0.0;
			pt_rmodel_write(m, &txt, &len, &e);
			sz = pt_scorer_load(txt, len, "z.yaml", &e);
			free(txt);
			ok(sz && pt_scorer_bind(sz, s2, PT_SCORE_DM, &e) &&
			    pt_scorer_run(sz, pb, PT_BACKEND_ROW, &ob, "pb",
			    &e) == 0, "signed zeros: row backend runs");
			for (a = 0; a < A; a++)
				memcpy(out[a], ob->col[s2->ncols + a], 1003 * 8);
			ok(pt_scorer_run(sz, pb, PT_BACKEND_VECTOR, &ob, "pb",
			    &e) == 0, "signed zeros: vector backend runs");
			bad = 0;
			for (a = 0; a < A; a++)
				bad += memcmp(out[a], ob->col[s2->ncols + a],
				    1003 * 8) != 0;
			ok(bad == 0 && out[0][0] == 0 && !signbit(out[0][0]) &&
			    out[0][21] == 1, "signed zeros: +0 and 1 in both "
			    "backends, bit for bit (%d arms differ)", bad);
			pt_scorer_free(sz);
		}
		for (a = 0; a < A; a++)
			free(out[a]);
		pt_scorer_free(sc);
		pt_rmodel_free(m);
		pt_batch_free(pb);
		pt_schema_free(s2);
	}

	/* Logistic propensities: recovers a known model; the passes do not
	 * depend on the order of the rows. */
	{
		size_t nl = getenv("PT_SANITIZE") ? 4000 : getenv("NL") ? (size_t)atol(getenv("NL")) : 20000, h;
		pt_batch *lb = pt_batch_new(s, nl), *rb = pt_batch_new(s, nl);
		pt_rfit *g1, *g2;
		pt_rmodel *m;
		int passes, r1, r2, c;
		double eta[A], pr[A], u, t;
		char *a1 = NULL, *a2 = NULL;

		spec.prop = PT_PROP_LOGISTIC;
		spec.folds = 1;
		spec.lambda = 1e-6;
		spec.passes = 200;
		fill(lb, nl, 77, 1, 0);
		for (i = 0; i < nl; i++) {
			double x1 = PT_COL_F64(lb, 1)[i], x3 = PT_COL_F64(lb, 3)[i];

			eta[0] = 0;
			eta[1] = 0.5 + 1.0 * x1;
			eta[2] = -0.3 - 0.8 * x3;
			t = exp(eta[0]) + exp(eta[1]) + exp(eta[2]);
			u = unif() * t;
			PT_COL_I32(lb, 1 + F)[i] = u < exp(eta[0]) ? 0 :
			    u < exp(eta[0]) + exp(eta[1]) ? 1 : 2;
		}
		/* The same rows reversed, in the second batch. */
		for (i = 0; i < nl; i++) {
			h = nl - 1 - i;
			for (c = 0; c < s->ncols; c++) {
				size_t sz = s->cols[c].type == PT_I32 ? 4 : 8;

				memcpy((char *)rb->col[c] + i * sz,
				    (char *)lb->col[c] + h * sz, sz);
			}
		}
		rb->nrows = nl;
		g1 = pt_rfit_new(&man, &spec, &e);
		g2 = pt_rfit_new(&man, &spec, &e);
		pt_rfit_add(g1, lb, "lb", &e);
		pt_rfit_add(g2, rb, "rb", &e);
		ok(pt_rfit_logit_begin(g1, &e) == 0 &&
		    pt_rfit_logit_begin(g2, &e) == 0, "logistic fit starts");
		passes = 0;
		do {
			pt_rfit_logit_add(g1, lb, "lb", &e);
			pt_rfit_logit_add(g2, rb, "rb", &e);
			r1 = pt_rfit_logit_step(g1, &e);
			r2 = pt_rfit_logit_step(g2, &e);
			passes++;
		} while (r1 == 0 && r2 == 0);
		ok(r1 == 1 && r2 == 1 && passes < 200, "converges in %d passes",
		    passes);
		a1 = model_text(g1, &e);
		a2 = model_text(g2, &e);
		ok(a1 && a2 && strcmp(a1, a2) == 0, "rows in reverse order: the "
		    "same model, byte for byte");
		m = pt_rmodel_parse(a1, strlen(a1), "lm", &e);
		ok(m && m->logit, "the logistic model reads back");
		if (m) {
			/* design: intercept, x1, x2, x3, missing:x2 */
			double *b1 = m->logit, *b2 = m->logit + m->p;

			/* Sampling noise only: generous bounds. */
			ok(fabs(b1[0] - 0.5) < 0.25 && fabs(b1[1] - 1.0) < 0.25 &&
			    fabs(b1[3]) < 0.25 && fabs(b2[0] + 0.3) < 0.25 &&
			    fabs(b2[3] + 0.8) < 0.25 && fabs(b2[1]) < 0.25,
			    "near the planted coefficients (%.3f %.3f %.3f; "
			    "%.3f %.3f %.3f)", b1[0], b1[1], b1[3], b2[0], b2[1],
			    b2[3]);
			/* The optimiser: the penalised score is 0 at the
			 * optimum, computed here independently. */
			{
				double gr[2][5] = { { 0 } }, z[5], worst = 0;
				int cl, jj;

				for (i = 0; i < nl; i++) {
					double x2 = PT_COL_F64(lb, 2)[i];

					z[0] = 1;
					z[1] = PT_COL_F64(lb, 1)[i];
					z[2] = isnan(x2) ? 0 : x2;
					z[3] = PT_COL_F64(lb, 3)[i];
					z[4] = isnan(x2) ? 1 : 0;
					eta[0] = 0;
					for (cl = 1; cl < 3; cl++) {
						eta[cl] = 0;
						for (jj = 0; jj < 5; jj++)
							eta[cl] += m->logit[(cl -
							    1) * 5 + jj] * z[jj];
					}
					t = exp(eta[0]) + exp(eta[1]) +
					    exp(eta[2]);
					for (cl = 1; cl < 3; cl++)
						for (jj = 0; jj < 5; jj++)
							gr[cl - 1][jj] += z[jj] *
							    ((PT_COL_I32(lb, 1 +
							    F)[i] == cl) -
							    exp(eta[cl]) / t);
				}
				for (cl = 0; cl < 2; cl++)
					for (jj = 0; jj < 5; jj++) {
						double gg = gr[cl][jj] - (jj ?
						    1e-6 * m->logit[cl * 5 +
						    jj] : 0);

						if (fabs(gg) / nl > worst)
							worst = fabs(gg) / nl;
					}
				ok(worst < 1e-7, "the penalised score is 0 at the "
				    "fit (largest |gradient|/n %.2g)", worst);
			}
			(void)pr;
		}
		pt_rmodel_free(m);
		free(a1);
		free(a2);
		pt_rfit_free(g1);
		pt_rfit_free(g2);
		pt_batch_free(lb);
		pt_batch_free(rb);
		spec.lambda = 0.75;
	}

	/* An arm without rows. */
	{
		pt_rfit *f3;

		spec.prop = PT_PROP_CONSTANT;
		spec.folds = 1;
		f3 = pt_rfit_new(&man, &spec, &e);
		fill(all, 100, 0, 1, 0);
		for (i = 0; i < 100; i++)
			if (PT_COL_I32(all, 1 + F)[i] == 2)
				PT_COL_I32(all, 1 + F)[i] = 1;
		pt_rfit_add(f3, all, "all", &e);
		ok(pt_rfit_model(f3, &e) == NULL && strstr(e.msg, "'t2' has no "
		    "training rows"), "an arm with no rows: %s", e.msg);
		PT_COL_I32(all, 1 + F)[3] = 7;
		ok(pt_rfit_add(f3, all, "all", &e) < 0 && strstr(e.msg,
		    "treatment code 7"), "a bad treatment code: %s", e.msg);
		pt_rfit_free(f3);
	}
	null_err(&man);
	weights();
	free(t1);
	free(t2);
	pt_rfit_free(f1);
	pt_rfit_free(f2);
	pt_batch_free(all);
	pt_batch_free(part);
	pt_schema_free(s);
	return done_testing();
}

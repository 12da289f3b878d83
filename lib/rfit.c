/*
 * rfit.c: fitting reward (outcome) models (policy-score fit).
 *
 * The fit keeps, per cross-fitting fold and arm, the exact statistics of a
 * ridge regression; exact sums make a partial's statistics, their merge,
 * and a fold's complement (total minus the fold) independent of how the
 * rows were ordered or partitioned, so the solved model is too.  The
 * logistic propensity model is fitted in passes of exact gradient sums
 * for the same reason.
 *
 * Under a manifest with a weight column every sum is weighted: a row of
 * weight w adds w times each per-row rounded term, exactly, so whole
 * weights give the model of rows repeated that many times, bit for bit;
 * counts that feed the model (arm shares, the logistic start, "no training
 * rows") are the exact weight sums then, row counts only count rows.
 */
#include "rfit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ridge.h"
#include "score_impl.h"
#include "yamlout.h"
#include "xsum.h"

#define RBLK 64 /* design rows added to a fold and arm's sums at once */

struct pt_rfit {
	char manifest[33];
	int nfeatures;
	char **features;
	int nvocab;
	char **vocab;
	uint8_t *missing;
	int p;
	pt_rspec spec;
	pt_ridge *st;       /* folds * nvocab */
	uint64_t rows;
	double *z;          /* scratch design row */
	double *blk, *bly;  /* per fold and arm: RBLK design rows, column-major,
	                     * and their outcomes, not yet added */
	size_t *bln;        /* per fold and arm: rows in blk */
	int weighted;       /* the manifest has a weight column */
	double *blw;        /* weighted: per fold and arm, the rows' weights */
	size_t *bli;        /* weighted: their indexes in the batch */
	uint64_t base;      /* rows before the batch being added */
	const pt_schema *bound;
	int *fcol, tcol, ycol, rcol, pcol, wcol;
	/* The logistic propensity fit: parameters, the Cholesky factor of
	 * each fold's bound, the exact gradient sums, passes taken. */
	double *logit;      /* folds * (nvocab - 1) * p */
	double *lfac;       /* folds * p * p: S / 2 + lambda D */
	double *lfac1;      /* folds * p * p: S / (2 A) + lambda D */
	pt_xsum *grad;      /* folds * (nvocab - 1) * p */
	int lpasses;
	double *eta, *pr;   /* scratch, nvocab */
	/* Which partitions the statistics hold (partid.h): counted while
	 * rows are added, or read back and merged. */
	pt_partid pid;
	int pid_bound;
	char (*parts)[PT_PARTID_LEN];
	int nparts;
};

void
pt_rfit_free(pt_rfit *f)
{
	int i;

	if (f == NULL)
		return;
	if (f->st)
		for (i = 0; i < f->spec.folds * f->nvocab; i++)
			pt_ridge_free(&f->st[i]);
	free(f->st);
	pt_strs_free(f->features, f->nfeatures);
	pt_strs_free(f->vocab, f->nvocab);
	free(f->missing);
	free(f->z);
	free(f->blk);
	free(f->bly);
	free(f->bln);
	free(f->blw);
	free(f->bli);
	free(f->fcol);
	free(f->logit);
	free(f->lfac);
	free(f->lfac1);
	free(f->grad);
	free(f->eta);
	free(f->pr);
	pt_partid_free(&f->pid);
	free(f->parts);
	pt_rspec_free(&f->spec);
	free(f);
}

static uint64_t rfit_limit = PT_RFIT_LIMIT;

uint64_t
pt_rfit_set_limit(uint64_t bytes)
{
	uint64_t old = rfit_limit;

	rfit_limit = bytes;
	return old;
}

/* A size for people: GiB, MiB or KiB with one decimal, or bytes. */
static void
human_size(double bytes, char *out, size_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int u = -1;

	while (u < 3 && bytes >= 1024) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, n, "%.0f bytes", bytes);
	else
		snprintf(out, n, "%.1f %s", bytes, unit[u]);
}

/* Refuses, before any allocation, statistics over the limit: per fold and
 * arm one pt_ridge (p (p + 1) / 2 + p exact sums), and two more while the
 * model is solved. */
static int
size_check(int p, int folds, int nvocab, pt_err *e)
{
	double nz = (double)p * (p + 1) / 2 + p;
	double bytes = ((double)folds * nvocab + 2) * nz * sizeof(pt_xsum);
	char need[32], lim[32];

	if (rfit_limit == 0 || bytes <= (double)rfit_limit)
		return 0;
	human_size(bytes, need, sizeof need);
	human_size((double)rfit_limit, lim, sizeof lim);
	return pt_fail(e, PT_ELIMIT, "", "the outcome models' exact statistics "
	    "would take %s (%d design columns: %d folds x %d arms, and 2 more "
	    "while solving, of %.0f exact sums of %zu bytes), over the %s "
	    "limit: raise it (--max-memory), use fewer --folds, or lock fewer "
	    "features", need, p, folds, nvocab, nz, sizeof(pt_xsum), lim);
}

static pt_rfit *
rfit_alloc(int nfeatures, int nvocab, const uint8_t *missing,
    const pt_rspec *spec, pt_err *e)
{
	pt_rfit *f;
	int j, i, p = 1 + nfeatures;

	if (pt_rspec_check(spec, nvocab, e) < 0)
		return NULL;
	for (j = 0; j < nfeatures; j++)
		p += missing[j] != 0;
	if (size_check(p, spec->folds, nvocab, e) < 0)
		return NULL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		goto nomem;
	f->nfeatures = nfeatures;
	f->nvocab = nvocab;
	if (pt_rspec_copy(&f->spec, spec, nvocab) < 0)
		goto nomem;
	if ((f->missing = calloc((size_t)nfeatures + 1, 1)) == NULL)
		goto nomem;
	f->p = p;
	for (j = 0; j < nfeatures; j++)
		f->missing[j] = missing[j] != 0;
	if ((f->z = calloc((size_t)f->p, sizeof *f->z)) == NULL ||
	    (f->fcol = calloc((size_t)nfeatures + 1, sizeof *f->fcol)) == NULL ||
	    (f->st = calloc((size_t)spec->folds * nvocab, sizeof *f->st)) ==
	    NULL)
		goto nomem;
	for (i = 0; i < spec->folds * nvocab; i++)
		if (pt_ridge_init(&f->st[i], f->p) < 0)
			goto nomem;
	if ((f->eta = calloc((size_t)nvocab, sizeof *f->eta)) == NULL ||
	    (f->pr = calloc((size_t)nvocab, sizeof *f->pr)) == NULL)
		goto nomem;
	return f;
nomem:
	pt_rfit_free(f);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

pt_rfit *
pt_rfit_new(const pt_manifest *m, const pt_rspec *spec, pt_err *e)
{
	pt_rfit *f;
	uint8_t *miss;
	int j;

	if (m->nrewards > 0) {
		pt_fail(e, PT_EUSAGE, "", "the manifest brings its own rewards "
		    "(one column per action): there is no reward model to "
		    "fit");
		return NULL;
	}
	if (m->treatment < 0 || m->outcome < 0) {
		pt_fail(e, PT_EUSAGE, "", "the manifest names no treatment "
		    "and outcome columns");
		return NULL;
	}
	if ((miss = calloc((size_t)m->nfeatures + 1, 1)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (j = 0; j < m->nfeatures; j++) {
		int s = m->features[j].source;

		miss[j] = s >= 0 && s < m->nsources &&
		    m->sources[s].missing == PT_MISS_KEEP;
	}
	f = rfit_alloc(m->nfeatures, m->nvocab, miss, spec, e);
	free(miss);
	if (f == NULL)
		return NULL;
	memcpy(f->manifest, m->digest, sizeof f->manifest);
	f->weighted = m->weight >= 0;
	if ((f->vocab = pt_strs_dup(m->vocab, m->nvocab)) == NULL ||
	    (f->features = calloc((size_t)m->nfeatures + 1, sizeof(char *))) ==
	    NULL)
		goto nomem;
	for (j = 0; j < m->nfeatures; j++)
		if ((f->features[j] = pt_strdup(m->features[j].name)) == NULL)
			goto nomem;
	return f;
nomem:
	pt_rfit_free(f);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

uint64_t
pt_rfit_rows(const pt_rfit *f)
{
	return f->rows;
}

/* The exact count of a fold and arm's statistics: the weight sum when
 * weighted (zz[0], the intercept's square), else the row count. */
static double
stat_count(const pt_rfit *f, const pt_ridge *r)
{
	return f->weighted ? pt_xsum_round(&r->zz[0]) : (double)r->rows;
}

/* The refusal of a weighted term out of the exact range. */
static int
weight_range(pt_err *e, double w)
{
	return pt_fail(e, PT_ELIMIT, "", "weight %g times a term of the "
	    "row's sums (a product of its features and outcome) is out of the "
	    "range weighted sums are exact in (it overflows, or falls below "
	    "2^-968): rescale the weights or the features", w);
}

/* Adds the rows waiting for fold and arm g.  0, or -1 with e set (a
 * weighted term out of range; where names the input). */
static int
rfit_flush(pt_rfit *f, int g, const char *where, pt_err *e)
{
	size_t n = f->bln[g], bad;

	f->bln[g] = 0;
	if (n == 0)
		return 0;
	if (!f->weighted) {
		pt_ridge_add_block(&f->st[g], f->blk + (size_t)g * f->p * RBLK,
		    RBLK, f->bly + (size_t)g * RBLK, n);
		return 0;
	}
	if (pt_ridge_add_block_w(&f->st[g], f->blk + (size_t)g * f->p * RBLK,
	    RBLK, f->bly + (size_t)g * RBLK, f->blw + (size_t)g * RBLK, n,
	    &bad) == 0)
		return 0;
	weight_range(e, f->blw[(size_t)g * RBLK + bad]);
	pt_err_where(e, "%.200s: row %" PRIu64, where, f->base +
	    f->bli[(size_t)g * RBLK + bad] + 1);
	return -1;
}

/* Finds the weight column of s: there must be one exactly when the
 * manifest has one (frames of its digest always agree). */
static int
bind_weight(pt_rfit *f, const pt_schema *s, const char *where, pt_err *e)
{
	f->wcol = pt_schema_weight(s);
	if ((f->wcol >= 0) == (f->weighted != 0))
		return 0;
	return pt_fail(e, PT_EMISMATCH, where, f->weighted ? "the manifest "
	    "weights rows, but the frames carry no weight column" : "the "
	    "frames carry sample weights (column '%.100s') that the manifest "
	    "does not name", f->wcol >= 0 ? s->cols[f->wcol].name : "");
}

int
pt_rfit_bind(pt_rfit *f, const pt_schema *s, const char *where, pt_err *e)
{
	int need = 3 | (f->spec.folds > 1 ? 4 : 0);

	/* The propensity column is checked here too, so that a model is
	 * never fitted for frames it could not score. */
	if (f->spec.prop == PT_PROP_COLUMN)
		need |= 8;
	if (f->bound != s) {
		if (pt_rmodel_bind(f->manifest, f->nfeatures, f->features,
		    f->nvocab, f->vocab, f->spec.propcol, s, need, f->fcol,
		    &f->tcol, &f->ycol, &f->rcol, &f->pcol, e) < 0) {
			pt_err_where(e, "%.250s", where);
			return -1;
		}
		if (bind_weight(f, s, where, e) < 0)
			return -1;
		f->bound = s;
	}
	if (!f->pid_bound) {
		if (pt_partid_bind(&f->pid, s, e) < 0) {
			pt_err_where(e, "%.250s", where);
			return -1;
		}
		f->pid_bound = 1;
	}
	return 0;
}

int
pt_rfit_add(pt_rfit *f, const pt_batch *b, const char *where, pt_err *e)
{
	double *x = NULL, y;
	int32_t w;
	size_t i, ng = (size_t)f->spec.folds * f->nvocab;
	int j, fold, g, rc = 0;
	const uint64_t *rh;

	if (pt_rfit_bind(f, b->schema, where, e) < 0)
		return -1;
	if (pt_partid_add(&f->pid, b, e) < 0) {
		pt_err_where(e, "%.250s", where);
		return -1;
	}
	if (f->blk == NULL) {
		f->blk = malloc(ng * (size_t)f->p * RBLK * sizeof *f->blk);
		f->bly = malloc(ng * RBLK * sizeof *f->bly);
		f->bln = calloc(ng, sizeof *f->bln);
		if (f->blk == NULL || f->bly == NULL || f->bln == NULL)
			return pt_fail(e, PT_ENOMEM, where, "out of memory");
	}
	if (f->weighted && f->blw == NULL) {
		f->blw = malloc(ng * RBLK * sizeof *f->blw);
		f->bli = malloc(ng * RBLK * sizeof *f->bli);
		if (f->blw == NULL || f->bli == NULL)
			return pt_fail(e, PT_ENOMEM, where, "out of memory");
	}
	f->base = f->rows;
	if ((x = malloc(((size_t)f->nfeatures + 1) * sizeof *x)) == NULL)
		return pt_fail(e, PT_ENOMEM, where, "out of memory");
	rh = f->rcol >= 0 ? PT_COL_U64(b, f->rcol) : NULL;
	for (i = 0; i < b->nrows; i++) {
		w = PT_COL_I32(b, f->tcol)[i];
		y = PT_COL_F64(b, f->ycol)[i];
		if (w < 0 || w >= f->nvocab) {
			rc = pt_fail(e, PT_EVALUE, "", "treatment code %d is not in "
			    "the vocabulary", (int)w);
			break;
		}
		if (!isfinite(y) || (f->spec.binary && y != 0 && y != 1)) {
			rc = pt_fail(e, PT_EVALUE, "", "outcome %g is not %s", y,
			    f->spec.binary ? "0 or 1 (binary outcome)" : "finite");
			break;
		}
		if (f->pcol >= 0 && !(PT_COL_F64(b, f->pcol)[i] > 0 &&
		    PT_COL_F64(b, f->pcol)[i] <= 1)) {
			rc = pt_fail(e, PT_EVALUE, "", "propensity %g in column "
			    "'%s' is outside (0, 1]", PT_COL_F64(b, f->pcol)[i],
			    f->spec.propcol);
			break;
		}
		if (f->weighted && !(PT_COL_F64(b, f->wcol)[i] >= 0 &&
		    PT_COL_F64(b, f->wcol)[i] < INFINITY)) {
			rc = pt_fail(e, PT_EVALUE, "", "weight %g is not a finite "
			    "number >= 0", PT_COL_F64(b, f->wcol)[i]);
			break;
		}
		for (j = 0; j < f->nfeatures; j++)
			x[j] = PT_COL_F64(b, f->fcol[j])[i];
		design_row(f->missing, f->nfeatures, x, f->z);
		fold = rh ? pt_score_fold(rh[i], f->spec.fold_seed,
		    f->spec.folds) : 0;
		g = fold * f->nvocab + w;
		{
			double *col = f->blk + (size_t)g * f->p * RBLK + f->bln[g];
			for (j = 0; j < f->p; j++)
				col[(size_t)j * RBLK] = f->z[j];
			f->bly[(size_t)g * RBLK + f->bln[g]] = y;
			if (f->weighted) {
				f->blw[(size_t)g * RBLK + f->bln[g]] =
				    PT_COL_F64(b, f->wcol)[i];
				f->bli[(size_t)g * RBLK + f->bln[g]] = i;
			}
		}
		if (++f->bln[g] == RBLK && rfit_flush(f, g, where, e) < 0) {
			free(x);
			return -1;
		}
		f->rows++;
	}
	free(x);
	if (rc < 0) {
		/* The row, named only now: formatting it for every row cost
		 * more than the row itself. */
		pt_err_where(e, "%.200s: row %" PRIu64, where, f->rows + 1);
		return -1;
	}
	/* Nothing waits past the frame: the statistics are complete after
	 * every call. */
	for (g = 0; g < (int)ng; g++)
		if (rfit_flush(f, g, where, e) < 0)
			return -1;
	return 0;
}

/* The exact weight sum of every fold and arm (the row count when
 * unweighted). */
static void
total_weight(const pt_rfit *f, pt_xsum *w)
{
	pt_xsum_init(w);
	for (int i = 0; i < f->spec.folds * f->nvocab; i++)
		pt_xsum_merge(w, &f->st[i].zz[0]);
}

int
pt_rfit_write(const pt_rfit *f, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char t[PT_XSUM_TEXT];
	char (*parts)[PT_PARTID_LEN] = f->parts, (*own)[PT_PARTID_LEN] = NULL;
	int nz = f->p * (f->p + 1) / 2, np = f->nparts;

	/* The partitions: as read or merged, else of the rows added. */
	if (parts == NULL) {
		if (pt_partid_ids(&f->pid, &own, &np, e) < 0)
			return -1;
		parts = own;
	}
	pt_fhead_write(&b, "policy-model-partial", f->manifest, f->nfeatures,
	    f->features, f->nvocab, f->vocab);
	pt_rsettings_write(&b, &f->spec, f->nfeatures, f->features, f->missing,
	    f->p, f->nvocab);
	pt_buf_printf(&b, "rows: %" PRIu64 "\n", f->rows);
	if (f->weighted) {
		/* Written only when weighted, so unweighted partials keep
		 * their bytes; each entry's weight sum is its zz[0]. */
		pt_xsum w;
		total_weight(f, &w);
		pt_xsum_encode(&w, t);
		pt_buf_printf(&b, "weight: %s\n", t);
	}
	pt_buf_puts(&b, "partitions: [");
	for (int i = 0; i < np; i++) {
		if (i)
			pt_buf_puts(&b, ", ");
		pt_y_str(&b, parts[i], PT_Y_PLAIN_WHEN_SAFE);
	}
	pt_buf_puts(&b, "]\nstats:\n");
	free(own);
	for (int k = 0; k < f->spec.folds; k++)
		for (int a = 0; a < f->nvocab; a++) {
			const pt_ridge *r = &f->st[k * f->nvocab + a];
			pt_buf_printf(&b, "  - fold: %d\n    arm: %d\n"
			    "    rows: %" PRIu64 "\n    zy: [", k, a, r->rows);
			for (int i = 0; i < f->p; i++) {
				pt_xsum_encode(&r->zy[i], t);
				pt_buf_printf(&b, i ? ", %s" : "%s", t);
			}
			pt_buf_puts(&b, "]\n    zz: [");
			for (int i = 0; i < nz; i++) {
				pt_xsum_encode(&r->zz[i], t);
				pt_buf_printf(&b, i ? ", %s" : "%s", t);
			}
			pt_buf_puts(&b, "]\n");
		}
	pt_y_digest(&b, NULL);
	return pt_buf_take(&b, out, len, "partial", e);
}

/* One exact sum of a partial's statistics. */
static int
read_sum(pt_ydoc *d, yaml_node_t *s, pt_xsum *x, pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(s, &len);
	char *tmp;
	int bad;

	if (t == NULL)
		return pt_yfail(e, d, s, PT_EFORMAT, "stats: expected an exact "
		    "sum");
	if ((tmp = pt_strndup(t, len)) == NULL)
		return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	bad = pt_xsum_decode(x, tmp) < 0;
	free(tmp);
	return bad ? pt_yfail(e, d, s, PT_EFORMAT, "stats: a malformed exact "
	    "sum") : 0;
}

/* The partitions of a partial: ids, sorted, each once (but empty ones). */
static int
read_parts(pt_ydoc *d, yaml_node_t *root, pt_rfit *f, pt_err *e)
{
	yaml_node_t *n = pt_ynode_need(d, root, "partitions", e);
	char **v;
	int cnt, rc = 0;

	if ((v = pt_ynode_strs(d, n, "partitions", &cnt, e)) == NULL)
		return -1;
	if (pt_partid_list(v, cnt, &f->parts, e) == 0)
		f->nparts = cnt;
	else if (e->code == PT_ENOMEM)
		rc = -1;
	else {
		char msg[sizeof e->msg];
		memcpy(msg, e->msg, sizeof msg);
		rc = pt_yfail(e, d, n, PT_EFORMAT, "%s", msg);
	}
	pt_strs_free(v, cnt);
	return rc;
}

pt_rfit *
pt_rfit_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-model-partial", NULL };
	static const char *const keys[] = { PT_FHEAD_KEYS, PT_RSETTINGS_KEYS,
		"rows", "weight", "partitions", "stats", NULL };
	static const char *const statkeys[] = { "fold", "arm", "rows", "zy",
		"zz", NULL };
	pt_ydoc d;
	yaml_node_t *root, *stats, *wn;
	pt_xsum wsum, wtot;
	pt_fhead h;
	pt_rspec spec;
	uint8_t *missing = NULL;
	pt_rfit *f = NULL;
	uint64_t rows, sum = 0;
	int nz;

	memset(&spec, 0, sizeof spec);
	if ((root = pt_fhead_load(&d, &h, buf, len, name, "partial", formats,
	    NULL, e)) == NULL || pt_ymap_only(&d, root, keys, e) < 0)
		goto fail;
	if ((missing = calloc((size_t)h.nfeatures + 1, 1)) == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		goto fail;
	}
	if (pt_rsettings_read(&d, root, h.nfeatures, h.features, h.nvocab,
	    &spec, missing, e) < 0)
		goto fail;
	if ((f = rfit_alloc(h.nfeatures, h.nvocab, missing, &spec, e)) == NULL)
		goto fail;
	memcpy(f->manifest, h.manifest, sizeof f->manifest);
	f->features = h.features;
	f->vocab = h.vocab;
	h.features = h.vocab = NULL;
	if (pt_ynode_u64(&d, pt_ynode_need(&d, root, "rows", e), "rows", &rows,
	    e) < 0 || read_parts(&d, root, f, e) < 0 ||
	    (stats = pt_ynode_need(&d, root, "stats", e)) == NULL ||
	    pt_ynode_seq(&d, stats, "stats (one entry per fold and arm)",
	    f->spec.folds * f->nvocab, e) < 0)
		goto fail;
	nz = f->p * (f->p + 1) / 2;
	for (int i = 0; i < f->spec.folds * f->nvocab; i++) {
		yaml_node_t *it = pt_ynode_item(&d, stats, i), *n;
		pt_ridge *r = &f->st[i];
		int64_t k, a;
		if (pt_ymap_only(&d, it, statkeys, e) < 0 ||
		    pt_ynode_int(&d, pt_ynode_need(&d, it, "fold", e), "fold",
		    i / f->nvocab, i / f->nvocab, &k, e) < 0 ||
		    pt_ynode_int(&d, pt_ynode_need(&d, it, "arm", e), "arm",
		    i % f->nvocab, i % f->nvocab, &a, e) < 0 ||
		    pt_ynode_u64(&d, pt_ynode_need(&d, it, "rows", e), "rows",
		    &r->rows, e) < 0)
			goto fail;
		sum += r->rows;
		for (int c = 0; c < 2; c++) {
			int cnt = c ? nz : f->p;
			if ((n = pt_ynode_need(&d, it, c ? "zz" : "zy", e)) == NULL ||
			    pt_ynode_seq(&d, n, c ? "zz" : "zy", cnt, e) < 0)
				goto fail;
			for (int j = 0; j < cnt; j++)
				if (read_sum(&d, pt_ynode_item(&d, n, j), c ?
				    &r->zz[j] : &r->zy[j], e) < 0)
					goto fail;
		}
	}
	/* The header's count must be what the entries add up to. */
	if (sum != rows) {
		pt_yfail(e, &d, root, PT_EFORMAT, "rows: %" PRIu64 ", but the "
		    "stats count %" PRIu64, rows, sum);
		goto fail;
	}
	f->rows = rows;
	/* weight: marks a weighted partial and is the sum of the entries'
	 * weight sums (their zz[0]). */
	if ((wn = pt_ynode_get(&d, root, "weight")) != NULL) {
		f->weighted = 1;
		if (read_sum(&d, wn, &wsum, e) < 0)
			goto fail;
		total_weight(f, &wtot);
		if (pt_xsum_cmp(&wsum, &wtot) != 0) {
			pt_yfail(e, &d, wn, PT_EFORMAT, "weight: not the sum of "
			    "the stats' weights");
			goto fail;
		}
	}
	free(missing);
	pt_rspec_free(&spec);
	pt_fhead_free(&h);
	pt_ydoc_free(&d);
	return f;
fail:
	free(missing);
	pt_rspec_free(&spec);
	pt_fhead_free(&h);
	pt_ydoc_free(&d);
	pt_rfit_free(f);
	return NULL;
}

/* Header and settings text, for comparing partials. */
static char *
settings_text(const pt_rfit *f)
{
	pt_buf b = PT_BUF_INIT;

	pt_fhead_write(&b, "x", f->manifest, f->nfeatures, f->features,
	    f->nvocab, f->vocab);
	pt_rsettings_write(&b, &f->spec, f->nfeatures, f->features, f->missing,
	    f->p, f->nvocab);
	return pt_buf_str(&b, "settings", NULL);
}

int
pt_rfit_merge(pt_rfit *dst, const pt_rfit *src, const char *srcname,
    pt_err *e)
{
	char *a = settings_text(dst), *b = settings_text(src);
	int i, same;

	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return pt_fail(e, PT_ENOMEM, srcname, "out of memory");
	}
	if (dst->weighted != src->weighted) {
		free(a);
		free(b);
		return pt_fail(e, PT_EMISMATCH, srcname, "%s partial, the "
		    "others %s: weighted and unweighted statistics do not add "
		    "up", src->weighted ? "a weighted" : "an unweighted",
		    dst->weighted ? "weighted" : "unweighted");
	}
	same = strcmp(a, b) == 0;
	free(a);
	free(b);
	if (!same)
		return pt_fail(e, PT_EMISMATCH, srcname, "a partial of another "
		    "manifest, feature order or fit settings");
	{
		/* Each partition once: a partial given twice, or two that
		 * overlap, are refused before anything is added. */
		char (*pa)[PT_PARTID_LEN] = dst->parts, (*pb)[PT_PARTID_LEN] =
		    src->parts, (*u)[PT_PARTID_LEN], (*oa)[PT_PARTID_LEN] = NULL,
		    (*ob)[PT_PARTID_LEN] = NULL;
		int na = dst->nparts, nb = src->nparts, nu, rc = 0;
		if ((pa == NULL && pt_partid_ids(&dst->pid, &oa, &na, e) < 0) ||
		    (pb == NULL && pt_partid_ids(&src->pid, &ob, &nb, e) < 0))
			rc = -1;
		if (rc == 0)
			rc = pt_partid_union(pa ? pa : oa, na, pb ? pb : ob, nb, &u,
			    &nu, e);
		free(oa);
		free(ob);
		if (rc < 0) {
			pt_err_where(e, "%.250s", srcname);
			return -1;
		}
		free(dst->parts);
		dst->parts = u;
		dst->nparts = nu;
	}
	for (i = 0; i < dst->spec.folds * dst->nvocab; i++)
		pt_ridge_merge(&dst->st[i], &src->st[i]);
	dst->rows += src->rows;
	return 0;
}

int
pt_rfit_expect(const pt_rfit *f, int n, pt_err *e)
{
	char (*own)[PT_PARTID_LEN] = NULL;
	int np = f->nparts, rc;

	if (f->parts == NULL && pt_partid_ids(&f->pid, &own, &np, e) < 0)
		return -1;
	rc = pt_partid_expect(f->parts ? f->parts : own, np, n, e);
	free(own);
	return rc;
}

int
pt_rfit_set_part(pt_rfit *f, const char *id, pt_err *e)
{
	char (*p)[PT_PARTID_LEN];

	if (pt_partid_check(id, e) < 0)
		return -1;
	if ((p = malloc(sizeof *p)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	snprintf(p[0], sizeof p[0], "%s", id);
	free(f->parts);
	f->parts = p;
	f->nparts = 1;
	return 0;
}

int
pt_rfit_logit_passes(const pt_rfit *f)
{
	return f->lpasses;
}

/* The count of arm a's training rows of fold k (every fold but k, all
 * when there is one): the exact weight sum, rounded once, when weighted. */
static double
train_count(const pt_rfit *f, int k, int a)
{
	int K = f->spec.folds, A = f->nvocab, kk;
	uint64_t n = 0;
	pt_xsum w;

	pt_xsum_init(&w);
	for (kk = 0; kk < K; kk++)
		if (kk != k || K == 1) {
			n += f->st[kk * A + a].rows;
			pt_xsum_merge(&w, &f->st[kk * A + a].zz[0]);
		}
	return f->weighted ? pt_xsum_round(&w) : (double)n;
}

int
pt_rfit_logit_begin(pt_rfit *f, pt_err *e)
{
	int K = f->spec.folds, A = f->nvocab, p = f->p, k, kk, a, i;
	size_t ng = (size_t)K * (A - 1) * p;
	pt_ridge s;
	pt_err fe; /* the factorisation's message, wrapped in ours */
	double n0, na;

	if (f->spec.prop != PT_PROP_LOGISTIC)
		return 0;
	if (f->rows == 0)
		return pt_fail(e, PT_EEMPTY, "", "no training rows");
	free(f->logit);
	free(f->lfac);
	free(f->lfac1);
	free(f->grad);
	f->logit = calloc(ng + 1, sizeof *f->logit);
	f->lfac = calloc((size_t)K * p * p, sizeof *f->lfac);
	f->lfac1 = calloc((size_t)K * p * p, sizeof *f->lfac1);
	f->grad = calloc(ng + 1, sizeof *f->grad);
	if (!f->logit || !f->lfac || !f->lfac1 || !f->grad ||
	    pt_ridge_init(&s, p) < 0)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (k = 0; k < K; k++) {
		/* The bound of fold k's Hessian: Z'Z / 2 over its training
		 * rows (every fold but k), all arms; plus the penalty. */
		pt_ridge_free(&s);
		if (pt_ridge_init(&s, p) < 0)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		n0 = 0;
		for (a = 0; a < A; a++) {
			for (kk = 0; kk < K; kk++)
				if (kk != k || K == 1)
					pt_ridge_merge(&s, &f->st[kk * A + a]);
			na = train_count(f, k, a);
			if (na == 0) {
				pt_ridge_free(&s);
				return pt_fail(e, PT_EEMPTY, "", "arm '%s' has no "
				    "training rows%s%s", f->vocab[a], f->weighted ?
				    " of positive weight" : "", K > 1 ?
				    " outside one of the cross-fitting folds" :
				    "");
			}
			/* Start at the arm shares: intercepts log(n_a/n_0). */
			if (a == 0)
				n0 = na;
			else
				f->logit[((size_t)k * (A - 1) + a - 1) * p] =
				    log(na / n0);
		}
		if (pt_ridge_factor(&s, 0.5, f->spec.lambda, f->lfac +
		    (size_t)k * p * p, &fe) < 0 || pt_ridge_factor(&s,
		    0.5 / A, f->spec.lambda, f->lfac1 + (size_t)k * p * p,
		    &fe) < 0) {
			pt_ridge_free(&s);
			return pt_fail(e, PT_EVALUE, "", "propensity model: %.700s",
			    fe.msg);
		}
	}
	pt_ridge_free(&s);
	for (i = 0; i < (int)ng; i++)
		pt_xsum_init(&f->grad[i]);
	f->lpasses = 0;
	return 0;
}

int
pt_rfit_logit_add(pt_rfit *f, const pt_batch *b, const char *where, pt_err *e)
{
	int K = f->spec.folds, A = f->nvocab, p = f->p, F = f->nfeatures;
	int j, k, a, fold, pc;
	size_t i;
	int32_t w;
	double x[1024], *xs = x, r, wt = 1;
	const uint64_t *rh;
	pt_xsum *g;

	if (f->bound != b->schema) {
		if (pt_rmodel_bind(f->manifest, F, f->features, f->nvocab,
		    f->vocab, "", b->schema, 3 | (K > 1 ? 4 : 0), f->fcol,
		    &f->tcol, &f->ycol, &f->rcol, &pc, e) < 0) {
			pt_err_where(e, "%.250s", where);
			return -1;
		}
		if (bind_weight(f, b->schema, where, e) < 0)
			return -1;
		f->bound = b->schema;
	}
	if (F > 1024 && (xs = malloc((size_t)F * sizeof *xs)) == NULL)
		return pt_fail(e, PT_ENOMEM, where, "out of memory");
	rh = f->rcol >= 0 ? PT_COL_U64(b, f->rcol) : NULL;
	for (i = 0; i < b->nrows; i++) {
		w = PT_COL_I32(b, f->tcol)[i];
		if (w < 0 || w >= A) {
			if (xs != x)
				free(xs);
			return pt_fail(e, PT_EVALUE, where, "treatment code %d "
			    "is not in the vocabulary", (int)w);
		}
		for (j = 0; j < F; j++)
			xs[j] = PT_COL_F64(b, f->fcol[j])[i];
		design_row(f->missing, F, xs, f->z);
		fold = rh ? pt_score_fold(rh[i], f->spec.fold_seed, K) : 0;
		if (f->weighted)
			wt = PT_COL_F64(b, f->wcol)[i];
		for (k = 0; k < K; k++) {
			if (K > 1 && k == fold)
				continue;
			logit_probs(f->logit + (size_t)k * (A - 1) * p, A, p,
			    f->z, f->eta, f->pr);
			for (a = 1; a < A; a++) {
				r = (w == a ? 1.0 : 0.0) - f->pr[a];
				g = f->grad + ((size_t)k * (A - 1) + a - 1) * p;
				if (!f->weighted) {
					for (j = 0; j < p; j++)
						if (f->z[j] != 0)
							pt_xsum_add(&g[j],
							    f->z[j] * r);
					continue;
				}
				for (j = 0; j < p; j++)
					if (f->z[j] != 0 && pt_xsum_add_prod(&g[j],
					    wt, f->z[j] * r) < 0) {
						if (xs != x)
							free(xs);
						weight_range(e, wt);
						pt_err_where(e, "%.200s: row %zu of a "
						    "frame (propensity pass %d)",
						    where, i + 1, f->lpasses + 1);
						return -1;
					}
			}
		}
	}
	if (xs != x)
		free(xs);
	return 0;
}

/*
 * One step for every fold.  The Hessian of the multinomial log-likelihood
 * (arms 1..A-1) is bounded by M (x) Z'Z with M = (I - 11'/A) / 2 (Boehning,
 * 1992); M has eigenvalue 1/(2A) along the all-ones direction and 1/2
 * across it, so the step splits into the mean of the class gradients,
 * solved with Z'Z/(2A) + lambda D, and the deviations from it, solved with
 * Z'Z/2 + lambda D.  The objective rises at every step.
 */
int
pt_rfit_logit_step(pt_rfit *f, pt_err *e)
{
	int K = f->spec.folds, A = f->nvocab, p = f->p, k, a, j;
	double *g, *gm, *d, *dm, *b, big = 0, step = 0;
	size_t off;

	g = calloc((size_t)(A - 1) * p + 1, sizeof *g);
	gm = calloc((size_t)p + 1, sizeof *gm);
	d = calloc((size_t)p + 1, sizeof *d);
	dm = calloc((size_t)p + 1, sizeof *dm);
	if (!g || !gm || !d || !dm) {
		free(g);
		free(gm);
		free(d);
		free(dm);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	for (k = 0; k < K; k++) {
		/* The penalised gradients and their mean over classes. */
		for (j = 0; j < p; j++)
			gm[j] = 0;
		for (a = 1; a < A; a++) {
			off = ((size_t)k * (A - 1) + a - 1) * p;
			b = f->logit + off;
			for (j = 0; j < p; j++) {
				g[(size_t)(a - 1) * p + j] =
				    pt_xsum_round(&f->grad[off + j]);
				if (j > 0)
					g[(size_t)(a - 1) * p + j] =
					    g[(size_t)(a - 1) * p + j] -
					    f->spec.lambda * b[j];
				pt_xsum_init(&f->grad[off + j]);
				gm[j] = gm[j] + g[(size_t)(a - 1) * p + j];
			}
		}
		for (j = 0; j < p; j++)
			gm[j] = gm[j] / (A - 1);
		pt_ridge_backsolve(f->lfac1 + (size_t)k * p * p, p, gm, dm);
		for (a = 1; a < A; a++) {
			off = ((size_t)k * (A - 1) + a - 1) * p;
			b = f->logit + off;
			for (j = 0; j < p; j++)
				g[(size_t)(a - 1) * p + j] =
				    g[(size_t)(a - 1) * p + j] - gm[j];
			pt_ridge_backsolve(f->lfac + (size_t)k * p * p, p,
			    g + (size_t)(a - 1) * p, d);
			for (j = 0; j < p; j++) {
				d[j] = d[j] + dm[j];
				b[j] = b[j] + d[j];
				if (!isfinite(b[j])) {
					free(g);
					free(gm);
					free(d);
					free(dm);
					return pt_fail(e, PT_EVALUE, "", "the "
					    "propensity model diverges (an arm "
					    "perfectly predicted?); raise "
					    "--lambda");
				}
				if (fabs(b[j]) > big)
					big = fabs(b[j]);
				if (fabs(d[j]) > step)
					step = fabs(d[j]);
			}
		}
	}
	free(g);
	free(gm);
	free(d);
	free(dm);
	f->lpasses++;
	return step <= 1e-10 * (1 + big) || f->lpasses >= f->spec.passes;
}

/* The count of fold k's training rows over all arms, the denominator of
 * the arm shares: the exact weight sum rounded once when weighted (not
 * the sum of the arms' rounded sums), else the row count. */
static double
fold_count(const pt_rfit *f, const pt_rmodel *m, int k)
{
	int A = f->nvocab, K = f->spec.folds, a, kk;
	uint64_t n = 0;
	pt_xsum w;

	if (!f->weighted) {
		for (a = 0; a < A; a++)
			n += m->rows[k * A + a];
		return (double)n;
	}
	pt_xsum_init(&w);
	for (kk = 0; kk < K; kk++)
		if (kk != k || K == 1)
			for (a = 0; a < A; a++)
				pt_xsum_merge(&w, &f->st[kk * A + a].zz[0]);
	return pt_xsum_round(&w);
}

pt_rmodel *
pt_rfit_model(const pt_rfit *f, pt_err *e)
{
	pt_rmodel *m;
	pt_ridge tot, r;
	int k, a, K = f->spec.folds, A = f->nvocab;
	double n, pr, *cnt = NULL;
	pt_err se; /* the solve's message, wrapped in ours */

	memset(&tot, 0, sizeof tot);
	memset(&r, 0, sizeof r);
	if (f->rows == 0) {
		pt_fail(e, PT_EEMPTY, "", "no training rows");
		return NULL;
	}
	if (f->spec.prop == PT_PROP_LOGISTIC && f->logit == NULL) {
		pt_fail(e, PT_EUSAGE, "", "the logistic propensity model has "
		    "not been fitted (it needs passes over the frames)");
		return NULL;
	}
	m = pt_rmodel_alloc(f->nfeatures, A, f->p, f->missing, &f->spec);
	if (m == NULL || pt_ridge_init(&r, f->p) < 0 ||
	    pt_ridge_init(&tot, f->p) < 0)
		goto nomem;
	memcpy(m->manifest, f->manifest, sizeof m->manifest);
	if (!(m->features = pt_strs_dup(f->features, f->nfeatures)) ||
	    !(m->vocab = pt_strs_dup(f->vocab, A)) ||
	    !(cnt = calloc((size_t)K * A, sizeof *cnt)) ||
	    (f->weighted && !(m->weight = calloc((size_t)K * A,
	    sizeof *m->weight))))
		goto nomem;
	for (a = 0; a < A; a++) {
		/* Per arm: the total over folds, then each fold's model is
		 * the total minus that fold (all of it when K is 1). */
		pt_ridge_free(&tot);
		if (pt_ridge_init(&tot, f->p) < 0)
			goto nomem;
		for (k = 0; k < K; k++)
			pt_ridge_merge(&tot, &f->st[k * A + a]);
		for (k = 0; k < K; k++) {
			pt_ridge_free(&r);
			if (pt_ridge_init(&r, f->p) < 0)
				goto nomem;
			pt_ridge_merge(&r, &tot);
			if (K > 1)
				pt_ridge_sub(&r, &f->st[k * A + a]);
			m->rows[k * A + a] = r.rows;
			cnt[k * A + a] = stat_count(f, &r);
			if (m->weight)
				m->weight[k * A + a] = cnt[k * A + a];
			if (cnt[k * A + a] == 0) {
				pt_fail(e, PT_EEMPTY, "", "arm '%s' has no "
				    "training rows%s%s", f->vocab[a], f->weighted ?
				    " of positive weight" : "", K > 1 ?
				    " outside one of the cross-fitting folds" :
				    "");
				goto fail;
			}
			if (pt_ridge_solve(&r, f->spec.lambda,
			    m->coef + ((size_t)k * A + a) * f->p, &se) < 0) {
				pt_fail(e, PT_EVALUE, "", "arm '%s'%s: %.600s",
				    f->vocab[a], K > 1 ? " (a cross-fitting "
				    "fold)" : "", se.msg);
				goto fail;
			}
		}
	}
	for (k = 0; k < K; k++) {
		n = fold_count(f, m, k);
		for (a = 0; a < A; a++) {
			if (f->spec.prop == PT_PROP_GIVEN)
				pr = f->spec.given[a];
			else
				pr = cnt[k * A + a] / n;
			m->prop[k * A + a] = pr < f->spec.floor ?
			    f->spec.floor : pr;
		}
	}
	if (m->logit)
		memcpy(m->logit, f->logit, (size_t)K * (A - 1) * f->p *
		    sizeof *m->logit);
	free(cnt);
	pt_ridge_free(&r);
	pt_ridge_free(&tot);
	return m;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	free(cnt);
	pt_ridge_free(&r);
	pt_ridge_free(&tot);
	pt_rmodel_free(m);
	return NULL;
}

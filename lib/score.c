/*
 * score.c: reward models (fit from exact statistics, partials, merge,
 * solve, files) and the scorer for reward models and forests.
 */
#include "score.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "model.h"
#include "number.h"
#include "xsum.h"

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
	const pt_schema *bound;
	int *fcol, tcol, ycol, rcol, pcol;
	/* The logistic propensity fit: parameters, the Cholesky factor of
	 * each fold's bound, the exact gradient sums, passes taken. */
	double *logit;      /* folds * (nvocab - 1) * p */
	double *lfac;       /* folds * p * p: S / 2 + lambda D */
	double *lfac1;      /* folds * p * p: S / (2 A) + lambda D */
	pt_xsum *grad;      /* folds * (nvocab - 1) * p */
	int lpasses;
	double *eta, *pr;   /* scratch, nvocab */
};

int
pt_score_fold(uint64_t rowhash, uint64_t seed, int folds)
{
	if (folds <= 1)
		return 0;
	return (int)(pt_splitmix64(rowhash ^ seed) % (uint64_t)folds);
}

void
pt_rspec_free(pt_rspec *s)
{
	free(s->given);
	free(s->cost);
	s->given = s->cost = NULL;
}

static int
rspec_copy(pt_rspec *dst, const pt_rspec *src, int nvocab)
{
	*dst = *src;
	dst->given = dst->cost = NULL;
	if (src->given) {
		if ((dst->given = malloc((size_t)nvocab * sizeof(double))) == NULL)
			return -1;
		memcpy(dst->given, src->given, (size_t)nvocab * sizeof(double));
	}
	if (src->cost) {
		if ((dst->cost = malloc((size_t)nvocab * sizeof(double))) == NULL)
			return -1;
		memcpy(dst->cost, src->cost, (size_t)nvocab * sizeof(double));
	}
	return 0;
}

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
	free(f->fcol);
	free(f->logit);
	free(f->lfac);
	free(f->lfac1);
	free(f->grad);
	free(f->eta);
	free(f->pr);
	pt_rspec_free(&f->spec);
	free(f);
}

static int
spec_check(const pt_rspec *s, int nvocab, pt_err *e)
{
	int a;

	if (s->folds < 1 || s->folds > 100)
		return pt_fail(e, PT_EUSAGE, "", "folds must be 1 to 100");
	if (!(s->lambda >= 0) || !isfinite(s->lambda))
		return pt_fail(e, PT_EUSAGE, "", "lambda must be >= 0");
	if (!(s->floor > 0 && s->floor <= 1))
		return pt_fail(e, PT_EUSAGE, "", "the propensity floor must "
		    "be in (0, 1]");
	for (a = 0; s->given && a < nvocab; a++)
		if (!(s->given[a] > 0 && s->given[a] <= 1))
			return pt_fail(e, PT_EUSAGE, "", "given propensity %d "
			    "must be in (0, 1]", a);
	for (a = 0; s->cost && a < nvocab; a++)
		if (!isfinite(s->cost[a]))
			return pt_fail(e, PT_EUSAGE, "", "costs must be finite");
	if (s->prop == PT_PROP_GIVEN && s->given == NULL)
		return pt_fail(e, PT_EUSAGE, "", "given propensities missing");
	if (s->prop == PT_PROP_COLUMN && s->propcol[0] == '\0')
		return pt_fail(e, PT_EUSAGE, "", "propensity column unnamed");
	if (s->prop == PT_PROP_LOGISTIC && (s->passes < 1 || s->passes > 10000))
		return pt_fail(e, PT_EUSAGE, "", "logistic passes must be 1 "
		    "to 10000");
	if (s->prop == PT_PROP_LOGISTIC && nvocab < 2)
		return pt_fail(e, PT_EUSAGE, "", "a logistic propensity model "
		    "needs two arms or more");
	return 0;
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

	if (spec_check(spec, nvocab, e) < 0)
		return NULL;
	for (j = 0; j < nfeatures; j++)
		p += missing[j] != 0;
	if (size_check(p, spec->folds, nvocab, e) < 0)
		return NULL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		goto nomem;
	f->nfeatures = nfeatures;
	f->nvocab = nvocab;
	if (rspec_copy(&f->spec, spec, nvocab) < 0)
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

/*
 * Checks a frame schema against the model's manifest and features and
 * finds the columns.  need: bit 1 treatment, bit 2 outcome, bit 4 row
 * hash, bit 8 the propensity column.
 */
static int
bind_schema(const char *manifest, int nfeatures, char *const *features,
    int nvocab, char *const *vocab, const char *propcol, const pt_schema *s,
    int need, int *fcol, int *tcol, int *ycol, int *rcol, int *pcol,
    pt_err *e)
{
	int nf, j, c, a;

	if (manifest[0] && strcmp(manifest, s->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "the model was made for "
		    "manifest %s, the frames under manifest %s", manifest,
		    s->manifest);
	nf = pt_schema_count_role(s, PT_ROLE_FEATURE);
	for (j = 0; j < nfeatures; j++) {
		c = j < nf ? pt_schema_find_role(s, PT_ROLE_FEATURE, j) : -1;
		if (c < 0 || strcmp(s->cols[c].name, features[j]) != 0 ||
		    s->cols[c].type != PT_F64)
			return pt_fail(e, PT_EMISMATCH, "", "the frames' feature "
			    "order differs from the model's at feature %d "
			    "('%s' in the model, '%s' in the frames)", j + 1,
			    features[j], c < 0 ? "(none)" : s->cols[c].name);
		fcol[j] = c;
	}
	if (nf != nfeatures)
		return pt_fail(e, PT_EMISMATCH, "", "the frames have %d "
		    "features, the model %d", nf, nfeatures);
	*tcol = *ycol = *rcol = *pcol = -1;
	if (need & 1) {
		c = pt_schema_find_role(s, PT_ROLE_TREATMENT, 0);
		if (c < 0 || s->cols[c].type != PT_I32)
			return pt_fail(e, PT_EMISMATCH, "", "the frames lack the "
			    "treatment column this needs");
		if (s->cols[c].nlevels != nvocab)
			return pt_fail(e, PT_EMISMATCH, "", "treatment column "
			    "'%s' has %d levels, the model %d", s->cols[c].name,
			    s->cols[c].nlevels, nvocab);
		for (a = 0; a < nvocab; a++)
			if (strcmp(s->cols[c].levels[a], vocab[a]) != 0)
				return pt_fail(e, PT_EMISMATCH, "", "treatment "
				    "level %d is '%s', the model's '%s'", a,
				    s->cols[c].levels[a], vocab[a]);
		*tcol = c;
	}
	if (need & 2) {
		c = pt_schema_find_role(s, PT_ROLE_OUTCOME, 0);
		if (c < 0 || s->cols[c].type != PT_F64)
			return pt_fail(e, PT_EMISMATCH, "", "the frames lack the "
			    "outcome column this needs");
		*ycol = c;
	}
	if (need & 4) {
		c = pt_schema_find_role(s, PT_ROLE_ROW, 0);
		if (c < 0 || s->cols[c].type != PT_U64)
			return pt_fail(e, PT_EMISMATCH, "", "the frames lack the "
			    "_row column that cross-fitting folds need");
		*rcol = c;
	}
	if (need & 8) {
		c = pt_schema_find(s, propcol);
		if (c < 0 || s->cols[c].type != PT_F64)
			return pt_fail(e, PT_EMISMATCH, "", "the frames lack the "
			    "f64 propensity column '%s'", propcol);
		*pcol = c;
	}
	return 0;
}

/* The design row of x: 1, the features with missing as 0, then the
 * missing indicators. */
static void
design_row(const uint8_t *missing, int nfeatures, const double *x, double *z)
{
	int j, q = 1 + nfeatures;

	z[0] = 1;
	for (j = 0; j < nfeatures; j++)
		z[1 + j] = isnan(x[j]) ? 0.0 : x[j];
	for (j = 0; j < nfeatures; j++)
		if (missing[j])
			z[q++] = isnan(x[j]) ? 1.0 : 0.0;
}

#define RBLK 64 /* design rows added to a fold and arm's sums at once */

/* Adds the rows waiting for fold and arm g. */
static void
rfit_flush(pt_rfit *f, int g)
{
	if (f->bln[g] > 0)
		pt_ridge_add_block(&f->st[g], f->blk + (size_t)g * f->p * RBLK,
		    RBLK, f->bly + (size_t)g * RBLK, f->bln[g]);
	f->bln[g] = 0;
}

int
pt_rfit_add(pt_rfit *f, const pt_batch *b, const char *where, pt_err *e)
{
	const pt_schema *s = b->schema;
	double *x = NULL, y;
	int32_t w;
	size_t i, ng = (size_t)f->spec.folds * f->nvocab;
	int j, need = 3 | (f->spec.folds > 1 ? 4 : 0), fold, g, rc = 0;
	const uint64_t *rh;

	/* The propensity column is checked here too, so that a model is
	 * never fitted for frames it could not score. */
	if (f->spec.prop == PT_PROP_COLUMN)
		need |= 8;
	if (f->bound != s) {
		if (bind_schema(f->manifest, f->nfeatures, f->features,
		    f->nvocab, f->vocab, f->spec.propcol, s, need, f->fcol,
		    &f->tcol, &f->ycol, &f->rcol, &f->pcol, e) < 0) {
			snprintf(e->where, sizeof e->where, "%.250s", where);
			return -1;
		}
		f->bound = s;
	}
	if (f->blk == NULL) {
		f->blk = malloc(ng * (size_t)f->p * RBLK * sizeof *f->blk);
		f->bly = malloc(ng * RBLK * sizeof *f->bly);
		f->bln = calloc(ng, sizeof *f->bln);
		if (f->blk == NULL || f->bly == NULL || f->bln == NULL)
			return pt_fail(e, PT_ENOMEM, where, "out of memory");
	}
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
		}
		if (++f->bln[g] == RBLK)
			rfit_flush(f, g);
		f->rows++;
	}
	free(x);
	if (rc < 0) {
		/* The row, named only now: formatting it for every row cost
		 * more than the row itself. */
		snprintf(e->where, sizeof e->where, "%.200s: row %" PRIu64, where,
		    f->rows + 1);
		return -1;
	}
	/* Nothing waits past the frame: the statistics are complete after
	 * every call. */
	for (g = 0; g < (int)ng; g++)
		rfit_flush(f, g);
	return 0;
}

/* ---- files ---- */

static char *
design_name(const pt_rfit *f, int c)
{
	static char buf[300];
	int j, q = 1 + f->nfeatures;

	if (c == 0)
		return "intercept";
	if (c <= f->nfeatures)
		return f->features[c - 1];
	for (j = 0; j < f->nfeatures; j++)
		if (f->missing[j] && q++ == c) {
			snprintf(buf, sizeof buf, "missing:%.280s",
			    f->features[j]);
			return buf;
		}
	return "?";
}

/* The settings block: written into partials and models, and compared
 * textually when partials merge. */
static void
write_settings(pt_mbuf *b, const pt_rfit *f)
{
	int j, c;
	double *mv;
	char **dn;

	pt_mbuf_printf(b, "outcome: %s\nmodel: ridge\nlambda: ",
	    f->spec.binary ? "binary" : "real");
	pt_mbuf_f64(b, f->spec.lambda);
	pt_mbuf_printf(b, "\nmissing: [");
	for (j = 0; j < f->nfeatures; j++)
		pt_mbuf_printf(b, j ? ", %d" : "%d", f->missing[j]);
	pt_mbuf_printf(b, "]\n");
	dn = calloc((size_t)f->p, sizeof *dn);
	if (dn == NULL) {
		b->err = 1;
		return;
	}
	for (c = 0; c < f->p; c++)
		if ((dn[c] = pt_strdup(design_name(f, c))) == NULL)
			b->err = 1;
	if (!b->err)
		pt_mbuf_strs(b, "design", dn, f->p);
	pt_strs_free(dn, f->p);
	pt_mbuf_printf(b, "folds: %d\nfold_seed: %" PRIu64 "\n",
	    f->spec.folds, f->spec.fold_seed);
	if (f->spec.prop == PT_PROP_CONSTANT)
		pt_mbuf_printf(b, "propensity: constant\n");
	else if (f->spec.prop == PT_PROP_GIVEN) {
		pt_mbuf_printf(b, "propensity: given\n");
		pt_mbuf_f64s(b, "propensity_given", f->spec.given, f->nvocab);
	} else if (f->spec.prop == PT_PROP_LOGISTIC) {
		pt_mbuf_printf(b, "propensity: logistic\npropensity_passes: "
		    "%d\n", f->spec.passes);
	} else {
		char *nm[1];

		nm[0] = (char *)f->spec.propcol;
		pt_mbuf_printf(b, "propensity: column\n");
		pt_mbuf_strs(b, "propensity_column", nm, 1);
	}
	pt_mbuf_printf(b, "propensity_floor: ");
	pt_mbuf_f64(b, f->spec.floor);
	pt_mbuf_printf(b, "\n");
	mv = calloc((size_t)f->nvocab, sizeof *mv);
	if (mv == NULL) {
		b->err = 1;
		return;
	}
	if (f->spec.cost)
		memcpy(mv, f->spec.cost, (size_t)f->nvocab * sizeof *mv);
	pt_mbuf_f64s(b, "cost", mv, f->nvocab);
	free(mv);
}

/* Ends the file with its digest line and hands the buffer over. */
static int
mbuf_done(pt_mbuf *b, char **out, size_t *len, pt_err *e)
{
	pt_mbuf_digest(b, NULL);
	if (b->err) {
		free(b->p);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	*out = b->p;
	*len = b->n;
	return 0;
}

int
pt_rfit_write(const pt_rfit *f, char **out, size_t *len, pt_err *e)
{
	pt_mbuf b = { 0 };
	char t[PT_XSUM_TEXT];
	const pt_ridge *r;
	int k, a, i, nz = f->p * (f->p + 1) / 2;

	pt_mhead_write(&b, "policy-model-partial", f->manifest, f->nfeatures,
	    f->features, f->nvocab, f->vocab);
	write_settings(&b, f);
	pt_mbuf_printf(&b, "rows: %" PRIu64 "\nstats:\n", f->rows);
	for (k = 0; k < f->spec.folds; k++)
		for (a = 0; a < f->nvocab; a++) {
			r = &f->st[k * f->nvocab + a];
			pt_mbuf_printf(&b, "  - fold: %d\n    arm: %d\n"
			    "    rows: %" PRIu64 "\n    zy: [", k, a, r->rows);
			for (i = 0; i < f->p; i++) {
				pt_xsum_encode(&r->zy[i], t);
				pt_mbuf_printf(&b, i ? ", %s" : "%s", t);
			}
			pt_mbuf_printf(&b, "]\n    zz: [");
			for (i = 0; i < nz; i++) {
				pt_xsum_encode(&r->zz[i], t);
				pt_mbuf_printf(&b, i ? ", %s" : "%s", t);
			}
			pt_mbuf_printf(&b, "]\n");
		}
	return mbuf_done(&b, out, len, e);
}

/* Reads the settings block; fills spec, missing (nfeatures entries). */
static int
read_settings(pt_ydoc *d, yaml_node_t *root, int nfeatures, int nvocab,
    pt_rspec *spec, uint8_t *missing, pt_err *e)
{
	char t[160];
	int64_t *mv = NULL, v;
	yaml_node_t *n;
	char **nm;
	int cnt, j;

	memset(spec, 0, sizeof *spec);
	if (pt_ynode_str(d, pt_ynode_need(d, root, "outcome", e), "outcome",
	    t, sizeof t, e) < 0)
		return -1;
	if (strcmp(t, "binary") == 0)
		spec->binary = 1;
	else if (strcmp(t, "real") != 0)
		return pt_fail(e, PT_EFORMAT, d->name, "outcome: '%s' is not "
		    "binary or real", t);
	if (pt_ynode_str(d, pt_ynode_need(d, root, "model", e), "model", t,
	    sizeof t, e) < 0)
		return -1;
	if (strcmp(t, "ridge") != 0)
		return pt_fail(e, PT_EFORMAT, d->name, "model: '%s' is not "
		    "ridge", t);
	if (pt_ynode_f64(d, pt_ynode_need(d, root, "lambda", e), "lambda",
	    &spec->lambda, e) < 0)
		return -1;
	if ((mv = pt_ynode_i64s(d, pt_ynode_need(d, root, "missing", e),
	    "missing", nfeatures, NULL, e)) == NULL)
		return -1;
	for (j = 0; j < nfeatures; j++) {
		if (mv[j] != 0 && mv[j] != 1) {
			free(mv);
			return pt_fail(e, PT_EFORMAT, d->name, "missing: flags "
			    "must be 0 or 1");
		}
		missing[j] = (uint8_t)mv[j];
	}
	free(mv);
	if (pt_ynode_i64(d, pt_ynode_need(d, root, "folds", e), "folds", &v,
	    e) < 0)
		return -1;
	if (v < 1 || v > 100)
		return pt_fail(e, PT_EFORMAT, d->name, "folds: %" PRId64
		    " is not 1 to 100", v);
	spec->folds = (int)v;
	if (pt_ynode_str(d, pt_ynode_need(d, root, "fold_seed", e),
	    "fold_seed", t, sizeof t, e) < 0)
		return -1;
	spec->fold_seed = strtoull(t, NULL, 10);
	if (pt_ynode_str(d, pt_ynode_need(d, root, "propensity", e),
	    "propensity", t, sizeof t, e) < 0)
		return -1;
	if (strcmp(t, "constant") == 0)
		spec->prop = PT_PROP_CONSTANT;
	else if (strcmp(t, "given") == 0) {
		spec->prop = PT_PROP_GIVEN;
		if ((spec->given = pt_ynode_f64s(d, pt_ynode_need(d, root,
		    "propensity_given", e), "propensity_given", nvocab, NULL,
		    e)) == NULL)
			return -1;
	} else if (strcmp(t, "column") == 0) {
		spec->prop = PT_PROP_COLUMN;
		if ((nm = pt_ynode_strs(d, pt_ynode_need(d, root,
		    "propensity_column", e), "propensity_column", &cnt,
		    e)) == NULL)
			return -1;
		if (cnt != 1 || strlen(nm[0]) >= sizeof spec->propcol) {
			pt_strs_free(nm, cnt);
			return pt_fail(e, PT_EFORMAT, d->name,
			    "propensity_column: expected one name");
		}
		snprintf(spec->propcol, sizeof spec->propcol, "%s", nm[0]);
		pt_strs_free(nm, cnt);
	} else if (strcmp(t, "logistic") == 0) {
		spec->prop = PT_PROP_LOGISTIC;
		if (pt_ynode_i64(d, pt_ynode_need(d, root, "propensity_passes",
		    e), "propensity_passes", &v, e) < 0)
			return -1;
		if (v < 1 || v > 10000)
			return pt_fail(e, PT_EFORMAT, d->name,
			    "propensity_passes: out of range");
		spec->passes = (int)v;
	} else
		return pt_fail(e, PT_EFORMAT, d->name, "propensity: '%s' is "
		    "not constant, given, column or logistic", t);
	if (pt_ynode_f64(d, pt_ynode_need(d, root, "propensity_floor", e),
	    "propensity_floor", &spec->floor, e) < 0)
		return -1;
	if ((spec->cost = pt_ynode_f64s(d, pt_ynode_need(d, root, "cost", e),
	    "cost", nvocab, NULL, e)) == NULL)
		return -1;
	(void)n;
	if (spec_check(spec, nvocab, e) < 0) {
		if (e) {
			e->code = PT_EFORMAT;
			snprintf(e->where, sizeof e->where, "%.250s", d->name);
		}
		return -1;
	}
	return 0;
}

pt_rfit *
pt_rfit_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-model-partial", NULL };
	pt_ydoc d;
	yaml_node_t *root, *stats, *it, *n;
	pt_mhead h;
	pt_rspec spec;
	uint8_t *missing = NULL;
	pt_rfit *f = NULL;
	int64_t k, a, rows;
	int i, c, nz, cnt;
	char t[64];
	pt_ridge *r;
	yaml_node_t *s;

	memset(&spec, 0, sizeof spec);
	if ((root = pt_mfile_load(&d, &h, buf, len, name, "partial", formats,
	    NULL, e)) == NULL)
		goto fail;
	if ((missing = calloc((size_t)h.nfeatures + 1, 1)) == NULL)
		goto nomem;
	if (read_settings(&d, root, h.nfeatures, h.nvocab, &spec, missing,
	    e) < 0)
		goto fail;
	if ((f = rfit_alloc(h.nfeatures, h.nvocab, missing, &spec, e)) == NULL)
		goto fail;
	memcpy(f->manifest, h.manifest, sizeof f->manifest);
	f->features = h.features;
	f->vocab = h.vocab;
	h.features = h.vocab = NULL;
	if (pt_ynode_i64(&d, pt_ynode_need(&d, root, "rows", e), "rows", &rows,
	    e) < 0)
		goto fail;
	if ((stats = pt_ynode_need(&d, root, "stats", e)) == NULL)
		goto fail;
	if (pt_ynode_len(stats) != f->spec.folds * f->nvocab) {
		pt_fail(e, PT_EFORMAT, name, "stats: expected %d entries "
		    "(truncated?)", f->spec.folds * f->nvocab);
		goto fail;
	}
	nz = f->p * (f->p + 1) / 2;
	for (i = 0; i < f->spec.folds * f->nvocab; i++) {
		it = pt_ynode_item(&d, stats, i);
		if (pt_ynode_i64(&d, pt_ynode_need(&d, it, "fold", e), "fold",
		    &k, e) < 0 || pt_ynode_i64(&d, pt_ynode_need(&d, it, "arm",
		    e), "arm", &a, e) < 0)
			goto fail;
		if (k * f->nvocab + a != i) {
			pt_fail(e, PT_EFORMAT, name, "stats entry %d: fold/arm "
			    "out of order", i);
			goto fail;
		}
		r = &f->st[i];
		if (pt_ynode_i64(&d, pt_ynode_need(&d, it, "rows", e), "rows",
		    &rows, e) < 0)
			goto fail;
		if (rows < 0) {
			pt_fail(e, PT_EFORMAT, name, "negative row count");
			goto fail;
		}
		r->rows = (uint64_t)rows;
		f->rows += r->rows;
		for (c = 0; c < 2; c++) {
			n = pt_ynode_need(&d, it, c ? "zz" : "zy", e);
			cnt = c ? nz : f->p;
			if (n == NULL)
				goto fail;
			if (pt_ynode_len(n) != cnt) {
				pt_fail(e, PT_EFORMAT, name, "stats entry %d: "
				    "%s: expected %d sums", i, c ? "zz" : "zy",
				    cnt);
				goto fail;
			}
			for (k = 0; k < cnt; k++) {
				s = pt_ynode_item(&d, n, (int)k);
				if (pt_ynode_str(&d, s, "sum", t, sizeof t, e) < 0 &&
				    s != NULL && s->type == YAML_SCALAR_NODE &&
				    s->data.scalar.length >= sizeof t) {
					/* long sums: decode in place */
					char *tmp = pt_strndup((const char *)
					    s->data.scalar.value,
					    s->data.scalar.length);
					int bad = tmp == NULL || pt_xsum_decode(
					    c ? &r->zz[k] : &r->zy[k], tmp) < 0;

					free(tmp);
					if (bad)
						goto badsum;
					continue;
				} else if (s == NULL || s->type !=
				    YAML_SCALAR_NODE)
					goto fail;
				if (pt_xsum_decode(c ? &r->zz[k] : &r->zy[k],
				    t) < 0)
					goto badsum;
			}
		}
	}
	free(missing);
	pt_rspec_free(&spec);
	pt_mhead_free(&h);
	pt_ydoc_free(&d);
	return f;
badsum:
	pt_fail(e, PT_EFORMAT, name, "stats: a malformed exact sum");
	goto fail;
nomem:
	pt_fail(e, PT_ENOMEM, name, "out of memory");
fail:
	free(missing);
	pt_rspec_free(&spec);
	pt_mhead_free(&h);
	pt_ydoc_free(&d);
	pt_rfit_free(f);
	return NULL;
}

/* Header and settings text, for comparing partials. */
static char *
settings_text(const pt_rfit *f)
{
	pt_mbuf b = { 0 };

	pt_mhead_write(&b, "x", f->manifest, f->nfeatures, f->features,
	    f->nvocab, f->vocab);
	write_settings(&b, f);
	if (b.err) {
		free(b.p);
		return NULL;
	}
	return b.p;
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
	same = strcmp(a, b) == 0;
	free(a);
	free(b);
	if (!same)
		return pt_fail(e, PT_EMISMATCH, srcname, "a partial of another "
		    "manifest, feature order or fit settings");
	for (i = 0; i < dst->spec.folds * dst->nvocab; i++)
		pt_ridge_merge(&dst->st[i], &src->st[i]);
	dst->rows += src->rows;
	return 0;
}

void
pt_rmodel_free(pt_rmodel *m)
{
	if (m == NULL)
		return;
	pt_strs_free(m->features, m->nfeatures);
	pt_strs_free(m->vocab, m->nvocab);
	free(m->missing);
	pt_rspec_free(&m->spec);
	free(m->rows);
	free(m->prop);
	free(m->coef);
	free(m->logit);
	free(m);
}

static pt_rmodel *
rmodel_alloc(int nfeatures, int nvocab, int p, const uint8_t *missing,
    const pt_rspec *spec)
{
	pt_rmodel *m = calloc(1, sizeof *m);
	size_t fa;

	if (m == NULL)
		return NULL;
	m->nfeatures = nfeatures;
	m->nvocab = nvocab;
	m->p = p;
	fa = (size_t)spec->folds * nvocab;
	if (rspec_copy(&m->spec, spec, nvocab) < 0 ||
	    !(m->missing = calloc((size_t)nfeatures + 1, 1)) ||
	    !(m->rows = calloc(fa, sizeof *m->rows)) ||
	    !(m->prop = calloc(fa, sizeof *m->prop)) ||
	    !(m->coef = calloc(fa * p, sizeof *m->coef)) ||
	    (spec->prop == PT_PROP_LOGISTIC && !(m->logit = calloc(
	    (size_t)spec->folds * (nvocab - 1) * p + 1, sizeof *m->logit)))) {
		pt_rmodel_free(m);
		return NULL;
	}
	memcpy(m->missing, missing, (size_t)nfeatures);
	return m;
}

/*
 * Softmax probabilities of the A arms for design row z, arm 0 the
 * reference (its linear predictor is 0), B holding A - 1 vectors of p.
 * One fixed operation order, shared by the fit and both scoring backends.
 */
static void
logit_probs(const double *B, int A, int p, const double *z, double *eta,
    double *pr)
{
	int a, j;
	double mx = 0, s = 0, t;

	eta[0] = 0;
	for (a = 1; a < A; a++) {
		const double *b = B + (size_t)(a - 1) * p;

		t = b[0];
		for (j = 1; j < p; j++)
			t = t + b[j] * z[j];
		eta[a] = t;
		if (t > mx)
			mx = t;
	}
	for (a = 0; a < A; a++) {
		pr[a] = exp(eta[a] - mx);
		s = s + pr[a];
	}
	for (a = 0; a < A; a++)
		pr[a] = pr[a] / s;
}

int
pt_rfit_logit_passes(const pt_rfit *f)
{
	return f->lpasses;
}

int
pt_rfit_logit_begin(pt_rfit *f, pt_err *e)
{
	int K = f->spec.folds, A = f->nvocab, p = f->p, k, kk, a, i;
	size_t ng = (size_t)K * (A - 1) * p;
	pt_ridge s;
	uint64_t n0, na;

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
			na = 0;
			for (kk = 0; kk < K; kk++)
				if (kk != k || K == 1) {
					pt_ridge_merge(&s, &f->st[kk * A + a]);
					na += f->st[kk * A + a].rows;
				}
			if (na == 0) {
				pt_ridge_free(&s);
				return pt_fail(e, PT_EEMPTY, "", "arm '%s' has no "
				    "training rows%s", f->vocab[a], K > 1 ?
				    " outside one of the cross-fitting folds" :
				    "");
			}
			/* Start at the arm shares: intercepts log(n_a/n_0). */
			if (a == 0)
				n0 = na;
			else
				f->logit[((size_t)k * (A - 1) + a - 1) * p] =
				    log((double)na / (double)n0);
		}
		if (pt_ridge_factor(&s, 0.5, f->spec.lambda, f->lfac +
		    (size_t)k * p * p, e) < 0 || pt_ridge_factor(&s,
		    0.5 / A, f->spec.lambda, f->lfac1 + (size_t)k * p * p,
		    e) < 0) {
			char msg[768];

			snprintf(msg, sizeof msg, "%s", e->msg);
			pt_ridge_free(&s);
			return pt_fail(e, PT_EVALUE, "", "propensity model: %.700s",
			    msg);
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
	double x[1024], *xs = x, r;
	const uint64_t *rh;
	pt_xsum *g;

	if (f->bound != b->schema) {
		if (bind_schema(f->manifest, F, f->features, f->nvocab,
		    f->vocab, "", b->schema, 3 | (K > 1 ? 4 : 0), f->fcol,
		    &f->tcol, &f->ycol, &f->rcol, &pc, e) < 0) {
			snprintf(e->where, sizeof e->where, "%.250s", where);
			return -1;
		}
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
		for (k = 0; k < K; k++) {
			if (K > 1 && k == fold)
				continue;
			logit_probs(f->logit + (size_t)k * (A - 1) * p, A, p,
			    f->z, f->eta, f->pr);
			for (a = 1; a < A; a++) {
				r = (w == a ? 1.0 : 0.0) - f->pr[a];
				g = f->grad + ((size_t)k * (A - 1) + a - 1) * p;
				for (j = 0; j < p; j++)
					if (f->z[j] != 0)
						pt_xsum_add(&g[j], f->z[j] * r);
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

pt_rmodel *
pt_rfit_model(const pt_rfit *f, pt_err *e)
{
	pt_rmodel *m;
	pt_ridge tot, r;
	int k, a, K = f->spec.folds, A = f->nvocab;
	uint64_t n;
	double pr;

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
	m = rmodel_alloc(f->nfeatures, A, f->p, f->missing, &f->spec);
	if (m == NULL || pt_ridge_init(&r, f->p) < 0 ||
	    pt_ridge_init(&tot, f->p) < 0)
		goto nomem;
	memcpy(m->manifest, f->manifest, sizeof m->manifest);
	if (!(m->features = pt_strs_dup(f->features, f->nfeatures)) ||
	    !(m->vocab = pt_strs_dup(f->vocab, A)))
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
			if (r.rows == 0) {
				pt_fail(e, PT_EEMPTY, "", "arm '%s' has no "
				    "training rows%s", f->vocab[a], K > 1 ?
				    " outside one of the cross-fitting folds" :
				    "");
				goto fail;
			}
			if (pt_ridge_solve(&r, f->spec.lambda,
			    m->coef + ((size_t)k * A + a) * f->p, e) < 0) {
				char msg[768];

				snprintf(msg, sizeof msg, "%s", e->msg);
				pt_fail(e, PT_EVALUE, "", "arm '%s'%s: %.600s",
				    f->vocab[a], K > 1 ? " (a cross-fitting "
				    "fold)" : "", msg);
				goto fail;
			}
		}
	}
	for (k = 0; k < K; k++) {
		n = 0;
		for (a = 0; a < A; a++)
			n += m->rows[k * A + a];
		for (a = 0; a < A; a++) {
			if (f->spec.prop == PT_PROP_GIVEN)
				pr = f->spec.given[a];
			else
				pr = (double)m->rows[k * A + a] / (double)n;
			m->prop[k * A + a] = pr < f->spec.floor ?
			    f->spec.floor : pr;
		}
	}
	if (m->logit)
		memcpy(m->logit, f->logit, (size_t)K * (A - 1) * f->p *
		    sizeof *m->logit);
	pt_ridge_free(&r);
	pt_ridge_free(&tot);
	return m;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	pt_ridge_free(&r);
	pt_ridge_free(&tot);
	pt_rmodel_free(m);
	return NULL;
}

/* A throwaway rfit view of a model, to reuse write_settings. */
static void
rfit_view(pt_rfit *v, const pt_rmodel *m)
{
	memset(v, 0, sizeof *v);
	memcpy(v->manifest, m->manifest, sizeof v->manifest);
	v->nfeatures = m->nfeatures;
	v->features = m->features;
	v->nvocab = m->nvocab;
	v->vocab = m->vocab;
	v->missing = m->missing;
	v->p = m->p;
	v->spec = m->spec;
}

int
pt_rmodel_write(const pt_rmodel *m, char **out, size_t *len, pt_err *e)
{
	pt_mbuf b = { 0 };
	pt_rfit v;
	int k, a, K = m->spec.folds, A = m->nvocab;

	rfit_view(&v, m);
	pt_mhead_write(&b, "policy-model", m->manifest, m->nfeatures,
	    m->features, A, m->vocab);
	write_settings(&b, &v);
	pt_mbuf_printf(&b, "fit:\n");
	for (k = 0; k < K; k++) {
		pt_mbuf_printf(&b, "  - fold: %d\n    rows: [", k);
		for (a = 0; a < A; a++)
			pt_mbuf_printf(&b, a ? ", %" PRIu64 : "%" PRIu64,
			    m->rows[k * A + a]);
		pt_mbuf_printf(&b, "]\n    ");
		pt_mbuf_f64s(&b, "propensity", m->prop + k * A, A);
		pt_mbuf_printf(&b, "    coef:\n");
		for (a = 0; a < A; a++) {
			pt_mbuf_printf(&b, "      - ");
			pt_mbuf_f64s(&b, "", m->coef + ((size_t)k * A + a) *
			    m->p, m->p);
		}
		if (m->logit) {
			pt_mbuf_printf(&b, "    logit:\n");
			for (a = 1; a < A; a++) {
				pt_mbuf_printf(&b, "      - ");
				pt_mbuf_f64s(&b, "", m->logit + ((size_t)k *
				    (A - 1) + a - 1) * m->p, m->p);
			}
		}
	}
	/* pt_mbuf_f64s wrote "key: [..]": strip the ": " of the empty key. */
	if (!b.err) {
		char *p = b.p, *q;

		while ((q = strstr(p, "- : [")) != NULL) {
			memmove(q + 2, q + 4, b.n - (size_t)(q + 4 - b.p) + 1);
			b.n -= 2;
			p = q + 2;
		}
	}
	return mbuf_done(&b, out, len, e);
}

pt_rmodel *
pt_rmodel_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-model", NULL };
	pt_ydoc d;
	yaml_node_t *root, *fit, *it, *cf;
	pt_mhead h;
	pt_rspec spec;
	uint8_t *missing = NULL;
	pt_rmodel *m = NULL;
	int k, a, p, j, A, K;
	int64_t *rows = NULL, fold;
	double *v = NULL;
	char **dn = NULL;
	int ndn = 0;

	memset(&spec, 0, sizeof spec);
	if ((root = pt_mfile_load(&d, &h, buf, len, name, "model", formats,
	    NULL, e)) == NULL)
		goto fail;
	if ((missing = calloc((size_t)h.nfeatures + 1, 1)) == NULL)
		goto nomem;
	if (read_settings(&d, root, h.nfeatures, h.nvocab, &spec, missing,
	    e) < 0)
		goto fail;
	p = 1 + h.nfeatures;
	for (j = 0; j < h.nfeatures; j++)
		p += missing[j];
	if ((dn = pt_ynode_strs(&d, pt_ynode_need(&d, root, "design", e),
	    "design", &ndn, e)) == NULL)
		goto fail;
	if (ndn != p) {
		pt_fail(e, PT_EFORMAT, name, "design: %d columns, expected %d",
		    ndn, p);
		goto fail;
	}
	A = h.nvocab;
	K = spec.folds;
	if ((m = rmodel_alloc(h.nfeatures, A, p, missing, &spec)) == NULL)
		goto nomem;
	memcpy(m->manifest, h.manifest, sizeof m->manifest);
	m->features = h.features;
	m->vocab = h.vocab;
	h.features = h.vocab = NULL;
	if ((fit = pt_ynode_need(&d, root, "fit", e)) == NULL)
		goto fail;
	if (pt_ynode_len(fit) != K) {
		pt_fail(e, PT_EFORMAT, name, "fit: expected %d folds "
		    "(truncated?)", K);
		goto fail;
	}
	for (k = 0; k < K; k++) {
		it = pt_ynode_item(&d, fit, k);
		if (pt_ynode_i64(&d, pt_ynode_need(&d, it, "fold", e), "fold",
		    &fold, e) < 0)
			goto fail;
		if (fold != k) {
			pt_fail(e, PT_EFORMAT, name, "fit: fold %d out of order",
			    k);
			goto fail;
		}
		if (!(rows = pt_ynode_i64s(&d, pt_ynode_need(&d, it, "rows", e),
		    "rows", A, NULL, e)) || !(v = pt_ynode_f64s(&d,
		    pt_ynode_need(&d, it, "propensity", e), "propensity", A,
		    NULL, e)))
			goto fail;
		for (a = 0; a < A; a++) {
			if (rows[a] < 0 || !(v[a] > 0 && v[a] <= 1)) {
				pt_fail(e, PT_EFORMAT, name, "fit: fold %d: bad "
				    "rows or propensity", k);
				goto fail;
			}
			m->rows[k * A + a] = (uint64_t)rows[a];
			m->prop[k * A + a] = v[a];
		}
		free(rows);
		free(v);
		rows = NULL;
		v = NULL;
		if ((cf = pt_ynode_need(&d, it, "coef", e)) == NULL)
			goto fail;
		if (pt_ynode_len(cf) != A) {
			pt_fail(e, PT_EFORMAT, name, "fit: fold %d: coef: "
			    "expected %d vectors", k, A);
			goto fail;
		}
		for (a = 0; a < A; a++) {
			if (!(v = pt_ynode_f64s(&d, pt_ynode_item(&d, cf, a),
			    "coef", p, NULL, e)))
				goto fail;
			for (j = 0; j < p; j++) {
				if (!isfinite(v[j])) {
					pt_fail(e, PT_EFORMAT, name, "fit: "
					    "fold %d: a coefficient is not "
					    "finite", k);
					goto fail;
				}
				m->coef[((size_t)k * A + a) * p + j] = v[j];
			}
			free(v);
			v = NULL;
		}
		if (m->logit == NULL)
			continue;
		if ((cf = pt_ynode_need(&d, it, "logit", e)) == NULL)
			goto fail;
		if (pt_ynode_len(cf) != A - 1) {
			pt_fail(e, PT_EFORMAT, name, "fit: fold %d: logit: "
			    "expected %d vectors", k, A - 1);
			goto fail;
		}
		for (a = 1; a < A; a++) {
			if (!(v = pt_ynode_f64s(&d, pt_ynode_item(&d, cf, a - 1),
			    "logit", p, NULL, e)))
				goto fail;
			for (j = 0; j < p; j++) {
				if (!isfinite(v[j])) {
					pt_fail(e, PT_EFORMAT, name, "fit: "
					    "fold %d: a logit coefficient is not "
					    "finite", k);
					goto fail;
				}
				m->logit[((size_t)k * (A - 1) + a - 1) * p + j] =
				    v[j];
			}
			free(v);
			v = NULL;
		}
	}
	pt_strs_free(dn, ndn);
	free(missing);
	pt_rspec_free(&spec);
	pt_mhead_free(&h);
	pt_ydoc_free(&d);
	return m;
nomem:
	pt_fail(e, PT_ENOMEM, name, "out of memory");
fail:
	pt_strs_free(dn, ndn);
	free(rows);
	free(v);
	free(missing);
	pt_rspec_free(&spec);
	pt_mhead_free(&h);
	pt_ydoc_free(&d);
	pt_rmodel_free(m);
	return NULL;
}

/* ---- scoring ---- */

struct pt_scorer {
	pt_forest *forest;
	pt_rmodel *rm;
	pt_skind kind;
	pt_schema *out;
	const pt_schema *in;
	int nin;
	int *fcol, tcol, ycol, rcol, pcol;
	pt_batch ob;
	void **ocol;
	double **score;      /* nvocab arrays of cap */
	size_t cap;
	/* scratch */
	double *x, *m, *s;
	double *z, *eta, *pr, *prob; /* logistic propensities */
	int32_t *fold;
	const double **fptr;
};

/* 1 when buf has a line that starts with prefix (within the first 4 KiB:
 * the format line comes first). */
static int
has_line(const char *buf, size_t len, const char *prefix)
{
	size_t i, n = strlen(prefix), lim = len < 4096 ? len : 4096;

	for (i = 0; i + n <= lim; i++)
		if ((i == 0 || buf[i - 1] == '\n') &&
		    memcmp(buf + i, prefix, n) == 0)
			return 1;
	return 0;
}

pt_scorer *
pt_scorer_load(const char *buf, size_t len, const char *name, pt_err *e)
{
	pt_scorer *sc = calloc(1, sizeof *sc);

	if (sc == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		return NULL;
	}
	/* The format line decides; both parsers name the file on error. */
	if (has_line(buf, len, "format: policy-model\n"))
		sc->rm = pt_rmodel_parse(buf, len, name, e);
	else if (has_line(buf, len, "format: policy-model-partial")) {
		pt_fail(e, PT_EUSAGE, name, "a partial, not a model: merge "
		    "partials with 'policy-score fit --merge' first");
		free(sc);
		return NULL;
	} else
		sc->forest = pt_forest_parse(buf, len, name, e);
	if (sc->rm == NULL && sc->forest == NULL) {
		free(sc);
		return NULL;
	}
	return sc;
}

static void
scorer_unbind(pt_scorer *sc)
{
	int a, n = sc->forest ? sc->forest->nvocab : sc->rm ? sc->rm->nvocab : 0;

	pt_schema_free(sc->out);
	sc->out = NULL;
	for (a = 0; sc->score && a < n; a++)
		free(sc->score[a]);
	free(sc->score);
	free(sc->ocol);
	free(sc->fcol);
	free(sc->x);
	free(sc->m);
	free(sc->s);
	free(sc->fold);
	free(sc->fptr);
	free(sc->z);
	free(sc->eta);
	free(sc->pr);
	free(sc->prob);
	sc->z = sc->eta = sc->pr = sc->prob = NULL;
	sc->score = NULL;
	sc->ocol = NULL;
	sc->fcol = NULL;
	sc->x = sc->m = sc->s = NULL;
	sc->fold = NULL;
	sc->fptr = NULL;
	sc->cap = 0;
	sc->in = NULL;
}

void
pt_scorer_free(pt_scorer *sc)
{
	if (sc == NULL)
		return;
	scorer_unbind(sc);
	pt_forest_free(sc->forest);
	pt_rmodel_free(sc->rm);
	free(sc);
}

int
pt_scorer_is_forest(const pt_scorer *sc)
{
	return sc->forest != NULL;
}

const pt_forest *
pt_scorer_forest(const pt_scorer *sc)
{
	return sc->forest;
}

const pt_rmodel *
pt_scorer_rmodel(const pt_scorer *sc)
{
	return sc->rm;
}

const pt_schema *
pt_scorer_bind(pt_scorer *sc, const pt_schema *in, pt_skind kind, pt_err *e)
{
	int A, F, j, need = 0;
	char nm[300];
	char *const *vocab;

	scorer_unbind(sc);
	sc->kind = kind;
	if (sc->forest) {
		A = sc->forest->nvocab;
		F = sc->forest->nfeatures;
		vocab = sc->forest->vocab;
	} else {
		A = sc->rm->nvocab;
		F = sc->rm->nfeatures;
		vocab = sc->rm->vocab;
	}
	if (!(sc->fcol = calloc((size_t)F + 1, sizeof *sc->fcol)) ||
	    !(sc->fptr = calloc((size_t)F + 1, sizeof *sc->fptr)) ||
	    !(sc->x = calloc((size_t)F + 1, sizeof *sc->x)) ||
	    !(sc->s = calloc((size_t)A, sizeof *sc->s)) ||
	    !(sc->score = calloc((size_t)A, sizeof *sc->score)))
		goto nomem;
	if (sc->forest) {
		if (pt_forest_bind(sc->forest, in, sc->fcol, e) < 0)
			goto fail;
	} else {
		if (!(sc->z = calloc((size_t)sc->rm->p, sizeof *sc->z)) ||
		    !(sc->eta = calloc((size_t)A, sizeof *sc->eta)) ||
		    !(sc->pr = calloc((size_t)A, sizeof *sc->pr)))
			goto nomem;
		if (kind != PT_SCORE_DM)
			need |= 3;
		if (sc->rm->spec.folds > 1)
			need |= 4;
		if (kind != PT_SCORE_DM && sc->rm->spec.prop == PT_PROP_COLUMN)
			need |= 8;
		if (bind_schema(sc->rm->manifest, F, sc->rm->features, A,
		    sc->rm->vocab, sc->rm->spec.propcol, in, need, sc->fcol,
		    &sc->tcol, &sc->ycol, &sc->rcol, &sc->pcol, e) < 0)
			goto fail;
	}
	for (j = 0; j < A; j++) {
		snprintf(nm, sizeof nm, "score:%s", vocab[j]);
		if (pt_schema_find(in, nm) >= 0) {
			pt_fail(e, PT_EMISMATCH, "", "the frames already have a "
			    "column '%s' (scored twice?)", nm);
			goto fail;
		}
	}
	if ((sc->out = pt_schema_clone(in)) == NULL)
		goto nomem;
	for (j = 0; j < A; j++) {
		snprintf(nm, sizeof nm, "score:%s", vocab[j]);
		if (pt_schema_add(sc->out, nm, PT_F64, PT_ROLE_SCORE, 0, NULL,
		    e) < 0)
			goto fail;
	}
	sc->in = in;
	sc->nin = in->ncols;
	if ((sc->ocol = calloc((size_t)sc->out->ncols, sizeof *sc->ocol)) ==
	    NULL)
		goto nomem;
	return sc->out;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	scorer_unbind(sc);
	return NULL;
}

static int
scorer_reserve(pt_scorer *sc, size_t n, int A, pt_err *e)
{
	size_t cap = sc->cap ? sc->cap : 1024;
	int a;

	if (n <= sc->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	for (a = 0; a < A; a++) {
		free(sc->score[a]);
		sc->score[a] = aligned_alloc(64, (cap * sizeof(double) + 63) /
		    64 * 64);
		if (sc->score[a] == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	free(sc->m);
	free(sc->fold);
	free(sc->prob);
	sc->prob = NULL;
	if (!(sc->m = malloc(cap * sizeof *sc->m)) ||
	    !(sc->fold = malloc(cap * sizeof *sc->fold)) ||
	    (sc->rm && sc->rm->logit && !(sc->prob = malloc(cap * A *
	    sizeof *sc->prob))))
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	sc->cap = cap;
	return 0;
}

/* Checks the treatment, outcome and propensity values the kind needs. */
static int
check_values(pt_scorer *sc, const pt_batch *b, const char *where, pt_err *e)
{
	const pt_rmodel *m = sc->rm;
	size_t i;
	char loc[300];

	for (i = 0; i < b->nrows; i++) {
		if (sc->tcol >= 0) {
			int32_t w = PT_COL_I32(b, sc->tcol)[i];

			if (w < 0 || w >= m->nvocab) {
				snprintf(loc, sizeof loc, "%.250s: row %zu",
				    where, i + 1);
				return pt_fail(e, PT_EVALUE, loc, "treatment "
				    "code %d is not in the vocabulary", (int)w);
			}
		}
		if (sc->ycol >= 0 && !isfinite(PT_COL_F64(b, sc->ycol)[i])) {
			snprintf(loc, sizeof loc, "%.250s: row %zu", where,
			    i + 1);
			return pt_fail(e, PT_EVALUE, loc, "outcome is missing "
			    "or not finite");
		}
		if (sc->pcol >= 0) {
			double p = PT_COL_F64(b, sc->pcol)[i];

			if (!(p > 0 && p <= 1)) {
				snprintf(loc, sizeof loc, "%.250s: row %zu",
				    where, i + 1);
				return pt_fail(e, PT_EVALUE, loc, "propensity "
				    "%g in column '%s' is outside (0, 1]", p,
				    m->spec.propcol);
			}
		}
	}
	return 0;
}

/*
 * The reward formulas, per row, in one fixed order (man/policy-model.5):
 *   m = b0; m = m + b_j * z_j for each design column in order; clip;
 *   dr:  g = m + r, r = (w == a) ? (y - m) / e : 0; g = g - cost
 *   dm:  g = m - cost
 *   ipw: g = r, r = (w == a) ? y / e : 0; g = g - cost
 * Both backends below perform these operations in this order.
 */
static inline double
finish(pt_skind kind, double m, int hit, double y, double e, double cost)
{
	double r, g;

	if (kind == PT_SCORE_DM)
		return m - cost;
	if (kind == PT_SCORE_DR) {
		r = hit ? (y - m) / e : 0.0;
		g = m + r;
	} else
		g = hit ? y / e : 0.0;
	return g - cost;
}

static inline double
clip01(double m)
{
	return m < 0 ? 0.0 : m > 1 ? 1.0 : m;
}

static double
row_propensity(const pt_scorer *sc, const pt_batch *b, size_t i, int fold,
    int a)
{
	const pt_rmodel *m = sc->rm;
	double p;

	if (m->logit) {
		p = sc->pr[a];
		return p < m->spec.floor ? m->spec.floor : p;
	}
	if (sc->pcol >= 0) {
		p = PT_COL_F64(b, sc->pcol)[i];
		return p < m->spec.floor ? m->spec.floor : p;
	}
	return m->prop[fold * m->nvocab + a];
}

static void
rm_score_rows(pt_scorer *sc, const pt_batch *b)
{
	const pt_rmodel *m = sc->rm;
	int A = m->nvocab, F = m->nfeatures, p = m->p, a, j, q, fold, w = -1;
	const double *c;
	double mm, y = 0, v;
	size_t i;

	for (i = 0; i < b->nrows; i++) {
		for (j = 0; j < F; j++)
			sc->x[j] = PT_COL_F64(b, sc->fcol[j])[i];
		fold = sc->rcol >= 0 ? pt_score_fold(PT_COL_U64(b, sc->rcol)[i],
		    m->spec.fold_seed, m->spec.folds) : 0;
		if (sc->tcol >= 0) {
			w = PT_COL_I32(b, sc->tcol)[i];
			y = PT_COL_F64(b, sc->ycol)[i];
		}
		if (m->logit && sc->kind != PT_SCORE_DM) {
			design_row(m->missing, F, sc->x, sc->z);
			logit_probs(m->logit + (size_t)fold * (A - 1) * p, A, p,
			    sc->z, sc->eta, sc->pr);
		}
		for (a = 0; a < A; a++) {
			c = m->coef + ((size_t)fold * A + a) * p;
			mm = c[0];
			for (j = 0; j < F; j++) {
				v = sc->x[j];
				mm = mm + c[1 + j] * (v != v ? 0.0 : v);
			}
			for (j = 0, q = 1 + F; j < F; j++)
				if (m->missing[j]) {
					v = sc->x[j];
					mm = mm + c[q++] * (v != v ? 1.0 : 0.0);
				}
			if (m->spec.binary)
				mm = clip01(mm);
			sc->score[a][i] = finish(sc->kind, mm, w == a, y,
			    sc->kind == PT_SCORE_DM ? 1.0 :
			    row_propensity(sc, b, i, fold, a),
			    m->spec.cost ? m->spec.cost[a] : 0.0);
		}
	}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512 1

/*
 * Arm a's scores for rows [0, n), n a multiple of 8, eight rows at a
 * time: each fold's coefficient of a column sits in one register and a
 * permute by the rows' folds picks it (at most 8 folds).  Per lane these
 * are the operations of the scalar loops below, in the same order: the
 * same bits.  prob: the arm's logistic propensities, or NULL.
 */
__attribute__((target("avx512f,avx512vl")))
static void
rm_arm_avx512(const pt_scorer *sc, const pt_batch *b, int a, size_t n,
    const double *prob)
{
	const pt_rmodel *m = sc->rm;
	int A = m->nvocab, F = m->nfeatures, p = m->p, K = m->spec.folds;
	int j, k, q;
	size_t i;
	double tab[8];
	__m512d T[256 + 1], P, mm, v, z, r, g, e, cost, zero, onev, floorv;
	__m512i fv;
	__mmask8 ord, hit, lt;
	const double *y = NULL, *pc = NULL;
	const int32_t *w = NULL;
	const double *xc[128];

	for (j = 0; j < p; j++) {
		for (k = 0; k < 8; k++)
			tab[k] = m->coef[((size_t)(k < K ? k : 0) * A + a) * p + j];
		T[j] = _mm512_loadu_pd(tab);
	}
	for (k = 0; k < 8; k++)
		tab[k] = m->prop[(k < K ? k : 0) * A + a];
	P = _mm512_loadu_pd(tab);
	for (j = 0; j < F; j++)
		xc[j] = PT_COL_F64(b, sc->fcol[j]);
	if (sc->tcol >= 0) {
		w = PT_COL_I32(b, sc->tcol);
		y = PT_COL_F64(b, sc->ycol);
	}
	if (sc->pcol >= 0)
		pc = PT_COL_F64(b, sc->pcol);
	cost = _mm512_set1_pd(m->spec.cost ? m->spec.cost[a] : 0.0);
	zero = _mm512_setzero_pd();
	onev = _mm512_set1_pd(1.0);
	floorv = _mm512_set1_pd(m->spec.floor);
	for (i = 0; i < n; i += 8) {
		fv = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)
		    (sc->fold + i)));
		mm = _mm512_permutexvar_pd(fv, T[0]);
		for (j = 0; j < F; j++) {
			v = _mm512_loadu_pd(xc[j] + i);
			ord = _mm512_cmp_pd_mask(v, v, _CMP_ORD_Q);
			z = _mm512_maskz_mov_pd(ord, v);
			mm = _mm512_add_pd(mm, _mm512_mul_pd(
			    _mm512_permutexvar_pd(fv, T[1 + j]), z));
		}
		for (j = 0, q = 1 + F; j < F; j++)
			if (m->missing[j]) {
				v = _mm512_loadu_pd(xc[j] + i);
				ord = _mm512_cmp_pd_mask(v, v, _CMP_ORD_Q);
				z = _mm512_mask_mov_pd(onev, ord, zero);
				mm = _mm512_add_pd(mm, _mm512_mul_pd(
				    _mm512_permutexvar_pd(fv, T[q]), z));
				q++;
			}
		if (m->spec.binary) {
			mm = _mm512_mask_mov_pd(mm, _mm512_cmp_pd_mask(mm, zero,
			    _CMP_LT_OQ), zero);
			mm = _mm512_mask_mov_pd(mm, _mm512_cmp_pd_mask(mm, onev,
			    _CMP_GT_OQ), onev);
		}
		if (sc->kind == PT_SCORE_DM) {
			g = _mm512_sub_pd(mm, cost);
		} else {
			if (pc || prob) {
				e = _mm512_loadu_pd(pc ? pc + i : prob + i);
				lt = _mm512_cmp_pd_mask(e, floorv, _CMP_LT_OQ);
				e = _mm512_mask_mov_pd(e, lt, floorv);
			} else
				e = _mm512_permutexvar_pd(fv, P);
			hit = _mm256_cmpeq_epi32_mask(_mm256_loadu_si256(
			    (const __m256i *)(w + i)), _mm256_set1_epi32(a));
			v = _mm512_loadu_pd(y + i);
			if (sc->kind == PT_SCORE_DR) {
				r = _mm512_maskz_div_pd(hit, _mm512_sub_pd(v, mm),
				    e);
				g = _mm512_add_pd(mm, r);
			} else
				g = _mm512_maskz_div_pd(hit, v, e);
			g = _mm512_sub_pd(g, cost);
		}
		_mm512_storeu_pd(sc->score[a] + i, g);
	}
}
#else
#define HAVE_AVX512 0
#endif

static void
rm_score_vector(pt_scorer *sc, const pt_batch *b)
{
	const pt_rmodel *m = sc->rm;
	int A = m->nvocab, F = m->nfeatures, p = m->p, K = m->spec.folds;
	int a, j, q;
	size_t i, n = b->nrows;
	double *mm = sc->m, *out, v, cost;
	const double *x, *c, *y = NULL, *pc = NULL;
	const int32_t *w = NULL;
	int32_t *fold = sc->fold;
	size_t stride = (size_t)A * p, base = 0;

	if (sc->rcol >= 0) {
		const uint64_t *rh = PT_COL_U64(b, sc->rcol);

		for (i = 0; i < n; i++)
			fold[i] = pt_score_fold(rh[i], m->spec.fold_seed, K);
	} else
		memset(fold, 0, n * sizeof *fold);
	if (sc->tcol >= 0) {
		w = PT_COL_I32(b, sc->tcol);
		y = PT_COL_F64(b, sc->ycol);
	}
	if (sc->pcol >= 0)
		pc = PT_COL_F64(b, sc->pcol);
	if (m->logit && sc->kind != PT_SCORE_DM)
		for (i = 0; i < n; i++) {
			for (j = 0; j < F; j++)
				sc->x[j] = PT_COL_F64(b, sc->fcol[j])[i];
			design_row(m->missing, F, sc->x, sc->z);
			logit_probs(m->logit + (size_t)fold[i] * (A - 1) * p, A,
			    p, sc->z, sc->eta, sc->pr);
			for (a = 0; a < A; a++)
				sc->prob[(size_t)a * n + i] = sc->pr[a];
		}
#if HAVE_AVX512
	/* The rows that fill whole registers go through the AVX-512 kernel;
	 * the rest (and everything on other CPUs) through the loops below. */
	if (K <= 8 && p <= 256 && F <= 128 && n >= 8 &&
	    pt_cpu_has(PT_CPU_AVX512F | PT_CPU_AVX512VL)) {
		size_t n8 = n - n % 8;

		for (a = 0; a < A; a++)
			rm_arm_avx512(sc, b, a, n8, sc->prob ? sc->prob +
			    (size_t)a * n : NULL);
		base = n8;
	}
#endif
	for (a = 0; a < A; a++) {
		c = m->coef + (size_t)a * p;
		out = sc->score[a];
		cost = m->spec.cost ? m->spec.cost[a] : 0.0;
		if (K == 1) {
			/* One coefficient vector: loops the compiler can
			 * vectorise; the same operations per row. */
			for (i = base; i < n; i++)
				mm[i] = c[0];
			for (j = 0; j < F; j++) {
				x = PT_COL_F64(b, sc->fcol[j]);
				for (i = base; i < n; i++) {
					v = x[i];
					mm[i] = mm[i] + c[1 + j] *
					    (v != v ? 0.0 : v);
				}
			}
			for (j = 0, q = 1 + F; j < F; j++)
				if (m->missing[j]) {
					x = PT_COL_F64(b, sc->fcol[j]);
					for (i = base; i < n; i++) {
						v = x[i];
						mm[i] = mm[i] + c[q] *
						    (v != v ? 1.0 : 0.0);
					}
					q++;
				}
		} else {
			for (i = base; i < n; i++)
				mm[i] = c[fold[i] * stride];
			for (j = 0; j < F; j++) {
				x = PT_COL_F64(b, sc->fcol[j]);
				for (i = base; i < n; i++) {
					v = x[i];
					mm[i] = mm[i] + c[fold[i] * stride + 1 +
					    j] * (v != v ? 0.0 : v);
				}
			}
			for (j = 0, q = 1 + F; j < F; j++)
				if (m->missing[j]) {
					x = PT_COL_F64(b, sc->fcol[j]);
					for (i = base; i < n; i++) {
						v = x[i];
						mm[i] = mm[i] + c[fold[i] *
						    stride + q] *
						    (v != v ? 1.0 : 0.0);
					}
					q++;
				}
		}
		if (m->spec.binary)
			for (i = base; i < n; i++)
				mm[i] = clip01(mm[i]);
		if (sc->kind == PT_SCORE_DM) {
			for (i = base; i < n; i++)
				out[i] = mm[i] - cost;
		} else if (pc || m->logit) {
			const double *pp = pc ? pc : sc->prob + (size_t)a * n;

			for (i = base; i < n; i++) {
				double e = pp[i] < m->spec.floor ?
				    m->spec.floor : pp[i];

				out[i] = finish(sc->kind, mm[i], w[i] == a,
				    y[i], e, cost);
			}
		} else {
			const double *pr = m->prop + a;

			for (i = base; i < n; i++)
				out[i] = finish(sc->kind, mm[i], w[i] == a,
				    y[i], pr[fold[i] * A], cost);
		}
	}
}

int
pt_scorer_run(pt_scorer *sc, const pt_batch *in, pt_backend backend,
    const pt_batch **out, const char *where, pt_err *e)
{
	int A, F, j;
	size_t i;

	if (sc->in == NULL || (in->schema != sc->in &&
	    !pt_schema_equal(in->schema, sc->in)))
		return pt_fail(e, PT_EMISMATCH, where, "the frames' schema "
		    "changed");
	A = sc->forest ? sc->forest->nvocab : sc->rm->nvocab;
	F = sc->forest ? sc->forest->nfeatures : sc->rm->nfeatures;
	if (scorer_reserve(sc, in->nrows, A, e) < 0)
		return -1;
	if (sc->forest) {
		if (backend == PT_BACKEND_ROW) {
			for (i = 0; i < in->nrows; i++) {
				for (j = 0; j < F; j++)
					sc->x[j] = PT_COL_F64(in,
					    sc->fcol[j])[i];
				pt_forest_score_row(sc->forest, sc->x, sc->s);
				for (j = 0; j < A; j++)
					sc->score[j][i] = sc->s[j];
			}
		} else {
			for (j = 0; j < F; j++)
				sc->fptr[j] = PT_COL_F64(in, sc->fcol[j]);
			pt_forest_score_block(sc->forest, sc->fptr, in->nrows,
			    sc->score);
		}
	} else {
		if (check_values(sc, in, where, e) < 0)
			return -1;
		if (backend == PT_BACKEND_ROW)
			rm_score_rows(sc, in);
		else
			rm_score_vector(sc, in);
	}
	for (j = 0; j < sc->nin; j++)
		sc->ocol[j] = in->col[j];
	for (j = 0; j < A; j++)
		sc->ocol[sc->nin + j] = sc->score[j];
	sc->ob.schema = sc->out;
	sc->ob.nrows = in->nrows;
	sc->ob.cap = in->nrows;
	sc->ob.col = sc->ocol;
	*out = &sc->ob;
	return 0;
}

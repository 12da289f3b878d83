/*
 * rmodel.c: the reward model as an object other steps agree on: its
 * settings (checked and copied the same way for fits and models), the
 * settings block that partials and model files share, the model file
 * itself, and which frame columns a model reads.
 */
#include "rmodel.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score_impl.h"
#include "yamlout.h"

void
pt_rspec_free(pt_rspec *s)
{
	free(s->given);
	free(s->cost);
	free(s->propcol);
	s->given = s->cost = NULL;
	s->propcol = NULL;
}

int
pt_rspec_copy(pt_rspec *dst, const pt_rspec *src, int nvocab)
{
	*dst = *src;
	dst->given = dst->cost = NULL;
	dst->propcol = NULL;
	if (src->propcol && (dst->propcol = pt_strdup(src->propcol)) == NULL)
		return -1;
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

int
pt_rspec_check(const pt_rspec *s, int nvocab, pt_err *e)
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
	if (s->prop == PT_PROP_COLUMN && (s->propcol == NULL ||
	    s->propcol[0] == '\0'))
		return pt_fail(e, PT_EUSAGE, "", "propensity column unnamed");
	if (s->prop == PT_PROP_LOGISTIC && (s->passes < 1 || s->passes > 10000))
		return pt_fail(e, PT_EUSAGE, "", "logistic passes must be 1 "
		    "to 10000");
	if (s->prop == PT_PROP_LOGISTIC && nvocab < 2)
		return pt_fail(e, PT_EUSAGE, "", "a logistic propensity model "
		    "needs two arms or more");
	return 0;
}

int
pt_rmodel_bind(const char *manifest, int nfeatures, char *const *features,
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

/* The name of design column c: intercept, a feature, or missing:FEATURE
 * for an indicator column.  Caller frees; NULL on ENOMEM. */
static char *
design_name(int nfeatures, char *const *features, const uint8_t *missing,
    int c)
{
	int j, q = 1 + nfeatures;

	if (c == 0)
		return pt_strdup("intercept");
	if (c <= nfeatures)
		return pt_strdup(features[c - 1]);
	for (j = 0; j < nfeatures; j++)
		if (missing[j] && q++ == c) {
			size_t n = strlen(features[j]) + 9;
			char *s = malloc(n);
			if (s != NULL)
				snprintf(s, n, "missing:%s", features[j]);
			return s;
		}
	return pt_strdup("?");
}

/* Every design column's name (pt_strs_free), or NULL on ENOMEM. */
static char **
design_names(int nfeatures, char *const *features, const uint8_t *missing,
    int p)
{
	char **dn = calloc((size_t)p + 1, sizeof *dn);

	for (int c = 0; dn != NULL && c < p; c++)
		if ((dn[c] = design_name(nfeatures, features, missing, c)) ==
		    NULL) {
			pt_strs_free(dn, p);
			dn = NULL;
		}
	return dn;
}

void
pt_rsettings_write(pt_buf *b, const pt_rspec *spec, int nfeatures,
    char *const *features, const uint8_t *missing, int p, int nvocab)
{
	double *mv;
	char **dn;

	pt_buf_printf(b, "outcome: %s\nmodel: ridge\nlambda: ",
	    spec->binary ? "binary" : "real");
	pt_y_f64(b, spec->lambda);
	pt_buf_puts(b, "\nmissing: [");
	for (int j = 0; j < nfeatures; j++)
		pt_buf_printf(b, j ? ", %d" : "%d", missing[j]);
	pt_buf_puts(b, "]\n");
	if ((dn = design_names(nfeatures, features, missing, p)) == NULL) {
		pt_buf_fail(b, PT_ENOMEM, "out of memory");
		return;
	}
	pt_y_key(b, 0, "design");
	pt_y_strs(b, dn, p, PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_putc(b, '\n');
	pt_strs_free(dn, p);
	pt_buf_printf(b, "folds: %d\nfold_seed: %" PRIu64 "\n",
	    spec->folds, spec->fold_seed);
	if (spec->prop == PT_PROP_CONSTANT) {
		pt_buf_puts(b, "propensity: constant\n");
	} else if (spec->prop == PT_PROP_GIVEN) {
		pt_buf_puts(b, "propensity: given\npropensity_given: ");
		pt_y_f64s(b, spec->given, nvocab);
		pt_buf_putc(b, '\n');
	} else if (spec->prop == PT_PROP_LOGISTIC) {
		pt_buf_printf(b, "propensity: logistic\npropensity_passes: "
		    "%d\n", spec->passes);
	} else {
		char *nm[1] = { spec->propcol };
		pt_buf_puts(b, "propensity: column\npropensity_column: ");
		pt_y_strs(b, nm, 1, PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_putc(b, '\n');
	}
	pt_buf_puts(b, "propensity_floor: ");
	pt_y_f64(b, spec->floor);
	pt_buf_puts(b, "\ncost: ");
	if ((mv = calloc((size_t)nvocab + 1, sizeof *mv)) == NULL) {
		pt_buf_fail(b, PT_ENOMEM, "out of memory");
		return;
	}
	if (spec->cost)
		memcpy(mv, spec->cost, (size_t)nvocab * sizeof *mv);
	pt_y_f64s(b, mv, nvocab);
	pt_buf_putc(b, '\n');
	free(mv);
}

int
pt_rsettings_read(pt_ydoc *d, yaml_node_t *root, int nfeatures,
    char *const *features, int nvocab, pt_rspec *spec, uint8_t *missing,
    pt_err *e)
{
	int64_t *mv = NULL, v;
	yaml_node_t *n;
	char **nm, **dn;
	int cnt, w, p;

	memset(spec, 0, sizeof *spec);
	if ((w = pt_ynode_word(d, pt_ynode_need(d, root, "outcome", e),
	    "outcome", "real|binary", e)) < 0)
		return -1;
	spec->binary = w == 1;
	if (pt_ynode_word(d, pt_ynode_need(d, root, "model", e), "model",
	    "ridge", e) < 0 ||
	    pt_ynode_f64(d, pt_ynode_need(d, root, "lambda", e), "lambda",
	    &spec->lambda, e) < 0)
		return -1;
	if ((n = pt_ynode_need(d, root, "missing", e)) == NULL ||
	    (mv = pt_ynode_i64s(d, n, "missing", nfeatures, NULL, e)) == NULL)
		return -1;
	p = 1 + nfeatures;
	for (int j = 0; j < nfeatures; j++) {
		if (mv[j] != 0 && mv[j] != 1) {
			free(mv);
			return pt_yfail(e, d, n, PT_EFORMAT, "missing: flags must "
			    "be 0 or 1");
		}
		missing[j] = (uint8_t)mv[j];
		p += missing[j];
	}
	free(mv);
	/* The design's names must be the ones the features and flags give:
	 * an edited list that no longer adds up is refused. */
	if ((n = pt_ynode_need(d, root, "design", e)) == NULL ||
	    (nm = pt_ynode_strs(d, n, "design", &cnt, e)) == NULL)
		return -1;
	if (cnt != p) {
		pt_strs_free(nm, cnt);
		return pt_yfail(e, d, n, PT_EFORMAT, "design: %d columns, the "
		    "features and missing flags make %d", cnt, p);
	}
	if ((dn = design_names(nfeatures, features, missing, p)) == NULL) {
		pt_strs_free(nm, cnt);
		return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	}
	for (int c = 0; c < p; c++)
		if (strcmp(nm[c], dn[c]) != 0) {
			pt_yfail(e, d, n, PT_EFORMAT, "design: column %d is '%s', "
			    "the features and missing flags make it '%s'", c,
			    nm[c], dn[c]);
			pt_strs_free(nm, cnt);
			pt_strs_free(dn, p);
			return -1;
		}
	pt_strs_free(nm, cnt);
	pt_strs_free(dn, p);
	if (pt_ynode_int(d, pt_ynode_need(d, root, "folds", e), "folds", 1,
	    100, &v, e) < 0 ||
	    pt_ynode_u64(d, pt_ynode_need(d, root, "fold_seed", e), "fold_seed",
	    &spec->fold_seed, e) < 0)
		return -1;
	spec->folds = (int)v;
	if ((w = pt_ynode_word(d, pt_ynode_need(d, root, "propensity", e),
	    "propensity", "constant|given|column|logistic", e)) < 0)
		return -1;
	spec->prop = w == 1 ? PT_PROP_GIVEN : w == 2 ? PT_PROP_COLUMN :
	    w == 3 ? PT_PROP_LOGISTIC : PT_PROP_CONSTANT;
	if (spec->prop == PT_PROP_GIVEN) {
		if ((spec->given = pt_ynode_f64s(d, pt_ynode_need(d, root,
		    "propensity_given", e), "propensity_given", nvocab, NULL,
		    e)) == NULL)
			return -1;
	} else if (spec->prop == PT_PROP_COLUMN) {
		if ((n = pt_ynode_need(d, root, "propensity_column", e)) == NULL ||
		    (nm = pt_ynode_strs(d, n, "propensity_column", &cnt,
		    e)) == NULL)
			return -1;
		if (cnt != 1) {
			pt_strs_free(nm, cnt);
			return pt_yfail(e, d, n, PT_EFORMAT, "propensity_column: "
			    "expected one name");
		}
		spec->propcol = nm[0];
		nm[0] = NULL;
		pt_strs_free(nm, cnt);
	} else if (spec->prop == PT_PROP_LOGISTIC) {
		if (pt_ynode_int(d, pt_ynode_need(d, root, "propensity_passes",
		    e), "propensity_passes", 1, 10000, &v, e) < 0)
			return -1;
		spec->passes = (int)v;
	}
	if (pt_ynode_f64(d, pt_ynode_need(d, root, "propensity_floor", e),
	    "propensity_floor", &spec->floor, e) < 0 ||
	    (spec->cost = pt_ynode_f64s(d, pt_ynode_need(d, root, "cost", e),
	    "cost", nvocab, NULL, e)) == NULL)
		return -1;
	if (pt_rspec_check(spec, nvocab, e) < 0) {
		if (e) {
			e->code = PT_EFORMAT;
			snprintf(e->where, sizeof e->where, "%.250s", d->name);
		}
		return -1;
	}
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
	free(m->weight);
	free(m->prop);
	free(m->coef);
	free(m->logit);
	free(m);
}

pt_rmodel *
pt_rmodel_alloc(int nfeatures, int nvocab, int p, const uint8_t *missing,
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
	if (pt_rspec_copy(&m->spec, spec, nvocab) < 0 ||
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

int
pt_rmodel_write(const pt_rmodel *m, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	int K = m->spec.folds, A = m->nvocab;

	pt_fhead_write(&b, "policy-model", m->manifest, m->nfeatures,
	    m->features, A, m->vocab);
	pt_rsettings_write(&b, &m->spec, m->nfeatures, m->features,
	    m->missing, m->p, A);
	pt_buf_puts(&b, "fit:\n");
	for (int k = 0; k < K; k++) {
		pt_buf_printf(&b, "  - fold: %d\n    rows: ", k);
		pt_y_u64s(&b, m->rows + k * A, A);
		if (m->weight) {
			pt_buf_puts(&b, "\n    weight: ");
			pt_y_f64s(&b, m->weight + k * A, A);
		}
		pt_buf_puts(&b, "\n    propensity: ");
		pt_y_f64s(&b, m->prop + k * A, A);
		pt_buf_puts(&b, "\n    coef:\n");
		for (int a = 0; a < A; a++) {
			pt_buf_puts(&b, "      - ");
			pt_y_f64s(&b, m->coef + ((size_t)k * A + a) * m->p, m->p);
			pt_buf_putc(&b, '\n');
		}
		if (m->logit) {
			pt_buf_puts(&b, "    logit:\n");
			for (int a = 1; a < A; a++) {
				pt_buf_puts(&b, "      - ");
				pt_y_f64s(&b, m->logit + ((size_t)k * (A - 1) + a -
				    1) * m->p, m->p);
				pt_buf_putc(&b, '\n');
			}
		}
	}
	pt_y_digest(&b, NULL);
	return pt_buf_take(&b, out, len, "model", e);
}

pt_rmodel *
pt_rmodel_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-model", NULL };
	static const char *const keys[] = { PT_FHEAD_KEYS, PT_RSETTINGS_KEYS,
		"fit", NULL };
	static const char *const foldkeys[] = { "fold", "rows", "weight",
		"propensity", "coef", "logit", NULL };
	pt_ydoc d;
	yaml_node_t *root, *fit, *it, *cf;
	pt_fhead h;
	pt_rspec spec;
	uint8_t *missing = NULL;
	pt_rmodel *m = NULL;
	int k, a, p, j, A, K;
	int64_t fold;
	uint64_t *rows = NULL;
	double *v = NULL;
	yaml_node_t *wn;

	memset(&spec, 0, sizeof spec);
	if ((root = pt_fhead_load(&d, &h, buf, len, name, "model", formats,
	    NULL, e)) == NULL)
		goto fail;
	if (pt_ymap_only(&d, root, keys, e) < 0)
		goto fail;
	if ((missing = calloc((size_t)h.nfeatures + 1, 1)) == NULL)
		goto nomem;
	if (pt_rsettings_read(&d, root, h.nfeatures, h.features, h.nvocab,
	    &spec, missing, e) < 0)
		goto fail;
	p = 1 + h.nfeatures;
	for (j = 0; j < h.nfeatures; j++)
		p += missing[j];
	A = h.nvocab;
	K = spec.folds;
	if ((m = pt_rmodel_alloc(h.nfeatures, A, p, missing, &spec)) == NULL)
		goto nomem;
	memcpy(m->manifest, h.manifest, sizeof m->manifest);
	m->features = h.features;
	m->vocab = h.vocab;
	h.features = h.vocab = NULL;
	if ((fit = pt_ynode_need(&d, root, "fit", e)) == NULL)
		goto fail;
	if (pt_ynode_seq(&d, fit, "fit (one entry per fold)", K, e) < 0)
		goto fail;
	for (k = 0; k < K; k++) {
		it = pt_ynode_item(&d, fit, k);
		if (pt_ymap_only(&d, it, foldkeys, e) < 0 ||
		    pt_ynode_int(&d, pt_ynode_need(&d, it, "fold", e), "fold",
		    k, k, &fold, e) < 0)
			goto fail;
		if (!(rows = pt_ynode_u64s(&d, pt_ynode_need(&d, it, "rows", e),
		    "rows", A, NULL, e)) || !(v = pt_ynode_f64s(&d,
		    pt_ynode_need(&d, it, "propensity", e), "propensity", A,
		    NULL, e)))
			goto fail;
		for (a = 0; a < A; a++) {
			if (!(v[a] > 0 && v[a] <= 1)) {
				pt_yfail(e, &d, it, PT_EFORMAT, "fit: fold %d: a "
				    "propensity outside (0, 1]", k);
				goto fail;
			}
			m->rows[k * A + a] = rows[a];
			m->prop[k * A + a] = v[a];
		}
		free(rows);
		free(v);
		rows = NULL;
		v = NULL;
		/* weight: in every fold of a weighted fit, or in none. */
		wn = pt_ynode_get(&d, it, "weight");
		if (k == 0 && wn != NULL && (m->weight = calloc((size_t)K * A,
		    sizeof *m->weight)) == NULL)
			goto nomem;
		if ((wn != NULL) != (m->weight != NULL)) {
			pt_yfail(e, &d, it, PT_EFORMAT, "fit: fold %d: weight: "
			    "in some folds but not all", k);
			goto fail;
		}
		if (wn != NULL) {
			if (!(v = pt_ynode_f64s(&d, wn, "weight", A, NULL, e)))
				goto fail;
			for (a = 0; a < A; a++) {
				if (!(v[a] >= 0 && v[a] < INFINITY)) {
					pt_yfail(e, &d, wn, PT_EFORMAT, "fit: fold "
					    "%d: a weight sum that is not a finite "
					    "number >= 0", k);
					goto fail;
				}
				m->weight[k * A + a] = v[a];
			}
			free(v);
			v = NULL;
		}
		if ((cf = pt_ynode_need(&d, it, "coef", e)) == NULL)
			goto fail;
		if (pt_ynode_seq(&d, cf, "coef (one vector per arm)", A, e) < 0)
			goto fail;
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
		if (pt_ynode_seq(&d, cf, "logit (one vector per arm but the "
		    "first)", A - 1, e) < 0)
			goto fail;
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
	free(missing);
	pt_rspec_free(&spec);
	pt_fhead_free(&h);
	pt_ydoc_free(&d);
	return m;
nomem:
	pt_fail(e, PT_ENOMEM, name, "out of memory");
fail:
	free(rows);
	free(v);
	free(missing);
	pt_rspec_free(&spec);
	pt_fhead_free(&h);
	pt_ydoc_free(&d);
	pt_rmodel_free(m);
	return NULL;
}

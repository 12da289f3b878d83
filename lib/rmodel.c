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

void
pt_rspec_free(pt_rspec *s)
{
	free(s->given);
	free(s->cost);
	s->given = s->cost = NULL;
}

int
pt_rspec_copy(pt_rspec *dst, const pt_rspec *src, int nvocab)
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
 * for an indicator column.  In a static buffer, valid until the next
 * call. */
static char *
design_name(int nfeatures, char *const *features, const uint8_t *missing,
    int c)
{
	static char buf[300];
	int j, q = 1 + nfeatures;

	if (c == 0)
		return "intercept";
	if (c <= nfeatures)
		return features[c - 1];
	for (j = 0; j < nfeatures; j++)
		if (missing[j] && q++ == c) {
			snprintf(buf, sizeof buf, "missing:%.280s", features[j]);
			return buf;
		}
	return "?";
}

void
pt_rsettings_write(pt_mbuf *b, const pt_rspec *spec, int nfeatures,
    char *const *features, const uint8_t *missing, int p, int nvocab)
{
	int j, c;
	double *mv;
	char **dn;

	pt_mbuf_printf(b, "outcome: %s\nmodel: ridge\nlambda: ",
	    spec->binary ? "binary" : "real");
	pt_mbuf_f64(b, spec->lambda);
	pt_mbuf_printf(b, "\nmissing: [");
	for (j = 0; j < nfeatures; j++)
		pt_mbuf_printf(b, j ? ", %d" : "%d", missing[j]);
	pt_mbuf_printf(b, "]\n");
	dn = calloc((size_t)p, sizeof *dn);
	if (dn == NULL) {
		b->err = 1;
		return;
	}
	for (c = 0; c < p; c++)
		if ((dn[c] = pt_strdup(design_name(nfeatures, features,
		    missing, c))) == NULL)
			b->err = 1;
	if (!b->err)
		pt_mbuf_strs(b, "design", dn, p);
	pt_strs_free(dn, p);
	pt_mbuf_printf(b, "folds: %d\nfold_seed: %" PRIu64 "\n",
	    spec->folds, spec->fold_seed);
	if (spec->prop == PT_PROP_CONSTANT)
		pt_mbuf_printf(b, "propensity: constant\n");
	else if (spec->prop == PT_PROP_GIVEN) {
		pt_mbuf_printf(b, "propensity: given\n");
		pt_mbuf_f64s(b, "propensity_given", spec->given, nvocab);
	} else if (spec->prop == PT_PROP_LOGISTIC) {
		pt_mbuf_printf(b, "propensity: logistic\npropensity_passes: "
		    "%d\n", spec->passes);
	} else {
		char *nm[1];

		nm[0] = (char *)spec->propcol;
		pt_mbuf_printf(b, "propensity: column\n");
		pt_mbuf_strs(b, "propensity_column", nm, 1);
	}
	pt_mbuf_printf(b, "propensity_floor: ");
	pt_mbuf_f64(b, spec->floor);
	pt_mbuf_printf(b, "\n");
	mv = calloc((size_t)nvocab, sizeof *mv);
	if (mv == NULL) {
		b->err = 1;
		return;
	}
	if (spec->cost)
		memcpy(mv, spec->cost, (size_t)nvocab * sizeof *mv);
	pt_mbuf_f64s(b, "cost", mv, nvocab);
	free(mv);
}

int
pt_rsettings_read(pt_ydoc *d, yaml_node_t *root, int nfeatures,
    int nvocab, pt_rspec *spec, uint8_t *missing, pt_err *e)
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
	pt_mbuf b = { 0 };
	int k, a, K = m->spec.folds, A = m->nvocab;

	pt_mhead_write(&b, "policy-model", m->manifest, m->nfeatures,
	    m->features, A, m->vocab);
	pt_rsettings_write(&b, &m->spec, m->nfeatures, m->features,
	    m->missing, m->p, A);
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
	return pt_mbuf_done(&b, NULL, out, len, e);
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
	if (pt_rsettings_read(&d, root, h.nfeatures, h.nvocab, &spec, missing,
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
	if ((m = pt_rmodel_alloc(h.nfeatures, A, p, missing, &spec)) == NULL)
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

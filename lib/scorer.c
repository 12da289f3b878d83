/*
 * scorer.c: scoring frames with a reward model or a forest
 * (policy-score).
 *
 * The model is loaded once per process and bound once per schema; a frame
 * is scored whole.  Reward models have two backends, a row at a time (the
 * reference) and a column at a time (with an AVX-512 kernel where the CPU
 * has one), that perform the same operations in the same order per row,
 * so they give the same bits.
 */
#include "scorer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "score_impl.h"

struct pt_scorer {
	pt_forest *forest;
	pt_forest **sub;     /* cross-fitted forest: per fold, its trees */
	double *gx, *gs;     /* per fold: its rows' features, their scores */
	double **gout;       /* nvocab pointers into gs */
	size_t *gi;          /* the rows grouped by fold */
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
	if (sc->forest != NULL && sc->forest->folds > 1) {
		int K = sc->forest->folds;
		if ((sc->sub = calloc((size_t)K, sizeof *sc->sub)) == NULL) {
			pt_fail(e, PT_ENOMEM, name, "out of memory");
			pt_scorer_free(sc);
			return NULL;
		}
		for (int k = 0; k < K; k++)
			if ((sc->sub[k] = pt_forest_fold(sc->forest, k, e)) ==
			    NULL) {
				pt_scorer_free(sc);
				return NULL;
			}
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
	free(sc->gx);
	free(sc->gs);
	free(sc->gi);
	free(sc->gout);
	sc->gx = sc->gs = NULL;
	sc->gi = NULL;
	sc->gout = NULL;
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
	if (sc->sub != NULL)
		for (int k = 0; k < sc->forest->folds; k++)
			pt_forest_free(sc->sub[k]);
	free(sc->sub);
	pt_forest_free(sc->forest);
	pt_rmodel_free(sc->rm);
	free(sc);
}

int
pt_scorer_has_kinds(const pt_scorer *sc)
{
	return sc->rm != NULL || sc->forest->prop != NULL;
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

/* "score:LABEL", the name of a label's score column; caller frees. */
static char *
score_name(const char *label)
{
	size_t n = strlen(label) + 7;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "score:%s", label);
	return s;
}

const pt_schema *
pt_scorer_bind(pt_scorer *sc, const pt_schema *in, pt_skind kind, pt_err *e)
{
	int A, F, j, need = 0;
	char *nm = NULL;
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
	    !(sc->score = calloc((size_t)A, sizeof *sc->score)) ||
	    (sc->sub && !(sc->gout = calloc((size_t)A, sizeof *sc->gout))))
		goto nomem;
	if (sc->forest) {
		const pt_forest *f = sc->forest;
		sc->tcol = sc->ycol = sc->rcol = sc->pcol = -1;
		/* A fitted outcome forest's dr and ipw scores need the
		 * treatment and outcome, checked as a reward model's are; a
		 * cross-fitted one the rows' identities. */
		if (f->prop != NULL && kind != PT_SCORE_DM)
			need |= 3;
		if (f->folds > 1)
			need |= 4;
		if (need && pt_rmodel_bind(f->manifest, F, f->features, A,
		    f->vocab, NULL, in, need, sc->fcol, &sc->tcol, &sc->ycol,
		    &sc->rcol, &sc->pcol, e) < 0)
			goto fail;
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
		if (pt_rmodel_bind(sc->rm->manifest, F, sc->rm->features, A,
		    sc->rm->vocab, sc->rm->spec.propcol, in, need, sc->fcol,
		    &sc->tcol, &sc->ycol, &sc->rcol, &sc->pcol, e) < 0)
			goto fail;
	}
	for (j = 0; j < A; j++) {
		free(nm);
		if ((nm = score_name(vocab[j])) == NULL)
			goto nomem;
		if (pt_schema_find(in, nm) >= 0) {
			pt_fail(e, PT_EMISMATCH, "", "the frames already have a "
			    "column '%s' (scored twice?)", nm);
			goto fail;
		}
	}
	if ((sc->out = pt_schema_clone(in)) == NULL)
		goto nomem;
	for (j = 0; j < A; j++) {
		free(nm);
		if ((nm = score_name(vocab[j])) == NULL)
			goto nomem;
		if (pt_schema_add(sc->out, nm, PT_F64, PT_ROLE_SCORE, 0, NULL,
		    e) < 0)
			goto fail;
	}
	free(nm);
	nm = NULL;
	sc->in = in;
	sc->nin = in->ncols;
	if ((sc->ocol = calloc((size_t)sc->out->ncols, sizeof *sc->ocol)) ==
	    NULL)
		goto nomem;
	return sc->out;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	free(nm);
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
	free(sc->gx);
	free(sc->gs);
	free(sc->gi);
	sc->gx = sc->gs = NULL;
	sc->gi = NULL;
	if (sc->sub && (!(sc->gx = malloc(cap * (size_t)(sc->forest->nfeatures >
	    0 ? sc->forest->nfeatures : 1) * sizeof *sc->gx)) ||
	    !(sc->gs = malloc(cap * (size_t)A * sizeof *sc->gs)) ||
	    !(sc->gi = malloc(cap * sizeof *sc->gi))))
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	if (!(sc->m = malloc(cap * sizeof *sc->m)) ||
	    !(sc->fold = malloc(cap * sizeof *sc->fold)) ||
	    (sc->rm && sc->rm->logit && !(sc->prob = malloc(cap * A *
	    sizeof *sc->prob))))
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	sc->cap = cap;
	return 0;
}

/* Checks the treatment, outcome and propensity values the kind needs, in
 * rows from on (the rows before are known good). */
static int
check_values(pt_scorer *sc, const pt_batch *b, size_t from, const char *where,
    pt_err *e)
{
	const pt_rmodel *m = sc->rm;
	const int A = m ? m->nvocab : sc->forest->nvocab;
	size_t i, n = b->nrows;
	char loc[300];
	uint64_t ybad = 0;
	uint32_t wmax = 0;
	int pbad = 0;

	/* First a pass without branches; the row is looked for only when
	 * a value is wrong. */
	if (sc->tcol >= 0) {
		const int32_t *w = PT_COL_I32(b, sc->tcol);

		for (i = from; i < n; i++)
			wmax = (uint32_t)w[i] > wmax ? (uint32_t)w[i] : wmax;
	}
	if (sc->ycol >= 0) {
		const double *y = PT_COL_F64(b, sc->ycol);

		for (i = from; i < n; i++) {
			uint64_t u;
			memcpy(&u, &y[i], sizeof u);
			ybad |= (u & UINT64_C(0x7ff0000000000000)) +
			    UINT64_C(0x0010000000000000);
		}
	}
	if (sc->pcol >= 0) {
		const double *pp = PT_COL_F64(b, sc->pcol);

		for (i = from; i < n; i++)
			pbad |= !(pp[i] > 0) | !(pp[i] <= 1);
	}
	if (wmax < (uint32_t)A && !(ybad >> 63) && !pbad)
		return 0;
	for (i = from; i < n; i++) {
		if (sc->tcol >= 0) {
			int32_t w = PT_COL_I32(b, sc->tcol)[i];

			if (w < 0 || w >= A) {
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

/*
 * All arms' scores for rows [0, n), n a multiple of 8, eight rows at a
 * time (A <= 8, A * p <= 512): the same per-lane operations in the same
 * order as rm_arm_avx512, so the same bits, with three savings.  A row's
 * features are loaded once for all arms, and the arms' sums are
 * independent chains the CPU overlaps.  The missing indicators are 0 in
 * a block without missing values, and m + c * 0 == m whenever c is finite
 * and m is not zero (c * 0 is a zero, and only a zero changes when a zero
 * is added to it), so such blocks skip them unless a lane's sum is zero.
 * And every row hits exactly one arm (check_values holds w to the
 * vocabulary), so one division per block, of the hit arm's operands
 * picked per lane, gives each arm's r.  prob: the logistic propensities,
 * arm a's at prob + a * stride, or NULL.
 *
 * The kernel checks as it goes what check_values and the overflow check
 * in pt_scorer_run would check in passes of their own: returns 0 when the
 * rows' treatment codes, outcomes and propensities are valid and their
 * scores finite, 1 when one may not be (the caller then checks all rows
 * itself, and reports the first fault).
 */
__attribute__((target("avx512f,avx512vl")))
static int
rm_rows_avx512(const pt_scorer *sc, const pt_batch *b, size_t n,
    const double *prob, size_t stride)
{
	const pt_rmodel *m = sc->rm;
	int A = m->nvocab, F = m->nfeatures, p = m->p, K = m->spec.folds;
	int a, j, k, q, nmiss = 0, skip = 1;
	size_t i;
	double tab[8];
	__m512d T[512], P[8], cost[8], Z[128], mm[8], v, z, e, ew, mw, r, g;
	__m512d zero, onev, floorv;
	__m512i fv, expo, low, acc;
	__m256i wv, Av;
	__mmask8 ord[128], nan, hit[8], zm, vbad = 0;
	const double *y = NULL, *pc = NULL;
	const int32_t *w = NULL;
	const double *xc[128];
	int mj[128];

	for (a = 0; a < A; a++) {
		for (j = 0; j < p; j++) {
			for (k = 0; k < 8; k++) {
				tab[k] = m->coef[((size_t)(k < K ? k : 0) * A +
				    a) * p + j];
				if (j > F && !isfinite(tab[k]))
					skip = 0;
			}
			T[a * p + j] = _mm512_loadu_pd(tab);
		}
		for (k = 0; k < 8; k++)
			tab[k] = m->prop[(k < K ? k : 0) * A + a];
		P[a] = _mm512_loadu_pd(tab);
		cost[a] = _mm512_set1_pd(m->spec.cost ? m->spec.cost[a] : 0.0);
	}
	for (j = 0; j < F; j++) {
		xc[j] = PT_COL_F64(b, sc->fcol[j]);
		if (m->missing[j])
			mj[nmiss++] = j;
	}
	if (sc->tcol >= 0) {
		w = PT_COL_I32(b, sc->tcol);
		y = PT_COL_F64(b, sc->ycol);
	}
	if (sc->pcol >= 0)
		pc = PT_COL_F64(b, sc->pcol);
	zero = _mm512_setzero_pd();
	onev = _mm512_set1_pd(1.0);
	floorv = _mm512_set1_pd(m->spec.floor);
	/* (bits & exponent) + its lowest bit: bit 63 set for inf and nan. */
	expo = _mm512_set1_epi64((long long)0x7ff0000000000000LL);
	low = _mm512_set1_epi64((long long)0x0010000000000000LL);
	acc = _mm512_setzero_si512();
	Av = _mm256_set1_epi32(A);
	/* dm checks no values here: the caller does, if there are any. */
	if (sc->kind == PT_SCORE_DM &&
	    (sc->tcol >= 0 || sc->ycol >= 0 || sc->pcol >= 0))
		vbad = 1;
#define PT_NONFINITE(x) _mm512_add_epi64(_mm512_and_si512( \
	_mm512_castpd_si512(x), expo), low)
	for (i = 0; i < n; i += 8) {
		fv = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)
		    (sc->fold + i)));
		nan = 0;
		for (j = 0; j < F; j++) {
			v = _mm512_loadu_pd(xc[j] + i);
			ord[j] = _mm512_cmp_pd_mask(v, v, _CMP_ORD_Q);
			nan |= (__mmask8)~ord[j];
			Z[j] = _mm512_maskz_mov_pd(ord[j], v);
		}
		for (a = 0; a < A; a++) {
			const __m512d *t = T + a * p;
			__m512d s = _mm512_permutexvar_pd(fv, t[0]);

			for (j = 0; j < F; j++)
				s = _mm512_add_pd(s, _mm512_mul_pd(
				    _mm512_permutexvar_pd(fv, t[1 + j]), Z[j]));
			zm = _mm512_cmp_pd_mask(s, zero, _CMP_EQ_OQ);
			if (nmiss > 0 && (!skip || nan || zm))
				for (k = 0, q = 1 + F; k < nmiss; k++, q++) {
					z = _mm512_mask_mov_pd(onev,
					    ord[mj[k]], zero);
					s = _mm512_add_pd(s, _mm512_mul_pd(
					    _mm512_permutexvar_pd(fv, t[q]), z));
				}
			if (m->spec.binary) {
				s = _mm512_mask_mov_pd(s, _mm512_cmp_pd_mask(s,
				    zero, _CMP_LT_OQ), zero);
				s = _mm512_mask_mov_pd(s, _mm512_cmp_pd_mask(s,
				    onev, _CMP_GT_OQ), onev);
			}
			mm[a] = s;
		}
		if (sc->kind == PT_SCORE_DM) {
			for (a = 0; a < A; a++) {
				g = _mm512_sub_pd(mm[a], cost[a]);
				acc = _mm512_or_si512(acc, PT_NONFINITE(g));
				_mm512_storeu_pd(sc->score[a] + i, g);
			}
			continue;
		}
		wv = _mm256_loadu_si256((const __m256i *)(w + i));
		vbad |= _mm256_cmpge_epu32_mask(wv, Av);
		if (pc) {
			e = _mm512_loadu_pd(pc + i);
			vbad |= (__mmask8)~(_mm512_cmp_pd_mask(e, zero,
			    _CMP_GT_OQ) & _mm512_cmp_pd_mask(e, onev,
			    _CMP_LE_OQ));
		}
		ew = mw = zero;
		for (a = 0; a < A; a++) {
			hit[a] = _mm256_cmpeq_epi32_mask(wv,
			    _mm256_set1_epi32(a));
			if (pc || prob) {
				e = _mm512_loadu_pd(pc ? pc + i :
				    prob + (size_t)a * stride + i);
				e = _mm512_mask_mov_pd(e, _mm512_cmp_pd_mask(e,
				    floorv, _CMP_LT_OQ), floorv);
			} else
				e = _mm512_permutexvar_pd(fv, P[a]);
			ew = _mm512_mask_mov_pd(ew, hit[a], e);
			mw = _mm512_mask_mov_pd(mw, hit[a], mm[a]);
		}
		v = _mm512_loadu_pd(y + i);
		acc = _mm512_or_si512(acc, PT_NONFINITE(v));
		if (sc->kind == PT_SCORE_DR) {
			r = _mm512_div_pd(_mm512_sub_pd(v, mw), ew);
			for (a = 0; a < A; a++) {
				g = _mm512_add_pd(mm[a],
				    _mm512_maskz_mov_pd(hit[a], r));
				g = _mm512_sub_pd(g, cost[a]);
				acc = _mm512_or_si512(acc, PT_NONFINITE(g));
				_mm512_storeu_pd(sc->score[a] + i, g);
			}
		} else {
			r = _mm512_div_pd(v, ew);
			for (a = 0; a < A; a++) {
				g = _mm512_sub_pd(_mm512_maskz_mov_pd(hit[a],
				    r), cost[a]);
				acc = _mm512_or_si512(acc, PT_NONFINITE(g));
				_mm512_storeu_pd(sc->score[a] + i, g);
			}
		}
	}
#undef PT_NONFINITE
	return vbad != 0 || _mm512_cmp_epu64_mask(acc,
	    _mm512_set1_epi64((long long)0x8000000000000000ULL),
	    _MM_CMPINT_NLT) != 0;
}
#else
#define HAVE_AVX512 0
#endif

/*
 * The rows' folds, pt_score_fold of each.  A 64-bit division by a number
 * known only at run time is most of that function's time; for the usual
 * fold counts the compiler divides by a constant instead (a multiply), with
 * the same quotient.
 */
#define FOLD_LOOP(k) \
	for (i = 0; i < n; i++) \
		fold[i] = (int32_t)(pt_splitmix64(rh[i] ^ seed) % (k))

static void
folds_of(const uint64_t *rh, size_t n, uint64_t seed, int K, int32_t *fold)
{
	size_t i;

	switch (K) {
	case 2: FOLD_LOOP(2u); break;
	case 3: FOLD_LOOP(3u); break;
	case 4: FOLD_LOOP(4u); break;
	case 5: FOLD_LOOP(5u); break;
	case 6: FOLD_LOOP(6u); break;
	case 7: FOLD_LOOP(7u); break;
	case 8: FOLD_LOOP(8u); break;
	case 10: FOLD_LOOP(10u); break;
	default:
		for (i = 0; i < n; i++)
			fold[i] = pt_score_fold(rh[i], seed, K);
	}
}
#undef FOLD_LOOP

/*
 * Returns the number of leading rows whose values and scores it has
 * checked (see rm_rows_avx512) and found good: the caller checks the rest.
 */
static size_t
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
	size_t stride = (size_t)A * p, base = 0, checked = 0;

	if (sc->rcol >= 0)
		folds_of(PT_COL_U64(b, sc->rcol), n, m->spec.fold_seed, K, fold);
	else
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
	if (K <= 8 && p <= 256 && F <= 128 && n >= 8 && pt_cpu_has(PT_CPU_AVX512F | PT_CPU_AVX512VL)) {
		size_t n8 = n - n % 8;

		if (A <= 8 && A * p <= 512) {
			if (rm_rows_avx512(sc, b, n8, sc->prob, n) == 0)
				checked = n8;
		} else
			for (a = 0; a < A; a++)
				rm_arm_avx512(sc, b, a, n8, sc->prob ?
				    sc->prob + (size_t)a * n : NULL);
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
	return checked;
}

/*
 * A cross-fitted forest: each row scored by its fold's trees (sc->sub).
 * The row backend walks row by row; the vector backend gathers a fold's
 * rows into columns, scores them as one block and scatters the scores
 * back.  Either way a row's trees and their order are its fold's, so the
 * bits are the same.
 */
static void
forest_folds(pt_scorer *sc, const pt_batch *b, pt_backend backend)
{
	const pt_forest *f = sc->forest;
	const uint64_t *rid = PT_COL_U64(b, sc->rcol);
	int K = f->folds, F = f->nfeatures, A = f->nvocab;
	size_t n = b->nrows, i, m;

	if (backend == PT_BACKEND_ROW) {
		for (i = 0; i < n; i++) {
			int k = pt_score_fold(rid[i], f->fold_seed, K);
			for (int j = 0; j < F; j++)
				sc->x[j] = PT_COL_F64(b, sc->fcol[j])[i];
			pt_forest_score_row(sc->sub[k], sc->x, sc->s);
			for (int a = 0; a < A; a++)
				sc->score[a][i] = sc->s[a];
		}
		return;
	}
	/* The rows grouped by fold (a counting sort: folds in order, rows
	 * ascending within each), then each fold's block gathered, scored
	 * and scattered. */
	size_t off[101] = { 0 };
	for (i = 0; i < n; i++) {
		sc->fold[i] = pt_score_fold(rid[i], f->fold_seed, K);
		off[sc->fold[i] + 1]++;
	}
	for (int k = 0; k < K; k++)
		off[k + 1] += off[k];
	{
		size_t next[100];
		memcpy(next, off, (size_t)K * sizeof *next);
		for (i = 0; i < n; i++)
			sc->gi[next[sc->fold[i]]++] = i;
	}
	for (int k = 0; k < K; k++) {
		const size_t *gi = sc->gi + off[k];
		m = off[k + 1] - off[k];
		if (m == 0)
			continue;
		for (int j = 0; j < F; j++) {
			const double *c = PT_COL_F64(b, sc->fcol[j]);
			double *g = sc->gx + (size_t)j * m;
			for (i = 0; i < m; i++)
				g[i] = c[gi[i]];
			sc->fptr[j] = g;
		}
		for (int a = 0; a < A; a++)
			sc->gout[a] = sc->gs + (size_t)a * m;
		pt_forest_score_block(sc->sub[k], sc->fptr, m, sc->gout);
		for (int a = 0; a < A; a++)
			for (i = 0; i < m; i++)
				sc->score[a][gi[i]] = sc->gout[a][i];
	}
}

/*
 * A fitted outcome forest's predictions m (in sc->score) become rewards by
 * the formulas above, with the forest's propensities clipped at its floor:
 * the same loop after either backend, so the same bits.
 */
static int
forest_rewards(pt_scorer *sc, const pt_batch *b, const char *where,
    pt_err *e)
{
	const pt_forest *f = sc->forest;
	const int32_t *w = sc->tcol >= 0 ? PT_COL_I32(b, sc->tcol) : NULL;
	const double *y = sc->ycol >= 0 ? PT_COL_F64(b, sc->ycol) : NULL;
	size_t i;

	if (sc->kind != PT_SCORE_DM && check_values(sc, b, 0, where, e) < 0)
		return -1;
	for (int a = 0; a < f->nvocab; a++) {
		double *g = sc->score[a], cost = f->cost ? f->cost[a] : 0.0;
		double p = f->prop[a] < f->prop_floor ? f->prop_floor :
		    f->prop[a];
		for (i = 0; i < b->nrows; i++)
			g[i] = finish(sc->kind, g[i], w != NULL && w[i] == a,
			    y != NULL ? y[i] : 0.0, p, cost);
	}
	return 0;
}

int
pt_scorer_run(pt_scorer *sc, const pt_batch *in, pt_backend backend,
    const pt_batch **out, const char *where, pt_err *e)
{
	int A, F, j;
	size_t i, good = 0;

	if (sc->in == NULL || (in->schema != sc->in &&
	    !pt_schema_equal(in->schema, sc->in)))
		return pt_fail(e, PT_EMISMATCH, where, "the frames' schema "
		    "changed");
	A = sc->forest ? sc->forest->nvocab : sc->rm->nvocab;
	F = sc->forest ? sc->forest->nfeatures : sc->rm->nfeatures;
	if (scorer_reserve(sc, in->nrows, A, e) < 0)
		return -1;
	if (sc->sub != NULL) {
		forest_folds(sc, in, backend);
		if (sc->forest->prop != NULL && forest_rewards(sc, in, where,
		    e) < 0)
			return -1;
	} else if (sc->forest) {
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
		if (sc->forest->prop != NULL && forest_rewards(sc, in, where,
		    e) < 0)
			return -1;
	} else if (backend == PT_BACKEND_ROW) {
		if (check_values(sc, in, 0, where, e) < 0)
			return -1;
		rm_score_rows(sc, in);
	} else {
		/* Scored first: the kernel checks the rows as it goes, and
		 * rows with bad values give bad scores, never bad reads. */
		good = rm_score_vector(sc, in);
		if (check_values(sc, in, good, where, e) < 0)
			return -1;
	}
	/* A score that overflowed (a coefficient of 1e308 times a value,
	 * say) is never written: every later sum would be inf or nan. */
	for (j = 0; j < A; j++) {
		const double *g = sc->score[j];
		uint64_t bad = 0;

		if (good == in->nrows)
			continue; /* the kernel saw them all finite */
		/* Bit 63 of (exponent bits + 1 in the lowest of them) is set
		 * when they are all ones; the loop has no compare. */
		for (i = good; i < in->nrows; i++) {
			uint64_t u;
			memcpy(&u, &g[i], sizeof u);
			bad |= (u & UINT64_C(0x7ff0000000000000)) +
			    UINT64_C(0x0010000000000000);
		}
		if (bad >> 63)
			for (i = 0; i < in->nrows; i++)
				if (!isfinite(g[i])) {
					char *const *vocab = sc->forest ?
					    sc->forest->vocab : sc->rm->vocab;
					return pt_fail(e, PT_EVALUE, where, "row %zu: "
					    "the score of '%s' is %g: the model and "
					    "the row's values overflow a double", i + 1,
					    vocab[j], g[i]);
				}
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

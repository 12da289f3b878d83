/*
 * score_impl.h: what the reward-model files share and the public headers
 * do not show (rfit.c fits, rmodel.c reads and writes, scorer.c scores).
 * Not part of the library's interface.
 *
 * The design row and the softmax must be the same operations in the same
 * order in the fit and in both scoring backends, so they exist once, here,
 * inline: they run for every row.
 */
#ifndef PT_SCORE_IMPL_H
#define PT_SCORE_IMPL_H

#include <math.h>
#include <stdint.h>

#include <yaml.h>

#include "frame.h"
#include "buf.h"
#include "filehead.h"
#include "yamlin.h"
#include "pt.h"
#include "rmodel.h"

/* The design row of x: 1, the features with missing as 0, then the
 * missing indicators. */
static inline void
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

/*
 * Softmax probabilities of the A arms for design row z, arm 0 the
 * reference (its linear predictor is 0), B holding A - 1 vectors of p.
 * One fixed operation order, shared by the fit and both scoring backends.
 */
static inline void
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

/* A copy of src into dst (the arrays too, nvocab entries).  Returns 0, or
 * -1 when out of memory (dst is then safe to pt_rspec_free). */
int pt_rspec_copy(pt_rspec *dst, const pt_rspec *src, int nvocab);
/* Checks settings for nvocab arms.  Returns 0, or -1 with e set
 * (PT_EUSAGE). */
int pt_rspec_check(const pt_rspec *s, int nvocab, pt_err *e);

/* The settings block of partials and models (written into both, and
 * compared as text when partials merge): spec and the design of
 * nfeatures features with missing indicators, p columns in all. */
void pt_rsettings_write(pt_buf *b, const pt_rspec *spec, int nfeatures,
    char *const *features, const uint8_t *missing, int p, int nvocab);
/* Reads it back: fills spec (pt_rspec_free it, whatever happens) and
 * missing (nfeatures entries, the caller's).  Returns 0, or -1 with e
 * set. */
int pt_rsettings_read(pt_ydoc *d, yaml_node_t *root, int nfeatures,
    char *const *features, int nvocab, pt_rspec *spec, uint8_t *missing,
    pt_err *e);
/* The keys of the settings block, for a reader's pt_ymap_only list. */
#define PT_RSETTINGS_KEYS "outcome", "model", "lambda", "missing", "design", \
	"folds", "fold_seed", "propensity", "propensity_given", \
	"propensity_column", "propensity_passes", "propensity_floor", "cost"

/* A model with zeroed arrays for the given shape (spec copied, missing
 * copied; features and vocab left NULL for the caller).  Returns it
 * (pt_rmodel_free), or NULL when out of memory. */
pt_rmodel *pt_rmodel_alloc(int nfeatures, int nvocab, int p,
    const uint8_t *missing, const pt_rspec *spec);

/*
 * Checks a frame schema against a model's (or a fit's) manifest, features
 * and vocabulary and finds the columns.  need: bit 1 treatment, bit 2
 * outcome, bit 4 row hash, bit 8 the propensity column propcol; columns
 * not needed are -1.  Returns 0, or -1 with e set (PT_EMISMATCH).
 */
int pt_rmodel_bind(const char *manifest, int nfeatures, char *const *features,
    int nvocab, char *const *vocab, const char *propcol, const pt_schema *s,
    int need, int *fcol, int *tcol, int *ycol, int *rcol, int *pcol,
    pt_err *e);

#endif

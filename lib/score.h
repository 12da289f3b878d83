/*
 * score.h: reward models (doubly robust, direct, inverse propensity) and
 * the scorer that policy-score runs over frames, for reward models and
 * forests alike (file formats in man/policy-model.5).
 *
 * Fitting is partition independent: per fold and arm, the exact
 * statistics of pt_ridge; a partial is those statistics as exact text; a
 * merge adds them; the model of fold k is fitted on every fold but k
 * (total minus fold k, exact).  Scoring has a row-at-a-time reference and
 * a column-at-a-time backend that perform the same operations in the
 * same order per row, hence the same bits.
 */
#ifndef PT_SCORE_H
#define PT_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "forest.h"
#include "frame.h"
#include "manifest.h"
#include "pt.h"
#include "ridge.h"

typedef enum pt_prop {
	PT_PROP_CONSTANT = 0, /* arm shares of the fold's training rows */
	PT_PROP_GIVEN = 1,    /* listed per arm */
	PT_PROP_COLUMN = 2,   /* a frame column: propensity of the received arm */
	PT_PROP_LOGISTIC = 3  /* multinomial logistic on the design, fitted */
} pt_prop;

typedef enum pt_skind {
	PT_SCORE_DR = 0,
	PT_SCORE_DM = 1,
	PT_SCORE_IPW = 2
} pt_skind;

typedef enum pt_backend {
	PT_BACKEND_VECTOR = 0,
	PT_BACKEND_ROW = 1
} pt_backend;

/* Fit settings.  Arrays have one entry per vocabulary label. */
typedef struct pt_rspec {
	int binary;         /* outcomes 0/1; predictions clipped to [0, 1] */
	double lambda;      /* ridge penalty (not on the intercept) */
	int folds;          /* cross-fitting folds, >= 1 */
	uint64_t fold_seed;
	pt_prop prop;
	char propcol[128];  /* PT_PROP_COLUMN */
	double *given;      /* PT_PROP_GIVEN, else NULL */
	double floor;       /* propensities are clipped below at this */
	double *cost;       /* NULL: no cost */
	int passes;         /* PT_PROP_LOGISTIC: at most this many passes */
} pt_rspec;

/* A fitted reward model. */
typedef struct pt_rmodel {
	char manifest[33];
	int nfeatures;
	char **features;
	int nvocab;
	char **vocab;
	uint8_t *missing;   /* per feature: has an indicator column */
	int p;              /* design columns: 1 + nfeatures + indicators */
	pt_rspec spec;
	uint64_t *rows;     /* folds * nvocab training rows */
	double *prop;       /* folds * nvocab propensities (clipped) */
	double *coef;       /* (fold * nvocab + arm) * p + column */
	double *logit;      /* PT_PROP_LOGISTIC: (fold * (nvocab - 1) + arm - 1)
			     * * p + column; arm 0 is the reference */
} pt_rmodel;

/* A fit in progress, or a partial read back. */
typedef struct pt_rfit pt_rfit;

/* A new, empty fit for manifest m (features with missing policy "keep"
 * get indicator columns).  spec is copied. */
pt_rfit *pt_rfit_new(const pt_manifest *m, const pt_rspec *spec, pt_err *e);

/* The most memory the exact statistics of one fit may take, in bytes (0:
 * no limit; the default is PT_RFIT_LIMIT).  A fit or partial that would
 * need more is refused before anything is read (PT_ELIMIT).  Process-wide;
 * returns the previous limit. */
#define PT_RFIT_LIMIT ((uint64_t)4 << 30)
uint64_t pt_rfit_set_limit(uint64_t bytes);
void pt_rfit_free(pt_rfit *f);
/* Adds a batch of rows; s is the batch's schema, checked against the
 * manifest (digest, feature order, treatment levels, outcome).  where
 * names the input in errors. */
int pt_rfit_add(pt_rfit *f, const pt_batch *b, const char *where, pt_err *e);
uint64_t pt_rfit_rows(const pt_rfit *f);
/* The partial (exact statistics) as YAML in a malloc'd buffer. */
int pt_rfit_write(const pt_rfit *f, char **out, size_t *len, pt_err *e);
pt_rfit *pt_rfit_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
/* dst += src; refuses partials of other settings (PT_EMISMATCH). */
int pt_rfit_merge(pt_rfit *dst, const pt_rfit *src, const char *srcname,
    pt_err *e);
/*
 * The logistic propensity model is fitted in passes over the rows, after
 * the first pass (pt_rfit_add) has gathered the exact statistics: each
 * pass adds the exact gradient of every fold's model (pt_rfit_logit_add),
 * then pt_rfit_logit_step takes a bounded-Hessian (Boehning) step per fold
 * from the exact sums, so every pass, hence the model, is independent of
 * row order and partitioning.  logit_begin returns 0 or -1; logit_step
 * returns 1 when converged (or out of passes), 0 for another pass, -1 on
 * error.
 */
int pt_rfit_logit_begin(pt_rfit *f, pt_err *e);
int pt_rfit_logit_add(pt_rfit *f, const pt_batch *b, const char *where,
    pt_err *e);
int pt_rfit_logit_step(pt_rfit *f, pt_err *e);
int pt_rfit_logit_passes(const pt_rfit *f); /* passes taken so far */

/* Solves every fold and arm.  Refuses an arm with no training rows and a
 * singular system. */
pt_rmodel *pt_rfit_model(const pt_rfit *f, pt_err *e);

int pt_rmodel_write(const pt_rmodel *m, char **out, size_t *len, pt_err *e);
pt_rmodel *pt_rmodel_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
void pt_rmodel_free(pt_rmodel *m);
void pt_rspec_free(pt_rspec *s);

/* The fold of a row: splitmix64(rowhash ^ seed) mod folds. */
int pt_score_fold(uint64_t rowhash, uint64_t seed, int folds);

/* A loaded model of either kind, bound to an input schema. */
typedef struct pt_scorer pt_scorer;

/* Loads a model file (format policy-model, policy-forest or
 * policy-tree).  Returns NULL with e set. */
pt_scorer *pt_scorer_load(const char *buf, size_t len, const char *name,
    pt_err *e);
void pt_scorer_free(pt_scorer *sc);
int pt_scorer_is_forest(const pt_scorer *sc);
const pt_forest *pt_scorer_forest(const pt_scorer *sc);  /* or NULL */
const pt_rmodel *pt_scorer_rmodel(const pt_scorer *sc);  /* or NULL */
/* Checks the input schema (manifest digest, feature order, the columns
 * the kind needs) and returns the output schema: the input's columns,
 * then one f64 score column "score:<label>" per label (owned by sc).
 * kind is ignored for forests. */
const pt_schema *pt_scorer_bind(pt_scorer *sc, const pt_schema *in,
    pt_skind kind, pt_err *e);
/* Scores one batch: *out shares the input's column arrays (valid as long
 * as in is) and adds the score columns (owned by sc).  where names the
 * input for errors about values (a propensity outside (0, 1]). */
int pt_scorer_run(pt_scorer *sc, const pt_batch *in, pt_backend backend,
    const pt_batch **out, const char *where, pt_err *e);

#endif

/*
 * rmodel.h: the fitted reward (outcome) model that policy-score applies:
 * its settings, per fold and arm its ridge coefficients and propensities,
 * and its file (format policy-model, man/policy-model.5).
 */
#ifndef PT_RMODEL_H
#define PT_RMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

typedef enum pt_prop {
	PT_PROP_CONSTANT = 0, /* arm shares of the fold's training rows */
	PT_PROP_GIVEN = 1,    /* listed per arm */
	PT_PROP_COLUMN = 2,   /* a frame column: propensity of the received arm */
	PT_PROP_LOGISTIC = 3  /* multinomial logistic on the design, fitted */
} pt_prop;

/* Fit settings.  Arrays have one entry per vocabulary label. */
typedef struct pt_rspec {
	int binary;         /* outcomes 0/1; predictions clipped to [0, 1] */
	double lambda;      /* ridge penalty (not on the intercept) */
	int folds;          /* cross-fitting folds, >= 1 */
	uint64_t fold_seed;
	pt_prop prop;
	char *propcol;      /* PT_PROP_COLUMN: the column (owned), else NULL */
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
	double *weight;     /* NULL, or (a weighted fit) folds * nvocab weight
			     * sums of those rows, each rounded once */
	double *prop;       /* folds * nvocab propensities (clipped) */
	double *coef;       /* (fold * nvocab + arm) * p + column */
	double *logit;      /* PT_PROP_LOGISTIC: (fold * (nvocab - 1) + arm - 1)
			     * * p + column; arm 0 is the reference */
} pt_rmodel;

/* The model file in a malloc'd buffer (*out, the caller frees; *len its
 * length).  Returns 0, or -1 with e set. */
int pt_rmodel_write(const pt_rmodel *m, char **out, size_t *len, pt_err *e);
/* Reads a model file (name for messages).  Returns a new model that the
 * caller frees with pt_rmodel_free, or NULL with e set. */
pt_rmodel *pt_rmodel_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
void pt_rmodel_free(pt_rmodel *m); /* NULL is fine */
/* Frees the arrays of *s (given, cost), not s itself. */
void pt_rspec_free(pt_rspec *s);

/* The fold of a row: splitmix64(rowhash ^ seed) mod folds.  Inline: the
 * fit and both scoring backends ask it for every row. */
static inline int
pt_score_fold(uint64_t rowhash, uint64_t seed, int folds)
{
	if (folds <= 1)
		return 0;
	return (int)(pt_splitmix64(rowhash ^ seed) % (uint64_t)folds);
}

#endif

/*
 * manifest_fit.h: fitting a manifest on CSV training rows (policy-prep
 * fit).  The manifest locks what every later step must agree on: the
 * feature order, treatment vocabulary, preprocessing and bin boundaries.
 */
#ifndef PT_MANIFEST_FIT_H
#define PT_MANIFEST_FIT_H

#include <stdint.h>

#include "manifest.h"
#include "pt.h"

/* Options of a fit.  Lists are comma-separated column names or labels. */
typedef struct pt_fit_opts {
	const char *treatment, *outcome, *key;
	const char *weight;      /* sample (frequency) weight column, or NULL */
	const char *rewards;     /* bring-your-own reward columns */
	const char *features;    /* feature sources; NULL = every other column */
	const char *exclude;     /* columns that are not features */
	const char *categorical; /* force categorical */
	const char *numeric;     /* force numeric */
	const char *vocab;       /* the vocabulary in order; NULL = sorted */
	const char *control;     /* control label; NULL = first of vocabulary */
	const char *missing_tokens; /* NULL = "", NA, NaN, null */
	pt_missing missing;      /* default missing policy (keep) */
	const char *missing_for; /* "col=policy[:value],..." per source */
	int drop_missing;        /* drop rows missing treatment/outcome */
	int nonfinite_missing;   /* inf/nan text counts as missing */
	int unknown_missing;     /* unknown category at apply: missing */
	int bins;                /* quantile bins per feature; 0 = all values */
	uint64_t sample;         /* rows kept for quantiles (hash-selected) */
	int max_levels;          /* levels a categorical source may have */
	int max_all;             /* distinct values allowed with bins = all */
	pt_splitrule split;
	double train_fraction;
	uint64_t seed;
	const char *split_column;
	double until;
	char delimiter;          /* the CSV's field separator (default ',') */
	pt_progress_fn progress;
} pt_fit_opts;

/* Sets *o to the defaults of policy-prep fit (32 bins, a sample of 262144
 * rows, missing values kept, no train/test split). */
void pt_fit_defaults(pt_fit_opts *o);

/* Fits a manifest on the training rows of the CSV inputs (each with a
 * header; "-" is stdin, spooled to a temporary file when a second pass is
 * needed; no inputs means stdin).  The result depends only on the multiset
 * of rows.  Returns a new manifest that the caller frees with
 * pt_manifest_free, or NULL with e set. */
pt_manifest *pt_prep_fit(const pt_fit_opts *o, int ninputs,
    const char *const *paths, pt_err *e);

#endif

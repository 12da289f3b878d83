/*
 * prep.h: what policy-prep does, as library calls: fit a manifest from CSV
 * training rows, apply a manifest to CSV rows giving frames, write frames
 * back as CSV/TSV, and repartition frame streams.
 */
#ifndef PT_PREP_H
#define PT_PREP_H

#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "pt.h"

/* Progress callback for long runs (rows and bytes so far); may be NULL. */
typedef void (*pt_progress_fn)(uint64_t rows, uint64_t bytes);

/* Options of a fit.  Lists are comma-separated column names or labels. */
typedef struct pt_fit_opts {
	const char *treatment, *outcome, *key;
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
	pt_progress_fn progress;
} pt_fit_opts;

void pt_fit_defaults(pt_fit_opts *o);

/* Fits a manifest on the training rows of the CSV inputs (each with a
 * header; "-" is stdin, spooled to a temporary file when a second pass is
 * needed).  The result depends only on the multiset of rows. */
pt_manifest *pt_prep_fit(const pt_fit_opts *o, int ninputs,
    const char *const *paths, pt_err *e);

typedef enum pt_subset { PT_SUBSET_ALL, PT_SUBSET_TRAIN, PT_SUBSET_TEST } pt_subset;

/* The frame schema of rows applied under m (owned by the caller). */
pt_schema *pt_prep_schema(const pt_manifest *m, pt_err *e);

typedef struct pt_apply_stats {
	uint64_t rows_in, rows_out, dropped, bytes;
} pt_apply_stats;

/* Applies m to the CSV rows read from fd (name for messages); header: 1 if
 * the input starts with a header that must match m's columns.  Writes
 * frames of rows in subset to w, using b (made for w's schema) as the
 * buffer.  Returns 0 or -1. */
int pt_prep_apply(const pt_manifest *m, int fd, const char *name, int header,
    pt_subset subset, pt_writer *w, pt_batch *b, pt_apply_stats *st,
    pt_progress_fn progress, pt_err *e);

/* Frames to text. */
typedef struct pt_cat_opts {
	int tsv;
	int header;
	const char *columns; /* comma list of column names; NULL = all */
} pt_cat_opts;

/* Writes the rows of r as CSV or TSV to fd.  *wrote_header carries
 * across several inputs so the header is printed once. */
int pt_prep_cat(pt_reader *r, int fd, const char *outname,
    const pt_cat_opts *o, int *wrote_header, pt_err *e);

typedef enum pt_partmode { PT_PART_HASH, PT_PART_ROUNDROBIN, PT_PART_SHUFFLE } pt_partmode;

/* A repartitioner: rows of one schema into n writers. */
typedef struct pt_parter pt_parter;
pt_parter *pt_parter_new(const pt_schema *s, int n, pt_partmode mode,
    uint64_t seed, pt_writer **w, pt_err *e);
int pt_parter_feed(pt_parter *p, const pt_batch *b, pt_err *e);
int pt_parter_finish(pt_parter *p, pt_err *e); /* flushes; does not close writers */
void pt_parter_free(pt_parter *p);

#endif

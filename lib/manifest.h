/*
 * manifest.h: the locked inputs of a run (DESIGN section 3), kept in a YAML
 * file (man/policy-manifest.5): column roles, the treatment vocabulary,
 * missing-value tokens and policies, categorical levels and their one-hot
 * encoding, the feature order, split boundaries, training bin counts and
 * the train/test rule.
 *
 * The file ends with "digest: <32 hex>", the XXH3-128 of every byte before
 * that line; frames, models and trees name the manifest by this digest.
 * The same inputs give the same bytes: no timestamps, no paths.
 */
#ifndef PT_MANIFEST_H
#define PT_MANIFEST_H

#include <stdint.h>

#include "pt.h"
#include "xsum.h"

#define PT_MANIFEST_VERSION 1

typedef enum pt_srckind { PT_SRC_NUMERIC = 0, PT_SRC_CATEGORICAL = 1 } pt_srckind;

/* What to do with a missing feature value. */
typedef enum pt_missing {
	PT_MISS_KEEP = 0,     /* keep it missing (NaN): its own bin in split search */
	PT_MISS_MEDIAN = 1,   /* numeric: the training median */
	PT_MISS_MODE = 2,     /* categorical: the most frequent training level */
	PT_MISS_CONSTANT = 3, /* numeric: a given value; categorical: a given level */
	PT_MISS_REJECT = 4    /* an error at apply */
} pt_missing;

/* Split of rows into train and test. */
typedef enum pt_splitrule {
	PT_SPLIT_NONE = 0,  /* every row is a training row */
	PT_SPLIT_HASH = 1,  /* by row hash (or key hash), seeded */
	PT_SPLIT_COLUMN = 2 /* by a numeric column: train when value <= until */
} pt_splitrule;

/* A CSV column that feeds features. */
typedef struct pt_source {
	char *name;
	int column;          /* index in the CSV header */
	pt_srckind kind;
	pt_missing missing;
	double impute;       /* numeric MEDIAN/CONSTANT value */
	int impute_level;    /* categorical MODE/CONSTANT level index */
	int nlevels;         /* categorical levels, sorted bytewise */
	char **levels;
	int unknown_missing; /* categorical: 1 = unknown level is missing, 0 = error */
} pt_source;

/* A frame feature column, in the locked feature order. */
typedef struct pt_feature {
	char *name;     /* the source name, or "source=level" for one-hot */
	int source;     /* index into sources */
	int level;      /* one-hot level index, or -1 for a numeric feature */
	int nbounds;    /* split thresholds, strictly increasing, finite */
	double *bounds; /* a row goes left when x <= bounds[k] */
	/* Training rows per bin: nbounds+1 bins (bin k holds bounds[k-1] < x <=
	 * bounds[k]), then the missing bin; nbounds+2 counts in all. */
	uint64_t *counts;
	/* Training weight per bin, the same nbounds+2 bins, when the manifest
	 * has a weight column (NULL otherwise): each the exact sum of the
	 * bin's weights rounded once to the nearest double, so the same rows
	 * give the same bits in any order, and whole weights give the counts
	 * of the rows repeated. */
	double *weights;
} pt_feature;

typedef struct pt_manifest {
	int version;
	int ncolumns;       /* the CSV header, in order */
	char **columns;
	/* Roles: CSV column indexes, -1 when absent. */
	int treatment, outcome, key;
	int weight;         /* sample weights (frequency weights), or -1;
			     * written only when set, so manifests without
			     * weights keep their bytes */
	int nrewards;       /* bring-your-own rewards: one column per action */
	int *rewards;
	/* The treatment vocabulary (or the reward columns' names): ordered. */
	int nvocab;
	char **vocab;
	int control;        /* index of the control in vocab */
	int drop_missing;   /* rows missing treatment/outcome: 1 drop, 0 error */
	int nmissing_tokens;
	char **missing_tokens;
	int nonfinite_missing; /* "inf"/"nan" text: 1 = missing, 0 = error */
	/* Train/test rule. */
	pt_splitrule split;
	double train_fraction;
	uint64_t seed;
	int split_column;   /* PT_SPLIT_COLUMN */
	double until;
	/* How boundaries were made (documentation of the fit; not used by apply). */
	int bins;           /* 0 = every distinct value ("all") */
	uint64_t sample;    /* sample size limit used for quantiles */
	uint64_t train_rows, dropped_rows;
	double train_weight; /* with weights: their exact total, rounded once */
	int nsources;
	pt_source *sources;
	int nfeatures;
	pt_feature *features;
	char digest[33];    /* filled by write and read */
} pt_manifest;

pt_manifest *pt_manifest_new(void);
void pt_manifest_free(pt_manifest *m);

/* Writes m as YAML to a malloc'd buffer (*out, *len; caller frees) and
 * sets m->digest.  Every double is written so it reads back identical. */
int pt_manifest_write(pt_manifest *m, char **out, size_t *len, pt_err *e);
/* Reads and validates a manifest file: version, roles, sorted finite
 * boundaries, counts, levels, and the digest against the content.
 * Returns NULL on error with e->where "FILE:LINE" where known. */
pt_manifest *pt_manifest_read(const char *path, pt_err *e);
pt_manifest *pt_manifest_parse(const char *buf, size_t len, const char *name,
    pt_err *e);

/* Index of the feature / source named name, or -1. */
int pt_manifest_feature(const pt_manifest *m, const char *name);
int pt_manifest_source(const pt_manifest *m, const char *name);
/* Index of label in the vocabulary, or -1. */
int pt_manifest_vocab(const pt_manifest *m, const char *label);

/* The exact weight of each bin of a feature, for fit (the manifest's
 * weights) and drift (the new rows'): one pt_xsum per bin, allocated when
 * the bin first gets a weight, so a feature of many bins (--bins all)
 * costs a pointer per bin until rows reach it. */
typedef struct pt_binw {
	int nbins;
	pt_xsum **bin;
} pt_binw;

/* 0, or -1 when out of memory (b is then empty, safe to free). */
int pt_binw_init(pt_binw *b, int nbins);
/* Adds weight w (finite, >= 0) to bin k: 0, or -1 when out of memory. */
int pt_binw_add(pt_binw *b, int k, double w);
/* Bin k's exact weight rounded once to the nearest double. */
double pt_binw_round(const pt_binw *b, int k);
/* Adds every bin's exact weight to *total. */
void pt_binw_total(const pt_binw *b, pt_xsum *total);
void pt_binw_free(pt_binw *b);

/* Bin of x for feature f: 0..nbounds for a value, nbounds+1 when NaN. */
int pt_feature_bin(const pt_feature *f, double x);

/* Deterministic train/test membership for a row hash and a split-column
 * value (NaN when absent): 1 train, 0 test. */
int pt_manifest_is_train(const pt_manifest *m, uint64_t rowhash, double splitval);

#endif

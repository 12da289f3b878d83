/*
 * forest.h: forest models (man/policy-model.5): trees as flat arrays, a
 * row's score vector the mean over trees of its leaf vectors, summed in
 * tree order.
 *
 * Two backends compute the same bits: pt_forest_score_row, the reference
 * (one row, one tree at a time, pointer chasing), and
 * pt_forest_score_block, which walks a block of rows through one tree
 * at a time over a compiled node layout: level by level on the values,
 * or (complete trees of depth up to 7) on byte codes of the values that
 * keep every comparison exact (forest.c, codes_compile).  Both add the leaf vectors
 * in tree order in double and divide by the tree count once.
 */
#ifndef PT_FOREST_H
#define PT_FOREST_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "pt.h"

#define PT_FOREST_MAXDEPTH 64

typedef struct pt_tree {
	int nnodes;
	int32_t *feature;      /* -1 at leaves */
	double *threshold;
	uint8_t *missing_left;
	uint8_t *category;     /* 1: x == t goes left; NULL: none */
	int32_t *left, *right; /* -1 at leaves */
	double *value;         /* nnodes * nvocab, row-major */
	int depth;             /* levels below the root to the deepest leaf */
} pt_tree;

typedef struct pt_forest_plan pt_forest_plan;

typedef struct pt_forest {
	char manifest[33];     /* "" when not tied to a manifest */
	int nfeatures;
	char **features;
	int nvocab;
	char **vocab;
	int ntrees;
	pt_tree *trees;
	pt_forest_plan *plan;  /* compiled layout, built by pt_forest_compile */
	/* Fitted outcome forests (policy-score fit --learner forest): the
	 * training rows per arm, the propensities of dr and ipw scores
	 * (rows over all rows, clipped below at prop_floor) and the costs
	 * (NULL: none).  NULL for other forests: they score raw values. */
	uint64_t *rows;
	double *prop;
	double prop_floor;
	double *cost;
	/* Cross-fitting (fit --learner forest --folds K): tree k was grown
	 * without the rows of fold k mod folds, a row's fold being
	 * splitmix64(_row ^ fold_seed) mod folds; a row is scored by the trees
	 * of its fold only.  folds 1: every tree scores every row. */
	int folds;
	uint64_t fold_seed;
} pt_forest;

/* Parses a forest (or a policy-split tree file).  Validates every tree:
 * indexes in range, a proper tree reached from the root (no cycle, no
 * sharing, no orphan), features in range, thresholds not NaN, depth at
 * most PT_FOREST_MAXDEPTH.  Returns NULL with e set on error; compiles the
 * forest before returning.  The caller frees with pt_forest_free. */
pt_forest *pt_forest_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
/* Whether buf is a forest file (format: policy-forest, after the comment
 * lines), as opposed to a tree file or anything else. */
int pt_forest_is(const char *buf, size_t len);
/* Writes the forest as YAML (fixed formatting) to a malloc'd buffer. */
int pt_forest_write(const pt_forest *f, char **out, size_t *len, pt_err *e);
/* A deterministic random forest of complete trees (man/policy-model.5,
 * Generator); features are named x1..xF, actions a0..a(A-1). */
pt_forest *pt_forest_generate(int ntrees, int depth, int nfeatures,
    int narms, uint64_t seed, pt_err *e);
/* Validates the trees and builds the compiled layout (done by parse and
 * generate; call again after editing the arrays). */
int pt_forest_compile(pt_forest *f, pt_err *e);
void pt_forest_free(pt_forest *f);
/* The forest of the trees k of f with k mod f->folds == fold, in order
 * (compiled; no propensities, one fold): what scores the rows of that
 * fold.  NULL with e set. */
pt_forest *pt_forest_fold(const pt_forest *f, int fold, pt_err *e);

/* Reference: x holds the row's nfeatures values in forest feature order;
 * out receives nvocab scores. */
void pt_forest_score_row(const pt_forest *f, const double *x, double *out);
/* Vector backend: cols[j] points at the values of forest feature j for
 * rows 0..n-1; out[a] receives the scores of action a for those rows.
 * Uses internal scratch; not thread-safe on one forest. */
void pt_forest_score_block(const pt_forest *f, const double *const *cols,
    size_t n, double *const *out);
/* Chooses the kernels, for tests and benchmarks (the bits are the same
 * whichever): 0 the portable ones; 1 the AVX-512 walk by levels; 2 (the
 * default) the byte-code walk (AVX-512 VBMI) where the forest allows it,
 * else 1.  A kernel the CPU lacks is never used. */
void pt_forest_simd(int level);
/* 1 when pt_forest_score_block takes the byte-code walk for f (at the
 * current level, on this CPU), else 0: for tests and benchmarks. */
int pt_forest_uses_codes(const pt_forest *f);

/* Finds the forest's features in a frame schema by name (f64 columns);
 * colmap[j] = column index of forest feature j.  When the forest names a
 * manifest it must equal the schema's, and the schema's feature columns
 * must be exactly the forest's features in order. */
int pt_forest_bind(const pt_forest *f, const pt_schema *s, int *colmap,
    pt_err *e);

#endif

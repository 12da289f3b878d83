/*
 * eval.h: a policy's value on held-out scored rows (policy-split eval):
 * one or two trees beside every single-arm policy, each with its standard
 * error and 95% interval, the paired difference of every tree against
 * every arm (and of the second tree against the first) on the same rows,
 * cluster-robust standard errors, whether the rows are training rows
 * under the manifest's split, and uplift curves.
 *
 * Every sum over rows is exact (pt_xsum), so no figure depends on the
 * order or partitioning of the rows.
 *
 * Frames with a sample weight column (role weight) are frequency
 * weighted: a row of weight w counts as w copies of itself in every sum
 * (values, squares, cluster and leaf sums, curve gains and positions), so
 * whole weights give the bytes of the rows repeated that many times; row
 * counts still count rows.  A weight times a value out of the exact range
 * of pt_xsum_add_prod is refused (PT_ELIMIT).
 */
#ifndef PT_EVAL_H
#define PT_EVAL_H

#include <stdint.h>

#include "forest.h"
#include "frame.h"
#include "jsonout.h"
#include "manifest.h"
#include "pt.h"
#include "tree.h"
#include "xsum.h"

#define PT_EVAL_Z95 1.959963984540054 /* the standard normal's 97.5% point */

typedef struct pt_eval_opts {
	const pt_manifest *m;    /* NULL: training rows unknown, control 0 */
	const char *control;     /* a label overriding the manifest's control */
	const char *cluster;     /* a column of the frames, or NULL */
	int curves;              /* collect uplift curves */
	const char *rank_prefix; /* curves: rank arm t against control c by
				  * the columns PREFIX<t> - PREFIX<c> */
	uint64_t max_memory;     /* clusters and ranked rows: refuse above */
	/* Partials (pt_eval_partial): */
	int partial;             /* keep what a partial needs: partition
				  * ids, and the first tree's leaf sums */
	const char *partition;   /* the partition's id (default: of rows) */
	const char *digest[2];   /* each policy file's digest line */
} pt_eval_opts;

typedef struct pt_eval pt_eval;

/* Evaluates ntrees (1 or 2) policies named names on frames of schema s:
 * policy p is trees[p], or when that is NULL the forest forests[p]
 * (policy.h: the arm of the highest mean leaf value; uplift curves need
 * a tree first).  The trees, forests, names, options and schema must
 * outlive it.  NULL with e set. */
pt_eval *pt_eval_new(const pt_ptree *const *trees,
    const pt_forest *const *forests, const char *const *names, int ntrees,
    const pt_schema *s, const pt_eval_opts *o, pt_err *e);
void pt_eval_free(pt_eval *v);
int pt_eval_add(pt_eval *v, const pt_batch *b, pt_err *e);
uint64_t pt_eval_rows(const pt_eval *v);
/* "no", "yes", "some" or "unknown", and the training rows counted. */
const char *pt_eval_training(const pt_eval *v, uint64_t *rows);

/* The report as YAML, JSON or TSV (PT_FMT_*, jsonout.h).  *out
 * malloc'd. */
int pt_eval_report(const pt_eval *v, int format, char **out, size_t *len,
    pt_err *e);
/* The uplift curves (JSON; opts.curves must have been set).  *out
 * malloc'd. */
int pt_eval_curves(const pt_eval *v, char **out, size_t *len, pt_err *e);

/* ---- partials: eval over partitions, merged all or nothing -------------
 *
 * An eval partial (policy-tree(5)) holds the exact sums of one or more
 * partitions: per quantity the sum of values and of squares, per paired
 * difference the sum of squared differences, the training rows, per
 * cluster its rows and sums, per leaf of the first tree (when it is a
 * tree) its rows and per-arm sums.  Merging partials and reporting gives
 * the bytes eval gives on all the rows in one process. */

/* The partial of what was added (opts.partial must have been set).
 * *out malloc'd. */
int pt_eval_partial(const pt_eval *v, char **out, size_t *len, pt_err *e);
/* Reads a partial; o gives max_memory (and nothing else is used).  The
 * result needs no trees, schema or frames.  NULL with e set. */
pt_eval *pt_eval_parse(const char *buf, size_t len, const char *name,
    const pt_eval_opts *o, pt_err *e);
/* dst += src: refused (PT_EMISMATCH) unless both are of the same
 * policies, actions, manifest, score columns, training rule, cluster
 * column and control, and of different partitions. */
int pt_eval_merge(pt_eval *dst, const pt_eval *src, const char *srcname,
    pt_err *e);
/* --expect N over the partitions held (partid.h). */
int pt_eval_expect(const pt_eval *v, int n, pt_err *e);
/* The control of the curves, by label. */
int pt_eval_set_control(pt_eval *v, const char *label, pt_err *e);

/* Mean and standard error of the mean (sd / sqrt(n)) of n values from
 * the exact sums of the values and of their squares. */
void pt_mean_se(const pt_xsum *s, const pt_xsum *s2, uint64_t n,
    double *mean, double *se);
/* The same for frequency-weighted values, n the weights' sum (s and s2
 * then sum w*x and w*x^2): what n copies would give when the weights are
 * whole.  The variance's n/(n-1) applies when n > 1; se is 0 otherwise. */
void pt_mean_se_w(const pt_xsum *s, const pt_xsum *s2, double n,
    double *mean, double *se);

#endif

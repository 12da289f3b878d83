/*
 * ofit.h: outcome forests (policy-score fit --learner forest), grown level
 * by level from exact partial histograms.
 *
 * Each tree predicts, per leaf, a vector of the mean outcome of every arm
 * among the rows of its sample in the leaf.  A level of every tree is one
 * pass over the rows: each row, if the tree's sample holds it, is routed
 * to the open node it reaches and added to that tree's partial histogram
 * (hist.h: per node, feature, bin and arm the count and the exact outcome
 * sum).  The split of an open node is then chosen from those exact sums
 * alone, so the forest depends on the rows' values only, not on their
 * order or partitioning.
 *
 * Which rows a tree sees is decided by a hash of the row's identity (its
 * _row column) and the tree's seed: the same under any partitioning.
 * Which features a node tries (mtry) is decided by a hash of the tree's
 * seed and the node's id.
 *
 * The split of a node maximises sum over arms of YL^2/CL + YR^2/CR (the
 * squared-error reduction of per-arm means), over the features tried in
 * ascending order, boundaries ascending, missing values right before
 * left; a later candidate wins only when strictly better.  Both sides
 * must hold at least min_leaf rows of the sample, and the split must gain
 * more than 1e-12 of the node's own sum.  A leaf's value for an arm
 * without rows in it is its parent's.
 */
#ifndef PT_OFIT_H
#define PT_OFIT_H

#include <stdint.h>

#include "forest.h"
#include "frame.h"
#include "hist.h"
#include "manifest.h"
#include "pt.h"

#define PT_OFIT_MAXDEPTH 12

typedef struct pt_ofspec {
	int trees;          /* >= 1 */
	int depth;          /* 1 .. PT_OFIT_MAXDEPTH */
	uint64_t min_leaf;  /* >= 1 */
	int mtry;           /* features tried per node; 0: min(F, ceil(sqrt F) + 20) */
	double subsample;   /* (0, 1]: the share of rows each tree sees */
	uint64_t seed;
	int folds;          /* 1 .. 100, at most trees: tree k is grown without
	                     * the rows of fold k mod folds (0 is read as 1) */
	uint64_t fold_seed; /* a row's fold: splitmix64(_row ^ fold_seed) mod
	                     * folds, as a reward model's */
} pt_ofspec;

/* A forest being grown under manifest m (kept; must outlive it). */
typedef struct pt_ofit pt_ofit;

/* Checks the spec (PT_EUSAGE) and the manifest (a treatment and an
 * outcome; PT_EUSAGE in rewards mode).  NULL with e set. */
pt_ofit *pt_ofit_new(const pt_manifest *m, const pt_ofspec *s, pt_err *e);
void pt_ofit_free(pt_ofit *f);
/* 1 when every tree is complete. */
int pt_ofit_done(const pt_ofit *f);
/* The level whose nodes are open (0: the roots). */
int pt_ofit_level(const pt_ofit *f);
/* The number of trees. */
int pt_ofit_trees(const pt_ofit *f);
/* The most bytes the next level's partials take (their exact sums), to be
 * said and checked before a row is read. */
double pt_ofit_level_bytes(const pt_ofit *f);
/* One process in bounded memory: a level may be grown in batches of open
 * nodes, one pass over the frames each.  pt_ofit_node_bytes is the most
 * one node's partial takes; pt_ofit_batch(f, N) makes the next
 * pt_oflevel_new and pt_ofit_grow take the first N open nodes of the
 * level (in tree, then heap-id order) and leave the level open;
 * pt_ofit_next_level closes it once none is open (pt_ofit_level_bytes 0)
 * and makes the next pass take every node.  The forest is the same bytes
 * as grown in one pass.  Not for partials: a level's partial holds every
 * open node. */
double pt_ofit_node_bytes(const pt_ofit *f);
void pt_ofit_batch(pt_ofit *f, uint64_t nodes);
void pt_ofit_next_level(pt_ofit *f);

/* The partials of one level: one per tree with open nodes. */
typedef struct pt_oflevel pt_oflevel;

pt_oflevel *pt_oflevel_new(const pt_ofit *f, pt_err *e);
void pt_oflevel_free(pt_oflevel *l);
/* Checks a stream's schema before its rows (manifest, features, the
 * treatment, outcome and _row columns); add binds the first frame's
 * schema itself when this was not called.  0 or -1. */
int pt_oflevel_bind(pt_oflevel *l, const pt_schema *s, pt_err *e);
int pt_oflevel_add(pt_oflevel *l, const pt_batch *b, pt_err *e);
/* Grows every tree by one level from l's partials (flushed here); l is
 * spent (free it).  0 or -1. */
int pt_ofit_grow(pt_ofit *f, pt_oflevel *l, pt_err *e);

/*
 * Over partitions: the state between levels (format policy-forest-fit, a
 * YAML file ending in its digest) and per partition a forest partial (a
 * YAML header with the fit's settings, the state's digest, the level and
 * the partition ids, then one policy-split partial per tree with open
 * nodes, then a checksum).  Partials merge exactly, all or nothing.
 */
/* The state's digest (its file's), which partials name: "" when out of
 * memory. */
void pt_ofit_digest(const pt_ofit *f, char out[33]);
int pt_ofit_write(const pt_ofit *f, char **out, size_t *len, pt_err *e);
/* Reads a state grown under manifest m (checked): NULL with e set. */
pt_ofit *pt_ofit_read(const char *buf, size_t len, const char *name,
    const pt_manifest *m, pt_err *e);
/* The level's partial of the rows added (flushed here), named partition
 * (NULL: the _part of the frames, or a hash of their rows).  0 or -1. */
int pt_oflevel_partial(pt_oflevel *l, const char *partition, char **out,
    size_t *len, pt_err *e);

typedef struct pt_ofpart pt_ofpart;
pt_ofpart *pt_ofpart_read(const char *buf, size_t len, const char *name,
    pt_err *e);
void pt_ofpart_free(pt_ofpart *p);
/* dst += src: refuses another fit, state or level, and a partition in
 * both (PT_EMISMATCH).  On failure dst may hold part of src: discard it. */
int pt_ofpart_merge(pt_ofpart *dst, const pt_ofpart *src, const char *name,
    pt_err *e);
/* --expect N on the merged partitions (partid.h). */
int pt_ofpart_expect(const pt_ofpart *p, int n, pt_err *e);
/* The fit a level-0 partial starts (its settings, checked against its
 * state digest), under manifest m. */
pt_ofit *pt_ofpart_fit(const pt_ofpart *p, const pt_manifest *m, pt_err *e);
/* Grows f one level from merged partials p made from f's state. */
int pt_ofit_grow_merged(pt_ofit *f, const pt_ofpart *p, pt_err *e);

/* The forest (man/policy-model.5) of a complete fit: per leaf the arms'
 * values, the manifest's digest, features and vocabulary, and for dr and
 * ipw scores the rows per arm, the propensities (arm shares), the
 * propensity floor (0, 1] and the costs (nvocab values, or NULL).  NULL
 * with e set. */
pt_forest *pt_ofit_forest(const pt_ofit *f, double floor, const double *cost,
    pt_err *e);

#endif

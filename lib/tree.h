/*
 * tree.h: policy trees (man/policy-tree.5): a YAML file that policy-score
 * can also read as a one-tree forest (man/policy-model.5).
 *
 * Nodes carry heap ids (root 1, children 2i and 2i+1) so a partial can name
 * the open nodes of a level; in the file they are flat arrays, root first,
 * in ascending id order.  Thresholds are manifest boundaries (exact
 * doubles): a row goes left when x <= threshold, a missing value goes to
 * the stored side.
 */
#ifndef PT_TREE_H
#define PT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "pt.h"

#define PT_PTREE_VERSION 1
#define PT_PTREE_MAXDEPTH 12

enum { PT_CRIT_WELFARE = 0, PT_CRIT_DDP = 1 };

typedef struct pt_pnode {
	uint32_t id;
	int feature;        /* manifest feature index, -1 at a leaf */
	double threshold;
	int missing_left;
	int open;           /* a leaf still to be grown at the next level */
	int action;         /* best action of the node's rows (lowest on ties) */
	uint64_t rows;
	uint64_t *count;    /* narms: rows that received the arm */
	double *mean;       /* narms: their outcome mean (0 when none) */
	double *value;      /* narms: mean score of the arm over the rows */
} pt_pnode;

typedef struct pt_ptree {
	char manifest[33];
	char model[33];     /* "" for none */
	int nfeatures;
	char **features;    /* the manifest's feature order */
	int narms;
	char **vocab;
	int criterion;
	int depth;          /* the target depth */
	int level;          /* levels grown so far */
	uint64_t min_node_size;
	int complete;       /* grown to depth and pruned */
	int exact;          /* made by the exact depth-2 search */
	int nnodes;
	pt_pnode *nodes;    /* ascending id; nodes[0] is the root */
	char digest[33];    /* set by write and read */
} pt_ptree;

/* A one-node tree (the open root) for manifest m.  model may be NULL. */
pt_ptree *pt_ptree_new(const pt_manifest *m, const char *model, int criterion,
    int depth, uint64_t min_node_size, pt_err *e);
void pt_ptree_free(pt_ptree *t);

/* Adds a node with id (kept sorted); returns its index or -1. */
int pt_ptree_add(pt_ptree *t, uint32_t id, pt_err *e);
/* Index of the node with id, or -1. */
int pt_ptree_find(const pt_ptree *t, uint32_t id);

/* Writes the tree as YAML (fixed formatting) to a malloc'd buffer and sets
 * t->digest (XXH3-128 of the bytes before the final "digest:" line). */
int pt_ptree_write(pt_ptree *t, char **out, size_t *len, pt_err *e);
/* Sets t->digest to the digest of the file pt_ptree_write would write
 * (a tree in memory changes as it grows; partials name its digest). */
int pt_ptree_digest(pt_ptree *t, pt_err *e);
/* How a forest's trees were grown (written in its header). */
typedef struct pt_forest_info {
	double subsample;   /* share of rows per tree (by row hash) */
	int mtry;           /* features tried per node (0: all) */
	uint64_t seed;
} pt_forest_info;

/* Writes trees grown for one manifest as a forest (format policy-forest,
 * man/policy-model.5) that policy-score -M reads: each tree's arrays as in
 * a tree file, the leaves' value vectors (mean score per arm) being what
 * a row scores.  *out malloc'd. */
int pt_ptree_write_forest(pt_ptree *const *ts, int ntrees,
    const pt_forest_info *fi, char **out, size_t *len, pt_err *e);
/* Parses and validates a tree file (digest, shape, indexes). */
pt_ptree *pt_ptree_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
/* Checks that t belongs to manifest m (digest and feature order). */
int pt_ptree_check_manifest(const pt_ptree *t, const pt_manifest *m,
    pt_err *e);

/* The leaf a row reaches: x(f) gives the value of manifest feature f.
 * Returns the node index. */
int pt_ptree_route(const pt_ptree *t, const double *const *cols, size_t row);

/* Open node ids, ascending, into ids (malloc'd); returns the count. */
int pt_ptree_open(const pt_ptree *t, uint32_t **ids, pt_err *e);

/* Finds the tree's features in a schema by name: cols[f] = column (or -1
 * for features the tree does not use), an array of nfeatures.  Refuses a
 * schema of another manifest. */
int pt_ptree_bind(const pt_ptree *t, const pt_schema *s, int *cols,
    pt_err *e);

/* Text (indented rules) and Graphviz forms; malloc'd, NUL-terminated. */
char *pt_ptree_text(const pt_ptree *t, pt_err *e);
char *pt_ptree_dot(const pt_ptree *t, pt_err *e);
/* JSON: depth, criterion, search, the actions and the nodes nested from
 * "root" (policy-split show --json, documented in policy-split(1)). */
char *pt_ptree_json(const pt_ptree *t, pt_err *e);

/* Collapses split nodes whose two children are leaves with the same
 * action, repeatedly (bottom-up). */
void pt_ptree_prune(pt_ptree *t);

#endif

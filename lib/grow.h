/*
 * grow.h: growing a policy tree level by level (DESIGN 6), the steps that
 * policy-split hist, best and fit share: a partial for a tree's open
 * nodes, with every row routed to its open node, and one level of growth
 * from a merged partial.  The loop over levels and partitions is the
 * caller's: a shell pipeline, or policy-split fit in one process.
 */
#ifndef PT_GROW_H
#define PT_GROW_H

#include "hist.h"
#include "manifest.h"
#include "pt.h"
#include "search.h"
#include "tree.h"

/* A partial being filled for one level of tree t. */
typedef struct pt_level pt_level;

/* Starts the partial of t's open nodes (t NULL: the root) under manifest
 * m; model is the digest of the model that scored the rows ("" or NULL:
 * none).  Refuses a tree of another manifest or model, and a complete
 * tree.  NULL with e set. */
pt_level *pt_level_new(const pt_manifest *m, const pt_ptree *t,
    const char *model, pt_err *e);
/* Starts the pair partial (hist.h) of the root under manifest m, for
 * the exact search over partitions.  NULL with e set. */
pt_level *pt_level_new_pairs(const pt_manifest *m, const char *model,
    pt_err *e);
/* Adds the rows of a frame, each to the open node it reaches (rows that
 * reach a closed leaf are counted only; in a pair partial, to its slot of
 * every feature).  The first frame's schema binds
 * the columns; later frames must have the same schema. */
/* Checks the stream's schema s (columns, manifest, _part) before its
 * rows, so that a stream of no rows is checked too; pt_level_add binds
 * its first frame's schema itself when this was not called. */
int pt_level_bind(pt_level *l, const pt_schema *s, pt_err *e);
int pt_level_add(pt_level *l, const pt_batch *b, pt_err *e);
/* Ends the level: the partial, named partition (NULL: named by a hash of
 * its rows).  The caller owns it; l is spent (free it). */
pt_hist *pt_level_finish(pt_level *l, const char *partition, pt_err *e);
void pt_level_free(pt_level *l);

/* Grows t by one level from h, the merged partial of its open nodes.  At
 * the root, a tree that would be a single leaf is refused, saying why (no
 * rows, --min-node-size too large, no valid split). */
int pt_grow_level(pt_ptree *t, const pt_hist *h, const pt_manifest *m,
    pt_err *e);

/* Rows for the searches that hold them in memory (exact, forest): the
 * rows of a frame appended to r, binding the columns on the first frame. */
typedef struct pt_rowload {
	pt_rowset rows;
	const pt_manifest *m;
	pt_hist_cols cols;
	int bound;
} pt_rowload;

void pt_rowload_init(pt_rowload *l, const pt_manifest *m);
int pt_rowload_add(pt_rowload *l, const pt_batch *b, pt_err *e);
void pt_rowload_free(pt_rowload *l);

#endif

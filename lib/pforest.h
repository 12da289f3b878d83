/*
 * pforest.h: policy forests grown over partitions (policy-split hist,
 * merge and best with --trees), the same bytes as policy-split fit
 * --trees in one process.
 *
 * A level of every tree is one pass over each partition: a row, when tree
 * k's subsample holds it (its _row hash, as pt_search_forest_tree
 * decides), is routed to the open node of tree k it reaches and added to
 * tree k's partial histogram.  The partials of every tree travel in one
 * file (a forest partial), merge tree by tree all or nothing, and grow
 * each tree by one level with its nodes' feature masks: the trees the
 * rows in memory give.  Between levels the trees in the making are a
 * forest state (every tree file, sealed by one digest); when every tree
 * is complete, the forest file itself.
 */
#ifndef PT_PFOREST_H
#define PT_PFOREST_H

#include <stdint.h>

#include "frame.h"
#include "hist.h"
#include "manifest.h"
#include "pt.h"
#include "tree.h"

typedef struct pt_pfstate {
	char manifest[33];
	char model[33];       /* "" for none */
	pt_forest_info fi;
	int ntrees;
	pt_ptree **t;
	char digest[33];      /* set by write and parse */
} pt_pfstate;

void pt_pfstate_free(pt_pfstate *s);
/* Serialises s (sets s->digest and each tree's).  *out malloc'd. */
int pt_pfstate_write(pt_pfstate *s, char **out, size_t *len, pt_err *e);
/* Parses a state; NULL with e set. */
pt_pfstate *pt_pfstate_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
/* Whether buf is a forest state (its format line). */
int pt_pfstate_is(const char *buf, size_t len);
/* 1 when every tree is complete. */
int pt_pfstate_complete(const pt_pfstate *s);
/* The forest file of a complete state (pt_ptree_write_forest). */
int pt_pfstate_forest(const pt_pfstate *s, char **out, size_t *len,
    pt_err *e);

/* One level pass over a partition: of state st (kept), or with st NULL of
 * the roots of ntrees trees of subsample and seed fi, model the digest of
 * the model that scored the frames ("" for none). */
typedef struct pt_pflevel pt_pflevel;
pt_pflevel *pt_pflevel_new(const pt_manifest *m, const pt_pfstate *st,
    int ntrees, const pt_forest_info *fi, const char *model, pt_err *e);
int pt_pflevel_bind(pt_pflevel *l, const pt_schema *s, pt_err *e);
int pt_pflevel_add(pt_pflevel *l, const pt_batch *b, pt_err *e);
/* The forest partial (partition: its id, or NULL for the frames').
 * *out malloc'd. */
int pt_pflevel_write(pt_pflevel *l, const char *partition, char **out,
    size_t *len, pt_err *e);
void pt_pflevel_free(pt_pflevel *l);

/* Forest partials read back, merged, written. */
typedef struct pt_pfpart pt_pfpart;
int pt_pfpart_is(const char *buf, size_t len);
pt_pfpart *pt_pfpart_read(const char *buf, size_t len, const char *name,
    pt_err *e);
int pt_pfpart_merge(pt_pfpart *dst, const pt_pfpart *src, const char *name,
    pt_err *e);
int pt_pfpart_expect(const pt_pfpart *p, int n, pt_err *e);
int pt_pfpart_write(const pt_pfpart *p, char **out, size_t *len, pt_err *e);
void pt_pfpart_free(pt_pfpart *p);
/* The level of a forest partial (0: of the roots). */
int pt_pfpart_level(const pt_pfpart *p);

/* A new state from a merged partial of the roots: ntrees trees of the
 * partial's shape, each grown one level with mtry (criterion, depth and
 * min_node_size as pt_ptree_new takes them); its digest set. */
pt_pfstate *pt_pfstate_start(const pt_manifest *m, const pt_pfpart *p,
    int criterion, int depth, uint64_t min_node_size, int mtry, pt_err *e);
/* Grows every tree of st that is not complete by one level from the
 * merged partial p of st's level, and sets st->digest to the grown
 * state's (the state the next level's partials name).  Both refuse a tree
 * with no rows in its subsample. */
int pt_pfstate_grow(pt_pfstate *st, const pt_manifest *m, const pt_pfpart *p,
    pt_err *e);

#endif

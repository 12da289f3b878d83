/*
 * scorer.h: what policy-score runs over frames: a loaded model (reward
 * model or forest) bound to an input schema, adding one score column per
 * treatment label.
 *
 * Reward models score doubly robust, direct or inverse propensity rewards.
 * Scoring has a row-at-a-time reference and a column-at-a-time backend
 * that perform the same operations in the same order per row, hence the
 * same bits.
 */
#ifndef PT_SCORER_H
#define PT_SCORER_H

#include <stddef.h>

#include "forest.h"
#include "frame.h"
#include "pt.h"
#include "rmodel.h"

typedef enum pt_skind {
	PT_SCORE_DR = 0,
	PT_SCORE_DM = 1,
	PT_SCORE_IPW = 2
} pt_skind;

typedef enum pt_backend {
	PT_BACKEND_VECTOR = 0,
	PT_BACKEND_ROW = 1
} pt_backend;

/* A loaded model of either kind, bound to an input schema. */
typedef struct pt_scorer pt_scorer;

/* Loads a model file (format policy-model, policy-forest or
 * policy-tree).  Returns a scorer that the caller frees with
 * pt_scorer_free, or NULL with e set. */
pt_scorer *pt_scorer_load(const char *buf, size_t len, const char *name,
    pt_err *e);
void pt_scorer_free(pt_scorer *sc); /* NULL is fine */
int pt_scorer_is_forest(const pt_scorer *sc);
/* 1 when the kinds (dr, dm, ipw) apply: a reward model, or a fitted
 * outcome forest, which carries propensities. */
int pt_scorer_has_kinds(const pt_scorer *sc);
/* The model sc holds (owned by sc), or NULL when it holds the other kind. */
const pt_forest *pt_scorer_forest(const pt_scorer *sc);
const pt_rmodel *pt_scorer_rmodel(const pt_scorer *sc);
/* Checks the input schema (manifest digest, feature order, the columns
 * the kind needs) and returns the output schema: the input's columns,
 * then one f64 score column "score:<label>" per label (owned by sc, valid
 * until the next bind or pt_scorer_free), or NULL with e set.  kind is
 * ignored for forests without propensities (pt_scorer_has_kinds): they
 * score their raw values. */
const pt_schema *pt_scorer_bind(pt_scorer *sc, const pt_schema *in,
    pt_skind kind, pt_err *e);
/* Scores one batch: *out shares the input's column arrays (valid as long
 * as in is) and adds the score columns (owned by sc, valid until the next
 * run).  where names the input for errors about values (a propensity
 * outside (0, 1]).  Returns 0, or -1 with e set. */
int pt_scorer_run(pt_scorer *sc, const pt_batch *in, pt_backend backend,
    const pt_batch **out, const char *where, pt_err *e);

#endif

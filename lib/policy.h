/*
 * policy.h: a policy tree at work on frames: the action of every row
 * (policy-split apply), and the leaf it reaches (eval.h).
 */
#ifndef PT_POLICY_H
#define PT_POLICY_H

#include <stdint.h>

#include "forest.h"
#include "frame.h"
#include "pt.h"
#include "tree.h"

/* A tree bound to a frame schema.  The tree and schema must outlive it. */
typedef struct pt_policy pt_policy;

/* Binds t to frames of schema s: refuses frames of another manifest and
 * frames that lack a feature the tree splits on.  NULL with e set. */
pt_policy *pt_policy_new(const pt_ptree *t, const pt_schema *s, pt_err *e);
/* A forest as a policy (a policy forest, policy-split fit --trees, or an
 * outcome forest): a row's action is the arm of the highest mean leaf
 * value over every tree, less the forest's cost when it has one, the
 * first such arm on a tie.  f and s must outlive it.  NULL with e set. */
pt_policy *pt_policy_new_forest(const pt_forest *f, const pt_schema *s,
    pt_err *e);
void pt_policy_free(pt_policy *p);
/* The policy's actions: their number and labels. */
int pt_policy_narms(const pt_policy *p);
char *const *pt_policy_vocab(const pt_policy *p);
/* The action of every row of b into act (b->nrows entries).  -1 with e
 * set on memory exhaustion. */
int pt_policy_actions(pt_policy *p, const pt_batch *b, int32_t *act,
    pt_err *e);

/* The schema apply writes: s with an i32 column "action" (levels: the
 * vocabulary) appended; refuses frames that already have one.  Owned by
 * p. */
const pt_schema *pt_policy_out_schema(pt_policy *p, pt_err *e);
/* b with the action column appended: *out shares b's columns (valid as
 * long as b is) and owns the action column (valid until the next call). */
int pt_policy_apply(pt_policy *p, const pt_batch *b, const pt_batch **out,
    pt_err *e);

/* The leaf (node index into the tree's nodes) every row of b reaches,
 * into node (b->nrows entries).  Trees only. */
void pt_policy_route(pt_policy *p, const pt_batch *b, int32_t *node);

#endif

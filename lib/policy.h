/*
 * policy.h: a policy tree at work on frames: the action of every row
 * (policy-split apply), and the leaf it reaches (eval.h).
 */
#ifndef PT_POLICY_H
#define PT_POLICY_H

#include <stdint.h>

#include "frame.h"
#include "pt.h"
#include "tree.h"

/* A tree bound to a frame schema.  The tree and schema must outlive it. */
typedef struct pt_policy pt_policy;

/* Binds t to frames of schema s: refuses frames of another manifest and
 * frames that lack a feature the tree splits on.  NULL with e set. */
pt_policy *pt_policy_new(const pt_ptree *t, const pt_schema *s, pt_err *e);
void pt_policy_free(pt_policy *p);

/* The schema apply writes: s with an i32 column "action" (levels: the
 * vocabulary) appended; refuses frames that already have one.  Owned by
 * p. */
const pt_schema *pt_policy_out_schema(pt_policy *p, pt_err *e);
/* b with the action column appended: *out shares b's columns (valid as
 * long as b is) and owns the action column (valid until the next call). */
int pt_policy_apply(pt_policy *p, const pt_batch *b, const pt_batch **out,
    pt_err *e);

/* The leaf (node index into the tree's nodes) every row of b reaches,
 * into node (b->nrows entries). */
void pt_policy_route(pt_policy *p, const pt_batch *b, int32_t *node);

#endif

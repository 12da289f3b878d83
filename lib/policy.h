/*
 * policy.h: a policy tree at work on frames: the action of every row
 * (policy-split apply) and the policy's value on held-out scored rows
 * beside every single-arm policy (policy-split eval).
 */
#ifndef PT_POLICY_H
#define PT_POLICY_H

#include <stdint.h>

#include "frame.h"
#include "pt.h"
#include "tree.h"
#include "xsum.h"

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

/* Evaluation: per row the score of the tree's action and of every single
 * arm, summed exactly (the figures do not depend on row order).  The
 * frames must carry one score (or reward) column per action. */
int pt_policy_eval_add(pt_policy *p, const pt_batch *b, pt_err *e);
uint64_t pt_policy_eval_rows(const pt_policy *p);
/* The report (YAML): rows, the policy's value and standard error, and
 * each arm's.  *out malloc'd. */
int pt_policy_eval_report(const pt_policy *p, char **out, size_t *len,
    pt_err *e);

/* Mean and standard error of the mean (sd / sqrt(n)) of n values from
 * the exact sums of the values and of their squares. */
void pt_mean_se(const pt_xsum *s, const pt_xsum *s2, uint64_t n,
    double *mean, double *se);

#endif

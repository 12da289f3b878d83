/*
 * rfit.h: fitting reward (outcome) models from exact, mergeable
 * statistics (policy-score fit).
 *
 * Fitting is partition independent: per fold and arm, the exact
 * statistics of pt_ridge; a partial is those statistics as exact text; a
 * merge adds them; the model of fold k is fitted on every fold but k
 * (total minus fold k, exact).
 */
#ifndef PT_RFIT_H
#define PT_RFIT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "pt.h"
#include "partid.h"
#include "rmodel.h"

/* A fit in progress, or a partial read back. */
typedef struct pt_rfit pt_rfit;

/* A new, empty fit for manifest m (features with missing policy "keep"
 * get indicator columns).  spec is copied.  Returns a fit that the caller
 * frees with pt_rfit_free, or NULL with e set. */
pt_rfit *pt_rfit_new(const pt_manifest *m, const pt_rspec *spec, pt_err *e);

/* The most memory the exact statistics of one fit may take, in bytes (0:
 * no limit; the default is PT_RFIT_LIMIT).  A fit or partial that would
 * need more is refused before anything is read (PT_ELIMIT).  Process-wide;
 * returns the previous limit. */
#define PT_RFIT_LIMIT ((uint64_t)4 << 30)
uint64_t pt_rfit_set_limit(uint64_t bytes);
void pt_rfit_free(pt_rfit *f); /* NULL is fine */
/* Adds a batch of rows; the batch's schema is checked against the
 * manifest (digest, feature order, treatment levels, outcome).  where
 * names the input in errors.  Returns 0, or -1 with e set. */
/* Checks that frames of schema s can be fitted (the columns the fit
 * needs, the manifest, a _part column): call it with the stream's schema
 * before its rows, so that a stream of no rows is checked too.
 * pt_rfit_add binds its frames' schema itself. */
int pt_rfit_bind(pt_rfit *f, const pt_schema *s, const char *where,
    pt_err *e);
int pt_rfit_add(pt_rfit *f, const pt_batch *b, const char *where, pt_err *e);
/* The rows added or merged so far. */
uint64_t pt_rfit_rows(const pt_rfit *f);
/* Names the partition of a fit's partial (--partition ID) instead of the
 * name its rows give it (partid.h).  0 or -1. */
int pt_rfit_set_part(pt_rfit *f, const char *id, pt_err *e);
/* --expect N: fails (PT_EMISMATCH) unless the merged partials are all N
 * parts of a split (or, named by their rows, at least N).  0 or -1. */
int pt_rfit_expect(const pt_rfit *f, int n, pt_err *e);
/* The partial (exact statistics) as YAML in a malloc'd buffer (*out, the
 * caller frees).  Returns 0, or -1 with e set. */
int pt_rfit_write(const pt_rfit *f, char **out, size_t *len, pt_err *e);
/* Reads a partial back.  Returns a fit (pt_rfit_free), or NULL with e
 * set. */
pt_rfit *pt_rfit_parse(const char *buf, size_t len, const char *name,
    pt_err *e);
/* dst += src; refuses partials of other settings, and a partition in both
 * (PT_EMISMATCH), leaving dst as it was.  Returns
 * 0, or -1 with e set. */
int pt_rfit_merge(pt_rfit *dst, const pt_rfit *src, const char *srcname,
    pt_err *e);
/*
 * The logistic propensity model is fitted in passes over the rows, after
 * the first pass (pt_rfit_add) has gathered the exact statistics: each
 * pass adds the exact gradient of every fold's model (pt_rfit_logit_add),
 * then pt_rfit_logit_step takes a bounded-Hessian (Boehning) step per fold
 * from the exact sums, so every pass, hence the model, is independent of
 * row order and partitioning.  logit_begin returns 0 or -1; logit_step
 * returns 1 when converged (or out of passes), 0 for another pass, -1 on
 * error.
 */
int pt_rfit_logit_begin(pt_rfit *f, pt_err *e);
int pt_rfit_logit_add(pt_rfit *f, const pt_batch *b, const char *where,
    pt_err *e);
int pt_rfit_logit_step(pt_rfit *f, pt_err *e);
int pt_rfit_logit_passes(const pt_rfit *f); /* passes taken so far */

/* Solves every fold and arm.  Refuses an arm with no training rows and a
 * singular system.  Returns a new model (pt_rmodel_free), or NULL with e
 * set. */
pt_rmodel *pt_rfit_model(const pt_rfit *f, pt_err *e);

#endif

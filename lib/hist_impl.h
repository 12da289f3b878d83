/*
 * hist_impl.h: what hist.c shares with partial.c and no one else: the
 * empty partial of a given shape, which a new partial and a partial read
 * from its file form both start from.
 */
#ifndef PT_HIST_IMPL_H
#define PT_HIST_IMPL_H

#include "hist.h"

/* A partial of nfeatures features, narms arms and nnodes open nodes with
 * its per-feature and per-node arrays allocated (zero) but no cells and
 * no scale.  NULL (PT_ENOMEM) on failure.  The caller frees it with
 * pt_hist_free. */
pt_hist *pt_hist_alloc(int nfeatures, int narms, int nnodes, pt_err *e);
/* Allocates h's cells, zeroed, for its nnodes and ncells; -1 (PT_ENOMEM)
 * on failure, h then to be freed by the caller. */
int pt_hist_alloc_cells(pt_hist *h, pt_err *e);
/* Gives h (its shape, nodes and cells made) the partial of its weights
 * (pt_hist.wh), empty.  0, or -1 (PT_ENOMEM) with h unchanged. */
int pt_hist_add_weights(pt_hist *h, pt_err *e);

#endif

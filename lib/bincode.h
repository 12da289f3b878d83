/*
 * bincode.h: bin codes, a feature's bins carried in its frames (a u8
 * column "bin:NAME", role bin), so that each histogram pass adds rows at
 * them instead of binning the values again.
 */
#ifndef PT_BINCODE_H
#define PT_BINCODE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "pt.h"

/* The code of a value x is the first k with x <= bounds[k] (nbounds when
 * x is above every boundary), nbounds + 1 when x is missing: its bin in a
 * partial.  A feature with more than PT_CODE_BOUNDS boundaries has no
 * code column (its codes would not fit a byte). */
#define PT_CODE_BOUNDS 254
/* The codes of n values x of feature f (nbounds <= PT_CODE_BOUNDS) into
 * out[0..n), the caller's. */
void pt_hist_codes(const pt_feature *f, const double *x, size_t n,
    uint8_t *out);
/* The schema s with a code column "bin:NAME" appended for every feature
 * of m that has at most PT_CODE_BOUNDS boundaries (and none yet), which
 * the caller frees with pt_schema_free; NULL with e set on failure. */
pt_schema *pt_hist_code_schema(const pt_manifest *m, const pt_schema *s,
    pt_err *e);
/* Fills the code columns of batch b (schema from pt_hist_code_schema;
 * none is fine) from its feature columns.  Returns 0, or -1 with e set
 * (PT_EMISMATCH when a code column does not follow m's features,
 * PT_ENOMEM). */
int pt_hist_fill_codes(const pt_manifest *m, pt_batch *b, pt_err *e);

/* The name of feature f's code column ("bin:NAME") into nm.  Returns 1,
 * or 0 when f has none (more than PT_CODE_BOUNDS boundaries, or a name too
 * long). */
int pt_hist_code_name(const pt_feature *f, char nm[512]);

#endif

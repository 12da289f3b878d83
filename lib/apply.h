/*
 * apply.h: CSV rows to frames under a manifest (policy-prep apply): the
 * manifest's preprocessing, its train/test rule, and the frame schema it
 * implies.
 */
#ifndef PT_APPLY_H
#define PT_APPLY_H

#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "pt.h"

typedef enum pt_subset { PT_SUBSET_ALL, PT_SUBSET_TRAIN, PT_SUBSET_TEST } pt_subset;

/* The frame schema of rows applied under m: _row, the features, then the
 * treatment and outcome (or the reward columns).  Returns a new schema
 * that the caller frees with pt_schema_free, or NULL with e set. */
pt_schema *pt_prep_schema(const pt_manifest *m, pt_err *e);

typedef struct pt_apply_stats {
	uint64_t rows_in, rows_out, dropped, bytes;
} pt_apply_stats;

/* How apply reads its CSV. */
typedef struct pt_apply_opts {
	int header;      /* 1: the input starts with a header that must match
			  * the manifest's columns */
	pt_subset subset;
	char delimiter;  /* ',' unless the file uses another */
} pt_apply_opts;

/* Applies m to the CSV rows read from fd (not closed; name for messages).
 * Writes frames of the rows in o->subset to w, using b (made for w's
 * schema, owned by the caller) as the buffer; a last partial frame is
 * left in b for the caller to write (after pt_hist_fill_codes).  Adds to
 * the counts in *st.  progress may be NULL.  Returns 0, or -1 with e set. */
int pt_prep_apply(const pt_manifest *m, int fd, const char *name,
    const pt_apply_opts *o, pt_writer *w, pt_batch *b, pt_apply_stats *st,
    pt_progress_fn progress, pt_err *e);

#endif

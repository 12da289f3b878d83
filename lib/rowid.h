/*
 * rowid.h: a CSV record's values, and the row identity made of them.
 *
 * A row is identified by its values as the manifest reads them, never by
 * how a tool happened to write them (DESIGN 3.7): each field is a missing
 * value (one of the missing tokens), a number (the double it parses to,
 * -0 as 0, every NaN alike), or text (its exact bytes).  "10", "10.000"
 * and "1e1" are one value; quoting, line ends and a byte order mark never
 * reach it.  The identity (the _row hash) decides the train/test split,
 * folds and subsamples, and goes into every row signature, so the same
 * data exported by another program gives the same manifest, model, tree,
 * policy and signatures.
 *
 * The values are read once per record and kept, so the steps after the
 * identity (features, outcome, rewards, the split column) use them rather
 * than parsing the fields again.
 */
#ifndef PT_ROWID_H
#define PT_ROWID_H

#include <stddef.h>
#include <stdint.h>

#include "csvin.h"
#include "names.h"
#include "pt.h"

/* What a field holds. */
enum {
	PT_VAL_MISSING = 0, /* one of the missing tokens */
	PT_VAL_NUMBER = 1,  /* a finite number */
	PT_VAL_NONFINITE = 2, /* inf, infinity or nan text */
	PT_VAL_TEXT = 3,    /* anything else, kept as its bytes */
	PT_VAL_RANGE = 4    /* a number past the doubles' range: text too */
};

typedef struct pt_rowvals {
	size_t n, cap;
	double *v;           /* per field: its value when NUMBER or NONFINITE */
	unsigned char *kind; /* per field: PT_VAL_* */
	unsigned char *buf;  /* the identity's bytes of the record read */
	size_t bufcap, idlen;
	int id_ok;           /* buf holds a whole record's bytes */
	const pt_names *tokens; /* the missing tokens tokmask was made of */
	uint64_t tokmask;    /* the tokens' lengths (rowid.c) */
	uint64_t tokfirst[4]; /* the tokens' first bytes (rowid.c) */
} pt_rowvals;

/* Reads every field of r: missing when it is one of tokens, else a number
 * (policy-prep's grammar), else text.  0, or -1 (PT_ENOMEM). */
int pt_rowvals_read(pt_rowvals *rv, const pt_csvrec *r, const pt_names *tokens,
    pt_err *e);
/* The row identity of the record rv was read from (r, as given to
 * pt_rowvals_read): the hash of every field's value but field skip's (the
 * sample weight: a row of weight 2 is the row twice, the same unit), or
 * of the key field's alone when key >= 0; skip -1 skips none.  0 before a
 * successful pt_rowvals_read. */
uint64_t pt_rowvals_id(pt_rowvals *rv, const pt_csvrec *r, int key, int skip);
void pt_rowvals_free(pt_rowvals *rv);

/* Whether a field read as (kind, v) is a sample weight: NULL when it is
 * (a finite number >= 0; -0 is 0), else why not ("is missing", "is not a
 * finite number", "is negative"), for the caller's message. */
const char *pt_weight_check(int kind, double v);

#endif

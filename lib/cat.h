/*
 * cat.h: frames back to CSV or TSV (policy-prep cat).
 */
#ifndef PT_CAT_H
#define PT_CAT_H

#include "frame.h"
#include "pt.h"

typedef struct pt_cat_opts {
	int tsv;
	int header;
	const char *columns; /* comma list of column names; NULL = all */
} pt_cat_opts;

/* Writes the rows of r as CSV or TSV to fd (not closed; outname for
 * messages).  *wrote_header carries across several inputs so the header
 * is printed once.  Returns 0, or -1 with e set. */
int pt_prep_cat(pt_reader *r, int fd, const char *outname,
    const pt_cat_opts *o, int *wrote_header, pt_err *e);

#endif

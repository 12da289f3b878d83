/*
 * spool.h: a second reading of an input that cannot be rewound.
 *
 * Some jobs read their input twice or more (fit's second pass, a level of
 * split search per pass); stdin and pipes can be read once.  Such input is
 * copied to a temporary file that is unlinked at once, so nothing is left
 * behind however the process ends.
 */
#ifndef PT_SPOOL_H
#define PT_SPOOL_H

#include "pt.h"

/* Copies everything readable from fd (not closed; name for read errors)
 * to an unlinked temporary file in $TMPDIR (default /tmp).  Returns a
 * descriptor of that file, positioned at its start and owned by the
 * caller (close it), or -1 with e set (PT_EIO). */
int pt_spool(int fd, const char *name, pt_err *e);

#endif

/*
 * list.h: the one way a list is written on a command line: items
 * separated by commas, where an item may be double-quoted as in CSV to
 * hold commas or quotes ("a,b",c and "say ""hi""",d).  Column names such
 * as Hillstrom's "history_segment=6) $750 - $1,000" need it.
 */
#ifndef PT_LIST_H
#define PT_LIST_H

#include "pt.h"

/* Splits s into items: *out (NULL-terminated, caller frees with
 * pt_strs_free(*out, *n)) and *n.  "" is one empty item; ",x" is "" and
 * "x".  Fails (PT_EUSAGE, where empty) on a quote inside an unquoted item,
 * an unclosed quote, or text after a closing quote. */
int pt_list_split(const char *s, char ***out, int *n, pt_err *e);

#endif

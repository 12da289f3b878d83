/*
 * names.h: lists of names given as "a,b,c" (columns an option names,
 * treatment labels, missing-value tokens), split once and then looked up,
 * the same way by fit, apply and cat.
 */
#ifndef PT_NAMES_H
#define PT_NAMES_H

#include <stddef.h>
#include <string.h>

#include "pt.h"

typedef struct pt_names {
	int n;
	char **v;
} pt_names;

/* Splits s at its commas into l (empty pieces kept: ",NA" is "" and
 * "NA"; s == NULL gives the empty list).  An item may be double-quoted as
 * in CSV, to hold commas and quotes: '"a,b",c' is "a,b" and "c", and a
 * quote inside quotes is doubled ('"say ""hi"""').  l->v is
 * NULL-terminated.  Returns 0, or -1 with what was split so far in l:
 * PT_ENOMEM, or PT_EUSAGE for a quote left open, text after a closing
 * quote, or a quote inside an unquoted item.  Either way l owns its
 * strings: free them with pt_names_free. */
int pt_names_split(pt_names *l, const char *s, pt_err *e);

/* Frees the strings and the array and empties l. */
void pt_names_free(pt_names *l);

/* The index of the first name equal to s, or -1. */
int pt_names_find(const pt_names *l, const char *s);

/* Whether l holds the n bytes at s (a field, not NUL-terminated).  Inline:
 * fit and apply ask it of every field of every row. */
static inline int
pt_names_has(const pt_names *l, const char *s, size_t n)
{
	for (int i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && memcmp(l->v[i], s, n) == 0)
			return 1;
	return 0;
}

#endif

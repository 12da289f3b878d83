/*
 * names.c: comma-separated name lists.  One splitting rule for every
 * option that takes a list, so that "a,,b" means the same to each, and an
 * item may be double-quoted as in CSV to hold a comma or a quote.
 */
#include "names.h"

#include <stdlib.h>

static int
push(pt_names *l, const char *s, size_t len)
{
	char **nv = realloc(l->v, sizeof *l->v * ((size_t)l->n + 2));

	if (nv == NULL)
		return -1;
	l->v = nv;
	if ((l->v[l->n] = pt_strndup(s, len)) == NULL)
		return -1;
	l->v[++l->n] = NULL;
	return 0;
}

int
pt_names_split(pt_names *l, const char *s, pt_err *e)
{
	const char *p = s;
	char *q;

	l->n = 0;
	l->v = NULL;
	if (s == NULL)
		return 0;
	/* An item unquoted is never longer than the list itself. */
	if ((q = malloc(strlen(s) + 1)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (;;) {
		size_t k = 0;
		if (*p == '"') {
			for (p++;; p++) {
				if (*p == '\0') {
					free(q);
					return pt_fail(e, PT_EUSAGE, "", "list '%s': a "
					    "quote is not closed", s);
				}
				if (*p == '"') {
					if (p[1] != '"')
						break;
					p++;
				}
				q[k++] = *p;
			}
			p++;
			if (*p != ',' && *p != '\0') {
				free(q);
				return pt_fail(e, PT_EUSAGE, "", "list '%s': text after "
				    "a closing quote (quote the whole item)", s);
			}
		} else {
			for (; *p != ',' && *p != '\0'; p++) {
				if (*p == '"') {
					free(q);
					return pt_fail(e, PT_EUSAGE, "", "list '%s': a "
					    "quote inside an item (quote the whole item "
					    "and double the quote: \"say \"\"hi\"\"\")", s);
				}
				q[k++] = *p;
			}
		}
		if (push(l, q, k) != 0) {
			free(q);
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		}
		if (*p == '\0')
			break;
		p++; /* the comma */
	}
	free(q);
	return 0;
}

void
pt_names_free(pt_names *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
pt_names_find(const pt_names *l, const char *s)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return i;
	return -1;
}

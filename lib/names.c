/*
 * names.c: comma-separated name lists.  One splitting rule for every
 * option that takes a list, so that "a,,b" means the same to each.
 */
#include "names.h"

#include <stdlib.h>

int
pt_names_split(pt_names *l, const char *s, pt_err *e)
{
	const char *p = s;

	l->n = 0;
	l->v = NULL;
	if (s == NULL)
		return 0;
	for (;;) {
		size_t k = strcspn(p, ",");
		char **nv = realloc(l->v, sizeof *l->v * ((size_t)l->n + 1));
		if (nv == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		l->v = nv;
		if ((l->v[l->n] = pt_strndup(p, k)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		l->n++;
		if (p[k] == '\0')
			break;
		p += k + 1;
	}
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

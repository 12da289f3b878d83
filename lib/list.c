/*
 * list.c: comma lists with CSV quoting (list.h).
 */
#include "list.h"

#include <stdlib.h>
#include <string.h>

static int
push(char ***v, int *n, int *cap, const char *s, size_t len)
{
	char *item;

	if (*n + 1 >= *cap) {
		int nc = *cap ? 2 * *cap : 8;
		char **nv = realloc(*v, (size_t)nc * sizeof *nv);
		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = nc;
	}
	if ((item = malloc(len + 1)) == NULL)
		return -1;
	memcpy(item, s, len);
	item[len] = '\0';
	(*v)[(*n)++] = item;
	(*v)[*n] = NULL;
	return 0;
}

int
pt_list_split(const char *s, char ***out, int *n, pt_err *e)
{
	char **v = NULL, *q = NULL;
	int cnt = 0, cap = 0;
	const char *p = s;
	size_t len = strlen(s);

	*out = NULL;
	*n = 0;
	/* A quoted item unquoted is never longer than the list itself. */
	if ((q = malloc(len + 1)) == NULL)
		goto nomem;
	for (;;) {
		size_t k = 0;
		if (*p == '"') {
			for (p++;; p++) {
				if (*p == '\0') {
					pt_fail(e, PT_EUSAGE, "", "list '%s': a quote is "
					    "not closed", s);
					goto fail;
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
				pt_fail(e, PT_EUSAGE, "", "list '%s': text after a "
				    "closing quote (quote the whole item)", s);
				goto fail;
			}
		} else {
			for (; *p != ',' && *p != '\0'; p++) {
				if (*p == '"') {
					pt_fail(e, PT_EUSAGE, "", "list '%s': a quote "
					    "inside an item (quote the whole item and "
					    "double the quote: \"say \"\"hi\"\"\")", s);
					goto fail;
				}
				q[k++] = *p;
			}
		}
		if (push(&v, &cnt, &cap, q, k) != 0)
			goto nomem;
		if (*p == '\0')
			break;
		p++; /* the comma */
	}
	free(q);
	*out = v;
	*n = cnt;
	return 0;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	free(q);
	pt_strs_free(v, cnt);
	return -1;
}

/*
 * partid.c: partition identity of partials (partid.h).
 */
#include "partid.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist_kernels.h"

int
pt_partid_bind(pt_partid *p, const pt_schema *s, pt_err *e)
{
	int c;

	free(p->seen);
	memset(p, 0, sizeof *p);
	p->rowcol = pt_schema_find_role(s, PT_ROLE_ROW, 0);
	if (p->rowcol >= 0 && s->cols[p->rowcol].type != PT_U64)
		p->rowcol = -1;
	p->partcol = -1;
	if ((c = pt_schema_find_role(s, PT_ROLE_PART, 0)) >= 0) {
		int of = s->cols[c].nlevels;
		if (s->cols[c].type != PT_I32 || of < 1 ||
		    of > PT_PARTID_MAXPARTS)
			return pt_fail(e, PT_EFORMAT, "", "a _part column of %d "
			    "parts", of);
		if ((p->seen = calloc((size_t)of, 1)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		p->partcol = c;
		p->of = of;
	}
	return 0;
}

int
pt_partid_add(pt_partid *p, const pt_batch *b, pt_err *e)
{
	p->rows += b->nrows;
	if (p->partcol >= 0) {
		const int32_t *k = PT_COL_I32(b, p->partcol);
		for (size_t i = 0; i < b->nrows; i++) {
			if (k[i] < 0 || k[i] >= p->of)
				return pt_fail(e, PT_EFORMAT, "", "row %zu: part %"
				    PRId32 " of %d", i + 1, k[i], p->of);
			p->seen[k[i]] = 1;
		}
	} else if (p->rowcol >= 0) {
		pt_hk_table()->part_hash(PT_COL_U64(b, p->rowcol), NULL,
		    b->nrows, &p->h1, &p->h2);
	}
	return 0;
}

int
pt_partid_ids(const pt_partid *p, char (**ids)[PT_PARTID_LEN], int *n,
    pt_err *e)
{
	char (*v)[PT_PARTID_LEN];
	int k = 0;

	if (p->of > 0) {
		int width = snprintf(NULL, 0, "%d", p->of - 1), cnt = 0;
		for (int i = 0; i < p->of; i++)
			cnt += p->seen[i];
		if ((v = malloc(((size_t)cnt + 1) * sizeof *v)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		for (int i = 0; i < p->of; i++)
			if (p->seen[i])
				snprintf(v[k++], sizeof v[0], "%0*d/%d", width, i,
				    p->of);
		/* A part of no rows cannot say which part it is, but it can
		 * say which split it belongs to, so a merge can count it. */
		if (k == 0)
			snprintf(v[k++], sizeof v[0], "empty/%d", p->of);
	} else {
		if ((v = malloc(sizeof *v)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		if (p->rows == 0)
			snprintf(v[k++], sizeof v[0], "empty");
		else
			snprintf(v[k++], sizeof v[0], "%" PRIu64 "-%016" PRIx64
			    "%016" PRIx64, p->rows, p->h1, p->h2);
	}
	*ids = v;
	*n = k;
	return 0;
}

void
pt_partid_free(pt_partid *p)
{
	free(p->seen);
	p->seen = NULL;
}

int
pt_partid_check(const char *id, pt_err *e)
{
	size_t n = strlen(id);

	if (n == 0 || n >= PT_PARTID_LEN)
		return pt_fail(e, PT_EUSAGE, "", "partition id must be 1 to %d "
		    "bytes", PT_PARTID_LEN - 1);
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return pt_fail(e, PT_EUSAGE, "", "partition id may not hold "
			    "blanks or control bytes");
	return 0;
}

int
pt_partid_list(char *const *v, int n, char (**out)[PT_PARTID_LEN], pt_err *e)
{
	char (*ids)[PT_PARTID_LEN];

	*out = NULL;
	if (n < 1)
		return pt_fail(e, PT_EFORMAT, "", "partitions: none");
	if ((ids = calloc((size_t)n, sizeof *ids)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < n; i++) {
		int c = i > 0 ? strcmp(v[i], v[i - 1]) : 1;
		pt_err why;
		if (pt_partid_check(v[i], &why) < 0) {
			free(ids);
			return pt_fail(e, PT_EFORMAT, "", "partitions: %s", why.msg);
		}
		if (c < 0 || (c == 0 && strncmp(v[i], "empty", 5) != 0)) {
			free(ids);
			return pt_fail(e, PT_EFORMAT, "", "partitions: not sorted, "
			    "or '%s' twice", v[i]);
		}
		memcpy(ids[i], v[i], strlen(v[i]) + 1);
	}
	*out = ids;
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* N of an id "k/N" or "empty/N" of a split, or 0. */
static int
split_of(const char *id)
{
	const char *s = strchr(id, '/');
	char *end;
	long n;

	if (s == NULL || s == id || (strspn(id, "0123456789") != (size_t)(s -
	    id) && strncmp(id, "empty/", 6) != 0))
		return 0;
	n = strtol(s + 1, &end, 10);
	return *end == '\0' && n > 0 && n <= PT_PARTID_MAXPARTS ? (int)n : 0;
}

int
pt_partid_union(char (*a)[PT_PARTID_LEN], int na, char (*b)[PT_PARTID_LEN],
    int nb, char (**out)[PT_PARTID_LEN], int *nout, pt_err *e)
{
	char (*v)[PT_PARTID_LEN];
	int n = na + nb, of = 0;

	if ((v = malloc(((size_t)n + 1) * sizeof *v)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	memcpy(v, a, (size_t)na * sizeof *v);
	memcpy(v + na, b, (size_t)nb * sizeof *v);
	qsort(v, (size_t)n, sizeof *v, id_cmp);
	for (int k = 0; k < n; k++) {
		int o = split_of(v[k]);
		if (k > 0 && strcmp(v[k], v[k - 1]) == 0 &&
		    strncmp(v[k], "empty", 5) != 0) {
			pt_fail(e, PT_EMISMATCH, "", "partition %s seen twice",
			    v[k]);
			free(v);
			return -1;
		}
		if (o > 0 && of > 0 && o != of) {
			pt_fail(e, PT_EMISMATCH, "", "parts of a split into %d and "
			    "of one into %d", of, o);
			free(v);
			return -1;
		}
		if (o > 0)
			of = o;
	}
	*out = v;
	*nout = n;
	return 0;
}

int
pt_partid_expect(char (*ids)[PT_PARTID_LEN], int n, int expect, pt_err *e)
{
	int of = 0, parts = 0, empty = 0, missing = -1;

	for (int k = 0; k < n; k++)
		if ((of = split_of(ids[k])) > 0)
			break;
	if (of == 0) {
		if (n < expect)
			return pt_fail(e, PT_EMISMATCH, "", "%d partitions merged, "
			    "%d expected", n, expect);
		return 0;
	}
	if (of != expect)
		return pt_fail(e, PT_EMISMATCH, "", "parts of a split into %d, not "
		    "%d", of, expect);
	/* The parts' ids sort as numbers: the first gap is the first part
	 * missing; an empty part counts without its index. */
	for (int k = 0; k < n; k++) {
		if (strncmp(ids[k], "empty/", 6) == 0) {
			empty++;
			continue;
		}
		if (split_of(ids[k]) == 0)
			continue;
		if (missing < 0 && atoi(ids[k]) != parts)
			missing = parts;
		parts++;
	}
	if (parts + empty > of)
		return pt_fail(e, PT_EMISMATCH, "", "%d parts merged, but the split "
		    "made %d (an empty part given twice?)", parts + empty, of);
	if (parts + empty < of && empty == 0)
		return pt_fail(e, PT_EMISMATCH, "", "part %d of the %d is missing "
		    "(%d merged)", missing >= 0 ? missing : parts, of, parts);
	if (parts + empty < of)
		return pt_fail(e, PT_EMISMATCH, "", "%d of the %d parts merged",
		    parts + empty, of);
	return 0;
}

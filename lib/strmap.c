/*
 * strmap.c: the string hash map of strmap.h.  Which slot a key lands in
 * never shows in results: fit reads the keys back sorted, apply only
 * looks them up.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "pt.h"
#include "xsum.h"

static uint64_t
strhash(const char *s, size_t n)
{
	return pt_hash64(s, n, 0x5eed);
}

static int
grow(pt_strmap *m)
{
	pt_strmap nm = { 0 };

	nm.cap = m->cap ? m->cap * 2 : 16;
	nm.key = calloc(nm.cap, sizeof *nm.key);
	nm.klen = calloc(nm.cap, sizeof *nm.klen);
	nm.count = calloc(nm.cap, sizeof *nm.count);
	nm.val = calloc(nm.cap, sizeof *nm.val);
	if (!nm.key || !nm.klen || !nm.count || !nm.val) {
		free(nm.key);
		free(nm.klen);
		free(nm.count);
		free(nm.val);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;
		if (m->key[i] == NULL)
			continue;
		j = strhash(m->key[i], m->klen[i]) & (nm.cap - 1);
		while (nm.key[j] != NULL)
			j = (j + 1) & (nm.cap - 1);
		nm.key[j] = m->key[i];
		nm.klen[j] = m->klen[i];
		nm.count[j] = m->count[i];
		nm.val[j] = m->val[i];
	}
	nm.n = m->n;
	free(m->key);
	free(m->klen);
	free(m->count);
	free(m->val);
	*m = nm;
	return 0;
}

long
pt_strmap_find(const pt_strmap *m, const char *s, size_t n)
{
	size_t j;

	if (m->cap == 0)
		return -1;
	j = strhash(s, n) & (m->cap - 1);
	while (m->key[j] != NULL) {
		if (m->klen[j] == n && memcmp(m->key[j], s, n) == 0)
			return (long)j;
		j = (j + 1) & (m->cap - 1);
	}
	return -1;
}

long
pt_strmap_add(pt_strmap *m, const char *s, size_t n, int val)
{
	long k = pt_strmap_find(m, s, n);
	size_t j;

	if (k >= 0) {
		m->count[k]++;
		return k;
	}
	if ((m->n + 1) * 2 > m->cap && grow(m) != 0)
		return -1;
	j = strhash(s, n) & (m->cap - 1);
	while (m->key[j] != NULL)
		j = (j + 1) & (m->cap - 1);
	if ((m->key[j] = pt_strndup(s, n)) == NULL)
		return -1;
	m->klen[j] = n;
	m->count[j] = 1;
	m->val[j] = val;
	m->n++;
	return (long)j;
}

void
pt_strmap_free(pt_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->klen);
	free(m->count);
	free(m->val);
	memset(m, 0, sizeof *m);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
pt_strmap_sorted(const pt_strmap *m)
{
	char **v = calloc(m->n + 1, sizeof *v);
	size_t k = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->key[i] != NULL && (v[k++] = pt_strdup(m->key[i])) == NULL) {
			while (k-- > 0)
				free(v[k]);
			free(v);
			return NULL;
		}
	qsort(v, m->n, sizeof *v, cmp_str);
	return v;
}

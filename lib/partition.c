/*
 * partition.c: rows of a frame stream dealt into n streams (policy-prep
 * split), so that partitions can be processed by separate processes.
 *
 * By row hash, a row's partition depends only on its _row value, never on
 * the input's order or framing; round-robin and shuffle use a generator
 * fixed here (xorshift128+ seeded through splitmix64), so a seed gives the
 * same partitions everywhere.
 */
#include "partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pt_parter {
	const pt_schema *s;
	pt_schema *out;    /* s with the _part column */
	int partcol;       /* its index in out */
	int n, rowcol;
	pt_partmode mode;
	uint64_t rng[2], counter;
	pt_batch **b;
	pt_batch *tmp;
	size_t *perm;
};

static uint64_t
rng_next(uint64_t s[2])
{
	/* xorshift128+: fast, and fixed here, so results are the same
	 * everywhere. */
	uint64_t x = s[0], y = s[1];

	s[0] = y;
	x ^= x << 23;
	s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
	return s[1] + y;
}

/* s with a _part column of n levels: replacing one, or appended. */
static pt_schema *
parts_schema(const pt_schema *s, int n, int *partcol, pt_err *e)
{
	pt_schema *o = pt_schema_new(s->manifest);
	char **levels = calloc((size_t)n + 1, sizeof *levels);
	int ok = o != NULL && levels != NULL;

	for (int k = 0; ok && k < n; k++) {
		char t[16];
		snprintf(t, sizeof t, "%d", k);
		ok = (levels[k] = pt_strdup(t)) != NULL;
	}
	*partcol = -1;
	for (int j = 0; ok && j < s->ncols; j++) {
		const pt_colspec *c = &s->cols[j];
		if (c->role == PT_ROLE_PART) {
			*partcol = j;
			ok = pt_schema_add(o, "_part", PT_I32, PT_ROLE_PART, n,
			    levels, e) >= 0;
		} else {
			ok = pt_schema_add(o, c->name, c->type, c->role, c->nlevels,
			    c->levels, e) >= 0;
		}
	}
	if (ok && *partcol < 0) {
		if (pt_schema_find(s, "_part") >= 0) {
			pt_fail(e, PT_EMISMATCH, "", "the frames have a column "
			    "named _part that is not a part index");
			ok = 0;
		} else {
			*partcol = s->ncols;
			ok = pt_schema_add(o, "_part", PT_I32, PT_ROLE_PART, n, levels,
			    e) >= 0;
		}
	}
	if (levels != NULL)
		pt_strs_free(levels, n);
	if (!ok) {
		if (o == NULL || levels == NULL)
			pt_fail(e, PT_ENOMEM, "", "out of memory");
		pt_schema_free(o);
		return NULL;
	}
	return o;
}

const pt_schema *
pt_parter_schema(const pt_parter *p)
{
	return p->out;
}

pt_parter *
pt_parter_new(const pt_schema *s, int n, pt_partmode mode, uint64_t seed,
    pt_err *e)
{
	pt_parter *p = calloc(1, sizeof *p);
	size_t cap;

	if (p == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	if ((p->out = parts_schema(s, n, &p->partcol, e)) == NULL) {
		free(p);
		return NULL;
	}
	/* Keep the buffers of all partitions near 64 MB together. */
	cap = (size_t)(64u << 20) / ((size_t)n * 8 * (size_t)s->ncols + 1);
	if (cap > PT_FRAME_ROWS)
		cap = PT_FRAME_ROWS;
	if (cap < 1024)
		cap = 1024;
	p->s = s;
	p->n = n;
	p->mode = mode;
	p->rowcol = pt_schema_find_role(s, PT_ROLE_ROW, 0);
	p->rng[0] = pt_splitmix64(seed);
	p->rng[1] = pt_splitmix64(seed ^ 0xdeadbeefULL) | 1;
	p->b = calloc((size_t)n, sizeof *p->b);
	p->tmp = pt_batch_new(p->out, cap);
	p->perm = malloc(sizeof *p->perm * cap);
	if (p->b == NULL || p->tmp == NULL || p->perm == NULL)
		goto oom;
	for (int i = 0; i < n; i++)
		if ((p->b[i] = pt_batch_new(p->out, cap)) == NULL)
			goto oom;
	if (mode == PT_PART_HASH && p->rowcol < 0) {
		pt_fail(e, PT_EMISMATCH, "", "the frames have no row hash column to "
		    "partition by (use --round-robin)");
		pt_parter_free(p);
		return NULL;
	}
	return p;
oom:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	pt_parter_free(p);
	return NULL;
}

static int
parter_flush(pt_parter *p, pt_writer **w, int k, pt_err *e)
{
	pt_batch *b = p->b[k];

	if (b->nrows == 0)
		return 0;
	if (p->mode == PT_PART_SHUFFLE) {
		/* Shuffle rows within the frame too (Fisher-Yates). */
		for (size_t i = 0; i < b->nrows; i++)
			p->perm[i] = i;
		for (size_t i = b->nrows - 1; i > 0; i--) {
			size_t j = (size_t)(rng_next(p->rng) % (i + 1)), t = p->perm[i];
			p->perm[i] = p->perm[j];
			p->perm[j] = t;
		}
		for (int c = 0; c < p->out->ncols; c++) {
			size_t z = pt_type_width(p->out->cols[c].type);
			char *src = b->col[c], *dst = p->tmp->col[c];
			for (size_t i = 0; i < b->nrows; i++)
				memcpy(dst + i * z, src + p->perm[i] * z, z);
			memcpy(src, dst, b->nrows * z);
		}
	}
	if (pt_writer_write(w[k], b, e) != 0)
		return -1;
	b->nrows = 0;
	return 0;
}

int
pt_parter_feed(pt_parter *p, pt_writer **w, const pt_batch *in, pt_err *e)
{
	for (size_t i = 0; i < in->nrows; i++) {
		int k;
		pt_batch *b;

		switch (p->mode) {
		case PT_PART_HASH:
			k = (int)(pt_splitmix64(PT_COL_U64(in, p->rowcol)[i] ^
			    0x7061727469ULL) % (uint64_t)p->n);
			break;
		case PT_PART_ROUNDROBIN:
			k = (int)(p->counter++ % (uint64_t)p->n);
			break;
		default:
			k = (int)(rng_next(p->rng) % (uint64_t)p->n);
			break;
		}
		b = p->b[k];
		for (int c = 0; c < p->s->ncols; c++) {
			size_t z = pt_type_width(p->s->cols[c].type);
			memcpy((char *)b->col[c] + b->nrows * z,
			    (const char *)in->col[c] + i * z, z);
		}
		PT_COL_I32(b, p->partcol)[b->nrows] = k;
		if (++b->nrows == b->cap && parter_flush(p, w, k, e) != 0)
			return -1;
	}
	return 0;
}

int
pt_parter_finish(pt_parter *p, pt_writer **w, pt_err *e)
{
	for (int k = 0; k < p->n; k++)
		if (parter_flush(p, w, k, e) != 0)
			return -1;
	return 0;
}

void
pt_parter_free(pt_parter *p)
{
	if (p == NULL)
		return;
	if (p->b != NULL)
		for (int i = 0; i < p->n; i++)
			pt_batch_free(p->b[i]);
	free(p->b);
	pt_batch_free(p->tmp);
	pt_schema_free(p->out);
	free(p->perm);
	free(p);
}

/*
 * rowid.c: a CSV record's values and the row identity made of them
 * (rowid.h).
 */
#include "rowid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "xsum.h"

int
pt_rowvals_read(pt_rowvals *rv, const pt_csvrec *r, const pt_names *tokens,
    pt_err *e)
{
	size_t need = 0;

	if (r->nfields > rv->cap) {
		size_t cap = r->nfields + 8;
		double *v = realloc(rv->v, cap * sizeof *v);
		unsigned char *k;
		if (v == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		rv->v = v;
		if ((k = realloc(rv->kind, cap)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		rv->kind = k;
		rv->cap = cap;
	}
	rv->n = r->nfields;
	for (size_t i = 0; i < r->nfields; i++) {
		const char *f = r->field[i];
		size_t n = r->len[i];
		int rc;
		if (pt_names_has(tokens, f, n)) {
			rv->kind[i] = PT_VAL_MISSING;
			need += 1;
			continue;
		}
		rc = pt_parse_f64(f, n, &rv->v[i]);
		rv->kind[i] = rc == PT_NUM_OK ? PT_VAL_NUMBER :
		    rc == PT_NUM_NONFINITE ? PT_VAL_NONFINITE :
		    rc == PT_NUM_RANGE ? PT_VAL_RANGE : PT_VAL_TEXT;
		need += rc >= 0 ? 9 : 9 + n;
	}
	/* Room for the identity's bytes, so pt_rowvals_id cannot fail. */
	if (need > rv->bufcap) {
		unsigned char *b = realloc(rv->buf, need + 64);
		if (b == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		rv->buf = b;
		rv->bufcap = need + 64;
	}
	return 0;
}

/* Appends field i's value: a tag, then the number's 8 bytes (little
 * endian) or the text's length and bytes. */
static size_t
put_value(const pt_rowvals *rv, const pt_csvrec *r, size_t i,
    unsigned char *p)
{
	uint64_t u;
	double x;
	size_t n;

	switch (rv->kind[i]) {
	case PT_VAL_MISSING:
		p[0] = 'M';
		return 1;
	case PT_VAL_NUMBER:
	case PT_VAL_NONFINITE:
		x = rv->v[i];
		if (x == 0)
			x = 0.0;   /* -0 is 0 */
		if (isnan(x))
			x = NAN;   /* one NaN */
		memcpy(&u, &x, 8);
		p[0] = 'N';
		for (int k = 0; k < 8; k++)
			p[1 + k] = (unsigned char)(u >> (8 * k));
		return 9;
	default:
		n = r->len[i];
		p[0] = 'S';
		for (int k = 0; k < 8; k++)
			p[1 + k] = (unsigned char)((uint64_t)n >> (8 * k));
		memcpy(p + 9, r->field[i], n);
		return 9 + n;
	}
}

uint64_t
pt_rowvals_id(pt_rowvals *rv, const pt_csvrec *r, int key)
{
	size_t len = 0;

	if (rv->buf == NULL)
		return 0;
	if (key >= 0)
		len = put_value(rv, r, (size_t)key, rv->buf);
	else
		for (size_t i = 0; i < rv->n; i++)
			len += put_value(rv, r, i, rv->buf + len);
	return pt_hash64(rv->buf, len, 0);
}

void
pt_rowvals_free(pt_rowvals *rv)
{
	free(rv->v);
	free(rv->kind);
	free(rv->buf);
	memset(rv, 0, sizeof *rv);
}

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

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

/* Which lengths the missing tokens have (bit n for a token of n < 63
 * bytes, bit 63 for any longer one), so that most fields, numbers longer
 * than every token, are told apart from the tokens with one test. */
static uint64_t
token_mask(const pt_names *tokens, uint64_t first[4])
{
	uint64_t m = 0;

	memset(first, 0, 4 * sizeof *first);
	for (int i = 0; i < tokens->n; i++) {
		size_t n = strlen(tokens->v[i]);
		unsigned char c = (unsigned char)tokens->v[i][0];
		m |= UINT64_C(1) << (n < 63 ? n : 63);
		first[c >> 6] |= UINT64_C(1) << (c & 63);
	}
	return m;
}

/* Whether field f (n bytes) is a missing token.  Most fields are told
 * apart by their length or first byte alone, before any comparison. */
static int
is_token(const pt_rowvals *rv, const pt_names *tokens, const char *f,
    size_t n)
{
	unsigned char c = n ? (unsigned char)f[0] : 0;

	if (!(rv->tokmask >> (n < 63 ? n : 63) & 1) ||
	    !(rv->tokfirst[c >> 6] >> (c & 63) & 1))
		return 0;
	return pt_names_has(tokens, f, n);
}

/* x's 8 bytes, little endian, at p. */
static void
put_u64le(unsigned char *p, uint64_t u)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &u, 8);
#else
	for (int k = 0; k < 8; k++)
		p[k] = (unsigned char)(u >> (8 * k));
#endif
}

/* Writes a value's identity bytes at p: 'M' for missing; 'N' and the
 * double's 8 bytes (-0 as 0, every NaN as one); 'S', the length (8 bytes)
 * and the bytes of text.  Returns how many. */
static size_t
put_value(unsigned char *p, int kind, double x, const char *f, size_t n)
{
	uint64_t u;

	switch (kind) {
	case PT_VAL_MISSING:
		p[0] = 'M';
		return 1;
	case PT_VAL_NUMBER:
	case PT_VAL_NONFINITE:
		if (x == 0)
			x = 0.0;   /* -0 is 0 */
		if (isnan(x))
			x = NAN;   /* one NaN */
		memcpy(&u, &x, 8);
		p[0] = 'N';
		put_u64le(p + 1, u);
		return 9;
	default:
		p[0] = 'S';
		put_u64le(p + 1, (uint64_t)n);
		memcpy(p + 9, f, n);
		return 9 + n;
	}
}

int
pt_rowvals_read(pt_rowvals *rv, const pt_csvrec *r, const pt_names *tokens,
    pt_err *e)
{
	size_t len = 0;

	rv->id_ok = 0;
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
	if (rv->tokens != tokens) {
		rv->tokens = tokens;
		rv->tokmask = token_mask(tokens, rv->tokfirst);
	}
	rv->n = r->nfields;
	/* The identity's bytes are written as the values are read: at most
	 * 9 + n a field.  The common case, a finite number, goes straight. */
	for (size_t i = 0; i < r->nfields; i++) {
		const char *f = r->field[i];
		size_t n = r->len[i];
		unsigned char *p;
		double x;
		int rc, kind;
		if (len + 9 + n > rv->bufcap) {
			size_t cap = 2 * (len + 9 + n) + 256;
			unsigned char *b = realloc(rv->buf, cap);
			if (b == NULL)
				return pt_fail(e, PT_ENOMEM, "", "out of memory");
			rv->buf = b;
			rv->bufcap = cap;
		}
		p = rv->buf + len;
		if (is_token(rv, tokens, f, n)) {
			rv->kind[i] = PT_VAL_MISSING;
			p[0] = 'M';
			len++;
			continue;
		}
		rc = pt_parse_f64_fast8(f, n, &x) ? PT_NUM_OK :
		    pt_parse_f64(f, n, &x);
		rv->v[i] = x;
		if (rc == PT_NUM_OK) {
			uint64_t u;
			x += 0.0;  /* -0 is 0 (round to nearest: -0 + 0 = +0) */
			memcpy(&u, &x, 8);
			rv->kind[i] = PT_VAL_NUMBER;
			p[0] = 'N';
			put_u64le(p + 1, u);
			len += 9;
			continue;
		}
		kind = rc == PT_NUM_NONFINITE ? PT_VAL_NONFINITE :
		    rc == PT_NUM_RANGE ? PT_VAL_RANGE : PT_VAL_TEXT;
		rv->kind[i] = (unsigned char)kind;
		len += put_value(p, kind, x, f, n);
	}
	rv->idlen = len;
	rv->id_ok = 1;
	return 0;
}

/* The bytes field i's value took in rv->buf. */
static size_t
value_size(const pt_rowvals *rv, const pt_csvrec *r, size_t i)
{
	switch (rv->kind[i]) {
	case PT_VAL_MISSING:
		return 1;
	case PT_VAL_NUMBER:
	case PT_VAL_NONFINITE:
		return 9;
	default:
		return 9 + r->len[i];
	}
}

uint64_t
pt_rowvals_id(pt_rowvals *rv, const pt_csvrec *r, int key, int skip)
{
	size_t off = 0;

	if (!rv->id_ok)
		return 0;
	if (key < 0 && skip >= 0 && (size_t)skip < r->nfields) {
		/* Every value but the skipped field's: the hash of the rest,
		 * streamed in two pieces (the same hash as of one). */
		XXH3_state_t st;
		size_t len;
		for (size_t i = 0; i < (size_t)skip; i++)
			off += value_size(rv, r, i);
		len = value_size(rv, r, (size_t)skip);
		XXH3_64bits_reset_withSeed(&st, 0);
		XXH3_64bits_update(&st, rv->buf, off);
		XXH3_64bits_update(&st, rv->buf + off + len, rv->idlen - off - len);
		return XXH3_64bits_digest(&st);
	}
	if (key < 0)
		return pt_hash64(rv->buf, rv->idlen, 0);
	/* The key field's value alone, where pt_rowvals_read wrote it. */
	for (size_t i = 0; i < (size_t)key; i++)
		off += value_size(rv, r, i);
	return pt_hash64(rv->buf + off, value_size(rv, r, (size_t)key), 0);
}

void
pt_rowvals_free(pt_rowvals *rv)
{
	free(rv->v);
	free(rv->kind);
	free(rv->buf);
	memset(rv, 0, sizeof *rv);
}

const char *
pt_weight_check(int kind, double v)
{
	if (kind == PT_VAL_MISSING)
		return "is missing";
	if (kind != PT_VAL_NUMBER || !isfinite(v))
		return "is not a finite number";
	if (v < 0)
		return "is negative";
	return NULL;
}

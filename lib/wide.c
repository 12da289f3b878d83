/*
 * wide.c: exact 256-bit fixed-point arithmetic for histogram sums, and the
 * bridges between it and doubles (the one rounding a sum ever gets, the
 * exact conversions a check or a file needs).  Kept apart from the
 * histograms so that the exactness argument rests on one small file.
 */
#include "wide.h"

#include <math.h>
#include <string.h>

int
pt_wide_sign(const pt_wide *a)
{
	int i;

	if ((int64_t)a->w[PT_WIDE_WORDS - 1] < 0)
		return -1;
	for (i = 0; i < PT_WIDE_WORDS; i++)
		if (a->w[i] != 0)
			return 1;
	return 0;
}

int
pt_wide_cmp(const pt_wide *a, const pt_wide *b)
{
	int i = PT_WIDE_WORDS - 1;
	int64_t ta = (int64_t)a->w[i], tb = (int64_t)b->w[i];

	if (ta != tb)
		return ta < tb ? -1 : 1;
	for (i--; i >= 0; i--)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	return 0;
}

void
pt_wide_add(pt_wide *d, const pt_wide *a)
{
	uint64_t c = 0;
	int i;

	for (i = 0; i < PT_WIDE_WORDS; i++) {
		uint64_t s = d->w[i] + a->w[i];
		uint64_t c1 = s < a->w[i];
		uint64_t t = s + c;
		c = c1 | (t < s);
		d->w[i] = t;
	}
}

void
pt_wide_sub(pt_wide *d, const pt_wide *a)
{
	uint64_t b = 0;
	int i;

	for (i = 0; i < PT_WIDE_WORDS; i++) {
		uint64_t x = d->w[i], y = a->w[i];
		uint64_t t = x - y;
		uint64_t b1 = x < y;
		uint64_t u = t - b;
		b = b1 | (t < b);
		d->w[i] = u;
	}
}

static void
wide_neg(pt_wide *a)
{
	pt_wide z;

	memset(&z, 0, sizeof z);
	pt_wide_sub(&z, a);
	*a = z;
}

int
pt_wide_bits(const pt_wide *a)
{
	pt_wide m = *a;
	int i;

	if (pt_wide_sign(&m) < 0)
		wide_neg(&m);
	for (i = PT_WIDE_WORDS - 1; i >= 0; i--)
		if (m.w[i] != 0)
			return 64 * i + 64 - __builtin_clzll(m.w[i]);
	return 0;
}

void
pt_wide_shl(pt_wide *a, int sh)
{
	pt_wide r;
	int q = sh / 64, s = sh % 64, i;

	memset(&r, 0, sizeof r);
	for (i = PT_WIDE_WORDS - 1; i >= q; i--) {
		uint64_t v = a->w[i - q] << s;
		if (s != 0 && i - q - 1 >= 0)
			v |= a->w[i - q - 1] >> (64 - s);
		r.w[i] = v;
	}
	*a = r;
}

int
pt_wide_ctz(const pt_wide *a)
{
	int i;

	for (i = 0; i < PT_WIDE_WORDS && a->w[i] == 0; i++)
		;
	return 64 * i + __builtin_ctzll(a->w[i]);
}

void
pt_wide_sar(pt_wide *a, int sh)
{
	uint64_t fill = (int64_t)a->w[PT_WIDE_WORDS - 1] < 0 ? ~UINT64_C(0) : 0;
	uint64_t src[2 * PT_WIDE_WORDS];
	int q = sh / 64, r = sh % 64, i;

	for (i = 0; i < PT_WIDE_WORDS; i++) {
		src[i] = a->w[i];
		src[PT_WIDE_WORDS + i] = fill;
	}
	for (i = 0; i < PT_WIDE_WORDS; i++) {
		uint64_t v = src[i + q] >> r;
		if (r != 0)
			v |= src[i + q + 1] << (64 - r);
		a->w[i] = v;
	}
}

void
pt_wide_to_xsum(const pt_wide *a, int scale, pt_xsum *x)
{
	pt_wide m = *a;
	int neg = pt_wide_sign(&m) < 0, bit;

	pt_xsum_init(x);
	if (neg)
		wide_neg(&m);
	/* 52-bit chunks: each is a double exactly, and so is chunk * 2^k
	 * because every unit 2^scale is at least 2^-1074. */
	for (bit = 0; bit < 64 * PT_WIDE_WORDS; bit += 52) {
		int q = bit / 64, s = bit % 64;
		uint64_t c = m.w[q] >> s;
		if (s > 12 && q + 1 < PT_WIDE_WORDS)
			c |= m.w[q + 1] << (64 - s);
		c &= (UINT64_C(1) << 52) - 1;
		if (c != 0) {
			double d = ldexp((double)c, scale + bit);
			pt_xsum_add(x, neg ? -d : d);
		}
	}
}

double
pt_wide_round(const pt_wide *a, int scale)
{
	pt_wide m = *a;
	int neg, top, i;
	uint64_t hi = 0, mant;
	int sticky = 0;
	double r;

	if (pt_wide_sign(&m) == 0)
		return 0.0;
	neg = pt_wide_sign(&m) < 0;
	if (neg)
		wide_neg(&m);
	top = pt_wide_bits(&m) - 1;
	if (top < 53) {
		/* Fits a 53-bit integer: exact unless the scale underflows. */
		if (scale + top >= -1022 || scale >= -1074) {
			r = ldexp((double)m.w[0], scale);
			if (scale >= -1074 && scale + top >= -1022)
				return neg ? -r : r;
		}
	} else if (scale + top - 52 >= -1022) {
		/* The 64 bits below and at top, and whether anything lower is set. */
		int lo = top - 63;
		if (lo <= 0) {
			/* top < 64: the number is its low word. */
			hi = m.w[0] << -lo;
		} else {
			int w = lo / 64, s = lo % 64;
			hi = m.w[w] >> s;
			if (s != 0 && w + 1 < PT_WIDE_WORDS)
				hi |= m.w[w + 1] << (64 - s);
			sticky = s != 0 && (m.w[w] & ((UINT64_C(1) << s) - 1)) != 0;
			for (i = 0; i < w && !sticky; i++)
				sticky = m.w[i] != 0;
		}
		mant = hi >> 11;
		{
			uint64_t rem = hi & 0x7ff;
			if (rem > 0x400 || (rem == 0x400 && (sticky || (mant & 1))))
				mant++;
		}
		r = ldexp((double)mant, scale + top - 52);
		return neg ? -r : r;
	}
	{
		/* Near or below the subnormal range: let pt_xsum round. */
		pt_xsum x;
		pt_wide_to_xsum(a, scale, &x);
		return pt_xsum_round(&x);
	}
}

int
pt_f64_lowbit(double v)
{
	int lo, hi;

	pt_f64_bits(v, &lo, &hi);
	return lo;
}

int
pt_wide_from_f64(pt_wide *d, double v, int scale)
{
	int lo, hi;

	memset(d, 0, sizeof *d);
	if (v == 0)
		return 0;
	if (!isfinite(v))
		return -1;
	pt_f64_bits(v, &lo, &hi);
	if (lo < scale || hi - scale > PT_WIDE_LIMIT - 40)
		return -1;
	{
		uint64_t u, M;
		int E, e0;
		memcpy(&u, &v, sizeof u);
		E = (int)((u >> 52) & 0x7ff);
		M = u & ((UINT64_C(1) << 52) - 1);
		if (E != 0)
			M |= UINT64_C(1) << 52;
		e0 = (E ? E : 1) - 1075;
		d->w[0] = M;
		if (e0 - scale > 0)
			pt_wide_shl(d, e0 - scale);
		else if (e0 < scale)
			d->w[0] = M >> (scale - e0);
		if (u >> 63)
			wide_neg(d);
	}
	return 0;
}

void
pt_f64_bits(double v, int *lo, int *hi)
{
	uint64_t u, M;
	int E, e0;

	memcpy(&u, &v, sizeof u);
	E = (int)((u >> 52) & 0x7ff);
	M = u & ((UINT64_C(1) << 52) - 1);
	if (E != 0)
		M |= UINT64_C(1) << 52;
	e0 = (E ? E : 1) - 1075;
	*lo = e0 + __builtin_ctzll(M);
	*hi = e0 + 63 - __builtin_clzll(M);
}

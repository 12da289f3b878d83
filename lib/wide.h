/*
 * wide.h: the exact accumulator of partial histograms.
 *
 * A histogram sum must come out the same bits however its rows are
 * grouped into frames, partitions and merges, so it is kept as an integer:
 * a pt_wide is a 256-bit two's complement integer counting units of
 * 2^scale, scale being one exponent shared by every sum it is added to.
 * Integer addition is associative, so the order of adds cannot show.  At
 * most PT_WIDE_LIMIT of the 255 magnitude bits are used, so that adding a
 * frame's or a partial's sums to one that fits cannot overflow.
 */
#ifndef PT_WIDE_H
#define PT_WIDE_H

#include <stdint.h>

#include "xsum.h"

#define PT_WIDE_WORDS 4
#define PT_WIDE_LIMIT 250 /* bits a magnitude may use (of 255) */

typedef struct pt_wide {
	uint64_t w[PT_WIDE_WORDS]; /* little-endian words, two's complement */
} pt_wide;

/* Exact arithmetic on pt_wide at one common scale. */
int pt_wide_cmp(const pt_wide *a, const pt_wide *b); /* -1, 0, 1 */
void pt_wide_add(pt_wide *d, const pt_wide *a);      /* d += a */
void pt_wide_sub(pt_wide *d, const pt_wide *a);      /* d -= a */
int pt_wide_sign(const pt_wide *a);                  /* -1, 0, 1 */
/* Bits used by the magnitude of a (0 for zero). */
int pt_wide_bits(const pt_wide *a);
/* Exponent of the lowest set bit of a non-zero a. */
int pt_wide_ctz(const pt_wide *a);
/* a <<= sh (0 <= sh < 256); the caller has checked there is room. */
void pt_wide_shl(pt_wide *a, int sh);
/* a >>= sh, arithmetic (0 <= sh < 256). */
void pt_wide_sar(pt_wide *a, int sh);
/* The value a * 2^scale rounded once to the nearest double (ties even). */
double pt_wide_round(const pt_wide *a, int scale);
/* The exact value a * 2^scale as a pt_xsum (for checks and encoding). */
void pt_wide_to_xsum(const pt_wide *a, int scale, pt_xsum *x);
/* d = v / 2^scale exactly (v finite); -1 when v has bits below 2^scale or
 * does not fit. */
int pt_wide_from_f64(pt_wide *d, double v, int scale);
/* Exponent of the lowest set bit of a finite non-zero double. */
int pt_f64_lowbit(double v);
/* Exponents of the lowest and highest set bits of a finite non-zero
 * double. */
void pt_f64_bits(double v, int *lo, int *hi);

/* Whether a uses at most PT_WIDE_LIMIT bits (pt_wide_bits(a) <=
 * PT_WIDE_LIMIT), from the top word alone but for one value.  Inline: the
 * fold of a frame's cells asks it of every sum it touches. */
static inline int
pt_wide_fits(const pt_wide *a)
{
	int64_t t = (int64_t)a->w[3] >> (PT_WIDE_LIMIT - 192);

	if (t == 0)
		return 1;
	if (t != -1)
		return 0;
	/* Negative: the magnitude fits unless a is exactly -2^PT_WIDE_LIMIT. */
	return !(a->w[3] == ~UINT64_C(0) << (PT_WIDE_LIMIT - 192) &&
	    a->w[2] == 0 && a->w[1] == 0 && a->w[0] == 0);
}

/* d += v * 2^sh for a signed 128-bit v (lo, hi words); the caller knows
 * the result fits.  Inline, for the same fold. */
static inline void
pt_wide_add_128(pt_wide *d, uint64_t lo, uint64_t hi, int sh)
{
	uint64_t src[PT_WIDE_WORDS], carry = 0;
	int q = sh >> 6, r = sh & 63, k;

	src[0] = lo;
	src[1] = hi;
	src[2] = src[3] = (int64_t)hi < 0 ? ~UINT64_C(0) : 0;
	for (k = q; k < PT_WIDE_WORDS; k++) {
		int t = k - q;
		uint64_t x = src[t] << r, s1, s2;
		if (r != 0 && t > 0)
			x |= src[t - 1] >> (64 - r);
		s1 = d->w[k] + x;
		s2 = s1 + carry;
		carry = (s1 < x) | (s2 < s1);
		d->w[k] = s2;
	}
}

#endif

/*
 * number.h: exact, fast text <-> double.
 */
#ifndef PT_NUMBER_H
#define PT_NUMBER_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* What pt_parse_f64 found. */
enum {
	PT_NUM_OK = 0,        /* a finite number */
	PT_NUM_NONFINITE = 1, /* inf, infinity or nan (any case, signed) */
	PT_NUM_BAD = -1,      /* not a number of the grammar */
	PT_NUM_RANGE = -2     /* a number past the doubles' range: it would
			       * overflow, or (not zero) underflow to zero or
			       * to a subnormal */
};

/* Parses the whole of s[0..len) as a decimal number of the grammar
 *     [+-] digits [. [digits]] [(e|E) [+-] digits]
 *     [+-] . digits [(e|E) [+-] digits]
 * (no hex, no leading zeros rule, no thousands separators), giving exactly
 * the double strtod(3) gives (round to nearest even) in the C locale.
 * Leading and trailing blanks (space, tab) are ignored.  Returns one of
 * the PT_NUM_ values; *out is set for PT_NUM_OK and PT_NUM_NONFINITE.
 * Common short decimals take an exact fast path (Clinger); the rest strtod. */
int pt_parse_f64(const char *s, size_t len, double *out);
/* The same, but a subnormal result is a number: for the files the tools
 * write themselves, where any finite double (pt_fmt_f64) must read back. */
int pt_parse_f64_exact(const char *s, size_t len, double *out);

/* Writes the shortest decimal text that reads back (strtod) as exactly x;
 * "nan"/"inf"/"-inf" for non-finite.  buf needs 32 bytes.  Returns the
 * length. */
int pt_fmt_f64(char *buf, double x);

/*
 * The shape of most CSV numbers, inline for the loops that read every
 * field: one to eight bytes (after an optional sign) of digits with at
 * most one point anywhere among them, and at least one digit, such as
 * "0.702921", "-12.34567", "12345678", ".1234567", "1234567.", "142.44"
 * or "0".  One 8-byte word holds them (a shorter text is read into its
 * top bytes, '0's below: leading zeros change no value); one test finds
 * the point (the lowest '.' byte, exact with the borrow trick below),
 * squeezes it out and reads the remaining seven or eight digits at once.
 * Returns 1 with *out set to what pt_parse_f64 gives, or 0 when
 * s[0..len) is not of the shape (then ask pt_parse_f64).  The mantissa is
 * below 10^8 < 2^53 and the scale at most 10^7, so one correctly rounded
 * division is exact (Clinger); that needs each operation rounded once to
 * double (FLT_EVAL_METHOD 0) and a little-endian load, else this returns
 * 0.  Only s[0..len) is read.
 */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PT_NUM_FAST8 1
#else
#define PT_NUM_FAST8 0
#endif

static inline int
pt_parse_f64_fast8(const char *s, size_t len, double *out)
{
	static const double scale[8] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7
	};
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	const uint64_t mask = UINT64_C(0x000000FF000000FF);
	const uint64_t mul1 = 100 + (UINT64_C(1000000) << 32);
	const uint64_t mul2 = 1 + (UINT64_C(10000) << 32);
	uint64_t u, x, dots, v;
	unsigned q = 0;
	uint32_t w;
	int neg;
	double d;

	size_t nb;

	if (!PT_NUM_FAST8 || len == 0)
		return 0;
	neg = s[0] == '-';
	nb = len - (size_t)(neg || s[0] == '+'); /* the bytes after the sign */
	if (nb == 8) {
		memcpy(&u, s + len - 8, 8);
	} else if (nb - 1 < 7) {
		const char *p = s + len - nb;
		unsigned sh = 8 * (8 - (unsigned)nb); /* 8..56 */

		/* p[0..d) in the low d bytes, from loads that stay inside
		 * it (overlapping bytes are equal, so or-ing is exact). */
		if (nb >= 4) {
			uint32_t a, b;
			memcpy(&a, p, 4);
			memcpy(&b, p + nb - 4, 4);
			u = a | (uint64_t)b << (8 * (nb - 4));
		} else {
			u = (uint64_t)(unsigned char)p[0] |
			    (uint64_t)(unsigned char)p[nb / 2] << (8 * (nb / 2)) |
			    (uint64_t)(unsigned char)p[nb - 1] << (8 * (nb - 1));
			if (nb == 1 && p[0] == '.') /* a point and no digit */
				return 0;
		}
		u = u << sh | UINT64_C(0x3030303030303030) >> (64 - sh);
	} else
		return 0;
	/* Zero bytes of u ^ '.'...: the lowest flagged byte is the first
	 * point (a borrow only flags bytes above a true zero byte). */
	x = u ^ UINT64_C(0x2E2E2E2E2E2E2E2E);
	dots = (x - ones) & ~x & highs;
	v = u;
	if (dots != 0) {
		unsigned k = (unsigned)__builtin_ctzll(dots) >> 3;
		uint64_t lo = (UINT64_C(1) << (8 * k)) - 1;

		/* Drop byte k and put a '0' in front: eight digits again. */
		v = (((u & lo) | ((u >> 8) & ~lo)) << 8) | '0';
		q = 7 - k;
	}
	/* All eight bytes ASCII digits? */
	if (((v & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
	    (((v + UINT64_C(0x0606060606060606)) &
	    UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) != UINT64_C(0x3333333333333333))
		return 0;
	/* Their value, the first byte the most significant digit. */
	v -= UINT64_C(0x3030303030303030);
	v = v * 10 + (v >> 8);
	w = (uint32_t)(((v & mask) * mul1 + ((v >> 16) & mask) * mul2) >> 32);
	d = (double)w / scale[q];
	*out = neg ? -d : d;
	return 1;
}

#endif

/*
 * xsum.c: exact sums of doubles in a fixed-point accumulator, and the
 * multiset hash.
 *
 * Every finite double is an integer multiple of 2^-1074 below 2^1024, so a
 * 2176-bit fixed-point integer in units of 2^-1088 holds any of them, and
 * any sum of them, exactly.  The integer is kept as 68 signed 64-bit
 * "digits" of weight 2^32 apart.  An add touches at most three digits and
 * puts at most 2^32 - 1 into each, without carrying, so the hot loop has
 * no data-dependent branch; the spare 31 bits of each digit absorb 2^30
 * such adds before carries must be propagated (normalise()).
 *
 * Normalised form: d[0..66] in [0, 2^32) and d[67] signed, i.e. a two's
 * complement number whose top digit carries the sign.  It is unique for a
 * value, so comparisons and the canonical text come straight from it.
 *
 * Invariant kept between calls: |d[i]| <= (pending + 1) * (2^32 - 1) for
 * i < 67 and pending < PT_XSUM_LIMIT, so no digit ever overflows.  d[67]
 * only collects carries; it would need about 2^94 maximal adds to
 * overflow.
 */
#include "xsum.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Row identities hash a few dozen bytes per row: compiled in, the call
 * costs less than the library's dispatch.  The digests are the same. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#define NDIG    PT_XSUM_DIGITS
#define TOP     (NDIG - 1)
#define LOW32   UINT64_C(0xffffffff)
#define FRAC    ((UINT64_C(1) << 52) - 1)
/* Bit position of 2^0 in the fixed-point integer. */
#define ONE_POS 1088
/* Normalise once this many adds (or merges) are pending: half of what the
 * 31 spare bits of a digit allow, so a merge of two nearly full
 * accumulators still fits. */
#define PT_XSUM_LIMIT (UINT32_C(1) << 30)

/* Special flags. */
#define SP_NAN  1u
#define SP_PINF 2u
#define SP_NINF 4u

/* Magnitudes as 32-bit limbs; two extra limbs hold a top digit that grew
 * past 32 bits. */
#define NLIMB   (NDIG + 2)

void
pt_xsum_init(pt_xsum *x)
{
	memset(x, 0, sizeof *x);
}

/*
 * Propagates carries so that d[0..66] are in [0, 2^32).  The carry is an
 * exact division (t minus its low bits), which avoids relying on the
 * implementation-defined right shift of negative numbers.
 */
static void
normalise(pt_xsum *x)
{
	int64_t c = 0, t, lo;
	int i;

	for (i = 0; i < TOP; i++) {
		t = x->d[i] + c;
		lo = (int64_t)((uint64_t)t & LOW32);
		x->d[i] = lo;
		c = (t - lo) / ((int64_t)1 << 32);
	}
	x->d[TOP] += c;
	x->pending = 0;
}

static void
add_special(pt_xsum *x, uint64_t u)
{
	if (u & FRAC)
		x->special |= SP_NAN;
	else
		x->special |= (u >> 63) ? SP_NINF : SP_PINF;
}

void
pt_xsum_add(pt_xsum *x, double v)
{
	uint64_t u, m, lo, hi;
	int64_t neg, *d;
	unsigned e, p, s;

	memcpy(&u, &v, sizeof u);
	e = (unsigned)(u >> 52) & 0x7ff;
	if (e == 0x7ff) {
		add_special(x, u);
		return;
	}
	/* v = m * 2^(max(e,1) - 1075), i.e. m's low bit sits at bit
	 * max(e,1) + 13 of the fixed-point integer (14 for subnormals). */
	m = (u & FRAC) | ((uint64_t)(e != 0) << 52);
	p = e + (e == 0) + 13;
	s = p & 31;
	d = x->d + (p >> 5);
	lo = m << s;
	/* The bits shifted out of lo; two shifts so s == 0 is no 64-bit
	 * shift (m < 2^53, so the result is then 0). */
	hi = (m >> 1) >> (63 - s);
	/* Negate without a branch: (a ^ -1) + 1 == -a. */
	neg = -(int64_t)(u >> 63);
	d[0] += ((int64_t)(lo & LOW32) ^ neg) - neg;
	/* Indexed apart from d[0] on purpose: when GCC sees the two as
	 * adjacent it merges them into one 16-byte store, which the next
	 * add's 8-byte loads cannot forward from (about 25% slower). */
	x->d[(p + 32) >> 5] += ((int64_t)(lo >> 32) ^ neg) - neg;
	d[2] += ((int64_t)hi ^ neg) - neg;
	if (++x->pending >= PT_XSUM_LIMIT)
		normalise(x);
}

/* dst += sign * src, digit by digit; sign is 1 or -1. */
static void
combine(pt_xsum *dst, const pt_xsum *src, int64_t sign)
{
	int i;

	/* Both sides' headroom adds up; make room first if needed. */
	if ((uint64_t)dst->pending + src->pending + 1 >= PT_XSUM_LIMIT)
		normalise(dst);
	for (i = 0; i < NDIG; i++)
		dst->d[i] += sign * src->d[i];
	dst->pending += src->pending + 1;
	if (dst->pending >= PT_XSUM_LIMIT)
		normalise(dst);
}

int
pt_two_prod(double a, double b, double *hi, double *lo)
{
	double p = a * b;

	if (a == 0 || b == 0) {
		*hi = *lo = 0.0;
		return isfinite(a) && isfinite(b) ? 0 : -1;
	}
	if (!isfinite(p) || fabs(p) < 0x1p-968)
		return -1;
	*hi = p;
	*lo = fma(a, b, -p);
	return 0;
}

int
pt_xsum_add_prod(pt_xsum *x, double a, double b)
{
	double hi, lo;

	if (pt_two_prod(a, b, &hi, &lo) < 0)
		return -1;
	if (hi != 0)
		pt_xsum_add(x, hi);
	if (lo != 0)
		pt_xsum_add(x, lo);
	return 0;
}

void
pt_xsum_merge(pt_xsum *dst, const pt_xsum *src)
{
	combine(dst, src, 1);
	dst->special |= src->special;
}

/* Subtracting an accumulator that saw +inf contributes -inf, and the
 * other way round; NaN stays NaN. */
void
pt_xsum_sub(pt_xsum *dst, const pt_xsum *src)
{
	uint32_t sp = src->special;

	combine(dst, src, -1);
	dst->special |= (sp & SP_NAN) | ((sp & SP_PINF) ? SP_NINF : 0) |
	    ((sp & SP_NINF) ? SP_PINF : 0);
}

/*
 * The exact value's sign (-1, 0, 1) and magnitude as 32-bit limbs u[0..69]
 * (u[67..69] hold the top digit, normally zero).
 */
static int
magnitude(const pt_xsum *x, uint32_t u[NLIMB])
{
	pt_xsum t = *x;
	uint64_t top;
	int i, sign = 0;

	normalise(&t);
	if (t.d[TOP] < 0) {
		for (i = 0; i < NDIG; i++)
			t.d[i] = -t.d[i];
		normalise(&t);
		sign = -1;
	}
	for (i = 0; i < TOP; i++) {
		u[i] = (uint32_t)t.d[i];
		if (u[i] != 0)
			sign = sign ? sign : 1;
	}
	top = (uint64_t)t.d[TOP];
	u[TOP] = (uint32_t)top;
	u[TOP + 1] = (uint32_t)(top >> 32);
	u[TOP + 2] = 0;
	if (top != 0)
		sign = sign ? sign : 1;
	return sign;
}

/* Position of the highest set bit of a nonzero magnitude. */
static int
top_bit(const uint32_t u[NLIMB])
{
	int i;

	for (i = NLIMB - 1; i > 0 && u[i] == 0; i--)
		;
	return 32 * i + 31 - __builtin_clz(u[i]);
}

/* Bits [pos, pos + 64) of a magnitude (pos >= 0). */
static uint64_t
bits64(const uint32_t u[NLIMB], int pos)
{
	int i = pos >> 5, off = pos & 31;
	uint64_t a, b, c, w;

	a = i < NLIMB ? u[i] : 0;
	b = i + 1 < NLIMB ? u[i + 1] : 0;
	c = i + 2 < NLIMB ? u[i + 2] : 0;
	w = (a | b << 32) >> off;
	if (off)
		w |= c << (64 - off);
	return w;
}

/* Whether any of bits [0, pos) is set. */
static int
any_below(const uint32_t u[NLIMB], int pos)
{
	int i, n = pos >> 5;

	for (i = 0; i < n; i++)
		if (u[i])
			return 1;
	return (pos & 31) && (u[n] & ((UINT32_C(1) << (pos & 31)) - 1));
}

static int
special_class(const pt_xsum *x)
{
	/* -inf < finite < +inf < NaN, so cmp is a total order. */
	if ((x->special & SP_NAN) ||
	    (x->special & (SP_PINF | SP_NINF)) == (SP_PINF | SP_NINF))
		return 3;
	if (x->special & SP_PINF)
		return 2;
	if (x->special & SP_NINF)
		return 0;
	return 1;
}

static double
from_bits(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof v);
	return v;
}

/*
 * Rounds the magnitude to a 53-bit mantissa m with low bit at position L,
 * where L = max(P - 52, 14) (14 is the position of 2^-1074, so subnormals
 * get fewer bits).  The IEEE bit pattern is then ((L - 14) << 52) + m:
 * the implicit bit of a normal m carries into the exponent field, a
 * rounding carry to 2^53 is renormalised first, and a result of 2^1024 or
 * more lands on or past the pattern of inf.
 *
 * An exact zero rounds to +0.0, even when only -0.0 was added: the
 * accumulator keeps no sign for zero, so equal sums give equal bits.
 */
double
pt_xsum_round(const pt_xsum *x)
{
	uint32_t u[NLIMB];
	uint64_t m, bits;
	int sign, P, L;

	switch (special_class(x)) {
	case 3: return from_bits(UINT64_C(0x7ff8000000000000));
	case 2: return from_bits(UINT64_C(0x7ff0000000000000));
	case 0: return from_bits(UINT64_C(0xfff0000000000000));
	}
	sign = magnitude(x, u);
	if (sign == 0)
		return 0.0;
	P = top_bit(u);
	if (P >= ONE_POS + 1024) {
		bits = UINT64_C(0x7ff0000000000000);
	} else {
		L = P - 52 > 14 ? P - 52 : 14;
		m = bits64(u, L) & ((UINT64_C(1) << 53) - 1);
		if (L > 14 && (bits64(u, L - 1) & 1) &&
		    ((m & 1) || any_below(u, L - 1)))
			m++;
		if (m >> 53) {
			m >>= 1;
			L++;
		}
		bits = ((uint64_t)(L - 14) << 52) + m;
		if (bits > UINT64_C(0x7ff0000000000000))
			bits = UINT64_C(0x7ff0000000000000);
	}
	if (sign < 0)
		bits |= UINT64_C(1) << 63;
	return from_bits(bits);
}

int
pt_xsum_cmp(const pt_xsum *a, const pt_xsum *b)
{
	pt_xsum ta = *a, tb = *b;
	int ca = special_class(a), cb = special_class(b), i;

	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (ca != 1)
		return 0;
	/* Normalised forms are unique: compare the signed top digit, then
	 * the rest as unsigned digits. */
	normalise(&ta);
	normalise(&tb);
	for (i = TOP; i >= 0; i--)
		if (ta.d[i] != tb.d[i])
			return ta.d[i] < tb.d[i] ? -1 : 1;
	return 0;
}

int
pt_xsum_sign(const pt_xsum *x)
{
	uint32_t u[NLIMB];

	switch (special_class(x)) {
	case 3: return 0;
	case 2: return 1;
	case 0: return -1;
	}
	return magnitude(x, u);
}

int
pt_xsum_encode(const pt_xsum *x, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t u[NLIMB];
	int sign, n = 0, hi, lo, i;

	switch (special_class(x)) {
	case 3: return snprintf(buf, PT_XSUM_TEXT, "nan");
	case 2: return snprintf(buf, PT_XSUM_TEXT, "inf");
	case 0: return snprintf(buf, PT_XSUM_TEXT, "-inf");
	}
	sign = magnitude(x, u);
	if (sign == 0)
		return snprintf(buf, PT_XSUM_TEXT, "0");
	/* Nibbles from the top one down to the lowest nonzero one. */
	hi = top_bit(u) >> 2;
	for (lo = 0; ((u[lo >> 3] >> ((lo & 7) * 4)) & 15) == 0; lo++)
		;
	if (sign < 0)
		buf[n++] = '-';
	buf[n++] = '0';
	buf[n++] = 'x';
	for (i = hi; i >= lo; i--)
		buf[n++] = hex[(u[i >> 3] >> ((i & 7) * 4)) & 15];
	/* At most 70 * 8 nibbles plus 10 other bytes: fits PT_XSUM_TEXT. */
	n += snprintf(buf + n, PT_XSUM_TEXT - n, "p%d", 4 * lo - ONE_POS);
	return n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Accepts "0", "nan", "inf", "+inf", "-inf" and [+-]0x<hex>p[+-]<dec>
 * whose value is a multiple of 2^-1088 with a top digit that fits an
 * int64; leading and trailing zero digits are allowed.  Nothing else,
 * not even surrounding blanks.
 */
int
pt_xsum_decode(pt_xsum *x, const char *s)
{
	uint32_t u[NLIMB];
	const char *h, *q;
	long exp = 0;
	int neg = 0, expneg = 0, nd, i, b, v;
	long pos;

	pt_xsum_init(x);
	if (strcmp(s, "nan") == 0) {
		x->special = SP_NAN;
		return 0;
	}
	if (strcmp(s, "inf") == 0 || strcmp(s, "+inf") == 0) {
		x->special = SP_PINF;
		return 0;
	}
	if (strcmp(s, "-inf") == 0) {
		x->special = SP_NINF;
		return 0;
	}
	if (strcmp(s, "0") == 0)
		return 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	h = s + 2;
	for (q = h; hexval((unsigned char)*q) >= 0; q++)
		;
	nd = (int)(q - h);
	if (nd == 0 || nd > 4 * PT_XSUM_TEXT || (*q != 'p' && *q != 'P'))
		return -1;
	q++;
	if (*q == '-' || *q == '+')
		expneg = *q++ == '-';
	if (*q < '0' || *q > '9')
		return -1;
	for (; *q >= '0' && *q <= '9'; q++) {
		exp = exp * 10 + (*q - '0');
		if (exp > 1000000)
			return -1;
	}
	if (*q != '\0')
		return -1;
	if (expneg)
		exp = -exp;

	memset(u, 0, sizeof u);
	for (i = 0; i < nd; i++) {
		v = hexval((unsigned char)h[nd - 1 - i]);
		for (b = 0; b < 4; b++) {
			if (!(v >> b & 1))
				continue;
			pos = exp + ONE_POS + 4L * i + b;
			/* Below 2^-1088, or past bit 62 of the top digit. */
			if (pos < 0 || pos >= 32L * TOP + 63)
				return -1;
			u[pos >> 5] |= UINT32_C(1) << (pos & 31);
		}
	}
	for (i = 0; i < TOP; i++)
		x->d[i] = u[i];
	x->d[TOP] = (int64_t)((uint64_t)u[TOP] | (uint64_t)u[TOP + 1] << 32);
	if (neg) {
		for (i = 0; i < NDIG; i++)
			x->d[i] = -x->d[i];
		normalise(x);
	}
	return 0;
}

pt_h128
pt_hash128(const void *p, size_t n, uint64_t seed)
{
	XXH128_hash_t h = XXH3_128bits_withSeed(p, n, seed);
	pt_h128 r;

	r.lo = h.low64;
	r.hi = h.high64;
	return r;
}

uint64_t
pt_hash64(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

void
pt_mset_init(pt_mset *m)
{
	memset(m, 0, sizeof *m);
}

static void
h128_add(pt_h128 *a, pt_h128 b)
{
	a->lo += b.lo;
	a->hi += b.hi + (a->lo < b.lo);
}

/* Items are hashed with seed 0. */
void
pt_mset_add(pt_mset *m, const void *item, size_t n)
{
	pt_mset_add_hash(m, pt_hash128(item, n, 0));
}

void
pt_mset_add_hash(pt_mset *m, pt_h128 h)
{
	h128_add(&m->sum, h);
	m->count++;
}

void
pt_mset_merge(pt_mset *dst, const pt_mset *src)
{
	h128_add(&dst->sum, src->sum);
	dst->count += src->count;
}

void
pt_h128_hex(pt_h128 h, char out[33])
{
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, h.hi, h.lo);
}

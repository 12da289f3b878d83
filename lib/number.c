/*
 * number.c: exact text <-> double conversions.
 *
 * strtod(3) is the reference for every result.  The parser handles the
 * common case (a short decimal such as "123.456789") with Clinger's exact
 * fast path and hands everything else to strtod, so the two can never
 * disagree: the fast path only accepts texts strtod reads whole, and only
 * computes values where one IEEE multiplication or division of two exact
 * doubles gives the correctly rounded result.
 *
 * Both functions assume the C locale's decimal point ('.'): the library
 * never calls setlocale(3), and programs using it must not change
 * LC_NUMERIC.
 */
#include "number.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The fast path needs each double operation rounded once to double.  With
 * x87 extended precision (FLT_EVAL_METHOD 2) w * 10^q would be rounded
 * twice, so there everything goes to strtod.
 */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define PT_FAST_DECIMAL 1
#else
#define PT_FAST_DECIMAL 0
#endif

/* Powers of ten that are exact doubles: 5^22 < 2^53, so up to 10^22. */
static const double pow10_exact[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

#define MAX_SIG_DIGITS 19 /* 10^19 - 1 < 2^64 */
#define STACK_COPY 128

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Digits four at a time (SWAR), on little-endian hosts: whether the four
 * bytes of v (read little endian from the text) are all ASCII digits, and
 * their value. */
static inline int
swar_digits4(uint32_t v)
{
	return ((v & 0xF0F0F0F0u) | (((v + 0x06060606u) & 0xF0F0F0F0u) >> 4)) ==
	    0x33333333u;
}

static inline uint32_t
swar_value4(uint32_t v)
{
	v = (v & 0x0F0F0F0Fu) * 2561 >> 8;
	return (v & 0x00FF00FFu) * 6553601 >> 16;
}

/* Reads the digits at *pp (before end) into *w, as w * 10 + d for each
 * would, and moves *pp past them: four at a time while the text has four
 * more, then one at a time. */
static inline void
read_digits(const unsigned char **pp, const unsigned char *end, uint64_t *w)
{
	const unsigned char *p = *pp;
	uint64_t x = *w;
	unsigned d;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (end - p >= 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		if (!swar_digits4(v))
			break;
		x = x * 10000 + swar_value4(v);
		p += 4;
	}
#endif
	while (p < end && (d = (unsigned)*p - '0') < 10) {
		x = x * 10 + d;
		p++;
	}
	*pp = p;
	*w = x;
}

/*
 * Clinger's fast path.  Returns 0 with *out set when s[0..n) (n > 0) is
 * [+-]digits[.digits][(e|E)[+-]digits] with at least one mantissa digit,
 * at most 19 significant digits (leading zeros do not count), a mantissa
 * <= 2^53 and a decimal exponent within +-22; returns -1 ("ask strtod",
 * not an error) otherwise.  Written for speed: this runs for every numeric
 * CSV field.
 */
static int
parse_fast(const char *s, size_t n, double *out)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *mant, *sig;
	uint64_t w = 0;
	unsigned d;
	int neg = 0, q = 0;
	size_t nsig;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	mant = p;
	while (p < end && *p == '0')
		p++;
	sig = p;
	read_digits(&p, end, &w);
	nsig = (size_t)(p - sig);
	if (p < end && *p == '.') {
		const unsigned char *frac = ++p;

		if (nsig == 0) /* 0.000123: these zeros are not significant */
			while (p < end && *p == '0')
				p++;
		sig = p;
		read_digits(&p, end, &w);
		nsig += (size_t)(p - sig);
		q = -(int)(p - frac);
		if (p - mant == 1) /* only the point: "." or "-." */
			return -1;
	} else if (p == mant)
		return -1;
	/* w may have wrapped: then nsig says so. */
	if (nsig > MAX_SIG_DIGITS)
		return -1;
	if (p < end) {
		int eneg = 0, e = 0;
		const unsigned char *e0;

		if (*p != 'e' && *p != 'E')
			return -1;
		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		for (e0 = p; p < end && (d = (unsigned)*p - '0') < 10; p++)
			if (e < 100000) /* saturate: far outside the range anyway */
				e = e * 10 + (int)d;
		if (p == e0 || p != end)
			return -1;
		q += eneg ? -e : e;
	}
	if (w == 0) {
		/* Any exponent: strtod gives a zero of the text's sign. */
		*out = neg ? -0.0 : 0.0;
		return 0;
	}
	if (w > (UINT64_C(1) << 53) || q < -22 || q > 22)
		return -1;
	{
		double x = (double)w;

		x = q < 0 ? x / pow10_exact[-q] : x * pow10_exact[q];
		*out = neg ? -x : x;
	}
	return 0;
}

/* The length of the decimal number at the start of s[0..n): [+-]digits
 * [.[digits]] or [+-].digits, then an optional exponent (e|E)[+-]digits;
 * *nonzero is set when a mantissa digit is not 0.  0 when s does not
 * start with one. */
static size_t
decimal_span(const char *s, size_t n, int *nonzero)
{
	size_t i = 0, digits = 0;

	*nonzero = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		*nonzero |= s[i] != '0';
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			*nonzero |= s[i] != '0';
	if (digits == 0)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t j = i + 1, e0;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		for (e0 = j; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			;
		if (j > e0)
			i = j;
	}
	return i;
}

/* "inf", "infinity" or "nan" in any case, signed or not. */
static int
nonfinite_word(const char *s, size_t n, double *out)
{
	int neg = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++, n--;
	}
	if ((n == 3 && strncasecmp(s, "inf", 3) == 0) ||
	    (n == 8 && strncasecmp(s, "infinity", 8) == 0)) {
		*out = neg ? -INFINITY : INFINITY;
		return 1;
	}
	if (n == 3 && strncasecmp(s, "nan", 3) == 0) {
		*out = neg ? -NAN : NAN;
		return 1;
	}
	return 0;
}

/* Out of line: the fast path stays a small leaf with no stack buffer. */
static __attribute__((noinline)) int
parse_slow(const char *s, size_t n, int subnormal_ok, double *out)
{
	char stackbuf[STACK_COPY], *buf = stackbuf, *end;
	double d;
	int nonzero;

	/* The grammar first: strtod would also take hex ("0x1A", "0x1p3"),
	 * leading white space and locale forms nobody meant. */
	if (decimal_span(s, n, &nonzero) != n)
		return nonfinite_word(s, n, out) ? PT_NUM_NONFINITE : PT_NUM_BAD;
	if (n >= sizeof stackbuf) {
		buf = malloc(n + 1);
		if (buf == NULL)
			return PT_NUM_BAD; /* cannot check it, so do not accept it */
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	d = strtod(buf, &end);
	if (buf != stackbuf)
		free(buf);
	if (end != buf + n)
		return PT_NUM_BAD;
	/* Past the doubles' range: a literal that overflows to infinity, or
	 * a non-zero one that underflows to zero or to a subnormal (where
	 * digits are silently lost) is refused, not rounded. */
	if (isinf(d) || (nonzero && (d == 0 || (!subnormal_ok &&
	    fabs(d) < DBL_MIN))))
		return PT_NUM_RANGE;
	*out = d;
	return PT_NUM_OK;
}

static int
parse(const char *s, size_t len, int subnormal_ok, double *out)
{
	while (len > 0 && is_blank(s[0]))
		s++, len--;
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len == 0)
		return PT_NUM_BAD;
	/* Text (a label) is told at its first byte, before any parsing: a
	 * number of the grammar starts with a digit, a sign or a point, inf
	 * and nan with i or n. */
	switch (s[0] | 0x20) {
	case '0': case '1': case '2': case '3': case '4': case '5': case '6':
	case '7': case '8': case '9': case '+': case '-':
	case '.':
		if (PT_FAST_DECIMAL && parse_fast(s, len, out) == 0)
			return PT_NUM_OK;
		return parse_slow(s, len, subnormal_ok, out);
	case 'i': case 'n':
		return parse_slow(s, len, subnormal_ok, out);
	default:
		return PT_NUM_BAD;
	}
}

int
pt_parse_f64(const char *s, size_t len, double *out)
{
	if (PT_FAST_DECIMAL && pt_parse_f64_fast8(s, len, out))
		return PT_NUM_OK;
	return parse(s, len, 0, out);
}

int
pt_parse_f64_exact(const char *s, size_t len, double *out)
{
	if (PT_FAST_DECIMAL && pt_parse_f64_fast8(s, len, out))
		return PT_NUM_OK;
	return parse(s, len, 1, out);
}

/*
 * The common case without snprintf: when x is a decimal r / 10^k with r of
 * at most 15 digits, 1e-4 <= |x| < 1e15 and k small, write it directly.
 * The division r / 10^k is correctly rounded (Clinger again, r <= 2^53), so
 * checking it against x proves the text reads back as x; and with at most
 * 15 significant digits in that range it is exactly the text "%.15g" gives.
 * Returns the length, or 0 when the case does not apply.
 */
static int
fmt_fast(char *buf, double x)
{
	double ax = x < 0 ? -x : x, r;
	uint64_t u, ip, fp;
	int k, n = 0, len;
	char digits[24];

	if (!(ax >= 1e-4 && ax < 1e15))
		return 0;
	for (k = 0; k <= 19; k++) {
		double y = ax * pow10_exact[k];
		if (y >= 1e15)
			return 0;
		r = nearbyint(y);
		if (r / pow10_exact[k] == ax)
			break;
	}
	if (k > 19)
		return 0;
	u = (uint64_t)r;
	while (k > 0 && u % 10 == 0) {
		u /= 10;
		k--;
	}
	ip = u / (uint64_t)pow10_exact[k];
	fp = u % (uint64_t)pow10_exact[k];
	if (x < 0)
		buf[n++] = '-';
	len = 0;
	do {
		digits[len++] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip > 0);
	while (len > 0)
		buf[n++] = digits[--len];
	if (k > 0) {
		buf[n++] = '.';
		for (int i = k - 1; i >= 0; i--) {
			buf[n + i] = (char)('0' + fp % 10);
			fp /= 10;
		}
		n += k;
	}
	buf[n] = '\0';
	return n;
}

int
pt_fmt_f64(char *buf, double x)
{
	static const char *const fmts[] = { "%.15g", "%.16g" };
	double back;
	size_t i;
	int n;

	if (!isfinite(x)) {
		const char *t = isnan(x) ? "nan" : x < 0 ? "-inf" : "inf";

		n = (int)strlen(t);
		memcpy(buf, t, (size_t)n + 1);
		return n;
	}
	if ((n = fmt_fast(buf, x)) > 0)
		return n;
	/* pt_parse_f64 gives strtod's bits, faster; %.17g always reads back. */
	for (i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		n = snprintf(buf, 32, fmts[i], x);
		if (pt_parse_f64_exact(buf, (size_t)n, &back) == 0 &&
		    memcmp(&back, &x, sizeof x) == 0)
			return n;
	}
	return snprintf(buf, 32, "%.17g", x);
}

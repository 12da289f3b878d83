/*
 * number: pt_parse_f64 and pt_parse_f64_exact (lib/number.h) against an
 * independent reference: the grammar of number.h written again here, and
 * strtod(3) on a NUL-terminated copy for the value.  Whenever a function
 * accepts a text its result must have strtod's bits; its status must be
 * the one the reference gives (a number, a non-finite word, out of range,
 * not a number); and pt_fmt_f64 of every finite value accepted must read
 * back through pt_parse_f64_exact to the same bits.  The input's first 8
 * bytes, taken as a double, go through the same round trip, so that
 * every double (subnormals, the extremes) gets formatted; a NaN must read
 * back as a NaN (pt_fmt_f64 writes every NaN "nan").
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "number.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether s[0..n) is [+-] digits [. [digits]] [(e|E) [+-] digits] or
 * [+-] . digits [(e|E) [+-] digits]; *nonzero: a mantissa digit is not 0. */
static int
in_grammar(const char *s, size_t n, int *nonzero)
{
	size_t i = 0, digits = 0;

	*nonzero = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && is_digit(s[i]); i++, digits++)
		*nonzero |= s[i] != '0';
	if (i < n && s[i] == '.')
		for (i++; i < n && is_digit(s[i]); i++, digits++)
			*nonzero |= s[i] != '0';
	if (digits == 0)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e0;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (e0 = i; i < n && is_digit(s[i]); i++)
			;
		if (i == e0)
			return 0;
	}
	return i == n;
}

static int
word(const char *s, size_t n, const char *w)
{
	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		s++, n--;
	return n == strlen(w) && strncasecmp(s, w, n) == 0;
}

/* The status and value the functions must give for s[0..n). */
static int
reference(const char *s, size_t n, int subnormal_ok, double *out)
{
	char *z;
	int nonzero;

	while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!in_grammar(s, n, &nonzero) && !word(s, n, "inf") &&
	    !word(s, n, "infinity") && !word(s, n, "nan"))
		return PT_NUM_BAD;
	z = malloc(n + 1);
	fz_assert(z != NULL, "memory");
	memcpy(z, s, n);
	z[n] = '\0';
	*out = strtod(z, NULL);
	free(z);
	if (!in_grammar(s, n, &nonzero))
		return PT_NUM_NONFINITE;
	if (isinf(*out) || (nonzero && *out == 0) ||
	    (nonzero && !subnormal_ok && fabs(*out) < DBL_MIN))
		return PT_NUM_RANGE;
	return PT_NUM_OK;
}

static int
same_bits(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b) && !signbit(a) == !signbit(b);
	return memcmp(&a, &b, sizeof a) == 0;
}

static void round_trip(double x);

static void
check(const char *s, size_t n, int exact)
{
	double got = 0, want = 0;
	int rc = exact ? pt_parse_f64_exact(s, n, &got) : pt_parse_f64(s, n, &got);
	int ref = reference(s, n, exact, &want);

	if (rc != ref) {
		fprintf(stderr, "pt_parse_f64%s(\"%.*s\") = %d, the reference "
		    "says %d\n", exact ? "_exact" : "", (int)n, s, rc, ref);
		abort();
	}
	if (rc == PT_NUM_OK || rc == PT_NUM_NONFINITE) {
		if (!same_bits(got, want)) {
			fprintf(stderr, "pt_parse_f64%s(\"%.*s\") = %a, strtod "
			    "gives %a\n", exact ? "_exact" : "", (int)n, s,
			    got, want);
			abort();
		}
		round_trip(got);
	}
}

static void
round_trip(double x)
{
	char buf[32];
	double back = 0;
	int n = pt_fmt_f64(buf, x), rc;

	fz_assert(n > 0 && n < 32 && buf[n] == '\0' && strlen(buf) == (size_t)n,
	    "pt_fmt_f64 writes a string of its length");
	rc = pt_parse_f64_exact(buf, (size_t)n, &back);
	/* Any NaN is written "nan": missing has no sign. */
	if (rc != (isfinite(x) ? PT_NUM_OK : PT_NUM_NONFINITE) ||
	    !(isnan(x) ? isnan(back) : same_bits(x, back))) {
		fprintf(stderr, "pt_fmt_f64(%a) = \"%s\" reads back as %a "
		    "(status %d)\n", x, buf, back, rc);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_copy(data, size);

	check(s, size, 0);
	check(s, size, 1);
	if (size >= 8) {
		double x;

		memcpy(&x, data, sizeof x);
		round_trip(x);
	}
	free(s);
	return 0;
}

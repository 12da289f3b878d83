/*
 * t-xsum.c: exact sums and the multiset hash.
 *
 * With no arguments: TAP tests.  With --sum: reads doubles (C99 hex or
 * decimal, one or more per line) from stdin and prints their exact sum
 * rounded once, as "%a"; tests/xsum-fsum.t uses it against Python's
 * math.fsum.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "wordhash.h"
#include "xsum.h"
#include "../tap.h"

static uint64_t rng_state = UINT64_C(0x243f6a8885a308d3);

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t
rnd_below(uint64_t n)
{
	return rnd() % n;
}

static double
from_bits(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof v);
	return v;
}

static uint64_t
to_bits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof b);
	return b;
}

/* A random double with a random sign and mantissa and a binary exponent
 * in [lo, hi] (normal numbers only). */
static double
rnd_double(int lo, int hi)
{
	uint64_t e = (uint64_t)(lo + (int)rnd_below((uint64_t)(hi - lo + 1)) + 1023);

	return from_bits((rnd() & (UINT64_C(1) << 63)) | e << 52 |
	    (rnd() & ((UINT64_C(1) << 52) - 1)));
}

/* Any finite double, subnormals included, from random bits. */
static double
rnd_any_finite(void)
{
	uint64_t b;

	do
		b = rnd();
	while (((b >> 52) & 0x7ff) == 0x7ff);
	return from_bits(b);
}

static void
shuffle(double *a, size_t n)
{
	size_t i, j;
	double t;

	for (i = n; i > 1; i--) {
		j = rnd_below(i);
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void
sum_into(pt_xsum *x, const double *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		pt_xsum_add(x, a[i]);
}

/* Everything that should agree between two sums of the same multiset. */
static int
same_sum(const pt_xsum *a, const pt_xsum *b)
{
	char ta[PT_XSUM_TEXT], tb[PT_XSUM_TEXT];

	pt_xsum_encode(a, ta);
	pt_xsum_encode(b, tb);
	return to_bits(pt_xsum_round(a)) == to_bits(pt_xsum_round(b)) &&
	    strcmp(ta, tb) == 0 && pt_xsum_cmp(a, b) == 0 &&
	    pt_xsum_cmp(b, a) == 0;
}

/*
 * glibc's strtod rounds a long hex string correctly (to nearest, ties to
 * even, subnormals and overflow included), so parsing the canonical text
 * is an independent reference for pt_xsum_round.
 */
static int
round_matches_strtod(const pt_xsum *x)
{
	char t[PT_XSUM_TEXT];
	double want;

	pt_xsum_encode(x, t);
	errno = 0;
	want = strtod(t, NULL);
	return to_bits(want) == to_bits(pt_xsum_round(x));
}

static double
sum_of(const double *a, size_t n)
{
	pt_xsum x;

	pt_xsum_init(&x);
	sum_into(&x, a, n);
	return pt_xsum_round(&x);
}

static void
test_orders(size_t n)
{
	double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
	size_t i, nchunk, off, *order, nsuper = 7;
	pt_xsum fwd, bwd, perm, grp, mm, *chunk, super[7];
	double naive = 0, naive_rev = 0;
	int all_ok;

	if (a == NULL || b == NULL)
		abort();
	for (i = 0; i < n; i++)
		a[i] = rnd_double(-60, 60);
	/* Huge values in cancelling pairs, so the result still depends on
	 * the low bits of everything; tiny and subnormal ones that stay. */
	a[0] = DBL_MAX;
	a[1] = -DBL_MAX;
	a[2] = 1e300;
	a[3] = -1e300;
	for (i = 4; i < 40; i += 2) {
		a[i] = rnd_any_finite();
		a[i + 1] = -a[i];
	}
	a[40] = from_bits(1);                                  /* 2^-1074 */
	a[41] = -from_bits(UINT64_C(0x000fffffffffffff));      /* subnormal */
	a[42] = DBL_MIN;
	for (i = 43; i < 60; i++)
		a[i] = (i & 1) ? rnd_double(-1022, -1000) : from_bits(rnd() >> 12);
	shuffle(a, n);

	pt_xsum_init(&fwd);
	sum_into(&fwd, a, n);
	for (i = 0; i < n; i++)
		naive += a[i];

	pt_xsum_init(&bwd);
	for (i = n; i > 0; i--) {
		pt_xsum_add(&bwd, a[i - 1]);
		naive_rev += a[i - 1];
	}
	memcpy(b, a, n * sizeof *a);
	shuffle(b, n);
	pt_xsum_init(&perm);
	sum_into(&perm, b, n);

	/* Random chunks, summed separately and merged in a random order;
	 * then the same chunks merged into a few groups first. */
	chunk = malloc(n * sizeof *chunk);
	order = malloc(n * sizeof *order);
	if (chunk == NULL || order == NULL)
		abort();
	for (nchunk = 0, off = 0; off < n; nchunk++) {
		size_t len = 1 + rnd_below(n / 50);

		if (len > n - off)
			len = n - off;
		pt_xsum_init(&chunk[nchunk]);
		sum_into(&chunk[nchunk], b + off, len);
		off += len;
	}
	for (i = 0; i < nchunk; i++)
		order[i] = i;
	for (i = nchunk; i > 1; i--) {
		size_t j = rnd_below(i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	pt_xsum_init(&grp);
	for (i = 0; i < nchunk; i++)
		pt_xsum_merge(&grp, &chunk[order[i]]);
	for (i = 0; i < nsuper; i++)
		pt_xsum_init(&super[i]);
	for (i = 0; i < nchunk; i++)
		pt_xsum_merge(&super[rnd_below(nsuper)], &chunk[i]);
	pt_xsum_init(&mm);
	for (i = nsuper; i > 0; i--)
		pt_xsum_merge(&mm, &super[i - 1]);

	ok(same_sum(&fwd, &bwd), "%zu values: backward == forward", n);
	ok(same_sum(&fwd, &perm), "%zu values: permuted == forward", n);
	ok(same_sum(&fwd, &grp), "%zu chunks merged in random order", nchunk);
	ok(same_sum(&fwd, &mm), "merge of %zu merges", nsuper);
	ok(round_matches_strtod(&fwd), "1e6-sum rounds like strtod of its text");
	diag("sum %a (naive forward %a, backward %a)", pt_xsum_round(&fwd),
	    naive, naive_rev);

	/* Chunks of the forward order too, merged forward and backward. */
	all_ok = 1;
	{
		pt_xsum f2, b2;
		size_t k = 0;

		pt_xsum_init(&f2);
		pt_xsum_init(&b2);
		for (off = 0; off < n; k++) {
			size_t len = 1 + rnd_below(1000);

			if (len > n - off)
				len = n - off;
			pt_xsum_init(&chunk[k]);
			sum_into(&chunk[k], a + off, len);
			off += len;
		}
		for (i = 0; i < k; i++) {
			pt_xsum_merge(&f2, &chunk[i]);
			pt_xsum_merge(&b2, &chunk[k - 1 - i]);
		}
		all_ok = same_sum(&f2, &fwd) && same_sum(&b2, &fwd);
	}
	ok(all_ok, "small chunks merged forward and backward");

	free(order);
	free(chunk);
	free(a);
	free(b);
}

/* Integer-valued doubles scaled by 2^e: __int128 arithmetic is the exact
 * reference, and the compiler's __int128 -> double conversion rounds to
 * nearest even. */
static void
test_int_reference(int trials)
{
	int t, bad = 0, bad_sub = 0;

	for (t = 0; t < trials; t++) {
		int n = 1 + (int)rnd_below(40), e = (int)rnd_below(1801) - 900, i;
		__int128 s = 0;
		pt_xsum x;
		double want;

		pt_xsum_init(&x);
		for (i = 0; i < n; i++) {
			int64_t k = (int64_t)(rnd() >> (11 + rnd_below(50)) <<
			    rnd_below(10));

			if (rnd() & 1)
				k = -k;
			/* k has at most 53 significant bits: exact. */
			s += k;
			pt_xsum_add(&x, ldexp((double)k, e));
		}
		want = ldexp((double)s, e);
		if (to_bits(pt_xsum_round(&x)) != to_bits(want))
			bad++;
		if (!round_matches_strtod(&x))
			bad++;

		/* Multiples of 2^-1074 whose sum stays below 2^53 units: all
		 * exact, subnormals and the normal boundary included. */
		pt_xsum_init(&x);
		s = 0;
		for (i = 0; i < n; i++) {
			int64_t k = (int64_t)(rnd() >> (12 + 6 + rnd_below(40)));

			if (rnd() & 1)
				k = -k;
			s += k;
			pt_xsum_add(&x, ldexp((double)k, -1074));
		}
		want = ldexp((double)s, -1074);
		if (to_bits(pt_xsum_round(&x)) != to_bits(want + 0.0))
			bad_sub++;
	}
	ok(!bad, "%d random integer sums match __int128 (%d bad)", trials, bad);
	ok(!bad_sub, "%d subnormal-unit sums exact (%d bad)", trials, bad_sub);
}

static void
test_cancel(size_t n)
{
	double *a = malloc(2 * n * sizeof *a);
	pt_xsum x, empty;
	char t[PT_XSUM_TEXT];
	size_t i;

	if (a == NULL)
		abort();
	for (i = 0; i < n; i++) {
		a[2 * i] = (i & 1) ? rnd_any_finite() : rnd_double(-300, 300);
		a[2 * i + 1] = -a[2 * i];
	}
	shuffle(a, 2 * n);
	pt_xsum_init(&x);
	sum_into(&x, a, 2 * n);
	pt_xsum_init(&empty);
	pt_xsum_encode(&x, t);
	ok(to_bits(pt_xsum_round(&x)) == 0 && pt_xsum_sign(&x) == 0 &&
	    pt_xsum_cmp(&x, &empty) == 0 && strcmp(t, "0") == 0,
	    "%zu values and their negations sum to +0 (\"%s\")", n, t);
	free(a);
}

static void
test_cases(void)
{
	double tiny = from_bits(1), one = 1.0, u = DBL_EPSILON; /* 2^-52 */
	double big_ulp = ldexp(1.0, 971); /* ulp of DBL_MAX */

	{
		double a[] = { 1e308, 1e308, -1e308 };
		ok(sum_of(a, 3) == 1e308, "1e308 + 1e308 - 1e308 == 1e308");
	}
	{
		double a[] = { tiny, tiny, tiny };
		ok(to_bits(sum_of(a, 3)) == 3, "3 * 2^-1074 exact");
	}
	{
		double a[] = { 1e100, 1.0, -1e100 };
		ok(sum_of(a, 3) == 1.0, "1e100 + 1 - 1e100 == 1");
	}
	{
		double a[] = { 1e100, -1.0, -1e100, 1e-100 };
		ok(sum_of(a, 4) == -1.0,
		    "1e100 - 1 - 1e100 + 1e-100 == -1");
	}
	{
		double a[] = { one, u / 2 };
		ok(sum_of(a, 2) == one, "1 + 2^-53 ties to even: 1");
	}
	{
		double a[] = { one, u / 2, ldexp(1.0, -105) };
		ok(sum_of(a, 3) == one + u, "1 + 2^-53 + 2^-105 rounds up");
	}
	{
		double a[] = { one, u / 2, -ldexp(1.0, -105) };
		ok(sum_of(a, 3) == one, "1 + 2^-53 - 2^-105 rounds down");
	}
	{
		double a[] = { one + u, u / 2 };
		ok(sum_of(a, 2) == one + 2 * u, "(1 + 2^-52) + 2^-53 ties up to even");
	}
	{
		double a[] = { -(one + u), -u / 2 };
		ok(sum_of(a, 2) == -(one + 2 * u), "negative tie to even");
	}
	{
		/* A tie decided by a bit 1000 places down. */
		double a[] = { ldexp(1.0, 60), 128.0, 1e-290, -1e-290, tiny };
		ok(sum_of(a, 5) == ldexp(1.0, 60) + 256.0,
		    "2^60 + 2^7 + 2^-1074 rounds up");
		ok(sum_of(a, 4) == ldexp(1.0, 60), "2^60 + 2^7 ties down to even");
	}
	{
		double a[] = { DBL_MAX, big_ulp / 2 };
		double b[] = { DBL_MAX, big_ulp / 2, -tiny };
		double c[] = { -DBL_MAX, -big_ulp / 2 };
		double d[] = { DBL_MAX, DBL_MAX, DBL_MAX };
		ok(isinf(sum_of(a, 2)) && sum_of(a, 2) > 0,
		    "DBL_MAX + half ulp overflows to inf");
		ok(sum_of(b, 3) == DBL_MAX, "DBL_MAX + just under half ulp");
		ok(isinf(sum_of(c, 2)) && sum_of(c, 2) < 0, "-DBL_MAX - half ulp: -inf");
		ok(isinf(sum_of(d, 3)), "3 * DBL_MAX: inf");
	}
	{
		/* Crossing the subnormal/normal boundary exactly. */
		double a[] = { from_bits(UINT64_C(0x000fffffffffffff)), tiny };
		double b[] = { DBL_MIN, -tiny };
		ok(sum_of(a, 2) == DBL_MIN, "largest subnormal + 2^-1074 == DBL_MIN");
		ok(to_bits(sum_of(b, 2)) == UINT64_C(0x000fffffffffffff),
		    "DBL_MIN - 2^-1074: largest subnormal");
	}
	{
		double a[] = { -0.0, -0.0 };
		ok(to_bits(sum_of(a, 2)) == 0, "-0 + -0 gives +0 (documented)");
		ok(to_bits(sum_of(a, 0)) == 0, "empty sum is +0");
	}
}

/* A weight times a value, added exactly: the same sum as adding the
 * value weight times (whole weights), and as the exact product a
 * 128-bit integer gives (small integers), whatever the rounding. */
static void
test_products(void)
{
	int bad = 0, bad_int = 0, i, k;
	pt_xsum a, b;

	for (i = 0; i < 2000; i++) {
		double v = rnd_double(-40, 40);
		int w = (int)rnd_below(9);
		pt_xsum_init(&a);
		pt_xsum_init(&b);
		if (pt_xsum_add_prod(&a, (double)w, v) < 0)
			bad++;
		for (k = 0; k < w; k++)
			pt_xsum_add(&b, v);
		bad += !same_sum(&a, &b);
	}
	ok(!bad, "2000 w*v added exactly == v added w times (%d bad)", bad);
	for (i = 0; i < 2000; i++) {
		/* 50-bit integers: the product is exact in __int128. */
		int64_t x = (int64_t)(rnd() >> 14) - ((int64_t)1 << 49);
		int64_t y = (int64_t)(rnd() >> 14) - ((int64_t)1 << 49);
		__int128 p = (__int128)x * y;
		double lo;
		pt_xsum_init(&a);
		pt_xsum_init(&b);
		pt_xsum_add_prod(&a, (double)x, (double)y);
		/* b: the exact product in pieces of at most 53 bits. */
		lo = (double)(int64_t)(uint64_t)(p & (((__int128)1 << 48) - 1));
		pt_xsum_add(&b, ldexp((double)(int64_t)(p >> 48), 48));
		pt_xsum_add(&b, lo);
		bad_int += !same_sum(&a, &b);
	}
	ok(!bad_int, "2000 products of 50-bit integers exact (%d bad)", bad_int);
	pt_xsum_init(&a);
	ok(pt_xsum_add_prod(&a, 0x1p-600, 0x1p-400) < 0 &&
	    pt_xsum_add_prod(&a, 1e300, 1e10) < 0 &&
	    pt_xsum_add_prod(&a, INFINITY, 0.0) < 0 &&
	    pt_xsum_sign(&a) == 0, "underflowing, overflowing products refused");
	ok(pt_xsum_add_prod(&a, 0.0, 1e300) == 0 && pt_xsum_sign(&a) == 0,
	    "weight 0 adds nothing");
}

static void
test_specials(void)
{
	pt_xsum x, y;
	char t[PT_XSUM_TEXT];

	pt_xsum_init(&x);
	pt_xsum_add(&x, 1.0);
	pt_xsum_add(&x, INFINITY);
	pt_xsum_encode(&x, t);
	ok(pt_xsum_round(&x) == INFINITY && strcmp(t, "inf") == 0 &&
	    pt_xsum_sign(&x) == 1, "+inf flagged (\"%s\")", t);
	pt_xsum_init(&y);
	pt_xsum_add(&y, INFINITY);
	pt_xsum_sub(&y, &x);
	ok(isnan(pt_xsum_round(&y)), "inf - inf: nan");
	pt_xsum_init(&y);
	pt_xsum_sub(&y, &x);
	ok(pt_xsum_round(&y) == -INFINITY, "0 - inf: -inf");
	pt_xsum_add(&x, -INFINITY);
	pt_xsum_encode(&x, t);
	ok(isnan(pt_xsum_round(&x)) && strcmp(t, "nan") == 0,
	    "+inf and -inf: nan");
	pt_xsum_init(&x);
	pt_xsum_add(&x, -INFINITY);
	pt_xsum_add(&x, 5.0);
	pt_xsum_encode(&x, t);
	ok(pt_xsum_round(&x) == -INFINITY && strcmp(t, "-inf") == 0 &&
	    pt_xsum_sign(&x) == -1, "-inf flagged");
	pt_xsum_init(&y);
	pt_xsum_add(&y, NAN);
	pt_xsum_add(&y, 2.0);
	ok(isnan(pt_xsum_round(&y)), "NaN flagged");
	ok(pt_xsum_cmp(&x, &y) < 0 && pt_xsum_cmp(&y, &x) > 0 &&
	    pt_xsum_cmp(&y, &y) == 0, "cmp: -inf < nan, nan == nan");
	pt_xsum_decode(&x, "nan");
	ok(pt_xsum_cmp(&x, &y) == 0, "decode nan");
}

/* A sum of n random values of wide range. */
static void
rnd_acc(pt_xsum *x, int n)
{
	int i;

	pt_xsum_init(x);
	for (i = 0; i < n; i++) {
		switch (rnd_below(4)) {
		case 0: pt_xsum_add(x, rnd_any_finite()); break;
		case 1: pt_xsum_add(x, rnd_double(-1022, -900)); break;
		default: pt_xsum_add(x, rnd_double(-40, 40)); break;
		}
	}
}

/* Canonical: optional '-', "0x", no leading or trailing zero digit,
 * a decimal exponent; or "0". */
static int
canonical(const char *t)
{
	const char *p = t, *q;

	if (strcmp(t, "0") == 0)
		return 1;
	if (*p == '-')
		p++;
	if (strncmp(p, "0x", 2) != 0)
		return 0;
	p += 2;
	q = strchr(p, 'p');
	if (q == NULL || q == p || *p == '0' || q[-1] == '0')
		return 0;
	for (; p < q; p++)
		if (!strchr("0123456789abcdef", *p))
			return 0;
	return 1;
}

static void
test_encode(int trials)
{
	int t, bad = 0, bad_canon = 0, bad_strtod = 0, bad_one = 0;
	char a[PT_XSUM_TEXT], b[PT_XSUM_TEXT], c[PT_XSUM_TEXT + 8];
	pt_xsum x, y;
	size_t i;

	for (t = 0; t < trials; t++) {
		rnd_acc(&x, (int)rnd_below(30));
		pt_xsum_encode(&x, a);
		if (pt_xsum_decode(&y, a) != 0 || pt_xsum_cmp(&x, &y) != 0)
			bad++;
		pt_xsum_encode(&y, b);
		if (strcmp(a, b) != 0)
			bad++;
		if (!canonical(a))
			bad_canon++;
		if (!round_matches_strtod(&x))
			bad_strtod++;
		/* The same value in a non-canonical spelling. */
		if (a[0] != '0' || a[1] == 'x') {
			const char *m = a[0] == '-' ? a + 3 : a + 2;
			char *p = strchr(a, 'p');

			snprintf(c, sizeof c, "%s0x00%.*s0p%ld",
			    a[0] == '-' ? "-" : "+", (int)(p - m), m,
			    strtol(p + 1, NULL, 10) - 4);
			if (pt_xsum_decode(&y, c) != 0 || pt_xsum_cmp(&x, &y) != 0)
				bad++;
		}
	}
	ok(!bad, "%d random accumulators: decode(encode) == x, encode stable",
	    trials);
	ok(!bad_canon, "encodings are canonical");
	ok(!bad_strtod, "round == strtod(encode) (%d bad)", bad_strtod);

	/* One double: the text is that double's value. */
	for (t = 0; t < trials; t++) {
		double v = rnd_any_finite();

		pt_xsum_init(&x);
		pt_xsum_add(&x, v);
		pt_xsum_encode(&x, a);
		if (strtod(a, NULL) != v || pt_xsum_round(&x) != v)
			bad_one++;
	}
	ok(!bad_one, "single doubles encode to their own value");

	pt_xsum_init(&x);
	pt_xsum_add(&x, 3.0);
	pt_xsum_encode(&x, a);
	ok(strcmp(a, "0x3p0") == 0, "3 encodes as 0x3p0 (\"%s\")", a);
	pt_xsum_add(&x, -3.5);
	pt_xsum_encode(&x, a);
	ok(strcmp(a, "-0x8p-4") == 0, "-0.5 encodes as -0x8p-4 (\"%s\")", a);
	{
		static const char *badtext[] = { "", "0x", "0xp0", "0x1p",
		    "0x1q0", "0x1p0 ", " 0x1p0", "0x1p-1089", "0x1p99999",
		    "0x1p1119", "0xgp0", "1", "-", "0x1p+", "Inf", "nanx",
		    "0x1p-", "00", "0x1.8p0" };
		int nbad = 0;

		for (i = 0; i < sizeof badtext / sizeof *badtext; i++)
			if (pt_xsum_decode(&x, badtext[i]) != -1) {
				diag("accepted \"%s\"", badtext[i]);
				nbad++;
			}
		ok(!nbad, "malformed or unrepresentable text rejected");
	}
	ok(pt_xsum_decode(&x, "0x2p-1089") == 0 && pt_xsum_round(&x) == 0 &&
	    pt_xsum_sign(&x) == 1 && pt_xsum_encode(&x, a) > 0 &&
	    strcmp(a, "0x1p-1088") == 0, "0x2p-1089 is 2^-1088: rounds to 0");
	ok(pt_xsum_decode(&x, "0x1p1118") == 0 &&
	    pt_xsum_decode(&y, "0x2p1118") == -1 && isinf(pt_xsum_round(&x)),
	    "largest top digit accepted, one more bit rejected");
}

static void
test_sub_cmp(int trials)
{
	int t, bad_sub = 0, bad_cmp = 0, i, n;
	pt_xsum all, part, rest, a, b;
	double v;

	for (t = 0; t < trials; t++) {
		pt_xsum_init(&all);
		pt_xsum_init(&part);
		pt_xsum_init(&rest);
		n = (int)rnd_below(40);
		for (i = 0; i < n; i++) {
			v = (rnd() & 1) ? rnd_any_finite() : rnd_double(-40, 40);
			pt_xsum_add(&all, v);
			pt_xsum_add((rnd() & 1) ? &part : &rest, v);
		}
		pt_xsum_sub(&all, &part);
		if (!same_sum(&all, &rest))
			bad_sub++;

		/* cmp must agree with rounding, which is monotonic. */
		rnd_acc(&a, 1 + (int)rnd_below(3));
		if (rnd() & 1) {
			b = a;
			pt_xsum_add(&b, (rnd() & 1 ? 1 : -1) *
			    ldexp(1.0, (int)rnd_below(200) - 1074));
		} else {
			rnd_acc(&b, 1 + (int)rnd_below(3));
		}
		{
			double ra = pt_xsum_round(&a), rb = pt_xsum_round(&b);
			int c = pt_xsum_cmp(&a, &b);

			if (c != -pt_xsum_cmp(&b, &a) || (ra < rb && c >= 0) ||
			    (ra > rb && c <= 0) || (c < 0 && ra > rb) ||
			    (c > 0 && ra < rb))
				bad_cmp++;
			/* a - b has the sign of cmp(a, b). */
			pt_xsum_sub(&a, &b);
			if (pt_xsum_sign(&a) != c)
				bad_cmp++;
		}
	}
	ok(!bad_sub, "%d random (a + b) - b == b-less sum", trials);
	ok(!bad_cmp, "cmp consistent with round and sign of a - b");
}

/*
 * Digits at the largest magnitude the headroom contract allows (2^30
 * pending adds of 2^32 - 1), so an add, merge or sub that failed to
 * normalise in time would overflow (caught by UBSan) or lose carries.
 */
static void
test_headroom(void)
{
	pt_xsum full, x, y, z, want;
	int i;

	pt_xsum_init(&full);
	for (i = 0; i < 40; i++)
		full.d[i] = ((int64_t)1 << 30) * (((int64_t)1 << 32) - 1) *
		    ((i & 1) ? -1 : 1);
	full.pending = (UINT32_C(1) << 30) - 1;

	x = full;
	pt_xsum_add(&x, 0x1.fffffffffffffp-1000);
	pt_xsum_add(&x, -3.25);
	pt_xsum_sub(&x, &full);
	pt_xsum_init(&want);
	pt_xsum_add(&want, 0x1.fffffffffffffp-1000);
	pt_xsum_add(&want, -3.25);
	ok(pt_xsum_cmp(&x, &want) == 0 && pt_xsum_round(&x) == -3.25,
	    "add at the headroom limit, then sub: exact");

	y = full;
	pt_xsum_merge(&y, &full);
	z = full;
	pt_xsum_sub(&z, &full);
	pt_xsum_merge(&y, &z);
	pt_xsum_sub(&y, &full);
	pt_xsum_sub(&y, &full);
	ok(pt_xsum_sign(&y) == 0, "merges and subs of full accumulators cancel");
}

/* pt_hash128_words against XXH3-128 of the same bytes laid out row by
 * row, for every word count it takes and for item counts around the
 * loops' (none, one, odd). */
static void
test_hash_words(void)
{
	enum { N = 67 };
	static uint64_t col[PT_HASH_WORDS_MAX][N], lo[N], hi[N];
	const uint64_t *w[PT_HASH_WORDS_MAX];
	unsigned char row[8 * PT_HASH_WORDS_MAX];
	int bad = 0, tried = 0;

	for (int L = 3; L <= PT_HASH_WORDS_MAX; L++)
		for (size_t n = 0; n <= N; n += n < 3 ? 1 : 32) {
			for (int k = 0; k < L; k++) {
				for (size_t i = 0; i < n; i++)
					col[k][i] = rnd() >> (rnd() % 64);
				w[k] = col[k];
			}
			pt_hash128_words(w, L, n, lo, hi);
			for (size_t i = 0; i < n; i++) {
				pt_h128 h;
				for (int k = 0; k < L; k++)
					for (int b = 0; b < 8; b++)
						row[8 * k + b] = (unsigned char)
						    (col[k][i] >> (8 * b));
				h = pt_hash128(row, 8 * (size_t)L, 0);
				bad += h.lo != lo[i] || h.hi != hi[i];
				tried++;
			}
		}
	ok(bad == 0, "pt_hash128_words: XXH3-128 of the rows' bytes, %d of %d "
	    "items, 3 to %d words", tried - bad, tried, PT_HASH_WORDS_MAX);
}

static void
test_mset(void)
{
	enum { N = 1000 };
	static unsigned char item[N][16];
	pt_mset whole, perm, part[3], merged, flip;
	unsigned idx[N];
	char hex[33], ref[33];
	int i, bit, bad = 0;
	unsigned __int128 s = 0;
	pt_h128 h;

	for (i = 0; i < N; i++) {
		uint64_t a = rnd(), b = rnd();

		memcpy(item[i], &a, 8);
		memcpy(item[i] + 8, &b, 8);
		idx[i] = (unsigned)i;
	}
	pt_mset_init(&whole);
	for (i = 0; i < N; i++) {
		pt_mset_add(&whole, item[i], 16);
		h = pt_hash128(item[i], 16, 0);
		s += (unsigned __int128)h.hi << 64 | h.lo;
	}
	ok(whole.count == N, "count %" PRIu64, whole.count);
	ok(whole.sum.lo == (uint64_t)s && whole.sum.hi == (uint64_t)(s >> 64),
	    "sum of item hashes modulo 2^128");

	for (i = N; i > 1; i--) {
		unsigned j = (unsigned)rnd_below((uint64_t)i), t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
	pt_mset_init(&perm);
	for (i = 0; i < 3; i++)
		pt_mset_init(&part[i]);
	for (i = 0; i < N; i++) {
		pt_mset_add(&perm, item[idx[i]], 16);
		pt_mset_add(&part[rnd_below(3)], item[idx[i]], 16);
	}
	ok(perm.sum.lo == whole.sum.lo && perm.sum.hi == whole.sum.hi &&
	    perm.count == N, "permutation: same hash");
	pt_mset_init(&merged);
	pt_mset_merge(&merged, &part[2]);
	pt_mset_merge(&merged, &part[0]);
	pt_mset_merge(&merged, &part[1]);
	ok(merged.sum.lo == whole.sum.lo && merged.sum.hi == whole.sum.hi &&
	    merged.count == N, "merge of split sets == whole");

	for (bit = 0; bit < 128; bit++) {
		pt_mset_init(&flip);
		item[17][bit / 8] ^= (unsigned char)(1u << (bit % 8));
		for (i = 0; i < N; i++)
			pt_mset_add(&flip, item[i], 16);
		item[17][bit / 8] ^= (unsigned char)(1u << (bit % 8));
		if (flip.sum.lo == whole.sum.lo && flip.sum.hi == whole.sum.hi)
			bad++;
	}
	ok(!bad, "flipping any of 128 bits of one item changes the hash");

	pt_mset_init(&flip);
	h.lo = UINT64_MAX;
	h.hi = 5;
	pt_mset_add_hash(&flip, h);
	pt_mset_add_hash(&flip, h);
	ok(flip.sum.lo == UINT64_MAX - 1 && flip.sum.hi == 11 && flip.count == 2,
	    "carry from lo into hi");

	h = pt_hash128("abc", 3, 42);
	{
		XXH128_hash_t r = XXH3_128bits_withSeed("abc", 3, 42);

		ok(h.lo == r.low64 && h.hi == r.high64 &&
		    pt_hash64("abc", 3, 42) == XXH3_64bits_withSeed("abc", 3, 42),
		    "hashes are XXH3 with seed");
	}
	pt_h128_hex(whole.sum, hex);
	snprintf(ref, sizeof ref, "%016" PRIx64 "%016" PRIx64, whole.sum.hi,
	    whole.sum.lo);
	ok(strlen(hex) == 32 && strcmp(hex, ref) == 0, "hex: hi then lo: %s", hex);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
bench(size_t n)
{
	double *a = malloc(n * sizeof *a), t0, t1;
	volatile double sink;
	size_t i, reps = 20;
	pt_xsum x;

	if (a == NULL)
		abort();
	for (i = 0; i < n; i++)
		a[i] = rnd_double(-60, 60);
	pt_xsum_init(&x);
	t0 = now();
	for (i = 0; i < reps; i++)
		sum_into(&x, a, n);
	t1 = now();
	sink = pt_xsum_round(&x);
	(void)sink;
	diag("pt_xsum_add: %.0f M adds/s", (double)(n * reps) / (t1 - t0) / 1e6);
	free(a);
}

/* --sum: the rounded exact sum of the doubles on stdin. */
static int
sum_stdin(void)
{
	char line[4096], *p, *end;
	pt_xsum x;
	double v;

	pt_xsum_init(&x);
	while (fgets(line, sizeof line, stdin) != NULL) {
		for (p = line;;) {
			while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				p++;
			if (*p == '\0')
				break;
			errno = 0;
			v = strtod(p, &end);
			if (end == p) {
				fprintf(stderr, "t-xsum: bad number: %s", p);
				return 2;
			}
			pt_xsum_add(&x, v);
			p = end;
		}
	}
	printf("%a\n", pt_xsum_round(&x));
	return ferror(stdin) ? 2 : 0;
}

int
main(int argc, char **argv)
{
	int san = getenv("PT_SANITIZE") != NULL;

	if (argc == 2 && strcmp(argv[1], "--sum") == 0)
		return sum_stdin();
	if (argc != 1) {
		fprintf(stderr, "usage: t-xsum [--sum]\n");
		return 2;
	}
	test_orders(san ? 100000 : 1000000);
	test_int_reference(san ? 5000 : 50000);
	test_cancel(san ? 10000 : 100000);
	test_cases();
	test_specials();
	test_products();
	test_encode(san ? 2000 : 20000);
	test_sub_cmp(san ? 5000 : 50000);
	test_headroom();
	test_mset();
	test_hash_words();
	bench(san ? 100000 : 1000000);
	return done_testing();
}

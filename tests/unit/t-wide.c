/*
 * t-wide.c: rounding exact 256-bit sums to double (pt_wide_round, the
 * step every split criterion and leaf value takes from an exact sum),
 * held to the independent route through pt_xsum (pt_wide_to_xsum, then
 * pt_xsum_round) on random sums of every width, sign and scale, and on
 * the ties and carries of round-to-nearest-even.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pt.h"
#include "wide.h"
#include "xsum.h"
#include "../tap.h"

static uint64_t st = UINT64_C(0x5851f42d4c957f2d);

static double
via_xsum(const pt_wide *a, int scale)
{
	pt_xsum x;

	pt_wide_to_xsum(a, scale, &x);
	return pt_xsum_round(&x);
}

/* A random sum: its top set bit anywhere below 2^240, a random sign (two's
 * complement), sometimes a run of ones or zeros below the top (ties and
 * carries). */
static void
random_wide(pt_wide *a)
{
	int top = (int)(pt_splitmix64_next(&st) % 240);
	int shape = (int)(pt_splitmix64_next(&st) % 5);

	memset(a, 0, sizeof *a);
	for (int i = 0; i < PT_WIDE_WORDS; i++)
		a->w[i] = pt_splitmix64_next(&st);
	if (shape == 1 || shape == 4) /* halfway, or just above it */
		for (int i = 0; i < PT_WIDE_WORDS; i++)
			a->w[i] = 0;
	for (int b = top + 1; b < 64 * PT_WIDE_WORDS; b++)
		a->w[b / 64] &= ~(UINT64_C(1) << (b % 64));
	a->w[top / 64] |= UINT64_C(1) << (top % 64);
	if ((shape == 1 || shape == 4) && top >= 53)
		a->w[(top - 53) / 64] |= UINT64_C(1) << ((top - 53) % 64);
	if (shape == 4 && top > 54) /* one low bit, maybe words below */
		a->w[0] |= 1;
	if (shape == 2) /* ones below the top: rounding carries */
		for (int b = 0; b < top; b++)
			a->w[b / 64] |= UINT64_C(1) << (b % 64);
	if (pt_splitmix64_next(&st) & 1) {
		/* negate: two's complement */
		int carry = 1;
		for (int i = 0; i < PT_WIDE_WORDS; i++) {
			a->w[i] = ~a->w[i] + (uint64_t)carry;
			carry = carry && a->w[i] == 0;
		}
	}
}

int
main(void)
{
	int n = getenv("PT_SANITIZE") ? 20000 : 400000, bad = 0;
	pt_wide a;

	for (int k = 0; k < n; k++) {
		int scale = (int)(pt_splitmix64_next(&st) % 600) - 450;
		double got, want;
		random_wide(&a);
		/* Near and in the subnormal range.  Sums of doubles have no
		 * bit below 2^-1074, so no scale is lower. */
		if (k % 7 == 0)
			scale = -1074 + (int)(pt_splitmix64_next(&st) % 60);
		got = pt_wide_round(&a, scale);
		want = via_xsum(&a, scale);
		if (memcmp(&got, &want, sizeof got) != 0 && bad++ < 5)
			diag("sum %016llx %016llx %016llx %016llx scale %d: %a, "
			    "not %a", (unsigned long long)a.w[3],
			    (unsigned long long)a.w[2], (unsigned long long)a.w[1],
			    (unsigned long long)a.w[0], scale, got, want);
	}
	ok(bad == 0, "pt_wide_round equals the pt_xsum route on %d random sums "
	    "(%d differ)", n, bad);
	memset(&a, 0, sizeof a);
	ok(pt_wide_round(&a, 0) == 0, "zero is zero");
	a.w[1] = 1; /* 2^64 */
	ok(pt_wide_round(&a, -64) == 1.0, "2^64 units of 2^-64 is 1");
	a.w[0] = UINT64_C(1) << 11; /* 2^64 + 2^11: a tie, to even */
	ok(pt_wide_round(&a, 0) == 0x1p64, "2^64 + 2^11 ties to even");
	a.w[0] |= 1;
	ok(pt_wide_round(&a, 0) == 0x1p64 + 0x1p12, "2^64 + 2^11 + 1 rounds up");
	return done_testing();
}

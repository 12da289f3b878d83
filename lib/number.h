/*
 * number.h: exact, fast text <-> double.
 */
#ifndef PT_NUMBER_H
#define PT_NUMBER_H

#include <stddef.h>

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

#endif

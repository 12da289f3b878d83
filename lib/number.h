/*
 * number.h: exact, fast text <-> double.
 */
#ifndef PT_NUMBER_H
#define PT_NUMBER_H

#include <stddef.h>

/* Parses the whole of s[0..len) as a decimal (or hex, or inf/nan) number,
 * giving exactly the double strtod(3) gives (round to nearest even) in the
 * C locale.  Leading and trailing blanks (space, tab) are ignored.
 * Returns 0 for a finite number, 1 for inf or nan text (*out set as strtod
 * would), -1 when the text is not a number (empty, trailing junk).
 * Common short decimals take an exact fast path (Clinger); the rest strtod. */
int pt_parse_f64(const char *s, size_t len, double *out);

/* Writes the shortest decimal text that reads back (strtod) as exactly x;
 * "nan"/"inf"/"-inf" for non-finite.  buf needs 32 bytes.  Returns the
 * length. */
int pt_fmt_f64(char *buf, double x);

#endif

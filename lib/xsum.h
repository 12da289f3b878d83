/*
 * xsum.h: exact, order-independent sums of doubles, and an order-independent
 * multiset hash.
 *
 * pt_xsum is a Kulisch-style accumulator: a fixed-point integer wide enough
 * for every finite double (2^-1074 to 2^1024) with headroom for 2^30 adds
 * between carry normalisations.  Any grouping and order of adds and merges
 * gives the same exact value, hence the same rounded double and the same
 * encoded text, bit for bit.
 */
#ifndef PT_XSUM_H
#define PT_XSUM_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"

#define PT_XSUM_DIGITS 68 /* 32-bit digits held in int64 (carry headroom) */

typedef struct pt_xsum {
	int64_t d[PT_XSUM_DIGITS]; /* value = sum d[i] * 2^(32*i - 1088) */
	uint32_t pending;          /* adds since the last normalisation */
	uint32_t special;          /* bit 0: NaN seen, 1: +inf, 2: -inf */
} pt_xsum;

void pt_xsum_init(pt_xsum *x);
void pt_xsum_add(pt_xsum *x, double v);  /* exact; NaN/inf are flagged */
/* Adds the exact product a*b (sample weight times value): the rounded
 * product and its error, both exact doubles (a two-product through fma).
 * So adding w*v is adding v w times when w is a whole number, bit for bit.
 * Returns 0, or -1 when the product cannot be added exactly (it overflows,
 * or it is below 2^-968 where the error term may round), x then
 * unchanged; the caller refuses the input (PT_ELIMIT). */
int pt_xsum_add_prod(pt_xsum *x, double a, double b);
/* The same product as two doubles hi + lo (hi the rounded product), for
 * accumulators other than pt_xsum: 0, or -1 as above. */
int pt_two_prod(double a, double b, double *hi, double *lo);
void pt_xsum_merge(pt_xsum *dst, const pt_xsum *src); /* dst += src */
void pt_xsum_sub(pt_xsum *dst, const pt_xsum *src);   /* dst -= src */
/* The exact value rounded once to the nearest double (ties to even);
 * NaN if a NaN (or +inf and -inf) was added, +-inf if one was or on
 * overflow. */
double pt_xsum_round(const pt_xsum *x);
/* Compares exact values: -1, 0, 1. */
int pt_xsum_cmp(const pt_xsum *a, const pt_xsum *b);
int pt_xsum_sign(const pt_xsum *x);
/* Canonical text of the exact value: the same value always gives the same
 * text.  Form: "0", or [-]0x<hex digits>p<exp> (an integer mantissa with no
 * trailing zero hex digit, times 2^exp), or "nan", "inf", "-inf".  buf
 * needs PT_XSUM_TEXT bytes.  Returns the length. */
#define PT_XSUM_TEXT 600
int pt_xsum_encode(const pt_xsum *x, char *buf);
/* Parses the canonical text (and any hex form pt_xsum_encode could
 * write).  Returns 0, or -1 on malformed text. */
int pt_xsum_decode(pt_xsum *x, const char *s);

/* A 128-bit hash; the multiset hash adds item hashes modulo 2^128, so it
 * does not depend on the order or grouping of items and changes when any
 * bit of any item does. */
typedef struct pt_h128 {
	uint64_t lo, hi;
} pt_h128;

typedef struct pt_mset {
	pt_h128 sum;
	uint64_t count;
} pt_mset;

pt_h128 pt_hash128(const void *p, size_t n, uint64_t seed); /* XXH3-128 */
uint64_t pt_hash64(const void *p, size_t n, uint64_t seed);  /* XXH3-64 */
void pt_mset_init(pt_mset *m);
void pt_mset_add(pt_mset *m, const void *item, size_t n);
void pt_mset_add_hash(pt_mset *m, pt_h128 h);
void pt_mset_merge(pt_mset *dst, const pt_mset *src);
/* 32 lowercase hex digits of the sum (hi then lo), NUL-terminated. */
void pt_h128_hex(pt_h128 h, char out[33]);

#endif

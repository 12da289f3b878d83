/*
 * wordhash.h: XXH3-128 of short items made of 64-bit words, computed a
 * word column at a time (the rows policy-verify sign hashes; see
 * policy-signature(5)).
 */
#ifndef PT_WORDHASH_H
#define PT_WORDHASH_H

#include <stddef.h>
#include <stdint.h>

/* pt_hash128 (seed 0) of n items at once, each item L 64-bit words
 * (8L bytes, little-endian; 3 <= L <= PT_HASH_WORDS_MAX) given word by
 * word: word k of item i is w[k][i].  lo[i] and hi[i] get item i's hash.
 * Lets a caller hash rows straight from their columns, without laying
 * each row out in bytes first. */
#define PT_HASH_WORDS_MAX 16
void pt_hash128_words(const uint64_t *const *w, int L, size_t n,
    uint64_t *lo, uint64_t *hi);
/* Asks the CPU which pt_hash128_words kernel to use (eight items at a
 * time with AVX-512, or one at a time): call it once before threads call
 * pt_hash128_words, since the first question is not thread-safe. */
void pt_hash128_words_ready(void);

#endif

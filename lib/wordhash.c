/*
 * wordhash.c: pt_hash128_words, the XXH3-128 of rows of 8-byte fields
 * straight from their columns: one at a time, or eight at a time with
 * AVX-512 (chosen by pt_cpu_has).  The same bits as pt_hash128 of each
 * row's bytes; t-xsum checks both kernels against it.
 */
#include "wordhash.h"
#include "cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* The rounds' constants and helpers are XXH3's own: compiled in. */
#define XXH_INLINE_ALL
#include <xxhash.h>

/*
 * XXH3-128 of 17 to 128 bytes, as XXH3_len_17to128_128b computes it, on
 * inputs that are whole words: every 16-byte chunk it reads then starts on
 * a word, so a chunk is two words.  Round r mixes the chunk 16r bytes from
 * the front with the one 16r bytes from the back, the innermost pair
 * first; the rounds run over the items word column by word column, so the
 * loops are over items with no branch on the length.  t-xsum holds this
 * to XXH3_128bits for every L.
 */
/* The rounds for nr pairs of chunks; nr is a constant where it is
 * inlined, so the rounds unroll and each item's state stays in
 * registers.  Round k is the pair 16(nr - 1 - k) bytes in: the innermost
 * pair is mixed first. */
static inline __attribute__((always_inline)) void
hash_words_nr(const uint64_t *const *w, int L, size_t n, uint64_t *lo,
    uint64_t *hi, const int nr)
{
	const uint64_t len = 8 * (uint64_t)L;
	const uint64_t *f0[4], *f1[4], *b0[4], *b1[4];
	uint64_t sec[4][4];

	for (int k = 0; k < nr; k++) {
		int r = nr - 1 - k;
		f0[k] = w[2 * r];
		f1[k] = w[2 * r + 1];
		b0[k] = w[L - 2 * r - 2];
		b1[k] = w[L - 2 * r - 1];
		for (int q = 0; q < 4; q++)
			sec[k][q] = XXH_readLE64(XXH3_kSecret + 32 * r + 8 * q);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t l = len * XXH_PRIME64_1, h = 0, t;
		for (int k = 0; k < nr; k++) {
			uint64_t a = f0[k][i], b = f1[k][i];
			uint64_t c = b0[k][i], d = b1[k][i];
			l += XXH3_mul128_fold64(a ^ sec[k][0], b ^ sec[k][1]);
			l ^= c + d;
			h += XXH3_mul128_fold64(c ^ sec[k][2], d ^ sec[k][3]);
			h ^= a + b;
		}
		t = l * XXH_PRIME64_1 + h * XXH_PRIME64_4 + len * XXH_PRIME64_2;
		lo[i] = XXH3_avalanche(l + h);
		hi[i] = (uint64_t)0 - XXH3_avalanche(t);
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HW_AVX512 1
#define HW_FN __attribute__((target("avx512f,avx512dq")))

/* lo64 ^ hi64 of the 128-bit products of 8 pairs of 64-bit lanes, from
 * 32-bit products (AVX-512 has no 64 x 64 -> 128 multiply). */
HW_FN static inline __m512i
mul_fold8(__m512i x, __m512i y)
{
	const __m512i m32 = _mm512_set1_epi64(0xffffffff);
	__m512i xh = _mm512_srli_epi64(x, 32), yh = _mm512_srli_epi64(y, 32);
	__m512i ll = _mm512_mul_epu32(x, y), lh = _mm512_mul_epu32(x, yh);
	__m512i hl = _mm512_mul_epu32(xh, y), hh = _mm512_mul_epu32(xh, yh);
	__m512i mid = _mm512_add_epi64(_mm512_srli_epi64(ll, 32),
	    _mm512_add_epi64(_mm512_and_si512(lh, m32),
	    _mm512_and_si512(hl, m32)));
	__m512i plo = _mm512_or_si512(_mm512_and_si512(ll, m32),
	    _mm512_slli_epi64(mid, 32));
	__m512i phi = _mm512_add_epi64(_mm512_add_epi64(hh,
	    _mm512_srli_epi64(lh, 32)), _mm512_add_epi64(
	    _mm512_srli_epi64(hl, 32), _mm512_srli_epi64(mid, 32)));

	return _mm512_xor_si512(plo, phi);
}

HW_FN static inline __m512i
avalanche8(__m512i h)
{
	h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 37));
	h = _mm512_mullo_epi64(h, _mm512_set1_epi64((long long)
	    0x165667919E3779F9ULL));
	return _mm512_xor_si512(h, _mm512_srli_epi64(h, 32));
}

/* hash_words_nr eight items at a time; returns how many it did (a
 * multiple of 8), the rest are left to the caller. */
HW_FN static size_t
hash_words_avx512(const uint64_t *const *w, int L, size_t n, uint64_t *lo,
    uint64_t *hi)
{
	const uint64_t len = 8 * (uint64_t)L;
	const int nr = L > 12 ? 4 : L > 8 ? 3 : L > 4 ? 2 : 1;
	const uint64_t *f0[4], *f1[4], *b0[4], *b1[4];
	__m512i sec[4][4];
	const __m512i init = _mm512_set1_epi64((long long)(len *
	    XXH_PRIME64_1));
	const __m512i p1 = _mm512_set1_epi64((long long)XXH_PRIME64_1);
	const __m512i p4 = _mm512_set1_epi64((long long)XXH_PRIME64_4);
	const __m512i lp2 = _mm512_set1_epi64((long long)(len *
	    XXH_PRIME64_2));
	size_t i;

	for (int k = 0; k < nr; k++) {
		int r = nr - 1 - k;
		f0[k] = w[2 * r];
		f1[k] = w[2 * r + 1];
		b0[k] = w[L - 2 * r - 2];
		b1[k] = w[L - 2 * r - 1];
		for (int q = 0; q < 4; q++)
			sec[k][q] = _mm512_set1_epi64((long long)
			    XXH_readLE64(XXH3_kSecret + 32 * r + 8 * q));
	}
	for (i = 0; i + 8 <= n; i += 8) {
		__m512i l = init, h = _mm512_setzero_si512(), t;
		for (int k = 0; k < nr; k++) {
			__m512i a = _mm512_loadu_si512(f0[k] + i);
			__m512i b = _mm512_loadu_si512(f1[k] + i);
			__m512i c = _mm512_loadu_si512(b0[k] + i);
			__m512i d = _mm512_loadu_si512(b1[k] + i);
			l = _mm512_add_epi64(l, mul_fold8(_mm512_xor_si512(a,
			    sec[k][0]), _mm512_xor_si512(b, sec[k][1])));
			l = _mm512_xor_si512(l, _mm512_add_epi64(c, d));
			h = _mm512_add_epi64(h, mul_fold8(_mm512_xor_si512(c,
			    sec[k][2]), _mm512_xor_si512(d, sec[k][3])));
			h = _mm512_xor_si512(h, _mm512_add_epi64(a, b));
		}
		t = _mm512_add_epi64(_mm512_add_epi64(_mm512_mullo_epi64(l, p1),
		    _mm512_mullo_epi64(h, p4)), lp2);
		_mm512_storeu_si512(lo + i, avalanche8(_mm512_add_epi64(l, h)));
		_mm512_storeu_si512(hi + i, _mm512_sub_epi64(
		    _mm512_setzero_si512(), avalanche8(t)));
	}
	return i;
}
#endif

void
pt_hash128_words_ready(void)
{
#ifdef HW_AVX512
	(void)pt_cpu_has(PT_CPU_AVX512F | PT_CPU_AVX512DQ);
#endif
}

void
pt_hash128_words(const uint64_t *const *w, int L, size_t n, uint64_t *lo,
    uint64_t *hi)
{
#ifdef HW_AVX512
	const uint64_t *rest[PT_HASH_WORDS_MAX];

	if (n >= 8 && pt_cpu_has(PT_CPU_AVX512F | PT_CPU_AVX512DQ)) {
		size_t done = hash_words_avx512(w, L, n, lo, hi);
		if (done == n)
			return;
		for (int k = 0; k < L; k++)
			rest[k] = w[k] + done;
		w = rest;
		n -= done;
		lo += done;
		hi += done;
	}
#endif
	switch (L > 12 ? 4 : L > 8 ? 3 : L > 4 ? 2 : 1) {
	case 4: hash_words_nr(w, L, n, lo, hi, 4); break;
	case 3: hash_words_nr(w, L, n, lo, hi, 3); break;
	case 2: hash_words_nr(w, L, n, lo, hi, 2); break;
	default: hash_words_nr(w, L, n, lo, hi, 1); break;
	}
}

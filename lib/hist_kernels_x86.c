/*
 * hist_kernels_x86.c: the AVX2 and AVX-512 variants of the histogram
 * kernels, each giving the same bits as its portable twin in
 * hist_kernels.c (the tests compare every level).  Compiled with target
 * attributes, not -march, so the build runs on any x86-64; pt_hist_simd
 * uses a variant only when the CPU has what its attribute names.  Empty
 * off x86-64.
 */
#include "hist_kernels.h"

#if HK_X86
#include <immintrin.h>

#define AVX2_FN __attribute__((target("avx2,popcnt")))
#define AVX512_FN __attribute__((target("avx512f")))

/* The first n (< 8 or more) of eight lanes. */
static inline __mmask8
tail_mask(size_t n)
{
	return n >= 8 ? 0xff : (__mmask8)((1u << n) - 1);
}

/* ---- AVX2 --------------------------------------------------------------- */

/* !(v <= t) against the splitters t[3], t[7], .., t[27] gives v's group of
 * four bounds, then against the group: NaN compares true everywhere and
 * lands at 28 + 4 = 32. */
AVX2_FN void
pt_hk_bin32_avx2(const double *t, const double *pt, const double *x,
    size_t m, uint8_t *bin)
{
	__m256d s0 = _mm256_set_pd(t[15], t[11], t[7], t[3]);
	__m256d s1 = _mm256_set_pd(t[31], t[27], t[23], t[19]);
	size_t j;

	(void)pt;
	for (j = 0; j < m; j++) {
		__m256d xv = _mm256_set1_pd(x[j]);
		unsigned m1 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(xv, s0,
		    _CMP_NLE_UQ)) | ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(xv,
		    s1, _CMP_NLE_UQ)) & 7u) << 4;
		size_t g = (size_t)__builtin_popcount(m1);
		unsigned m2 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(xv,
		    _mm256_loadu_pd(t + 4 * g), _CMP_NLE_UQ));
		bin[j] = (uint8_t)(4 * g + (size_t)__builtin_popcount(m2));
	}
}

#define DEF_ROWS(KG, KY) \
AVX2_FN static void rows_##KG##_##KY##_avx2(ROWS_ARGS) ROWS_LOOP(KG, KY)
HK_ROWS_SHAPES(DEF_ROWS)
#define ROWS_PTR(KG, KY) rows_##KG##_##KY##_avx2,
rows_fn *const pt_hk_rows_avx2[] = { HK_ROWS_SHAPES(ROWS_PTR) };

AVX2_FN int
pt_hk_codes_max_avx2(const uint8_t *x, size_t n)
{
	__m256i m = _mm256_setzero_si256();
	uint8_t l[32];
	size_t j;
	int r, t;

	for (j = 0; j + 32 <= n; j += 32)
		m = _mm256_max_epu8(m, _mm256_loadu_si256((const __m256i *)(x +
		    j)));
	_mm256_storeu_si256((__m256i *)l, m);
	r = pt_hk_codes_max_base(l, 32);
	t = pt_hk_codes_max_base(x + j, n - j);
	return r > t ? r : t;
}

/* pt_hk_limbs_base four values at a time.  A double holding an integer of
 * magnitude below 2^51 becomes that int64 by adding 1.5 * 2^52 (exact:
 * the sum lies in [2^52, 2^53), whose unit is 1) and subtracting the bits
 * of 1.5 * 2^52; truncation comes from vroundpd.  Two limbs of a row are
 * stored together.  The checks: the magic sum less the magic gives back
 * an integer unchanged, and the magnitude compares below lim. */
AVX2_FN int
pt_hk_limbs_avx2(const double *x, size_t m, int L, double ihi, double chi,
    double ilo, double lim, int64_t *out, int stride)
{
	const __m256d magic = _mm256_set1_pd(6755399441055744.0);
	const __m256i mbits = _mm256_set1_epi64x(0x4338000000000000LL);
	const __m256d vhi = _mm256_set1_pd(ihi), vchi = _mm256_set1_pd(chi);
	const __m256d vlo = _mm256_set1_pd(ilo), vlim = _mm256_set1_pd(lim);
	const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(INT64_MAX));
	__m256d okm = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
	size_t j, st = (size_t)stride;

	for (j = 0; j + 4 <= m; j += 4) {
		__m256d v = _mm256_loadu_pd(x + j), t, r, rm, tm;
		__m256i lo, hi, p02, p13;
		int64_t *o = out + j * st;
		if (L == 1) {
			r = _mm256_mul_pd(v, vlo);
			rm = _mm256_add_pd(r, magic);
			okm = _mm256_and_pd(okm, _mm256_and_pd(_mm256_cmp_pd(
			    _mm256_sub_pd(rm, magic), r, _CMP_EQ_OQ),
			    _mm256_cmp_pd(_mm256_and_pd(r, absm), vlim,
			    _CMP_LT_OQ)));
			lo = _mm256_sub_epi64(_mm256_castpd_si256(rm), mbits);
			o[0] = _mm256_extract_epi64(lo, 0);
			o[st] = _mm256_extract_epi64(lo, 1);
			o[2 * st] = _mm256_extract_epi64(lo, 2);
			o[3 * st] = _mm256_extract_epi64(lo, 3);
			continue;
		}
		t = _mm256_round_pd(_mm256_mul_pd(v, vhi), _MM_FROUND_TO_ZERO |
		    _MM_FROUND_NO_EXC);
		r = _mm256_mul_pd(_mm256_sub_pd(v, _mm256_mul_pd(t, vchi)), vlo);
		rm = _mm256_add_pd(r, magic);
		tm = _mm256_add_pd(t, magic);
		okm = _mm256_and_pd(okm, _mm256_and_pd(_mm256_cmp_pd(
		    _mm256_sub_pd(rm, magic), r, _CMP_EQ_OQ), _mm256_cmp_pd(
		    _mm256_and_pd(t, absm), vlim, _CMP_LT_OQ)));
		lo = _mm256_sub_epi64(_mm256_castpd_si256(rm), mbits);
		hi = _mm256_sub_epi64(_mm256_castpd_si256(tm), mbits);
		p02 = _mm256_unpacklo_epi64(lo, hi); /* rows 0 and 2 */
		p13 = _mm256_unpackhi_epi64(lo, hi); /* rows 1 and 3 */
		_mm_storeu_si128((__m128i *)o, _mm256_castsi256_si128(p02));
		_mm_storeu_si128((__m128i *)(o + st), _mm256_castsi256_si128(p13));
		_mm_storeu_si128((__m128i *)(o + 2 * st),
		    _mm256_extracti128_si256(p02, 1));
		_mm_storeu_si128((__m128i *)(o + 3 * st),
		    _mm256_extracti128_si256(p13, 1));
	}
	return (_mm256_movemask_pd(okm) != 0xf) | (j < m ? pt_hk_limbs_base(x + j,
	    m - j, L, ihi, chi, ilo, lim, out + j * st, stride) : 0);
}

/* ---- AVX-512 ------------------------------------------------------------ */

/* bin32_scalar (hist_kernels.c) for 8 rows at a time, from the tables pt,
 * writing bin[0 .. m rounded up to 8).  NaN compares "not <=" everywhere,
 * reaches 31 and is moved to 32. */
AVX512_FN void
pt_hk_bin32_avx512(const double *t, const double *pt, const double *x,
    size_t m, uint8_t *bin)
{
	const __m512d T2 = _mm512_loadu_pd(pt), T3 = _mm512_loadu_pd(pt + 8);
	const __m512d T4 = _mm512_loadu_pd(pt + 16);
	const __m512d T5a = _mm512_loadu_pd(pt + 24);
	const __m512d T5b = _mm512_loadu_pd(pt + 32);
	const __m512d mid = _mm512_set1_pd(t[15]);
	const __m512i one = _mm512_set1_epi64(1);
	size_t j;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512d xv = _mm512_maskz_loadu_pd(lm, x + j);
		__mmask8 k = _mm512_cmp_pd_mask(xv, mid, _CMP_NLE_UQ);
		__m512i c = _mm512_maskz_mov_epi64(k, one);
		__m512i p = _mm512_maskz_mov_epi64(k, _mm512_set1_epi64(16));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutexvar_pd(c, T2),
		    _CMP_NLE_UQ);
		c = _mm512_mask_add_epi64(c, k, c, _mm512_set1_epi64(2));
		p = _mm512_mask_add_epi64(p, k, p, _mm512_set1_epi64(8));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutexvar_pd(c, T3),
		    _CMP_NLE_UQ);
		c = _mm512_mask_add_epi64(c, k, c, _mm512_set1_epi64(4));
		p = _mm512_mask_add_epi64(p, k, p, _mm512_set1_epi64(4));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutexvar_pd(c, T4),
		    _CMP_NLE_UQ);
		c = _mm512_mask_add_epi64(c, k, c, _mm512_set1_epi64(8));
		p = _mm512_mask_add_epi64(p, k, p, _mm512_set1_epi64(2));
		k = _mm512_cmp_pd_mask(xv, _mm512_permutex2var_pd(T5a, c, T5b),
		    _CMP_NLE_UQ);
		p = _mm512_mask_add_epi64(p, k, p, one);
		k = _mm512_cmp_pd_mask(xv, xv, _CMP_UNORD_Q);
		p = _mm512_mask_add_epi64(p, k, p, one);
		/* The register form of the narrowing and a plain 8-byte store
		 * (a store narrowing to memory is slow on some CPUs); the
		 * caller's buffer has room for a whole group of 8. */
		_mm_storel_epi64((__m128i *)(bin + j), _mm512_cvtepi64_epi8(p));
	}
}

/* One limb (L = 1) of eight values, and its checks into *bad. */
AVX512_FN static inline __m512i
limb1_x8(const double *x, __mmask8 lm, __m512d vlo, __m512d vlim,
    __mmask8 *bad)
{
	const __m512d magic = _mm512_set1_pd(6755399441055744.0);
	__m512d v = _mm512_maskz_loadu_pd(lm, x), rv, rm;

	rv = _mm512_mul_pd(v, vlo);
	rm = _mm512_add_pd(rv, magic);
	*bad |= _mm512_mask_cmp_pd_mask(lm, _mm512_sub_pd(rm, magic), rv,
	    _CMP_NEQ_UQ) | _mm512_mask_cmp_pd_mask(lm, _mm512_abs_pd(rv), vlim,
	    _CMP_NLT_UQ);
	return _mm512_sub_epi64(_mm512_castpd_si512(rm),
	    _mm512_set1_epi64(0x4338000000000000LL));
}

/* Two limbs (L = 2) of eight values: the low one returned, the high one
 * in *hi; checks into *bad. */
AVX512_FN static inline __m512i
limb2_x8(const double *x, __mmask8 lm, __m512d vhi, __m512d vchi,
    __m512d vlo, __m512d vlim, __m512i *hi, __mmask8 *bad)
{
	const __m512d magic = _mm512_set1_pd(6755399441055744.0);
	const __m512i mbits = _mm512_set1_epi64(0x4338000000000000LL);
	__m512d v = _mm512_maskz_loadu_pd(lm, x), tv, rv, rm;

	tv = _mm512_roundscale_pd(_mm512_mul_pd(v, vhi), _MM_FROUND_TO_ZERO |
	    _MM_FROUND_NO_EXC);
	rv = _mm512_mul_pd(_mm512_sub_pd(v, _mm512_mul_pd(tv, vchi)), vlo);
	rm = _mm512_add_pd(rv, magic);
	*bad |= _mm512_mask_cmp_pd_mask(lm, _mm512_sub_pd(rm, magic), rv,
	    _CMP_NEQ_UQ) | _mm512_mask_cmp_pd_mask(lm, _mm512_abs_pd(tv), vlim,
	    _CMP_NLT_UQ);
	*hi = _mm512_sub_epi64(_mm512_castpd_si512(_mm512_add_pd(tv, magic)),
	    mbits);
	return _mm512_sub_epi64(_mm512_castpd_si512(rm), mbits);
}

/* Treatment codes of the rows in lm of eight, widened to 64 bits
 * (AVX-512F alone: a 16-lane masked load, its low half). */
AVX512_FN static inline __m512i
load_w8(const int32_t *w, __mmask8 lm)
{
	return _mm512_cvtepi32_epi64(_mm512_castsi512_si256(
	    _mm512_maskz_loadu_epi32((__mmask16)lm, w)));
}

/* The largest of m treatment codes, or 0. */
AVX512_FN int32_t
pt_hk_wmax_avx512(const int32_t *w, size_t m)
{
	__m512i mx = _mm512_setzero_si512();
	size_t j;

	for (j = 0; j < m; j += 16) {
		__mmask16 lm = m - j >= 16 ? 0xffff :
		    (__mmask16)((1u << (m - j)) - 1);
		mx = _mm512_max_epi32(mx, _mm512_maskz_loadu_epi32(lm, w + j));
	}
	return _mm512_reduce_max_epi32(mx);
}

/* The offsets of m rows' Y slots, for codes already checked below A; 32
 * by 32 bit multiplies (vpmuludq), so yslot must be below 2^32. */
AVX512_FN void
pt_hk_yro_avx512(const int32_t *w, size_t m, int A, size_t yslot,
    size_t *yro)
{
	const __m512i va = _mm512_set1_epi64(A), vs = _mm512_set1_epi64(
	    (long long)yslot), z = _mm512_setzero_si512();
	size_t j;

	if (yslot > UINT32_MAX) {
		pt_hk_yro_base(w, m, A, yslot, yro);
		return;
	}
	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512i a = load_w8(w + j, lm);
		a = _mm512_mask_mov_epi64(a, _mm512_cmplt_epi64_mask(a, z), va);
		_mm512_mask_storeu_epi64(yro + j, lm, _mm512_mul_epu32(a, vs));
	}
}

/*
 * The Y vectors of m rows: a count of 1, the outcome's limbs (0 for a row
 * with no treatment), zero padding: [1, lo, hi, 0] (L = 2, KY = 4) or
 * [1, lo] (L = 1, KY = 2), eight rows at a time, put together in
 * registers and stored 64 bytes at a time.  The same limbs and checks as
 * the limbs kernels on the outcomes of the treated rows.
 */
AVX512_FN int
pt_hk_yrows_avx512(const int32_t *w, const double *y, size_t m, int L,
    double ihi, double chi, double ilo, double lim, int64_t *ry)
{
	const __m512d vhi = _mm512_set1_pd(ihi), vchi = _mm512_set1_pd(chi);
	const __m512d vlo = _mm512_set1_pd(ilo), vlim = _mm512_set1_pd(lim);
	const __m512i one = _mm512_set1_epi64(1), z = _mm512_setzero_si512();
	const __m512i p0 = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
	const __m512i p1 = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
	const __m512i h0 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
	const __m512i h1 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
	__mmask8 bad = 0;
	size_t j, n, KY = L == 2 ? 4 : 2;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__mmask8 keep = _mm512_mask_cmpge_epi64_mask(lm,
		    load_w8(w + j, lm), z);
		__m512i lo, hi = z, v0, v1, v2 = z, v3 = z;
		int64_t *o = ry + j * KY;
		if (L == 2)
			lo = limb2_x8(y + j, keep, vhi, vchi, vlo, vlim, &hi, &bad);
		else
			lo = limb1_x8(y + j, keep, vlo, vlim, &bad);
		if (L == 2) {
			/* Rows 0, 2 | 4, 6 (e) and 1, 3 | 5, 7 (d) as
			 * [1 lo hi 0], then pairs of neighbours. */
			__m512i el = _mm512_unpacklo_epi64(one, lo);
			__m512i eh = _mm512_unpacklo_epi64(hi, z);
			__m512i dl = _mm512_unpackhi_epi64(one, lo);
			__m512i dh = _mm512_unpackhi_epi64(hi, z);
			__m512i e0 = _mm512_permutex2var_epi64(el, p0, eh);
			__m512i e1 = _mm512_permutex2var_epi64(el, p1, eh);
			__m512i d0 = _mm512_permutex2var_epi64(dl, p0, dh);
			__m512i d1 = _mm512_permutex2var_epi64(dl, p1, dh);
			v0 = _mm512_permutex2var_epi64(e0, h0, d0);
			v1 = _mm512_permutex2var_epi64(e0, h1, d0);
			v2 = _mm512_permutex2var_epi64(e1, h0, d1);
			v3 = _mm512_permutex2var_epi64(e1, h1, d1);
		} else {
			__m512i el = _mm512_unpacklo_epi64(one, lo);
			__m512i dl = _mm512_unpackhi_epi64(one, lo);
			v0 = _mm512_permutex2var_epi64(el, p0, dl);
			v1 = _mm512_permutex2var_epi64(el, p1, dl);
		}
		/* The lanes of the rows that are among the m. */
		n = (m - j < 8 ? m - j : 8) * KY;
		_mm512_mask_storeu_epi64(o, tail_mask(n), v0);
		_mm512_mask_storeu_epi64(o + 8, tail_mask(n > 8 ? n - 8 : 0), v1);
		if (L == 2) {
			_mm512_mask_storeu_epi64(o + 16, tail_mask(n > 16 ? n - 16 :
			    0), v2);
			_mm512_mask_storeu_epi64(o + 24, tail_mask(n > 24 ? n - 24 :
			    0), v3);
		}
	}
	return bad != 0;
}

/*
 * pt_hk_limbs_base of A columns at once, eight rows at a time, into rows
 * of KG lanes (A L <= KG <= 8): the A L limb vectors of eight rows,
 * transposed in registers (unpack, then two rounds of two-register
 * permutes), give each row's lanes, stored with one masked 64-byte store
 * per row instead of a 16-byte store per row and column.  Lanes past A L
 * get zeros.  The same limbs and checks as pt_hk_limbs_avx2.  (Named
 * vectors, not an array: an array indexed by a run-time count would live
 * in memory.)
 */
AVX512_FN int
pt_hk_limbs_rows_avx512(const double *const *x, int A, size_t m, int L,
    double ihi, double chi, double ilo, double lim, int64_t *out, int KG)
{
	const __m512d vhi = _mm512_set1_pd(ihi), vchi = _mm512_set1_pd(chi);
	const __m512d vlo = _mm512_set1_pd(ilo), vlim = _mm512_set1_pd(lim);
	const __m512i q02 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
	const __m512i q13 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
	const __m512i h0 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
	const __m512i h1 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
	const __mmask8 sm = (__mmask8)((1u << KG) - 1);
	const __m512i z = _mm512_setzero_si512();
	__mmask8 bad = 0;
	size_t j, st = (size_t)KG;

	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512i c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z;
		__m512i c7 = z, t0, t1, t2, t3, t4, t5, t6, t7, u0, u1, u2, u3;
		__m512i u4, u5, u6, u7;
		int64_t *o = out + j * st;
		if (L == 2) {
			c0 = limb2_x8(x[0] + j, lm, vhi, vchi, vlo, vlim, &c1, &bad);
			if (A > 1)
				c2 = limb2_x8(x[1] + j, lm, vhi, vchi, vlo, vlim,
				    &c3, &bad);
			if (A > 2)
				c4 = limb2_x8(x[2] + j, lm, vhi, vchi, vlo, vlim,
				    &c5, &bad);
			if (A > 3)
				c6 = limb2_x8(x[3] + j, lm, vhi, vchi, vlo, vlim,
				    &c7, &bad);
		} else {
			c0 = limb1_x8(x[0] + j, lm, vlo, vlim, &bad);
			if (A > 1)
				c1 = limb1_x8(x[1] + j, lm, vlo, vlim, &bad);
			if (A > 2)
				c2 = limb1_x8(x[2] + j, lm, vlo, vlim, &bad);
			if (A > 3)
				c3 = limb1_x8(x[3] + j, lm, vlo, vlim, &bad);
			if (A > 4)
				c4 = limb1_x8(x[4] + j, lm, vlo, vlim, &bad);
			if (A > 5)
				c5 = limb1_x8(x[5] + j, lm, vlo, vlim, &bad);
			if (A > 6)
				c6 = limb1_x8(x[6] + j, lm, vlo, vlim, &bad);
			if (A > 7)
				c7 = limb1_x8(x[7] + j, lm, vlo, vlim, &bad);
		}
		/* ck holds lane k of rows 0..7.  t: lanes (0,1), (2,3),
		 * (4,5), (6,7) of rows 0, 2, 4, 6 (even t) and 1, 3, 5, 7. */
		t0 = _mm512_unpacklo_epi64(c0, c1);
		t1 = _mm512_unpackhi_epi64(c0, c1);
		t2 = _mm512_unpacklo_epi64(c2, c3);
		t3 = _mm512_unpackhi_epi64(c2, c3);
		t4 = _mm512_unpacklo_epi64(c4, c5);
		t5 = _mm512_unpackhi_epi64(c4, c5);
		t6 = _mm512_unpacklo_epi64(c6, c7);
		t7 = _mm512_unpackhi_epi64(c6, c7);
		/* u: lanes 0-3 (u0-u3) or 4-7 (u4-u7) of rows (0, 4),
		 * (2, 6), (1, 5), (3, 7). */
		u0 = _mm512_permutex2var_epi64(t0, q02, t2);
		u1 = _mm512_permutex2var_epi64(t0, q13, t2);
		u2 = _mm512_permutex2var_epi64(t1, q02, t3);
		u3 = _mm512_permutex2var_epi64(t1, q13, t3);
		u4 = _mm512_permutex2var_epi64(t4, q02, t6);
		u5 = _mm512_permutex2var_epi64(t4, q13, t6);
		u6 = _mm512_permutex2var_epi64(t5, q02, t7);
		u7 = _mm512_permutex2var_epi64(t5, q13, t7);
		/* Row k of the eight, stored only when it is one of the m. */
#define ROW_STORE(k, v) _mm512_mask_storeu_epi64(o + (k) * st, \
	j + (k) < m ? sm : 0, v)
		ROW_STORE(0, _mm512_permutex2var_epi64(u0, h0, u4));
		ROW_STORE(1, _mm512_permutex2var_epi64(u2, h0, u6));
		ROW_STORE(2, _mm512_permutex2var_epi64(u1, h0, u5));
		ROW_STORE(3, _mm512_permutex2var_epi64(u3, h0, u7));
		ROW_STORE(4, _mm512_permutex2var_epi64(u0, h1, u4));
		ROW_STORE(5, _mm512_permutex2var_epi64(u2, h1, u6));
		ROW_STORE(6, _mm512_permutex2var_epi64(u1, h1, u5));
		ROW_STORE(7, _mm512_permutex2var_epi64(u3, h1, u7));
#undef ROW_STORE
	}
	return bad != 0;
}

/* The portable scan_col eight values at a time (AVX-512F and CD: vplzcntq
 * gives the trailing zero count of the lowest set bit).  Same results:
 * a minimum, a maximum and an or do not depend on the order. */
__attribute__((target("avx512f,avx512cd,avx512vl"))) int
pt_hk_scan_avx512(const double *v, size_t n, const int *node_of,
    const int32_t *w, int *lo, uint64_t *amax)
{
	const __m512i expm = _mm512_set1_epi64((long long)(UINT64_C(0x7ff) << 52));
	const __m512i absm = _mm512_set1_epi64(INT64_MAX);
	const __m512i m52 = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - 1));
	const __m512i one52 = _mm512_set1_epi64((long long)(UINT64_C(1) << 52));
	const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
	__m512i mx = _mm512_set1_epi64((long long)*amax);
	__m512i l0 = _mm512_set1_epi64(*lo);
	__mmask8 bad = 0;
	size_t i;

	for (i = 0; i < n; i += 8) {
		__mmask8 keep = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
		__m512i u, a, E, M, low, tz, l;
		__mmask8 nz;
		if (node_of != NULL)
			keep &= _mm512_cmpge_epi64_mask(_mm512_cvtepi32_epi64(
			    _mm256_maskz_loadu_epi32(keep, node_of + i)), zero);
		if (w != NULL)
			keep &= _mm512_cmpge_epi64_mask(_mm512_cvtepi32_epi64(
			    _mm256_maskz_loadu_epi32(keep, w + i)), zero);
		u = _mm512_maskz_loadu_epi64(keep, v + i);
		a = _mm512_and_si512(u, absm);
		bad |= _mm512_mask_cmpeq_epi64_mask(keep,
		    _mm512_and_si512(a, expm), expm);
		mx = _mm512_max_epu64(mx, a);
		E = _mm512_srli_epi64(a, 52);
		nz = _mm512_test_epi64_mask(a, a);
		M = _mm512_and_si512(a, m52);
		M = _mm512_mask_or_epi64(M, _mm512_test_epi64_mask(E, E), M,
		    one52);
		low = _mm512_and_si512(M, _mm512_sub_epi64(zero, M));
		tz = _mm512_sub_epi64(_mm512_set1_epi64(63), _mm512_lzcnt_epi64(low));
		l = _mm512_add_epi64(_mm512_max_epi64(E, one), tz);
		l = _mm512_sub_epi64(l, _mm512_set1_epi64(1075));
		l0 = _mm512_mask_min_epi64(l0, nz, l0, l);
	}
	*lo = (int)_mm512_reduce_min_epi64(l0);
	*amax = (uint64_t)_mm512_reduce_max_epu64(mx);
	return bad != 0;
}

/* pt_splitmix64 of 8 values (AVX-512DQ for the 64-bit multiplies). */
__attribute__((target("avx512f,avx512dq"))) static inline __m512i
mix64x8(__m512i x)
{
	x = _mm512_add_epi64(x, _mm512_set1_epi64((long long)0x9e3779b97f4a7c15ULL));
	x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)),
	    _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL));
	x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)),
	    _mm512_set1_epi64((long long)0x94d049bb133111ebULL));
	return _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
}

/* The partition hash of contiguous rows, 8 at a time (sums mod 2^64, so
 * the lanes may be added in any order); rows by index as the portable
 * twin does. */
__attribute__((target("avx512f,avx512dq"))) void
pt_hk_part_hash_avx512(const uint64_t *rowh, const uint32_t *ri, size_t m,
    uint64_t *h1, uint64_t *h2)
{
	const __m512i salt = _mm512_set1_epi64((long long)HK_PART_SALT);
	__m512i s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512();
	size_t j;

	if (ri != NULL) {
		pt_hk_part_hash_base(rowh, ri, m, h1, h2);
		return;
	}
	for (j = 0; j < m; j += 8) {
		__mmask8 lm = tail_mask(m - j);
		__m512i v = _mm512_maskz_loadu_epi64(lm, rowh + j);
		s1 = _mm512_add_epi64(s1, _mm512_maskz_mov_epi64(lm, mix64x8(v)));
		s2 = _mm512_add_epi64(s2, _mm512_maskz_mov_epi64(lm,
		    mix64x8(_mm512_xor_si512(v, salt))));
	}
	*h1 += (uint64_t)_mm512_reduce_add_epi64(s1);
	*h2 += (uint64_t)_mm512_reduce_add_epi64(s2);
}

#endif

/*
 * hist_kernels.c: the portable kernels of the histogram pass, the
 * reference every SIMD variant (hist_kernels_x86.c) must match bit for bit,
 * and the one place that chooses which variant runs (pt_hist_simd).  The
 * portable set is complete: with pt_hist_simd(0), or off x86-64, it does
 * the whole pass alone.
 */
#include "hist_kernels.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "hist.h"
#include "pt.h"

/* One column's lowest set bit (into *lo) and largest magnitude bits (into
 * *amax) over the rows kept (node_of[i] >= 0; with w, also w[i] >= 0).
 * Returns non-zero when a kept value is not finite.  Branch-free but for
 * the row filter. */
static int
scan_col(const double *v, size_t n, const int *node_of, const int32_t *w,
    int *lo, uint64_t *amax)
{
	const uint64_t expm = UINT64_C(0x7ff) << 52;
	uint64_t mx = *amax, bad = 0;
	int l0 = *lo;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t u, a, E, M;
		int e0, l;
		if ((node_of != NULL && node_of[i] < 0) || (w != NULL && w[i] < 0))
			continue;
		memcpy(&u, &v[i], sizeof u);
		a = u & ~(UINT64_C(1) << 63);
		bad |= (a & expm) == expm;
		mx = a > mx ? a : mx;
		E = a >> 52;
		M = (a & ((UINT64_C(1) << 52) - 1)) | ((uint64_t)(E != 0) << 52);
		e0 = (int)(E ? E : 1) - 1075;
		l = e0 + __builtin_ctzll(M | UINT64_C(1) << 63);
		l = a != 0 ? l : INT_MAX;
		l0 = l < l0 ? l : l0;
	}
	*lo = l0;
	*amax = mx;
	return bad != 0;
}

/* Bins of a feature with more than 31 boundaries. */
void
pt_hk_bin_any(const double *b, int nb, const double *x, size_t m,
    uint16_t *bin)
{
	size_t j;

	for (j = 0; j < m; j++)
		bin[j] = (uint16_t)(x[j] != x[j] ? nb + 1 : bin_of(b, nb, x[j]));
}

/* The count of t[k] < v over 32 bounds padded with +inf, in five halving
 * steps; NaN gives 32. */
static inline size_t
bin32_scalar(const double *t, double v)
{
	size_t p = (size_t)(t[15] < v) << 4;

	p += (size_t)(t[p + 7] < v) << 3;
	p += (size_t)(t[p + 3] < v) << 2;
	p += (size_t)(t[p + 1] < v) << 1;
	p += (size_t)(t[p] < v);
	return v != v ? 32 : p;
}

static void
bin32_base(const double *t, const double *pt, const double *x, size_t m,
    uint8_t *bin)
{
	size_t j;

	(void)pt;
	for (j = 0; j < m; j++)
		bin[j] = (uint8_t)bin32_scalar(t, x[j]);
}

/*
 * The search tables of the AVX-512 bin32 for the 32 padded bounds t: the
 * probe of each halving step, indexed by the answers so far, b1 + 2 b2 +
 * ... (bit i the answer of step i + 1), so that one in-register permute
 * fetches every row's next probe: steps 2 to 4 from 2, 4 and 8 entries,
 * step 5 from 16 (two registers).
 */
void
pt_hk_bin32_tables(const double *t, double *pt)
{
	int c;

	for (c = 0; c < 8; c++) {
		int b1 = c & 1, b2 = (c >> 1) & 1, b3 = (c >> 2) & 1;
		pt[c] = t[16 * b1 + 7];
		pt[8 + c] = t[16 * b1 + 8 * b2 + 3];
		pt[16 + c] = t[16 * b1 + 8 * b2 + 4 * b3 + 1];
	}
	for (c = 0; c < 16; c++)
		pt[24 + c] = t[16 * (c & 1) + 8 * ((c >> 1) & 1) +
		    4 * ((c >> 2) & 1) + 2 * ((c >> 3) & 1)];
}

#define DEF_ROWS(KG, KY) \
static void rows_##KG##_##KY(ROWS_ARGS) ROWS_LOOP(KG, KY)
HK_ROWS_SHAPES(DEF_ROWS)
#define ROWS_PTR(KG, KY) rows_##KG##_##KY,
static rows_fn *const rows_base[] = { HK_ROWS_SHAPES(ROWS_PTR) };

/* Any lane counts (the lanes of 3 or more limbs). */
void
pt_hk_rows_any(const uint8_t *bins, size_t bs, int nf, size_t m, int64_t *G,
    const int64_t *rg, const size_t *gro, int64_t *Y, const int64_t *ry,
    const size_t *yro, int KG, int KY)
{
	size_t j;

	for (j = 0; j < m; j++)
		ROW_ADDS(j, KG, KY);
}

/* One feature with more than 31 boundaries, bins given. */
void
pt_hk_acc_any(const uint16_t *bin, size_t m, int64_t *Gf, const int64_t *rg,
    const size_t *gro, int64_t *Yf, const int64_t *ry, const size_t *yro,
    int KG, int KY)
{
	size_t j;

	for (j = 0; j < m; j++) {
		ADDN(Gf + (gro ? gro[j] : 0) + (size_t)bin[j] * KG, rg + j *
		    (size_t)KG, KG);
		ADDN(Yf + yro[j] + (size_t)bin[j] * KY, ry + j * (size_t)KY, KY);
	}
}

int
pt_hk_codes_max_base(const uint8_t *x, size_t n)
{
	uint8_t m = 0;
	size_t j;

	for (j = 0; j < n; j++)
		m = x[j] > m ? x[j] : m;
	return m;
}

/* The limbs of m values through floating point, when every scaling by
 * powers of two involved stays normal (fp in pt_hist_add): x * 2^-(s+W)
 * truncated is the high limb, and what is left, scaled by 2^-s, the low
 * one.  Every step is exact and gives the same limbs as put_limbs in
 * hist.c.  Row j's limbs go to out[j stride] (low) and out[j stride + 1]
 * (high, L = 2).
 * Returns non-zero unless every value fits the unit and limbs: a low limb
 * that is an integer (x a multiple of 2^s; what is left after the high
 * limb is exact whatever x is) and every limb of magnitude below 2^W
 * (lim).  NaN and infinities fail both. */
int
pt_hk_limbs_base(const double *x, size_t m, int L, double ihi, double chi,
    double ilo, double lim, int64_t *out, int stride)
{
	size_t j;
	int bad = 0;

	if (L == 1)
		for (j = 0; j < m; j++) {
			double d = x[j] * ilo;
			int ok = fabs(d) < lim;
			out[j * stride] = ok ? (int64_t)d : 0;
			bad |= !ok || (double)out[j * stride] != d;
		}
	else
		for (j = 0; j < m; j++) {
			double td = trunc(x[j] * ihi), r;
			int ok = fabs(td) < lim;
			int64_t t = ok ? (int64_t)td : 0;
			r = ok ? (x[j] - td * chi) * ilo : 0.0;
			out[j * stride] = (int64_t)r;
			out[j * stride + 1] = t;
			bad |= !ok || (double)out[j * stride] != r;
		}
	return bad;
}

static int32_t
wmax_base(const int32_t *w, size_t m)
{
	int32_t wm = 0;
	size_t i;

	for (i = 0; i < m; i++)
		wm = w[i] > wm ? w[i] : wm;
	return wm;
}

void
pt_hk_yro_base(const int32_t *w, size_t m, int A, size_t yslot, size_t *yro)
{
	size_t i;

	for (i = 0; i < m; i++) {
		int32_t arm = w[i];
		yro[i] = (size_t)(arm >= 0 ? arm : A) * yslot;
	}
}

/* A sum of the rows' mixes, so it does not depend on their order. */
void
pt_hk_part_hash_base(const uint64_t *rowh, const uint32_t *ri, size_t m,
    uint64_t *h1, uint64_t *h2)
{
	uint64_t p1 = 0, p2 = 0;
	size_t j;

	for (j = 0; j < m; j++) {
		uint64_t v = ri ? rowh[ri[j]] : rowh[j];
		p1 += pt_splitmix64(v);
		p2 += pt_splitmix64(v ^ HK_PART_SALT);
	}
	*h1 += p1;
	*h2 += p2;
}

/* ---- choosing ---------------------------------------------------------- */

static const hk_table portable = {
	0, scan_col, bin32_base, pt_hk_codes_max_base, pt_hk_limbs_base, NULL,
	NULL, wmax_base, pt_hk_yro_base, pt_hk_part_hash_base, rows_base
};

/* The kernels in use; level -1 until chosen. */
static hk_table use = { -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL };

int
pt_hist_simd(int enable)
{
	if (enable < 0 && use.level >= 0)
		return use.level;
	if (enable < 0)
		enable = 2;
	use = portable;
#if HK_X86
	if (enable >= 1 && pt_cpu_has(PT_CPU_AVX2)) {
		use.level = 1;
		use.bin32 = pt_hk_bin32_avx2;
		use.codes_max = pt_hk_codes_max_avx2;
		use.limbs = pt_hk_limbs_avx2;
		use.rows = pt_hk_rows_avx2;
	}
	if (use.level == 1 && enable >= 2 && pt_cpu_has(PT_CPU_AVX512F)) {
		use.level = 2;
		use.bin32 = pt_hk_bin32_avx512;
		use.limbs_rows = pt_hk_limbs_rows_avx512;
		use.yrows = pt_hk_yrows_avx512;
		use.wmax = pt_hk_wmax_avx512;
		use.yro = pt_hk_yro_avx512;
		if (pt_cpu_has(PT_CPU_AVX512CD | PT_CPU_AVX512VL))
			use.scan = pt_hk_scan_avx512;
		if (pt_cpu_has(PT_CPU_AVX512DQ))
			use.part_hash = pt_hk_part_hash_avx512;
	}
#endif
	return use.level;
}

const hk_table *
pt_hk_table(void)
{
	if (use.level < 0)
		pt_hist_simd(2);
	return &use;
}

rows_fn *
pt_hk_rows(const hk_table *t, int KG, int KY)
{
#define SHAPE_KG(KG, KY) KG,
#define SHAPE_KY(KG, KY) KY,
	static const int kg[] = { HK_ROWS_SHAPES(SHAPE_KG) };
	static const int ky[] = { HK_ROWS_SHAPES(SHAPE_KY) };
	size_t i;

	for (i = 0; i < sizeof kg / sizeof kg[0]; i++)
		if (kg[i] == KG && ky[i] == KY)
			return t->rows[i];
	return NULL;
}

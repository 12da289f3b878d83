/*
 * hist_kernels.h: the kernels of the histogram pass, private to hist.c,
 * bincode.c and the two kernel files.
 *
 * Every kernel has a portable twin (hist_kernels.c), the reference its
 * AVX2 and AVX-512 variants (hist_kernels_x86.c) must match bit for bit.
 * Which variant runs is chosen in one place, pt_hist_simd, which fills one
 * table of them; callers fetch the table once per block of rows and call
 * through it, so nothing is chosen per row.
 *
 * A block of rows is added in two steps.  First every feature's values
 * are binned into a byte per row (features with at most 31 boundaries,
 * the usual case: they use PAD_BINS frame cells, bins 0..31 and the
 * missing bin at 32, the padded bins nbounds+1..31 staying empty, so a bin
 * is a branch-free count).  Then the rows are walked once, each row's
 * vectors held in registers while they are added into the cell of every
 * feature in turn: G gets the score limbs at the bin, Y the count and
 * outcome limbs at (slot, bin).  Walking rows across features, not
 * features across rows, reads each row's vectors once per block, and
 * consecutive adds go to different features' cells, so they do not wait
 * on each other.  Features are taken in groups whose cells fit the cache.
 *
 * The row kernels are plain C (the compiler vectorises the lane loops);
 * on x86-64 each is compiled twice, for the baseline and for AVX2 (no
 * -march flag: the build stays portable).  Integer adds give the same bits
 * either way; tests compare the levels.
 */
#ifndef PT_HIST_KERNELS_H
#define PT_HIST_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HK_X86 1
#else
#define HK_X86 0
#endif

#define PAD_BINS 33 /* frame cells of a feature with <= 31 boundaries */
#define PTAB 40     /* doubles per feature in the AVX-512 search tables */
/* The partition hash mixes each row hash twice, once xored with this. */
#define HK_PART_SALT UINT64_C(0x5851f42d4c957f2d)

/* First k with x <= b[k] (nb when none), branch-free; x not NaN. */
static inline int
bin_of(const double *b, int nb, double x)
{
	const double *base = b;
	int n = nb;

	if (n == 0)
		return 0;
	/* Arithmetic instead of a conditional, so the compiler cannot turn
	 * it into an unpredictable branch. */
	while (n > 1) {
		int half = n / 2;
		base += (size_t)(base[half - 1] < x) * (size_t)half;
		n -= half;
	}
	return (int)(base - b) + (base[0] < x);
}

/* ---- the row kernels -------------------------------------------------- */

/* One row's adds: N lanes at d from s. */
#define ADDN(d, s, N) do { \
	int q_; \
	for (q_ = 0; q_ < (N); q_++) \
		(d)[q_] += (s)[q_]; \
} while (0)

/*
 * The adds of m rows over nf features: row j's G vector (KG lanes at
 * rg + j KG) into G + gro[j] + (q PAD_BINS + bin) KG for every feature q
 * of the group, its Y vector likewise; bins[q * bs + j] is row j's bin in
 * feature q.
 */
#define ROWS_ARGS const uint8_t *bins, size_t bs, int nf, size_t m, \
	int64_t *restrict G, const int64_t *restrict rg, const size_t *gro, \
	int64_t *restrict Y, const int64_t *restrict ry, const size_t *yro
typedef void rows_fn(ROWS_ARGS);
/* Row j's adds over the group's nf features. */
#define ROW_ADDS(j, KG, KY) do { \
	const int64_t *restrict gv_ = rg + (j) * (size_t)(KG); \
	const int64_t *restrict yv_ = ry + (j) * (size_t)(KY); \
	int64_t *gb_ = G + (gro ? gro[j] : 0), *yb_ = Y + yro[j]; \
	int q_; \
	for (q_ = 0; q_ < nf; q_++) { \
		size_t b_ = bins[(size_t)q_ * bs + (j)] + (size_t)q_ * PAD_BINS; \
		ADDN(gb_ + b_ * (KG), gv_, KG); \
		ADDN(yb_ + b_ * (KY), yv_, KY); \
	} \
} while (0)
#define ROWS_PAIRS(KG, KY, GO) do { \
	for (; j + 2 <= m; j += 2) { \
		const int64_t *restrict gv = rg + j * (KG); \
		const int64_t *restrict yv = ry + j * (KY); \
		int64_t *g0 = G + GO(j), *y0 = Y + yro[j]; \
		int64_t *g1 = G + GO(j + 1), *y1 = Y + yro[j + 1]; \
		const uint8_t *bj = bins + j; \
		for (q = 0; q < nf; q++) { \
			size_t c_ = (size_t)q * PAD_BINS; \
			size_t b0 = bj[(size_t)q * bs] + c_; \
			size_t b1 = bj[(size_t)q * bs + 1] + c_; \
			ADDN(g0 + b0 * (KG), gv, KG); \
			ADDN(y0 + b0 * (KY), yv, KY); \
			ADDN(g1 + b1 * (KG), gv + (KG), KG); \
			ADDN(y1 + b1 * (KY), yv + (KY), KY); \
		} \
	} \
} while (0)
#define GO_NODE(j) gro[j]
#define GO_ROOT(j) 0
/* The body of a row kernel for KG and KY lanes, compiled once per shape
 * and instruction set. */
#define ROWS_LOOP(KG, KY) { \
	size_t j = 0; \
	int q; \
	/* Two rows at a time: twice the independent adds per feature; at \
	 * the root (gro NULL) every row's cells are node 0's. */ \
	if (gro == NULL) \
		ROWS_PAIRS(KG, KY, GO_ROOT); \
	else \
		ROWS_PAIRS(KG, KY, GO_NODE); \
	if (j < m) \
		ROW_ADDS(j, KG, KY); \
}
/* The lane counts (KG, KY) the row kernels are compiled for, in the order
 * of the arrays of them; other shapes take pt_hk_rows_any. */
#define HK_ROWS_SHAPES(X) \
	X(2, 1) X(2, 2) X(2, 4) X(4, 1) X(4, 2) X(4, 4) X(6, 1) X(6, 2) \
	X(6, 4) X(8, 1) X(8, 2) X(8, 4) X(10, 1) X(10, 2) X(10, 4) \
	X(12, 1) X(12, 2) X(12, 4) X(16, 1) X(16, 2) X(16, 4)

/* ---- the table -------------------------------------------------------- */

/* The limbs of a value (hist.c): L limbs of W bits in units of 2^s, cut
 * through floating point with ihi = 2^-(s+W), chi = 2^(s+W), ilo = 2^-s
 * and lim = 2^W.  A kernel cutting limbs returns non-zero unless every
 * value fits the unit and limbs (pt_hk_limbs_base). */
typedef struct hk_table {
	int level; /* 0 portable, 1 AVX2, 2 AVX-512 (pt_hist_simd) */
	/* One column's lowest set bit (into *lo) and largest magnitude bits
	 * (into *amax) over the rows kept (node_of[i] >= 0; with w, also
	 * w[i] >= 0); non-zero when a kept value is not finite. */
	int (*scan)(const double *v, size_t n, const int *node_of,
	    const int32_t *w, int *lo, uint64_t *amax);
	/* The bins of m values x against the 32 bounds t padded with +inf
	 * (pt: their pt_hk_bin32_tables), NaN at 32; may write bin[0 .. m
	 * rounded up to 8). */
	void (*bin32)(const double *t, const double *pt, const double *x,
	    size_t m, uint8_t *bin);
	/* The largest of n codes. */
	int (*codes_max)(const uint8_t *x, size_t n);
	/* The limbs of m values x into rows of `stride` lanes from out. */
	int (*limbs)(const double *x, size_t m, int L, double ihi, double chi,
	    double ilo, double lim, int64_t *out, int stride);
	/* limbs of A columns x[k] at once into rows of KG lanes, lanes past
	 * A L zeroed; only for A L <= 8.  NULL at levels without it: the
	 * caller takes the columns one at a time through limbs. */
	int (*limbs_rows)(const double *const *x, int A, size_t m, int L,
	    double ihi, double chi, double ilo, double lim, int64_t *out,
	    int KG);
	/* The Y vectors of m rows, [1, lo, hi, 0] (L = 2, 4 lanes) or
	 * [1, lo] (L = 1, 2 lanes): the outcome's limbs, 0 for a row with no
	 * treatment (w negative).  NULL at levels without it: the caller
	 * gathers the outcomes and takes them through limbs. */
	int (*yrows)(const int32_t *w, const double *y, size_t m, int L,
	    double ihi, double chi, double ilo, double lim, int64_t *ry);
	/* The largest of m treatment codes, or 0. */
	int32_t (*wmax)(const int32_t *w, size_t m);
	/* Each row's offset of its Y slot: (w, or A when negative) * yslot. */
	void (*yro)(const int32_t *w, size_t m, int A, size_t yslot,
	    size_t *yro);
	/* Adds the partition hash of m row hashes (rowh[ri[j]], or rowh[j]
	 * when ri is NULL) into *h1 and *h2. */
	void (*part_hash)(const uint64_t *rowh, const uint32_t *ri, size_t m,
	    uint64_t *h1, uint64_t *h2);
	/* The row kernels, one per HK_ROWS_SHAPES shape. */
	rows_fn *const *rows;
} hk_table;

/* The kernels in use, chosen by pt_hist_simd (at its default, level 2,
 * on the first call). */
const hk_table *pt_hk_table(void);
/* The row kernel of t for KG and KY lanes, or NULL for another shape. */
rows_fn *pt_hk_rows(const hk_table *t, int KG, int KY);

/* Portable kernels without variants. */
/* The search tables of the AVX-512 bin32 for 32 padded bounds t, into
 * pt[PTAB]. */
void pt_hk_bin32_tables(const double *t, double *pt);
/* Bins of m values of a feature with more than 31 boundaries. */
void pt_hk_bin_any(const double *b, int nb, const double *x, size_t m,
    uint16_t *bin);
/* The row kernel for any lane counts. */
void pt_hk_rows_any(const uint8_t *bins, size_t bs, int nf, size_t m,
    int64_t *G, const int64_t *rg, const size_t *gro, int64_t *Y,
    const int64_t *ry, const size_t *yro, int KG, int KY);
/* The adds of m rows into one feature with more than 31 boundaries, bins
 * given. */
void pt_hk_acc_any(const uint16_t *bin, size_t m, int64_t *Gf,
    const int64_t *rg, const size_t *gro, int64_t *Yf, const int64_t *ry,
    const size_t *yro, int KG, int KY);

/* The portable twins the variants fall back on (tails, other cases). */
int pt_hk_codes_max_base(const uint8_t *x, size_t n);
int pt_hk_limbs_base(const double *x, size_t m, int L, double ihi,
    double chi, double ilo, double lim, int64_t *out, int stride);
void pt_hk_yro_base(const int32_t *w, size_t m, int A, size_t yslot,
    size_t *yro);
void pt_hk_part_hash_base(const uint64_t *rowh, const uint32_t *ri,
    size_t m, uint64_t *h1, uint64_t *h2);

#if HK_X86
/* The variants (hist_kernels_x86.c), each with the contract of its table
 * entry. */
extern rows_fn *const pt_hk_rows_avx2[];
void pt_hk_bin32_avx2(const double *t, const double *pt, const double *x,
    size_t m, uint8_t *bin);
int pt_hk_codes_max_avx2(const uint8_t *x, size_t n);
int pt_hk_limbs_avx2(const double *x, size_t m, int L, double ihi,
    double chi, double ilo, double lim, int64_t *out, int stride);
void pt_hk_bin32_avx512(const double *t, const double *pt, const double *x,
    size_t m, uint8_t *bin);
int pt_hk_limbs_rows_avx512(const double *const *x, int A, size_t m, int L,
    double ihi, double chi, double ilo, double lim, int64_t *out, int KG);
int pt_hk_yrows_avx512(const int32_t *w, const double *y, size_t m, int L,
    double ihi, double chi, double ilo, double lim, int64_t *ry);
int32_t pt_hk_wmax_avx512(const int32_t *w, size_t m);
void pt_hk_yro_avx512(const int32_t *w, size_t m, int A, size_t yslot,
    size_t *yro);
int pt_hk_scan_avx512(const double *v, size_t n, const int *node_of,
    const int32_t *w, int *lo, uint64_t *amax);
void pt_hk_part_hash_avx512(const uint64_t *rowh, const uint32_t *ri,
    size_t m, uint64_t *h1, uint64_t *h2);
#endif

#endif

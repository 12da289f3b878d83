/*
 * synth.c: the synthetic experiment generator (see synth.h for the model,
 * the column layout and the exact order of random draws).
 *
 * Speed matters (benchmarks ask for tens of millions of rows), so a row is
 * formatted straight into a large output buffer with integer arithmetic and
 * the buffer goes out with write(2) when less than one row's worth of room
 * is left.
 */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTBUF (1u << 20)

static const char *const arm_labels[PT_SYNTH_MAX_ARMS] = {
	"control", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
	"t8", "t9", "t10", "t11", "t12", "t13", "t14", "t15",
};

/* "00".."99", so six digits take three look-ups instead of six divisions. */
static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* --- randomness ------------------------------------------------------ */

typedef struct xoshiro {
	uint64_t s[4];
} xoshiro;

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
xo_next(xoshiro *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* An integer in [0, n) from the top 32 bits (multiply-shift; the bias is
 * below n / 2^32, far under anything a test could see). */
static inline uint32_t
xo_below(xoshiro *r, uint32_t n)
{
	return (uint32_t)(((xo_next(r) >> 32) * n) >> 32);
}

/* A standard-ish normal: the sum of twelve uniforms (h + 0.5) / 2^32 minus
 * 6.  The integer sum is exact and below 2^36, so the double arithmetic is
 * exact too and every machine gets the same bits. */
static inline double
xo_normal(xoshiro *r)
{
	uint64_t sum = 0, w;
	int i;

	for (i = 0; i < 6; i++) {
		w = xo_next(r);
		sum += (w >> 32) + (w & 0xffffffffu);
	}
	return ((double)sum + 6.0) * 0x1p-32 - 6.0;
}

/* --- the planted model ------------------------------------------------ */

static inline int
best_arm(int arms, double x1, double x2)
{
	int r = 2 * (x1 > 0.5) + (x1 <= 0.5 ? (x2 > 0.3) : (x2 > 0.7));

	return (r + 1) % arms;
}

/* The outcome all arms share; x holds x1..x6 (0 past numeric).  With
 * nonlinear (6 or more features) it adds what a linear model of the raw
 * features cannot fit: an interaction of x4 and x5 and a fold at x6 = 0.5
 * (each operation exact or correctly rounded, so the bits are fixed). */
static inline double
base_of(int numeric, int categorical, int nonlinear, const double *x,
    int c1)
{
	double b = numeric >= 3 ? 2.0 * x[2] : 0.0;

	if (categorical >= 1)
		b = b + 0.1 * c1;
	if (nonlinear && numeric >= 6)
		b = b + 8.0 * ((x[3] - 0.5) * (x[4] - 0.5)) +
		    6.0 * fabs(x[5] - 0.5);
	return b;
}

/* The one place the expected outcome is computed, so pt_synth_mean() and
 * the generator agree bit for bit. */
static inline double
mean_of(int binary, int arms, int best, double base, int a)
{
	double eff = a == best ? 1.0 : 0.25 * a / arms;

	if (binary)
		return 0.1 + 0.6 * eff + 0.1 * base;
	return base + eff;
}

/* --- formatting ----------------------------------------------------------- */

/* k in [0, 10^6) as exactly six digits. */
static inline char *
put_digits6(char *p, uint32_t k)
{
	uint32_t hi = k / 10000, mid = (k / 100) % 100, lo = k % 100;

	memcpy(p, digits2 + 2 * hi, 2);
	memcpy(p + 2, digits2 + 2 * mid, 2);
	memcpy(p + 4, digits2 + 2 * lo, 2);
	return p + 6;
}

/* k in [0, 10^6) as "0.dddddd". */
static inline char *
put_frac6(char *p, uint32_t k)
{
	p[0] = '0';
	p[1] = '.';
	return put_digits6(p + 2, k);
}

static char *
put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* v rounded to 6 decimals (half away from zero), "-12.345678".  |v| stays
 * far below 2^63 / 10^6 because the options bound the noise. */
static inline char *
put_fixed6(char *p, double v)
{
	double t = v * 1e6;
	int64_t q = (int64_t)t;
	double f = t - (double)q;
	uint64_t u;

	if (f >= 0.5)
		q++;
	else if (f <= -0.5)
		q--;
	if (q < 0) {
		*p++ = '-';
		u = (uint64_t)0 - (uint64_t)q;
	} else
		u = (uint64_t)q;
	p = put_u64(p, u / 1000000);
	*p++ = '.';
	u %= 1000000;
	return put_digits6(p, (uint32_t)u);
}

/* --- output ----------------------------------------------------------- */

typedef struct wbuf {
	int fd;
	const char *name;
	char *buf;
	size_t len, cap;
} wbuf;

static int
wflush(wbuf *w, pt_err *e)
{
	if (pt_write_all(w->fd, w->buf, w->len) != 0) {
		/* Keep errno for the caller. */
		int saved = errno;
		pt_fail(e, PT_EIO, w->name, "write: %s", strerror(saved));
		errno = saved;
		return -1;
	}
	w->len = 0;
	return 0;
}

/* Makes room for need bytes. */
static inline int
wroom(wbuf *w, size_t need, pt_err *e)
{
	if (w->cap - w->len >= need)
		return 0;
	return wflush(w, e);
}

static int
put_header(wbuf *w, const pt_synth_opts *o, pt_err *e)
{
	char *p;
	int j, a;

	/* Each name is at most 12 bytes ("x100000," or "mu_control,"). */
	for (j = 0; j < o->numeric; j++) {
		if (wroom(w, 16, e) != 0)
			return -1;
		p = w->buf + w->len;
		*p++ = 'x';
		p = put_u64(p, (uint64_t)j + 1);
		*p++ = ',';
		w->len = (size_t)(p - w->buf);
	}
	for (j = 0; j < o->categorical; j++) {
		if (wroom(w, 16, e) != 0)
			return -1;
		p = w->buf + w->len;
		*p++ = 'c';
		p = put_u64(p, (uint64_t)j + 1);
		*p++ = ',';
		w->len = (size_t)(p - w->buf);
	}
	if (wroom(w, 16, e) != 0)
		return -1;
	memcpy(w->buf + w->len, "arm,y", 5);
	w->len += 5;
	if (o->oracle) {
		if (wroom(w, 16, e) != 0)
			return -1;
		memcpy(w->buf + w->len, ",best", 5);
		w->len += 5;
		for (a = 0; a < o->arms; a++) {
			size_t n = strlen(arm_labels[a]);

			if (wroom(w, 16, e) != 0)
				return -1;
			memcpy(w->buf + w->len, ",mu_", 4);
			memcpy(w->buf + w->len + 4, arm_labels[a], n);
			w->len += 4 + n;
		}
	}
	if (wroom(w, 1, e) != 0)
		return -1;
	w->buf[w->len++] = '\n';
	return 0;
}

static int
check_opts(const pt_synth_opts *o, const char *where, pt_err *e)
{
	if (o->numeric < 2 || o->numeric > PT_SYNTH_MAX_COLS)
		return pt_fail(e, PT_EUSAGE, where,
		    "numeric features: %d not in 2..%d", o->numeric,
		    PT_SYNTH_MAX_COLS);
	if (o->categorical < 0 || o->categorical > PT_SYNTH_MAX_COLS)
		return pt_fail(e, PT_EUSAGE, where,
		    "categorical features: %d not in 0..%d", o->categorical,
		    PT_SYNTH_MAX_COLS);
	if (o->arms < 2 || o->arms > PT_SYNTH_MAX_ARMS)
		return pt_fail(e, PT_EUSAGE, where, "arms: %d not in 2..%d",
		    o->arms, PT_SYNTH_MAX_ARMS);
	/* Written so that NaN fails too. */
	if (!(o->missing >= 0.0 && o->missing <= 1.0))
		return pt_fail(e, PT_EUSAGE, where,
		    "missing share: %g not in [0, 1]", o->missing);
	if (!(o->noise >= 0.0 && o->noise <= PT_SYNTH_MAX_NOISE))
		return pt_fail(e, PT_EUSAGE, where,
		    "noise: %g not in [0, %g]", o->noise, PT_SYNTH_MAX_NOISE);
	return 0;
}

void
pt_synth_defaults(pt_synth_opts *o)
{
	memset(o, 0, sizeof *o);
	o->rows = 10000;
	o->numeric = 10;
	o->categorical = 0;
	o->arms = 3;
	o->seed = 1;
	o->missing = 0.0;
	o->binary = 0;
	o->oracle = 0;
	o->noise = 1.0;
	o->header = 1;
}

const char *
pt_synth_arm_label(int a)
{
	if (a < 0 || a >= PT_SYNTH_MAX_ARMS)
		return NULL;
	return arm_labels[a];
}

int
pt_synth_best(const pt_synth_opts *o, const double *x)
{
	return best_arm(o->arms, x[0], x[1]);
}

double
pt_synth_mean(const pt_synth_opts *o, const double *x, const int *cat, int a)
{
	double xs[6] = { 0, 0, 0, 0, 0, 0 };
	int c1 = o->categorical >= 1 && cat != NULL ? cat[0] : 0;
	double base;

	for (int j = 0; j < 6 && j < o->numeric; j++)
		xs[j] = x[j];
	base = base_of(o->numeric, o->categorical, o->nonlinear, xs, c1);

	return mean_of(o->binary, o->arms, best_arm(o->arms, x[0], x[1]),
	    base, a);
}

int
pt_synth_write(int fd, const char *name, const pt_synth_opts *o, pt_err *e)
{
	const char *where = name != NULL ? name : "";
	xoshiro rm, rk;
	uint64_t sm, i, thr;
	wbuf w;
	size_t rowmax;
	int N, M, arms, j, a, masking, saved, rc = -1;
	size_t lablen[PT_SYNTH_MAX_ARMS];

	if (check_opts(o, where, e) != 0)
		return -1;
	N = o->numeric;
	M = o->categorical;
	arms = o->arms;

	sm = o->seed;
	for (j = 0; j < 4; j++)
		rm.s[j] = pt_splitmix64_next(&sm);
	for (j = 0; j < 4; j++)
		rk.s[j] = pt_splitmix64_next(&sm);
	masking = o->missing > 0.0;
	thr = (uint64_t)(o->missing * 0x1p53);
	for (a = 0; a < arms; a++)
		lablen[a] = strlen(arm_labels[a]);

	/* Longest row: "0.dddddd," per numeric, "a," per categorical, the
	 * arm label, a fixed-6 outcome (noise <= 1e6 keeps it under 24
	 * bytes), and with the oracle a label and one fixed-6 per arm. */
	rowmax = (size_t)N * 9 + (size_t)M * 2 + 8 + 32 + 1;
	if (o->oracle)
		rowmax += 9 + (size_t)arms * 32;
	w.fd = fd;
	w.name = where;
	w.len = 0;
	w.cap = OUTBUF + rowmax;
	w.buf = malloc(w.cap);
	if (w.buf == NULL)
		return pt_fail(e, PT_ENOMEM, where,
		    "output buffer of %zu bytes", w.cap);

	if (o->header && put_header(&w, o, e) != 0)
		goto out;

	for (i = 0; i < o->rows; i++) {
		double xs[6] = { 0, 0, 0, 0, 0, 0 }, base, mu;
		int c1 = 0, arm, best;
		char *p;

		if (wroom(&w, rowmax, e) != 0)
			goto out;
		p = w.buf + w.len;
		for (j = 0; j < N; j++) {
			uint32_t k = xo_below(&rm, 1000000);

			/* k / 1e6 is the correctly rounded double nearest
			 * the written decimal, which is what strtod reads. */
			if (j < 6)
				xs[j] = k / 1e6;
			if (masking && (xo_next(&rk) >> 11) < thr) {
				p[0] = 'N';
				p[1] = 'A';
				p += 2;
			} else
				p = put_frac6(p, k);
			*p++ = ',';
		}
		for (j = 0; j < M; j++) {
			uint32_t lv = xo_below(&rm, 5);

			if (j == 0)
				c1 = (int)lv;
			if (masking && (xo_next(&rk) >> 11) < thr) {
				p[0] = 'N';
				p[1] = 'A';
				p += 2;
			} else
				*p++ = (char)('a' + lv);
			*p++ = ',';
		}
		arm = (int)xo_below(&rm, (uint32_t)arms);
		memcpy(p, arm_labels[arm], lablen[arm]);
		p += lablen[arm];
		*p++ = ',';

		best = best_arm(arms, xs[0], xs[1]);
		base = base_of(N, M, o->nonlinear, xs, c1);
		mu = mean_of(o->binary, arms, best, base, arm);
		if (o->binary) {
			double u = (double)(xo_next(&rm) >> 11) * 0x1p-53;

			*p++ = u < mu ? '1' : '0';
		} else {
			double z = xo_normal(&rm);

			p = put_fixed6(p, mu + o->noise * z);
		}
		if (o->oracle) {
			*p++ = ',';
			memcpy(p, arm_labels[best], lablen[best]);
			p += lablen[best];
			for (a = 0; a < arms; a++) {
				*p++ = ',';
				p = put_fixed6(p, mean_of(o->binary, arms, best,
				    base, a));
			}
		}
		*p++ = '\n';
		w.len = (size_t)(p - w.buf);
	}
	if (wflush(&w, e) != 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	free(w.buf);
	errno = saved;
	return rc;
}

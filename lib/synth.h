/*
 * synth.h: a synthetic CSV experiment with a planted optimal policy, for the
 * demo, the tests and the benchmarks (policy-prep synth).
 *
 * The same options give the same bytes on every machine: the generator uses
 * its own PRNG, draws in a fixed order, uses only + - * / on doubles (no
 * libm, no rand(3)) and formats numbers with integer arithmetic.
 *
 * Columns, in order:
 *   x1..xN    numeric features, uniform on the grid k/10^6, k = 0..999999,
 *             written "0.dddddd".  Outcomes use exactly the written value.
 *   c1..cM    categorical features, levels "a".."e", uniform.
 *   arm       the treatment, uniform over the arms; arm 0 is "control",
 *             arm a > 0 is "t<a>" (see pt_synth_arm_label()).
 *   y         the outcome: a real number with 6 decimals, or 0/1 (binary).
 *   best      (oracle only) the label of the planted best arm for the row.
 *   mu_<lbl>  (oracle only) one per arm in arm order: its expected outcome
 *             (6 decimals); for binary outcomes, the probability of 1.
 * A share `missing` of feature cells (numeric and categorical alike) is
 * written as NA.  Outcomes and oracle columns use the true values.
 *
 * The planted policy depends on x1 and x2 only (a depth-2 tree):
 *   region r = 2*(x1 > 0.5) + (x1 <= 0.5 ? (x2 > 0.3) : (x2 > 0.7))
 *   best(x)  = (r + 1) % arms
 * so with 3 arms the regions 0..3 map to t1, t2, control, t1.
 *
 * Expected outcomes, with best = best(x):
 *   base(x)    = 2*x3 (0 if N < 3) + 0.1*level(c1) (0 if M = 0), where
 *                level(a..e) = 0..4; so base lies in [0, 2.4)
 *   effect(a)  = 1.0 if a == best, else 0.25*a/arms (< 0.25)
 *   real:   mean_a(x) = base(x) + effect(a)
 *           y = mean_arm(x) + noise * z, z = (sum of 12 uniforms) - 6,
 *           which has mean 0 and sd 1 and lies in (-6, 6)
 *   binary: p_a(x) = 0.1 + 0.6*effect(a) + 0.1*base(x), in [0.1, 0.94]
 *           y = 1 with probability p_arm(x)
 * The best arm beats every other arm by more than 0.75 (real) or 0.45
 * (binary) everywhere; the features x3 and c1 move the baseline only, so
 * they matter to an outcome model but not to the policy.
 *
 * Randomness: splitmix64 seeded with `seed` gives eight 64-bit words; the
 * first four seed the main xoshiro256** stream, the next four the mask
 * stream.  Per row the main stream gives, in order: one word per numeric
 * feature (k = ((w >> 32) * 10^6) >> 32), one per categorical feature
 * (level = ((w >> 32) * 5) >> 32), one for the arm (((w >> 32) * arms) >> 32),
 * then for a real outcome six words whose two 32-bit halves are the twelve
 * uniforms ((h + 0.5) / 2^32), or for a binary outcome one word
 * (y = 1 when (w >> 11) / 2^53 < p).  The main stream is consumed the same
 * way whatever `missing` is.  When missing > 0 the mask stream gives one word
 * per feature cell, x1..xN then c1..cM; a cell is NA when
 * (w >> 11) < floor(missing * 2^53).  So changing `missing` only masks
 * cells: every value that is still written is the same.
 */
#ifndef PT_SYNTH_H
#define PT_SYNTH_H

#include <stdint.h>

#include "pt.h"

#define PT_SYNTH_MAX_ARMS 16
#define PT_SYNTH_MAX_COLS 100000 /* numeric and categorical, each */
#define PT_SYNTH_MAX_NOISE 1e6

typedef struct pt_synth_opts {
	uint64_t rows;   /* data rows (default 10000) */
	int numeric;     /* numeric features x1..xN (default 10), N >= 2 */
	int categorical; /* categorical features c1..cM (default 0), levels "a".."e" */
	int arms;        /* 2..16 (default 3) */
	uint64_t seed;   /* default 1 */
	double missing;  /* share of feature cells written as NA (default 0) */
	int binary;      /* outcome 0/1 instead of real */
	int oracle;      /* add columns best,mu_<label>... (true policy and means) */
	double noise;    /* outcome noise sd for real outcomes (default 1.0) */
	int header;      /* write the header line (default 1) */
	int nonlinear;   /* add a shared outcome term no linear model fits */
} pt_synth_opts;

/* Fills *o with the defaults above. */
void pt_synth_defaults(pt_synth_opts *o);

/* Writes the header (if o->header) and o->rows rows to fd (not closed)
 * through a private buffer with write(2), retrying short writes and EINTR.
 * name (may be NULL) is used in error locations.  Returns 0, or -1 with *e
 * set: PT_EUSAGE for options out of range (numeric 2..PT_SYNTH_MAX_COLS,
 * categorical 0..PT_SYNTH_MAX_COLS, arms 2..16, missing in [0, 1], noise in
 * [0, PT_SYNTH_MAX_NOISE]), PT_ENOMEM, PT_EIO when a write fails.  After a
 * PT_EIO errno is still the one write(2) set, so a front end can end quietly
 * on EPIPE (it must ignore SIGPIPE to see it). */
int pt_synth_write(int fd, const char *name, const pt_synth_opts *o, pt_err *e);

/* The planted policy: the arm index (0-based) the oracle recommends for
 * numeric features x (x[0] = x1, x[1] = x2; only these two are read). */
int pt_synth_best(const pt_synth_opts *o, const double *x);

/* The expected outcome of arm a (for binary outcomes, the probability of
 * y = 1) for numeric features x (x[0] = x1 ..., o->numeric of them; x1..x3
 * are read) and categorical level indices cat (cat[0] = level of c1, 0..4
 * for a..e; may be NULL when o->categorical is 0).  Gives bit for bit the
 * value the generator uses for rows with these values. */
double pt_synth_mean(const pt_synth_opts *o, const double *x, const int *cat,
    int a);

/* Added: the label of arm a, "control" for 0 and "t1".."t15" after; NULL when
 * a is out of 0..PT_SYNTH_MAX_ARMS-1.  A constant string. */
const char *pt_synth_arm_label(int a);

#endif

/*
 * t-synth.c: the synthetic data generator.  The planted policy is checked
 * against a re-statement of the rule in synth.h written here, not against
 * pt_synth_best() alone, so a change to either shows up.
 */
#include "synth.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"

/* The generated text, split into lines and fields in place. */
typedef struct table {
	char *text;
	size_t len;
	size_t nrows;      /* data rows */
	size_t ncols;      /* header fields */
	char **hdr;
	char ***row;       /* row[i][j] */
	int ragged;        /* a row with another field count */
} table;

/* Writes with options o into a temp file and returns its bytes, or NULL. */
static char *
gen(const pt_synth_opts *o, size_t *lenp, pt_err *e)
{
	char path[] = "/tmp/t-synth.XXXXXX";
	int fd = mkstemp(path);
	char *buf = NULL;
	off_t end;

	if (fd < 0)
		return NULL;
	unlink(path);
	if (pt_synth_write(fd, "tmp", o, e) != 0)
		goto out;
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || lseek(fd, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)end + 1);
	if (buf == NULL)
		goto out;
	if (end > 0 && read(fd, buf, (size_t)end) != (ssize_t)end) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[end] = '\0';
	*lenp = (size_t)end;
out:
	close(fd);
	return buf;
}

static size_t
split(char *s, char sep, char **out, size_t max)
{
	size_t n = 0;

	for (;;) {
		char *q = strchr(s, sep);

		if (n < max)
			out[n] = s;
		n++;
		if (q == NULL)
			break;
		*q = '\0';
		s = q + 1;
	}
	return n;
}

/* Parses the output of a run with a header. */
static int
load(table *t, const pt_synth_opts *o)
{
	pt_err e;
	char *p, *nl;
	size_t i, cap;

	memset(t, 0, sizeof *t);
	pt_err_clear(&e);
	t->text = gen(o, &t->len, &e);
	if (t->text == NULL)
		return -1;
	if (t->len == 0 || t->text[t->len - 1] != '\n')
		return -1;
	cap = (size_t)o->numeric + (size_t)o->categorical + 4 +
	    (size_t)o->arms;
	t->row = calloc(o->rows + 1, sizeof *t->row);
	t->hdr = calloc(cap, sizeof *t->hdr);
	if (t->row == NULL || t->hdr == NULL)
		return -1;
	p = t->text;
	nl = strchr(p, '\n');
	*nl = '\0';
	t->ncols = split(p, ',', t->hdr, cap);
	if (t->ncols > cap)
		return -1;
	p = nl + 1;
	for (i = 0; *p != '\0'; i++) {
		if (i >= o->rows)
			return -1;
		nl = strchr(p, '\n');
		*nl = '\0';
		t->row[i] = calloc(t->ncols, sizeof **t->row);
		if (t->row[i] == NULL)
			return -1;
		if (split(p, ',', t->row[i], t->ncols) != t->ncols)
			t->ragged = 1;
		p = nl + 1;
	}
	t->nrows = i;
	return 0;
}

static void
unload(table *t)
{
	size_t i;

	if (t->row != NULL)
		for (i = 0; i < t->nrows; i++)
			free(t->row[i]);
	free(t->row);
	free(t->hdr);
	free(t->text);
}

static int
col(const table *t, const char *name)
{
	size_t j;

	for (j = 0; j < t->ncols; j++)
		if (strcmp(t->hdr[j], name) == 0)
			return (int)j;
	return -1;
}

static int
arm_index(const char *s)
{
	int a;

	for (a = 0; a < PT_SYNTH_MAX_ARMS; a++)
		if (strcmp(s, pt_synth_arm_label(a)) == 0)
			return a;
	return -1;
}

/* "0.dddddd" exactly. */
static int
is_frac6(const char *s)
{
	int i;

	if (s[0] != '0' || s[1] != '.')
		return 0;
	for (i = 2; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[8] == '\0';
}

/* A fixed-point number with exactly 6 decimals. */
static int
is_fixed6(const char *s)
{
	const char *dot;

	if (*s == '-')
		s++;
	dot = strchr(s, '.');
	if (dot == NULL || dot == s || strlen(dot + 1) != 6)
		return 0;
	for (; *s != '\0'; s++)
		if (s != dot && (*s < '0' || *s > '9'))
			return 0;
	return 1;
}

/* The documented region rule, restated. */
static int
region(double x1, double x2)
{
	if (x1 <= 0.5)
		return x2 > 0.3 ? 1 : 0;
	return x2 > 0.7 ? 3 : 2;
}

static void
test_defaults(void)
{
	pt_synth_opts o;

	pt_synth_defaults(&o);
	ok(o.rows == 10000 && o.numeric == 10 && o.categorical == 0 &&
	    o.arms == 3 && o.seed == 1 && o.missing == 0.0 && !o.binary &&
	    !o.oracle && o.noise == 1.0 && o.header == 1,
	    "defaults as documented");
	ok(strcmp(pt_synth_arm_label(0), "control") == 0 &&
	    strcmp(pt_synth_arm_label(1), "t1") == 0 &&
	    strcmp(pt_synth_arm_label(15), "t15") == 0 &&
	    pt_synth_arm_label(16) == NULL && pt_synth_arm_label(-1) == NULL,
	    "arm labels");
}

static void
test_determinism(void)
{
	pt_synth_opts o;
	pt_err e;
	size_t la = 0, lb = 0, lc = 0;
	char *a, *b, *c;

	pt_synth_defaults(&o);
	o.rows = 5000;
	o.categorical = 2;
	o.missing = 0.05;
	o.oracle = 1;
	a = gen(&o, &la, &e);
	b = gen(&o, &lb, &e);
	o.seed = 2;
	c = gen(&o, &lc, &e);
	ok(a != NULL && b != NULL && c != NULL, "three runs written");
	ok(a && b && la == lb && memcmp(a, b, la) == 0,
	    "same options give identical bytes (%zu)", la);
	ok(a && c && (la != lc || memcmp(a, c, la) != 0),
	    "another seed gives other bytes");
	free(a);
	free(b);
	free(c);
}

static void
test_layout(void)
{
	pt_synth_opts o;
	table t;
	size_t i, j;
	int good = 1, nbad = 0;
	char name[32];

	pt_synth_defaults(&o);
	o.rows = 2000;
	o.numeric = 4;
	o.categorical = 3;
	o.arms = 4;
	o.oracle = 1;
	if (load(&t, &o) != 0) {
		ok(0, "layout: generated and parsed");
		unload(&t);
		return;
	}
	ok(t.nrows == 2000 && !t.ragged, "layout: 2000 rows, %zu fields each",
	    t.ncols);
	ok(t.ncols == 4 + 3 + 2 + 1 + 4, "layout: header has 14 columns");
	for (j = 0; j < 4; j++) {
		snprintf(name, sizeof name, "x%zu", j + 1);
		good &= strcmp(t.hdr[j], name) == 0;
	}
	for (j = 0; j < 3; j++) {
		snprintf(name, sizeof name, "c%zu", j + 1);
		good &= strcmp(t.hdr[4 + j], name) == 0;
	}
	good &= strcmp(t.hdr[7], "arm") == 0 && strcmp(t.hdr[8], "y") == 0 &&
	    strcmp(t.hdr[9], "best") == 0 &&
	    strcmp(t.hdr[10], "mu_control") == 0 &&
	    strcmp(t.hdr[13], "mu_t3") == 0;
	ok(good, "layout: column names x1..x4,c1..c3,arm,y,best,mu_*");
	for (i = 0; i < t.nrows && !t.ragged; i++) {
		char **r = t.row[i];

		for (j = 0; j < 4; j++)
			nbad += !is_frac6(r[j]);
		for (j = 4; j < 7; j++)
			nbad += !(r[j][0] >= 'a' && r[j][0] <= 'e' &&
			    r[j][1] == '\0');
		nbad += !(arm_index(r[7]) >= 0 && arm_index(r[7]) < 4);
		nbad += !is_fixed6(r[8]);
		nbad += !(arm_index(r[9]) >= 0 && arm_index(r[9]) < 4);
		for (j = 10; j < 14; j++)
			nbad += !is_fixed6(r[j]);
	}
	ok(nbad == 0, "layout: every cell well formed (%d bad)", nbad);
	unload(&t);

	/* No header; zero rows. */
	{
		pt_err e;
		size_t n = 0;
		char *s;

		o.header = 0;
		o.rows = 3;
		s = gen(&o, &n, &e);
		ok(s != NULL && s[0] == '0' && strchr(s, 'x') == NULL &&
		    n > 0 && s[n - 1] == '\n',
		    "header off: data rows only");
		free(s);
		o.header = 1;
		o.rows = 0;
		s = gen(&o, &n, &e);
		ok(s != NULL && strncmp(s, "x1,", 3) == 0 &&
		    strchr(s, '\n') == s + n - 1, "zero rows: header only");
		free(s);
	}
}

static void
test_missing_and_arms(void)
{
	pt_synth_opts o;
	table t;
	size_t i, j, na = 0, cells = 0, badarm = 0, count[5] = { 0 };
	int armc, a;

	pt_synth_defaults(&o);
	o.rows = 20000;
	o.categorical = 2;
	o.arms = 5;
	o.missing = 0.1;
	if (load(&t, &o) != 0 || t.ragged || t.nrows != 20000) {
		ok(0, "missing: generated and parsed");
		unload(&t);
		return;
	}
	armc = col(&t, "arm");
	for (i = 0; i < t.nrows; i++) {
		for (j = 0; j < 12; j++) {
			cells++;
			na += strcmp(t.row[i][j], "NA") == 0;
		}
		a = arm_index(t.row[i][armc]);
		if (a >= 0 && a < 5)
			count[a]++;
		else
			badarm++;
	}
	ok(badarm == 0, "arm column never NA, always one of 5 labels");
	ok(fabs((double)na / cells - 0.1) < 0.005,
	    "missing share %.4f near 0.1 over %zu feature cells",
	    (double)na / cells, cells);
	for (j = 0; j < 5; j++)
		ok(fabs((double)count[j] / t.nrows - 0.2) < 0.015,
		    "arm %s share %.4f near 1/5", pt_synth_arm_label((int)j),
		    (double)count[j] / t.nrows);
	unload(&t);
}

/* Masking only hides cells: every value still written equals the unmasked
 * run's, and outcomes (noise 0: y equals the arm's mean) use true values. */
static void
test_mask_keeps_values(void)
{
	pt_synth_opts o;
	table full, masked;
	size_t i, j, differ = 0, na = 0, ybad = 0;
	int yc, armc, mu0;

	pt_synth_defaults(&o);
	o.rows = 3000;
	o.categorical = 2;
	o.oracle = 1;
	o.noise = 0.0;
	if (load(&full, &o) != 0) {
		ok(0, "mask: unmasked run");
		unload(&full);
		return;
	}
	o.missing = 0.3;
	if (load(&masked, &o) != 0 || masked.nrows != full.nrows) {
		ok(0, "mask: masked run");
		unload(&full);
		unload(&masked);
		return;
	}
	yc = col(&masked, "y");
	armc = col(&masked, "arm");
	mu0 = col(&masked, "mu_control");
	for (i = 0; i < full.nrows; i++) {
		for (j = 0; j < full.ncols; j++) {
			if (strcmp(masked.row[i][j], "NA") == 0) {
				na++;
				continue;
			}
			differ += strcmp(masked.row[i][j], full.row[i][j]) != 0;
		}
		ybad += strcmp(masked.row[i][yc],
		    masked.row[i][mu0 + arm_index(masked.row[i][armc])]) != 0;
	}
	ok(na > 0 && differ == 0,
	    "masking hides %zu cells and changes no other cell", na);
	ok(ybad == 0, "noise 0: y is the arm's mean from the true values");
	unload(&full);
	unload(&masked);
}

/* Per region of the planted tree, the planted best arm has the highest
 * sample mean outcome, by margin or more. */
static void
test_planted(int arms, int binary, uint64_t rows, double margin)
{
	pt_synth_opts o;
	table t;
	double sum[4][PT_SYNTH_MAX_ARMS] = { { 0 } };
	size_t n[4][PT_SYNTH_MAX_ARMS] = { { 0 } };
	size_t i, nonbin = 0;
	int r, a, armc, yc, wins = 0;
	double worst = 1e9;

	pt_synth_defaults(&o);
	o.rows = rows;
	o.arms = arms;
	o.binary = binary;
	o.categorical = 1;
	if (load(&t, &o) != 0 || t.ragged || t.nrows != rows) {
		ok(0, "planted: generated and parsed");
		unload(&t);
		return;
	}
	armc = col(&t, "arm");
	yc = col(&t, "y");
	for (i = 0; i < t.nrows; i++) {
		char **row = t.row[i];
		double y = strtod(row[yc], NULL);

		r = region(strtod(row[0], NULL), strtod(row[1], NULL));
		a = arm_index(row[armc]);
		if (binary && strcmp(row[yc], "0") != 0 &&
		    strcmp(row[yc], "1") != 0)
			nonbin++;
		sum[r][a] += y;
		n[r][a]++;
	}
	if (binary)
		ok(nonbin == 0, "binary outcomes are 0 or 1");
	for (r = 0; r < 4; r++) {
		int best = (r + 1) % arms, ok_r = 1;
		double mb, gap = 1e9;

		if (n[r][best] == 0)
			continue;
		mb = sum[r][best] / n[r][best];
		for (a = 0; a < arms; a++) {
			if (a == best)
				continue;
			if (n[r][a] == 0) {
				ok_r = 0;
				continue;
			}
			if (mb - sum[r][a] / n[r][a] < gap)
				gap = mb - sum[r][a] / n[r][a];
		}
		if (ok_r && gap >= margin)
			wins++;
		if (gap < worst)
			worst = gap;
	}
	ok(wins == 4,
	    "%d arms, %s: planted best arm wins all 4 regions by >= %.2f "
	    "(%d won, smallest gap %.3f)", arms, binary ? "binary" : "real",
	    margin, wins, worst);
	unload(&t);
}

static void
test_oracle(int binary)
{
	pt_synth_opts o;
	table t;
	size_t i, bad_best = 0, bad_mu = 0, bad_rule = 0, bad_gap = 0;
	int a, bestc, mu0;

	pt_synth_defaults(&o);
	o.rows = 5000;
	o.numeric = 5;
	o.categorical = 2;
	o.arms = 4;
	o.oracle = 1;
	o.binary = binary;
	o.seed = 77;
	if (load(&t, &o) != 0 || t.ragged) {
		ok(0, "oracle: generated and parsed");
		unload(&t);
		return;
	}
	bestc = col(&t, "best");
	mu0 = col(&t, "mu_control");
	for (i = 0; i < t.nrows; i++) {
		char **row = t.row[i];
		double x[5], hi = -1e9, second = -1e9;
		int cat[2], j, b, bcol;

		for (j = 0; j < 5; j++)
			x[j] = strtod(row[j], NULL);
		for (j = 0; j < 2; j++)
			cat[j] = row[5 + j][0] - 'a';
		b = pt_synth_best(&o, x);
		bcol = arm_index(row[bestc]);
		bad_best += bcol != b;
		bad_rule += b != (region(x[0], x[1]) + 1) % 4;
		for (a = 0; a < 4; a++) {
			double m = pt_synth_mean(&o, x, cat, a);
			double w = strtod(row[mu0 + a], NULL);

			bad_mu += !(fabs(m - w) <= 5.000001e-7);
			if (binary)
				bad_mu += !(m > 0.0 && m < 1.0);
			if (a == b)
				hi = m;
			else if (m > second)
				second = m;
		}
		bad_gap += hi - second < (binary ? 0.45 : 0.75);
	}
	ok(bad_best == 0, "oracle %s: best column is pt_synth_best (%zu off)",
	    binary ? "binary" : "real", bad_best);
	ok(bad_rule == 0, "oracle %s: pt_synth_best follows the documented "
	    "tree (%zu off)", binary ? "binary" : "real", bad_rule);
	ok(bad_mu == 0, "oracle %s: mu columns are pt_synth_mean to 6 "
	    "decimals (%zu off)", binary ? "binary" : "real", bad_mu);
	ok(bad_gap == 0, "oracle %s: best arm's mean beats the rest by the "
	    "documented margin (%zu short)", binary ? "binary" : "real",
	    bad_gap);
	unload(&t);
}

/* Features matter to the outcome but not to the policy: the sample mean of
 * y rises with x3. */
static void
test_baseline(void)
{
	pt_synth_opts o;
	table t;
	double lo = 0, hi = 0;
	size_t nlo = 0, nhi = 0, i;
	int yc;

	pt_synth_defaults(&o);
	o.rows = 10000;
	if (load(&t, &o) != 0 || t.ragged) {
		ok(0, "baseline: generated and parsed");
		unload(&t);
		return;
	}
	yc = col(&t, "y");
	for (i = 0; i < t.nrows; i++) {
		double y = strtod(t.row[i][yc], NULL);

		if (strtod(t.row[i][2], NULL) < 0.5) {
			lo += y;
			nlo++;
		} else {
			hi += y;
			nhi++;
		}
	}
	/* Expected gap: 2 * (0.75 - 0.25) = 1.0. */
	ok(nlo > 0 && nhi > 0 && fabs(hi / nhi - lo / nlo - 1.0) < 0.15,
	    "outcome rises with x3 (gap %.3f, expected 1.0)",
	    nlo && nhi ? hi / nhi - lo / nlo : 0.0);
	unload(&t);
}

static void
test_errors(void)
{
	pt_synth_opts o;
	pt_err e;
	int fd, p[2];

	fd = open("/dev/null", O_WRONLY);
	pt_synth_defaults(&o);
	o.arms = 1;
	pt_err_clear(&e);
	ok(pt_synth_write(fd, "x", &o, &e) == -1 && e.code == PT_EUSAGE,
	    "arms 1 refused: %s", e.msg);
	pt_synth_defaults(&o);
	o.arms = 17;
	ok(pt_synth_write(fd, "x", &o, &e) == -1 && e.code == PT_EUSAGE,
	    "arms 17 refused");
	pt_synth_defaults(&o);
	o.numeric = 1;
	ok(pt_synth_write(fd, "x", &o, &e) == -1 && e.code == PT_EUSAGE,
	    "1 numeric feature refused");
	pt_synth_defaults(&o);
	o.missing = 1.5;
	ok(pt_synth_write(fd, "x", &o, &e) == -1 && e.code == PT_EUSAGE,
	    "missing 1.5 refused");
	o.missing = NAN;
	ok(pt_synth_write(fd, "x", &o, &e) == -1 && e.code == PT_EUSAGE,
	    "missing NaN refused");
	pt_synth_defaults(&o);
	o.noise = -1;
	ok(pt_synth_write(fd, "x", &o, &e) == -1 && e.code == PT_EUSAGE,
	    "negative noise refused");
	close(fd);

	pt_synth_defaults(&o);
	pt_err_clear(&e);
	ok(pt_synth_write(-1, "bad", &o, &e) == -1 && e.code == PT_EIO &&
	    strcmp(e.where, "bad") == 0, "bad fd: PT_EIO (%s)", e.msg);

	/* A reader that went away: EPIPE, reported as PT_EIO. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) == 0) {
		int rc;

		close(p[0]);
		pt_err_clear(&e);
		rc = pt_synth_write(p[1], "pipe", &o, &e);
		ok(rc == -1 && e.code == PT_EIO && errno == EPIPE,
		    "closed pipe: PT_EIO with errno EPIPE (%s)", e.msg);
		close(p[1]);
	} else
		ok(0, "pipe");
}

static void
test_speed(void)
{
	pt_synth_opts o;
	pt_err e;
	struct timespec t0, t1;
	double s;
	int fd;

	if (getenv("PT_SANITIZE") != NULL) {
		diag("speed: skipped under PT_SANITIZE");
		return;
	}
	fd = open("/dev/null", O_WRONLY);
	pt_synth_defaults(&o);
	o.rows = 1000000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok(pt_synth_write(fd, "/dev/null", &o, &e) == 0,
	    "1,000,000 rows to /dev/null");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	diag("synth: 1000000 rows (12 columns) in %.3f s: %.2f M rows/s", s,
	    s > 0 ? 1.0 / s : 0.0);
}

int
main(void)
{
	test_defaults();
	test_determinism();
	test_layout();
	test_missing_and_arms();
	test_mask_keeps_values();
	test_planted(3, 0, 20000, 0.5);
	test_planted(6, 0, 40000, 0.5);
	test_planted(3, 1, 20000, 0.3);
	test_oracle(0);
	test_oracle(1);
	test_baseline();
	test_errors();
	test_speed();
	return done_testing();
}

/*
 * t-forest.c: forest models.  Scores from both backends are checked, bit
 * for bit, against an independent recursive traversal written here, on
 * generated complete forests and on random irregular trees (category
 * tests, missing values both ways); the YAML round trip is exact; broken
 * forests are refused.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forest.h"
#include "xsum.h"
#include "../tap.h"

static uint64_t st = 12345;

static uint64_t
rn(void)
{
	st += UINT64_C(0x9e3779b97f4a7c15);
	return pt_splitmix64(st);
}

/* The independent reference: recursion over the arrays as documented. */
static int
leaf_of(const pt_tree *t, int n, const double *x)
{
	double v;

	if (t->feature[n] < 0)
		return n;
	v = x[t->feature[n]];
	if (v != v)
		return leaf_of(t, t->missing_left[n] ? t->left[n] : t->right[n], x);
	if (t->category && t->category[n])
		return leaf_of(t, v == t->threshold[n] ? t->left[n] :
		    t->right[n], x);
	return leaf_of(t, v <= t->threshold[n] ? t->left[n] : t->right[n], x);
}

static void
ref_score(const pt_forest *f, const double *x, double *out)
{
	int k, a, l;

	for (a = 0; a < f->nvocab; a++)
		out[a] = 0;
	for (k = 0; k < f->ntrees; k++) {
		l = leaf_of(&f->trees[k], 0, x);
		for (a = 0; a < f->nvocab; a++)
			out[a] = out[a] + f->trees[k].value[l * f->nvocab + a];
	}
	for (a = 0; a < f->nvocab; a++)
		out[a] = out[a] / f->ntrees;
}

/* Rows with values on a coarse grid (so thresholds and category codes are
 * hit exactly) and a share of NaN. */
static double **
make_rows(int F, size_t n, double miss)
{
	double **c = malloc(F * sizeof *c);
	int j;
	size_t i;

	for (j = 0; j < F; j++) {
		c[j] = malloc(n * sizeof **c);
		for (i = 0; i < n; i++) {
			if ((double)(rn() >> 11) / 9007199254740992.0 < miss)
				c[j][i] = NAN;
			else if (rn() & 1)
				c[j][i] = (double)(rn() % 8);
			else
				c[j][i] = (double)(rn() >> 11) /
				    9007199254740992.0 * 8;
		}
	}
	return c;
}

static int
check_forest(pt_forest *f, double **cols, size_t n, const char *what)
{
	double **out = calloc(f->nvocab, sizeof *out);
	double *x = malloc(f->nfeatures * sizeof *x);
	double r1[64], r2[64];
	size_t i;
	int a, j, bad = 0;

	for (a = 0; a < f->nvocab; a++)
		out[a] = malloc(n * sizeof **out);
	double **out2 = calloc((size_t)f->nvocab & 0xffff, sizeof *out2);
	double **out3 = calloc((size_t)f->nvocab & 0xffff, sizeof *out3);

	for (a = 0; a < f->nvocab; a++) {
		out2[a] = malloc(n * sizeof **out2);
		out3[a] = malloc(n * sizeof **out3);
	}
	/* The SIMD kernels and the portable ones: the same bits. */
	pt_forest_simd(0);
	pt_forest_score_block(f, (const double *const *)cols, n, out2);
	pt_forest_simd(1);
	pt_forest_score_block(f, (const double *const *)cols, n, out3);
	pt_forest_simd(2);
	pt_forest_score_block(f, (const double *const *)cols, n, out);
	for (i = 0; i < n; i++) {
		for (j = 0; j < f->nfeatures; j++)
			x[j] = cols[j][i];
		ref_score(f, x, r1);
		pt_forest_score_row(f, x, r2);
		for (a = 0; a < f->nvocab; a++)
			if (memcmp(&r1[a], &r2[a], 8) ||
			    memcmp(&r1[a], &out[a][i], 8) ||
			    memcmp(&r1[a], &out2[a][i], 8) ||
			    memcmp(&r1[a], &out3[a][i], 8))
				bad++;
	}
	ok(bad == 0, "%s: row, vector (byte codes, SIMD levels, portable) and "
	    "reference agree bit for bit (%zu rows, %d mismatches)", what, n,
	    bad);
	for (a = 0; a < f->nvocab; a++) {
		free(out[a]);
		free(out2[a]);
		free(out3[a]);
	}
	free(out);
	free(out2);
	free(out3);
	free(x);
	return bad;
}

/* A random irregular tree of at most maxn nodes, node order shuffled so
 * that children may come before parents. */
static void
random_tree(pt_tree *t, int F, int A, int maxn, int withcat)
{
	int n = 1, i, a, k, *perm, *inv;
	int32_t *feat, *lf, *rt;
	int frontier[4096], nf = 1;

	/* Grow: pick a random frontier leaf and split it. */
	feat = malloc(maxn * sizeof *feat);
	lf = malloc(maxn * sizeof *lf);
	rt = malloc(maxn * sizeof *rt);
	feat[0] = -1; lf[0] = rt[0] = -1;
	frontier[0] = 0;
	while (n + 2 <= maxn && nf > 0 && rn() % 8) {
		k = (int)(rn() % (uint64_t)nf);
		i = frontier[k];
		frontier[k] = frontier[--nf];
		feat[i] = (int32_t)(rn() % (uint64_t)F);
		lf[i] = n; rt[i] = n + 1;
		feat[n] = feat[n + 1] = -1;
		lf[n] = rt[n] = lf[n + 1] = rt[n + 1] = -1;
		frontier[nf++] = n; frontier[nf++] = n + 1;
		n += 2;
	}
	perm = malloc(n * sizeof *perm);
	inv = malloc(n * sizeof *inv);
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 1; i--) { /* keep the root at 0 */
		k = 1 + (int)(rn() % (uint64_t)i);
		a = perm[i]; perm[i] = perm[k]; perm[k] = a;
	}
	for (i = 0; i < n; i++)
		inv[perm[i]] = i; /* old node perm[i] sits at i */
	memset(t, 0, sizeof *t);
	t->nnodes = n;
	t->feature = malloc(n * sizeof *t->feature);
	t->threshold = malloc(n * sizeof *t->threshold);
	t->missing_left = malloc(n);
	t->category = withcat ? malloc(n) : NULL;
	t->left = malloc(n * sizeof *t->left);
	t->right = malloc(n * sizeof *t->right);
	t->value = malloc((size_t)n * A * sizeof *t->value);
	for (i = 0; i < n; i++) {
		int o = perm[i];

		t->feature[i] = feat[o];
		t->left[i] = lf[o] < 0 ? -1 : inv[lf[o]];
		t->right[i] = rt[o] < 0 ? -1 : inv[rt[o]];
		t->missing_left[i] = feat[o] < 0 ? 0 : (uint8_t)(rn() & 1);
		if (withcat)
			t->category[i] = feat[o] < 0 ? 0 : (rn() % 3 == 0);
		t->threshold[i] = feat[o] < 0 ? 0 : (double)(rn() % 8) +
		    (rn() & 1 ? 0 : 0.5);
		for (a = 0; a < A; a++)
			t->value[(size_t)i * A + a] = (double)(rn() >> 11) /
			    9007199254740992.0 - 0.3;
	}
	free(feat); free(lf); free(rt); free(perm); free(inv);
}

static pt_forest *
random_forest(int ntrees, int F, int A, int withcat)
{
	pt_forest *f = pt_forest_generate(1, 0, F, A, 1, NULL);
	int k;

	free(f->trees[0].feature); free(f->trees[0].threshold);
	free(f->trees[0].missing_left); free(f->trees[0].left);
	free(f->trees[0].right); free(f->trees[0].value);
	free(f->trees);
	f->trees = calloc(ntrees, sizeof *f->trees);
	f->ntrees = ntrees;
	for (k = 0; k < ntrees; k++)
		random_tree(&f->trees[k], F, A, 2 + (int)(rn() % 300), withcat);
	return f;
}

/* Parses s with a digest line appended (so that the reader's other checks
 * are reached). */
static pt_forest *
parse_str(const char *s, pt_err *e)
{
	size_t n = strlen(s);
	char *buf = malloc(n + 64), hex[33];
	pt_forest *f;

	memcpy(buf, s, n);
	pt_h128_hex(pt_hash128(s, n, 0), hex);
	n += (size_t)sprintf(buf + n, "digest: %s\n", hex);
	f = pt_forest_parse(buf, n, "bad.yaml", e);
	free(buf);
	return f;
}

/* The byte-code walk on its edges: values equal to thresholds, one ulp
 * either side, -0 and +0, infinities and NaN; thresholds that are floats
 * (the float coding) and ones that are not (the double coding); 64
 * features; four actions (the depth-7 phase walk) and three; a feature
 * with more distinct thresholds than the codes hold (the forest falls
 * back to the level walk).  Every kernel must match the reference. */
static void
check_codes_edges(void)
{
	static const int shapes[][4] = {
		/* trees, depth, features, arms */
		{ 12, 7, 64, 4 }, { 9, 7, 40, 3 }, { 5, 6, 17, 4 },
		{ 8, 7, 3, 4 },
	};
	int k, j, q, i;

	for (k = 0; k < 4; k++) {
		int T = shapes[k][0], D = shapes[k][1], F = shapes[k][2];
		int A = shapes[k][3];
		pt_forest *f = pt_forest_generate(T, D, F, A, 100 + k, NULL);
		size_t n = 3001, r;
		double **cols, th[4096];
		int nth = 0;
		char what[120];

		/* Features with an odd index get thresholds that are not
		 * floats; shape 3 has 3 features over 8 x 127 nodes, more
		 * distinct thresholds than 253. */
		for (q = 0; q < T; q++) {
			pt_tree *t = &f->trees[q];

			for (i = 0; i < t->nnodes; i++) {
				if (t->feature[i] < 0)
					continue;
				if (k == 3)
					t->threshold[i] = (double)(rn() % 100000) /
					    1000.0 - 50;
				else if (t->feature[i] & 1)
					t->threshold[i] += 1.0 / 3 / 1024;
				if (rn() % 16 == 0)
					t->threshold[i] = (rn() & 1) ? -0.0 : 0.0;
				if (nth < 4096)
					th[nth++] = t->threshold[i];
			}
		}
		ok(pt_forest_compile(f, NULL) == 0, "edges %d compile", k);
		if (k == 3)
			ok(!pt_forest_uses_codes(f), "edges 3: too many "
			    "thresholds for byte codes: the level walk");
		else
			diag("edges %d: byte-code walk %s", k,
			    pt_forest_uses_codes(f) ? "used" : "not available "
			    "on this CPU");
		cols = malloc(F * sizeof *cols);
		for (j = 0; j < F; j++) {
			cols[j] = malloc(n * sizeof **cols);
			for (r = 0; r < n; r++) {
				double v = th[rn() % (uint64_t)nth];

				switch (rn() % 10) {
				case 0: v = nextafter(v, INFINITY); break;
				case 1: v = nextafter(v, -INFINITY); break;
				case 2: v = NAN; break;
				case 3: v = (rn() & 1) ? INFINITY : -INFINITY; break;
				case 4: v = (rn() & 1) ? -0.0 : 0.0; break;
				case 5: v = (double)(rn() >> 11) /
				    9007199254740992.0; break;
				default: break;
				}
				cols[j][r] = v;
			}
		}
		snprintf(what, sizeof what, "edges %d: %d trees of depth %d, %d "
		    "features, %d arms", k, T, D, F, A);
		check_forest(f, cols, n, what);
		for (j = 0; j < F; j++)
			free(cols[j]);
		free(cols);
		pt_forest_free(f);
	}
}

int
main(void)
{
	int san = getenv("PT_SANITIZE") != NULL;
	size_t n = san ? 3000 : 20000;
	pt_forest *f, *g;
	double **cols;
	char *txt = NULL, *txt2 = NULL;
	size_t len, len2;
	pt_err e;
	int j, rep;

	check_codes_edges();

	/* Generated complete forests, 10% missing. */
	f = pt_forest_generate(50, 7, 32, 4, 42, &e);
	ok(f != NULL, "generate 50 trees of depth 7");
	cols = make_rows(32, n, 0.10);
	check_forest(f, cols, n, "generated 50x7, 32 features, 4 arms");
	ok(pt_forest_write(f, &txt, &len, &e) == 0, "write");
	g = pt_forest_parse(txt, len, "gen.yaml", &e);
	ok(g != NULL, "parse back: %s", g ? "" : e.msg);
	ok(g && pt_forest_write(g, &txt2, &len2, &e) == 0 && len == len2 &&
	    memcmp(txt, txt2, len) == 0, "round trip is byte-identical");
	if (g)
		check_forest(g, cols, n, "parsed back");
	free(txt2);
	pt_forest_free(g);
	g = pt_forest_generate(50, 7, 32, 4, 42, &e);
	ok(pt_forest_write(g, &txt2, &len2, &e) == 0 && len == len2 &&
	    memcmp(txt, txt2, len) == 0, "the generator is deterministic");
	free(txt);
	free(txt2);
	pt_forest_free(g);
	pt_forest_free(f);
	for (j = 0; j < 32; j++)
		free(cols[j]);
	free(cols);

	/* Complete forests of every depth the SIMD walk treats apart, and
	 * row counts that are not a multiple of the block or of 8. */
	for (rep = 0; rep <= 9; rep++) {
		char what[80];
		size_t m = 1 + rn() % 3000;

		f = pt_forest_generate(3, rep, 5, 1 + rep % 5, rep, &e);
		cols = make_rows(5, m, 0.2);
		for (j = 0; j < 5; j++)
			for (size_t i = 0; i < m; i++)
				if (cols[j][i] == cols[j][i])
					cols[j][i] /= 8; /* into [0, 1) */
		snprintf(what, sizeof what, "complete depth %d, %zu rows", rep,
		    m);
		check_forest(f, cols, m, what);
		pt_forest_free(f);
		for (j = 0; j < 5; j++)
			free(cols[j]);
		free(cols);
	}

	/* Depth 7 and four actions beside a shallower tree: the node-major
	 * walk takes only forests all of depth 7, so this one goes by the
	 * row-major walks (four trees of depth 7, then the rest). */
	f = pt_forest_generate(5, 7, 8, 4, 77, &e);
	g = pt_forest_generate(1, 3, 8, 4, 78, &e);
	ok(f && g, "mixed depths: generated");
	if (f && g) {
		pt_tree *nt = realloc(f->trees, 6 * sizeof *nt);

		if (nt != NULL) {
			f->trees = nt;
			f->trees[5] = g->trees[0];
			f->ntrees = 6;
			g->ntrees = 0;
		}
		ok(nt != NULL && pt_forest_compile(f, &e) == 0,
		    "mixed depths: compile");
		if (!pt_forest_uses_codes(f))
			diag("mixed depths: byte-code walk not available "
			    "here");
		cols = make_rows(8, 1000 + rn() % 300, 0.1);
		check_forest(f, cols, 1000, "depths 7 and 3, 4 arms, 1000 rows");
		for (j = 0; j < 8; j++)
			free(cols[j]);
		free(cols);
	}
	pt_forest_free(f);
	pt_forest_free(g);

	/* Irregular trees, shuffled node order, category tests. */
	for (rep = 0; rep < 6; rep++) {
		int F = 1 + (int)(rn() % 12), A = 1 + (int)(rn() % 6);
		char what[80];

		f = random_forest(1 + (int)(rn() % 20), F, A, rep & 1);
		ok(pt_forest_compile(f, &e) == 0, "compile random forest %d",
		    rep);
		cols = make_rows(F, n / 4, rep < 3 ? 0.1 : 0.5);
		snprintf(what, sizeof what, "random forest %d (%d trees, %s)",
		    rep, f->ntrees, rep & 1 ? "category tests" : "thresholds");
		check_forest(f, cols, n / 4, what);
		ok(pt_forest_write(f, &txt, &len, &e) == 0 &&
		    (g = pt_forest_parse(txt, len, "r.yaml", &e)) != NULL,
		    "random forest %d parses back", rep);
		if (g)
			check_forest(g, cols, n / 4, "parsed random forest");
		free(txt);
		pt_forest_free(g);
		pt_forest_free(f);
		for (j = 0; j < F; j++)
			free(cols[j]);
		free(cols);
	}

	/* Bad forests. */
#define HEAD "format: policy-forest\nversion: 1\nmanifest: none\n" \
	"features: [a, b]\nvocab: [c, t]\ntrees:\n"
	f = parse_str(HEAD "  - feature: [5, -1, -1]\n    threshold: [0, 0, 0]\n"
	    "    missing_left: [0, 0, 0]\n    left: [1, -1, -1]\n"
	    "    right: [2, -1, -1]\n    value: [[], [1, 2], [3, 4]]\n", &e);
	ok(f == NULL && strstr(e.msg, "feature index 5 out of range"),
	    "feature out of range refused: %s", e.msg);
	f = parse_str(HEAD "  - feature: [0, 1, -1]\n    threshold: [0, 0, 0]\n"
	    "    missing_left: [0, 0, 0]\n    left: [1, 1, -1]\n"
	    "    right: [2, 2, -1]\n    value: [[], [], [3, 4]]\n", &e);
	ok(f == NULL && strstr(e.msg, "twice"), "cycle refused: %s", e.msg);
	f = parse_str(HEAD "  - feature: [0, 1, -1]\n    threshold: [0, 0, 0]\n"
	    "    missing_left: [0, 0, 0]\n    left: [2, 0, -1]\n"
	    "    right: [1, 2, -1]\n    value: [[], [], [3, 4]]\n", &e);
	ok(f == NULL && (strstr(e.msg, "twice") || strstr(e.msg, "cycle")),
	    "cycle back to the root refused: %s", e.msg);
	f = parse_str(HEAD "  - feature: [-1, -1]\n    threshold: [0, 0]\n"
	    "    missing_left: [0, 0]\n    left: [-1, -1]\n"
	    "    right: [-1, -1]\n    value: [[1, 2], [3, 4]]\n", &e);
	ok(f == NULL && strstr(e.msg, "not reached"), "orphan refused: %s",
	    e.msg);
	f = parse_str(HEAD "  - feature: [0, -1, -1]\n    threshold: [0, 0, 0]\n"
	    "    missing_left: [0, 0, 0]\n    left: [1, -1, -1]\n"
	    "    right: [2, -1, -1]\n    value: [[], [1, 2], [3]]\n", &e);
	ok(f == NULL && strstr(e.msg, "expected 2"), "short leaf vector "
	    "refused: %s", e.msg);
	f = parse_str(HEAD "  - feature: [0, -1, -1]\n    threshold: [0, 0, 0]\n"
	    "    missing_left: [0, 0, 0]\n    left: [1, -1, -1]\n"
	    "    right: [2, -1, -1]\n    value: [[], [1, 2], [3", &e);
	ok(f == NULL && e.code == PT_EFORMAT, "truncated YAML refused: %s",
	    e.msg);
	f = parse_str("format: policy-forest\nversion: 1\nmanifest: none\n"
	    "features: [a, b]\nvocab: [c, t]\n", &e);
	ok(f == NULL && strstr(e.msg, "trees"), "forest without trees "
	    "refused: %s", e.msg);
	f = parse_str("format: policy-forest\nversion: 2\nmanifest: none\n"
	    "features: [a]\nvocab: [c]\ntrees: []\n", &e);
	ok(f == NULL && e.code == PT_EMISMATCH, "version 2 refused: %s", e.msg);
	{
		pt_forest *g0 = pt_forest_generate(2, 2, 3, 2, 7, &e);
		char *t0 = NULL, *t1;
		size_t l0 = 0;
		if (g0 != NULL)
			pt_forest_write(g0, &t0, &l0, &e);
		t1 = t0 ? malloc(l0 + 1) : NULL;
		if (t1 != NULL) {
			memcpy(t1, t0, l0);
			/* One byte changed: the digest no longer matches. */
			*strstr(t1, "threshold: [0.") = 'T';
		}
		ok(t0 && pt_forest_parse(t0, l0 - 42, "cut.yaml", &e) == NULL &&
		    strstr(e.msg, "no final digest line"),
		    "a forest without its digest line refused: %s", e.msg);
		ok(t1 && pt_forest_parse(t1, l0, "ed.yaml", &e) == NULL &&
		    e.code == PT_ECORRUPT, "an edited forest refused: %s", e.msg);
		free(t0);
		free(t1);
		pt_forest_free(g0);
	}
	f = parse_str(HEAD "  - feature: [0, -1, -1]\n    threshold: [nan, 0, 0]\n"
	    "    missing_left: [0, 0, 0]\n    left: [1, -1, -1]\n"
	    "    right: [2, -1, -1]\n    value: [[], [1, 2], [3, 4]]\n", &e);
	ok(f == NULL && strstr(e.msg, "not a finite number"),
	    "NaN threshold refused: %s",
	    e.msg);
	f = parse_str(HEAD "  - feature: [1, -1, -1]\n    threshold: [0.25, 0, 0]\n"
	    "    missing_left: [1, 0, 0]\n    left: [1, -1, -1]\n"
	    "    right: [2, -1, -1]\n    value: [[], [0.1, 0.2], [0.3, 0.05]]\n"
	    "    action: [~, c, t]\n", &e);
	ok(f != NULL, "the man page example (with extra keys) parses");
	if (f) {
		double x[2] = { 9, NAN }, o[2];

		pt_forest_score_row(f, x, o);
		ok(o[0] == 0.1 && o[1] == 0.2, "missing goes left there");
		x[1] = 0.5;
		pt_forest_score_row(f, x, o);
		ok(o[0] == 0.3 && o[1] == 0.05, "0.5 > 0.25 goes right");
		x[1] = 0.25;
		pt_forest_score_row(f, x, o);
		ok(o[0] == 0.1, "x == t goes left");
	}
	pt_forest_free(f);
	return done_testing();
}

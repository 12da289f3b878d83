/*
 * t-tree-forest.c: forests grown by policy-split (pt_search_forest_tree,
 * pt_ptree_write_forest):
 *   - one tree on every row and feature equals the tree the level-wise
 *     greedy search grows from partials (same nodes, leaf values);
 *   - the forest file parses with the forest loader (lib/forest.h), and a
 *     row's score is the mean, in tree order, of the value vectors of the
 *     leaves the trees route it to;
 *   - the trees do not depend on row order (subsamples by row hash) and
 *     differ between trees (subsamples and per-node feature subsets);
 *   - a bad subsample is refused;
 *   - grown level by level over two partitions (lib/pforest.h: forest
 *     partials merged, a forest state between levels), the forest is the
 *     one pt_search_forest_tree grows with the rows in memory, byte for
 *     byte (the reference for policy-split fit --trees and hist --trees).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forest.h"
#include "hist.h"
#include "pforest.h"
#include "search.h"
#include "tree.h"
#include "../tap.h"

#define TEST_RNG_SEED 7
#include "testrng.h"
#include "testgrow.h"

enum { N = 600, F = 4, A = 3, B = 7 };

typedef struct prob {
	pt_manifest *m;
	pt_schema *s;
	pt_batch *b;
} prob;

/* Rows with a planted best arm (x1, x2) and missing values; perm gives the
 * order the rows are stored in. */
static void
prob_make(prob *p, const int *perm)
{
	static double x[N][F], g[N][A];
	static uint64_t row[N];
	static int made;
	char name[32];
	int f, a, i;

	if (!made) {
		for (i = 0; i < N; i++) {
			row[i] = rn();
			for (f = 0; f < F; f++)
				x[i][f] = unif() < 0.1 ? NAN :
				    floor(unif() * 64) / 64;
			for (a = 0; a < A; a++)
				g[i][a] = unif() + (a == (x[i][0] > 0.5) +
				    (x[i][1] > 0.3) ? 1.0 : 0.0);
		}
		made = 1;
	}
	p->m = pt_manifest_new();
	p->m->nfeatures = F;
	p->m->features = calloc(F, sizeof *p->m->features);
	for (f = 0; f < F; f++) {
		pt_feature *pf = &p->m->features[f];
		snprintf(name, sizeof name, "x%d", f + 1);
		pf->name = pt_strdup(name);
		pf->level = -1;
		pf->nbounds = B;
		pf->bounds = calloc(B, sizeof *pf->bounds);
		pf->counts = calloc(B + 2, sizeof *pf->counts);
		for (i = 0; i < B; i++)
			pf->bounds[i] = (i + 1) / 8.0;
	}
	p->m->nvocab = A;
	p->m->vocab = calloc(A, sizeof *p->m->vocab);
	for (a = 0; a < A; a++) {
		snprintf(name, sizeof name, "a%d", a);
		p->m->vocab[a] = pt_strdup(name);
	}
	p->m->nrewards = A;
	memcpy(p->m->digest, "0123456789abcdef0123456789abcdef", 33);
	p->s = pt_schema_new(p->m->digest);
	pt_schema_add(p->s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, NULL);
	for (f = 0; f < F; f++)
		pt_schema_add(p->s, p->m->features[f].name, PT_F64,
		    PT_ROLE_FEATURE, 0, NULL, NULL);
	for (a = 0; a < A; a++)
		pt_schema_add(p->s, p->m->vocab[a], PT_F64, PT_ROLE_REWARD, 0,
		    NULL, NULL);
	p->b = pt_batch_new(p->s, N);
	p->b->nrows = N;
	for (i = 0; i < N; i++) {
		int j = perm[i];
		PT_COL_U64(p->b, 0)[i] = row[j];
		for (f = 0; f < F; f++)
			PT_COL_F64(p->b, 1 + f)[i] = x[j][f];
		for (a = 0; a < A; a++)
			PT_COL_F64(p->b, 1 + F + a)[i] = g[j][a];
	}
}

static void
prob_free(prob *p)
{
	pt_manifest_free(p->m);
	pt_batch_free(p->b);
	pt_schema_free(p->s);
}

/* The greedy tree from partials, level by level (the reference). */
static pt_ptree *
greedy(prob *p, int depth)
{
	pt_err e;

	return grow_by_partials(pt_ptree_new(p->m, NULL, PT_CRIT_WELFARE, depth,
	    1, &e), p->m, p->s, p->b, F);
}

/* A forest of ntrees from the problem's rows; the file text in *txt. */
static pt_ptree **
forest(prob *p, int ntrees, int depth, const pt_forest_info *fi, char **txt,
    size_t *len)
{
	pt_err e;
	pt_rowset r;
	pt_hist_cols c;
	pt_hist *h = pt_hist_new(p->m, NULL, NULL, 0, NULL, 0, &e);
	pt_ptree **ts = calloc((size_t)ntrees, sizeof *ts);
	int k, bad = 0;

	pt_rowset_init(&r, p->m);
	pt_hist_bind(h, p->m, p->s, &c, &e);
	pt_rowset_add(&r, p->m, &c, p->b, &e);
	for (k = 0; k < ntrees && !bad; k++) {
		ts[k] = pt_ptree_new(p->m, NULL, PT_CRIT_WELFARE, depth, 1, &e);
		if (pt_search_forest_tree(ts[k], &r, p->m, k, fi, &e) < 0) {
			diag("forest: %s", e.msg);
			bad = 1;
		}
	}
	if (!bad && pt_ptree_write_forest(ts, ntrees, fi, txt, len, &e) < 0) {
		diag("write: %s", e.msg);
		bad = 1;
	}
	pt_hist_cols_free(&c);
	pt_hist_free(h);
	pt_rowset_free(&r);
	if (bad) {
		for (k = 0; k < ntrees; k++)
			pt_ptree_free(ts[k]);
		free(ts);
		return NULL;
	}
	return ts;
}

/* The forest of ntrees grown by forest partials, a level per pass over
 * two partitions of the rows (the first n0 rows, the rest), merged; the
 * file text in *txt (NULL on failure, with a diagnostic). */
static char *
by_partials(prob *p, int ntrees, int depth, const pt_forest_info *fi,
    size_t n0, size_t *len)
{
	pt_err e;
	pt_pfstate *st = NULL;
	pt_batch *part[2];
	char *txt = NULL;
	size_t cut[3] = { 0, n0, N };
	int level;

	for (int k = 0; k < 2; k++) {
		part[k] = pt_batch_new(p->s, N);
		part[k]->nrows = cut[k + 1] - cut[k];
		for (int j = 0; j < p->s->ncols; j++)
			memcpy(part[k]->col[j], (const char *)p->b->col[j] +
			    cut[k] * 8, part[k]->nrows * 8);
	}
	for (level = 0; level <= depth && (st == NULL ||
	    !pt_pfstate_complete(st)); level++) {
		pt_pfpart *acc = NULL;
		for (int k = 0; k < 2; k++) {
			char name[8], *buf;
			size_t n;
			pt_pflevel *l = pt_pflevel_new(p->m, st, ntrees, fi, "",
			    &e);
			pt_pfpart *q;
			snprintf(name, sizeof name, "p%d", k);
			if (l == NULL || pt_pflevel_bind(l, p->s, &e) < 0 ||
			    pt_pflevel_add(l, part[k], &e) < 0 ||
			    pt_pflevel_write(l, name, &buf, &n, &e) < 0) {
				diag("level %d, part %d: %s", level, k, e.msg);
				pt_pflevel_free(l);
				goto fail;
			}
			pt_pflevel_free(l);
			q = pt_pfpart_read(buf, n, name, &e);
			free(buf);
			if (q == NULL || (acc != NULL && pt_pfpart_merge(acc, q,
			    name, &e) < 0)) {
				diag("level %d: %s", level, e.msg);
				pt_pfpart_free(q);
				pt_pfpart_free(acc);
				goto fail;
			}
			if (acc == NULL)
				acc = q;
			else
				pt_pfpart_free(q);
		}
		if (st == NULL)
			st = pt_pfstate_start(p->m, acc, PT_CRIT_WELFARE, depth, 1,
			    fi->mtry, &e);
		else if (pt_pfstate_grow(st, p->m, acc, &e) < 0) {
			pt_pfstate_free(st);
			st = NULL;
		}
		pt_pfpart_free(acc);
		if (st == NULL) {
			diag("grow: %s", e.msg);
			goto fail;
		}
	}
	if (pt_pfstate_forest(st, &txt, len, &e) < 0) {
		diag("forest: %s", e.msg);
		txt = NULL;
	}
fail:
	pt_pfstate_free(st);
	pt_batch_free(part[0]);
	pt_batch_free(part[1]);
	return txt;
}

static void
free_trees(pt_ptree **ts, int n)
{
	int k;

	if (ts == NULL)
		return;
	for (k = 0; k < n; k++)
		pt_ptree_free(ts[k]);
	free(ts);
}

/* The "trees:" part of a tree or forest file. */
static const char *
trees_part(const char *s)
{
	const char *q = strstr(s, "\ntrees:\n");
	return q ? q : "";
}

int
main(void)
{
	int perm[N], i, k, f, a, depth = 3;
	prob p, q;
	pt_forest_info all = { 1.0, 0, 0 }, sub = { 0.5, 2, 42 };
	pt_ptree *g, **ts, **ts2;
	char *gtxt = NULL, *ftxt = NULL, *f2txt = NULL;
	size_t glen, flen, f2len;
	pt_err e;
	pt_forest *fo;

	for (i = 0; i < N; i++)
		perm[i] = i;
	prob_make(&p, perm);

	/* One tree, every row and feature: the greedy tree. */
	g = greedy(&p, depth);
	ts = forest(&p, 1, depth, &all, &ftxt, &flen);
	if (g != NULL)
		pt_ptree_write(g, &gtxt, &glen, &e);
	{
		/* Both files end with their own digest line: compare the
		 * trees up to there. */
		const char *a1 = gtxt ? trees_part(gtxt) : "";
		const char *b1 = ftxt ? trees_part(ftxt) : "x";
		const char *d = strstr(a1, "digest:"), *d2 = strstr(b1, "digest:");
		size_t n1 = d ? (size_t)(d - a1) : strlen(a1);
		size_t n2 = d2 ? (size_t)(d2 - b1) : strlen(b1);
		ok(g != NULL && ts != NULL && g->nnodes > 3 && n1 == n2 &&
		    memcmp(a1, b1, n1) == 0, "--trees 1, subsample 1, all "
		    "features: the greedy tree (%d nodes)", g ? g->nnodes : 0);
	}
	fo = ftxt ? pt_forest_parse(ftxt, flen, "f1.yaml", &e) : NULL;
	if (fo == NULL && ftxt)
		diag("parse: %s", e.msg);
	{
		int same = fo != NULL && fo->ntrees == 1 && g != NULL;
		const double *cols[F];
		for (f = 0; f < F; f++)
			cols[f] = PT_COL_F64(p.b, 1 + f);
		for (i = 0; same && i < N; i++) {
			double x[F], out[A];
			int leaf = pt_ptree_route(g, cols, (size_t)i);
			for (f = 0; f < F; f++)
				x[f] = cols[f][i];
			pt_forest_score_row(fo, x, out);
			for (a = 0; a < A; a++)
				same &= out[a] == g->nodes[leaf].value[a];
		}
		ok(same, "its scores are the tree's leaf values, row by row");
	}
	pt_forest_free(fo);
	free_trees(ts, 1);
	free(ftxt);
	ftxt = NULL;

	/* Five trees on half the rows and two features per node. */
	ts = forest(&p, 5, depth, &sub, &ftxt, &flen);
	fo = ftxt ? pt_forest_parse(ftxt, flen, "f5.yaml", &e) : NULL;
	if (fo == NULL && ftxt)
		diag("parse: %s", e.msg);
	ok(fo != NULL && fo->ntrees == 5 && fo->nvocab == A &&
	    fo->nfeatures == F && strcmp(fo->manifest, p.m->digest) == 0,
	    "a forest of 5 trees parses with the forest loader");
	{
		int same = fo != NULL && ts != NULL, differ = 0;
		const double *cols[F];
		for (f = 0; f < F; f++)
			cols[f] = PT_COL_F64(p.b, 1 + f);
		for (i = 0; same && i < N; i++) {
			double x[F], out[A], sum[A] = { 0 };
			for (k = 0; k < 5; k++) {
				int leaf = pt_ptree_route(ts[k], cols, (size_t)i);
				for (a = 0; a < A; a++)
					sum[a] += ts[k]->nodes[leaf].value[a];
			}
			for (f = 0; f < F; f++)
				x[f] = cols[f][i];
			pt_forest_score_row(fo, x, out);
			for (a = 0; a < A; a++)
				same &= out[a] == sum[a] / 5;
		}
		for (k = 1; ts != NULL && k < 5; k++)
			differ += ts[k]->nodes[0].rows != ts[0]->nodes[0].rows ||
			    ts[k]->nnodes != ts[0]->nnodes ||
			    ts[k]->nodes[0].feature != ts[0]->nodes[0].feature;
		ok(same, "a row's score is the mean of its leaves' values in "
		    "tree order");
		ok(differ > 0 && ts != NULL && ts[0]->nodes[0].rows > N / 3 &&
		    ts[0]->nodes[0].rows < 2 * N / 3, "the trees differ (%d of "
		    "4 from the first) and hold about half the rows (%llu)",
		    differ, ts ? (unsigned long long)ts[0]->nodes[0].rows : 0ULL);
	}
	pt_forest_free(fo);

	/* Reversed row order: the same forest, byte for byte. */
	for (i = 0; i < N; i++)
		perm[i] = N - 1 - i;
	prob_make(&q, perm);
	ts2 = forest(&q, 5, depth, &sub, &f2txt, &f2len);
	ok(ftxt != NULL && f2txt != NULL && flen == f2len &&
	    memcmp(ftxt, f2txt, flen) == 0, "row order does not change the "
	    "forest");
	free_trees(ts2, 5);
	{
		/* Over partitions, a level per pass: the reference's bytes. */
		size_t plen;
		char *ptxt = by_partials(&p, 5, depth, &sub, N / 3, &plen);
		ok(ptxt != NULL && ftxt != NULL && plen == flen &&
		    memcmp(ptxt, ftxt, flen) == 0, "forest partials over two "
		    "partitions, a level per pass: the forest of the rows in "
		    "memory, byte for byte");
		free(ptxt);
		ptxt = by_partials(&p, 5, depth, &sub, 0, &plen);
		ok(ptxt != NULL && ftxt != NULL && plen == flen &&
		    memcmp(ptxt, ftxt, flen) == 0, "the same with an empty "
		    "partition");
		free(ptxt);
	}
	{
		pt_forest_info bad = { 0.0, 0, 0 };
		pt_ptree *t = pt_ptree_new(p.m, NULL, PT_CRIT_WELFARE, 2, 1, &e);
		pt_rowset r;
		pt_hist_cols c;
		pt_hist *h = pt_hist_new(p.m, NULL, NULL, 0, NULL, 0, &e);
		pt_rowset_init(&r, p.m);
		pt_hist_bind(h, p.m, p.s, &c, &e);
		pt_rowset_add(&r, p.m, &c, p.b, &e);
		ok(pt_search_forest_tree(t, &r, p.m, 0, &bad, &e) < 0 &&
		    e.code == PT_EUSAGE, "subsample 0 is refused: %s", e.msg);
		pt_hist_cols_free(&c);
		pt_hist_free(h);
		pt_rowset_free(&r);
		pt_ptree_free(t);
	}
	free_trees(ts, 5);
	free(ftxt);
	free(f2txt);
	free(gtxt);
	pt_ptree_free(g);
	prob_free(&p);
	prob_free(&q);
	return done_testing();
}

/*
 * forest.c: forest models: parse, validate, write, generate, and score.
 *
 * The vector backend is designed around the paper's workload (50 trees of
 * depth 7 over 32 features): a straightforward per-row walk is a chain of
 * dependent loads (node, then value, then compare, then next node), so the
 * CPU waits on each step.  Here a block of rows goes through one tree a
 * level at a time: every row's step in a level is independent of the
 * others', so the loads of many rows overlap.  The block's feature values
 * are first copied into one contiguous scratch array, so a node holds its
 * feature as an offset into it (feature * block) and a step is: load the
 * node (16 bytes), load the value, two compares, store the next index.
 * Trees are renumbered breadth first; a complete tree needs no child
 * array (children of n are 2n+1 and 2n+2), other trees use one, with
 * leaves pointing at themselves so that every row can take the same
 * number of steps.  Leaf vectors are then added per row in tree order,
 * the same additions in the same order as the reference backend, so the
 * bits agree.
 */
#include "forest.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cpu.h"
#include "filehead.h"
#include "yamlout.h"

/* Tuning of the AVX-512 walk, measured on the paper's workload: levels of
 * up to PERM_MAX nodes find their nodes by permutes rather than gathers;
 * levels of up to XBLEND nodes load feature values contiguously and
 * blend rather than gather. */
#ifndef PERM_MAX
#define PERM_MAX 64
#endif
#ifndef XBLEND
#define XBLEND 8
#endif
#define CODES_SUB 256 /* rows per group of the byte-code walk (the
			* node-major walk takes them as four groups of 64) */
#define BLOCK 512 /* rows per block (measured: 128 to 512 is best; L2-resident) */

typedef struct cnode {
	double t;
	int32_t off;  /* feature index * BLOCK */
	uint32_t mr;  /* 1: missing goes right */
} cnode;

typedef struct ctree {
	int depth;
	int complete;   /* children of n are 2n+1, 2n+2 */
	int hascat;
	cnode *nodes;   /* breadth-first order */
	uint8_t *cat;   /* per node: category test */
	int32_t *child; /* 2 per node; leaves point at themselves */
	double *val;    /* nnodes * nvocab, breadth-first order */
	/* The same nodes as separate arrays, for the SIMD walk: thresholds,
	 * and (feature * BLOCK) * 2 + (missing goes right). */
	double *thr;
	int32_t *offm;
	int64_t *offm64; /* the same, 64-bit (both padded by 16 entries) */
	/* The byte-code walk (complete trees of depth 1 to 7): node j < 63
	 * in byte j of the first half, node 63 + j in byte j of the second;
	 * cidx: the row byte the node reads (feature, + 64 when missing goes
	 * left), cthr: its threshold's code (right when the row's code is
	 * greater). */
	uint8_t cidx[128];
	uint8_t cthr[128];
	/* The node-major walk (depth 7): entry 2^d + q, level d, is the node
	 * whose path from the root is q's bits, the first step the lowest
	 * (so the children of entry 2^d + q are 2^(d+1) + q, left, and
	 * 2^(d+1) + 2^d + q, right); nrow: the row of codes it reads (cidx),
	 * nthr: its threshold's code (cthr). */
	uint8_t nrow[128];
	uint8_t nthr[128];
} ctree;

/* Per feature, the sorted distinct thresholds the forest compares it
 * with, padded to 256 with +inf, and the eight levels of a binary search
 * over them as permute tables (level L: 2^L entries, at least 8, from
 * CT_LEVEL(L)): CT_STRIDE doubles. */
#define CT_LEVEL(L) ((L) < 4 ? 8 * (L) : 16 + (16 << ((L) - 4)))
#define CT_LIST 272 /* the padded list: 256 */
#define CT_STRIDE 528
#define CT_MAXT 253 /* codes 1..254 for values, 0 and 255 for missing */
/* The same tables in float, for features whose thresholds are all floats
 * (a float table of 2^L entries, at least 16, from CT32_LEVEL(L)). */
#define CT32_LEVEL(L) ((L) < 4 ? 16 * (L) : 64 + 16 * ((1 << ((L) - 4)) - 1))
#define CT32_STRIDE 304

struct pt_forest_plan {
	ctree *t;
	int ntrees;
	double *xb;     /* nfeatures * BLOCK */
	int32_t *idx;   /* BLOCK */
	double *acc;    /* nvocab * BLOCK */
	int codes;      /* the byte-code walk applies */
	double *ctab;   /* nfeatures * CT_STRIDE */
	float *ctab32;  /* nfeatures * CT32_STRIDE */
	uint8_t *c32;   /* per feature: 1 when ctab32 applies */
	uint8_t *rows;  /* CODES_SUB * 64 bytes, 64-aligned: codes per row */
	uint8_t *cb;    /* 128 * CODES_SUB bytes, 64-aligned: codes per
			 * feature (row j), and with missing coded 0 (row
			 * 64 + j) */
};

static void
plan_free(pt_forest_plan *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ntrees; i++) {
		free(p->t[i].nodes);
		free(p->t[i].cat);
		free(p->t[i].child);
		free(p->t[i].val);
		free(p->t[i].thr);
		free(p->t[i].offm);
		free(p->t[i].offm64);
	}
	free(p->t);
	free(p->xb);
	free(p->idx);
	free(p->acc);
	free(p->ctab);
	free(p->ctab32);
	free(p->c32);
	free(p->rows);
	free(p->cb);
	free(p);
}

static void
tree_free(pt_tree *t)
{
	free(t->feature);
	free(t->threshold);
	free(t->missing_left);
	free(t->category);
	free(t->left);
	free(t->right);
	free(t->value);
}

void
pt_forest_free(pt_forest *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->ntrees; i++)
		tree_free(&f->trees[i]);
	free(f->trees);
	pt_strs_free(f->features, f->nfeatures);
	pt_strs_free(f->vocab, f->nvocab);
	plan_free(f->plan);
	free(f->rows);
	free(f->prop);
	free(f->cost);
	free(f);
}

static int
tree_alloc(pt_tree *t, int n, int nvocab, int withcat)
{
	size_t un = n > 0 ? (size_t)n : 1;

	memset(t, 0, sizeof *t);
	t->nnodes = n;
	t->feature = calloc(un, sizeof *t->feature);
	t->threshold = calloc(un, sizeof *t->threshold);
	t->missing_left = calloc(un, 1);
	t->left = calloc(un, sizeof *t->left);
	t->right = calloc(un, sizeof *t->right);
	t->value = calloc(un * (size_t)nvocab, sizeof *t->value);
	if (withcat)
		t->category = calloc(un, 1);
	if (!t->feature || !t->threshold || !t->missing_left || !t->left ||
	    !t->right || !t->value || (withcat && !t->category))
		return -1;
	return 0;
}

/*
 * Checks tree k is a proper binary tree over its arrays, and fills order[]
 * with its nodes breadth first and level[] with their depths.  A node
 * reached twice means a cycle or a shared subtree; a node never reached
 * is an orphan: both are refused, since they can only come from a broken
 * writer.
 */
static int
tree_check(const pt_forest *f, int k, int32_t *order, int *level,
    uint8_t *seen, pt_err *e)
{
	const pt_tree *t = &f->trees[k];
	int n = t->nnodes, head = 0, tail = 0, i, c, side;
	char where[64];

	snprintf(where, sizeof where, "tree %d", k);
	if (n < 1)
		return pt_fail(e, PT_EFORMAT, where, "no nodes");
	memset(seen, 0, (size_t)n);
	order[tail++] = 0;
	level[0] = 0;
	seen[0] = 1;
	t = &f->trees[k];
	while (head < tail) {
		i = order[head++];
		if (t->feature[i] < 0) {
			if (t->feature[i] != -1 || t->left[i] != -1 ||
			    t->right[i] != -1)
				return pt_fail(e, PT_EFORMAT, where, "node %d: a "
				    "leaf needs feature, left and right -1", i);
			continue;
		}
		if (t->feature[i] >= f->nfeatures)
			return pt_fail(e, PT_EFORMAT, where, "node %d: feature "
			    "index %d out of range (%d features)", i,
			    (int)t->feature[i], f->nfeatures);
		if (isnan(t->threshold[i]))
			return pt_fail(e, PT_EFORMAT, where, "node %d: "
			    "threshold is NaN", i);
		if (t->missing_left[i] > 1 ||
		    (t->category && t->category[i] > 1))
			return pt_fail(e, PT_EFORMAT, where, "node %d: flags "
			    "must be 0 or 1", i);
		for (side = 0; side < 2; side++) {
			c = side ? t->right[i] : t->left[i];
			if (c < 0 || c >= n)
				return pt_fail(e, PT_EFORMAT, where, "node %d: "
				    "child %d out of range (%d nodes)", i, c, n);
			if (seen[c])
				return pt_fail(e, PT_EFORMAT, where, "node %d: "
				    "child %d reached twice (a cycle or a shared "
				    "subtree)", i, c);
			seen[c] = 1;
			level[c] = level[i] + 1;
			if (level[c] > PT_FOREST_MAXDEPTH)
				return pt_fail(e, PT_ELIMIT, where, "deeper than "
				    "%d levels", PT_FOREST_MAXDEPTH);
			order[tail++] = c;
		}
	}
	if (tail != n) {
		for (i = 0; i < n && seen[i]; i++)
			;
		return pt_fail(e, PT_EFORMAT, where, "node %d is not reached "
		    "from the root", i);
	}
	return 0;
}

static int
cmp_f64(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The byte-code walk.  A comparison x <= t, t one of a feature's sorted
 * distinct thresholds T[0..K-1] (t = T[k]), is the same as r(x) <= k with
 * r(x) the number of thresholds below x: every T[i] < x has i < k when
 * x <= T[k], and T[0..k] are all below x otherwise.  So each value is
 * coded once per row as r(x) + 1 (1..K+1) and each node compares codes,
 * 64 nodes with one byte compare, with no loss of exactness.  A missing
 * value is coded 255 (greater than every node's code, so it goes right)
 * and 0 (goes left) in two copies of the row; a node reads the copy its
 * missing side calls for.  Applies to forests of complete trees of depth
 * 1 to 7 without category tests, over at most 64 features each compared
 * with at most CT_MAXT distinct thresholds.
 */
static int
codes_compile(const pt_forest *f, pt_forest_plan *p)
{
	int F = f->nfeatures, k, j, L, m, s, D, K, lo, hi, mid, slot;
	int *cnt = NULL;
	double *P, t;
	const ctree *ct;
	ctree *cw;

	p->codes = 0;
	if (F > 64)
		return 0;
	for (k = 0; k < f->ntrees; k++) {
		ct = &p->t[k];
		if (!ct->complete || ct->depth < 1 || ct->depth > 7)
			return 0;
	}
	cnt = calloc((size_t)F, sizeof *cnt);
	p->ctab = calloc((size_t)F * CT_STRIDE, sizeof *p->ctab);
	p->ctab32 = calloc((size_t)F * CT32_STRIDE, sizeof *p->ctab32);
	p->c32 = calloc((size_t)F, 1);
	if (cnt == NULL || p->ctab == NULL || p->ctab32 == NULL ||
	    p->c32 == NULL)
		goto nomem;
	/* Gather each feature's thresholds into its list (at most 256
	 * before removing duplicates, or the feature has too many). */
	for (k = 0; k < f->ntrees; k++) {
		ct = &p->t[k];
		for (j = 0; j < (1 << ct->depth) - 1; j++) {
			int fe = ct->nodes[j].off / BLOCK;

			P = p->ctab + (size_t)fe * CT_STRIDE + CT_LIST;
			for (m = 0; m < cnt[fe] && P[m] != ct->nodes[j].t; m++)
				;
			if (m < cnt[fe])
				continue;
			if (cnt[fe] == CT_MAXT)
				goto none;
			P[cnt[fe]++] = ct->nodes[j].t;
		}
	}
	for (j = 0; j < F; j++) {
		P = p->ctab + (size_t)j * CT_STRIDE + CT_LIST;
		qsort(P, (size_t)cnt[j], sizeof *P, cmp_f64);
		for (m = cnt[j]; m < 256; m++)
			P[m] = INFINITY;
		/* Level L of the search compares with P[m * 2s + s - 1], s =
		 * 128 >> L, m the position so far divided by 2s. */
		/* A value x rounded up to a float, xf, compares with a
		 * float t as x does: x <= t gives xf <= t (t is a float at
		 * least x, and xf the least such), x > t gives xf >= x > t. */
		p->c32[j] = 1;
		for (m = 0; m < cnt[j]; m++)
			if ((double)(float)P[m] != P[m])
				p->c32[j] = 0;
		for (L = 0; L < 8; L++) {
			s = 128 >> L;
			for (m = 0; m < 1 << L; m++) {
				p->ctab[(size_t)j * CT_STRIDE + CT_LEVEL(L) + m] =
				    P[m * 2 * s + s - 1];
				p->ctab32[(size_t)j * CT32_STRIDE +
				    CT32_LEVEL(L) + m] = (float)P[m * 2 * s + s - 1];
			}
		}
	}
	for (k = 0; k < f->ntrees; k++) {
		cw = &p->t[k];
		D = cw->depth;
		memset(cw->cidx, 0, sizeof cw->cidx);
		memset(cw->cthr, 255, sizeof cw->cthr);
		for (j = 0; j < (1 << D) - 1; j++) {
			int fe = cw->nodes[j].off / BLOCK;

			P = p->ctab + (size_t)fe * CT_STRIDE + CT_LIST;
			K = cnt[fe];
			t = cw->nodes[j].t;
			lo = 0;
			hi = K - 1;
			while (lo < hi) {
				mid = (lo + hi) / 2;
				if (P[mid] < t)
					lo = mid + 1;
				else
					hi = mid;
			}
			slot = j < 63 ? j : 64 + (j - 63);
			cw->cidx[slot] = (uint8_t)(fe + (cw->nodes[j].mr ? 0 : 64));
			cw->cthr[slot] = (uint8_t)(lo + 1);
		}
		memset(cw->nrow, 0, sizeof cw->nrow);
		memset(cw->nthr, 255, sizeof cw->nthr);
		for (L = 0; L < D; L++)
			for (m = 0; m < 1 << L; m++) {
				/* The heap node of path m, first step lowest. */
				for (j = 0, s = 0; s < L; s++)
					j = 2 * j + 1 + ((m >> s) & 1);
				slot = j < 63 ? j : 64 + (j - 63);
				cw->nrow[(1 << L) + m] = cw->cidx[slot];
				cw->nthr[(1 << L) + m] = cw->cthr[slot];
			}
	}
	free(cnt);
	if ((p->rows = aligned_alloc(64, (size_t)CODES_SUB * 64)) == NULL ||
	    (p->cb = aligned_alloc(64, (size_t)CODES_SUB * 128)) == NULL)
		goto nomem2;
	memset(p->rows, 0, (size_t)CODES_SUB * 64);
	memset(p->cb, 0, (size_t)CODES_SUB * 128);
	p->codes = 1;
	return 0;
none:
	free(cnt);
	free(p->ctab);
	free(p->ctab32);
	free(p->c32);
	p->ctab = NULL;
	p->ctab32 = NULL;
	p->c32 = NULL;
	return 0;
nomem:
	free(cnt);
nomem2:
	return -1;
}

int
pt_forest_compile(pt_forest *f, pt_err *e)
{
	pt_forest_plan *p;
	int32_t *order = NULL, *pos = NULL;
	int *level = NULL;
	uint8_t *seen = NULL;
	int k, i, j, n, maxn = 1, A = f->nvocab;
	ctree *ct;
	const pt_tree *t;

	plan_free(f->plan);
	f->plan = NULL;
	if (f->ntrees < 1)
		return pt_fail(e, PT_EFORMAT, "", "the forest has no trees");
	for (k = 0; k < f->ntrees; k++)
		if (f->trees[k].nnodes > maxn)
			maxn = f->trees[k].nnodes;
	p = calloc(1, sizeof *p);
	order = malloc((size_t)maxn * sizeof *order);
	pos = malloc((size_t)maxn * sizeof *pos);
	level = malloc((size_t)maxn * sizeof *level);
	seen = malloc((size_t)maxn);
	if (!p || !order || !pos || !level || !seen)
		goto nomem;
	p->ntrees = f->ntrees;
	p->t = calloc((size_t)f->ntrees, sizeof *p->t);
	p->xb = calloc((size_t)(f->nfeatures > 0 ? f->nfeatures : 1) * BLOCK,
	    sizeof *p->xb);
	p->idx = calloc(BLOCK, sizeof *p->idx);
	p->acc = calloc((size_t)A * BLOCK, sizeof *p->acc);
	if (!p->t || !p->xb || !p->idx || !p->acc)
		goto nomem;
	for (k = 0; k < f->ntrees; k++) {
		t = &f->trees[k];
		n = t->nnodes;
		if (tree_check(f, k, order, level, seen, e) < 0)
			goto fail;
		ct = &p->t[k];
		ct->nodes = calloc((size_t)n, sizeof *ct->nodes);
		ct->cat = calloc((size_t)n, 1);
		ct->child = calloc(2 * (size_t)n, sizeof *ct->child);
		ct->val = calloc((size_t)n * (size_t)A, sizeof *ct->val);
		ct->thr = calloc((size_t)n + 16, sizeof *ct->thr);
		ct->offm = calloc((size_t)n + 16, sizeof *ct->offm);
		ct->offm64 = calloc((size_t)n + 16, sizeof *ct->offm64);
		if (!ct->nodes || !ct->cat || !ct->child || !ct->val ||
		    !ct->thr || !ct->offm || !ct->offm64)
			goto nomem;
		for (i = 0; i < n; i++)
			pos[order[i]] = i;
		ct->depth = 0;
		for (i = 0; i < n; i++)
			if (level[i] > ct->depth)
				ct->depth = level[i];
		f->trees[k].depth = ct->depth;
		ct->complete = n == (1 << (ct->depth + 1)) - 1 &&
		    ct->depth < 30;
		for (j = 0; j < n; j++) {
			i = order[j]; /* BFS slot j holds original node i */
			if (t->feature[i] < 0) {
				ct->nodes[j].t = 0;
				ct->nodes[j].off = 0;
				ct->nodes[j].mr = 0;
				ct->child[2 * j] = ct->child[2 * j + 1] = j;
			} else {
				ct->nodes[j].t = t->threshold[i];
				ct->nodes[j].off = t->feature[i] * BLOCK;
				ct->nodes[j].mr = !t->missing_left[i];
				ct->cat[j] = t->category ? t->category[i] : 0;
				ct->hascat |= ct->cat[j];
				ct->child[2 * j] = pos[t->left[i]];
				ct->child[2 * j + 1] = pos[t->right[i]];
				/* A complete tree in BFS order has its children
				 * at 2j+1, 2j+2 and every leaf at full depth. */
				if (ct->child[2 * j] != 2 * j + 1)
					ct->complete = 0;
			}
			if (t->feature[i] < 0 && level[i] != ct->depth)
				ct->complete = 0;
			ct->thr[j] = ct->nodes[j].t;
			ct->offm[j] = ct->nodes[j].off * 2 +
			    (int32_t)ct->nodes[j].mr;
			ct->offm64[j] = ct->offm[j];
			memcpy(ct->val + (size_t)j * A, t->value + (size_t)i * A,
			    (size_t)A * sizeof *ct->val);
		}
		if (ct->hascat)
			ct->complete = 0;
	}
	if (codes_compile(f, p) < 0)
		goto nomem;
	free(order);
	free(pos);
	free(level);
	free(seen);
	f->plan = p;
	return 0;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory");
fail:
	free(order);
	free(pos);
	free(level);
	free(seen);
	plan_free(p);
	return -1;
}

void
pt_forest_score_row(const pt_forest *f, const double *x, double *out)
{
	const pt_tree *t;
	int k, a, n, left;
	double v;

	for (a = 0; a < f->nvocab; a++)
		out[a] = 0.0;
	for (k = 0; k < f->ntrees; k++) {
		t = &f->trees[k];
		n = 0;
		while (t->feature[n] >= 0) {
			v = x[t->feature[n]];
			if (isnan(v))
				left = t->missing_left[n];
			else if (t->category && t->category[n])
				left = v == t->threshold[n];
			else
				left = v <= t->threshold[n];
			n = left ? t->left[n] : t->right[n];
		}
		for (a = 0; a < f->nvocab; a++)
			out[a] += t->value[(size_t)n * f->nvocab + a];
	}
	for (a = 0; a < f->nvocab; a++)
		out[a] = out[a] / f->ntrees;
}

/* One tree over a block: leaves idx[i] at each row's leaf (BFS slot). */
static void
walk_complete(const ctree *ct, const double *xb, int32_t *idx, int n)
{
	const cnode *nd = ct->nodes;
	int i, d;
	double v;
	int32_t j, go;

	/* Level 0: every row is at the root. */
	{
		const double *xr = xb + nd[0].off;
		double t = nd[0].t;
		int32_t mr = (int32_t)nd[0].mr;

		for (i = 0; i < n; i++) {
			v = xr[i];
			go = (v > t) | ((v != v) & mr);
			idx[i] = 1 + go;
		}
	}
	for (d = 1; d < ct->depth; d++)
		for (i = 0; i < n; i++) {
			j = idx[i];
			v = xb[nd[j].off + i];
			go = (v > nd[j].t) | ((v != v) & (int32_t)nd[j].mr);
			idx[i] = 2 * j + 1 + go;
		}
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512 1

/*
 * Looks up entry li (0..m-1, m <= 64) of a table held in ntab (1, 2, 4 or
 * 8) registers, eight lanes at a time: permutes instead of gathers, because
 * a gather costs many times a permute on this class of CPU.
 */
__attribute__((target("avx512f,avx512vl")))
static inline __m512d
lookup16(const __m512d *tab, int ntab, __m512i li)
{
	__m512d r0, r1, r2, r3;
	__mmask8 b4;

	if (ntab == 1)
		return _mm512_permutexvar_pd(li, tab[0]);
	r0 = _mm512_permutex2var_pd(tab[0], li, tab[1]);
	if (ntab == 2)
		return r0;
	b4 = _mm512_test_epi64_mask(li, _mm512_set1_epi64(16));
	r1 = _mm512_permutex2var_pd(tab[2], li, tab[3]);
	r0 = _mm512_mask_blend_pd(b4, r0, r1);
	if (ntab == 4)
		return r0;
	r2 = _mm512_permutex2var_pd(tab[4], li, tab[5]);
	r3 = _mm512_permutex2var_pd(tab[6], li, tab[7]);
	r2 = _mm512_mask_blend_pd(b4, r2, r3);
	return _mm512_mask_blend_pd(_mm512_test_epi64_mask(li,
	    _mm512_set1_epi64(32)), r0, r2);
}

/*
 * The complete-tree walk, eight rows at a time: the same comparisons on
 * the same values as walk_complete, so the same leaves.  Small levels
 * look their nodes up by permutes; deeper levels gather.  n is a multiple
 * of 8 here.
 */
__attribute__((target("avx512f,avx512vl")))
static void
walk_complete_avx512(const ctree *ct, const double *xb, int32_t *idx, int n)
{
	const __m512i one = _mm512_set1_epi64(1);
	const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
	__m512d tabt[8], tabo[8], v, t, om;
	__m512i j, li, omi, xi, nx, basev;
	__mmask8 gt, un, mr;
	int i, d, m, base, ntab, k;

	for (i = 0; i < n; i++)
		idx[i] = 0;
	for (d = 0; d < ct->depth; d++) {
		m = 1 << d;
		base = m - 1;
		basev = _mm512_set1_epi64(base);
		if (m <= PERM_MAX) {
			ntab = m <= 8 ? 1 : m / 8;
			/* Entries past the level are read (the arrays are
			 * padded) but never selected. */
			for (k = 0; k < ntab; k++) {
				tabt[k] = _mm512_loadu_pd(ct->thr + base + 8 * k);
				tabo[k] = _mm512_castsi512_pd(_mm512_loadu_si512(
				    ct->offm64 + base + 8 * k));
			}
			/* Up to 8 nodes: load each node's feature values
			 * contiguously and pick per lane (a tree of blends on
			 * the bits of the node number), cheaper than a
			 * gather. */
			const double *xp[8];
			__mmask8 b0, b1 = 0, b2;
			__m512d v0, v1, v2, v3;

			for (k = 0; k < 8; k++)
				xp[k] = xb + (ct->offm[base + (k < m ? k : 0)]
				    >> 1);
			for (i = 0; i < n; i += 8) {
				j = _mm512_cvtepi32_epi64(_mm256_loadu_si256(
				    (const __m256i *)(idx + i)));
				li = _mm512_sub_epi64(j, basev);
				t = lookup16(tabt, ntab, li);
				om = lookup16(tabo, ntab, li);
				omi = _mm512_castpd_si512(om);
				if (m == 1)
					v = _mm512_loadu_pd(xp[0] + i);
				else if (m <= XBLEND) {
					b0 = _mm512_test_epi64_mask(li, one);
					v = _mm512_mask_blend_pd(b0,
					    _mm512_loadu_pd(xp[0] + i),
					    _mm512_loadu_pd(xp[1] + i));
					if (m >= 4) {
						b1 = _mm512_test_epi64_mask(li,
						    _mm512_set1_epi64(2));
						v1 = _mm512_mask_blend_pd(b0,
						    _mm512_loadu_pd(xp[2] + i),
						    _mm512_loadu_pd(xp[3] + i));
						v = _mm512_mask_blend_pd(b1, v, v1);
					}
					if (m == 8) {
						b2 = _mm512_test_epi64_mask(li,
						    _mm512_set1_epi64(4));
						v0 = _mm512_mask_blend_pd(b0,
						    _mm512_loadu_pd(xp[4] + i),
						    _mm512_loadu_pd(xp[5] + i));
						v2 = _mm512_mask_blend_pd(b0,
						    _mm512_loadu_pd(xp[6] + i),
						    _mm512_loadu_pd(xp[7] + i));
						v3 = _mm512_mask_blend_pd(b1, v0, v2);
						v = _mm512_mask_blend_pd(b2, v, v3);
					}
				} else {
					xi = _mm512_add_epi64(_mm512_srai_epi64(
					    omi, 1), _mm512_add_epi64(lane,
					    _mm512_set1_epi64(i)));
					v = _mm512_i64gather_pd(xi, xb, 8);
				}
				gt = _mm512_cmp_pd_mask(v, t, _CMP_GT_OQ);
				un = _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
				mr = _mm512_test_epi64_mask(omi, one);
				nx = _mm512_add_epi64(_mm512_add_epi64(j, j), one);
				nx = _mm512_mask_add_epi64(nx, gt | (un & mr), nx,
				    one);
				_mm256_storeu_si256((__m256i *)(idx + i),
				    _mm512_cvtepi64_epi32(nx));
			}
			continue;
		}
		for (i = 0; i < n; i += 8) {
			__m256i j32 = _mm256_loadu_si256((const __m256i *)
			    (idx + i));
			__m256i om32, xi32, nx32;
			const __m256i one32 = _mm256_set1_epi32(1);

			t = _mm512_i32gather_pd(j32, ct->thr, 8);
			om32 = _mm256_i32gather_epi32(ct->offm, j32, 4);
			xi32 = _mm256_add_epi32(_mm256_srai_epi32(om32, 1),
			    _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4,
			    5, 6, 7), _mm256_set1_epi32(i)));
			v = _mm512_i32gather_pd(xi32, xb, 8);
			gt = _mm512_cmp_pd_mask(v, t, _CMP_GT_OQ);
			un = _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
			mr = _mm256_test_epi32_mask(om32, one32);
			nx32 = _mm256_add_epi32(_mm256_add_epi32(j32, j32), one32);
			nx32 = _mm256_mask_add_epi32(nx32, gt | (un & mr), nx32,
			    one32);
			_mm256_storeu_si256((__m256i *)(idx + i), nx32);
		}
	}
}

/* acc[i][0..3] += val[idx[i]][0..3]: one 256-bit load and add per row,
 * the same additions as the scalar loop. */
__attribute__((target("avx512f,avx512vl")))
static void
add_leaves4_avx512(const double *val, const int32_t *idx, double *acc, int n)
{
	int i;

	for (i = 0; i < n; i++)
		_mm256_storeu_pd(acc + 4 * i, _mm256_add_pd(_mm256_loadu_pd(
		    acc + 4 * i), _mm256_loadu_pd(val + 4 * (size_t)idx[i])));
}


/*
 * The byte-code walk (see codes_compile).  First each feature's values are
 * coded, eight rows at a time, by a branch-free binary search over the
 * feature's 256-entry padded list (levels 0 to 4 by permutes, 5 to 7 by
 * gathers), and the codes are stored row by row (64 bytes a row, and the
 * copy with missing as 0 beside it).  Then each tree takes every row in
 * turn: two permutes pick the row's code for each of the tree's 127 nodes,
 * two compares give every node's direction as a bit, and seven shifts walk
 * the bits to the leaf.  Rows are independent, so many are in flight.
 */
#define CODES_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,bmi2"

/* Entries of a table of doubles in memory, eight lanes at a time, by
 * two-table permutes (16 entries) and blends on the bits of the index
 * above the fourth: gathers cost many times more on this class of CPU.
 * Written out, since the compilers keep a loop of them in memory. */
#define P16(T, li, o) _mm512_permutex2var_pd(_mm512_loadu_pd((T) + (o)), \
	(li), _mm512_loadu_pd((T) + (o) + 8))
#define B(m, a, b) _mm512_mask_blend_pd((m), (a), (b))

#define P32(T, li, o) _mm512_permutex2var_ps(_mm512_loadu_ps((T) + (o)), \
	(li), _mm512_loadu_ps((T) + (o) + 16))
#define B32(m, a, b) _mm512_mask_blend_ps((m), (a), (b))

/* One feature's codes, sixteen rows at a time in float (the feature's
 * thresholds are floats; values are rounded up, which keeps every
 * comparison): out[i] for rows 0..n-1 (and up to 15 more, junk). */
__attribute__((target(CODES_TARGET)))
static void
code_col32(const float *ct, const double *col, int n, uint8_t *out,
    uint8_t *out0)
{
	const __m512d inf = _mm512_set1_pd(INFINITY);
	const __m512i k32 = _mm512_set1_epi32(32), k64 = _mm512_set1_epi32(64);
	const __m512 t0 = _mm512_set1_ps(ct[0]);
	const __m512 t1 = _mm512_loadu_ps(ct + CT32_LEVEL(1));
	const __m512 t2 = _mm512_loadu_ps(ct + CT32_LEVEL(2));
	const __m512 t3 = _mm512_loadu_ps(ct + CT32_LEVEL(3));
	const __m512 t4 = _mm512_loadu_ps(ct + CT32_LEVEL(4));
	const float *t5 = ct + CT32_LEVEL(5), *t6 = ct + CT32_LEVEL(6);
	const float *t7 = ct + CT32_LEVEL(7);
	__m512i pos, li, code;
	__m512 x, e;
	__mmask16 m, b5, b6;
	__mmask8 l0, l1;
	int i, r;

	for (i = 0; i < n; i += 16) {
		r = n - i;
		l0 = r >= 8 ? 0xff : (__mmask8)((1u << r) - 1);
		l1 = r >= 16 ? 0xff : r <= 8 ? 0 : (__mmask8)((1u << (r - 8)) - 1);
		x = _mm512_insertf32x8(_mm512_castps256_ps512(
		    _mm512_cvt_roundpd_ps(_mm512_mask_loadu_pd(inf, l0, col + i),
		    _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)),
		    _mm512_cvt_roundpd_ps(_mm512_mask_loadu_pd(inf, l1,
		    col + i + 8), _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC), 1);
		pos = _mm512_setzero_si512();
#define STEP(L, E) do { \
	li = _mm512_srli_epi32(pos, 8 - (L)); \
	e = (E); \
	m = _mm512_cmp_ps_mask(e, x, _CMP_LT_OQ); \
	pos = _mm512_mask_add_epi32(pos, m, pos, \
	    _mm512_set1_epi32(128 >> (L))); \
} while (0)
		STEP(0, t0);
		STEP(1, _mm512_permutexvar_ps(li, t1));
		STEP(2, _mm512_permutexvar_ps(li, t2));
		STEP(3, _mm512_permutexvar_ps(li, t3));
		STEP(4, _mm512_permutexvar_ps(li, t4));
		STEP(5, P32(t5, li, 0));
		STEP(6, (b5 = _mm512_test_epi32_mask(li, k32),
		    B32(b5, P32(t6, li, 0), P32(t6, li, 32))));
		STEP(7, (b5 = _mm512_test_epi32_mask(li, k32),
		    b6 = _mm512_test_epi32_mask(li, k64),
		    B32(b6, B32(b5, P32(t7, li, 0), P32(t7, li, 32)),
		    B32(b5, P32(t7, li, 64), P32(t7, li, 96)))));
#undef STEP
		code = _mm512_add_epi32(pos, _mm512_set1_epi32(1));
		m = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
		_mm_storeu_si128((__m128i *)(out0 + i), _mm512_cvtepi32_epi8(
		    _mm512_maskz_mov_epi32((__mmask16)~m, code)));
		code = _mm512_mask_mov_epi32(code, m, _mm512_set1_epi32(255));
		_mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi32_epi8(code));
	}
}

__attribute__((target(CODES_TARGET)))
static void
code_rows_avx512(const pt_forest_plan *p, int F, const double *const *cols,
    size_t base, int n, int torows)
{
	uint8_t *rows = p->rows, *cb = p->cb;
	const __m512d inf = _mm512_set1_pd(INFINITY);
	int j, i, L;
	__m512d x, e, tab[4];
	__m512i pos, code, li;
	const __m512i k16 = _mm512_set1_epi64(16), k32 = _mm512_set1_epi64(32);
	const __m512i k64 = _mm512_set1_epi64(64);
	__mmask8 m, ld, b4, b5, b6;
	__m512i pv[BLOCK / 8];

	for (j = 0; j < F; j++) {
		const double *ctab = p->ctab + (size_t)j * CT_STRIDE;
		const double *col = cols[j] + base;

		const double *t4 = ctab + CT_LEVEL(4), *t5 = ctab + CT_LEVEL(5);
		const double *t6 = ctab + CT_LEVEL(6), *t7 = ctab + CT_LEVEL(7);

		/* The next group's values of this feature, into L2:
		 * 32 columns and more read in steps of 8 or 16 rows
		 * defeat the hardware's prefetch (addresses past the
		 * column's end are harmless: a prefetch never faults).
		 * Columns in memory, not in cache: 157 -> 146 ns a row
		 * on the paper's forest; policy-score on a file finds
		 * the frame it just read in cache, and gains nothing
		 * (0.84 vs 0.87 s user, noise). */
		for (i = 0; i < CODES_SUB; i += 8)
			_mm_prefetch((const char *)(col + n + i), _MM_HINT_T1);
		if (p->c32[j]) {
			code_col32(p->ctab32 + (size_t)j * CT32_STRIDE, col, n,
			    cb + (size_t)j * CODES_SUB,
			    cb + (size_t)(64 + j) * CODES_SUB);
			continue;
		}
		for (L = 0; L < 4; L++)
			tab[L] = _mm512_loadu_pd(ctab + CT_LEVEL(L));
		tab[0] = _mm512_set1_pd(ctab[0]);
		/* Level by level over the block, so that the rows' searches,
		 * each a chain of dependent steps, overlap. */
#define LEVEL(L, E) \
	for (i = 0; i < n; i += 8) { \
		ld = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1); \
		x = _mm512_mask_loadu_pd(inf, ld, col + i); \
		pos = (L) ? pv[i / 8] : _mm512_setzero_si512(); \
		li = _mm512_srli_epi64(pos, 8 - (L)); \
		e = (E); \
		m = _mm512_cmp_pd_mask(e, x, _CMP_LT_OQ); \
		pv[i / 8] = _mm512_mask_add_epi64(pos, m, pos, \
		    _mm512_set1_epi64(128 >> (L))); \
	}
		LEVEL(0, tab[0]);
		LEVEL(1, _mm512_permutexvar_pd(li, tab[1]));
		LEVEL(2, _mm512_permutexvar_pd(li, tab[2]));
		LEVEL(3, _mm512_permutexvar_pd(li, tab[3]));
		LEVEL(4, P16(t4, li, 0));
		LEVEL(5, (b4 = _mm512_test_epi64_mask(li, k16),
		    B(b4, P16(t5, li, 0), P16(t5, li, 16))));
		LEVEL(6, (b4 = _mm512_test_epi64_mask(li, k16),
		    b5 = _mm512_test_epi64_mask(li, k32),
		    B(b5, B(b4, P16(t6, li, 0), P16(t6, li, 16)),
		    B(b4, P16(t6, li, 32), P16(t6, li, 48)))));
		LEVEL(7, (b4 = _mm512_test_epi64_mask(li, k16),
		    b5 = _mm512_test_epi64_mask(li, k32),
		    b6 = _mm512_test_epi64_mask(li, k64),
		    B(b6, B(b5, B(b4, P16(t7, li, 0), P16(t7, li, 16)),
		    B(b4, P16(t7, li, 32), P16(t7, li, 48))),
		    B(b5, B(b4, P16(t7, li, 64), P16(t7, li, 80)),
		    B(b4, P16(t7, li, 96), P16(t7, li, 112))))));
#undef LEVEL
		for (i = 0; i < n; i += 8) {
			ld = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
			x = _mm512_mask_loadu_pd(inf, ld, col + i);
			code = _mm512_add_epi64(pv[i / 8], _mm512_set1_epi64(1));
			m = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
			_mm_storel_epi64((__m128i *)(cb + (size_t)(64 + j) *
			    CODES_SUB + i), _mm512_cvtepi64_epi8(
			    _mm512_maskz_mov_epi64((__mmask8)~m, code)));
			code = _mm512_mask_mov_epi64(code, m,
			    _mm512_set1_epi64(255));
			_mm_storel_epi64((__m128i *)(cb + (size_t)j * CODES_SUB +
			    i), _mm512_cvtepi64_epi8(code));
		}
	}
	if (!torows)
		return;
	/* Columns to rows, sixteen by sixteen: four rounds of byte
	 * interleaving transpose a 16 x 16 block. */
	for (j = 0; j < F; j += 16)
		for (i = 0; i < n; i += 16) {
			__m128i a[16], y[16];
			int k, rd;

			for (k = 0; k < 16; k++)
				a[k] = _mm_loadu_si128((const __m128i *)(cb +
				    (size_t)(j + k) * CODES_SUB + i));
			for (rd = 0; rd < 4; rd++) {
				for (k = 0; k < 8; k++) {
					y[2 * k] = _mm_unpacklo_epi8(a[k], a[k + 8]);
					y[2 * k + 1] = _mm_unpackhi_epi8(a[k],
					    a[k + 8]);
				}
				memcpy(a, y, sizeof a);
			}
			for (k = 0; k < 16; k++)
				_mm_storeu_si128((__m128i *)(rows + (size_t)(i + k) *
				    64 + j), a[k]);
		}
}

/* Three levels at once: bits 0..6 are the directions of a subtree's nodes
 * in breadth-first order; the entry is the level-3 node reached (0..7). */
static uint8_t walk3[128];
/* The bits of the level-3 subtree under node 7 + a, within the first
 * 63 nodes: its nodes s, 2s+1, 2s+2, 4s+3..4s+6 in order. */
static uint64_t sub3[8];

static void
walk3_init(void)
{
	int x, d, n, a, s;

	if (walk3[127])
		return;
	for (x = 0; x < 128; x++) {
		for (n = 0, d = 0; d < 3; d++)
			n = 2 * n + 1 + ((x >> n) & 1);
		walk3[x] = (uint8_t)(n - 7);
	}
	for (a = 0; a < 8; a++) {
		s = 7 + a;
		sub3[a] = UINT64_C(1) << s | UINT64_C(3) << (2 * s + 1) |
		    UINT64_C(15) << (4 * s + 3);
	}
}

/* The leaf (breadth-first slot) a row reaches in one tree. */
__attribute__((target(CODES_TARGET)))
static inline uint64_t
leaf_codes(const ctree *ct, __m512i ra, __m512i rb)
{
	int D = ct->depth, d, top = D < 6 ? D : 6;
	uint64_t w0, w1, nd, s3;

	w0 = _mm512_cmpgt_epu8_mask(_mm512_permutex2var_epi8(ra,
	    _mm512_loadu_si512(ct->cidx), rb), _mm512_loadu_si512(ct->cthr));
	if (D >= 6) {
		s3 = walk3[w0 & 127];
		nd = 63 + 8 * s3 + walk3[_pext_u64(w0, sub3[s3])];
	} else if (D >= 3) {
		nd = 7 + (uint64_t)walk3[w0 & 127];
		for (d = 3; d < top; d++)
			nd = 2 * nd + 1 + ((w0 >> nd) & 1);
	} else {
		nd = 0;
		for (d = 0; d < top; d++)
			nd = 2 * nd + 1 + ((w0 >> nd) & 1);
	}
	if (D == 7) {
		w1 = _mm512_cmpgt_epu8_mask(_mm512_permutex2var_epi8(ra,
		    _mm512_loadu_si512(ct->cidx + 64), rb),
		    _mm512_loadu_si512(ct->cthr + 64));
		nd = 2 * nd + 1 + ((w1 >> (nd - 63)) & 1);
	}
	return nd;
}

/* Depth 7 and four actions in a forest of mixed depths (forests all of
 * depth 7 take walk_nodes7x4_avx512): the same walk in phases
 * over eight rows and up to four trees, so that each phase's steps are
 * independent: every node's direction bit (two permutes and two compares
 * a row and tree), then the leaves of eight rows at once (m, the node's
 * heap number from 1, goes to 2m + bit), then the sums in tree order. */
__attribute__((target(CODES_TARGET)))
static void
walk_codes7x4_avx512(const ctree *ct, int nt, const uint8_t *rows,
    double *acc, int n)
{
	const __m512i ff = _mm512_set1_epi8((char)255);
	const __m512i one = _mm512_set1_epi64(1);
	const __m512i w3lo = _mm512_loadu_si512(walk3);
	const __m512i w3hi = _mm512_loadu_si512(walk3 + 64);
	_Alignas(64) uint64_t w0[4][CODES_SUB + 8], w1[4][CODES_SUB + 8];
	_Alignas(64) uint64_t off[4][CODES_SUB + 8];
	__m512i ra, rb, ix[4][2], th[4][2], W0, W1, m;
	__m256d s;
	int i, r, t;

	for (t = 0; t < nt; t++) {
		ix[t][0] = _mm512_loadu_si512(ct[t].cidx);
		ix[t][1] = _mm512_loadu_si512(ct[t].cidx + 64);
		th[t][0] = _mm512_loadu_si512(ct[t].cthr);
		th[t][1] = _mm512_loadu_si512(ct[t].cthr + 64);
	}
	for (r = 0; r < n; r++) {
		ra = _mm512_load_si512(rows + (size_t)r * 64);
		rb = _mm512_maskz_mov_epi8(_mm512_cmpneq_epi8_mask(ra, ff), ra);
		for (t = 0; t < nt; t++) {
			w0[t][r] = _mm512_cmpgt_epu8_mask(
			    _mm512_permutex2var_epi8(ra, ix[t][0], rb),
			    th[t][0]);
			w1[t][r] = _mm512_cmpgt_epu8_mask(
			    _mm512_permutex2var_epi8(ra, ix[t][1], rb),
			    th[t][1]);
		}
	}
	for (t = 0; t < nt; t++)
		for (i = 0; i < n; i += 8) {
			W0 = _mm512_load_si512(w0[t] + i);
			W1 = _mm512_load_si512(w1[t] + i);
			/* Levels 0 to 2 by the table; m is then 8..15. */
			m = _mm512_and_si512(_mm512_permutex2var_epi8(w3lo,
			    _mm512_and_si512(W0, _mm512_set1_epi64(127)), w3hi),
			    _mm512_set1_epi64(7));
			m = _mm512_add_epi64(m, _mm512_set1_epi64(8));
			/* Levels 3 to 5: node m - 1 has its bit at m - 1. */
			W0 = _mm512_slli_epi64(W0, 1);
#define LVL(W, c) m = _mm512_ternarylogic_epi64(_mm512_slli_epi64(m, 1), \
	_mm512_srlv_epi64((W), (c)), one, 0xf8) /* a | (b & c) */
			LVL(W0, m);
			LVL(W0, m);
			LVL(W0, m);
			/* Level 6: node m - 1 (63..126) at bit m - 64 of W1. */
			LVL(W1, _mm512_sub_epi64(m, _mm512_set1_epi64(64)));
#undef LVL
			/* The leaf, node m - 1: its vector's byte offset. */
			_mm512_store_si512(off[t] + i, _mm512_slli_epi64(
			    _mm512_sub_epi64(m, one), 5));
		}
	for (r = 0; r < n; r++) {
		s = _mm256_loadu_pd(acc + 4 * (size_t)r);
		for (t = 0; t < nt; t++)
			s = _mm256_add_pd(s, _mm256_loadu_pd((const double *)
			    ((const char *)ct[t].val + off[t][r])));
		_mm256_storeu_pd(acc + 4 * (size_t)r, s);
	}
}

/*
 * Depth 7 and four actions, node-major: the codes stay in columns (a
 * feature's codes for 64 rows in one register), so one compare gives a
 * node's direction for 64 rows, against four instructions for 64 nodes
 * of one row in the row-major walk (walk_codes7x4_avx512: two permutes
 * and two compares a row and tree, all on one port).  The rows' leaves
 * then come from these bit masks: the rows reaching a node are those
 * reaching its parent, less or only those going right there, level by
 * level (a node's two children are the two halves of the next level, so
 * eight nodes go by one vector operation), and bit d of a row's leaf is
 * whether the node it reaches at level d sends it right: the or over the
 * level of (reaching and going right).
 */
__attribute__((target(CODES_TARGET)))
static void
walk_nodes7x4_avx512(const ctree *ct, int nt, const uint8_t *cb,
    double *acc, int n)
{
	_Alignas(64) uint64_t go[CODES_SUB / 64][128];
	_Alignas(64) uint64_t reach[128];
	_Alignas(64) uint16_t lf[4][CODES_SUB];
	uint64_t pd[7], r, g;
	const double *lv[4];
	__m512i R, G, P, L;
	__m256d s;
	int t, k, gi, G64 = (n + 63) / 64, d, q, w;

	for (t = 0; t < nt; t++) {
		const ctree *c = &ct[t];

		/* Every node's directions for every group of 64 rows, all
		 * stored before the walk below reads them. */
		for (k = 1; k < 128; k++) {
			const uint8_t *src = cb + (size_t)c->nrow[k] * CODES_SUB;
			__m512i th = _mm512_set1_epi8((char)c->nthr[k]);

			/* All four groups, those past n too (the codes there
			 * are stale or zero, their leaves unused), written
			 * out: gcc -O2 leaves a loop of four, and its
			 * overhead cost 20% of the walk. */
			go[0][k] = _mm512_cmpgt_epu8_mask(_mm512_load_si512(src),
			    th);
			go[1][k] = _mm512_cmpgt_epu8_mask(_mm512_load_si512(src +
			    64), th);
			go[2][k] = _mm512_cmpgt_epu8_mask(_mm512_load_si512(src +
			    128), th);
			go[3][k] = _mm512_cmpgt_epu8_mask(_mm512_load_si512(src +
			    192), th);
		}
		for (gi = 0; gi < G64; gi++) {
			const uint64_t *o = go[gi];

			reach[1] = ~UINT64_C(0);
			for (d = 0; d < 3; d++) {
				w = 1 << d;
				pd[d] = 0;
				for (q = 0; q < w; q++) {
					r = reach[w + q];
					g = o[w + q];
					reach[2 * w + q] = r & ~g;
					reach[3 * w + q] = r & g;
					pd[d] |= r & g;
				}
			}
			for (; d < 6; d++) {
				w = 1 << d;
				P = _mm512_setzero_si512();
				for (q = 0; q < w; q += 8) {
					R = _mm512_load_si512(reach + w + q);
					G = _mm512_load_si512(o + w + q);
					_mm512_store_si512(reach + 2 * w + q,
					    _mm512_andnot_si512(G, R));
					_mm512_store_si512(reach + 3 * w + q,
					    _mm512_and_si512(R, G));
					P = _mm512_ternarylogic_epi64(P, R, G,
					    0xf8);
				}
				pd[d] = _mm512_reduce_or_epi64(P);
			}
			P = _mm512_setzero_si512();
			for (q = 0; q < 64; q += 8)
				P = _mm512_ternarylogic_epi64(P,
				    _mm512_load_si512(reach + 64 + q),
				    _mm512_load_si512(o + 64 + q), 0xf8);
			pd[6] = _mm512_reduce_or_epi64(P);
			/* Each row's leaf, bit 6 - d from level d: the leaf's
			 * heap slot is 127 + it. */
			L = _mm512_setzero_si512();
			for (d = 0; d < 7; d++)
				L = _mm512_mask_add_epi8(L, _cvtu64_mask64(pd[d]),
				    L, _mm512_set1_epi8((char)(64 >> d)));
			/* As four times the leaf, so that the sums below
			 * address its vector (32 bytes) by index * 8. */
			_mm512_store_si512(lf[t] + 64 * gi, _mm512_slli_epi16(
			    _mm512_cvtepu8_epi16(_mm512_castsi512_si256(L)), 2));
			_mm512_store_si512(lf[t] + 64 * gi + 32,
			    _mm512_slli_epi16(_mm512_cvtepu8_epi16(
			    _mm512_extracti64x4_epi64(L, 1)), 2));
		}
	}
	/* The sums, in tree order. */
	for (t = 0; t < nt; t++)
		lv[t] = ct[t].val + 4 * 127;
	if (nt == 4)
		for (k = 0; k < n; k++) {
			s = _mm256_loadu_pd(acc + 4 * (size_t)k);
			s = _mm256_add_pd(s, _mm256_loadu_pd(lv[0] +
			    (size_t)lf[0][k]));
			s = _mm256_add_pd(s, _mm256_loadu_pd(lv[1] +
			    (size_t)lf[1][k]));
			s = _mm256_add_pd(s, _mm256_loadu_pd(lv[2] +
			    (size_t)lf[2][k]));
			s = _mm256_add_pd(s, _mm256_loadu_pd(lv[3] +
			    (size_t)lf[3][k]));
			_mm256_storeu_pd(acc + 4 * (size_t)k, s);
		}
	else
		for (k = 0; k < n; k++) {
			s = _mm256_loadu_pd(acc + 4 * (size_t)k);
			for (t = 0; t < nt; t++)
				s = _mm256_add_pd(s, _mm256_loadu_pd(lv[t] +
				    (size_t)lf[t][k]));
			_mm256_storeu_pd(acc + 4 * (size_t)k, s);
		}
}

/* Whether trees ct[0..nt-1] all have depth 7. */
static int
depth7(const ctree *ct, int nt)
{
	int t;

	for (t = 0; t < nt; t++)
		if (ct[t].depth != 7)
			return 0;
	return 1;
}

/* Trees ct[0..nt-1] (nt <= 4) over rows 0..n-1: each row's leaves are
 * found in all nt trees before its sum takes them in tree order, so
 * that more independent walks are in flight. */
__attribute__((target(CODES_TARGET)))
static void
walk_codes_avx512(const ctree *ct, int nt, const uint8_t *rows,
    double *acc, int A, int n)
{
	const double *lv[4];
	int i, a, t;
	__m512i ra, rb;
	__m256d s;

	for (i = 0; i < n; i++) {
		/* The row's codes, and the copy with missing coded 0. */
		ra = _mm512_load_si512(rows + (size_t)i * 64);
		rb = _mm512_maskz_mov_epi8(_mm512_cmpneq_epi8_mask(ra,
		    _mm512_set1_epi8((char)255)), ra);
		for (t = 0; t < nt; t++)
			lv[t] = ct[t].val + leaf_codes(&ct[t], ra, rb) * A;
		if (A == 4) {
			s = _mm256_loadu_pd(acc + 4 * (size_t)i);
			for (t = 0; t < nt; t++)
				s = _mm256_add_pd(s, _mm256_loadu_pd(lv[t]));
			_mm256_storeu_pd(acc + 4 * (size_t)i, s);
		} else
			for (t = 0; t < nt; t++)
				for (a = 0; a < A; a++)
					acc[(size_t)i * A + a] += lv[t][a];
	}
}

#else
#define HAVE_AVX512 0
#endif

static int simd_off, simd_codes = 1;

void
pt_forest_simd(int level)
{
	simd_off = level <= 0;
	simd_codes = level >= 2;
}

int
pt_forest_uses_codes(const pt_forest *f)
{
#if HAVE_AVX512
	return f->plan != NULL && f->plan->codes && !simd_off && simd_codes &&
	    pt_cpu_has(PT_CPU_AVX512F | PT_CPU_AVX512VL | PT_CPU_AVX512BW |
	    PT_CPU_AVX512DQ | PT_CPU_AVX512VBMI | PT_CPU_BMI2);
#else
	(void)f;
	return 0;
#endif
}

static void
walk_general(const ctree *ct, const double *xb, int32_t *idx, int n)
{
	const cnode *nd = ct->nodes;
	const int32_t *ch = ct->child;
	const uint8_t *cat = ct->cat;
	int i, d;
	double v;
	int32_t j, go;

	for (i = 0; i < n; i++)
		idx[i] = 0;
	if (ct->hascat) {
		for (d = 0; d < ct->depth; d++)
			for (i = 0; i < n; i++) {
				j = idx[i];
				v = xb[nd[j].off + i];
				go = (v > nd[j].t) | ((v < nd[j].t) & cat[j]) |
				    ((v != v) & (int32_t)nd[j].mr);
				idx[i] = ch[2 * j + go];
			}
		return;
	}
	for (d = 0; d < ct->depth; d++)
		for (i = 0; i < n; i++) {
			j = idx[i];
			v = xb[nd[j].off + i];
			go = (v > nd[j].t) | ((v != v) & (int32_t)nd[j].mr);
			idx[i] = ch[2 * j + go];
		}
}

static void
score_small_block(const pt_forest *f, const double *const *cols, size_t base,
    int n, double *const *out)
{
	pt_forest_plan *p = f->plan;
	int A = f->nvocab, F = f->nfeatures, i, a, k;
	double *acc = p->acc;
	int32_t *idx = p->idx;
	const ctree *ct;
	const double *lv;
#if HAVE_AVX512
	int simd = !simd_off && pt_cpu_has(PT_CPU_AVX512F | PT_CPU_AVX512VL);
#endif

	for (i = 0; i < A * BLOCK; i++)
		acc[i] = 0.0;
#if HAVE_AVX512
	if (p->codes && simd && simd_codes && pt_cpu_has(PT_CPU_AVX512BW |
	    PT_CPU_AVX512DQ | PT_CPU_AVX512VBMI | PT_CPU_BMI2)) {
		walk3_init();
		/* Rows in groups whose codes (64 bytes a row) stay in L1
		 * while they are written a byte at a time and read by every
		 * tree. */
		int nodes = A == 4 && depth7(p->t, f->ntrees);

		for (i = 0; i < n; i += CODES_SUB) {
			int m = n - i < CODES_SUB ? n - i : CODES_SUB;

			code_rows_avx512(p, F, cols, base + (size_t)i, m,
			    !nodes);
			for (k = 0; k < f->ntrees; k += 4)
				if (nodes)
					walk_nodes7x4_avx512(&p->t[k], f->ntrees -
					    k < 4 ? f->ntrees - k : 4, p->cb,
					    acc + (size_t)i * A, m);
				else if (A == 4 && depth7(&p->t[k], f->ntrees - k < 4 ?
				    f->ntrees - k : 4))
					walk_codes7x4_avx512(&p->t[k], f->ntrees -
					    k < 4 ? f->ntrees - k : 4, p->rows,
					    acc + (size_t)i * A, m);
				else
					walk_codes_avx512(&p->t[k], f->ntrees - k < 4 ?
				    f->ntrees - k : 4, p->rows,
				    acc + (size_t)i * A, A, m);
		}
		goto done;
	}
#endif
	/* The block's features into one place, for the walks on values.
	 * (The code pass reads the columns themselves; this copy used to
	 * serve it as a prefetch, 10% of its time, which its own prefetch
	 * of the next group now does for less.) */
	for (k = 0; k < F; k++)
		memcpy(p->xb + (size_t)k * BLOCK, cols[k] + base,
		    (size_t)n * sizeof(double));
	for (k = 0; k < f->ntrees; k++) {
		ct = &p->t[k];
		if (ct->depth == 0)
			for (i = 0; i < n; i++)
				idx[i] = 0;
#if HAVE_AVX512
		else if (ct->complete && simd && n % 8 == 0)
			walk_complete_avx512(ct, p->xb, idx, n);
#endif
		else if (ct->complete)
			walk_complete(ct, p->xb, idx, n);
		else
			walk_general(ct, p->xb, idx, n);
#if HAVE_AVX512
		if (A == 4 && simd && n % 8 == 0) {
			add_leaves4_avx512(ct->val, idx, acc, n);
			continue;
		}
#endif
		for (i = 0; i < n; i++) {
			lv = ct->val + (size_t)idx[i] * A;
			for (a = 0; a < A; a++)
				acc[i * A + a] += lv[a];
		}
	}
#if HAVE_AVX512
done:
#endif
	/* acc is row-major (acc[i * A + a]) so that a row's leaf vector is
	 * added with one vector instruction. */
	for (a = 0; a < A; a++)
		for (i = 0; i < n; i++)
			out[a][base + i] = acc[i * A + a] / f->ntrees;
}

void
pt_forest_score_block(const pt_forest *f, const double *const *cols,
    size_t n, double *const *out)
{
	size_t base;
	int m;

	for (base = 0; base < n; base += BLOCK) {
		m = n - base < BLOCK ? (int)(n - base) : BLOCK;
		score_small_block(f, cols, base, m, out);
	}
}

/* ---- YAML ---- */

static int
read_tree(pt_ydoc *d, yaml_node_t *tn, pt_forest *f, int k, pt_err *e)
{
	pt_tree *t = &f->trees[k];
	yaml_node_t *n, *vals, *vi;
	int64_t *feat = NULL, *ml = NULL, *lf = NULL, *rt = NULL, *cat = NULL;
	double *thr = NULL, *v = NULL;
	int nn, i, a, cnt, rc = -1;
	int64_t nodes;
	char what[64];

	/* The keys of a forest's tree; a policy tree's (policy-split fit)
	 * carry their rows, counts and actions too. */
	static const char *const keys[] = { "nodes", "feature", "threshold",
		"missing_left", "category", "left", "right", "value", "id",
		"open", "action", "rows", "count", "mean", NULL };

	if (tn == NULL || tn->type != YAML_MAPPING_NODE)
		return pt_yfail(e, d, tn, PT_EFORMAT, "tree %d: expected a "
		    "mapping", k);
	if (pt_ymap_only(d, tn, keys, e) < 0 ||
	    (n = pt_ynode_need(d, tn, "feature", e)) == NULL)
		return -1;
	if ((nn = pt_ynode_len(n)) < 1)
		return pt_yfail(e, d, n, PT_EFORMAT, "tree %d: feature: expected "
		    "a non-empty list", k);
	if ((n = pt_ynode_get(d, tn, "nodes")) != NULL) {
		if (pt_ynode_i64(d, n, "nodes", &nodes, e) < 0)
			return -1;
		if (nodes != nn)
			return pt_yfail(e, d, n, PT_EFORMAT, "tree %d: nodes: %"
			    PRId64 " but %d features listed", k, nodes, nn);
	}
	if (!(feat = pt_ynode_i64s(d, pt_ynode_need(d, tn, "feature", e),
	    "feature", nn, NULL, e)) ||
	    !(thr = pt_ynode_f64s(d, pt_ynode_need(d, tn, "threshold", e),
	    "threshold", nn, NULL, e)) ||
	    !(ml = pt_ynode_i64s(d, pt_ynode_need(d, tn, "missing_left", e),
	    "missing_left", nn, NULL, e)) ||
	    !(lf = pt_ynode_i64s(d, pt_ynode_need(d, tn, "left", e), "left",
	    nn, NULL, e)) ||
	    !(rt = pt_ynode_i64s(d, pt_ynode_need(d, tn, "right", e), "right",
	    nn, NULL, e)))
		goto out;
	if ((n = pt_ynode_get(d, tn, "category")) != NULL &&
	    (cat = pt_ynode_i64s(d, n, "category", nn, NULL, e)) == NULL)
		goto out;
	if ((vals = pt_ynode_need(d, tn, "value", e)) == NULL)
		goto out;
	if (pt_ynode_len(vals) != nn) {
		pt_yfail(e, d, vals, PT_EFORMAT, "tree %d: value: expected %d "
		    "vectors", k, nn);
		goto out;
	}
	if (tree_alloc(t, nn, f->nvocab, cat != NULL) < 0) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		goto out;
	}
	for (i = 0; i < nn; i++) {
		if (feat[i] < -1 || feat[i] > INT32_MAX || lf[i] < -1 ||
		    lf[i] > INT32_MAX || rt[i] < -1 || rt[i] > INT32_MAX ||
		    ml[i] < 0 || ml[i] > 1 || (cat && (cat[i] < 0 ||
		    cat[i] > 1))) {
			pt_yfail(e, d, tn, PT_EFORMAT, "tree %d: node %d: "
			    "index or flag out of range", k, i);
			goto out;
		}
		t->feature[i] = (int32_t)feat[i];
		t->threshold[i] = thr[i];
		t->missing_left[i] = (uint8_t)ml[i];
		t->left[i] = (int32_t)lf[i];
		t->right[i] = (int32_t)rt[i];
		if (cat)
			t->category[i] = (uint8_t)cat[i];
		vi = pt_ynode_item(d, vals, i);
		cnt = pt_ynode_len(vi);
		if (cnt == 0 && feat[i] >= 0)
			continue; /* internal nodes may omit values */
		snprintf(what, sizeof what, "tree %d: value of node %d", k, i);
		free(v);
		if ((v = pt_ynode_f64s(d, vi, what, f->nvocab, NULL, e)) == NULL)
			goto out;
		for (a = 0; a < f->nvocab; a++)
			t->value[(size_t)i * f->nvocab + a] = v[a];
	}
	rc = 0;
out:
	free(feat);
	free(thr);
	free(ml);
	free(lf);
	free(rt);
	free(cat);
	free(v);
	return rc;
}

/* The reward block of a fitted outcome forest: rows, propensity and
 * propensity_floor together (or none of them), cost optional. */
static int
read_reward(pt_ydoc *d, yaml_node_t *root, pt_forest *f, pt_err *e)
{
	yaml_node_t *rn = pt_ynode_get(d, root, "rows"),
	    *pn = pt_ynode_get(d, root, "propensity"),
	    *fn = pt_ynode_get(d, root, "propensity_floor"),
	    *cn = pt_ynode_get(d, root, "cost");
	int A = f->nvocab;

	if (rn == NULL && pn == NULL && fn == NULL) {
		if (cn != NULL)
			return pt_yfail(e, d, cn, PT_EFORMAT, "cost: only with "
			    "rows, propensity and propensity_floor");
		return 0;
	}
	if ((f->rows = pt_ynode_u64s(d, pt_ynode_need(d, root, "rows", e),
	    "rows", A, NULL, e)) == NULL ||
	    (f->prop = pt_ynode_f64s(d, pt_ynode_need(d, root, "propensity",
	    e), "propensity", A, NULL, e)) == NULL ||
	    pt_ynode_f64(d, pt_ynode_need(d, root, "propensity_floor", e),
	    "propensity_floor", &f->prop_floor, e) < 0)
		return -1;
	if (!(f->prop_floor > 0 && f->prop_floor <= 1))
		return pt_yfail(e, d, fn, PT_EFORMAT, "propensity_floor: in "
		    "(0, 1]");
	for (int a = 0; a < A; a++)
		if (!(f->prop[a] >= 0 && f->prop[a] <= 1))
			return pt_yfail(e, d, pn, PT_EFORMAT, "propensity: "
			    "each in [0, 1]");
	if (cn != NULL) {
		if ((f->cost = pt_ynode_f64s(d, cn, "cost", A, NULL, e)) ==
		    NULL)
			return -1;
		for (int a = 0; a < A; a++)
			if (!isfinite(f->cost[a]))
				return pt_yfail(e, d, cn, PT_EFORMAT, "cost: "
				    "finite numbers");
	}
	return 0;
}

/* folds and fold_seed: both or neither (folds 1). */
static int
read_folds(pt_ydoc *d, yaml_node_t *root, pt_forest *f, pt_err *e)
{
	yaml_node_t *kn = pt_ynode_get(d, root, "folds"),
	    *sn = pt_ynode_get(d, root, "fold_seed");
	int64_t v;

	f->folds = 1;
	f->fold_seed = 0;
	if (kn == NULL && sn == NULL)
		return 0;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "folds", e), "folds", 2,
	    100, &v, e) < 0 || pt_ynode_u64(d, pt_ynode_need(d, root,
	    "fold_seed", e), "fold_seed", &f->fold_seed, e) < 0)
		return -1;
	f->folds = (int)v;
	return 0;
}

pt_forest *
pt_forest_fold(const pt_forest *f, int fold, pt_err *e)
{
	pt_forest *o = calloc(1, sizeof *o);
	int n = 0;

	if (o == NULL)
		goto nomem;
	o->folds = 1;
	memcpy(o->manifest, f->manifest, sizeof o->manifest);
	o->nfeatures = f->nfeatures;
	o->nvocab = f->nvocab;
	if ((o->features = pt_strs_dup(f->features, f->nfeatures)) == NULL ||
	    (o->vocab = pt_strs_dup(f->vocab, f->nvocab)) == NULL ||
	    (o->trees = calloc((size_t)f->ntrees, sizeof *o->trees)) == NULL)
		goto nomem;
	for (int k = fold; k < f->ntrees; k += f->folds) {
		const pt_tree *t = &f->trees[k];
		pt_tree *c = &o->trees[n];
		size_t m = (size_t)t->nnodes;
		o->ntrees = ++n;
		if (tree_alloc(c, t->nnodes, f->nvocab, t->category != NULL) < 0)
			goto nomem;
		memcpy(c->feature, t->feature, m * sizeof *c->feature);
		memcpy(c->threshold, t->threshold, m * sizeof *c->threshold);
		memcpy(c->missing_left, t->missing_left, m);
		if (t->category != NULL)
			memcpy(c->category, t->category, m);
		memcpy(c->left, t->left, m * sizeof *c->left);
		memcpy(c->right, t->right, m * sizeof *c->right);
		memcpy(c->value, t->value, m * (size_t)f->nvocab *
		    sizeof *c->value);
		c->depth = t->depth;
	}
	if (pt_forest_compile(o, e) < 0) {
		pt_forest_free(o);
		return NULL;
	}
	return o;
nomem:
	pt_forest_free(o);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

int
pt_forest_is(const char *buf, size_t len)
{
	static const char fl[] = "format: policy-forest\n";

	/* The format line comes first, after the comment lines. */
	for (size_t i = 0; i + sizeof fl - 1 <= len && i < 4096; i++)
		if ((i == 0 || buf[i - 1] == '\n') &&
		    memcmp(buf + i, fl, sizeof fl - 1) == 0)
			return 1;
	return 0;
}

pt_forest *
pt_forest_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-forest", "policy-tree",
	    NULL };
	/* A forest's keys: policy-score forest-gen's, policy-split fit
	 * --trees' and a policy tree's. */
	static const char *const keys[] = { PT_FHEAD_KEYS, "trees", "model",
		"criterion", "search", "depth", "level", "min_node_size",
		"complete", "subsample", "mtry", "seed", "rows", "propensity",
		"propensity_floor", "cost", "folds", "fold_seed", NULL };
	pt_ydoc d;
	yaml_node_t *root, *trees;
	pt_fhead h;
	pt_forest *f = NULL;
	int k;

	if ((root = pt_fhead_load(&d, &h, buf, len, name, "forest", formats,
	    NULL, e)) == NULL)
		goto fail;
	if ((f = calloc(1, sizeof *f)) == NULL) {
		pt_fhead_free(&h);
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		goto fail;
	}
	memcpy(f->manifest, h.manifest, sizeof f->manifest);
	f->nfeatures = h.nfeatures;
	f->features = h.features;
	f->nvocab = h.nvocab;
	f->vocab = h.vocab;
	if (pt_ymap_only(&d, root, keys, e) < 0 ||
	    (trees = pt_ynode_need(&d, root, "trees", e)) == NULL)
		goto fail;
	if (read_reward(&d, root, f, e) < 0 || read_folds(&d, root, f, e) < 0)
		goto fail;
	if ((f->ntrees = pt_ynode_len(trees)) < 1) {
		pt_yfail(e, &d, trees, PT_EFORMAT, "trees: expected a non-empty "
		    "list");
		f->ntrees = 0;
		goto fail;
	}
	if (f->ntrees < f->folds) {
		pt_yfail(e, &d, trees, PT_EFORMAT, "%d trees for %d folds: "
		    "every fold needs one", f->ntrees, f->folds);
		f->ntrees = 0;
		goto fail;
	}
	if ((f->trees = calloc((size_t)f->ntrees, sizeof *f->trees)) == NULL) {
		f->ntrees = 0;
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		goto fail;
	}
	for (k = 0; k < f->ntrees; k++)
		if (read_tree(&d, pt_ynode_item(&d, trees, k), f, k, e) < 0)
			goto fail;
	if (pt_forest_compile(f, e) < 0) {
		/* tree_check names the tree; add the file. */
		char w[600];

		if (e) {
			snprintf(w, sizeof w, "%s: %s", name, e->where);
			snprintf(e->where, sizeof e->where, "%.255s", w);
		}
		goto fail;
	}
	pt_ydoc_free(&d);
	return f;
fail:
	pt_ydoc_free(&d);
	pt_forest_free(f);
	return NULL;
}

/* "    key: [a, b, ...]\n" */
static void
put_ints(pt_buf *b, const char *key, const int32_t *v32, const uint8_t *v8,
    int n)
{
	pt_y_key(b, 4, key);
	pt_buf_putc(b, '[');
	for (int i = 0; i < n; i++)
		pt_buf_printf(b, i ? ", %d" : "%d", v32 ? (int)v32[i] : (int)v8[i]);
	pt_buf_puts(b, "]\n");
}

int
pt_forest_write(const pt_forest *f, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;

	pt_fhead_write(&b, "policy-forest", f->manifest, f->nfeatures,
	    f->features, f->nvocab, f->vocab);
	if (f->prop != NULL) {
		pt_buf_puts(&b, "rows: [");
		for (int a = 0; a < f->nvocab; a++) {
			pt_buf_puts(&b, a ? ", " : "");
			pt_y_u64(&b, f->rows[a]);
		}
		pt_buf_puts(&b, "]\npropensity: ");
		pt_y_f64s(&b, f->prop, f->nvocab);
		pt_buf_puts(&b, "\npropensity_floor: ");
		pt_y_f64(&b, f->prop_floor);
		pt_buf_putc(&b, '\n');
		if (f->cost != NULL) {
			pt_buf_puts(&b, "cost: ");
			pt_y_f64s(&b, f->cost, f->nvocab);
			pt_buf_putc(&b, '\n');
		}
	}
	if (f->folds > 1) {
		pt_buf_printf(&b, "folds: %d\nfold_seed: ", f->folds);
		pt_y_u64(&b, f->fold_seed);
		pt_buf_putc(&b, '\n');
	}
	pt_buf_puts(&b, "trees:\n");
	for (int k = 0; k < f->ntrees; k++) {
		const pt_tree *t = &f->trees[k];
		pt_buf_printf(&b, "  - nodes: %d\n", t->nnodes);
		put_ints(&b, "feature", t->feature, NULL, t->nnodes);
		pt_y_key(&b, 4, "threshold");
		pt_y_f64s(&b, t->threshold, t->nnodes);
		pt_buf_putc(&b, '\n');
		put_ints(&b, "missing_left", NULL, t->missing_left, t->nnodes);
		if (t->category)
			put_ints(&b, "category", NULL, t->category, t->nnodes);
		put_ints(&b, "left", t->left, NULL, t->nnodes);
		put_ints(&b, "right", t->right, NULL, t->nnodes);
		pt_y_key(&b, 4, "value");
		pt_buf_putc(&b, '[');
		for (int i = 0; i < t->nnodes; i++) {
			if (i)
				pt_buf_puts(&b, ", ");
			/* Only leaves' vectors count; split nodes write []. */
			pt_y_f64s(&b, &t->value[(size_t)i * f->nvocab],
			    t->feature[i] < 0 ? f->nvocab : 0);
		}
		pt_buf_puts(&b, "]\n");
	}
	pt_y_digest(&b, NULL);
	return pt_buf_take(&b, out, len, "forest", e);
}

pt_forest *
pt_forest_generate(int ntrees, int depth, int nfeatures, int narms,
    uint64_t seed, pt_err *e)
{
	pt_forest *f;
	pt_tree *t;
	uint64_t st = seed;
	int k, i, a, n, ninternal;
	char name[32];

	if (ntrees < 1 || depth < 0 || depth > 20 || nfeatures < 1 ||
	    narms < 1 || nfeatures > 1000000 || narms > 100000) {
		pt_fail(e, PT_EUSAGE, "", "forest-gen: need trees >= 1, 0 <= "
		    "depth <= 20, features >= 1, arms >= 1");
		return NULL;
	}
	if ((f = calloc(1, sizeof *f)) == NULL)
		goto nomem;
	f->nfeatures = nfeatures;
	f->nvocab = narms;
	if (!(f->features = calloc((size_t)nfeatures, sizeof(char *))) ||
	    !(f->vocab = calloc((size_t)narms, sizeof(char *))))
		goto nomem;
	for (i = 0; i < nfeatures; i++) {
		snprintf(name, sizeof name, "x%d", i + 1);
		if ((f->features[i] = pt_strdup(name)) == NULL)
			goto nomem;
	}
	for (a = 0; a < narms; a++) {
		snprintf(name, sizeof name, "a%d", a);
		if ((f->vocab[a] = pt_strdup(name)) == NULL)
			goto nomem;
	}
	if ((f->trees = calloc((size_t)ntrees, sizeof *f->trees)) == NULL)
		goto nomem;
	n = (1 << (depth + 1)) - 1;
	ninternal = (1 << depth) - 1;
	for (k = 0; k < ntrees; k++) {
		f->ntrees = k + 1;
		t = &f->trees[k];
		if (tree_alloc(t, n, narms, 0) < 0)
			goto nomem;
		for (i = 0; i < n; i++) {
			if (i < ninternal) {
				t->feature[i] = (int32_t)(pt_splitmix64_next(&st) %
				    (uint64_t)nfeatures);
				t->threshold[i] = (double)(pt_splitmix64_next(&st) >> 54) /
				    1024.0;
				t->missing_left[i] = (uint8_t)(pt_splitmix64_next(&st) >> 63);
				t->left[i] = 2 * i + 1;
				t->right[i] = 2 * i + 2;
			} else {
				t->feature[i] = t->left[i] = t->right[i] = -1;
				for (a = 0; a < narms; a++)
					t->value[(size_t)i * narms + a] =
					    (double)(pt_splitmix64_next(&st) >> 48) / 65536.0;
			}
		}
	}
	if (pt_forest_compile(f, e) < 0) {
		pt_forest_free(f);
		return NULL;
	}
	return f;
nomem:
	pt_forest_free(f);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

int
pt_forest_bind(const pt_forest *f, const pt_schema *s, int *colmap,
    pt_err *e)
{
	int j, c, nf;

	if (f->manifest[0]) {
		if (strcmp(f->manifest, s->manifest) != 0)
			return pt_fail(e, PT_EMISMATCH, "", "the model was made "
			    "for manifest %s, the frames for manifest %s",
			    f->manifest, s->manifest);
		nf = pt_schema_count_role(s, PT_ROLE_FEATURE);
		for (j = 0; j < nf && j < f->nfeatures; j++) {
			c = pt_schema_find_role(s, PT_ROLE_FEATURE, j);
			if (strcmp(s->cols[c].name, f->features[j]) != 0)
				break;
		}
		if (nf != f->nfeatures || j != nf)
			return pt_fail(e, PT_EMISMATCH, "", "the model's feature "
			    "order differs from the frames' (feature %d: '%s' "
			    "vs '%s')", j, j < f->nfeatures ? f->features[j] :
			    "(none)", j < nf ? s->cols[pt_schema_find_role(s,
			    PT_ROLE_FEATURE, j)].name : "(none)");
	}
	for (j = 0; j < f->nfeatures; j++) {
		c = pt_schema_find(s, f->features[j]);
		if (c < 0)
			return pt_fail(e, PT_EMISMATCH, "", "the frames lack "
			    "column '%s' that the model needs", f->features[j]);
		if (s->cols[c].type != PT_F64)
			return pt_fail(e, PT_EMISMATCH, "", "column '%s' is %s, "
			    "the model needs f64", f->features[j],
			    pt_type_name(s->cols[c].type));
		colmap[j] = c;
	}
	return 0;
}

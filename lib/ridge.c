/*
 * ridge.c: exact sufficient statistics and a fixed-order Cholesky solve.
 */
#include "ridge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
pt_ridge_init(pt_ridge *r, int p)
{
	int i, nz = p * (p + 1) / 2;

	memset(r, 0, sizeof *r);
	r->p = p;
	r->zz = malloc((size_t)nz * sizeof *r->zz);
	r->zy = malloc((size_t)p * sizeof *r->zy);
	if (r->zz == NULL || r->zy == NULL) {
		pt_ridge_free(r);
		return -1;
	}
	for (i = 0; i < nz; i++)
		pt_xsum_init(&r->zz[i]);
	for (i = 0; i < p; i++)
		pt_xsum_init(&r->zy[i]);
	return 0;
}

void
pt_ridge_free(pt_ridge *r)
{
	free(r->zz);
	free(r->zy);
	r->zz = r->zy = NULL;
}

void
pt_ridge_add(pt_ridge *r, const double *z, double y)
{
	int p = r->p, j, k;
	pt_xsum *row;

	r->rows++;
	for (j = 0; j < p; j++) {
		if (z[j] == 0)
			continue;
		pt_xsum_add(&r->zy[j], z[j] * y);
		row = r->zz + pt_ridge_at(p, j, j);
		for (k = j; k < p; k++)
			if (z[k] != 0)
				pt_xsum_add(&row[k - j], z[j] * z[k]);
	}
}

void
pt_ridge_add_block(pt_ridge *r, const double *z, size_t stride,
    const double *y, size_t n)
{
	int p = r->p, j, k;
	size_t i;

	r->rows += n;
	for (j = 0; j < p; j++) {
		const double *zj = z + (size_t)j * stride;
		pt_xsum *row = r->zz + pt_ridge_at(p, j, j);
		for (i = 0; i < n; i++)
			if (zj[i] != 0)
				pt_xsum_add(&r->zy[j], zj[i] * y[i]);
		for (k = j; k < p; k++) {
			const double *zk = z + (size_t)k * stride;
			pt_xsum *acc = &row[k - j];
			for (i = 0; i < n; i++)
				if (zj[i] != 0 && zk[i] != 0)
					pt_xsum_add(acc, zj[i] * zk[i]);
		}
	}
}

int
pt_ridge_add_w(pt_ridge *r, const double *z, double y, double w)
{
	size_t bad;

	return pt_ridge_add_block_w(r, z, 1, &y, &w, 1, &bad);
}

/* The unweighted loops with each rounded product added w[i] times: a
 * separate function, so that the unweighted path keeps its speed. */
int
pt_ridge_add_block_w(pt_ridge *r, const double *z, size_t stride,
    const double *y, const double *w, size_t n, size_t *bad)
{
	int p = r->p, j, k;
	size_t i;

	r->rows += n;
	for (j = 0; j < p; j++) {
		const double *zj = z + (size_t)j * stride;
		pt_xsum *row = r->zz + pt_ridge_at(p, j, j);
		for (i = 0; i < n; i++)
			if (zj[i] != 0 && pt_xsum_add_prod(&r->zy[j], w[i],
			    zj[i] * y[i]) < 0)
				goto fail;
		for (k = j; k < p; k++) {
			const double *zk = z + (size_t)k * stride;
			pt_xsum *acc = &row[k - j];
			for (i = 0; i < n; i++)
				if (zj[i] != 0 && zk[i] != 0 &&
				    pt_xsum_add_prod(acc, w[i], zj[i] * zk[i]) < 0)
					goto fail;
		}
	}
	return 0;
fail:
	*bad = i;
	return -1;
}

void
pt_ridge_merge(pt_ridge *dst, const pt_ridge *src)
{
	int i, nz = dst->p * (dst->p + 1) / 2;

	dst->rows += src->rows;
	for (i = 0; i < nz; i++)
		pt_xsum_merge(&dst->zz[i], &src->zz[i]);
	for (i = 0; i < dst->p; i++)
		pt_xsum_merge(&dst->zy[i], &src->zy[i]);
}

void
pt_ridge_sub(pt_ridge *dst, const pt_ridge *src)
{
	int i, nz = dst->p * (dst->p + 1) / 2;

	dst->rows -= src->rows;
	for (i = 0; i < nz; i++)
		pt_xsum_sub(&dst->zz[i], &src->zz[i]);
	for (i = 0; i < dst->p; i++)
		pt_xsum_sub(&dst->zy[i], &src->zy[i]);
}

int
pt_ridge_factor(const pt_ridge *r, double scale, double lambda, double *L,
    pt_err *e)
{
	int p = r->p, i, j, k, rc = -1;
	double *a, s, d;

	memset(L, 0, (size_t)p * p * sizeof *L);
	if ((a = calloc((size_t)p * p, sizeof *a)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (j = 0; j < p; j++)
		for (k = j; k < p; k++) {
			s = pt_xsum_round(&r->zz[pt_ridge_at(p, j, k)]) * scale;
			if (!isfinite(s)) {
				pt_fail(e, PT_EVALUE, "", "a sum of squares is "
				    "not finite (values too large?)");
				goto out;
			}
			a[j * p + k] = a[k * p + j] = s;
		}
	for (j = 1; j < p; j++)
		a[j * p + j] = a[j * p + j] + lambda;
	/* Cholesky, L lower triangular, sums in increasing k. */
	for (j = 0; j < p; j++) {
		s = a[j * p + j];
		for (k = 0; k < j; k++)
			s = s - L[j * p + k] * L[j * p + k];
		/* A pivot that lost all but 1e-10 of its diagonal is
		 * numerical noise: the system is singular in practice. */
		if (!(s > 1e-10 * a[j * p + j]) || !(s > 0)) {
			pt_fail(e, PT_EVALUE, "", "singular system at design "
			    "column %d (a constant, empty or collinear column); "
			    "%s", j, lambda > 0 ? "raise --lambda" :
			    "use --lambda > 0");
			goto out;
		}
		d = sqrt(s);
		L[j * p + j] = d;
		for (i = j + 1; i < p; i++) {
			s = a[i * p + j];
			for (k = 0; k < j; k++)
				s = s - L[i * p + k] * L[j * p + k];
			L[i * p + j] = s / d;
		}
	}
	rc = 0;
out:
	free(a);
	return rc;
}

void
pt_ridge_backsolve(const double *L, int p, const double *rhs, double *b)
{
	int i, k;
	double s;

	/* L c = rhs, then L' b = c. */
	for (i = 0; i < p; i++) {
		s = rhs[i];
		for (k = 0; k < i; k++)
			s = s - L[i * p + k] * b[k];
		b[i] = s / L[i * p + i];
	}
	for (i = p - 1; i >= 0; i--) {
		s = b[i];
		for (k = i + 1; k < p; k++)
			s = s - L[k * p + i] * b[k];
		b[i] = s / L[i * p + i];
	}
}

int
pt_ridge_solve(const pt_ridge *r, double lambda, double *b, pt_err *e)
{
	int p = r->p, i, rc = -1;
	double *L = NULL, *rhs = NULL;

	L = malloc((size_t)p * p * sizeof *L);
	rhs = calloc((size_t)p + 1, sizeof *rhs);
	if (L == NULL || rhs == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	if (pt_ridge_factor(r, 1.0, lambda, L, e) < 0)
		goto out;
	for (i = 0; i < p; i++)
		rhs[i] = pt_xsum_round(&r->zy[i]);
	pt_ridge_backsolve(L, p, rhs, b);
	for (i = 0; i < p; i++)
		if (!isfinite(b[i])) {
			pt_fail(e, PT_EVALUE, "", "the solution is not finite; "
			    "raise --lambda");
			goto out;
		}
	rc = 0;
out:
	free(L);
	free(rhs);
	return rc;
}

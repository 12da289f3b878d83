/*
 * bincode.c: bin codes, so that each histogram pass need not bin the
 * values again: policy-prep apply writes, per feature, a u8 column of its
 * bins beside its values, and the pass adds rows at those codes.  The
 * codes are the bins of a partial exactly (the same search, the missing
 * bin last), made by the same kernels the pass bins values with.
 */
#include "bincode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist_kernels.h"

int
pt_hist_code_name(const pt_feature *f, char nm[512])
{
	return f->nbounds <= PT_CODE_BOUNDS &&
	    snprintf(nm, 512, "bin:%s", f->name) < 512;
}

void
pt_hist_codes(const pt_feature *f, const double *x, size_t n, uint8_t *out)
{
	const hk_table *K = pt_hk_table();
	int nb = f->nbounds, k;
	size_t j;

	if (nb <= 31) {
		double t[32], pt[PTAB];
		uint8_t tail[8];
		for (k = 0; k < 32; k++)
			t[k] = k < nb ? f->bounds[k] : INFINITY;
		pt_hk_bin32_tables(t, pt);
		/* Whole groups of 8 in place, the rest through tail: a kernel
		 * may write a whole group. */
		j = n & ~(size_t)7;
		K->bin32(t, pt, x, j, out);
		if (j < n) {
			K->bin32(t, pt, x + j, n - j, tail);
			memcpy(out + j, tail, n - j);
		}
		/* The padded search puts a missing value at 32. */
		for (j = 0; j < n; j++)
			out[j] = out[j] == 32 ? (uint8_t)(nb + 1) : out[j];
		return;
	}
	for (j = 0; j < n; j++)
		out[j] = (uint8_t)(x[j] != x[j] ? nb + 1 : bin_of(f->bounds, nb,
		    x[j]));
}

pt_schema *
pt_hist_code_schema(const pt_manifest *m, const pt_schema *s, pt_err *e)
{
	pt_schema *o = pt_schema_clone(s);
	char nm[512];
	int f;

	if (o == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (f = 0; f < m->nfeatures; f++) {
		if (!pt_hist_code_name(&m->features[f], nm) || pt_schema_find(o, nm) >= 0)
			continue;
		if (pt_schema_add(o, nm, PT_U8, PT_ROLE_BIN, 0, NULL, e) < 0) {
			pt_schema_free(o);
			return NULL;
		}
	}
	return o;
}

int
pt_hist_fill_codes(const pt_manifest *m, pt_batch *b, pt_err *e)
{
	const pt_schema *s = b->schema;
	int j, f, nbin = pt_schema_count_role(s, PT_ROLE_BIN);
	int *fc;
	char nm[512];

	if (nbin == 0)
		return 0;
	if ((fc = malloc(sizeof *fc * ((size_t)m->nfeatures + 1))) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	/* The features' columns, then each code column's feature. */
	for (f = 0; f < m->nfeatures; f++)
		fc[f] = -1;
	for (j = 0, f = 0; j < s->ncols && f < m->nfeatures; j++)
		if (s->cols[j].role == PT_ROLE_FEATURE && s->cols[j].type ==
		    PT_F64 && strcmp(s->cols[j].name, m->features[f].name) == 0)
			fc[f++] = j;
	for (j = 0, f = 0; j < s->ncols; j++) {
		if (s->cols[j].role != PT_ROLE_BIN)
			continue;
		while (f < m->nfeatures && (!pt_hist_code_name(&m->features[f], nm) ||
		    strcmp(s->cols[j].name, nm) != 0))
			f++;
		if (f == m->nfeatures || fc[f] < 0 || s->cols[j].type != PT_U8) {
			free(fc);
			return pt_fail(e, PT_EMISMATCH, "", "code column %s does not "
			    "follow the manifest's features", s->cols[j].name);
		}
		pt_hist_codes(&m->features[f], PT_COL_F64(b, fc[f]), b->nrows,
		    PT_COL_U8(b, j));
		f++;
	}
	free(fc);
	return 0;
}

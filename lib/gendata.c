/*
 * gendata.c: benchmark frames (gendata.h).
 */
#include "gendata.h"

#include <math.h>
#include <stdio.h>

pt_schema *
pt_gendata_schema(const pt_gendata *g, pt_err *e)
{
	pt_schema *s = pt_schema_new("00000000000000000000000000000000");
	char name[32];

	if (s == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	if (pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, e) < 0)
		goto fail;
	for (int j = 0; j < g->features; j++) {
		snprintf(name, sizeof name, "x%d", j + 1);
		if (pt_schema_add(s, name, PT_F64, PT_ROLE_FEATURE, 0, NULL,
		    e) < 0)
			goto fail;
	}
	return s;
fail:
	pt_schema_free(s);
	return NULL;
}

void
pt_gendata_fill(const pt_gendata *g, pt_batch *b, uint64_t first, size_t n)
{
	/* A value is missing when a second hash falls below this share of
	 * 2^64 (all of them at 1). */
	uint64_t thresh = g->missing >= 1 ? UINT64_MAX :
	    (uint64_t)(g->missing * 18446744073709551616.0);

	b->nrows = n;
	for (size_t i = 0; i < n; i++)
		PT_COL_U64(b, 0)[i] = pt_splitmix64((first + i) ^
		    (g->seed * UINT64_C(0x2545f4914f6cdd1d)));
	for (int j = 0; j < g->features; j++) {
		double *x = PT_COL_F64(b, 1 + j);
		uint64_t base = g->seed * UINT64_C(0x9e3779b97f4a7c15) +
		    (uint64_t)j * UINT64_C(0xd1b54a32d192ed03);

		for (size_t i = 0; i < n; i++) {
			uint64_t h = pt_splitmix64(base ^ ((first + i) << 8));
			x[i] = pt_splitmix64(h) < thresh ? NAN :
			    (double)(h >> 11) * 0x1p-53;
		}
	}
}

/*
 * gendata.h: benchmark frames (policy-score gen-data): a row hash and
 * features uniform in [0, 1), a share missing.  Every value is a function
 * of (seed, row number, feature), so ranges of row numbers generated apart
 * are partitions of one data set.
 */
#ifndef PT_GENDATA_H
#define PT_GENDATA_H

#include <stdint.h>

#include "frame.h"
#include "pt.h"

typedef struct pt_gendata {
	int features;   /* x1..xF */
	double missing; /* share of missing values, in [0, 1] */
	uint64_t seed;
} pt_gendata;

/* The schema: _row (u64, role row), then x1..xF (f64 features), under the
 * all-zero manifest digest.  Caller frees; NULL with e set. */
pt_schema *pt_gendata_schema(const pt_gendata *g, pt_err *e);
/* Fills b (of that schema, cap >= n) with rows first .. first + n - 1. */
void pt_gendata_fill(const pt_gendata *g, pt_batch *b, uint64_t first,
    size_t n);

#endif

/*
 * partition.h: repartitioning a frame stream (policy-prep split): the rows
 * of one schema dealt into n writers, by row hash, round-robin or
 * shuffled.
 */
#ifndef PT_PARTITION_H
#define PT_PARTITION_H

#include <stdint.h>

#include "frame.h"
#include "pt.h"

typedef enum pt_partmode { PT_PART_HASH, PT_PART_ROUNDROBIN, PT_PART_SHUFFLE } pt_partmode;

typedef struct pt_parter pt_parter;

/* A repartitioner of rows of schema s into n parts.  PT_PART_HASH needs a
 * _row column.  seed drives the shuffle and round-robin generator.
 * Returns a new repartitioner (pt_parter_free), or NULL with e set. */
pt_parter *pt_parter_new(const pt_schema *s, int n, pt_partmode mode,
    uint64_t seed, pt_err *e);
/* The schema of the parts (owned by p): s with an i32 column _part (role
 * PT_ROLE_PART, levels "0".."n-1"), each row's part index, so that every
 * partial made from a part knows which part of how many it is (partid.h);
 * an earlier _part column is replaced. */
const pt_schema *pt_parter_schema(const pt_parter *p);
/* Deals the rows of b (of schema s) out to the writers w[0..n) (opened on
 * pt_parter_schema), writing each part's frame when full.  Returns 0, or
 * -1 with e set. */
int pt_parter_feed(pt_parter *p, pt_writer **w, const pt_batch *b,
    pt_err *e);
/* Writes every part's last partial frame; does not close the writers.
 * Returns 0, or -1 with e set. */
int pt_parter_finish(pt_parter *p, pt_writer **w, pt_err *e);
/* Frees p and its buffers (NULL is fine); the writers stay the caller's. */
void pt_parter_free(pt_parter *p);

#endif

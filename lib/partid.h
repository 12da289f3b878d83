/*
 * partid.h: which partition a partial was made from, so that a merge
 * takes every partition once and, told how many there are, all of them.
 *
 * Frames that policy-prep split wrote carry an i32 column _part (role
 * PT_ROLE_PART) whose value is the part's index and whose levels count
 * the parts: such rows belong to partition "k/N" (k zero-padded to N's
 * width, so ids sort as numbers), whatever their content, and two parts
 * that hold the same rows are still two parts.  Other frames are named by
 * their rows: "ROWS-H1H2", the row count and two order-free sums of
 * mixes of the _row hashes; "empty" for none.
 */
#ifndef PT_PARTID_H
#define PT_PARTID_H

#include <stdint.h>

#include "frame.h"
#include "pt.h"

#define PT_PARTID_LEN 64  /* an id and its NUL */
#define PT_PARTID_MAXPARTS 1000000

typedef struct pt_partid {
	int rowcol, partcol; /* the _row and _part columns, or -1 */
	int of;              /* the parts policy-prep split made, 0 without */
	uint8_t *seen;       /* of entries: which parts had rows */
	uint64_t rows, h1, h2;
} pt_partid;

/* Finds the columns in s.  0, or -1 (e) for a _part column of no parts. */
int pt_partid_bind(pt_partid *p, const pt_schema *s, pt_err *e);
/* Counts the rows of b (of the bound schema).  0, or -1 (e) for a part
 * index outside 0..N-1. */
int pt_partid_add(pt_partid *p, const pt_batch *b, pt_err *e);
/* The ids of what was added: one per part seen, or one for the rows.
 * *ids malloc'd (caller frees), *n set.  0 or -1 (ENOMEM). */
int pt_partid_ids(const pt_partid *p, char (**ids)[PT_PARTID_LEN], int *n,
    pt_err *e);
void pt_partid_free(pt_partid *p);

/* Checks a user's --partition ID: 1 to 63 printable bytes, no blank. */
int pt_partid_check(const char *id, pt_err *e);

/* A partial's list of ids as read: each a valid id (pt_partid_check),
 * sorted bytewise, each once but empty ones ("empty", "empty/N").
 * *out malloc'd (caller frees).  0, or -1 with e's message saying what is
 * wrong (no where). */
int pt_partid_list(char *const *v, int n, char (**out)[PT_PARTID_LEN],
    pt_err *e);

/* The union of two sorted id lists, sorted: fails (PT_EMISMATCH) on an id
 * in both (but "empty") and on parts of splits into different numbers of
 * parts.  *out malloc'd.  0 or -1. */
int pt_partid_union(char (*a)[PT_PARTID_LEN], int na,
    char (*b)[PT_PARTID_LEN], int nb, char (**out)[PT_PARTID_LEN], int *nout,
    pt_err *e);
/* --expect N: with ids of a split, exactly its parts 0..N-1 (naming the
 * first one missing); else at least N ids.  0 or -1 (PT_EMISMATCH). */
int pt_partid_expect(char (*ids)[PT_PARTID_LEN], int n, int expect,
    pt_err *e);

#endif

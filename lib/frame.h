/*
 * frame.h: policy frames, the columnar, self-checking stream that flows
 * between the programs (byte layout in man/policy-frames.5).
 *
 * A stream is: a schema frame, data frames, an end frame.  Concatenated
 * streams of one schema are one valid stream (a reader accepts a new schema
 * frame after an end frame when the schema is identical).  A stream that
 * stops anywhere but right after an end frame is truncated, and the reader
 * says so.  Every frame carries a checksum (XXH3-64); data frames carry the
 * digest of their schema, and the schema carries the manifest digest.
 */
#ifndef PT_FRAME_H
#define PT_FRAME_H

#include <stdint.h>
#include <stdio.h>

#include "pt.h"

typedef enum pt_type {
	PT_F64 = 1, /* IEEE double; NaN (any payload) means missing */
	PT_I32 = 2, /* codes: treatment, action, category; -1 means missing */
	PT_U64 = 3, /* row hashes and keys */
	PT_U8 = 4   /* bin codes */
} pt_type;

/* What a column is for.  Stored in the schema; never renumber. */
typedef enum pt_role {
	PT_ROLE_OTHER = 0,
	PT_ROLE_ROW = 1,       /* u64 row hash (the row's identity) */
	PT_ROLE_FEATURE = 2,   /* f64 feature, in manifest feature order */
	PT_ROLE_TREATMENT = 3, /* i32 code into the vocabulary (levels) */
	PT_ROLE_OUTCOME = 4,   /* f64 outcome */
	PT_ROLE_SCORE = 5,     /* f64 score of one action, vocabulary order */
	PT_ROLE_ACTION = 6,    /* i32 chosen action (levels = vocabulary) */
	PT_ROLE_REWARD = 7,    /* f64 precomputed reward of one action */
	PT_ROLE_PROPENSITY = 8, /* f64 propensity column */
	PT_ROLE_BIN = 9,       /* u8 bin code of a feature (name "bin:FEATURE") */
	PT_ROLE_PART = 10,     /* i32 partition index (name "_part"); its N
				* levels say how many parts policy-prep split
				* made */
	PT_ROLE_WEIGHT = 11    /* f64 sample (frequency) weight, finite, >= 0 */
} pt_role;

typedef struct pt_colspec {
	char *name;
	pt_type type;
	pt_role role;
	int nlevels;   /* labels of an i32 code column, else 0 */
	char **levels;
} pt_colspec;

typedef struct pt_schema {
	char manifest[33]; /* manifest digest, 32 lowercase hex digits */
	int ncols;
	pt_colspec *cols;
} pt_schema;

/* A schema owns its strings.  _new returns NULL on ENOMEM. */
pt_schema *pt_schema_new(const char *manifest_digest);
/* Appends a column (copies name and levels); returns its index or -1. */
int pt_schema_add(pt_schema *s, const char *name, pt_type type, pt_role role,
    int nlevels, char *const *levels, pt_err *e);
int pt_schema_find(const pt_schema *s, const char *name); /* index or -1 */
/* Index of the nth (0-based) column with this role, or -1. */
int pt_schema_find_role(const pt_schema *s, pt_role role, int nth);
int pt_schema_count_role(const pt_schema *s, pt_role role);
/* The sample weight column of s (role weight), or -1. */
int pt_schema_weight(const pt_schema *s);
/* For a step that does not take sample weights: fails (PT_EUSAGE, naming
 * the column and the step what) when s carries one, so that a weight is
 * never silently left out of a sum.  0 or -1. */
int pt_refuse_weights(const pt_schema *s, const char *what, pt_err *e);
pt_schema *pt_schema_clone(const pt_schema *s);
int pt_schema_equal(const pt_schema *a, const pt_schema *b); /* 1 if same */
void pt_schema_free(pt_schema *s);
const char *pt_type_name(pt_type t);  /* "f64", "i32", "u64", "u8" */
size_t pt_type_width(pt_type t);      /* bytes per value */
const char *pt_role_name(pt_role r);  /* "feature", "treatment", ... */

/* One frame's rows, column by column.  col[j] is an array of cap elements
 * of the column's type (double, int32_t, uint64_t or uint8_t), 64-byte
 * aligned. */
typedef struct pt_batch {
	const pt_schema *schema; /* not owned */
	size_t nrows, cap;
	void **col;
	void *mem; /* pt_batch_new's one block holding every column, or NULL
		    * when the columns were allocated one by one */
} pt_batch;

pt_batch *pt_batch_new(const pt_schema *s, size_t cap);
void pt_batch_free(pt_batch *b);
#define PT_COL_F64(b, j) ((double *)(b)->col[j])
#define PT_COL_I32(b, j) ((int32_t *)(b)->col[j])
#define PT_COL_U64(b, j) ((uint64_t *)(b)->col[j])
#define PT_COL_U8(b, j) ((uint8_t *)(b)->col[j])

#define PT_FRAME_ROWS 65536 /* default rows per data frame, at most */
#define PT_FRAME_BYTES (32u << 20) /* default column bytes of a frame, at most */

/* The default rows per frame for schema s: PT_FRAME_ROWS, or fewer for a
 * wide schema, so that a frame's columns take at most PT_FRAME_BYTES
 * (but at least 1024 rows). */
size_t pt_frame_rows(const pt_schema *s);

/* Writer.  fd is not closed by the writer.  level: zstd level, 0 = store
 * raw, PT_LEVEL_AUTO = level 1 only for columns that shrink at least 32
 * times (the rest cost more time than their bytes save; frame.c says how
 * that was measured).  A compressed column that does not shrink is stored
 * raw. */
#define PT_LEVEL_AUTO (-2147483647 - 1)
/* name is used in error messages ("-" or "<stdout>" for stdout). */
typedef struct pt_writer pt_writer;
pt_writer *pt_writer_open(int fd, const char *name, const pt_schema *s,
    int level, pt_err *e);
/* Writes b as one data frame (b->nrows may be 0: then nothing is written).
 * b->schema must equal the writer's schema. */
int pt_writer_write(pt_writer *w, const pt_batch *b, pt_err *e);
/* Writes the end frame, flushes and frees w (also on error). */
int pt_writer_close(pt_writer *w, pt_err *e);
/* Frees w without writing the end frame (for error paths). */
void pt_writer_abort(pt_writer *w);
uint64_t pt_writer_bytes(const pt_writer *w); /* bytes written so far */

/* Reader.  fd is not closed by the reader.  name is used in errors:
 * "FILE: frame N at byte B: what". */
typedef struct pt_reader pt_reader;
pt_reader *pt_reader_open(int fd, const char *name, pt_err *e);
const pt_schema *pt_reader_schema(const pt_reader *r);
/* Reads the next data frame into an internal batch that stays valid until
 * the next call.  Returns 1 and sets *b, 0 at the proper end of the stream,
 * -1 on error (corrupt, truncated, schema change, I/O). */
int pt_reader_next(pt_reader *r, const pt_batch **b, pt_err *e);
/* Reads ahead from now on: a thread reads and checks the next frame while
 * the caller works on the one it was given, which stays valid until the
 * next call as before.  The answers are the same, in the same order (an
 * error in frame k+1 is returned by the call after frame k's); memory
 * holds two frames' batches instead of one.  For readers of pipes, where
 * it lets a filter read while it scores and writes.  Call it right after
 * pt_reader_open; best effort (without a thread the reader reads as
 * before). */
void pt_reader_readahead(pt_reader *r);
uint64_t pt_reader_rows(const pt_reader *r);  /* rows read so far */
uint64_t pt_reader_bytes(const pt_reader *r); /* bytes read so far */
void pt_reader_close(pt_reader *r);

#endif

/*
 * jsonout.h: the one JSON writer.  Every --json report (policy-split eval,
 * show and the uplift curves, policy-verify compare and drift,
 * policy-prep check) is built in a pt_buf with these functions: strings
 * escaped as RFC 8259 says, doubles in the shortest text that reads back
 * to the same bits (the YAML writer's formatter, pt_fmt_f64), commas put
 * where they belong by the writer, not by its callers.
 *
 * A document is one line: the caller ends it with pt_j_end.
 */
#ifndef PT_JSONOUT_H
#define PT_JSONOUT_H

#include <stdint.h>

#include "buf.h"

#define PT_JSON_DEPTH 32

/* The forms of a report that has more than one (eval, drift). */
enum { PT_FMT_YAML = 0, PT_FMT_JSON = 1, PT_FMT_TSV = 2 };

typedef struct pt_json {
	pt_buf *b;
	int depth;
	int after_key;                    /* a key was written: no comma */
	unsigned char more[PT_JSON_DEPTH]; /* per level: a member was written */
} pt_json;

void pt_j_init(pt_json *j, pt_buf *b);
/* Objects and arrays; a member of an object is pt_j_key, then a value. */
void pt_j_obj(pt_json *j);
void pt_j_obj_end(pt_json *j);
void pt_j_arr(pt_json *j);
void pt_j_arr_end(pt_json *j);
void pt_j_key(pt_json *j, const char *key);
/* Values.  A string that is not UTF-8 fails the buffer (PT_EVALUE); a
 * non-finite double is written null (JSON has no NaN or infinity). */
void pt_j_str(pt_json *j, const char *s);
void pt_j_f64(pt_json *j, double x);
void pt_j_u64(pt_json *j, uint64_t x);
void pt_j_i64(pt_json *j, int64_t x);
void pt_j_bool(pt_json *j, int x);
void pt_j_null(pt_json *j);
/* Ends the document with a newline. */
void pt_j_end(pt_json *j);

#endif

/*
 * yamlout.h: the one YAML writer.  Every file and report the tools write
 * (manifests, models, forests, trees, partial headers, eval, signatures,
 * drift) is built in a pt_buf with these functions, so a label is written
 * by one rule everywhere and any YAML reader (1.1 or 1.2: libyaml,
 * PyYAML, R's yaml) reads back the same string: "NO" stays a string, not
 * false; "r " keeps its space; "a: b" does not become a mapping.
 *
 * The bytes are a pure function of the content: fixed key order (the
 * callers'), numbers in their shortest round-trip form, no timestamps.
 */
#ifndef PT_YAMLOUT_H
#define PT_YAMLOUT_H

#include <stdint.h>

#include "buf.h"

/* How a document writes its strings: plain where that is safe (models,
 * trees, reports), or always double-quoted (the manifest, which has
 * always been written so).  Either way through the same escaping. */
typedef enum pt_ystyle {
	PT_Y_PLAIN_WHEN_SAFE = 0,
	PT_Y_QUOTE_ALL = 1
} pt_ystyle;

/* 1 when s may be written as a plain scalar: it starts with an ASCII
 * letter or '_', holds only letters, digits, space and -_.()/$=+;<>^~!&*%@?
 * (no ':', '#', ',', brackets, quotes or backslash), does not end with a
 * space, and is none of the words a YAML 1.1 reader takes for a boolean or
 * null (yes, No, ON, off, y, n, null, ...). */
int pt_y_plain_ok(const char *s);

/* s as a scalar: plain when style and pt_y_plain_ok allow, else
 * double-quoted, with '"' and '\' escaped and every character YAML does
 * not allow raw (C0 and C1 controls, DEL, U+FFFE, U+FFFF) written as an
 * escape that reads back to the same bytes.  Text that is not UTF-8
 * cannot be written so that YAML reads it back: the buffer fails with
 * PT_EVALUE (pt_buf_take reports it). */
void pt_y_str(pt_buf *b, const char *s, pt_ystyle style);
/* Numbers: doubles in the shortest text that reads back to the same bits
 * (".nan", ".inf" and "-.inf" for the non-finite, as YAML spells them). */
void pt_y_f64(pt_buf *b, double x);
void pt_y_u64(pt_buf *b, uint64_t x);
void pt_y_i64(pt_buf *b, int64_t x);
/* Flow sequences: "[a, b, c]". */
void pt_y_strs(pt_buf *b, char *const *v, int n, pt_ystyle style);
void pt_y_f64s(pt_buf *b, const double *v, int n);
void pt_y_u64s(pt_buf *b, const uint64_t *v, int n);
/* "key: " after indent spaces (keys are the writers' own words). */
void pt_y_key(pt_buf *b, int indent, const char *key);

/* Ends a file as manifests, models, forests, trees and signatures end:
 * "digest: HEX\n", HEX the XXH3-128 of every byte before that line (hex,
 * when not NULL, gets it).  yamlin.h's pt_y_digest_check checks it. */
void pt_y_digest(pt_buf *b, char hex[33]);

#endif

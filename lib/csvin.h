/*
 * csvin.h: CSV records from a file descriptor.
 *
 * RFC 4180: fields separated by commas, optional double quotes with ""
 * inside, quoted commas and newlines, LF or CRLF line ends, a last line
 * with or without its line end.  libcsv is the reference tokenizer; lines
 * without a double quote take a fast path proven identical to it by the
 * differential tests (tests/unit/t-csvin.c).
 */
#ifndef PT_CSVIN_H
#define PT_CSVIN_H

#include <stddef.h>
#include <stdint.h>

#include "pt.h"
#include "xsum.h"

#define PT_CSV_MAX_FIELD (1u << 20) /* longest field accepted: 1 MiB */

typedef struct pt_csvrec {
	size_t nfields;
	char **field;     /* NUL-terminated, unquoted field texts */
	size_t *len;      /* their lengths */
	uint64_t line;    /* 1-based line number where the record starts */
} pt_csvrec;

typedef struct pt_csv pt_csv;

/* Reads from fd (not closed).  name is used in error locations.  A UTF-8
 * byte order mark at the start is dropped; input compressed with zstd or
 * gzip (told by its magic number) is decoded as it is read. */
pt_csv *pt_csv_open(int fd, const char *name, pt_err *e);
/* Fields separated by d instead of ',' (before the first record). */
void pt_csv_set_delimiter(pt_csv *c, char d);
/* Next record: 1 and *rec filled (valid until the next call), 0 at end of
 * input, -1 on error (unterminated quote, field over PT_CSV_MAX_FIELD,
 * read error) with e->where "name:line".  Blank lines are skipped. */
int pt_csv_next(pt_csv *c, pt_csvrec *rec, pt_err *e);
const char *pt_csv_name(const pt_csv *c);
uint64_t pt_csv_bytes(const pt_csv *c); /* bytes consumed so far */
void pt_csv_close(pt_csv *c);

/* Writes the n bytes at s as one CSV field: as they are, or in double
 * quotes with each " doubled when they hold a comma, double quote, CR or
 * LF (RFC 4180; what policy-prep cat writes, so its output reads back to
 * the same rows).  out needs room
 * for 2n + 2 bytes.  Returns the bytes written. */
size_t pt_csv_quote(char *out, const char *s, size_t n);

/* Where a record or field is, as every message about CSV input says it:
 * "file:line: column", or "file:line" when col is NULL.  Written into buf
 * (n bytes, truncated to fit) and returned. */
const char *pt_csv_where(char *buf, size_t n, const char *file,
    uint64_t line, const char *col);

/* Testing hook: 1 = every record goes through libcsv (no fast path). */
void pt_csv_force_slow(pt_csv *c, int on);

#endif

/*
 * buf.h: the one growable text buffer of the library: every file and
 * report the tools write is built in one (YAML through yamlout.h, the
 * tree's text and Graphviz forms).  On an allocation failure it remembers
 * the failure and drops further writes, so a writer checks once, at the
 * end (pt_buf_take).
 */
#ifndef PT_BUF_H
#define PT_BUF_H

#include <stddef.h>

#include "pt.h"

typedef struct pt_buf {
	char *p;      /* NUL-terminated while err is 0 */
	size_t n, cap;
	int err;      /* a pt_status: PT_ENOMEM, or what a writer met */
	char why[160]; /* the detail of err, for pt_buf_take's message */
} pt_buf;

#define PT_BUF_INIT { NULL, 0, 0, 0, { 0 } }

void pt_buf_put(pt_buf *b, const void *s, size_t n);
void pt_buf_puts(pt_buf *b, const char *s);
void pt_buf_putc(pt_buf *b, char c);
void pt_buf_printf(pt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Marks the buffer failed with code and a reason (the first one stays). */
void pt_buf_fail(pt_buf *b, pt_status code, const char *why);
/* Hands the text over: *out (caller frees, NUL-terminated) and *len, and
 * empties b.  When a write failed it frees the text and fails (e) with
 * the remembered status; what names the text in the message. */
int pt_buf_take(pt_buf *b, char **out, size_t *len, const char *what,
    pt_err *e);
/* The text as a NUL-terminated string the caller frees, or NULL (e). */
char *pt_buf_str(pt_buf *b, const char *what, pt_err *e);
void pt_buf_free(pt_buf *b);

#endif

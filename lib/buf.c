/*
 * buf.c: the growable text buffer (buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
reserve(pt_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return -1;
	if (b->n + more + 1 <= b->cap)
		return 0;
	if (more > ((size_t)1 << 40)) {
		pt_buf_fail(b, PT_ENOMEM, "text too large");
		return -1;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < b->n + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		pt_buf_fail(b, PT_ENOMEM, "out of memory");
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
pt_buf_fail(pt_buf *b, pt_status code, const char *why)
{
	if (b->err)
		return;
	b->err = code;
	snprintf(b->why, sizeof b->why, "%s", why);
}

void
pt_buf_put(pt_buf *b, const void *s, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	if (n > 0)              /* s may be NULL for nothing */
		memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void
pt_buf_puts(pt_buf *b, const char *s)
{
	pt_buf_put(b, s, strlen(s));
}

void
pt_buf_putc(pt_buf *b, char c)
{
	pt_buf_put(b, &c, 1);
}

void
pt_buf_printf(pt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k < 0) {
		pt_buf_fail(b, PT_ENOMEM, "formatting failed");
		return;
	}
	if (reserve(b, (size_t)k) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

int
pt_buf_take(pt_buf *b, char **out, size_t *len, const char *what, pt_err *e)
{
	if (b->err == 0 && b->p == NULL)
		reserve(b, 0);
	if (b->err) {
		int code = b->err;
		char why[sizeof b->why];
		memcpy(why, b->why, sizeof why);
		pt_buf_free(b);
		return pt_fail(e, (pt_status)code, "", "writing the %s: %s", what,
		    why);
	}
	*out = b->p;
	*len = b->n;
	b->p = NULL;
	b->n = b->cap = 0;
	return 0;
}

char *
pt_buf_str(pt_buf *b, const char *what, pt_err *e)
{
	char *s;
	size_t n;

	return pt_buf_take(b, &s, &n, what, e) == 0 ? s : NULL;
}

void
pt_buf_free(pt_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

#include "pt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
pt_fail(pt_err *e, pt_status code, const char *where, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	snprintf(e->where, sizeof e->where, "%s", where ? where : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void
pt_err_where(pt_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->where, sizeof e->where, fmt, ap);
	va_end(ap);
}

int
pt_write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			/* Would spin forever: call it a device error. */
			errno = EIO;
			return -1;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

void
pt_err_clear(pt_err *e)
{
	if (e == NULL)
		return;
	e->code = PT_OK;
	e->where[0] = '\0';
	e->msg[0] = '\0';
}

const char *
pt_strerror(pt_status code)
{
	switch (code) {
	case PT_OK: return "success";
	case PT_EUSAGE: return "bad usage";
	case PT_EIO: return "input/output error";
	case PT_ENOMEM: return "out of memory";
	case PT_EFORMAT: return "malformed input";
	case PT_ECORRUPT: return "corrupt or truncated data";
	case PT_EMISMATCH: return "input does not match";
	case PT_ELIMIT: return "over a limit";
	case PT_EVALUE: return "value not allowed";
	case PT_EEMPTY: return "no rows";
	}
	return "unknown error";
}

char *
pt_strdup(const char *s)
{
	return pt_strndup(s, strlen(s));
}

char *
pt_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char **
pt_strs_dup(char *const *v, int n)
{
	char **r = calloc((size_t)n + 1, sizeof *r);

	if (r == NULL)
		return NULL;
	for (int i = 0; i < n; i++)
		if ((r[i] = pt_strdup(v[i])) == NULL) {
			pt_strs_free(r, n);
			return NULL;
		}
	return r;
}

void
pt_strs_free(char **v, int n)
{
	if (v == NULL)
		return;
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

long
pt_utf8_next(const unsigned char *p, const unsigned char *end, int *len)
{
	long c;
	int n, i;

	if (p >= end)
		return -1;
	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return -1;
	if (end - p < n)
		return -1;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*len = n;
	return c;
}

int
pt_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	int len;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (pt_utf8_next(p, end, &len) < 0)
			return 0;
		p += len;
	}
	return 1;
}

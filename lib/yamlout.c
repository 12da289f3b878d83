/*
 * yamlout.c: the one YAML writer (yamlout.h).
 */
#include "yamlout.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "number.h"
#include "xsum.h"

int
pt_y_plain_ok(const char *s)
{
	/* YAML 1.1's booleans and nulls among words that start with a
	 * letter (YAML 1.2 keeps only true, false and null of them). */
	static const char *const words[] = { "y", "Y", "yes", "Yes", "YES",
		"n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
		"False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null",
		"Null", "NULL", NULL };
	const char *p;
	size_t n = strlen(s);

	if (n == 0 || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	    *s == '_') || s[n - 1] == ' ')
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') ||
		    strchr(" -_.()/$=+;<>^~!&*%@?", *p) != NULL))
			return 0;
	for (int i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return 0;
	return 1;
}

/* The code point of the UTF-8 sequence at p (its length in *len), or -1
 * when it is not well-formed UTF-8 (overlong, a surrogate, past U+10FFFF,
 * cut short). */
static long
utf8_next(const unsigned char *p, int *len)
{
	long c;
	int n, i;

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

static void
quoted(pt_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;

	pt_buf_putc(b, '"');
	while (*p) {
		int len;
		long c = utf8_next(p, &len);
		const char *esc = NULL;
		char tmp[16];

		if (c < 0) {
			pt_buf_fail(b, PT_EVALUE, "a string that is not UTF-8 "
			    "(YAML cannot hold it)");
			return;
		}
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
			snprintf(tmp, sizeof tmp, "\\x%02lx", c);
			esc = tmp;
		} else if (c == 0xfffe || c == 0xffff) {
			snprintf(tmp, sizeof tmp, "\\u%04lx", c);
			esc = tmp;
		}
		if (esc != NULL) {
			pt_buf_put(b, run, (size_t)(p - run));
			pt_buf_puts(b, esc);
			run = p + len;
		}
		p += len;
	}
	pt_buf_put(b, run, (size_t)(p - run));
	pt_buf_putc(b, '"');
}

void
pt_y_str(pt_buf *b, const char *s, pt_ystyle style)
{
	if (style == PT_Y_PLAIN_WHEN_SAFE && pt_y_plain_ok(s))
		pt_buf_puts(b, s);
	else
		quoted(b, s);
}

void
pt_y_f64(pt_buf *b, double x)
{
	char t[32];
	int n;

	if (isnan(x))
		pt_buf_puts(b, ".nan");
	else if (isinf(x))
		pt_buf_puts(b, x < 0 ? "-.inf" : ".inf");
	else {
		n = pt_fmt_f64(t, x);
		pt_buf_put(b, t, (size_t)n);
	}
}

void
pt_y_u64(pt_buf *b, uint64_t x)
{
	pt_buf_printf(b, "%" PRIu64, x);
}

void
pt_y_i64(pt_buf *b, int64_t x)
{
	pt_buf_printf(b, "%" PRId64, x);
}

void
pt_y_strs(pt_buf *b, char *const *v, int n, pt_ystyle style)
{
	pt_buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_str(b, v[i], style);
	}
	pt_buf_putc(b, ']');
}

void
pt_y_f64s(pt_buf *b, const double *v, int n)
{
	pt_buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_f64(b, v[i]);
	}
	pt_buf_putc(b, ']');
}

void
pt_y_u64s(pt_buf *b, const uint64_t *v, int n)
{
	pt_buf_putc(b, '[');
	for (int i = 0; i < n; i++)
		pt_buf_printf(b, i ? ", %" PRIu64 : "%" PRIu64, v[i]);
	pt_buf_putc(b, ']');
}

void
pt_y_key(pt_buf *b, int indent, const char *key)
{
	pt_buf_printf(b, "%*s%s: ", indent, "", key);
}

void
pt_y_digest(pt_buf *b, char hex[33])
{
	char h[33];

	if (b->err)
		return;
	pt_h128_hex(pt_hash128(b->p ? b->p : "", b->n, 0), h);
	pt_buf_printf(b, "digest: %s\n", h);
	if (hex != NULL)
		memcpy(hex, h, 33);
}

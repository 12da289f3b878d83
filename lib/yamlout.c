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

static void
quoted(pt_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p, *end = p + strlen(s);

	pt_buf_putc(b, '"');
	while (*p) {
		int len;
		long c = pt_utf8_next(p, end, &len);
		const char *esc = NULL;
		char tmp[24];

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
			snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)c);
			esc = tmp;
		} else if (c == 0xfffe || c == 0xffff) {
			snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)c);
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

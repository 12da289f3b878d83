/*
 * jsonout.c: the one JSON writer (jsonout.h).
 */
#include "jsonout.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "number.h"

void
pt_j_init(pt_json *j, pt_buf *b)
{
	memset(j, 0, sizeof *j);
	j->b = b;
}

/* Before a value: the comma after the previous member of its level. */
static void
sep(pt_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->more[j->depth])
		pt_buf_putc(j->b, ',');
	j->more[j->depth] = 1;
}

static void
j_open(pt_json *j, char c)
{
	sep(j);
	pt_buf_putc(j->b, c);
	if (j->depth + 1 >= PT_JSON_DEPTH) {
		pt_buf_fail(j->b, PT_ELIMIT, "JSON nested too deep");
		return;
	}
	j->more[++j->depth] = 0;
}

static void
j_close(pt_json *j, char c)
{
	pt_buf_putc(j->b, c);
	if (j->depth > 0)
		j->depth--;
}

void pt_j_obj(pt_json *j) { j_open(j, '{'); }
void pt_j_obj_end(pt_json *j) { j_close(j, '}'); }
void pt_j_arr(pt_json *j) { j_open(j, '['); }
void pt_j_arr_end(pt_json *j) { j_close(j, ']'); }

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
		char tmp[8];

		if (c < 0) {
			pt_buf_fail(b, PT_EVALUE, "a string that is not UTF-8 "
			    "(JSON cannot hold it)");
			return;
		}
		/* RFC 8259 section 7: '"', '\' and U+0000 to U+001F must be
		 * escaped; nothing else need be. */
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\r')
			esc = "\\r";
		else if (c < 0x20) {
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
pt_j_key(pt_json *j, const char *key)
{
	sep(j);
	quoted(j->b, key);
	pt_buf_putc(j->b, ':');
	j->after_key = 1;
}

void
pt_j_str(pt_json *j, const char *s)
{
	sep(j);
	quoted(j->b, s);
}

void
pt_j_f64(pt_json *j, double x)
{
	char t[32];
	int n;

	sep(j);
	if (!isfinite(x)) {
		pt_buf_puts(j->b, "null");
		return;
	}
	n = pt_fmt_f64(t, x);
	pt_buf_put(j->b, t, (size_t)n);
}

void
pt_j_u64(pt_json *j, uint64_t x)
{
	sep(j);
	pt_buf_printf(j->b, "%" PRIu64, x);
}

void
pt_j_i64(pt_json *j, int64_t x)
{
	sep(j);
	pt_buf_printf(j->b, "%" PRId64, x);
}

void
pt_j_bool(pt_json *j, int x)
{
	sep(j);
	pt_buf_puts(j->b, x ? "true" : "false");
}

void
pt_j_null(pt_json *j)
{
	sep(j);
	pt_buf_puts(j->b, "null");
}

void
pt_j_end(pt_json *j)
{
	pt_buf_putc(j->b, '\n');
}

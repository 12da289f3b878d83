/*
 * csvin.c: CSV records from a file descriptor.
 *
 * Two tokenizers, one answer.  libcsv (strict) is the reference: every
 * record that holds a double quote, a CR other than the one ending its
 * line, or a NUL byte, or whose line is very long, goes through it.  All
 * other lines take the fast path: find the '\n' with memchr, look for ','
 * (SSE2 when there) and split the line in place in the read buffer, a NUL
 * over each ',' and over the line end.  For those lines libcsv would give
 * the same fields, so the tests compare both on random documents
 * (pt_csv_force_slow).
 *
 * libcsv is configured so that its defaults match RFC 4180 and the fast
 * path:
 * - no white space is trimmed (a space is data: " a" stays " a"), so a
 *   space between a closing quote and a comma is a strict error;
 * - CR and LF both end a record, and CR/LF bytes before a record starts are
 *   ignored, so blank lines (and CRLF, and lone CRs between records) are
 *   skipped.  We skip them ourselves before choosing a path, which also
 *   pins each record's line number to the line of its first byte.
 *
 * A NUL byte in a field is rejected (PT_EFORMAT): fields are handed out as
 * C strings, and a NUL would silently cut a label or a number short.
 *
 * Memory: the read buffer holds 1 MiB blocks and grows only while the fast
 * path looks for the end of a long line, up to PT_CSV_MAX_FIELD plus one
 * block; a longer line goes to libcsv, which is fed piece by piece, so the
 * buffer never needs a whole record.  A record's fields are limited to
 * PT_CSV_MAX_FIELD bytes each and CSV_MAX_RECORD bytes together.
 */
#include "csvin.h"

#include <csv.h>
#include <zlib.h>
#include <zstd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The read size.  The fuzzing build (make fuzz) makes it small, so that
 * records cross blocks in small inputs and a reader costs little. */
#ifndef PT_CSV_BLOCK
#define PT_CSV_BLOCK (1u << 20)
#endif
#define BLOCK PT_CSV_BLOCK                    /* read size */
#define FAST_LINE_MAX PT_CSV_MAX_FIELD        /* longer lines go to libcsv */
#define BUF_MAX (FAST_LINE_MAX + BLOCK)       /* read buffer limit */
#define CSV_MAX_RECORD (4u * PT_CSV_MAX_FIELD) /* all fields of one record */

enum cb_error { CB_OK, CB_FIELD, CB_RECORD, CB_NUL, CB_NOMEM };

struct pt_csv {
	int fd;
	char *name;
	int eof;
	int force_slow;
	int failed;      /* sticky: the error is kept in err */
	pt_err err;

	char *buf;       /* read buffer; unconsumed data is buf[pos..end) */
	size_t cap, pos, end;
	uint64_t base;   /* input bytes before buf[0] */
	uint64_t line;   /* line number of buf[pos] */

	/* The record handed out. */
	char **field;
	size_t *len;
	size_t *off;     /* slow path: field offsets in rec, which may move */
	size_t fcap;
	char *rec;       /* slow path: the field texts */
	size_t reccap;
	char delim;      /* ',' unless pt_csv_set_delimiter says otherwise */
	int started;     /* the first bytes (BOM, compression) were looked at */

	/* Compressed input (zstd or gzip), decoded as it is read. */
	int zkind;       /* 0 none, 'z' zstd, 'g' gzip */
	ZSTD_DCtx *zd;
	z_stream zs;
	unsigned char *zin;  /* raw bytes read, zin[zpos..zend) not yet fed */
	size_t zcap, zpos, zend;
	int zeof;        /* no more raw bytes */
	int zframe_open; /* a zstd frame or gzip member is not yet complete */

	/* libcsv and what its callbacks collected. */
	struct csv_parser parser;
	size_t nf, reclen;
	int rec_done;
	enum cb_error cb_err;
};

static int
no_space(unsigned char ch)
{
	(void)ch;
	return 0;
}

pt_csv *
pt_csv_open(int fd, const char *name, pt_err *e)
{
	pt_csv *c = calloc(1, sizeof *c);

	if (c == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->line = 1;
	c->delim = ',';
	c->name = pt_strdup(name ? name : "-");
	c->cap = BLOCK;
	c->buf = malloc(c->cap);
	if (c->name == NULL || c->buf == NULL ||
	    csv_init(&c->parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		free(c->buf);
		free(c->name);
		free(c);
		return NULL;
	}
	csv_set_space_func(&c->parser, no_space);
	/* libcsv grows its field buffer by this much: the default 128 bytes
	 * makes a long field cost quadratic copying. */
	csv_set_blk_size(&c->parser, 64u << 10);
	return c;
}

void
pt_csv_set_delimiter(pt_csv *c, char d)
{
	c->delim = d;
	csv_set_delim(&c->parser, (unsigned char)d);
}

void
pt_csv_close(pt_csv *c)
{
	if (c == NULL)
		return;
	csv_free(&c->parser);
	if (c->zkind == 'z')
		ZSTD_freeDCtx(c->zd);
	if (c->zkind == 'g')
		inflateEnd(&c->zs);
	free(c->zin);
	free(c->name);
	free(c->buf);
	free(c->field);
	free(c->len);
	free(c->off);
	free(c->rec);
	free(c);
}

const char *
pt_csv_name(const pt_csv *c)
{
	return c->name;
}

uint64_t
pt_csv_bytes(const pt_csv *c)
{
	return c->base + c->pos;
}

void
pt_csv_force_slow(pt_csv *c, int on)
{
	c->force_slow = on;
}

const char *
pt_csv_where(char *buf, size_t n, const char *file, uint64_t line,
    const char *col)
{
	if (col != NULL)
		snprintf(buf, n, "%s:%llu: %s", file, (unsigned long long)line, col);
	else
		snprintf(buf, n, "%s:%llu", file, (unsigned long long)line);
	return buf;
}

/* Records the error at line (sticky: later calls return it again). */
static int
fail_at(pt_csv *c, pt_err *e, uint64_t line, pt_status code, const char *msg)
{
	char where[256];

	pt_csv_where(where, sizeof where, c->name, line, NULL);
	pt_fail(&c->err, code, where, "%s", msg);
	c->failed = 1;
	if (e != NULL)
		*e = c->err;
	return -1;
}

static int
grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	while (n < need)
		n *= 2;
	p = realloc(*(void **)pp, n * elem);
	if (p == NULL)
		return -1;
	*(void **)pp = p;
	*cap = n;
	return 0;
}

/* Room for at least n fields in field, len and off. */
static int
grow_fields(pt_csv *c, size_t n)
{
	size_t cap = c->fcap, cap2 = c->fcap, cap3 = c->fcap;

	if (grow(&c->field, &cap, n, sizeof *c->field) != 0 ||
	    grow(&c->len, &cap2, n, sizeof *c->len) != 0 ||
	    grow(&c->off, &cap3, n, sizeof *c->off) != 0)
		return -1;
	c->fcap = cap;
	return 0;
}

static ssize_t
raw_read(int fd, void *p, size_t n)
{
	ssize_t k;

	do
		k = read(fd, p, n);
	while (k < 0 && errno == EINTR);
	return k;
}

/*
 * Decompressed bytes into p (at most n): -1 on a read error (errno), -2
 * on corrupt or truncated compressed input (the error set), 0 at the end.
 * Concatenated zstd frames and gzip members read as one stream, as zstd(1)
 * and gzip(1) read them.
 */
static ssize_t
zread(pt_csv *c, char *p, size_t n, pt_err *e)
{
	for (;;) {
		size_t made = 0;
		if (c->zpos == c->zend && !c->zeof) {
			ssize_t k = raw_read(c->fd, c->zin, c->zcap);
			if (k < 0)
				return -1;
			c->zpos = 0;
			c->zend = (size_t)k;
			c->zeof = k == 0;
		}
		if (c->zpos == c->zend && c->zeof) {
			if (c->zframe_open) {
				fail_at(c, e, c->line, PT_ECORRUPT, c->zkind == 'z' ?
				    "the zstd stream is cut short" :
				    "the gzip stream is cut short");
				return -2;
			}
			return 0;
		}
		if (c->zkind == 'z') {
			ZSTD_inBuffer in = { c->zin, c->zend, c->zpos };
			ZSTD_outBuffer out = { p, n, 0 };
			size_t r = ZSTD_decompressStream(c->zd, &out, &in);
			if (ZSTD_isError(r)) {
				char msg[200];
				snprintf(msg, sizeof msg, "zstd input: %s",
				    ZSTD_getErrorName(r));
				fail_at(c, e, c->line, PT_ECORRUPT, msg);
				return -2;
			}
			c->zpos = in.pos;
			c->zframe_open = r != 0;
			made = out.pos;
		} else {
			int r;
			if (!c->zframe_open && c->zpos < c->zend) {
				/* A further gzip member. */
				if (inflateReset(&c->zs) != Z_OK)
					goto gzbad;
				c->zframe_open = 1;
			}
			c->zs.next_in = c->zin + c->zpos;
			c->zs.avail_in = (uInt)(c->zend - c->zpos);
			c->zs.next_out = (Bytef *)p;
			c->zs.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
			r = inflate(&c->zs, Z_NO_FLUSH);
			c->zpos = c->zend - c->zs.avail_in;
			made = (size_t)((char *)c->zs.next_out - p);
			if (r == Z_STREAM_END)
				c->zframe_open = 0;
			else if (r != Z_OK && !(r == Z_BUF_ERROR && made == 0 &&
			    c->zpos == c->zend))
				goto gzbad;
		}
		if (made > 0)
			return (ssize_t)made;
		continue;
gzbad:
		fail_at(c, e, c->line, PT_ECORRUPT, c->zs.msg ? c->zs.msg :
		    "the gzip stream is corrupt");
		return -2;
	}
}

/*
 * Looks at the first bytes once: a UTF-8 byte order mark is dropped (it is
 * no part of the first column's name); zstd or gzip input is decoded from
 * here on.  0, or -1 on an error.
 */
static int
start(pt_csv *c, pt_err *e)
{
	static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const unsigned char gz_magic[2] = { 0x1f, 0x8b };
	const unsigned char *b;
	ssize_t k;

	c->started = 1;
	/* Enough bytes to see the magic numbers. */
	while (c->end < 4 && !c->eof) {
		k = raw_read(c->fd, c->buf + c->end, c->cap - c->end);
		if (k < 0) {
			char msg[300];
			snprintf(msg, sizeof msg, "read: %s", strerror(errno));
			return fail_at(c, e, c->line, PT_EIO, msg);
		}
		c->eof = k == 0;
		c->end += (size_t)k;
	}
	b = (const unsigned char *)c->buf;
	if ((c->end >= 4 && memcmp(b, zstd_magic, 4) == 0) ||
	    (c->end >= 2 && memcmp(b, gz_magic, 2) == 0)) {
		c->zkind = b[0] == 0x28 ? 'z' : 'g';
		c->zcap = BLOCK;
		if ((c->zin = malloc(c->zcap)) == NULL)
			return fail_at(c, e, c->line, PT_ENOMEM, "out of memory");
		memcpy(c->zin, c->buf, c->end);
		c->zend = c->end;
		c->zeof = c->eof;
		c->eof = 0;
		c->end = 0;
		c->zframe_open = 1;
		if (c->zkind == 'z') {
			if ((c->zd = ZSTD_createDCtx()) == NULL)
				return fail_at(c, e, c->line, PT_ENOMEM,
				    "out of memory");
		} else {
			memset(&c->zs, 0, sizeof c->zs);
			/* 16: a gzip wrapper, not zlib's. */
			if (inflateInit2(&c->zs, 16 + MAX_WBITS) != Z_OK) {
				c->zkind = 0;
				return fail_at(c, e, c->line, PT_ENOMEM,
				    "out of memory");
			}
		}
		/* The decoded bytes, enough of them to see a byte order mark. */
		while (c->end < 3) {
			ssize_t r = zread(c, c->buf + c->end, c->cap - c->end, e);
			if (r == -2)
				return -1;
			if (r < 0) {
				char msg[300];
				snprintf(msg, sizeof msg, "read: %s",
				    strerror(errno));
				return fail_at(c, e, c->line, PT_EIO, msg);
			}
			if (r == 0) {
				c->eof = 1;
				break;
			}
			c->end += (size_t)r;
		}
	}
	if (c->end >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
		c->pos = 3;
	return 0;
}

/*
 * Reads more input after buf[end], first moving the unconsumed bytes to the
 * front and growing the buffer when it is nearly full.  Returns 1 when
 * bytes were read, 0 at end of input, -1 on a read error.
 */
static int
fill(pt_csv *c, pt_err *e)
{
	ssize_t n;

	if (c->eof)
		return 0;
	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->end - c->pos);
		c->base += c->pos;
		c->end -= c->pos;
		c->pos = 0;
	}
	if (c->cap - c->end < 4096 && c->cap < BUF_MAX) {
		size_t cap = c->cap * 2 < BUF_MAX ? c->cap * 2 : BUF_MAX;
		char *p = realloc(c->buf, cap);

		if (p == NULL)
			return fail_at(c, e, c->line, PT_ENOMEM, "out of memory");
		c->buf = p;
		c->cap = cap;
	}
	if (c->end == c->cap) /* the callers leave room; never read 0 bytes */
		return fail_at(c, e, c->line, PT_ELIMIT, "line too long");
	n = c->zkind ? zread(c, c->buf + c->end, c->cap - c->end, e) :
	    raw_read(c->fd, c->buf + c->end, c->cap - c->end);
	if (n == -2)
		return -1;
	if (n < 0) {
		char msg[300];

		snprintf(msg, sizeof msg, "read: %s", strerror(errno));
		return fail_at(c, e, c->line, PT_EIO, msg);
	}
	if (n == 0)
		c->eof = 1;
	c->end += (size_t)n;
	return n > 0;
}

/* ---- the libcsv path ---- */

static void
cb_field(void *s, size_t n, void *data)
{
	pt_csv *c = data;

	if (c->cb_err != CB_OK)
		return;
	if (n > PT_CSV_MAX_FIELD) {
		c->cb_err = CB_FIELD;
		return;
	}
	if (memchr(s, '\0', n) != NULL) {
		c->cb_err = CB_NUL;
		return;
	}
	if (c->reclen + n + 1 > CSV_MAX_RECORD) {
		c->cb_err = CB_RECORD;
		return;
	}
	if ((c->nf + 1 > c->fcap && grow_fields(c, c->nf + 1) != 0) ||
	    (c->reclen + n + 1 > c->reccap &&
	    grow(&c->rec, &c->reccap, c->reclen + n + 1, 1) != 0)) {
		c->cb_err = CB_NOMEM;
		return;
	}
	memcpy(c->rec + c->reclen, s, n);
	c->rec[c->reclen + n] = '\0';
	c->off[c->nf] = c->reclen;
	c->len[c->nf] = n;
	c->nf++;
	c->reclen += n + 1;
}

static void
cb_row(int ch, void *data)
{
	(void)ch;
	((pt_csv *)data)->rec_done = 1;
}

static int
cb_fail(pt_csv *c, pt_err *e, uint64_t line)
{
	char msg[100];

	switch (c->cb_err) {
	case CB_FIELD:
		snprintf(msg, sizeof msg, "field longer than %u bytes",
		    PT_CSV_MAX_FIELD);
		return fail_at(c, e, line, PT_ELIMIT, msg);
	case CB_RECORD:
		snprintf(msg, sizeof msg, "record longer than %u bytes",
		    CSV_MAX_RECORD);
		return fail_at(c, e, line, PT_ELIMIT, msg);
	case CB_NUL:
		return fail_at(c, e, line, PT_EFORMAT, "NUL byte in a field");
	case CB_NOMEM:
	default:
		return fail_at(c, e, line, PT_ENOMEM, "out of memory");
	}
}

/* Length of the first piece of s[0..n) that ends at a CR or LF, or n. */
static size_t
piece(const char *s, size_t n)
{
	const char *lf = memchr(s, '\n', n), *cr;

	if (lf != NULL)
		n = (size_t)(lf - s) + 1;
	cr = memchr(s, '\r', n);
	return cr != NULL ? (size_t)(cr - s) + 1 : n;
}

size_t
pt_csv_quote(char *out, const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n) {
		memcpy(out, s, n);
		return n;
	}
	out[k++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			out[k++] = '"';
		out[k++] = s[i];
	}
	out[k++] = '"';
	return k;
}

static int
slow_finish(pt_csv *c, pt_csvrec *rec, pt_err *e, uint64_t start)
{
	(void)e;
	for (size_t i = 0; i < c->nf; i++)
		c->field[i] = c->rec + c->off[i];
	rec->nfields = c->nf;
	rec->field = c->field;
	rec->len = c->len;
	rec->line = start;
	return 1;
}

/*
 * One record through libcsv, starting at buf[pos] (not CR or LF).  The
 * input is fed in pieces that end at a CR or LF, so a record can only end
 * at the end of a piece, and we know where the next one starts.
 */
static int
slow_record(pt_csv *c, pt_csvrec *rec, pt_err *e)
{
	uint64_t start = c->line;
	int r;

	c->nf = c->reclen = 0;
	c->rec_done = 0;
	c->cb_err = CB_OK;
	while (!c->rec_done) {
		const char *s;
		size_t n;

		if (c->pos == c->end) {
			if ((r = fill(c, e)) < 0)
				return -1;
			if (r > 0)
				continue;
			/* End of input inside the record. */
			if (csv_fini(&c->parser, cb_field, cb_row, c) != 0)
				return fail_at(c, e, start, PT_EFORMAT,
				    "unterminated quoted field");
			if (c->cb_err != CB_OK)
				return cb_fail(c, e, start);
			if (!c->rec_done)
				return fail_at(c, e, start, PT_EFORMAT,
				    "incomplete record");
			break;
		}
		s = c->buf + c->pos;
		n = piece(s, c->end - c->pos);
		if (csv_parse(&c->parser, s, n, cb_field, cb_row, c) != n) {
			if (csv_error(&c->parser) == CSV_EPARSE)
				return fail_at(c, e, c->line, PT_EFORMAT,
				    "malformed quoting: a quote inside an "
				    "unquoted field, or text after a closing "
				    "quote");
			return fail_at(c, e, start, PT_ENOMEM,
			    "out of memory");
		}
		if (c->cb_err != CB_OK)
			return cb_fail(c, e, start);
		/* libcsv holds the field being read: bound it before the end. */
		if (c->parser.entry_pos > PT_CSV_MAX_FIELD + 1) {
			c->cb_err = CB_FIELD;
			return cb_fail(c, e, start);
		}
		c->pos += n;
		if (s[n - 1] == '\n')
			c->line++;
	}
	return slow_finish(c, rec, e, start);
}

/* ---- the fast path ---- */

/*
 * The fields ending at the delimiters flagged in m (bit k: src[b + k]):
 * each becomes a NUL and the field before it is recorded in field/len
 * from slot nf on (room is the caller's).  Returns the new count.  The
 * arrays are locals here, so that the NUL stores, which may alias
 * anything a char can, do not make the compiler reload them per field.
 */
static inline size_t
put_fields(char **field, size_t *len, size_t nf, char *src, size_t *startp,
    size_t b, unsigned m)
{
	size_t start = *startp;

	do {
		size_t j = b + (size_t)__builtin_ctz(m);

		field[nf] = src + start;
		len[nf++] = j - start;
		src[j] = '\0';
		start = j + 1;
		m &= m - 1;
	} while (m != 0);
	*startp = start;
	return nf;
}

/* The line's last field, src[start..n), ends at n (made a NUL): the new
 * count of fields, or -2 when out of memory. */
static inline long
last_field(pt_csv *c, char *src, size_t start, size_t n, size_t nf)
{
	if (nf + 1 > c->fcap && grow_fields(c, nf + 1) != 0)
		return -2;
	src[n] = '\0';
	c->field[nf] = src + start;
	c->len[nf++] = n - start;
	return (long)nf;
}

/*
 * Splits the line src[0..n) in place: each delimiter, and the byte after
 * the line (its CR or LF, or the buffer's spare byte), becomes a NUL, and
 * the fields point into the read buffer.  Returns the number of fields,
 * -1 when the line needs libcsv (a '"', CR or NUL; the delimiters already
 * overwritten are put back, so libcsv reads the line as it was), -2 when
 * out of memory.  The hot loop of the reader: it classifies 16 bytes at a
 * time (the last, partial block as the 16 bytes ending the line, which
 * overlap the block before), and the field arrays are grown once per 16
 * bytes rather than once per field.
 */
static long
split_fast(pt_csv *c, char *src, size_t n)
{
	size_t i = 0, start = 0, nf = 0;

#if defined(__SSE2__)
	if (n >= 16) {
		const __m128i comma = _mm_set1_epi8(c->delim);
		const __m128i quote = _mm_set1_epi8('"');
		const __m128i cr = _mm_set1_epi8('\r'), nul = _mm_setzero_si128();

		while (i < n) {
			/* The block at b; the bytes below i in it are done. */
			size_t b = i + 16 <= n ? i : n - 16;
			__m128i x = _mm_loadu_si128(
			    (const __m128i *)(const void *)(src + b));
			__m128i odd = _mm_or_si128(_mm_or_si128(
			    _mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, cr)),
			    _mm_cmpeq_epi8(x, nul));
			/* Bytes below i may be NULs put there already. */
			unsigned todo = 0xFFFFu << (i - b), m;

			if ((_mm_movemask_epi8(odd) & todo) != 0)
				goto odd;
			m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, comma)) &
			    todo;
			i = b + 16;
			if (m == 0)
				continue;
			if (nf + 17 > c->fcap && grow_fields(c, nf + 17) != 0)
				return -2;
			nf = put_fields(c->field, c->len, nf, src, &start, b, m);
		}
	}
#endif
	for (; i < n; i++) {
		char ch = src[i];

		if (ch == c->delim) {
			if (nf + 1 > c->fcap && grow_fields(c, nf + 1) != 0)
				return -2;
			c->field[nf] = src + start;
			c->len[nf++] = i - start;
			src[i] = '\0';
			start = i + 1;
		} else if (ch == '"' || ch == '\r' || ch == '\0')
			goto odd;
	}
	return last_field(c, src, start, n, nf);
odd:
	while (nf > 0) {
		nf--;
		c->field[nf][c->len[nf]] = c->delim;
	}
	return -1;
}

#if defined(__SSE2__)
/*
 * One pass over a line whose end is not yet known: the line starting at
 * src, with avail bytes readable, is split in place as split_fast does,
 * finding its '\n' in the same 16-byte blocks that find its delimiters
 * (rather than memchr first and the delimiters after).  Returns the
 * number of fields and sets *linelen (the bytes before the '\n'), -1
 * when the line needs libcsv (as split_fast), -2 out of memory, or -3
 * when no '\n' is in the whole blocks available, or the line is longer
 * than the fast path takes: then nothing is changed, and the caller
 * looks for the line end the general way.  A CR is allowed only just
 * before the '\n'.
 */
static long
scan_line(pt_csv *c, char *src, size_t avail, size_t *linelen)
{
	const __m128i comma = _mm_set1_epi8(c->delim);
	const __m128i quote = _mm_set1_epi8('"'), lf = _mm_set1_epi8('\n');
	const __m128i cr = _mm_set1_epi8('\r'), nul = _mm_setzero_si128();
	size_t b, start = 0, nf = 0;

	for (b = 0; b + 16 <= avail && b <= FAST_LINE_MAX; b += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(src + b));
		unsigned nlm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, lf));
		unsigned crm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, cr));
		unsigned odd = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, nul)));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, comma));

		if (nlm != 0) {
			unsigned j = (unsigned)__builtin_ctz(nlm);
			size_t n = b + j;
			unsigned below = (1u << j) - 1;

			/* A CR just before the '\n' ends the line with it; it
			 * may be the last byte of the block before. */
			if (n > 0 && src[n - 1] == '\r') {
				n--;
				crm &= ~(1u << j >> 1);
			}
			if (n > FAST_LINE_MAX)
				goto none;
			if (((odd | crm) & below) != 0)
				goto odd;
			m &= below;
			if (m != 0) {
				if (nf + 17 > c->fcap && grow_fields(c, nf + 17) != 0)
					return -2;
				nf = put_fields(c->field, c->len, nf, src, &start, b, m);
			}
			*linelen = b + j;
			return last_field(c, src, start, n, nf);
		}
		/* A CR in the last byte may come before a '\n' in the next
		 * block: that block decides. */
		if ((odd | (crm & 0x7FFFu)) != 0)
			goto odd;
		if (crm != 0 && !(b + 16 < avail && src[b + 16] == '\n'))
			goto odd;
		if (m != 0) {
			if (nf + 17 > c->fcap && grow_fields(c, nf + 17) != 0)
				return -2;
			nf = put_fields(c->field, c->len, nf, src, &start, b, m);
		}
	}
none:
	while (nf > 0) {
		nf--;
		c->field[nf][c->len[nf]] = c->delim;
	}
	return -3;
odd:
	while (nf > 0) {
		nf--;
		c->field[nf][c->len[nf]] = c->delim;
	}
	return -1;
}
#endif

int
pt_csv_next(pt_csv *c, pt_csvrec *rec, pt_err *e)
{
	const char *nl;
	size_t linelen = 0, n;
	long nf;
	int r;

	if (c->failed) {
		if (e != NULL)
			*e = c->err;
		return -1;
	}
	if (!c->started && start(c, e) < 0)
		return -1;
	/* Skip what libcsv skips between records: any CR and LF. */
	for (;;) {
		while (c->pos < c->end &&
		    (c->buf[c->pos] == '\n' || c->buf[c->pos] == '\r'))
			c->line += c->buf[c->pos++] == '\n';
		if (c->pos < c->end)
			break;
		if ((r = fill(c, e)) <= 0)
			return r;
	}
	if (c->force_slow)
		return slow_record(c, rec, e);
#if defined(__SSE2__)
	nf = scan_line(c, c->buf + c->pos, c->end - c->pos, &linelen);
	if (nf == -2)
		return fail_at(c, e, c->line, PT_ENOMEM, "out of memory");
	if (nf == -1)
		return slow_record(c, rec, e);
	if (nf >= 0) {
		nl = c->buf + c->pos + linelen;
		goto found;
	}
#endif
	nl = memchr(c->buf + c->pos, '\n', c->end - c->pos);
	/* A line that goes on past the bytes read goes through libcsv,
	 * which reads on as it parses: so an error in the bytes held (a NUL,
	 * say) is found before one in reading more (a cut zstd stream), in
	 * the order the slow path finds them.  One line per read of a MiB,
	 * so it costs nothing to speak of. */
	if (nl == NULL && !c->eof)
		return slow_record(c, rec, e);
	linelen = nl != NULL ? (size_t)(nl - (c->buf + c->pos)) : c->end - c->pos;
	n = linelen;
	if (n > 0 && c->buf[c->pos + n - 1] == '\r')
		n--;
	/* The byte after the line takes its last field's NUL: at the end of
	 * input without a line end that may be past the buffer. */
	if (n > FAST_LINE_MAX || c->pos + n >= c->cap)
		return slow_record(c, rec, e);
	nf = split_fast(c, c->buf + c->pos, n);
	if (nf == -2)
		return fail_at(c, e, c->line, PT_ENOMEM, "out of memory");
	if (nf < 0)
		return slow_record(c, rec, e);
#if defined(__SSE2__)
found:
#endif
	rec->nfields = (size_t)nf;
	rec->field = c->field;
	rec->len = c->len;
	rec->line = c->line;
	c->pos += linelen;
	if (nl != NULL) {
		c->pos++;
		c->line++;
	}
	return 1;
}

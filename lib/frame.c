/*
 * frame.c: the policy frame codec (layout in man/policy-frames.5).
 *
 * A frame is a 48-byte header, a payload and an 8-byte trailer:
 *
 *	header	"PTFR", version, type, ncols, nrows, payload length,
 *		schema digest, XXH3-64 of the 40 bytes before it
 *	payload	schema (names, types, roles, levels) or columns
 *	trailer	XXH3-64 of header and payload
 *
 * The header has its own checksum so that a damaged length is caught before
 * we act on it; the lengths are then held to fixed limits, so even a header
 * crafted to pass its checksum cannot make us allocate more than a frame's
 * worth of memory.  Both sides keep one buffer each for frames and one for
 * the batch, grown to the largest frame seen and reused: memory does not
 * grow with the number of frames.
 *
 * Column data is stored in host order, which the format fixes as little
 * endian; header fields are assembled byte by byte, so only the column
 * copies depend on the host.
 */
#include "frame.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>
/*
 * The library's plain XXH3 entry points are built for SSE2 (12 GB/s here);
 * its _dispatch ones pick AVX2 or AVX-512 at run time (30 to 38 GB/s) and
 * hash the same.  Every frame byte is hashed once on each side of a pipe,
 * so this is worth a third of a filter's time; the header maps the names.
 */
#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#endif
#endif
#include <zstd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "policy frames store columns little endian; this host is not"
#endif

#define MAGIC		"PTFR"
#define VERSION		1
#define HDR		48	/* header bytes */
#define TRL		8	/* trailer bytes */
#define COLHDR		24	/* per-column header in a data frame */

enum { F_SCHEMA = 1, F_DATA = 2, F_END = 3 };

/* Limits, checked before anything is allocated (see LIMITS in the page). */
#define MAX_COLS	(1u << 16)
/* A column name or level label: a CSV field (at most PT_CSV_MAX_FIELD,
 * 1 MiB) with room for the prefixes the tools add (score:, bin:). */
#define MAX_STR		((1u << 20) + 64)
#define MAX_LEVELS	(1u << 24)
#define MAX_SCHEMA	(64u << 20)	/* schema payload bytes */
#define MAX_ROWS	(1u << 26)	/* rows in one data frame */
#define MAX_RAW		(1u << 30)	/* raw column bytes in one data frame */
#define MAX_DIGEST	32		/* manifest digest characters */

/* The fuzzing build (make fuzz) makes the next two small, so that frames
 * of a few kilobytes cross the reader's buffer and take the large-frame
 * paths of reader and writer. */
#ifndef PT_FRAME_RBUF
#define PT_FRAME_RBUF	(128u << 10)
#endif
#ifndef PT_FRAME_BIG
#define PT_FRAME_BIG	(256u << 10)
#endif
#define RBUFSZ		PT_FRAME_RBUF	/* reader's input buffer */
#define WFLUSH		(256u << 10)	/* writer flushes past this much */
#define BIGFRAME	PT_FRAME_BIG	/* frames this large skip the buffers */
#define PIPESZ		(1u << 20)	/* pipe capacity we ask for */
#define MAXIOV		512		/* iovecs per writev, under IOV_MAX */

/* Linux only: glibc names it under _GNU_SOURCE, which we do not set. */
#if defined(__linux__) && !defined(F_SETPIPE_SZ)
#define F_SETPIPE_SZ	1031
#define F_GETPIPE_SZ	1032
#endif

/* Little-endian field access, byte by byte so alignment never matters. */
static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t
pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

size_t
pt_type_width(pt_type t)
{
	return t == PT_I32 ? 4 : t == PT_U8 ? 1 : 8;
}

static int
type_valid(int t)
{
	return t == PT_F64 || t == PT_I32 || t == PT_U64 || t == PT_U8;
}

static int
role_valid(int r)
{
	return r >= PT_ROLE_OTHER && r <= PT_ROLE_WEIGHT;
}

/* ---- schemas ---- */

const char *
pt_type_name(pt_type t)
{
	switch (t) {
	case PT_F64: return "f64";
	case PT_I32: return "i32";
	case PT_U64: return "u64";
	case PT_U8: return "u8";
	}
	return "unknown";
}

const char *
pt_role_name(pt_role r)
{
	switch (r) {
	case PT_ROLE_OTHER: return "other";
	case PT_ROLE_ROW: return "row";
	case PT_ROLE_FEATURE: return "feature";
	case PT_ROLE_TREATMENT: return "treatment";
	case PT_ROLE_OUTCOME: return "outcome";
	case PT_ROLE_SCORE: return "score";
	case PT_ROLE_ACTION: return "action";
	case PT_ROLE_REWARD: return "reward";
	case PT_ROLE_PROPENSITY: return "propensity";
	case PT_ROLE_BIN: return "bin";
	case PT_ROLE_PART: return "part";
	case PT_ROLE_WEIGHT: return "weight";
	}
	return "unknown";
}

/*
 * A digest longer than the field is cut to 32 characters: the header
 * promises NULL only for ENOMEM, and every digest we make is 32 long.
 */
pt_schema *
pt_schema_new(const char *manifest_digest)
{
	pt_schema *s = calloc(1, sizeof *s);

	if (s == NULL)
		return NULL;
	if (manifest_digest != NULL)
		snprintf(s->manifest, sizeof s->manifest, "%s",
		    manifest_digest);
	return s;
}

static void
col_free(pt_colspec *c)
{
	int i;

	free(c->name);
	for (i = 0; i < c->nlevels; i++)
		free(c->levels[i]);
	free(c->levels);
}

void
pt_schema_free(pt_schema *s)
{
	int j;

	if (s == NULL)
		return;
	for (j = 0; j < s->ncols; j++)
		col_free(&s->cols[j]);
	free(s->cols);
	free(s);
}

/*
 * Appends a column from counted strings (the reader's strings are not NUL
 * terminated).  levels/levlen may be NULL when nlevels is 0.  The caller
 * has checked type, role and lengths.
 */
static int
schema_push(pt_schema *s, const char *name, size_t namelen, pt_type type,
    pt_role role, int nlevels, const char *const *levels,
    const size_t *levlen, pt_err *e)
{
	pt_colspec *cols, *c;
	int i, j;

	for (j = 0; j < s->ncols; j++)
		if (strlen(s->cols[j].name) == namelen &&
		    memcmp(s->cols[j].name, name, namelen) == 0)
			return pt_fail(e, PT_EUSAGE, "",
			    "column '%.*s' appears twice in the schema",
			    (int)(namelen > 200 ? 200 : namelen), name);
	if (s->ncols >= (int)MAX_COLS)
		return pt_fail(e, PT_ELIMIT, "",
		    "more than %u columns in a schema", MAX_COLS);
	cols = realloc(s->cols, (size_t)(s->ncols + 1) * sizeof *cols);
	if (cols == NULL)
		goto nomem;
	s->cols = cols;
	c = &cols[s->ncols];
	memset(c, 0, sizeof *c);
	c->type = type;
	c->role = role;
	if ((c->name = pt_strndup(name, namelen)) == NULL)
		goto nomem;
	if (nlevels > 0) {
		c->levels = calloc((size_t)nlevels, sizeof *c->levels);
		if (c->levels == NULL)
			goto nomem_col;
		for (i = 0; i < nlevels; i++) {
			c->levels[i] = pt_strndup(levels[i], levlen[i]);
			if (c->levels[i] == NULL) {
				c->nlevels = i;
				goto nomem_col;
			}
		}
		c->nlevels = nlevels;
	}
	return s->ncols++;
nomem_col:
	col_free(c);
nomem:
	return pt_fail(e, PT_ENOMEM, "", "out of memory adding a column");
}

int
pt_schema_add(pt_schema *s, const char *name, pt_type type, pt_role role,
    int nlevels, char *const *levels, pt_err *e)
{
	size_t *len = NULL, n;
	int i, rc;

	if (s == NULL || name == NULL || name[0] == '\0')
		return pt_fail(e, PT_EUSAGE, "", "a column needs a name");
	n = strlen(name);
	if (n > MAX_STR)
		return pt_fail(e, PT_ELIMIT, "",
		    "column name longer than %u bytes", MAX_STR);
	if (!type_valid((int)type))
		return pt_fail(e, PT_EUSAGE, "", "column '%s': bad type %d",
		    name, (int)type);
	if (!role_valid((int)role))
		return pt_fail(e, PT_EUSAGE, "", "column '%s': bad role %d",
		    name, (int)role);
	if (nlevels < 0 || (nlevels > 0 && (type != PT_I32 || levels == NULL)))
		return pt_fail(e, PT_EUSAGE, "",
		    "column '%s': only i32 code columns have levels", name);
	if ((unsigned)nlevels > MAX_LEVELS)
		return pt_fail(e, PT_ELIMIT, "",
		    "column '%s': more than %u levels", name, MAX_LEVELS);
	if (nlevels > 0) {
		if ((len = malloc((size_t)nlevels * sizeof *len)) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		for (i = 0; i < nlevels; i++) {
			if (levels[i] == NULL ||
			    (len[i] = strlen(levels[i])) > MAX_STR) {
				free(len);
				return pt_fail(e, PT_ELIMIT, "",
				    "column '%s': level %d missing or longer "
				    "than %u bytes", name, i, MAX_STR);
			}
		}
	}
	rc = schema_push(s, name, n, type, role, nlevels,
	    (const char *const *)levels, len, e);
	free(len);
	return rc;
}

int
pt_schema_find(const pt_schema *s, const char *name)
{
	int j;

	for (j = 0; j < s->ncols; j++)
		if (strcmp(s->cols[j].name, name) == 0)
			return j;
	return -1;
}

int
pt_schema_find_role(const pt_schema *s, pt_role role, int nth)
{
	int j;

	for (j = 0; j < s->ncols; j++)
		if (s->cols[j].role == role && nth-- == 0)
			return j;
	return -1;
}

int
pt_schema_weight(const pt_schema *s)
{
	return pt_schema_find_role(s, PT_ROLE_WEIGHT, 0);
}

int
pt_refuse_weights(const pt_schema *s, const char *what, pt_err *e)
{
	int c = pt_schema_weight(s);

	if (c < 0)
		return 0;
	return pt_fail(e, PT_EUSAGE, "", "the frames carry sample weights "
	    "(column '%.100s'), which %s does not take yet", s->cols[c].name,
	    what);
}

int
pt_schema_count_role(const pt_schema *s, pt_role role)
{
	int j, n = 0;

	for (j = 0; j < s->ncols; j++)
		n += s->cols[j].role == role;
	return n;
}

pt_schema *
pt_schema_clone(const pt_schema *s)
{
	pt_schema *c;
	int j;

	if ((c = pt_schema_new(s->manifest)) == NULL)
		return NULL;
	for (j = 0; j < s->ncols; j++) {
		const pt_colspec *k = &s->cols[j];

		if (pt_schema_add(c, k->name, k->type, k->role, k->nlevels,
		    k->levels, NULL) < 0) {
			pt_schema_free(c);
			return NULL;
		}
	}
	return c;
}

/*
 * Says how b differs from a, in words, into buf; returns 0 if it does not.
 * One function serves pt_schema_equal and the reader's mismatch message,
 * so the two can never disagree.
 */
static int
schema_diff(const pt_schema *a, const pt_schema *b, char *buf, size_t sz)
{
	int i, j;

	if (strcmp(a->manifest, b->manifest) != 0) {
		snprintf(buf, sz, "manifest digest differs (%s, was %s)",
		    b->manifest, a->manifest);
		return 1;
	}
	for (j = 0; j < a->ncols && j < b->ncols; j++) {
		const pt_colspec *x = &a->cols[j], *y = &b->cols[j];

		if (strcmp(x->name, y->name) != 0) {
			snprintf(buf, sz, "column %d is '%.200s', was '%.200s'",
			    j + 1, y->name, x->name);
			return 1;
		}
		if (x->type != y->type || x->role != y->role) {
			snprintf(buf, sz, "column '%.200s' is %s %s, was %s %s",
			    x->name, pt_type_name(y->type),
			    pt_role_name(y->role), pt_type_name(x->type),
			    pt_role_name(x->role));
			return 1;
		}
		if (x->nlevels != y->nlevels) {
			snprintf(buf, sz, "column '%.200s' has %d levels, "
			    "was %d", x->name, y->nlevels, x->nlevels);
			return 1;
		}
		for (i = 0; i < x->nlevels; i++)
			if (strcmp(x->levels[i], y->levels[i]) != 0) {
				snprintf(buf, sz, "column '%.200s' level %d "
				    "is '%.100s', was '%.100s'", x->name, i,
				    y->levels[i], x->levels[i]);
				return 1;
			}
	}
	if (a->ncols != b->ncols) {
		snprintf(buf, sz, "%d columns, was %d", b->ncols, a->ncols);
		return 1;
	}
	return 0;
}

int
pt_schema_equal(const pt_schema *a, const pt_schema *b)
{
	char buf[8];

	if (a == b)
		return 1;
	if (a == NULL || b == NULL)
		return 0;
	return !schema_diff(a, b, buf, sizeof buf);
}

/*
 * The schema payload: the manifest digest, then per column its name, type,
 * role and levels, strings as u32 length + bytes.  Returns the encoded
 * size, or 0 with *e set when the schema breaks a limit.  With out NULL it
 * only measures.
 */
static uint64_t
schema_encode(const pt_schema *s, unsigned char *out, pt_err *e)
{
	uint64_t n;
	size_t len;
	int i, j;

	if (s->ncols < 0 || (unsigned)s->ncols > MAX_COLS) {
		pt_fail(e, PT_ELIMIT, "", "%d columns (limit %u)", s->ncols,
		    MAX_COLS);
		return 0;
	}
	len = strnlen(s->manifest, sizeof s->manifest);
	if (out != NULL) {
		put32(out, (uint32_t)len);
		memcpy(out + 4, s->manifest, len);
	}
	n = 4 + len;
	for (j = 0; j < s->ncols; j++) {
		const pt_colspec *c = &s->cols[j];

		len = c->name != NULL ? strlen(c->name) : 0;
		if (len == 0 || len > MAX_STR || !type_valid((int)c->type) ||
		    !role_valid((int)c->role) || c->nlevels < 0 ||
		    (unsigned)c->nlevels > MAX_LEVELS ||
		    (c->nlevels > 0 && c->type != PT_I32)) {
			pt_fail(e, PT_EUSAGE, "", "schema column %d is not "
			    "valid (name, type, role or levels)", j + 1);
			return 0;
		}
		if (out != NULL) {
			put32(out + n, (uint32_t)len);
			memcpy(out + n + 4, c->name, len);
			out[n + 4 + len] = (unsigned char)c->type;
			out[n + 5 + len] = (unsigned char)c->role;
			put16(out + n + 6 + len, 0);
			put32(out + n + 8 + len, (uint32_t)c->nlevels);
		}
		n += 12 + len;
		for (i = 0; i < c->nlevels; i++) {
			len = strlen(c->levels[i]);
			if (len > MAX_STR) {
				pt_fail(e, PT_ELIMIT, "", "column '%.200s': "
				    "level longer than %u bytes", c->name,
				    MAX_STR);
				return 0;
			}
			if (out != NULL) {
				put32(out + n, (uint32_t)len);
				memcpy(out + n + 4, c->levels[i], len);
			}
			n += 4 + len;
		}
		if (n > MAX_SCHEMA) {
			pt_fail(e, PT_ELIMIT, "", "schema over %u bytes",
			    MAX_SCHEMA);
			return 0;
		}
	}
	return n;
}

/* Reads a u32-counted string at *pos, checking it fits and has no NUL. */
static int
take_str(const unsigned char *p, uint64_t len, uint64_t *pos, uint32_t max,
    const char **s, size_t *slen)
{
	uint32_t n;

	if (len - *pos < 4)
		return -1;
	n = get32(p + *pos);
	if (n > max || len - *pos - 4 < n ||
	    memchr(p + *pos + 4, '\0', n) != NULL)
		return -1;
	*s = (const char *)p + *pos + 4;
	*slen = n;
	*pos += 4 + (uint64_t)n;
	return 0;
}

/*
 * Decodes a schema payload.  It passed its checksum, so a failure here is a
 * writer's bug or a crafted frame; msg says what was wrong.
 */
static pt_schema *
schema_decode(const unsigned char *p, uint64_t len, uint32_t ncols,
    const char **msg, pt_err *e)
{
	pt_err le;
	pt_schema *s;
	const char *str, **lev = NULL;
	size_t slen, *levlen = NULL;
	uint64_t pos = 0;
	uint32_t j, i, nlev;
	int type, role;
	char digest[MAX_DIGEST + 1];

	*msg = NULL;
	if (take_str(p, len, &pos, MAX_DIGEST, &str, &slen) < 0) {
		*msg = "bad manifest digest";
		return NULL;
	}
	memcpy(digest, str, slen);
	digest[slen] = '\0';
	if ((s = pt_schema_new(digest)) == NULL)
		goto nomem;
	for (j = 0; j < ncols; j++) {
		const char *name;
		size_t namelen;

		if (take_str(p, len, &pos, MAX_STR, &name, &namelen) < 0 ||
		    namelen == 0 || len - pos < 8) {
			*msg = "bad column name";
			goto bad;
		}
		type = p[pos];
		role = p[pos + 1];
		nlev = get32(p + pos + 4);
		if (!type_valid(type) || !role_valid(role) ||
		    get16(p + pos + 2) != 0 || nlev > MAX_LEVELS ||
		    (nlev > 0 && type != PT_I32) ||
		    nlev > (len - pos - 8) / 4) {
			*msg = "bad column type, role or level count";
			goto bad;
		}
		pos += 8;
		if (nlev > 0) {
			lev = malloc(nlev * sizeof *lev);
			levlen = malloc(nlev * sizeof *levlen);
			if (lev == NULL || levlen == NULL)
				goto nomem;
		}
		for (i = 0; i < nlev; i++)
			if (take_str(p, len, &pos, MAX_STR, &lev[i],
			    &levlen[i]) < 0) {
				*msg = "bad level label";
				goto bad;
			}
		if (schema_push(s, name, namelen, (pt_type)type,
		    (pt_role)role, (int)nlev, lev, levlen, &le) < 0) {
			if (le.code == PT_ENOMEM)
				goto nomem;
			*msg = "duplicate column name";
			goto bad;
		}
		free(lev);
		free(levlen);
		lev = NULL;
		levlen = NULL;
	}
	/* Zero padding to a multiple of 8 keeps every frame 8-aligned. */
	if (len % 8 != 0 || len - pos >= 8) {
		*msg = "bytes left over after the last column";
		goto bad;
	}
	for (; pos < len; pos++)
		if (p[pos] != 0) {
			*msg = "padding is not zero";
			goto bad;
		}
	return s;
nomem:
	pt_fail(e, PT_ENOMEM, "", "out of memory reading a schema");
bad:
	free(lev);
	free(levlen);
	pt_schema_free(s);
	return NULL;
}

/* ---- batches ---- */

size_t
pt_frame_rows(const pt_schema *s)
{
	size_t w = 0, rows;
	int j;

	for (j = 0; j < s->ncols; j++)
		w += pt_type_width(s->cols[j].type);
	rows = w > 0 ? PT_FRAME_BYTES / w : PT_FRAME_ROWS;
	return rows > PT_FRAME_ROWS ? PT_FRAME_ROWS : rows < 1024 ? 1024 : rows;
}

/*
 * A batch's columns live in one block.  A block of a frame's size (up to
 * PT_FRAME_BYTES) is aligned to 2 MiB and offered to the kernel for huge
 * pages: reading frames into it then takes a page fault per 2 MiB instead
 * of one per 4 KiB, and fewer TLB misses.  On the virtual machines this
 * was measured on, a fault costs about 25 us: the 2300 faults of one
 * 9 MB batch took half the CPU time of checking a 400 MB stream (bench
 * of policy-verify sign).
 */
#define HUGE_ALIGN	((size_t)2 << 20)

pt_batch *
pt_batch_new(const pt_schema *s, size_t cap)
{
	pt_batch *b;
	size_t bytes, total = 0, align = 64;
	unsigned char *mem;
	void *p;
	int j;

	if (cap > SIZE_MAX / 8 - 64 ||
	    (size_t)s->ncols > (SIZE_MAX / 2 - HUGE_ALIGN) / (cap * 8 + 64))
		return NULL;
	if ((b = calloc(1, sizeof *b)) == NULL)
		return NULL;
	b->schema = s;
	b->cap = cap;
	if (s->ncols > 0 &&
	    (b->col = calloc((size_t)s->ncols, sizeof *b->col)) == NULL)
		goto fail;
	/* Round each column up so that cap 0 still gets a real, aligned
	 * array of its own. */
	for (j = 0; j < s->ncols; j++) {
		bytes = (cap * pt_type_width(s->cols[j].type) + 63) & ~(size_t)63;
		total += bytes == 0 ? 64 : bytes;
	}
	if (total >= HUGE_ALIGN / 2) {
		align = HUGE_ALIGN;
		total = (total + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	}
	if (total == 0)
		total = 64;
	if (posix_memalign(&p, align, total) != 0)
		goto fail;
	b->mem = mem = p;
#ifdef MADV_HUGEPAGE
	/* Advice only: without huge pages the batch works as well. */
	if (align == HUGE_ALIGN)
		(void)madvise(mem, total, MADV_HUGEPAGE);
#endif
	for (j = 0; j < s->ncols; j++) {
		bytes = (cap * pt_type_width(s->cols[j].type) + 63) & ~(size_t)63;
		b->col[j] = mem;
		mem += bytes == 0 ? 64 : bytes;
	}
	return b;
fail:
	pt_batch_free(b);
	return NULL;
}

void
pt_batch_free(pt_batch *b)
{
	int j;

	if (b == NULL)
		return;
	if (b->mem != NULL)
		free(b->mem);
	else if (b->col != NULL)
		for (j = 0; j < b->schema->ncols; j++)
			free(b->col[j]);
	free(b->col);
	free(b);
}

/* ---- frame headers ---- */

struct fhdr {
	int type;
	uint32_t ncols;
	uint64_t nrows, plen, digest;
};

static void
hdr_put(unsigned char *p, int type, uint32_t ncols, uint64_t nrows,
    uint64_t plen, uint64_t digest)
{
	memcpy(p, MAGIC, 4);
	put16(p + 4, VERSION);
	p[6] = (unsigned char)type;
	p[7] = 0;
	put32(p + 8, ncols);
	put32(p + 12, 0);
	put64(p + 16, nrows);
	put64(p + 24, plen);
	put64(p + 32, digest);
	put64(p + 40, XXH3_64bits(p, 40));
}

/* Seals the frame at f (header and payload in place) with its trailer. */
static void
frame_seal(unsigned char *f, uint64_t plen)
{
	put64(f + HDR + plen, XXH3_64bits(f, HDR + plen));
}

/*
 * A pipe holds 64 KiB by default, so every read or write of a frame of
 * megabytes is cut into pieces of 64 KiB, each a context switch away from
 * the next.  Asking for 1 MiB lets whole columns pass at once.  Failure
 * (not Linux, not a pipe, over the user's pipe quota) costs only speed.
 */
static void
pipe_grow(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;
	int saved = errno;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    fcntl(fd, F_GETPIPE_SZ) < (int)PIPESZ)
		(void)fcntl(fd, F_SETPIPE_SZ, (int)PIPESZ);
	errno = saved;
#else
	(void)fd;
#endif
}

/* ---- writer ---- */

struct pt_writer {
	int fd;
	char *name;
	pt_schema *schema;
	int level;
	int autolvl;		/* PT_LEVEL_AUTO: keep only what pays */
	ZSTD_CCtx *cctx;
	unsigned char *probe;	/* scratch for compress_col's trial */
	unsigned char *obuf;	/* whole frames waiting to be written */
	size_t olen, ocap;
	/* Large frames go out by writev from the batch's own arrays: */
	unsigned char *zbuf;	/* compressed columns */
	size_t zcap;
	unsigned char *glue;	/* header, column headers, padding, trailer */
	struct iovec *iov;	/* 2 per column and 2 more */
	uint64_t *stored;	/* per column: stored bytes, */
	size_t *zoff;		/* offset in zbuf or SIZE_MAX if raw */
	XXH3_state_t *xs;
	uint64_t digest;	/* XXH3-64 of the schema payload */
	uint64_t bytes;		/* bytes of frames made so far */
	uint64_t segrows;	/* rows since the schema frame */
	int failed;
	int saved_errno;
	pt_err err;		/* the failure, repeated to later calls */
};

static int
w_reserve(pt_writer *w, uint64_t more, pt_err *e)
{
	unsigned char *p;
	size_t cap;

	if (w->olen + more <= w->ocap)
		return 0;
	cap = w->ocap ? w->ocap : 1 << 16;
	while (cap < w->olen + more)
		cap *= 2;
	if ((p = realloc(w->obuf, cap)) == NULL)
		return pt_fail(e, PT_ENOMEM, w->name,
		    "out of memory for a %zu-byte frame", cap);
	w->obuf = p;
	w->ocap = cap;
	return 0;
}

static int
w_failed(pt_writer *w, pt_err *e)
{
	if (e != NULL)
		*e = w->err;
	errno = w->saved_errno;
	return -1;
}

static int
w_ioerr(pt_writer *w, pt_err *e)
{
	int saved = errno;

	pt_fail(&w->err, PT_EIO, w->name, "write error: %s", strerror(saved));
	w->failed = 1;
	w->saved_errno = saved;
	return w_failed(w, e);
}

/* Writes out the buffer; EINTR and short writes are retried. */
static int
w_flush(pt_writer *w, pt_err *e)
{
	if (pt_write_all(w->fd, w->obuf, w->olen) != 0)
		return w_ioerr(w, e);
	w->olen = 0;
	return 0;
}

/* Writes out n iovecs (consumed in place); EINTR and short writes are
 * retried. */
static int
w_writev(pt_writer *w, struct iovec *iov, size_t n, pt_err *e)
{
	ssize_t m;
	size_t k;

	while (n > 0) {
		if (iov->iov_len == 0) {
			iov++;
			n--;
			continue;
		}
		m = writev(w->fd, iov, (int)(n < MAXIOV ? n : MAXIOV));
		if (m < 0) {
			if (errno == EINTR)
				continue;
			return w_ioerr(w, e);
		}
		for (k = (size_t)m; n > 0 && k >= iov->iov_len; n--, iov++)
			k -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= k;
		}
	}
	return 0;
}

/* Appends a whole frame of the given payload length already at obuf+olen. */
static int
w_frame_done(pt_writer *w, uint64_t plen, pt_err *e)
{
	frame_seal(w->obuf + w->olen, plen);
	w->olen += HDR + plen + TRL;
	w->bytes += HDR + plen + TRL;
	return w->olen >= WFLUSH ? w_flush(w, e) : 0;
}

pt_writer *
pt_writer_open(int fd, const char *name, const pt_schema *s, int level,
    pt_err *e)
{
	pt_writer *w;
	unsigned char *f;
	uint64_t plen;
	int autolvl = 0;

	if (name == NULL)
		name = "<output>";
	if (s == NULL) {
		pt_fail(e, PT_EUSAGE, name, "no schema to write");
		return NULL;
	}
	if (level == PT_LEVEL_AUTO) {
		level = 1;
		autolvl = 1;
	} else if (level != 0 &&
	    (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())) {
		pt_fail(e, PT_EUSAGE, name, "compression level %d out of "
		    "range (%d to %d)", level, ZSTD_minCLevel(),
		    ZSTD_maxCLevel());
		return NULL;
	}
	if ((w = calloc(1, sizeof *w)) == NULL)
		goto nomem;
	w->fd = fd;
	w->level = level;
	w->autolvl = autolvl;
	pipe_grow(fd);
	if ((w->name = pt_strdup(name)) == NULL ||
	    (w->schema = pt_schema_clone(s)) == NULL)
		goto nomem;
	if (level != 0 && (w->cctx = ZSTD_createCCtx()) == NULL)
		goto nomem;
	if ((plen = schema_encode(s, NULL, e)) == 0) {
		if (e != NULL)
			snprintf(e->where, sizeof e->where, "%s", name);
		pt_writer_abort(w);
		return NULL;
	}
	if (w_reserve(w, HDR + pad8(plen) + TRL, e) < 0) {
		pt_writer_abort(w);
		return NULL;
	}
	f = w->obuf;
	schema_encode(s, f + HDR, NULL);
	memset(f + HDR + plen, 0, pad8(plen) - plen);
	plen = pad8(plen);
	w->digest = XXH3_64bits(f + HDR, plen);
	hdr_put(f, F_SCHEMA, (uint32_t)s->ncols, 0, plen, w->digest);
	if (w_frame_done(w, plen, e) < 0) {
		pt_writer_abort(w);
		return NULL;
	}
	return w;
nomem:
	pt_writer_abort(w);
	pt_fail(e, PT_ENOMEM, name, "out of memory opening the writer");
	return NULL;
}

/*
 * Writes a large frame straight from the batch's arrays with writev, after
 * whatever small frames wait in obuf: the columns are not copied in user
 * space at all (compressed ones are, by zstd, into zbuf).  The frame check
 * is computed over the pieces in stream order.
 */
/*
 * Compresses one column into dst (room for raw bytes); returns the stored
 * size, or 0 to store the column raw.  Columns of random doubles barely
 * shrink (a few percent at level 1, at ~0.65 GB/s), so a large column is
 * first tried on its first PROBE bytes: when that saves less than 15% the
 * column is stored raw without compressing the rest.  The choice depends
 * only on the bytes, so equal input still gives equal output.
 *
 * At PT_LEVEL_AUTO (level 1) a column is kept compressed only when it
 * shrinks to 1/AUTO_RATIO of its size or less.  Measured here (zstd 1.5,
 * level 1), the time to compress and decompress a byte is 3 to 7 ns for
 * columns that shrink 1.6 to 11 times (bin codes, treatment codes, 0/1
 * flags), while a byte not sent saves 1 to 1.4 ns on a pipe or disk of
 * 0.7 to 1 GB/s: they never pay.  Columns that shrink 100 times or more
 * (constant or nearly so) cost 0.1 to 0.4 ns a byte and do.
 */
#define PROBE 32768
#define AUTO_RATIO 32

static size_t
compress_col(pt_writer *w, void *dst, const void *src, size_t raw)
{
	size_t r;

	if (w->level == 0 || raw == 0)
		return 0;
	if (raw > 4 * PROBE) {
		if (w->probe == NULL &&
		    (w->probe = malloc(ZSTD_compressBound(PROBE))) == NULL)
			return 0; /* cannot try: storing raw is always valid */
		r = ZSTD_compressCCtx(w->cctx, w->probe, ZSTD_compressBound(PROBE),
		    src, PROBE, w->level);
		if (ZSTD_isError(r) || r > PROBE - PROBE / 100 * 15 ||
		    (w->autolvl && r > PROBE / AUTO_RATIO))
			return 0;
	}
	r = ZSTD_compressCCtx(w->cctx, dst, raw, src, raw, w->level);
	if (w->autolvl && !ZSTD_isError(r) && r > raw / AUTO_RATIO)
		return 0;
	return !ZSTD_isError(r) && r < raw ? r : 0;
}

static int
w_direct(pt_writer *w, const pt_batch *b, pt_err *e)
{
	const pt_schema *s = w->schema;
	const int nc = s->ncols;
	size_t n = b->nrows, r, zlen = 0, gl, start, k = 0;
	uint64_t raw, plen = 0, zneed = 0;
	unsigned char *g, *h;
	struct iovec *iov;
	int j;

	if (w->iov == NULL) {
		w->iov = malloc(((size_t)nc * 2 + 2) * sizeof *w->iov);
		w->glue = malloc(HDR + (size_t)nc * (COLHDR + 8) + TRL);
		w->stored = malloc(((size_t)nc + 1) * sizeof *w->stored);
		w->zoff = malloc(((size_t)nc + 1) * sizeof *w->zoff);
		if (w->xs == NULL)
			w->xs = XXH3_createState();
		if (w->iov == NULL || w->glue == NULL || w->stored == NULL ||
		    w->zoff == NULL || w->xs == NULL)
			return pt_fail(e, PT_ENOMEM, w->name,
			    "out of memory for a frame");
	}
	if (w->level != 0) {
		for (j = 0; j < nc; j++)
			zneed += n * pt_type_width(s->cols[j].type);
		if (zneed > w->zcap) {
			free(w->zbuf);
			w->zcap = 0;
			if ((w->zbuf = malloc(zneed)) == NULL)
				return pt_fail(e, PT_ENOMEM, w->name, "out of "
				    "memory for a %llu-byte frame",
				    (unsigned long long)zneed);
			w->zcap = zneed;
		}
	}
	/* Compress first: the header needs the payload length. */
	for (j = 0; j < nc; j++) {
		raw = n * pt_type_width(s->cols[j].type);
		w->stored[j] = raw;
		w->zoff[j] = SIZE_MAX;
		if (w->level != 0 && raw > 0 &&
		    (r = compress_col(w, w->zbuf + zlen, b->col[j], raw)) > 0) {
			w->stored[j] = r;
			w->zoff[j] = zlen;
			zlen += r;
		}
		plen += COLHDR + pad8(w->stored[j]);
	}
	iov = w->iov;
	if (w->olen > 0) {
		iov[k].iov_base = w->obuf;
		iov[k++].iov_len = w->olen;
	}
	g = w->glue;
	hdr_put(g, F_DATA, (uint32_t)nc, n, plen, w->digest);
	XXH3_64bits_reset(w->xs);
	gl = HDR;
	start = 0;
	for (j = 0; j < nc; j++) {
		raw = n * pt_type_width(s->cols[j].type);
		h = g + gl;
		put32(h, w->zoff[j] == SIZE_MAX ? 0 : 1);
		put32(h + 4, 0);
		put64(h + 8, w->stored[j]);
		put64(h + 16, raw);
		gl += COLHDR;
		iov[k].iov_base = g + start;
		iov[k++].iov_len = gl - start;
		XXH3_64bits_update(w->xs, g + start, gl - start);
		iov[k].iov_base = w->zoff[j] == SIZE_MAX ? b->col[j] :
		    w->zbuf + w->zoff[j];
		iov[k].iov_len = w->stored[j];
		XXH3_64bits_update(w->xs, iov[k].iov_base, iov[k].iov_len);
		k++;
		start = gl;
		memset(g + gl, 0, pad8(w->stored[j]) - w->stored[j]);
		gl += pad8(w->stored[j]) - w->stored[j];
	}
	XXH3_64bits_update(w->xs, g + start, gl - start);
	put64(g + gl, XXH3_64bits_digest(w->xs));
	gl += TRL;
	iov[k].iov_base = g + start;
	iov[k++].iov_len = gl - start;
	w->olen = 0;
	if (w_writev(w, iov, k, e) < 0)
		return -1;
	w->segrows += n;
	w->bytes += HDR + plen + TRL;
	return 0;
}

int
pt_writer_write(pt_writer *w, const pt_batch *b, pt_err *e)
{
	const pt_schema *s = w->schema;
	unsigned char *f, *h;
	uint64_t raw, stored, pos, bound, rowbytes = 0;
	size_t n, r;
	int j, codec;

	if (w->failed)
		return w_failed(w, e);
	if (b == NULL || b->schema == NULL ||
	    (b->schema != s && !pt_schema_equal(b->schema, s)))
		return pt_fail(e, PT_EUSAGE, w->name,
		    "batch schema differs from the writer's");
	if (b->nrows > b->cap)
		return pt_fail(e, PT_EUSAGE, w->name,
		    "batch holds %zu rows but has room for %zu", b->nrows,
		    b->cap);
	if ((n = b->nrows) == 0)
		return 0;
	for (j = 0; j < s->ncols; j++)
		rowbytes += pt_type_width(s->cols[j].type);
	if (n > MAX_ROWS || n * rowbytes > MAX_RAW)
		return pt_fail(e, PT_ELIMIT, w->name,
		    "a batch of %zu rows of %llu bytes is over the frame "
		    "limits (%u rows, %u bytes)", n,
		    (unsigned long long)rowbytes, MAX_ROWS, MAX_RAW);
	bound = HDR + TRL;
	for (j = 0; j < s->ncols; j++)
		bound += COLHDR + pad8(n * pt_type_width(s->cols[j].type));
	if (bound >= BIGFRAME)
		return w_direct(w, b, e);
	if (w_reserve(w, bound, e) < 0)
		return -1;
	f = w->obuf + w->olen;
	pos = HDR;
	for (j = 0; j < s->ncols; j++) {
		h = f + pos;
		raw = n * pt_type_width(s->cols[j].type);
		codec = 0;
		stored = raw;
		/* zstd gets room for raw bytes only: output that would not
		 * be smaller fails early and the column is stored raw. */
		if ((r = compress_col(w, h + COLHDR, b->col[j], raw)) > 0) {
			codec = 1;
			stored = r;
		}
		if (codec == 0)
			memcpy(h + COLHDR, b->col[j], raw);
		memset(h + COLHDR + stored, 0, pad8(stored) - stored);
		put32(h, (uint32_t)codec);
		put32(h + 4, 0);
		put64(h + 8, stored);
		put64(h + 16, raw);
		pos += COLHDR + pad8(stored);
	}
	hdr_put(f, F_DATA, (uint32_t)s->ncols, n, pos - HDR, w->digest);
	w->segrows += n;
	return w_frame_done(w, pos - HDR, e);
}

int
pt_writer_close(pt_writer *w, pt_err *e)
{
	int rc = 0, saved;

	if (w == NULL)
		return 0;
	if (w->failed)
		rc = w_failed(w, e);
	else if (w_reserve(w, HDR + TRL, e) < 0)
		rc = -1;
	else {
		hdr_put(w->obuf + w->olen, F_END, (uint32_t)w->schema->ncols,
		    w->segrows, 0, w->digest);
		if (w_frame_done(w, 0, e) < 0 || w_flush(w, e) < 0)
			rc = -1;
	}
	/* The caller may look at errno (EPIPE) after we return. */
	saved = errno;
	pt_writer_abort(w);
	errno = saved;
	return rc;
}

void
pt_writer_abort(pt_writer *w)
{
	if (w == NULL)
		return;
	ZSTD_freeCCtx(w->cctx);
	free(w->probe);
	pt_schema_free(w->schema);
	free(w->obuf);
	free(w->zbuf);
	free(w->glue);
	free(w->iov);
	free(w->stored);
	free(w->zoff);
	XXH3_freeState(w->xs);
	free(w->name);
	free(w);
}

uint64_t
pt_writer_bytes(const pt_writer *w)
{
	return w->bytes;
}

/* ---- reader ---- */

enum rstate {
	R_START,	/* before the first schema frame */
	R_BODY,		/* after a schema frame: data or end frames */
	R_AFTER_END,	/* after an end frame: EOF or a schema frame */
	R_DONE,		/* proper end seen */
	R_FAILED
};

struct pt_reader {
	int fd;
	char *name;
	enum rstate state;
	unsigned char *in;	/* input buffer */
	size_t inpos, inlen;
	uint64_t off;		/* stream bytes consumed */
	uint64_t foff;		/* offset of the frame being read */
	uint64_t fno;		/* its number, 1-based, over all frames */
	unsigned char *fbuf;	/* the current frame, header and payload */
	size_t fcap;
	pt_schema *schema;	/* the first schema; later ones must equal it */
	uint64_t digest;
	uint64_t rows, segrows;
	size_t rowbytes;	/* bytes of one row, all columns */
	pt_batch *batch;
	ZSTD_DCtx *dctx;
	XXH3_state_t *xs;	/* the frame check, over the pieces */
	unsigned char *zbuf;	/* compressed columns of the current frame */
	size_t zcap;
	size_t *zoff;		/* per column: offset in zbuf or SIZE_MAX */
	uint64_t *zlen;		/* and the compressed length */
	int big;		/* the last data frame was a large one */
	pt_err err;		/* the failure, repeated to later calls */
	struct r_ahead *ahead;	/* read-ahead thread, or NULL */
};

/*
 * Read-ahead (pt_reader_readahead): a thread reads and checks frame k+1
 * into a second batch while the caller works on frame k, so that a filter
 * between two pipes reads and writes at once, as `cat` does, instead of
 * leaving its upstream blocked on a full pipe while it scores and writes
 * and its downstream idle while it reads.  The thread runs the plain
 * reader (r_next) on the reader itself; the caller sees the results in
 * order through one slot.  Two batches take turns: the thread fills
 * r->batch while the caller holds the other, and starts the next frame
 * only once the caller has taken the last one (and so given back the
 * batch before it).
 */
typedef struct r_ahead {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int joined;		/* the thread has ended and been joined */
	int stop;		/* pt_reader_close asks it to end */
	int have;		/* a result waits in the slot */
	int rc, err_no;		/* the slot: r_next's result, */
	const pt_batch *b;
	pt_err err;
	uint64_t rows, bytes;	/* and the counts after it */
	uint64_t seen_rows, seen_bytes; /* the counts the caller has seen */
	pt_batch *other;	/* the batch the caller holds (or NULL) */
} r_ahead;

/* Fails with where = "NAME: frame N at byte B" and remembers the failure. */
static int
r_fail(pt_reader *r, pt_err *e, pt_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
r_fail(pt_reader *r, pt_err *e, pt_status code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	r->err.code = code;
	snprintf(r->err.where, sizeof r->err.where, "%.200s: frame %llu at "
	    "byte %llu", r->name, (unsigned long long)r->fno,
	    (unsigned long long)r->foff);
	va_start(ap, fmt);
	vsnprintf(r->err.msg, sizeof r->err.msg, fmt, ap);
	va_end(ap);
	r->state = R_FAILED;
	if (e != NULL)
		*e = r->err;
	errno = saved;
	return -1;
}

/*
 * Reads n bytes into dst: from the buffer first, then from the fd straight
 * into dst, with up to spill bytes more read ahead into the (then empty)
 * buffer by the same readv.  A large piece (a column) is read with a
 * spill of just the small pieces known to follow it (padding, the next
 * column header), so that the start of the next column is not read into
 * the buffer only to be copied out of it.  Returns the bytes read (short
 * only at EOF) or -1 on a read error, with errno set.
 */
static ssize_t
r_readx(pt_reader *r, unsigned char *dst, size_t n, size_t spill)
{
	struct iovec iov[2];
	size_t got = 0, k;
	ssize_t m;

	if (spill > RBUFSZ)
		spill = RBUFSZ;
	while (got < n) {
		if (r->inpos < r->inlen) {
			k = r->inlen - r->inpos;
			if (k > n - got)
				k = n - got;
			memcpy(dst + got, r->in + r->inpos, k);
			r->inpos += k;
			got += k;
			continue;
		}
		iov[0].iov_base = dst + got;
		iov[0].iov_len = n - got;
		iov[1].iov_base = r->in;
		iov[1].iov_len = spill;
		m = readv(r->fd, iov, spill > 0 ? 2 : 1);
		if (m < 0) {
			if (errno == EINTR)
				continue;
			r->off += got;
			return -1;
		}
		if (m == 0)
			break;
		if ((size_t)m <= n - got)
			got += (size_t)m;
		else {
			r->inpos = 0;
			r->inlen = (size_t)m - (n - got);
			got = n;
		}
	}
	r->off += got;
	return (ssize_t)got;
}

static ssize_t
r_read(pt_reader *r, unsigned char *dst, size_t n)
{
	return r_readx(r, dst, n, RBUFSZ);
}

static int
r_ioerr(pt_reader *r, pt_err *e)
{
	int saved = errno;

	r_fail(r, e, PT_EIO, "read error: %s", strerror(saved));
	errno = saved;
	return -1;
}

static int
r_reserve(pt_reader *r, uint64_t n, pt_err *e)
{
	unsigned char *p;

	if (n <= r->fcap)
		return 0;
	/* Room for the whole frame, no more: a new largest frame is rare. */
	if ((p = realloc(r->fbuf, n)) == NULL)
		return r_fail(r, e, PT_ENOMEM,
		    "out of memory for a %llu-byte frame",
		    (unsigned long long)n);
	r->fbuf = p;
	r->fcap = n;
	return 0;
}

/*
 * Reads and checks a frame header into r->fbuf and h.  Returns 1, 0 at a
 * clean EOF (no byte of a new frame), -1 on error.
 */
static int
r_header(pt_reader *r, struct fhdr *h, pt_err *e)
{
	unsigned char *p = r->fbuf;
	ssize_t got;
	unsigned v;

	r->foff = r->off;
	r->fno++;
	if ((got = r_readx(r, p, HDR, r->big ? COLHDR : RBUFSZ)) < 0)
		return r_ioerr(r, e);
	if (got == 0)
		return 0;
	if (memcmp(p, MAGIC, got < 4 ? (size_t)got : 4) != 0) {
		if (r->fno == 1)
			return r_fail(r, e, PT_EFORMAT,
			    "not a policy frame stream (bad magic)");
		return r_fail(r, e, PT_ECORRUPT, "bad magic (corrupt, or "
		    "not a policy frame)");
	}
	if (got < HDR)
		return r_fail(r, e, PT_ECORRUPT, "truncated: the stream ends "
		    "%zd bytes into the %d-byte frame header", got, HDR);
	/* Version before checksum: a newer stream deserves a clear word. */
	if ((v = get16(p + 4)) != VERSION)
		return r_fail(r, e, PT_EFORMAT, "format version %u is not "
		    "supported (this reader reads version %d)", v, VERSION);
	if (get64(p + 40) != XXH3_64bits(p, 40))
		return r_fail(r, e, PT_ECORRUPT,
		    "header checksum mismatch (corrupt)");
	h->type = p[6];
	h->ncols = get32(p + 8);
	h->nrows = get64(p + 16);
	h->plen = get64(p + 24);
	h->digest = get64(p + 32);
	if (h->type < F_SCHEMA || h->type > F_END || p[7] != 0 ||
	    get32(p + 12) != 0)
		return r_fail(r, e, PT_ECORRUPT, "unknown frame type %d or "
		    "reserved bits set (corrupt)", h->type);
	return 1;
}

/* Reads the payload and trailer after the header, and checks the trailer. */
static int
r_body(pt_reader *r, const struct fhdr *h, pt_err *e)
{
	uint64_t need = h->plen + TRL;
	ssize_t got;

	if (r_reserve(r, HDR + need, e) < 0)
		return -1;
	if ((got = r_read(r, r->fbuf + HDR, need)) < 0)
		return r_ioerr(r, e);
	if ((uint64_t)got < need)
		return r_fail(r, e, PT_ECORRUPT, "truncated: the stream ends "
		    "%llu bytes into a %llu-byte frame",
		    (unsigned long long)(HDR + got),
		    (unsigned long long)(HDR + need));
	if (get64(r->fbuf + HDR + h->plen) !=
	    XXH3_64bits(r->fbuf, HDR + h->plen))
		return r_fail(r, e, PT_ECORRUPT,
		    "checksum mismatch (corrupt)");
	return 0;
}

/* Handles a schema frame whose header is read: the first or a repeat. */
static int
r_schema(pt_reader *r, const struct fhdr *h, pt_err *e)
{
	pt_schema *s;
	const char *msg;
	char diff[512];
	int j;

	if (h->nrows != 0 || h->ncols > MAX_COLS || h->plen > MAX_SCHEMA ||
	    h->plen < 4)
		return r_fail(r, e, PT_ECORRUPT, "schema frame header out "
		    "of limits (corrupt)");
	if (r_body(r, h, e) < 0)
		return -1;
	if (XXH3_64bits(r->fbuf + HDR, h->plen) != h->digest)
		return r_fail(r, e, PT_ECORRUPT, "schema digest does not "
		    "match the schema (corrupt)");
	s = schema_decode(r->fbuf + HDR, h->plen, h->ncols, &msg, e);
	if (s == NULL) {
		if (msg == NULL)
			return r_fail(r, e, PT_ENOMEM,
			    "out of memory reading the schema");
		return r_fail(r, e, PT_ECORRUPT, "bad schema frame: %s", msg);
	}
	if (r->schema == NULL) {
		r->zoff = malloc(((size_t)s->ncols + 1) * sizeof *r->zoff);
		r->zlen = malloc(((size_t)s->ncols + 1) * sizeof *r->zlen);
		if (r->zoff == NULL || r->zlen == NULL) {
			pt_schema_free(s);
			return r_fail(r, e, PT_ENOMEM,
			    "out of memory reading the schema");
		}
		r->schema = s;
		r->digest = h->digest;
		r->rowbytes = 0;
		for (j = 0; j < s->ncols; j++)
			r->rowbytes += pt_type_width(s->cols[j].type);
	} else {
		if (schema_diff(r->schema, s, diff, sizeof diff)) {
			pt_schema_free(s);
			return r_fail(r, e, PT_EMISMATCH, "the next stream has "
			    "another schema: %s", diff);
		}
		pt_schema_free(s);
	}
	r->state = R_BODY;
	r->segrows = 0;
	return 0;
}

static int
r_trunc(pt_reader *r, pt_err *e, uint64_t have, uint64_t size)
{
	return r_fail(r, e, PT_ECORRUPT, "truncated: the stream ends %llu "
	    "bytes into a %llu-byte frame", (unsigned long long)have,
	    (unsigned long long)size);
}

/* Reads n bytes of the frame into dst and adds them to the frame check. */
static int
r_piece(pt_reader *r, unsigned char *dst, size_t n, size_t spill,
    uint64_t *have, uint64_t size, pt_err *e)
{
	ssize_t got;

	if ((got = r_readx(r, dst, n, spill)) < 0)
		return r_ioerr(r, e);
	*have += (uint64_t)got;
	if ((size_t)got < n)
		return r_trunc(r, e, *have, size);
	XXH3_64bits_update(r->xs, dst, n);
	return 0;
}

/*
 * Reads a data frame whose header is in r->fbuf: each raw column straight
 * into its batch array (64-byte aligned, so the batch keeps its promise),
 * compressed ones into zbuf, to be decoded once the frame check has passed.
 * The column headers are checked as they come, before the frame check, so
 * that their lengths are held to the header's (checked) payload length
 * before we act on them; when one is wrong, the rest of the frame is read
 * and checked anyway, so that a damaged byte is reported as a checksum
 * mismatch, exactly as for a frame read whole.
 */
static int
r_data(pt_reader *r, const struct fhdr *h, pt_err *e)
{
	const pt_schema *s = r->schema;
	const uint64_t size = HDR + h->plen + TRL;
	unsigned char ch[COLHDR], pad[8], *dst;
	uint64_t pos = 0, have = HDR, stored, raw, rest, k;
	size_t n = (size_t)h->nrows, zl = 0, p, spill, sp;
	uint32_t codec;
	char msg[300];
	ssize_t got;
	int j, big = h->plen >= BIGFRAME;

	if (r->batch == NULL || r->batch->cap < n) {
		pt_batch_free(r->batch);
		if ((r->batch = pt_batch_new(s, n)) == NULL)
			return r_fail(r, e, PT_ENOMEM, "out of memory for a "
			    "batch of %zu rows", n);
	}
	r->big = big;
	XXH3_64bits_reset(r->xs);
	XXH3_64bits_update(r->xs, r->fbuf, HDR);
	msg[0] = '\0';
	for (j = 0; j < s->ncols; j++) {
		const char *cn = s->cols[j].name;

		if (h->plen - pos < COLHDR) {
			snprintf(msg, sizeof msg, "column '%.200s': payload "
			    "too short (corrupt)", cn);
			goto rest;
		}
		if (r_piece(r, ch, COLHDR, big ? 0 : RBUFSZ, &have, size,
		    e) < 0)
			return -1;
		pos += COLHDR;
		codec = get32(ch);
		stored = get64(ch + 8);
		raw = get64(ch + 16);
		if (raw != n * pt_type_width(s->cols[j].type) || get32(ch + 4) ||
		    (codec == 0 && stored != raw) ||
		    (codec == 1 && (stored == 0 || stored >= raw)) ||
		    codec > 1 || h->plen - pos < pad8(stored)) {
			snprintf(msg, sizeof msg, "column '%.200s': bad "
			    "column header (corrupt)", cn);
			goto rest;
		}
		p = (size_t)(pad8(stored) - stored);
		if (codec == 0) {
			dst = r->batch->col[j];
			r->zoff[j] = SIZE_MAX;
		} else {
			/* Bounded by plen, itself bounded by the rows. */
			if (zl + stored > r->zcap) {
				size_t cap = r->zcap ? r->zcap : 1 << 16;
				unsigned char *q;

				while (cap < zl + stored)
					cap *= 2;
				if ((q = realloc(r->zbuf, cap)) == NULL)
					return r_fail(r, e, PT_ENOMEM, "out of "
					    "memory for a %zu-byte column", cap);
				r->zbuf = q;
				r->zcap = cap;
			}
			dst = r->zbuf + zl;
			r->zoff[j] = zl;
			r->zlen[j] = stored;
			zl += stored;
		}
		/* Read ahead what surely follows: padding and the next
		 * column header, or the trailer and the next frame's
		 * header and first column header. */
		spill = !big ? RBUFSZ : p + (j + 1 < s->ncols ? COLHDR :
		    TRL + HDR + COLHDR);
		if (r_piece(r, dst, (size_t)stored, spill, &have, size, e) < 0)
			return -1;
		pos += stored;
		if (p > 0) {
			if (r_piece(r, pad, p, spill - p, &have, size, e) < 0)
				return -1;
			pos += p;
			for (k = 0; k < p; k++)
				if (pad[k] != 0) {
					snprintf(msg, sizeof msg, "column "
					    "'%.200s': padding not zero "
					    "(corrupt)", cn);
					goto rest;
				}
		}
	}
	if (pos != h->plen)
		snprintf(msg, sizeof msg, "bytes left over after the last "
		    "column (corrupt)");
rest:
	/* The rest of the payload (only after a fault) and the trailer. */
	rest = h->plen - pos + TRL;
	if (r_reserve(r, rest, e) < 0)
		return -1;
	sp = big ? HDR + COLHDR : RBUFSZ;
	if ((got = r_readx(r, r->fbuf, (size_t)rest, sp)) < 0)
		return r_ioerr(r, e);
	have += (uint64_t)got;
	if ((uint64_t)got < rest)
		return r_trunc(r, e, have, size);
	XXH3_64bits_update(r->xs, r->fbuf, (size_t)(rest - TRL));
	if (get64(r->fbuf + rest - TRL) != XXH3_64bits_digest(r->xs))
		return r_fail(r, e, PT_ECORRUPT,
		    "checksum mismatch (corrupt)");
	if (msg[0] != '\0')
		return r_fail(r, e, PT_ECORRUPT, "%s", msg);
	for (j = 0; j < s->ncols; j++) {
		size_t d;

		if (r->zoff[j] == SIZE_MAX)
			continue;
		raw = n * pt_type_width(s->cols[j].type);
		d = ZSTD_decompressDCtx(r->dctx, r->batch->col[j], raw,
		    r->zbuf + r->zoff[j], r->zlen[j]);
		if (ZSTD_isError(d) || d != raw)
			return r_fail(r, e, PT_ECORRUPT, "column '%.200s': "
			    "zstd data does not decode to %llu bytes "
			    "(corrupt)%s%s", s->cols[j].name,
			    (unsigned long long)raw,
			    ZSTD_isError(d) ? ": " : "",
			    ZSTD_isError(d) ? ZSTD_getErrorName(d) : "");
	}
	r->batch->nrows = n;
	return 0;
}

pt_reader *
pt_reader_open(int fd, const char *name, pt_err *e)
{
	pt_reader *r;
	struct fhdr h;
	int rc;

	if (name == NULL)
		name = "<input>";
	if ((r = calloc(1, sizeof *r)) == NULL)
		goto nomem;
	r->fd = fd;
	r->fcap = 1 << 16;
	if ((r->name = pt_strdup(name)) == NULL ||
	    (r->in = malloc(RBUFSZ)) == NULL ||
	    (r->fbuf = malloc(r->fcap)) == NULL ||
	    (r->dctx = ZSTD_createDCtx()) == NULL ||
	    (r->xs = XXH3_createState()) == NULL)
		goto nomem;
	pipe_grow(fd);
	if ((rc = r_header(r, &h, e)) == 0) {
		pt_fail(e, PT_EFORMAT, name,
		    "empty input, not a policy frame stream");
		pt_reader_close(r);
		return NULL;
	}
	if (rc < 0)
		goto fail;
	if (h.type != F_SCHEMA) {
		r_fail(r, e, PT_ECORRUPT, "the stream does not begin with a "
		    "schema frame (corrupt, or cut from a longer stream)");
		goto fail;
	}
	if (r_schema(r, &h, e) < 0)
		goto fail;
	return r;
nomem:
	pt_fail(e, PT_ENOMEM, name, "out of memory opening the reader");
fail:
	pt_reader_close(r);
	return NULL;
}

const pt_schema *
pt_reader_schema(const pt_reader *r)
{
	return r->schema;
}

static int
r_next(pt_reader *r, const pt_batch **b, pt_err *e)
{
	struct fhdr h;
	uint64_t bound;
	int rc, j;

	for (;;) {
		if (r->state == R_DONE)
			return 0;
		if (r->state == R_FAILED) {
			if (e != NULL)
				*e = r->err;
			return -1;
		}
		if ((rc = r_header(r, &h, e)) < 0)
			return -1;
		if (rc == 0) {
			if (r->state == R_AFTER_END) {
				r->state = R_DONE;
				return 0;
			}
			return r_fail(r, e, PT_ECORRUPT, "truncated: the stream "
			    "ends without an end frame");
		}
		if (h.type == F_SCHEMA) {
			if (r->state != R_AFTER_END)
				return r_fail(r, e, PT_ECORRUPT, "truncated: a "
				    "schema frame before the end frame (a cut "
				    "stream followed by another)");
			if (r_schema(r, &h, e) < 0)
				return -1;
			continue;
		}
		if (r->state != R_BODY)
			return r_fail(r, e, PT_ECORRUPT, "%s frame after the "
			    "end frame without a schema frame (corrupt)",
			    h.type == F_DATA ? "data" : "end");
		if (h.digest != r->digest)
			return r_fail(r, e, PT_EMISMATCH, "frame of another "
			    "schema (digest %016llx, the stream's is %016llx)",
			    (unsigned long long)h.digest,
			    (unsigned long long)r->digest);
		if (h.ncols != (uint32_t)r->schema->ncols)
			return r_fail(r, e, PT_ECORRUPT, "frame has %lu columns, "
			    "the schema %d (corrupt)", (unsigned long)h.ncols,
			    r->schema->ncols);
		if (h.type == F_END) {
			if (h.plen != 0)
				return r_fail(r, e, PT_ECORRUPT,
				    "end frame with a payload (corrupt)");
			if (r_body(r, &h, e) < 0)
				return -1;
			if (h.nrows != r->segrows)
				return r_fail(r, e, PT_ECORRUPT, "end frame "
				    "counts %llu rows but the stream held %llu "
				    "(frames lost)",
				    (unsigned long long)h.nrows,
				    (unsigned long long)r->segrows);
			r->state = R_AFTER_END;
			continue;
		}
		/* A data frame: hold its lengths to what its rows can need. */
		bound = 0;
		if (h.nrows > 0 && h.nrows <= MAX_ROWS &&
		    h.nrows * r->rowbytes <= MAX_RAW)
			for (j = 0; j < r->schema->ncols; j++)
				bound += COLHDR + pad8(h.nrows *
				    pt_type_width(r->schema->cols[j].type));
		if (h.nrows == 0 || h.nrows > MAX_ROWS ||
		    h.nrows * r->rowbytes > MAX_RAW || h.plen > bound ||
		    h.plen < (uint64_t)COLHDR * h.ncols)
			return r_fail(r, e, PT_ECORRUPT, "data frame of %llu "
			    "rows and %llu bytes is out of limits (corrupt)",
			    (unsigned long long)h.nrows,
			    (unsigned long long)h.plen);
		if (r_data(r, &h, e) < 0)
			return -1;
		r->segrows += h.nrows;
		r->rows += h.nrows;
		*b = r->batch;
		return 1;
	}
}

static void *
r_ahead_main(void *p)
{
	pt_reader *r = p;
	r_ahead *a = r->ahead;
	const pt_batch *b = NULL;
	pt_batch *t;
	pt_err err;
	int rc, old, saved;

	/* Cancellation (pt_reader_close) acts only inside r_next, where
	 * the thread holds no lock and the reader is about to be freed:
	 * its one cancellation point there is the read of the input. */
	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->have && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop)
			break;
		pthread_mutex_unlock(&a->mu);
		pt_err_clear(&err);
		(void)pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
		rc = r_next(r, &b, &err);
		(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
		saved = errno;
		pthread_mutex_lock(&a->mu);
		a->rc = rc;
		a->b = b;
		a->err = err;
		a->err_no = saved;
		a->rows = r->rows;
		a->bytes = r->off;
		a->have = 1;
		/* The next frame goes into the batch the caller holds now,
		 * once it has taken this one. */
		t = r->batch;
		r->batch = a->other;
		a->other = t;
		pthread_cond_broadcast(&a->cv);
		if (rc != 1)
			break;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

void
pt_reader_readahead(pt_reader *r)
{
	r_ahead *a;

	if (r == NULL || r->ahead != NULL || r->state != R_BODY ||
	    r->rows != 0 || (a = calloc(1, sizeof *a)) == NULL)
		return;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		return;
	}
	if (pthread_cond_init(&a->cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		free(a);
		return;
	}
	a->bytes = a->seen_bytes = r->off;
	r->ahead = a;
	if (pthread_create(&a->th, NULL, r_ahead_main, r) != 0) {
		/* Only speed is lost: read in the caller's thread. */
		r->ahead = NULL;
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		free(a);
	}
}

int
pt_reader_next(pt_reader *r, const pt_batch **b, pt_err *e)
{
	r_ahead *a = r->ahead;
	int rc, saved;

	if (a == NULL || a->joined)
		return r_next(r, b, e);
	pthread_mutex_lock(&a->mu);
	while (!a->have)
		pthread_cond_wait(&a->cv, &a->mu);
	rc = a->rc;
	if (rc == 1)
		*b = a->b;
	else if (rc < 0 && e != NULL)
		*e = a->err;
	saved = a->err_no;
	a->seen_rows = a->rows;
	a->seen_bytes = a->bytes;
	a->have = 0;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (rc != 1) {
		/* The thread has ended (it stops at the end of the stream or
		 * at a failure); later calls repeat the answer from the
		 * reader's state. */
		pthread_join(a->th, NULL);
		a->joined = 1;
	}
	errno = saved;
	return rc;
}

uint64_t
pt_reader_rows(const pt_reader *r)
{
	return r->ahead != NULL && !r->ahead->joined ? r->ahead->seen_rows :
	    r->rows;
}

uint64_t
pt_reader_bytes(const pt_reader *r)
{
	return r->ahead != NULL && !r->ahead->joined ? r->ahead->seen_bytes :
	    r->off;
}

void
pt_reader_close(pt_reader *r)
{
	r_ahead *a;

	if (r == NULL)
		return;
	if ((a = r->ahead) != NULL) {
		if (!a->joined) {
			pthread_mutex_lock(&a->mu);
			a->stop = 1;
			pthread_cond_broadcast(&a->cv);
			pthread_mutex_unlock(&a->mu);
			/* It may wait on a quiet pipe for a frame no one
			 * will take. */
			pthread_cancel(a->th);
			pthread_join(a->th, NULL);
		}
		pt_batch_free(a->other);
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		free(a);
	}
	pt_batch_free(r->batch);
	pt_schema_free(r->schema);
	ZSTD_freeDCtx(r->dctx);
	XXH3_freeState(r->xs);
	free(r->zbuf);
	free(r->zoff);
	free(r->zlen);
	free(r->fbuf);
	free(r->in);
	free(r->name);
	free(r);
}

/*
 * pt.h: what every part of libpolicy shares: status codes and the error
 * record a caller reads after a failure.
 *
 * The library never prints and never exits.  A function that fails returns
 * a negative value (or NULL) and fills the pt_err the caller passed in:
 * a status code, where the trouble is ("data.csv:12: spend") and what it is.
 * Front ends print "program: where: what".
 */
#ifndef PT_H
#define PT_H

#include <stddef.h>
#include <stdint.h>

#define PT_VERSION "0.1.0"

/* The most columns a CSV may have at fit: every frame column (a feature
 * and its bin code, the roles, the scores) must fit a frame's 65,536. */
#define PT_MAX_COLUMNS 30000

/* Status codes.  Never renumber: scripts and tests may rely on them. */
typedef enum pt_status {
	PT_OK = 0,
	PT_EUSAGE = 1,    /* a bad option or argument */
	PT_EIO = 2,       /* a read or write failed */
	PT_ENOMEM = 3,    /* out of memory */
	PT_EFORMAT = 4,   /* malformed input: CSV, YAML, a number */
	PT_ECORRUPT = 5,  /* a frame fails its checksum or is truncated */
	PT_EMISMATCH = 6, /* input made under another manifest, schema, model */
	PT_ELIMIT = 7,    /* over a stated limit (field size, levels, bins) */
	PT_EVALUE = 8,    /* a value the manifest does not allow (NaN, label) */
	PT_EEMPTY = 9     /* no rows where rows are needed */
} pt_status;

typedef struct pt_err {
	pt_status code;
	char where[256]; /* "file:line: column", "file: frame 3 at byte 123", or "" */
	char msg[768];   /* what is wrong, no trailing newline */
} pt_err;

/* Sets *e (if e is not NULL) and returns -1, so callers can write
 * "return pt_fail(e, PT_EFORMAT, where, "bad %s", x);". */
int pt_fail(pt_err *e, pt_status code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Replaces the location of an error already set (if e is not NULL),
 * keeping its code and message: for a caller that knows the input a failed
 * callee did not. */
void pt_err_where(pt_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears *e to PT_OK with empty strings. */
void pt_err_clear(pt_err *e);

/* A short constant description of a status code. */
const char *pt_strerror(pt_status code);

/* A progress callback for long runs: rows and bytes read so far.  Where a
 * call takes one, NULL means no reports. */
typedef void (*pt_progress_fn)(uint64_t rows, uint64_t bytes);

/* Writes the n bytes at p to fd, retrying after EINTR and short writes.
 * Returns 0, or -1 with errno set (EIO when write(2) makes no progress);
 * the caller says what failed. */
int pt_write_all(int fd, const void *p, size_t n);

/* The code point of the UTF-8 sequence at p (before end), its length in
 * *len; -1 when it is not well-formed UTF-8 (overlong, a surrogate, past
 * U+10FFFF, cut short). */
long pt_utf8_next(const unsigned char *p, const unsigned char *end, int *len);
/* 1 when s[0..n) is well-formed UTF-8 (what YAML files can hold). */
int pt_utf8_ok(const char *s, size_t n);

/* Allocation helpers that never abort: they return NULL on failure. */
char *pt_strdup(const char *s);
char *pt_strndup(const char *s, size_t n);
/* A copy of n strings (NULL-terminated array, caller frees with
 * pt_strs_free), or NULL on ENOMEM. */
char **pt_strs_dup(char *const *v, int n);
/* Frees n strings and the array; NULL is fine. */
void pt_strs_free(char **v, int n);

/* splitmix64's output function (the first output of splitmix64 seeded
 * with x): the mixer of row hashes, sample hashes, fold assignment, the
 * partition id and the generators. */
static inline uint64_t
pt_splitmix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* The splitmix64 generator: the output of the state, then the state
 * advances by the golden-ratio step (the generators of synth and
 * forest-gen). */
static inline uint64_t
pt_splitmix64_next(uint64_t *state)
{
	uint64_t z = pt_splitmix64(*state);

	*state += UINT64_C(0x9e3779b97f4a7c15);
	return z;
}

#endif

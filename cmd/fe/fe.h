/*
 * fe.h: what every policy-* front end does the same way: the program name,
 * "prog: where: what" messages, exit statuses, inputs and atomic outputs,
 * the refusal to write binary frames to a terminal, and progress.
 *
 * Exit statuses (every man page documents them): 0 success, 1 a valid "no"
 * (verify found drift), 2 trouble (usage, bad input, I/O).
 */
#ifndef PT_FE_H
#define PT_FE_H

#include <stdint.h>
#include <stdio.h>

#include "pt.h"

#define FE_EXIT_OK 0
#define FE_EXIT_NO 1
#define FE_EXIT_TROUBLE 2

extern const char *fe_prog;

void fe_init(const char *argv0, const char *name);
/* "prog: where: msg" (where omitted when empty) on stderr.  Returns 2.
 * An EPIPE on the output (downstream closed, e.g. "| head") is not an
 * error worth a message: fe_error then prints nothing. */
int fe_error(const pt_err *e);
/* "prog: msg" on stderr; returns 2. */
int fe_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fe_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: msg (see prog --help)" on stderr, one line; returns 2. */
int fe_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens path for reading ("-" or NULL: stdin).  Returns an fd or -1. */
int fe_open_in(const char *path, pt_err *e);

/* An output: stdout, or a temporary file beside path that fe_out_commit
 * renames over path (so a failed run never leaves a half-written file). */
typedef struct fe_out {
	int fd;
	char *path;   /* NULL for stdout */
	char *tmp;    /* temporary name */
	const char *name; /* for messages */
} fe_out;

/* binary: refuse a terminal on stdout unless force.  Returns 0 or -1. */
int fe_out_open(fe_out *o, const char *path, int binary, int force, pt_err *e);
int fe_out_commit(fe_out *o, pt_err *e); /* fsync not needed; rename */
void fe_out_abort(fe_out *o);            /* unlink the temporary file */
/* Writes all of buf (handles short writes and EINTR). */
int fe_write_all(int fd, const char *name, const void *buf, size_t n, pt_err *e);
/* Reads a whole (small) file: manifests, models, trees.  Caller frees. */
char *fe_slurp(const char *path, size_t *len, pt_err *e);

/* Default zstd level for frames: off on pipes (CPU is scarcer than
 * bandwidth there), on for regular files kept on disk. */
int fe_default_level(int fd);

/* Opens each frame file in turn ("-" is stdin; no paths: stdin alone) and
 * calls fn with a reader on it.  Stops at the first error (-1). */
struct pt_reader;
typedef int (*fe_frames_fn)(void *ctx, struct pt_reader *r, const char *name,
    pt_err *e);
int fe_each_frames(int n, char **paths, fe_frames_fn fn, void *ctx, pt_err *e);

/* Option values: a number in [lo, hi], a whole number in [lo, hi].  On a
 * bad value they print the usage error themselves and return -1. */
int fe_num_arg(const char *opt, const char *s, double lo, double hi, double *out);
int fe_int_arg(const char *opt, const char *s, double lo, double hi, uint64_t *out);
/* A size in bytes: a whole number with an optional suffix K, M, G or T
 * (powers of 1024). */
int fe_size_arg(const char *opt, const char *s, uint64_t *out);

/* Progress on stderr: enabled by --progress, or by default when stderr is
 * a terminal; at most a few updates a second. */
void fe_progress_enable(int on);
void fe_progress(uint64_t rows, uint64_t bytes);
void fe_progress_done(uint64_t rows, uint64_t bytes);

#endif

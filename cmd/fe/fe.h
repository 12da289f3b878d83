/*
 * fe.h: what every policy-* front end does the same way: the program name,
 * "prog: where: what" messages, exit statuses, inputs and atomic outputs,
 * the refusal to write binary frames to a terminal, progress, and the one
 * loop over frame inputs.  Options are in opt.h.
 *
 * Exit statuses (every man page documents them): 0 success, 1 a valid "no"
 * (verify found drift), 2 trouble (usage, bad input, I/O).
 */
#ifndef PT_FE_H
#define PT_FE_H

#include <stdint.h>
#include <stdio.h>

#include "frame.h"
#include "opt.h"
#include "pt.h"

#define FE_EXIT_OK 0
#define FE_EXIT_NO 1
#define FE_EXIT_TROUBLE 2

extern const char *fe_prog;

/* Sets the program name and the signal handling fe_signals sets. */
void fe_init(const char *name);
/* SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the temporary outputs, then
 * end the program as the signal would; SIGXFSZ is ignored, so a write
 * past ulimit -f fails (EFBIG) like any other. */
void fe_signals(void);

/* Messages are one line on stderr, "prog: where: msg" (where omitted when
 * empty); control characters in them (a label's newline) are written as
 * escapes (\n, \x01), so a message is always exactly one line.  A progress
 * line on the terminal is cleared first.
 * fe_error returns 2. */
int fe_error(const pt_err *e);
/* "prog: msg"; returns 2. */
int fe_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning: "prog: msg", unless --quiet. */
void fe_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: msg (see prog --help)"; returns 2. */
int fe_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* --quiet: no warnings, no progress. */
void fe_quiet(int on);

/* Opens path for reading ("-" or NULL: stdin).  Returns an fd or -1. */
int fe_open_in(const char *path, pt_err *e);
/* The name of an input in messages: "<stdin>" for "-" or NULL. */
const char *fe_in_name(const char *path);

/* An output: stdout, or a temporary file beside path that fe_out_commit
 * renames over path (so a failed run never leaves a half-written file).
 * Only a regular file (or a new path) is replaced so: a device, a FIFO or
 * a socket is written in place, as a shell redirection would; a symlink's
 * target is replaced, the link kept; a file we may not write is refused.
 * A signal that ends the program removes the temporary files first. */
typedef struct fe_out {
	int fd;
	char *path;   /* the file renamed over; NULL for stdout */
	char *tmp;    /* temporary name */
	const char *name; /* for messages */
	int inplace;  /* a device or FIFO, written in place */
} fe_out;

/* binary: refuse a terminal on stdout unless force.  Returns 0 or -1. */
int fe_out_open(fe_out *o, const char *path, int binary, int force, pt_err *e);
int fe_out_commit(fe_out *o, pt_err *e); /* rename into place */
void fe_out_abort(fe_out *o);            /* unlink the temporary file */
/* Writes all of buf (handles short writes and EINTR). */
int fe_write_all(int fd, const char *name, const void *buf, size_t n, pt_err *e);
/* Writes buf as the whole of path (stdout for NULL or "-"), atomically. */
int fe_write_file(const char *path, const void *buf, size_t n, int binary,
    int force, pt_err *e);
/* Reads a whole (small) file: manifests, models, trees.  Caller frees. */
char *fe_slurp(const char *path, size_t *len, pt_err *e);

/* Default zstd level for frames: off on pipes (CPU is scarcer than
 * bandwidth there), on for regular files kept on disk.  level >= 0 (an
 * explicit -l) wins. */
int fe_frame_level(int fd, int level);
/* Widens a pipe's buffer to 1 MiB where the system allows (Linux): each
 * end then runs longer between context switches. */
void fe_widen_pipe(int fd);
/* Whether fd is a pipe or FIFO. */
int fe_is_pipe(int fd);

/*
 * The one loop over frame inputs: the operands in order ("-" is stdin;
 * none: stdin alone).  Every input after the first must have the first's
 * schema, unless any_schema is set.  Counts rows and bytes across inputs
 * for progress (percent and time left when every input is a regular file).
 */
typedef struct fe_in {
	int n;
	char **paths;
	int any_schema;    /* set before the first fe_in_reader / fe_in_next */
	int widen;         /* widen pipes (fe_widen_pipe) */
	int ahead;         /* read pipes ahead (pt_reader_readahead) */
	int i;             /* the input being read */
	const char *name;  /* its name in messages */
	int fd;
	pt_reader *r;
	pt_schema *first;  /* the first input's schema (owned) */
	uint64_t rows, bytes, done_bytes; /* rows and bytes so far, all inputs */
} fe_in;

void fe_in_init(fe_in *in, int n, char **paths);
/* Opens the next input.  Returns 1 with *r (owned by in, valid until the
 * next call), 0 after the last input, -1 on error. */
int fe_in_reader(fe_in *in, pt_reader **r, pt_err *e);
/* The next frame of all inputs: 1 with *b (valid until the next call), 0
 * at the end of the last input, -1 on error.  The first call opens the
 * first input; fe_in_schema is valid after it.  Errors name the input. */
int fe_in_next(fe_in *in, const pt_batch **b, pt_err *e);
/* Opens the first input (if not yet) and returns its schema, or NULL. */
const pt_schema *fe_in_schema(fe_in *in, pt_err *e);
/* Starts the inputs again from the first (regular files only), for
 * programs that read them once per pass. */
int fe_in_rewind(fe_in *in, pt_err *e);
void fe_in_close(fe_in *in);
/* Whether every input can be read again (regular files, not stdin). */
int fe_in_rereadable(int n, char **paths);

/* Progress on stderr, drawn only when --progress was given and stderr is
 * a terminal, a few times a second; it always ends with a clean line. */
void fe_progress_enable(int on);
/* The total input bytes, when known (0: unknown), for percent and time left. */
void fe_progress_total(uint64_t bytes);
/* The sum of the sizes of the inputs when they are all regular files
 * (stdin counts when it is one), else 0. */
uint64_t fe_inputs_size(int n, char **paths);
void fe_progress(uint64_t rows, uint64_t bytes);
void fe_progress_done(uint64_t rows, uint64_t bytes);
/* A step of a long computation: "WHAT DONE of TOTAL, S s, about S s
 * left"; cleared when done reaches total. */
void fe_progress_step(const char *what, uint64_t done, uint64_t total);

#endif

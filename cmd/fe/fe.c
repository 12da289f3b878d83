/*
 * fe.c: the front end every program shares (fe.h).
 */
#include "fe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *fe_prog = "policy";

static int quiet;

void
fe_init(const char *name)
{
	fe_prog = name;
	/* A closed pipe downstream ends us quietly: the default SIGPIPE action
	 * does exactly that, so leave it (a shell reports no error for it).
	 * When the caller ignores SIGPIPE, the write fails with EPIPE and
	 * that is reported like any failed write. */
	fe_signals();
}

void
fe_quiet(int on)
{
	quiet = on;
}

/* ---- messages ---------------------------------------------------------- */

static void progress_clear(void);

/* s with every control character (and DEL) and every byte that is not part
 * of valid UTF-8 written as an escape, so that whatever a label or a file
 * name holds, a message stays one line of text a terminal can show. */
static void
put_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + strlen(s);
	int len;

	while (p < end) {
		if (*p == '\n')
			fputs("\\n", stderr);
		else if (*p == '\r')
			fputs("\\r", stderr);
		else if (*p == '\t')
			fputs("\\t", stderr);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else if (*p < 0x80)
			fputc(*p, stderr);
		else if (pt_utf8_next(p, end, &len) >= 0) {
			fwrite(p, 1, (size_t)len, stderr);
			p += len;
			continue;
		} else
			fprintf(stderr, "\\x%02x", *p);
		p++;
	}
}

/* One line: "prog: " what "\n", what formatted into a buffer on the stack
 * (no allocation, so a message survives an exhausted heap). */
static void
vline(const char *where, const char *fmt, va_list ap, const char *tail)
{
	char msg[2048];

	vsnprintf(msg, sizeof msg, fmt, ap);
	progress_clear();
	fputs(fe_prog, stderr);
	fputs(": ", stderr);
	if (where != NULL && where[0] != '\0') {
		put_clean(where);
		fputs(": ", stderr);
	}
	put_clean(msg[0] != '\0' ? msg : "failed (no detail)");
	if (tail != NULL)
		fputs(tail, stderr);
	fputc('\n', stderr);
}

static void
line(const char *where, const char *tail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line(const char *where, const char *tail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(where, fmt, ap, tail);
	va_end(ap);
}

int
fe_error(const pt_err *e)
{
	if (e->code == PT_OK && e->msg[0] == '\0')
		line(e->where, NULL, "%s", "failed (no detail)");
	else
		line(e->where, NULL, "%s", e->msg[0] ? e->msg :
		    pt_strerror(e->code));
	return FE_EXIT_TROUBLE;
}

int
fe_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(NULL, fmt, ap, NULL);
	va_end(ap);
	return FE_EXIT_TROUBLE;
}

void
fe_warnx(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vline(NULL, fmt, ap, NULL);
	va_end(ap);
}

int
fe_usage_error(const char *fmt, ...)
{
	char tail[96];
	va_list ap;

	snprintf(tail, sizeof tail, " (see %s --help)", fe_prog);
	va_start(ap, fmt);
	vline(NULL, fmt, ap, tail);
	va_end(ap);
	return FE_EXIT_TROUBLE;
}

/* ---- files ---------------------------------------------------------------- */

const char *
fe_in_name(const char *path)
{
	return path == NULL || strcmp(path, "-") == 0 ? "<stdin>" : path;
}

int
fe_open_in(const char *path, pt_err *e)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return 0;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return pt_fail(e, PT_EIO, path, "%s", strerror(errno));
	return fd;
}

/* ---- outputs -------------------------------------------------------------- */

/*
 * Temporary files being written, so that a signal that ends the program
 * (SIGINT, SIGTERM, SIGHUP, SIGQUIT) removes them first: the handler
 * only calls unlink(2), which is async-signal-safe, on names set up
 * before the signal could arrive.
 */
#define FE_MAXTMP 1024
static char *volatile tmps[FE_MAXTMP];
static volatile sig_atomic_t ntmps;

static void
on_signal(int sig)
{
	for (int i = 0; i < ntmps; i++)
		if (tmps[i] != NULL)
			unlink(tmps[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

void
fe_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		struct sigaction old;
		/* A signal the caller ignores (nohup, a background job) stays
		 * ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
	/* Past ulimit -f a write fails with EFBIG, like any full disk,
	 * instead of the signal killing us with the temporary left behind. */
	signal(SIGXFSZ, SIG_IGN);
}

static int
tmp_add(char *name)
{
	sigset_t all, old;
	int rc = -1;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < ntmps; i++)
		if (tmps[i] == NULL) {
			tmps[i] = name;
			rc = 0;
			break;
		}
	if (rc != 0 && ntmps < FE_MAXTMP) {
		tmps[ntmps] = name;
		ntmps++;
		rc = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void
tmp_remove(const char *name)
{
	sigset_t all, old;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < ntmps; i++)
		if (tmps[i] == name)
			tmps[i] = NULL;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
fe_out_open(fe_out *o, const char *path, int binary, int force, pt_err *e)
{
	struct stat st;
	char *target = NULL;
	size_t n;
	mode_t mode;

	memset(o, 0, sizeof *o);
	o->fd = -1;
	if (path == NULL || strcmp(path, "-") == 0) {
		o->name = "<stdout>";
		if (binary && !force && isatty(1))
			return pt_fail(e, PT_EUSAGE, "",
			    "stdout is a terminal, refusing to write binary frames "
			    "(redirect it, use -o FILE, or --force)");
		o->fd = 1;
		return 0;
	}
	o->name = path;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* A device, a FIFO, a socket: written in place, as a shell's
		 * redirection would (a rename would replace /dev/null). */
		if (S_ISDIR(st.st_mode))
			return pt_fail(e, PT_EIO, path, "is a directory");
		if (binary && !force && S_ISCHR(st.st_mode) && access(path,
		    W_OK) == 0) {
			int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			int tty = fd >= 0 && isatty(fd);
			if (fd >= 0)
				close(fd);
			if (tty)
				return pt_fail(e, PT_EUSAGE, path, "a terminal, "
				    "refusing to write binary frames (--force)");
		}
		do
			o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			    O_NOCTTY, 0666);
		while (o->fd < 0 && errno == EINTR);
		if (o->fd < 0)
			return pt_fail(e, PT_EIO, path, "%s", strerror(errno));
		o->inplace = 1;
		return 0;
	}
	{
		/* What open(2) would give a new file. */
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (lstat(path, &st) == 0) {
		/* An existing file: the shell would refuse one it may not
		 * write, so we do; through a symlink, the file it names is the
		 * one replaced (the link stays); the new file keeps the old
		 * one's permissions, as it would after "> FILE". */
		if (access(path, W_OK) != 0)
			return pt_fail(e, PT_EIO, path, "%s", strerror(errno));
		if (S_ISLNK(st.st_mode) && (target = realpath(path, NULL)) == NULL)
			return pt_fail(e, PT_EIO, path, "%s", strerror(errno));
		if (stat(path, &st) == 0)
			mode = st.st_mode & 07777;
	}
	o->path = target ? target : pt_strdup(path);
	n = strlen(o->path ? o->path : "");
	o->tmp = malloc(n + 16);
	if (o->path == NULL || o->tmp == NULL) {
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return pt_fail(e, PT_ENOMEM, path, "out of memory");
	}
	snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", o->path);
	if (tmp_add(o->tmp) != 0) {
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return pt_fail(e, PT_ELIMIT, path, "too many outputs at once");
	}
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0) {
		int err = errno;
		tmp_remove(o->tmp);
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return pt_fail(e, PT_EIO, path, "cannot create a temporary file: %s",
		    strerror(err));
	}
	/* mkstemp makes 0600. */
	(void)fchmod(o->fd, mode);
	return 0;
}

int
fe_out_commit(fe_out *o, pt_err *e)
{
	int rc = 0;

	if (o->inplace) {
		if (close(o->fd) != 0)
			rc = pt_fail(e, PT_EIO, o->name, "%s", strerror(errno));
		o->fd = -1;
		o->inplace = 0;
		return rc;
	}
	if (o->path == NULL)
		return 0;
	if (close(o->fd) != 0)
		rc = pt_fail(e, PT_EIO, o->path, "%s", strerror(errno));
	else if (rename(o->tmp, o->path) != 0)
		rc = pt_fail(e, PT_EIO, o->path, "%s", strerror(errno));
	if (rc != 0)
		unlink(o->tmp);
	tmp_remove(o->tmp);
	o->fd = -1;
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	return rc;
}

void
fe_out_abort(fe_out *o)
{
	if (o->inplace) {
		close(o->fd);
		o->fd = -1;
		o->inplace = 0;
		return;
	}
	if (o->path == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	unlink(o->tmp);
	tmp_remove(o->tmp);
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	o->fd = -1;
}

int
fe_write_all(int fd, const char *name, const void *buf, size_t n, pt_err *e)
{
	if (pt_write_all(fd, buf, n) != 0)
		return pt_fail(e, PT_EIO, name, "%s", strerror(errno));
	return 0;
}

int
fe_write_file(const char *path, const void *buf, size_t n, int binary,
    int force, pt_err *e)
{
	fe_out out;

	if (fe_out_open(&out, path, binary, force, e) != 0)
		return -1;
	if (fe_write_all(out.fd, out.name, buf, n, e) != 0 ||
	    fe_out_commit(&out, e) != 0) {
		fe_out_abort(&out);
		return -1;
	}
	return 0;
}

char *
fe_slurp(const char *path, size_t *len, pt_err *e)
{
	int fd = fe_open_in(path, e);
	size_t cap = 1 << 16, n = 0;
	const char *name = fe_in_name(path);
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	for (;;) {
		ssize_t k;
		if (buf == NULL) {
			pt_fail(e, PT_ENOMEM, name, "out of memory");
			break;
		}
		if (n == cap) {
			char *nb = cap > ((size_t)1 << 30) ? NULL : realloc(buf, 2 * cap + 1);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				pt_fail(e, PT_ELIMIT, name, "file too large");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			pt_fail(e, PT_EIO, name, "%s", strerror(errno));
			free(buf);
			buf = NULL;
			break;
		}
		if (k == 0) {
			buf[n] = '\0';
			*len = n;
			break;
		}
		n += (size_t)k;
	}
	if (fd > 0)
		close(fd);
	return buf;
}

int
fe_frame_level(int fd, int level)
{
	struct stat st;

	if (level >= 0)
		return level;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? PT_LEVEL_AUTO : 0;
}

int
fe_is_pipe(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
}

void
fe_widen_pipe(int fd)
{
#ifdef __linux__
	struct stat sb;

	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
		(void)fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20);
#else
	(void)fd;
#endif
}

/* ---- progress ------------------------------------------------------------- */

static int progress_on;     /* told to, and stderr is a terminal */
static int progress_drawn;  /* a line is on the terminal now */
static uint64_t progress_bytes_total;
static double progress_t0, progress_last;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void
fe_progress_enable(int on)
{
	progress_on = on && isatty(2);
	/* The clock starts now, so a run too short for a redraw still ends
	 * with its line of rows and rows/s. */
	if (progress_on)
		progress_t0 = progress_last = now();
}

void
fe_progress_total(uint64_t bytes)
{
	progress_bytes_total = bytes;
}

uint64_t
fe_inputs_size(int n, char **paths)
{
	uint64_t sum = 0;
	struct stat st;

	for (int i = 0; i < (n > 0 ? n : 1); i++) {
		const char *p = n > 0 ? paths[i] : "-";
		int r = strcmp(p, "-") == 0 ? fstat(0, &st) : stat(p, &st);
		if (r != 0 || !S_ISREG(st.st_mode))
			return 0;
		sum += (uint64_t)st.st_size;
	}
	return sum;
}

static void
progress_print(uint64_t rows, uint64_t bytes, int last)
{
	double t = now() - progress_t0;
	double rate = t > 0 ? (double)rows / t : 0;
	char pct[64] = "";

	if (progress_bytes_total > 0 && bytes <= progress_bytes_total) {
		double f = (double)bytes / (double)progress_bytes_total;
		if (last || f <= 0)
			snprintf(pct, sizeof pct, ", %.0f%%", f * 100);
		else
			snprintf(pct, sizeof pct, ", %.0f%%, %.0f s left", f * 100,
			    t / f - t);
	}
	/* \r and erase-line: the line is redrawn in place. */
	fprintf(stderr, "\r\033[K%s: %llu rows, %.1f MB, %.2f M rows/s%s%s",
	    fe_prog, (unsigned long long)rows, (double)bytes / 1e6, rate / 1e6,
	    pct, last ? "\n" : "");
	progress_drawn = !last;
}

static void
progress_clear(void)
{
	if (progress_drawn) {
		fputs("\r\033[K", stderr);
		progress_drawn = 0;
	}
}

void
fe_progress(uint64_t rows, uint64_t bytes)
{
	double t;

	if (!progress_on)
		return;
	t = now();
	if (t - progress_last < 0.25)
		return;
	progress_last = t;
	progress_print(rows, bytes, 0);
}

void
fe_progress_step(const char *what, uint64_t done, uint64_t total)
{
	double t, el;

	if (!progress_on || total == 0)
		return;
	t = now();
	if (done < total && t - progress_last < 0.25)
		return;
	progress_last = t;
	el = t - progress_t0;
	fprintf(stderr, "\r\033[K%s: %s %llu of %llu, %.0f s", fe_prog, what,
	    (unsigned long long)done, (unsigned long long)total, el);
	if (done > 0 && done < total)
		fprintf(stderr, ", about %.0f s left", el / (double)done *
		    (double)(total - done));
	progress_drawn = 1;
	if (done == total)
		progress_clear();
}

void
fe_progress_done(uint64_t rows, uint64_t bytes)
{
	if (progress_on)
		progress_print(rows, bytes, 1);
	progress_clear();
}

/* ---- frame inputs ------------------------------------------------------- */

static char *fe_stdin_only[] = { "-" };

void
fe_in_init(fe_in *in, int n, char **paths)
{
	memset(in, 0, sizeof *in);
	in->n = n > 0 ? n : 1;
	in->paths = n > 0 ? paths : fe_stdin_only;
	in->i = -1;
	in->fd = -1;
	in->name = "<stdin>";
}

static void
close_current(fe_in *in)
{
	if (in->r != NULL) {
		in->done_bytes += pt_reader_bytes(in->r);
		pt_reader_close(in->r);
		in->r = NULL;
	}
	if (in->fd > 0)
		close(in->fd);
	in->fd = -1;
}

int
fe_in_reader(fe_in *in, pt_reader **r, pt_err *e)
{
	close_current(in);
	if (in->i == -1 && progress_bytes_total == 0)
		fe_progress_total(fe_inputs_size(in->n, in->paths));
	if (in->i + 1 >= in->n)
		return 0;
	in->i++;
	in->name = fe_in_name(in->paths[in->i]);
	if ((in->fd = fe_open_in(in->paths[in->i], e)) < 0)
		return -1;
	if (in->widen)
		fe_widen_pipe(in->fd);
	if ((in->r = pt_reader_open(in->fd, in->name, e)) == NULL)
		return -1;
	if (in->ahead && fe_is_pipe(in->fd))
		pt_reader_readahead(in->r);
	if (in->first == NULL) {
		if ((in->first = pt_schema_clone(pt_reader_schema(in->r))) == NULL)
			return pt_fail(e, PT_ENOMEM, in->name, "out of memory");
	} else if (!in->any_schema &&
	    !pt_schema_equal(in->first, pt_reader_schema(in->r))) {
		return pt_fail(e, PT_EMISMATCH, in->name, "frames of another "
		    "schema than the first input's (%s)",
		    fe_in_name(in->paths[0]));
	}
	*r = in->r;
	return 1;
}

const pt_schema *
fe_in_schema(fe_in *in, pt_err *e)
{
	pt_reader *r;

	if (in->first == NULL && fe_in_reader(in, &r, e) <= 0) {
		if (in->first == NULL && e != NULL && e->code == PT_OK)
			pt_fail(e, PT_EEMPTY, in->name, "no input");
		return NULL;
	}
	return in->first;
}

int
fe_in_next(fe_in *in, const pt_batch **b, pt_err *e)
{
	pt_reader *r;
	int k;

	for (;;) {
		if (in->r == NULL) {
			if ((k = fe_in_reader(in, &r, e)) <= 0)
				return k;
		}
		if ((k = pt_reader_next(in->r, b, e)) < 0)
			return -1;
		if (k == 1) {
			in->rows += (*b)->nrows;
			fe_progress(in->rows, in->done_bytes +
			    pt_reader_bytes(in->r));
			return 1;
		}
		close_current(in);
		if (in->i + 1 >= in->n)
			return 0;
	}
}

int
fe_in_rewind(fe_in *in, pt_err *e)
{
	(void)e;
	close_current(in);
	in->i = -1;
	in->rows = in->done_bytes = 0;
	return 0;
}

void
fe_in_close(fe_in *in)
{
	close_current(in);
	pt_schema_free(in->first);
	in->first = NULL;
}

int
fe_in_rereadable(int n, char **paths)
{
	struct stat st;

	if (n == 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0 ||
		    !S_ISREG(st.st_mode))
			return 0;
	return 1;
}

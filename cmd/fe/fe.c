#include "fe.h"

#include "frame.h"
#include "number.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *fe_prog = "policy";

static int progress_on = -1; /* -1: decide from isatty(2) */
static double progress_t0, progress_last;

void
fe_init(const char *argv0, const char *name)
{
	(void)argv0;
	fe_prog = name;
	/* A closed pipe downstream ends us quietly: the default SIGPIPE action
	 * does exactly that, so leave it (a shell reports no error for it). */
}

int
fe_error(const pt_err *e)
{
	if (e->code == PT_EIO && strstr(e->msg, "Broken pipe") != NULL)
		return FE_EXIT_TROUBLE;
	if (e->where[0] != '\0')
		fprintf(stderr, "%s: %s: %s\n", fe_prog, e->where, e->msg);
	else
		fprintf(stderr, "%s: %s\n", fe_prog, e->msg);
	return FE_EXIT_TROUBLE;
}

static void
vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", fe_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
fe_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return FE_EXIT_TROUBLE;
}

void
fe_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int
fe_usage_error(const char *fmt, ...)
{
	va_list ap;

	/* One line, as every error: the hint rides on it. */
	fprintf(stderr, "%s: ", fe_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", fe_prog);
	return FE_EXIT_TROUBLE;
}

int
fe_open_in(const char *path, pt_err *e)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pt_fail(e, PT_EIO, path, "%s", strerror(errno));
	return fd;
}

int
fe_out_open(fe_out *o, const char *path, int binary, int force, pt_err *e)
{
	size_t n;

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
	n = strlen(path);
	o->path = pt_strdup(path);
	o->tmp = malloc(n + 16);
	if (o->path == NULL || o->tmp == NULL) {
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return pt_fail(e, PT_ENOMEM, path, "out of memory");
	}
	snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
	o->fd = mkstemp(o->tmp);
	if (o->fd < 0) {
		int err = errno;
		free(o->path);
		free(o->tmp);
		o->path = o->tmp = NULL;
		return pt_fail(e, PT_EIO, path, "cannot create a temporary file: %s",
		    strerror(err));
	}
	{
		/* mkstemp makes 0600; give the file what open(2) would have. */
		mode_t mask = umask(0);
		umask(mask);
		(void)fchmod(o->fd, 0666 & ~mask);
	}
	return 0;
}

int
fe_out_commit(fe_out *o, pt_err *e)
{
	int rc = 0;

	if (o->path == NULL)
		return 0;
	if (close(o->fd) != 0)
		rc = pt_fail(e, PT_EIO, o->path, "%s", strerror(errno));
	else if (rename(o->tmp, o->path) != 0)
		rc = pt_fail(e, PT_EIO, o->path, "%s", strerror(errno));
	if (rc != 0)
		unlink(o->tmp);
	o->fd = -1;
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	return rc;
}

void
fe_out_abort(fe_out *o)
{
	if (o->path == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	o->path = o->tmp = NULL;
	o->fd = -1;
}

int
fe_write_all(int fd, const char *name, const void *buf, size_t n, pt_err *e)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return pt_fail(e, PT_EIO, name, "%s", strerror(errno));
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

char *
fe_slurp(const char *path, size_t *len, pt_err *e)
{
	int fd = fe_open_in(path, e);
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	for (;;) {
		ssize_t k;
		if (buf == NULL) {
			pt_fail(e, PT_ENOMEM, path, "out of memory");
			break;
		}
		if (n == cap) {
			char *nb = cap > ((size_t)1 << 30) ? NULL : realloc(buf, 2 * cap + 1);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				pt_fail(e, PT_ELIMIT, path, "file too large");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			pt_fail(e, PT_EIO, path, "%s", strerror(errno));
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
fe_default_level(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return 1;
	return 0;
}

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
	progress_on = on;
}

static void
progress_print(uint64_t rows, uint64_t bytes, const char *end)
{
	double t = now() - progress_t0;
	double rate = t > 0 ? (double)rows / t : 0;

	fprintf(stderr, "\r%s: %llu rows, %.1f MB, %.2f M rows/s%s", fe_prog,
	    (unsigned long long)rows, (double)bytes / 1e6, rate / 1e6, end);
}

void
fe_progress(uint64_t rows, uint64_t bytes)
{
	double t;

	if (progress_on < 0)
		progress_on = isatty(2);
	if (!progress_on)
		return;
	t = now();
	if (progress_t0 == 0) {
		progress_t0 = progress_last = t;
		return;
	}
	if (t - progress_last < 0.25)
		return;
	progress_last = t;
	progress_print(rows, bytes, "");
}

void
fe_progress_done(uint64_t rows, uint64_t bytes)
{
	if (progress_on > 0 && progress_t0 != 0)
		progress_print(rows, bytes, "\n");
}

int
fe_each_frames(int n, char **paths, fe_frames_fn fn, void *ctx, pt_err *e)
{
	static char *dash[] = { "-" };

	if (n == 0) {
		n = 1;
		paths = dash;
	}
	for (int i = 0; i < n; i++) {
		const char *name = strcmp(paths[i], "-") == 0 ? "<stdin>" : paths[i];
		int fd = fe_open_in(paths[i], e), rc;
		pt_reader *r;

		if (fd < 0)
			return -1;
		r = pt_reader_open(fd, name, e);
		rc = r == NULL ? -1 : fn(ctx, r, name, e);
		pt_reader_close(r);
		if (fd > 0)
			close(fd);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
fe_size_arg(const char *opt, const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	size_t n = strlen(s);
	const char *u = n > 0 ? strchr(units, s[n - 1]) : NULL;
	int shift = u != NULL && *u != '\0' ? 10 * (int)(u - units + 1) : 0;
	double v;

	if (shift > 0)
		n--;
	if (n == 0 || pt_parse_f64(s, n, &v) != 0 || v < 0 ||
	    v != (double)(uint64_t)v || ldexp(v, shift) >= 0x1p63) {
		fe_usage_error("%s: '%s' is not a size (a whole number, with "
		    "K, M, G or T for powers of 1024)", opt, s);
		return -1;
	}
	*out = (uint64_t)ldexp(v, shift);
	return 0;
}

int
fe_num_arg(const char *opt, const char *s, double lo, double hi, double *out)
{
	if (pt_parse_f64(s, strlen(s), out) != 0 || *out < lo || *out > hi) {
		fe_usage_error("%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
		return -1;
	}
	return 0;
}

int
fe_int_arg(const char *opt, const char *s, double lo, double hi, uint64_t *out)
{
	double v;

	if (fe_num_arg(opt, s, lo, hi, &v) != 0)
		return -1;
	if (v != (double)(uint64_t)v) {
		fe_usage_error("%s: '%s' is not a whole number", opt, s);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

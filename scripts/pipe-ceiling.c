/*
 * pipe-ceiling: the pipe's own speed, for scripts/bench-score.  A `cat`
 * that sets the capacity of the pipes it reads and writes (F_SETPIPE_SZ,
 * as the policy programs do) and copies with reads and writes of that
 * size, so that a pipeline of these is the ceiling of the same pipeline
 * with a policy program in the middle:
 *
 *	pipe-ceiling < in.pf | pipe-ceiling -r IN:OUT | pipe-ceiling > /dev/null
 *
 * -p BYTES  pipe capacity to ask for on stdin and stdout when they are
 *           pipes (default 1048576, the programs' PIPESZ; 0 leaves it)
 * -b BYTES  read and write size (default: the pipe capacity, or 1 MiB)
 * -r IN:OUT a middle stage that reads IN bytes and writes OUT, in step:
 *           after reading k bytes it has written k*OUT/IN (the bytes
 *           themselves do not matter to a pipe; it writes what it read,
 *           repeated).  Reading other than IN bytes is an error.
 *
 * Exit status 0, or 2 with a line on stderr.  Not installed; C11 and
 * POSIX only, built by the bench script with cc.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
#endif

static void
die(const char *what)
{
	fprintf(stderr, "pipe-ceiling: %s%s%s\n", what, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	exit(2);
}

static void
widen(int fd, long size)
{
#ifdef F_SETPIPE_SZ
	struct stat st;

	if (size > 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, (int)size);
#else
	(void)fd;
	(void)size;
#endif
}

static void
put(const unsigned char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = write(1, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += k;
		n -= (size_t)k;
	}
}

/* Writes n bytes from buf (of cap bytes), repeating it as needed. */
static void
put_n(const unsigned char *buf, size_t cap, uint64_t n)
{
	while (n > 0) {
		size_t k = n < cap ? (size_t)n : cap;
		put(buf, k);
		n -= k;
	}
}

int
main(int argc, char **argv)
{
	long pipesz = 1L << 20, bufsz = 0;
	uint64_t in = 0, out = 0, got = 0, sent = 0, want;
	int c, ratio = 0;
	unsigned char *buf;
	ssize_t k;

	while ((c = getopt(argc, argv, "p:b:r:")) != -1) {
		switch (c) {
		case 'p':
			pipesz = strtol(optarg, NULL, 10);
			break;
		case 'b':
			bufsz = strtol(optarg, NULL, 10);
			break;
		case 'r':
			if (sscanf(optarg, "%" SCNu64 ":%" SCNu64, &in, &out) != 2
			    || in == 0) {
				errno = 0;
				die("-r IN:OUT wants two byte counts, IN > 0");
			}
			ratio = 1;
			break;
		default:
			fprintf(stderr, "usage: pipe-ceiling [-p BYTES] "
			    "[-b BYTES] [-r IN:OUT]\n");
			return 2;
		}
	}
	if (pipesz < 0 || bufsz < 0)
		die("sizes must not be negative");
	if (bufsz == 0)
		bufsz = pipesz > 0 ? pipesz : 1L << 20;
	widen(0, pipesz);
	widen(1, pipesz);
	if ((buf = malloc((size_t)bufsz)) == NULL)
		die("out of memory");
	memset(buf, 0, (size_t)bufsz);
	for (;;) {
		if ((k = read(0, buf, (size_t)bufsz)) < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (k == 0)
			break;
		got += (uint64_t)k;
		if (!ratio) {
			put(buf, (size_t)k);
			continue;
		}
		if (got > in) {
			errno = 0;
			die("more input than -r said");
		}
		/* got*out/in without overflow for streams under 4 GB each
		 * way and exact beyond that up to 2^64 / out. */
		want = got / in * out + got % in * out / in;
		put_n(buf, (size_t)bufsz, want - sent);
		sent = want;
	}
	if (ratio && got != in) {
		errno = 0;
		die("less input than -r said");
	}
	return 0;
}

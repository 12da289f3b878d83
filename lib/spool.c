/*
 * spool.c: a re-readable copy of an input that can be read only once
 * (stdin, a pipe).  The file is unlinked as soon as it exists, so a crash
 * leaves no temporary behind; the copy lives as long as its descriptor.
 */
#include "spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
pt_spool(int in, const char *name, pt_err *e)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	char buf[1 << 16];
	int fd;

	snprintf(path, sizeof path, "%s/policy-tools.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return pt_fail(e, PT_EIO, "", "cannot create a temporary file: %s",
		    strerror(errno));
	unlink(path);
	for (;;) {
		ssize_t k = read(in, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			close(fd);
			return pt_fail(e, PT_EIO, name, "%s", strerror(errno));
		}
		if (k == 0)
			break;
		if (pt_write_all(fd, buf, (size_t)k) != 0) {
			int saved = errno;
			close(fd);
			return pt_fail(e, PT_EIO, "", "temporary file: %s",
			    strerror(saved));
		}
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return pt_fail(e, PT_EIO, "", "temporary file: %s", strerror(errno));
	}
	return fd;
}

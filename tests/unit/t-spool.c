/*
 * t-spool.c: a pipe spooled to a temporary file reads back whole, from
 * its start, as often as asked; a read error names the input.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "../tap.h"

int
main(void)
{
	static char big[200000];
	char back[sizeof big + 1];
	int p[2], fd, pass;
	size_t i, got;
	ssize_t k;
	pt_err e;

	for (i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 23);
	/* More than a pipe holds: a child writes while we spool. */
	if (pipe(p) != 0)
		return 1;
	if (fork() == 0) {
		close(p[0]);
		for (i = 0; i < sizeof big; i += (size_t)k)
			if ((k = write(p[1], big + i, sizeof big - i)) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	fd = pt_spool(p[0], "pipe", &e);
	close(p[0]);
	wait(NULL);
	ok(fd >= 0, "a pipe spools: %s", fd < 0 ? e.msg : "");
	for (pass = 0; fd >= 0 && pass < 2; pass++) {
		got = 0;
		while ((k = read(fd, back + got, sizeof back - got)) > 0)
			got += (size_t)k;
		ok(got == sizeof big && memcmp(back, big, got) == 0,
		    "pass %d reads every byte back (%zu)", pass + 1, got);
		lseek(fd, 0, SEEK_SET);
	}
	if (fd >= 0)
		close(fd);

	/* A descriptor that cannot be read: the error names the input. */
	ok(pt_spool(-1, "nothing", &e) < 0 && e.code == PT_EIO &&
	    strcmp(e.where, "nothing") == 0, "a read error names the input: "
	    "%s: %s", e.where, e.msg);
	ok(pt_spool(-1, "nothing", NULL) < 0, "and fails without an error "
	    "record too");
	return done_testing();
}

/*
 * baseline-csv: the reference point for scripts/bench-prep.  Reads CSV with
 * libcsv and converts every field that looks numeric with strtod(3): what a
 * straightforward C reader does.  Prints the row count and a checksum so
 * the work cannot be optimised away.
 */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long rows;
static double total;

static void
field(void *s, size_t n, void *ctx)
{
	char buf[64], *end;

	(void)ctx;
	if (n == 0 || n >= sizeof buf)
		return;
	memcpy(buf, s, n);
	buf[n] = '\0';
	double v = strtod(buf, &end);
	if (end != buf)
		total += v;
}

static void
record(int c, void *ctx)
{
	(void)c;
	(void)ctx;
	rows++;
}

int
main(void)
{
	struct csv_parser p;
	static char buf[1 << 20];
	ssize_t n;

	if (csv_init(&p, CSV_APPEND_NULL) != 0)
		return 2;
	while ((n = read(0, buf, sizeof buf)) > 0)
		if (csv_parse(&p, buf, (size_t)n, field, record, NULL) != (size_t)n)
			return 2;
	csv_fini(&p, field, record, NULL);
	csv_free(&p);
	printf("%llu rows, checksum %.6g\n", rows, total);
	return 0;
}

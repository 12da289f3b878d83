/*
 * forest: pt_forest_parse (lib/forest.h), forests and tree files read as
 * one-tree forests.  What it accepts must write, and what it writes must
 * read back and write the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "forest.h"
#include "fuzz.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	pt_forest *f = pt_forest_parse(buf, len, "fuzz", &e), *f2;
	char *out, *out2;
	size_t n, n2;

	if (f == NULL)
		return;
	if (pt_forest_write(f, &out, &n, &e) == 0) {
		f2 = pt_forest_parse(out, n, "rewritten", &e);
		fz_assert(f2 != NULL, "a written forest reads back");
		fz_assert(pt_forest_write(f2, &out2, &n2, &e) == 0,
		    "a forest read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a forest read back writes the same bytes");
		free(out2);
		pt_forest_free(f2);
		free(out);
	}
	pt_forest_free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

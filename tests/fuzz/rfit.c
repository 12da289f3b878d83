/*
 * rfit: pt_rfit_parse (lib/score.h), the model-statistics partial that
 * policy-score fit --merge reads.  What it accepts must write, and what it
 * writes must read back and write the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "score.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	pt_rfit *f = pt_rfit_parse(buf, len, "fuzz", &e), *f2;
	char *out, *out2;
	size_t n, n2;

	if (f == NULL)
		return;
	if (pt_rfit_write(f, &out, &n, &e) == 0) {
		f2 = pt_rfit_parse(out, n, "rewritten", &e);
		fz_assert(f2 != NULL, "a written partial reads back");
		fz_assert(pt_rfit_write(f2, &out2, &n2, &e) == 0,
		    "a partial read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a partial read back writes the same bytes");
		free(out2);
		pt_rfit_free(f2);
		free(out);
	}
	pt_rfit_free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

/*
 * partial: pt_hist_read (lib/hist.h), the histogram partial that
 * policy-split merge and best read.  What it accepts must write, and what
 * it writes must read back and write the same bytes again (the format is
 * canonical).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hist.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	pt_hist *h = pt_hist_read(buf, len, "fuzz", &e), *h2;
	char *out, *out2;
	size_t n, n2;

	if (h == NULL)
		return;
	if (pt_hist_write(h, &out, &n, &e) == 0) {
		h2 = pt_hist_read(out, n, "rewritten", &e);
		fz_assert(h2 != NULL, "a written partial reads back");
		fz_assert(pt_hist_write(h2, &out2, &n2, &e) == 0,
		    "a partial read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a partial read back writes the same bytes");
		free(out2);
		pt_hist_free(h2);
		free(out);
	}
	pt_hist_free(h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_partial, parse);
	return 0;
}

/*
 * signature: pt_sig_parse (lib/verify.h), as policy-verify compare reads
 * a signature.  What it accepts must write, and what it writes must read
 * back and write the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "verify.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	pt_sig s, s2;
	char *out, *out2;
	size_t n, n2;

	if (pt_sig_parse(&s, buf, len, "fuzz", &e) != 0)
		return;
	if (pt_sig_write(&s, &out, &n, &e) == 0) {
		fz_assert(pt_sig_parse(&s2, out, n, "rewritten", &e) == 0,
		    "a written signature reads back");
		fz_assert(pt_sig_write(&s2, &out2, &n2, &e) == 0,
		    "a signature read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a signature read back writes the same bytes");
		free(out2);
		free(out);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

/*
 * manifest: pt_manifest_parse (lib/manifest.h), as policy-prep apply and
 * every -m option read a manifest.  What it accepts must write, and what
 * it writes must read back and write the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	pt_manifest *m = pt_manifest_parse(buf, len, "fuzz", &e), *m2;
	char *out, *out2;
	size_t n, n2;

	if (m == NULL)
		return;
	if (pt_manifest_write(m, &out, &n, &e) == 0) {
		m2 = pt_manifest_parse(out, n, "rewritten", &e);
		fz_assert(m2 != NULL, "a written manifest reads back");
		fz_assert(pt_manifest_write(m2, &out2, &n2, &e) == 0,
		    "a manifest read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a manifest read back writes the same bytes");
		free(out2);
		pt_manifest_free(m2);
		free(out);
	}
	pt_manifest_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

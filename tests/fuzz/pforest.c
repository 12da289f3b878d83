/*
 * pforest: pt_pfpart_read and pt_pfstate_parse (lib/pforest.h), the forest
 * partials and forest states that policy-split merge, hist -t and best
 * read when a policy forest grows over partitions.  What they accept must
 * write, and what they write must read back and write the same bytes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pforest.h"
#include "xsum.h"

/* A forest partial with its final checksum line recomputed; a state with
 * its digest line recomputed. */
static char *
seal(const uint8_t *data, size_t size, size_t *len)
{
	static const char tag[] = "\nchecksum: ";
	const char *s = (const char *)data;
	size_t p = size, k = sizeof tag - 1;
	char *out;

	if (pt_pfstate_is(s, size))
		return fz_seal_yaml(data, size, len);
	while (p >= k && memcmp(s + p - k, tag, k) != 0)
		p--;
	if (p < k)
		return NULL;
	p -= k;                 /* the newline before "checksum:" */
	if ((out = malloc(p + k + 17)) == NULL)
		abort();
	memcpy(out, s, p);
	memcpy(out + p, tag, k);
	snprintf(out + p + k, 18, "%016" PRIx64, pt_hash64(out, p, 0));
	out[p + k + 16] = '\n';
	*len = p + k + 17;
	return out;
}

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	char *out, *out2;
	size_t n, n2;

	if (pt_pfstate_is(buf, len)) {
		pt_pfstate *s = pt_pfstate_parse(buf, len, "fuzz", &e), *s2;
		if (s == NULL)
			return;
		if (pt_pfstate_write(s, &out, &n, &e) == 0) {
			s2 = pt_pfstate_parse(out, n, "rewritten", &e);
			fz_assert(s2 != NULL, "a written state reads back");
			fz_assert(pt_pfstate_write(s2, &out2, &n2, &e) == 0,
			    "a state read back writes");
			fz_assert(n == n2 && memcmp(out, out2, n) == 0,
			    "a state read back writes the same bytes");
			free(out2);
			pt_pfstate_free(s2);
			free(out);
		}
		if (pt_pfstate_complete(s) && pt_pfstate_forest(s, &out, &n,
		    &e) == 0)
			free(out);
		pt_pfstate_free(s);
		return;
	}
	pt_pfpart *p = pt_pfpart_read(buf, len, "fuzz", &e), *p2;
	if (p == NULL)
		return;
	if (pt_pfpart_write(p, &out, &n, &e) == 0) {
		p2 = pt_pfpart_read(out, n, "rewritten", &e);
		fz_assert(p2 != NULL, "a written forest partial reads back");
		fz_assert(pt_pfpart_write(p2, &out2, &n2, &e) == 0,
		    "a forest partial read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a forest partial read back writes the same bytes");
		/* Merged with itself: refused, but for empty partitions. */
		(void)pt_pfpart_merge(p2, p, "again", &e);
		free(out2);
		pt_pfpart_free(p2);
		free(out);
	}
	pt_pfpart_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, seal, parse);
	return 0;
}

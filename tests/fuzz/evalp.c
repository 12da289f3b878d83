/*
 * evalp: pt_eval_parse (lib/eval.h), the eval partial that policy-split
 * eval --merge reads.  What it accepts must report, write and merge; what
 * it writes must read back and write the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "fuzz.h"

static void
parse(const char *buf, size_t len)
{
	pt_eval_opts o = { 0 };
	pt_err e;
	pt_eval *v, *v2;
	char *out, *out2, *rep;
	size_t n, n2, rn;

	o.max_memory = (uint64_t)1 << 26;
	if ((v = pt_eval_parse(buf, len, "fuzz", &o, &e)) == NULL)
		return;
	if (pt_eval_report(v, PT_FMT_JSON, &rep, &rn, &e) == 0)
		free(rep);
	if (pt_eval_curves(v, &rep, &rn, &e) == 0)
		free(rep);
	if (pt_eval_partial(v, &out, &n, &e) == 0) {
		v2 = pt_eval_parse(out, n, "rewritten", &o, &e);
		fz_assert(v2 != NULL, "a written partial reads back");
		fz_assert(pt_eval_partial(v2, &out2, &n2, &e) == 0,
		    "a partial read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a partial read back writes the same bytes");
		/* Merged with itself: refused, but for empty partitions. */
		(void)pt_eval_merge(v2, v, "again", &e);
		free(out2);
		pt_eval_free(v2);
		free(out);
	}
	pt_eval_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

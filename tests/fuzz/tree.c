/*
 * tree: pt_ptree_parse (lib/tree.h), as policy-split apply, show, eval and
 * -t options read a policy tree.  What it accepts must write, and what it
 * writes must read back and write the same bytes again; the text and dot
 * forms of an accepted tree are made too (policy-split show).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tree.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	pt_ptree *t = pt_ptree_parse(buf, len, "fuzz", &e), *t2;
	char *out, *out2;
	size_t n, n2;

	if (t == NULL)
		return;
	free(pt_ptree_text(t, &e));
	free(pt_ptree_dot(t, &e));
	if (pt_ptree_write(t, &out, &n, &e) == 0) {
		t2 = pt_ptree_parse(out, n, "rewritten", &e);
		fz_assert(t2 != NULL, "a written tree reads back");
		fz_assert(pt_ptree_write(t2, &out2, &n2, &e) == 0,
		    "a tree read back writes");
		fz_assert(n == n2 && memcmp(out, out2, n) == 0,
		    "a tree read back writes the same bytes");
		free(out2);
		pt_ptree_free(t2);
		free(out);
	}
	pt_ptree_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

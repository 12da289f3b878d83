/*
 * model: pt_scorer_load (lib/score.h), as policy-score -M loads a reward
 * model, a forest or a policy tree.
 */
#include "fuzz.h"
#include "score.h"

static void
parse(const char *buf, size_t len)
{
	pt_err e;

	pt_scorer_free(pt_scorer_load(buf, len, "fuzz", &e));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_yaml, parse);
	return 0;
}

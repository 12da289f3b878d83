/*
 * t-manifest.c: the manifest's exact round trip, its validation, and the
 * bin and train/test rules.
 *
 * "t-manifest --redigest" reads a manifest on stdin and writes it with its
 * digest line recomputed: the bad-input corpus uses it to hold manifests
 * that are wrong in exactly one way (version, boundaries...) and yet carry
 * a valid digest, so the reader's other checks are reached.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "xsum.h"
#include "../tap.h"

static char *
redigest(const char *text, size_t *len)
{
	size_t n = strlen(text);
	char *p = strstr(text, "digest: "), hex[33], *out;

	/* Keep everything before the last line that starts the digest. */
	while (p != NULL) {
		char *next = strstr(p + 1, "\ndigest: ");
		if (next == NULL)
			break;
		p = next + 1;
	}
	if (p != NULL && (p == text || p[-1] == '\n'))
		n = (size_t)(p - text);
	pt_h128_hex(pt_hash128(text, n, 0), hex);
	out = malloc(n + 64);
	memcpy(out, text, n);
	*len = n + (size_t)sprintf(out + n, "digest: %s\n", hex);
	return out;
}

static int
redigest_main(void)
{
	char *buf = NULL, *out;
	size_t cap = 0, n = 0, k, len;

	do {
		if (n + 65536 > cap)
			buf = realloc(buf, cap = 2 * cap + 65536);
		k = fread(buf + n, 1, cap - n - 1, stdin);
		n += k;
	} while (k > 0);
	buf[n] = '\0';
	out = redigest(buf, &len);
	fwrite(out, 1, len, stdout);
	free(out);
	free(buf);
	return 0;
}

static char *
xstrdup(const char *s)
{
	return pt_strdup(s);
}

/* A small manifest whose boundaries are the hard values of a round trip. */
static pt_manifest *
sample_manifest(const double *bounds, int nb)
{
	pt_manifest *m = pt_manifest_new();
	static const char *cols[] = { "x", "c", "arm", "y" };

	m->ncolumns = 4;
	m->columns = calloc(4, sizeof *m->columns);
	for (int i = 0; i < 4; i++)
		m->columns[i] = xstrdup(cols[i]);
	m->treatment = 2;
	m->outcome = 3;
	m->rewards = calloc(1, sizeof *m->rewards);
	m->nvocab = 2;
	m->vocab = calloc(2, sizeof *m->vocab);
	m->vocab[0] = xstrdup("No E-Mail");
	m->vocab[1] = xstrdup("say \"yes\", \\ ok");
	m->nmissing_tokens = 2;
	m->missing_tokens = calloc(2, sizeof *m->missing_tokens);
	m->missing_tokens[0] = xstrdup("");
	m->missing_tokens[1] = xstrdup("NA");
	m->split = PT_SPLIT_HASH;
	m->train_fraction = 0.7;
	m->seed = 42;
	m->bins = 0; /* all: any number of boundaries */
	m->sample = 1000;
	/* The largest count a manifest holds; every feature's counts add up
	 * to it, as a reader checks. */
	m->train_rows = UINT64_MAX;
	m->nsources = 2;
	m->sources = calloc(2, sizeof *m->sources);
	m->sources[0].name = xstrdup("x");
	m->sources[0].column = 0;
	m->sources[0].kind = PT_SRC_NUMERIC;
	m->sources[0].missing = PT_MISS_CONSTANT;
	m->sources[0].impute = 0.1;
	m->sources[1].name = xstrdup("c");
	m->sources[1].column = 1;
	m->sources[1].kind = PT_SRC_CATEGORICAL;
	m->sources[1].nlevels = 2;
	m->sources[1].levels = calloc(2, sizeof(char *));
	m->sources[1].levels[0] = xstrdup("1) $0 - $100");
	m->sources[1].levels[1] = xstrdup("yes");
	m->sources[1].missing = PT_MISS_MODE;
	m->sources[1].impute_level = 1;
	m->nfeatures = 3;
	m->features = calloc(3, sizeof *m->features);
	m->features[0].name = xstrdup("x");
	m->features[0].source = 0;
	m->features[0].level = -1;
	m->features[0].nbounds = nb;
	m->features[0].bounds = malloc(sizeof(double) * (size_t)(nb + 1));
	memcpy(m->features[0].bounds, bounds, sizeof(double) * (size_t)nb);
	m->features[0].counts = calloc((size_t)nb + 2, sizeof(uint64_t));
	m->features[0].counts[0] = UINT64_MAX;
	for (int k = 1; k <= 2; k++) { /* one-hot: consecutive, level order */
		m->features[k].name = xstrdup(k == 1 ? "c=1) $0 - $100" : "c=yes");
		m->features[k].source = 1;
		m->features[k].level = k - 1;
		m->features[k].nbounds = 1;
		m->features[k].bounds = calloc(1, sizeof(double));
		m->features[k].counts = calloc(3, sizeof(uint64_t));
		m->features[k].counts[2] = UINT64_MAX; /* all in the missing bin */
	}
	return m;
}

static int
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* Parses text after redigesting it; returns the error message or "". */
static const char *parse_error(const char *text, pt_err *e);
static char *replace(const char *s, const char *from, const char *to);

/* Damage to the weights of a weighted manifest, as for damage[] below. */
static const struct {
	const char *what, *from, *to, *msg;
} wdamage[] = {
	{ "weights of the wrong length", "weights: [1.0000000000000002, ",
	    "weights: [", "weights, expected 21" },
	{ "a negative weight", "weights: [1.0000000000000002",
	    "weights: [-1.0000000000000002", "is negative" },
	{ "a NaN weight", "weights: [1.0000000000000002", "weights: [.nan",
	    "finite number" },
	{ "an infinite weight", "weights: [1.0000000000000002",
	    "weights: [.inf", "finite number" },
	{ "a weight in a bin without rows", "weights: [1.0000000000000002, 0",
	    "weights: [1.0000000000000002, 1", "holds no training rows" },
	{ "weights that are not a list", "weights: [1.0000000000000002, 0",
	    "weights: 3\n    x: [1.0000000000000002, 0", "unknown key" },
	{ "a negative train_weight", "train_weight: 0.30000000000000004",
	    "train_weight: -0.30000000000000004", "is negative" },
	{ "no train_weight", "  train_weight: 0.30000000000000004\n", "",
	    "train_weight" },
	{ "a weight column and a feature without weights",
	    "    weights: [0, 0, 4.94065645841247e-324]\n", "", "has no weights" },
	{ "train_weight without a weight column", "weight: \"w\"\n", "",
	    "train_weight, but the manifest has no weight column" },
};

/* A manifest with a weight column: its weights (hard values, in bins
 * with rows) and total read back bit-identical; damage to them is
 * refused. */
static void
weighted(const double *hard, int nh)
{
	pt_manifest *m = sample_manifest(hard, nh), *r;
	char **cols = realloc(m->columns, 5 * sizeof *cols), *t, *bad, *bad2;
	size_t l;
	pt_err e;

	m->columns = cols;
	m->columns[4] = xstrdup("w");
	m->ncolumns = 5;
	m->weight = 4;
	m->train_weight = 0.30000000000000004;
	for (int f = 0; f < m->nfeatures; f++)
		m->features[f].weights = calloc((size_t)m->features[f].nbounds + 2,
		    sizeof(double));
	m->features[0].weights[0] = 0x1.0000000000001p0;
	m->features[1].weights[2] = 5e-324;
	m->features[2].weights[2] = 1.7976931348623157e308;
	ok(pt_manifest_write(m, &t, &l, &e) == 0 &&
	    strstr(t, "  train_weight: 0.30000000000000004\n") != NULL &&
	    strstr(t, "    weights: [0, 0, 4.94065645841247e-324]\n") != NULL,
	    "a weighted manifest writes train_weight and a weights list per "
	    "feature");
	r = pt_manifest_parse(t, l, "m.yaml", &e);
	ok(r != NULL && r->weight == 4 && same_bits(r->train_weight,
	    0.30000000000000004) && same_bits(r->features[0].weights[0],
	    0x1.0000000000001p0) && r->features[0].weights[1] == 0 &&
	    same_bits(r->features[1].weights[2], 5e-324) &&
	    same_bits(r->features[2].weights[2], 1.7976931348623157e308),
	    "weights (one ulp over 1, the least subnormal, the largest double) "
	    "read back bit-identical%s%s", r ? "" : ": ", r ? "" : e.msg);
	pt_manifest_free(r);
	for (size_t i = 0; i < sizeof wdamage / sizeof wdamage[0]; i++) {
		bad = replace(t, wdamage[i].from, wdamage[i].to);
		ok(strcmp(bad, t) != 0 && strstr(parse_error(bad, &e),
		    wdamage[i].msg) != NULL, "%s: %s", wdamage[i].what, e.msg);
		free(bad);
	}
	/* Without the weight column and train_weight, the weights remain. */
	bad = replace(t, "weight: \"w\"\n", "");
	bad2 = replace(bad, "  train_weight: 0.30000000000000004\n", "");
	ok(strstr(parse_error(bad2, &e), "has weights, but the manifest has no "
	    "weight column") != NULL, "weights without a weight column: %s",
	    e.msg);
	free(bad);
	free(bad2);
	free(t);
	pt_manifest_free(m);
}

/* Parses text after redigesting it; returns the error message or "". */
static const char *
parse_error(const char *text, pt_err *e)
{
	size_t len;
	char *t = redigest(text, &len);
	pt_manifest *m = pt_manifest_parse(t, len, "m.yaml", e);

	free(t);
	if (m != NULL) {
		pt_manifest_free(m);
		return "";
	}
	return e->msg;
}

static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);

	if (p == NULL) {
		free(out);
		return xstrdup(s);
	}
	memcpy(out, s, (size_t)(p - s));
	strcpy(out + (p - s), to);
	strcat(out, p + strlen(from));
	return out;
}

/* Damage to one line of a valid manifest (text from -> to) and a piece of
 * the message that must refuse it. */
static const struct {
	const char *what, *from, *to, *msg;
} damage[] = {
	{ "wrong version", "version: 1", "version: 2",
	    "version 2 is not supported" },
	{ "unsorted boundaries",
	    "boundaries: [-1.7976931348623157e+308, -1e+308",
	    "boundaries: [-1e+308, -1.7976931348623157e+308",
	    "strictly increasing" },
	{ "no features (a key misspelt)", "features:\n", "feature:\n",
	    "unknown key 'feature'" },
	{ "a feature of an unknown source", "source: \"c\"", "source: \"z\"",
	    "not among the sources" },
	{ "one-hot features out of level order", "level: \"yes\"",
	    "level: \"1) $0 - $100\"", "consecutive, one per level" },
	{ "counts of the wrong length", "counts: [0, 0, 18446744073709551615]",
	    "counts: [0, 18446744073709551615]", "counts, expected" },
	{ "counts that are not the training rows",
	    "counts: [0, 0, 18446744073709551615]",
	    "counts: [0, 0, 18446744073709551614]", "add up to" },
	{ "a control outside the vocabulary", "control: \"No E-Mail\"",
	    "control: \"Nope\"", "not in the vocabulary" },
	{ "a NaN boundary", "0.1, 0.30000000000000004", "0.1, nan",
	    "finite number" },
	{ "a role naming no column", "treatment: \"arm\"",
	    "treatment: \"nope\"", "not one of the manifest's columns" },
	{ "another format", "format: policy-manifest", "format: something",
	    "not a policy manifest" },
};

int
main(int argc, char **argv)
{
	double hard[] = {
		-1.7976931348623157e308, -1e308, -0.0, 5e-324, 1e-323,
		2.2250738585072009e-308, 2.2250738585072014e-308, 1e-10, 0.1,
		0.30000000000000004, 1.0, 0x1.0000000000001p0, 0x1.0000000000002p0,
		123.456789, 9007199254740993.0, 1e22, 1e23, 1e308,
		1.7976931348623157e308
	};
	int nh = (int)(sizeof hard / sizeof hard[0]);
	pt_manifest *m, *r;
	pt_err e;
	char *t1, *t2, *bad;
	size_t l1, l2;

	if (argc > 1 && strcmp(argv[1], "--redigest") == 0)
		return redigest_main();

	m = sample_manifest(hard, nh);
	ok(pt_manifest_write(m, &t1, &l1, &e) == 0, "write a manifest");
	ok(pt_manifest_write(m, &t2, &l2, &e) == 0 && l1 == l2 &&
	    memcmp(t1, t2, l1) == 0, "writing twice gives the same bytes");
	r = pt_manifest_parse(t1, l1, "m.yaml", &e);
	ok(r != NULL, "read it back%s%s", r ? "" : ": ", r ? "" : e.msg);
	if (r != NULL) {
		int all = r->features[0].nbounds == nh;
		for (int i = 0; all && i < nh; i++)
			all = same_bits(r->features[0].bounds[i], hard[i]);
		ok(all, "%d hard boundaries (-0, subnormals, 1e308, one ulp apart) "
		    "read back bit-identical", nh);
		ok(same_bits(r->sources[0].impute, 0.1), "impute 0.1 round trips");
		ok(same_bits(r->train_fraction, 0.7) && r->seed == 42,
		    "split rule round trips");
		ok(r->features[0].counts[0] == UINT64_MAX, "counts are exact u64");
		ok(strcmp(r->vocab[1], "say \"yes\", \\ ok") == 0 &&
		    strcmp(r->sources[1].levels[0], "1) $0 - $100") == 0 &&
		    strcmp(r->sources[1].levels[1], "yes") == 0,
		    "labels with quotes, backslashes and YAML words keep their text");
		ok(strcmp(r->digest, m->digest) == 0, "digest read = digest written");
		ok(r->sources[1].impute_level == 1 && r->sources[1].missing ==
		    PT_MISS_MODE, "mode imputation round trips");
		/* bin rule: x <= bounds[k] goes left, into bin k */
		ok(pt_feature_bin(&r->features[0], -0.0) == 2 &&
		    pt_feature_bin(&r->features[0], 0.0) == 2 &&
		    pt_feature_bin(&r->features[0], 0.1) == 8 &&
		    pt_feature_bin(&r->features[0], nextafter(0.1, 1)) == 9 &&
		    pt_feature_bin(&r->features[0], INFINITY) == nh &&
		    pt_feature_bin(&r->features[0], NAN) == nh + 1,
		    "a value equal to a boundary falls in that boundary's bin");
		pt_manifest_free(r);
	}
	{
		pt_manifest *m2 = pt_manifest_parse(t1, l1, "m.yaml", &e);
		int agree = m2 != NULL, trains = 0;
		for (uint64_t h = 0; agree && h < 100000; h++) {
			int t = pt_manifest_is_train(m2, h * 0x9e3779b97f4a7c15ULL, NAN);
			agree = t == pt_manifest_is_train(m, h * 0x9e3779b97f4a7c15ULL, NAN);
			trains += t;
		}
		ok(agree && trains > 69000 && trains < 71000,
		    "train/test by hash is deterministic and near the fraction "
		    "(%d of 100000)", trains);
		pt_manifest_free(m2);
	}

	/* Damage: each must be refused with its own message. */
	bad = xstrdup(t1);
	bad[strstr(bad, "train_rows") - bad + 1] = 'T';
	ok(pt_manifest_parse(bad, l1, "m.yaml", &e) == NULL &&
	    strstr(e.msg, "does not match the content") != NULL,
	    "an edit without a new digest is caught: %s", e.msg);
	free(bad);
	ok(pt_manifest_parse(t1, l1 - 20, "m.yaml", &e) == NULL,
	    "a truncated manifest is refused: %s", e.msg);
	ok(pt_manifest_parse("", 0, "m.yaml", &e) == NULL, "an empty one too");
	/* One line of the valid manifest replaced, the digest made to match
	 * again: each must be refused with its own message. */
	for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
		bad = replace(t1, damage[i].from, damage[i].to);
		ok(strstr(parse_error(bad, &e), damage[i].msg) != NULL, "%s: %s",
		    damage[i].what, e.msg);
		free(bad);
	}
	bad = replace(t1, "columns: [", "columns: [[");
	ok(*parse_error(bad, &e) != '\0' && strstr(e.where, "m.yaml:") != NULL,
	    "broken YAML names file and line: %s: %s", e.where, e.msg);
	free(bad);

	weighted(hard, nh);

	free(t1);
	free(t2);
	pt_manifest_free(m);
	return done_testing();
}

/*
 * policy-prep: lock the inputs of a run in a manifest, turn CSV into
 * frames under it, show frames as text, repartition frame streams, check
 * them, and generate synthetic experiments.  See policy-prep(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe.h"
#include "frame.h"
#include "hist.h"
#include "jsonout.h"
#include "manifest.h"
#include "prep.h"
#include "synth.h"

enum { V_FIT, V_APPLY, V_CAT, V_SPLIT, V_CHECK, V_SYNTH };
#define FIT (1u << V_FIT)
#define APPLY (1u << V_APPLY)
#define CAT (1u << V_CAT)
#define SPLIT (1u << V_SPLIT)
#define SYNTH (1u << V_SYNTH)
#define CHECK (1u << V_CHECK)

static const fe_verb verbs[] = {
	{ "fit", "--treatment COL --outcome COL [options] [CSV...]\n"
	  "--rewards COLS [options] [CSV...]", 0, -1,
	  "CSV training rows -> manifest (YAML): the locked inputs" },
	{ "apply", "-m MANIFEST [options] [CSV...]", 0, -1,
	  "CSV -> frames under the manifest" },
	{ "cat", "[options] [FRAMES...]", 0, -1, "frames -> CSV or TSV" },
	{ "split", "-n N -o PATTERN [options] [FRAMES...]", 0, -1,
	  "frames -> N partition files" },
	{ "check", "[--json] [FRAMES...]", 0, -1,
	  "read frames through, checking every frame; a line per input" },
	{ "synth", "[options]", 0, 0,
	  "a synthetic experiment (CSV) with a planted best policy" },
};

enum {
	O_TREATMENT, O_OUTCOME, O_REWARDS, O_KEY, O_WEIGHT, O_FEATURES, O_EXCLUDE,
	O_CATEGORICAL, O_NUMERIC, O_VOCAB, O_CONTROL, O_BINS, O_MISSING,
	O_MISSING_FOR, O_TOKENS, O_NONFINITE, O_UNKNOWN, O_DROP, O_FRACTION,
	O_SEED, O_SPLITCOL, O_UNTIL, O_SAMPLE, O_MAXLEVELS, O_MAXALL,
	O_MANIFEST, O_SUBSET, O_NOHEADER, O_NOCODES, O_FRAMEROWS, O_TSV,
	O_COLUMNS, O_PARTS, O_ROUNDROBIN, O_SHUFFLE, O_ROWS, O_NFEATURES,
	O_NCATEGORICAL, O_ARMS, O_SHARE, O_BINARY, O_ORACLE, O_NOISE, O_NONLINEAR, O_OUTPUT,
	O_PATTERN, O_LEVEL, O_FORCE, O_DELIM, O_JSON
};

static const fe_opt opts[] = {
	{ O_TREATMENT, 0, "treatment", FE_STR, "COL", FIT, 0, 0, NULL,
	  "the treatment column (its labels are the vocabulary)" },
	{ O_OUTCOME, 0, "outcome", FE_STR, "COL", FIT, 0, 0, NULL,
	  "the outcome column" },
	{ O_REWARDS, 0, "rewards", FE_LIST, "COLS", FIT, 0, 0, NULL,
	  "precomputed reward columns, one per action (instead of --treatment "
	  "and --outcome)" },
	{ O_WEIGHT, 0, "weight", FE_STR, "COL", FIT, 0, 0, NULL,
	  "sample weights: a finite number >= 0 per row (a frequency weight: "
	  "weight 2 counts as the row twice in every sum)" },
	{ O_KEY, 0, "key", FE_STR, "COL", FIT, 0, 0, NULL,
	  "a key column: rows are hashed (and split into train and test) by it" },
	{ O_FEATURES, 0, "features", FE_LIST, "COLS", FIT, 0, 0, NULL,
	  "feature columns, in this order (default: every other column)" },
	{ O_EXCLUDE, 0, "exclude", FE_LIST, "COLS", FIT, 0, 0, NULL,
	  "columns that are not features" },
	{ O_CATEGORICAL, 0, "categorical", FE_LIST, "COLS", FIT, 0, 0, NULL,
	  "treat these columns as categorical (one-hot)" },
	{ O_NUMERIC, 0, "numeric", FE_LIST, "COLS", FIT, 0, 0, NULL,
	  "treat these columns as numeric" },
	{ O_VOCAB, 0, "vocabulary", FE_LIST, "LABELS", FIT, 0, 0, NULL,
	  "the treatment labels in order (default: sorted)" },
	{ O_CONTROL, 0, "control", FE_STR, "LABEL", FIT, 0, 0, NULL,
	  "the control label (default: the first label)" },
	{ O_BINS, 0, "bins", FE_INT, "N|all", FIT, 2, 65536, "all",
	  "quantile bins per feature (default 32); all: every distinct value "
	  "is a boundary (at most --max-all)" },
	{ O_MISSING, 0, "missing", FE_WORD, "POLICY", FIT, 0, 0,
	  "keep|median|mode|reject",
	  "missing feature values: keep (default), median (mode for "
	  "categories) or reject" },
	{ O_MISSING_FOR, 0, "missing-for", FE_LIST, "COL=POLICY", FIT, 0, 0,
	  NULL, "per column: keep, median, mode, constant:VALUE or reject" },
	{ O_TOKENS, 0, "missing-tokens", FE_LIST, "TOKENS", FIT, 0, 0, NULL,
	  "text read as missing (default: the empty field, NA, NaN, null)" },
	{ O_NONFINITE, 0, "nonfinite", FE_WORD, "POLICY", FIT, 0, 0,
	  "reject|missing", "inf or nan text: reject (default) or missing" },
	{ O_UNKNOWN, 0, "unknown", FE_WORD, "POLICY", FIT, 0, 0,
	  "reject|missing",
	  "an unknown category at apply: reject (default) or missing" },
	{ O_DROP, 0, "drop-missing", FE_FLAG, NULL, FIT, 0, 0, NULL,
	  "drop rows missing the treatment or outcome (counted)" },
	{ O_FRACTION, 0, "train-fraction", FE_NUM, "F", FIT, 0, 1, NULL,
	  "train on a share F of rows, chosen by row (or key) hash" },
	{ O_SEED, 0, "seed", FE_INT, "S", FIT | SPLIT | SYNTH, 0,
	  9007199254740992.0, NULL,
	  "fit: seed of the train/test hash (default 1); split: of --shuffle; "
	  "synth: of the generator (default 1)" },
	{ O_SPLITCOL, 0, "split-column", FE_STR, "COL", FIT, 0, 0, NULL,
	  "with --train-until: train on rows whose COL is at most V" },
	{ O_UNTIL, 0, "train-until", FE_NUM, "V", FIT, -1.7976931348623157e308,
	  1.7976931348623157e308, NULL, "the last training value of --split-column" },
	{ O_SAMPLE, 0, "sample", FE_INT, "N", FIT, 16, 1e9, NULL,
	  "rows kept for quantiles (default 262144)" },
	{ O_MAXLEVELS, 0, "max-levels", FE_INT, "N", FIT, 1, 1e7, NULL,
	  "levels a categorical column may have (default 256)" },
	{ O_MAXALL, 0, "max-all", FE_INT, "N", FIT, 1, 1e8, NULL,
	  "distinct values allowed with --bins all (default 100000)" },
	{ O_MANIFEST, 'm', "manifest", FE_STR, "MANIFEST", APPLY, 0, 0, NULL,
	  "the manifest to apply" },
	{ O_DELIM, 'd', "delimiter", FE_STR, "C", FIT | APPLY, 0, 0, NULL,
	  "the CSV's field separator: one character, or tab (default ,)" },
	{ O_SUBSET, 0, "subset", FE_WORD, "SET", APPLY, 0, 0, "train|test|all",
	  "the rows to keep: train, test or all (default)" },
	{ O_NOHEADER, 0, "no-header", FE_FLAG, NULL, APPLY | CAT | SYNTH, 0, 0,
	  NULL, "apply: the CSV has no header line (a partition cut from a "
	  "CSV); cat, synth: write none" },
	{ O_NOCODES, 0, "no-codes", FE_FLAG, NULL, APPLY, 0, 0, NULL,
	  "no bin code columns (bin:FEATURE, a byte per value that spares "
	  "policy-split hist the binning)" },
	{ O_FRAMEROWS, 0, "frame-rows", FE_INT, "N", APPLY, 1, 16777216, NULL,
	  "rows per frame (default: 65536, fewer for wide schemas)" },
	{ O_TSV, 0, "tsv", FE_FLAG, NULL, CAT, 0, 0, NULL,
	  "tab-separated values instead of CSV" },
	{ O_COLUMNS, 0, "columns", FE_LIST, "COLS", CAT, 0, 0, NULL,
	  "only these columns, in this order" },
	{ O_PARTS, 'n', "partitions", FE_INT, "N", SPLIT, 1, 1000, NULL,
	  "the number of partitions" },
	{ O_ROUNDROBIN, 0, "round-robin", FE_FLAG, NULL, SPLIT, 0, 0, NULL,
	  "deal rows in turn instead of by row hash" },
	{ O_SHUFFLE, 0, "shuffle", FE_FLAG, NULL, SPLIT, 0, 0, NULL,
	  "deal rows at random (seeded by --seed)" },
	{ O_ROWS, 0, "rows", FE_INT, "N", SYNTH, 0, 1e12, NULL,
	  "data rows (default 10000)" },
	{ O_NFEATURES, 0, "features", FE_INT, "N", SYNTH, 2, PT_SYNTH_MAX_COLS,
	  NULL, "numeric features x1..xN (default 10)" },
	{ O_NCATEGORICAL, 0, "categorical", FE_INT, "N", SYNTH, 0,
	  PT_SYNTH_MAX_COLS, NULL,
	  "categorical features c1..cN, levels a to e (default 0)" },
	{ O_ARMS, 0, "arms", FE_INT, "K", SYNTH, 2, PT_SYNTH_MAX_ARMS, NULL,
	  "arms: control, t1, t2, ... (default 3)" },
	{ O_SHARE, 0, "missing", FE_NUM, "SHARE", SYNTH, 0, 1, NULL,
	  "the share of feature cells written as NA (default 0)" },
	{ O_BINARY, 0, "binary", FE_FLAG, NULL, SYNTH, 0, 0, NULL,
	  "0/1 outcomes instead of real ones" },
	{ O_ORACLE, 0, "oracle", FE_FLAG, NULL, SYNTH, 0, 0, NULL,
	  "add the true best arm and every arm's mean outcome as columns" },
	{ O_NOISE, 0, "noise", FE_NUM, "SD", SYNTH, 0, PT_SYNTH_MAX_NOISE, NULL,
	  "outcome noise (standard deviation; default 1)" },
	{ O_NONLINEAR, 0, "nonlinear", FE_FLAG, NULL, SYNTH, 0, 0, NULL,
	  "add to every arm's outcome 8(x4-0.5)(x5-0.5) + 6|x6-0.5|, which no "
	  "linear model fits (6 features or more)" },
	{ O_OUTPUT, 'o', "output", FE_STR, "FILE", FIT | APPLY | CAT | SYNTH, 0,
	  0, NULL, "write FILE (atomically) instead of stdout" },
	{ O_PATTERN, 'o', "output", FE_STR, "PATTERN", SPLIT, 0, 0, NULL,
	  "the partition files: a name with one %d (or %0Nd), e.g. part.%d.pf" },
	{ O_LEVEL, 'l', "level", FE_INT, "N", APPLY | SPLIT, 0, 19, NULL,
	  "zstd level of frames (0 = none; default: 0 on pipes, on files "
	  "level 1 where a column shrinks 32 times: policy-frames(5))" },
	{ O_FORCE, 'f', "force", FE_FLAG, NULL, APPLY, 0, 0, NULL,
	  "write frames to a terminal anyway" },
	{ O_JSON, 0, "json", FE_FLAG, NULL, CHECK, 0, 0, NULL,
	  "the report as JSON (one line): every input's rows and bytes" },
};

static const fe_cli cli = {
	"policy-prep", verbs, sizeof verbs / sizeof verbs[0], -1,
	opts, sizeof opts / sizeof opts[0],
	"Lists (COLS, LABELS, TOKENS) are separated by commas; an item holding a\n"
	"comma or a quote is double-quoted as in CSV: --columns '\"a,b\",c'.\n"
	"exit status: 0 success, 2 usage or input trouble\n"
};

/* --delimiter: one byte other than a quote, CR or LF, or "tab". */
static char
delimiter(const fe_args *a)
{
	const char *d = fe_str(a, O_DELIM, ",");

	return strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0 ? '\t' : d[0];
}

static int
check_delimiter(const fe_args *a)
{
	const char *d = fe_str(a, O_DELIM, ",");

	if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0)
		return 0;
	if (strlen(d) != 1 || strchr("\"\r\n", d[0]) != NULL)
		return fe_usage_error("--delimiter: '%s' is not one character "
		    "(other than a quote or a line end), or tab", d);
	return 0;
}

static int
do_fit(const fe_args *a)
{
	pt_fit_opts fo;
	pt_err e;
	pt_manifest *m;
	char *text;
	size_t len;
	int rc = FE_EXIT_OK;
	static const pt_missing miss[] = { PT_MISS_KEEP, PT_MISS_MEDIAN,
		PT_MISS_MEDIAN, PT_MISS_REJECT };

	pt_err_clear(&e);
	if (check_delimiter(a) != 0)
		return FE_EXIT_TROUBLE;
	pt_fit_defaults(&fo);
	fo.delimiter = delimiter(a);
	fo.treatment = fe_str(a, O_TREATMENT, NULL);
	fo.outcome = fe_str(a, O_OUTCOME, NULL);
	fo.rewards = fe_str(a, O_REWARDS, NULL);
	fo.key = fe_str(a, O_KEY, NULL);
	fo.weight = fe_str(a, O_WEIGHT, NULL);
	fo.features = fe_str(a, O_FEATURES, NULL);
	fo.exclude = fe_str(a, O_EXCLUDE, NULL);
	fo.categorical = fe_str(a, O_CATEGORICAL, NULL);
	fo.numeric = fe_str(a, O_NUMERIC, NULL);
	fo.vocab = fe_str(a, O_VOCAB, NULL);
	fo.control = fe_str(a, O_CONTROL, NULL);
	if (fe_flag(a, O_BINS))
		fo.bins = fe_word(a, O_BINS, -1) == 0 ? 0 : (int)fe_u64(a, O_BINS, 0);
	if (fe_flag(a, O_MISSING))
		fo.missing = miss[fe_word(a, O_MISSING, 0)];
	fo.missing_for = fe_str(a, O_MISSING_FOR, NULL);
	fo.missing_tokens = fe_str(a, O_TOKENS, NULL);
	fo.nonfinite_missing = fe_word(a, O_NONFINITE, 0) == 1;
	fo.unknown_missing = fe_word(a, O_UNKNOWN, 0) == 1;
	fo.drop_missing = fe_flag(a, O_DROP);
	if (fe_flag(a, O_FRACTION)) {
		fo.train_fraction = fe_num(a, O_FRACTION, 1);
		fo.split = PT_SPLIT_HASH;
	}
	fo.seed = fe_u64(a, O_SEED, fo.seed);
	fo.split_column = fe_str(a, O_SPLITCOL, NULL);
	fo.until = fe_num(a, O_UNTIL, 0);
	fo.sample = fe_u64(a, O_SAMPLE, fo.sample);
	fo.max_levels = (int)fe_u64(a, O_MAXLEVELS, (uint64_t)fo.max_levels);
	fo.max_all = (int)fe_u64(a, O_MAXALL, (uint64_t)fo.max_all);
	if ((fo.split_column != NULL) != fe_flag(a, O_UNTIL))
		return fe_usage_error("--split-column and --train-until go "
		    "together");
	if (fo.split_column != NULL) {
		if (fo.split == PT_SPLIT_HASH)
			return fe_usage_error("--split-column and --train-fraction "
			    "are two different train/test rules: give one");
		fo.split = PT_SPLIT_COLUMN;
	}
	fo.progress = fe_progress;
	fe_progress_total(fe_inputs_size(a->argc, a->argv));
	m = pt_prep_fit(&fo, a->argc, (const char *const *)a->argv, &e);
	if (m == NULL)
		return fe_error(&e);
	fe_progress_done(m->train_rows, fe_inputs_size(a->argc, a->argv));
	if (pt_manifest_write(m, &text, &len, &e) != 0) {
		pt_manifest_free(m);
		return fe_error(&e);
	}
	if (fe_write_file(fe_str(a, O_OUTPUT, NULL), text, len, 0, 1, &e) != 0)
		rc = fe_error(&e);
	if (rc == FE_EXIT_OK && m->dropped_rows > 0)
		fe_warnx("dropped %llu rows missing the treatment or outcome",
		    (unsigned long long)m->dropped_rows);
	free(text);
	pt_manifest_free(m);
	return rc;
}

static int
do_apply(const fe_args *a)
{
	pt_err e;
	pt_manifest *m;
	pt_schema *s = NULL;
	pt_batch *b = NULL;
	pt_writer *w = NULL;
	pt_apply_stats st = { 0 };
	fe_out out = { .fd = -1 };
	static char *dash[] = { "-" };
	char **inputs = a->argc ? a->argv : dash;
	int n = a->argc ? a->argc : 1, rc = FE_EXIT_TROUBLE;
	static const pt_subset subsets[] = { PT_SUBSET_TRAIN, PT_SUBSET_TEST,
		PT_SUBSET_ALL };
	pt_apply_opts ao = { !fe_flag(a, O_NOHEADER),
		subsets[fe_word(a, O_SUBSET, 2)], delimiter(a) };
	size_t frame_rows = (size_t)fe_u64(a, O_FRAMEROWS, 0);

	pt_err_clear(&e);
	if (check_delimiter(a) != 0)
		return FE_EXIT_TROUBLE;
	if (!fe_flag(a, O_MANIFEST))
		return fe_usage_error("apply needs -m MANIFEST");
	if ((m = pt_manifest_read(fe_str(a, O_MANIFEST, NULL), &e)) == NULL)
		return fe_error(&e);
	if ((s = pt_prep_schema(m, &e)) == NULL)
		goto fail;
	if (!fe_flag(a, O_NOCODES)) {
		pt_schema *cs = pt_hist_code_schema(m, s, &e);
		pt_schema_free(s);
		if ((s = cs) == NULL)
			goto fail;
	}
	if ((b = pt_batch_new(s, frame_rows > 0 ? frame_rows :
	    pt_frame_rows(s))) == NULL) {
		pt_fail(&e, PT_ENOMEM, "", "out of memory");
		goto fail;
	}
	if (fe_out_open(&out, fe_str(a, O_OUTPUT, NULL), 1, fe_flag(a, O_FORCE),
	    &e) != 0)
		goto fail;
	if ((w = pt_writer_open(out.fd, out.name, s, fe_frame_level(out.fd,
	    (int)fe_u64(a, O_LEVEL, (uint64_t)-1)), &e)) == NULL)
		goto fail;
	fe_progress_total(fe_inputs_size(a->argc, a->argv));
	for (int i = 0; i < n; i++) {
		int fd = fe_open_in(inputs[i], &e), r;
		if (fd < 0)
			goto fail;
		r = pt_prep_apply(m, fd, fe_in_name(inputs[i]), &ao, w, b, &st,
		    fe_progress, &e);
		if (fd > 0)
			close(fd);
		if (r != 0)
			goto fail;
	}
	if (b->nrows > 0 && (pt_hist_fill_codes(m, b, &e) != 0 ||
	    pt_writer_write(w, b, &e) != 0))
		goto fail;
	rc = pt_writer_close(w, &e);
	w = NULL;
	if (rc != 0 || fe_out_commit(&out, &e) != 0)
		goto fail;
	fe_progress_done(st.rows_in, st.bytes);
	if (st.dropped > 0)
		fe_warnx("dropped %llu rows missing the treatment or outcome",
		    (unsigned long long)st.dropped);
	rc = FE_EXIT_OK;
	goto done;
fail:
	rc = fe_error(&e);
	if (w != NULL)
		pt_writer_abort(w);
	fe_out_abort(&out);
done:
	pt_batch_free(b);
	pt_schema_free(s);
	pt_manifest_free(m);
	return rc;
}

static int
do_cat(const fe_args *a)
{
	pt_err e;
	fe_out out;
	fe_in in;
	pt_reader *r;
	pt_cat_opts co = { fe_flag(a, O_TSV), !fe_flag(a, O_NOHEADER),
		fe_str(a, O_COLUMNS, NULL) };
	int wrote_header = 0, k;

	pt_err_clear(&e);
	if (fe_out_open(&out, fe_str(a, O_OUTPUT, NULL), 0, 1, &e) != 0)
		return fe_error(&e);
	fe_in_init(&in, a->argc, a->argv);
	while ((k = fe_in_reader(&in, &r, &e)) == 1)
		if (pt_prep_cat(r, out.fd, out.name, &co, &wrote_header, &e) != 0) {
			k = -1;
			break;
		}
	fe_in_close(&in);
	if (k != 0 || fe_out_commit(&out, &e) != 0) {
		fe_out_abort(&out);
		return fe_error(&e);
	}
	return FE_EXIT_OK;
}

static int
do_check(const fe_args *a)
{
	pt_err e;
	fe_in in;
	pt_reader *r;
	const pt_batch *b;
	int k;

	pt_buf jb = PT_BUF_INIT;
	pt_json j;
	int json = fe_flag(a, O_JSON);

	pt_err_clear(&e);
	pt_j_init(&j, &jb);
	pt_j_obj(&j);
	pt_j_key(&j, "inputs");
	pt_j_arr(&j);
	fe_in_init(&in, a->argc, a->argv);
	/* Every input is checked on its own: any schema will do. */
	in.any_schema = 1;
	while ((k = fe_in_reader(&in, &r, &e)) == 1) {
		while ((k = pt_reader_next(r, &b, &e)) == 1)
			fe_progress(in.rows + pt_reader_rows(r), in.done_bytes +
			    pt_reader_bytes(r));
		if (k < 0)
			break;
		in.rows += pt_reader_rows(r);
		if (json) {
			/* All or nothing: printed once every input passed. */
			pt_j_obj(&j);
			pt_j_key(&j, "name");
			pt_j_str(&j, in.name);
			pt_j_key(&j, "rows");
			pt_j_u64(&j, pt_reader_rows(r));
			pt_j_key(&j, "bytes");
			pt_j_u64(&j, pt_reader_bytes(r));
			pt_j_key(&j, "ok");
			pt_j_bool(&j, 1);
			pt_j_obj_end(&j);
			continue;
		}
		printf("%s: %llu rows, %llu bytes, ok\n", in.name,
		    (unsigned long long)pt_reader_rows(r),
		    (unsigned long long)pt_reader_bytes(r));
	}
	fe_progress_done(in.rows, in.done_bytes);
	fe_in_close(&in);
	if (k < 0) {
		free(jb.p);
		return fe_error(&e);
	}
	if (json) {
		char *text;
		size_t len;
		pt_j_arr_end(&j);
		pt_j_key(&j, "rows");
		pt_j_u64(&j, in.rows);
		pt_j_obj_end(&j);
		pt_j_end(&j);
		if (pt_buf_take(&jb, &text, &len, "check report", &e) != 0)
			return fe_error(&e);
		fwrite(text, 1, len, stdout);
		free(text);
	} else
		pt_buf_free(&jb);
	if (fflush(stdout) != 0 || ferror(stdout))
		return fe_errorx("<stdout>: write error");
	return FE_EXIT_OK;
}

/* PATTERN must hold exactly one %d (or %0Nd); %% is a literal percent. */
static int
check_pattern(const char *p)
{
	int convs = 0;

	for (; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != 'd')
			return -1;
		convs++;
	}
	return convs == 1 ? 0 : -1;
}

static int
do_split(const fe_args *a)
{
	pt_err e;
	fe_in in;
	const pt_schema *s;
	const pt_batch *b;
	const char *pattern = fe_str(a, O_PATTERN, NULL);
	int n = (int)fe_u64(a, O_PARTS, 0), level = fe_flag(a, O_LEVEL) ?
	    (int)fe_u64(a, O_LEVEL, 1) : PT_LEVEL_AUTO;
	int rc = FE_EXIT_OK, k;
	pt_partmode mode = fe_flag(a, O_SHUFFLE) ? PT_PART_SHUFFLE :
	    fe_flag(a, O_ROUNDROBIN) ? PT_PART_ROUNDROBIN : PT_PART_HASH;
	fe_out *outs;
	pt_writer **w;
	pt_parter *p = NULL;

	pt_err_clear(&e);
	if (n < 1)
		return fe_usage_error("split needs -n N (1 to 1000 partitions)");
	if (pattern == NULL || check_pattern(pattern) != 0)
		return fe_usage_error("split needs -o PATTERN with one %%d, e.g. "
		    "part.%%d.pf");
	if (fe_flag(a, O_SHUFFLE) && fe_flag(a, O_ROUNDROBIN))
		return fe_usage_error("--shuffle and --round-robin: give one");
	if (mode == PT_PART_SHUFFLE && !fe_flag(a, O_SEED))
		return fe_usage_error("--shuffle needs --seed S");
	outs = calloc((size_t)n, sizeof *outs);
	w = calloc((size_t)n, sizeof *w);
	if (outs == NULL || w == NULL) {
		free(outs);
		free(w);
		return fe_errorx("out of memory");
	}
	for (k = 0; k < n; k++)
		outs[k].fd = -1;
	fe_in_init(&in, a->argc, a->argv);
	if ((s = fe_in_schema(&in, &e)) == NULL ||
	    (p = pt_parter_new(s, n, mode, fe_u64(a, O_SEED, 0), &e)) == NULL)
		goto fail;
	for (k = 0; k < n; k++) {
		char path[4096];
		snprintf(path, sizeof path, pattern, k);
		if (fe_out_open(&outs[k], path, 1, 1, &e) != 0 ||
		    (w[k] = pt_writer_open(outs[k].fd, outs[k].name,
		    pt_parter_schema(p), level, &e)) == NULL)
			goto fail;
	}
	while ((k = fe_in_next(&in, &b, &e)) == 1)
		if (pt_parter_feed(p, w, b, &e) != 0)
			goto fail;
	if (k < 0 || pt_parter_finish(p, w, &e) != 0)
		goto fail;
	fe_progress_done(in.rows, in.done_bytes);
	for (k = 0; k < n; k++) {
		pt_writer *wk = w[k];
		w[k] = NULL;
		if (pt_writer_close(wk, &e) != 0)
			goto fail;
	}
	for (k = 0; k < n; k++)
		if (fe_out_commit(&outs[k], &e) != 0)
			goto fail;
	goto done;
fail:
	rc = fe_error(&e);
done:
	for (k = 0; k < n; k++) {
		if (w[k] != NULL)
			pt_writer_abort(w[k]);
		fe_out_abort(&outs[k]);
	}
	fe_in_close(&in);
	pt_parter_free(p);
	free(outs);
	free(w);
	return rc;
}

static int
do_synth(const fe_args *a)
{
	pt_err e;
	pt_synth_opts so;
	fe_out out;

	pt_err_clear(&e);
	pt_synth_defaults(&so);
	so.rows = fe_u64(a, O_ROWS, so.rows);
	so.numeric = (int)fe_u64(a, O_NFEATURES, (uint64_t)so.numeric);
	so.categorical = (int)fe_u64(a, O_NCATEGORICAL,
	    (uint64_t)so.categorical);
	so.arms = (int)fe_u64(a, O_ARMS, (uint64_t)so.arms);
	so.seed = fe_u64(a, O_SEED, so.seed);
	so.missing = fe_num(a, O_SHARE, so.missing);
	so.binary = fe_flag(a, O_BINARY);
	so.oracle = fe_flag(a, O_ORACLE);
	so.noise = fe_num(a, O_NOISE, so.noise);
	so.nonlinear = fe_flag(a, O_NONLINEAR);
	if (so.nonlinear && so.numeric < 6)
		return fe_usage_error("--nonlinear needs 6 features or more");
	so.header = !fe_flag(a, O_NOHEADER);
	if (fe_out_open(&out, fe_str(a, O_OUTPUT, NULL), 0, 1, &e) != 0)
		return fe_error(&e);
	if (pt_synth_write(out.fd, out.name, &so, &e) != 0 ||
	    fe_out_commit(&out, &e) != 0) {
		fe_out_abort(&out);
		return fe_error(&e);
	}
	return FE_EXIT_OK;
}

int
main(int argc, char **argv)
{
	fe_args a;
	int rc;

	fe_init("policy-prep");
	if ((rc = fe_parse(&cli, argc, argv, &a)) != 0) {
		fe_args_free(&a);
		return rc == 1 ? FE_EXIT_OK : FE_EXIT_TROUBLE;
	}
	switch (a.verb) {
	case V_FIT: rc = do_fit(&a); break;
	case V_APPLY: rc = do_apply(&a); break;
	case V_CAT: rc = do_cat(&a); break;
	case V_SPLIT: rc = do_split(&a); break;
	case V_CHECK: rc = do_check(&a); break;
	default: rc = do_synth(&a); break;
	}
	fe_args_free(&a);
	return rc;
}

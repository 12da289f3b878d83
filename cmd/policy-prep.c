/*
 * policy-prep: lock the inputs of a run in a manifest, turn CSV into
 * frames under it, show frames as text, repartition frame streams, and
 * generate synthetic experiments.  See policy-prep(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe.h"
#include "frame.h"
#include "hist.h"
#include "manifest.h"
#include "number.h"
#include "prep.h"
#include "synth.h"

static const char usage_text[] =
"usage: policy-prep fit --treatment COL --outcome COL [options] [CSV...]\n"
"       policy-prep fit --rewards COL,COL,... [options] [CSV...]\n"
"       policy-prep apply -m MANIFEST [--subset train|test|all] [--no-header]\n"
"                         [--no-codes] [-o FILE] [-l LEVEL] [CSV...]\n"
"       policy-prep cat [--tsv] [--columns LIST] [--no-header] [-o FILE] [FRAMES...]\n"
"       policy-prep split -n N -o PATTERN [--round-robin | --shuffle --seed S]\n"
"                         [-l LEVEL] [FRAMES...]\n"
"       policy-prep check [FRAMES...]\n"
"       policy-prep synth [--rows N] [--features N] [--categorical N] [--arms K]\n"
"                         [--seed S] [--missing F] [--binary] [--oracle] [-o FILE]\n"
"\n"
"fit options:\n"
"  --treatment COL        the treatment column (its labels are the vocabulary)\n"
"  --outcome COL          the outcome column\n"
"  --rewards LIST         precomputed reward columns, one per action (instead\n"
"                         of --treatment and --outcome)\n"
"  --key COL              a key column: rows are hashed (and split) by it\n"
"  --features LIST        feature columns (default: every other column)\n"
"  --exclude LIST         columns that are not features\n"
"  --categorical LIST     treat these columns as categorical (one-hot)\n"
"  --numeric LIST         treat these columns as numeric\n"
"  --vocabulary LIST      the treatment labels in order (default: sorted)\n"
"  --control LABEL        the control label (default: the first label)\n"
"  --bins N|all           quantile bins per feature (default 32); all: every\n"
"                         distinct value is a boundary (at most --max-all)\n"
"  --missing POLICY       keep (default), median (mode for categories), reject\n"
"  --missing-for COL=P    per column: keep, median, mode, constant:VALUE, reject\n"
"  --missing-tokens LIST  text read as missing (default: empty,NA,NaN,null)\n"
"  --nonfinite POLICY     inf/nan text: reject (default) or missing\n"
"  --unknown POLICY       unknown category at apply: reject (default) or missing\n"
"  --drop-missing         drop rows missing the treatment or outcome (counted)\n"
"  --train-fraction F     train on a share F of rows, chosen by row (or key) hash\n"
"  --seed S               seed of the train/test hash (default 1)\n"
"  --split-column COL --train-until V   train on rows with COL <= V\n"
"  --sample N             rows kept for quantiles (default 262144)\n"
"  --max-levels N         levels a categorical column may have (default 256)\n"
"  --max-all N            distinct values allowed with --bins all (default 100000)\n"
"apply options:\n"
"  --no-codes             no bin code columns (bin:FEATURE, a byte per value\n"
"                         that spares policy-split hist the binning)\n"
"common options:\n"
"  -o, --output FILE      write FILE (atomically) instead of stdout\n"
"  -l, --level N          zstd level of frames (0 = none; default: 0 on pipes,\n"
"                         1 on files)\n"
"  -f, --force            write frames to a terminal anyway\n"
"      --progress         show progress on stderr (default when it is a terminal)\n"
"  -h, --help             this help\n"
"      --version          the version\n";

static void
usage(FILE *fp)
{
	fputs(usage_text, fp);
}

enum {
	O_TREATMENT = 256, O_OUTCOME, O_REWARDS, O_KEY, O_FEATURES, O_EXCLUDE,
	O_CATEGORICAL, O_NUMERIC, O_VOCAB, O_CONTROL, O_BINS, O_MISSING,
	O_MISSING_FOR, O_TOKENS, O_NONFINITE, O_UNKNOWN, O_DROP, O_FRACTION,
	O_SEED, O_SPLITCOL, O_UNTIL, O_SAMPLE, O_MAXLEVELS, O_MAXALL, O_SUBSET,
	O_NOHEADER, O_TSV, O_COLUMNS, O_ROUNDROBIN, O_SHUFFLE, O_PROGRESS,
	O_VERSION, O_ROWS, O_ARMS, O_BINARY, O_ORACLE, O_NOISE, O_FRAMEROWS,
	O_NOCODES
};

static const struct option longopts[] = {
	{ "treatment", required_argument, NULL, O_TREATMENT },
	{ "outcome", required_argument, NULL, O_OUTCOME },
	{ "rewards", required_argument, NULL, O_REWARDS },
	{ "key", required_argument, NULL, O_KEY },
	{ "features", required_argument, NULL, O_FEATURES },
	{ "exclude", required_argument, NULL, O_EXCLUDE },
	{ "categorical", required_argument, NULL, O_CATEGORICAL },
	{ "numeric", required_argument, NULL, O_NUMERIC },
	{ "vocabulary", required_argument, NULL, O_VOCAB },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "bins", required_argument, NULL, O_BINS },
	{ "missing", required_argument, NULL, O_MISSING },
	{ "missing-for", required_argument, NULL, O_MISSING_FOR },
	{ "missing-tokens", required_argument, NULL, O_TOKENS },
	{ "nonfinite", required_argument, NULL, O_NONFINITE },
	{ "unknown", required_argument, NULL, O_UNKNOWN },
	{ "drop-missing", no_argument, NULL, O_DROP },
	{ "train-fraction", required_argument, NULL, O_FRACTION },
	{ "seed", required_argument, NULL, O_SEED },
	{ "split-column", required_argument, NULL, O_SPLITCOL },
	{ "train-until", required_argument, NULL, O_UNTIL },
	{ "sample", required_argument, NULL, O_SAMPLE },
	{ "max-levels", required_argument, NULL, O_MAXLEVELS },
	{ "max-all", required_argument, NULL, O_MAXALL },
	{ "manifest", required_argument, NULL, 'm' },
	{ "subset", required_argument, NULL, O_SUBSET },
	{ "no-header", no_argument, NULL, O_NOHEADER },
	{ "tsv", no_argument, NULL, O_TSV },
	{ "columns", required_argument, NULL, O_COLUMNS },
	{ "partitions", required_argument, NULL, 'n' },
	{ "round-robin", no_argument, NULL, O_ROUNDROBIN },
	{ "shuffle", no_argument, NULL, O_SHUFFLE },
	{ "rows", required_argument, NULL, O_ROWS },
	{ "arms", required_argument, NULL, O_ARMS },
	{ "binary", no_argument, NULL, O_BINARY },
	{ "oracle", no_argument, NULL, O_ORACLE },
	{ "noise", required_argument, NULL, O_NOISE },
	{ "frame-rows", required_argument, NULL, O_FRAMEROWS },
	{ "no-codes", no_argument, NULL, O_NOCODES },
	{ "output", required_argument, NULL, 'o' },
	{ "level", required_argument, NULL, 'l' },
	{ "force", no_argument, NULL, 'f' },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* Everything any verb may be given; each verb checks what it accepts. */
typedef struct opts {
	pt_fit_opts fit;
	pt_synth_opts synth;
	const char *manifest, *output, *columns;
	pt_subset subset;
	int header, tsv, level, force, nparts, frame_rows, nocodes;
	pt_partmode mode;
	uint64_t seed;
	int seed_given, features_given, until_given;
} opts;

static int
missing_arg(const char *s, pt_missing *out)
{
	if (strcmp(s, "keep") == 0)
		*out = PT_MISS_KEEP;
	else if (strcmp(s, "median") == 0 || strcmp(s, "mode") == 0)
		*out = PT_MISS_MEDIAN;
	else if (strcmp(s, "reject") == 0)
		*out = PT_MISS_REJECT;
	else
		return fe_usage_error("--missing: '%s' is not keep, median or reject",
		    s) ? -1 : -1;
	return 0;
}

static int
parse_opts(opts *o, int argc, char **argv)
{
	int c;
	uint64_t u;
	double d;

	memset(o, 0, sizeof *o);
	pt_fit_defaults(&o->fit);
	pt_synth_defaults(&o->synth);
	o->subset = PT_SUBSET_ALL;
	o->header = 1;
	o->level = -1;
	o->mode = PT_PART_HASH;
	o->frame_rows = 0; /* pt_frame_rows */
	while ((c = getopt_long(argc, argv, "m:o:l:n:fh", longopts, NULL)) != -1) {
		switch (c) {
		case O_TREATMENT: o->fit.treatment = optarg; break;
		case O_OUTCOME: o->fit.outcome = optarg; break;
		case O_REWARDS: o->fit.rewards = optarg; break;
		case O_KEY: o->fit.key = optarg; break;
		case O_FEATURES:
			/* fit: columns; synth: the number of numeric features */
			o->fit.features = optarg;
			o->features_given = 1;
			break;
		case O_EXCLUDE: o->fit.exclude = optarg; break;
		case O_CATEGORICAL: o->fit.categorical = optarg; break;
		case O_NUMERIC: o->fit.numeric = optarg; break;
		case O_VOCAB: o->fit.vocab = optarg; break;
		case O_CONTROL: o->fit.control = optarg; break;
		case O_BINS:
			if (strcmp(optarg, "all") == 0)
				o->fit.bins = 0;
			else if (fe_int_arg("--bins", optarg, 2, 65536, &u) != 0)
				return -1;
			else
				o->fit.bins = (int)u;
			break;
		case O_MISSING:
			if (missing_arg(optarg, &o->fit.missing) != 0)
				return -1;
			break;
		case O_MISSING_FOR: o->fit.missing_for = optarg; break;
		case O_TOKENS: o->fit.missing_tokens = optarg; break;
		case O_NONFINITE:
			if (strcmp(optarg, "missing") == 0)
				o->fit.nonfinite_missing = 1;
			else if (strcmp(optarg, "reject") != 0)
				return fe_usage_error("--nonfinite: reject or missing"), -1;
			break;
		case O_UNKNOWN:
			if (strcmp(optarg, "missing") == 0)
				o->fit.unknown_missing = 1;
			else if (strcmp(optarg, "reject") != 0)
				return fe_usage_error("--unknown: reject or missing"), -1;
			break;
		case O_DROP: o->fit.drop_missing = 1; break;
		case O_FRACTION:
			if (fe_num_arg("--train-fraction", optarg, 0, 1, &d) != 0)
				return -1;
			o->fit.train_fraction = d;
			o->fit.split = PT_SPLIT_HASH;
			break;
		case O_SEED:
			if (fe_int_arg("--seed", optarg, 0, 9007199254740992.0, &u) != 0)
				return -1;
			o->fit.seed = o->synth.seed = o->seed = u;
			o->seed_given = 1;
			break;
		case O_SPLITCOL:
			o->fit.split_column = optarg;
			break;
		case O_UNTIL:
			if (fe_num_arg("--train-until", optarg, -1.7976931348623157e308,
			    1.7976931348623157e308, &d) != 0)
				return -1;
			o->fit.until = d;
			o->until_given = 1;
			break;
		case O_SAMPLE:
			if (fe_int_arg("--sample", optarg, 16, 1e9, &u) != 0)
				return -1;
			o->fit.sample = u;
			break;
		case O_MAXLEVELS:
			if (fe_int_arg("--max-levels", optarg, 1, 1e7, &u) != 0)
				return -1;
			o->fit.max_levels = (int)u;
			break;
		case O_MAXALL:
			if (fe_int_arg("--max-all", optarg, 1, 1e8, &u) != 0)
				return -1;
			o->fit.max_all = (int)u;
			break;
		case 'm': o->manifest = optarg; break;
		case O_SUBSET:
			if (strcmp(optarg, "train") == 0)
				o->subset = PT_SUBSET_TRAIN;
			else if (strcmp(optarg, "test") == 0)
				o->subset = PT_SUBSET_TEST;
			else if (strcmp(optarg, "all") == 0)
				o->subset = PT_SUBSET_ALL;
			else
				return fe_usage_error("--subset: train, test or all"), -1;
			break;
		case O_NOHEADER: o->header = 0; o->synth.header = 0; break;
		case O_TSV: o->tsv = 1; break;
		case O_COLUMNS: o->columns = optarg; break;
		case 'n':
			if (fe_int_arg("-n", optarg, 1, 1000, &u) != 0)
				return -1;
			o->nparts = (int)u;
			break;
		case O_ROUNDROBIN: o->mode = PT_PART_ROUNDROBIN; break;
		case O_SHUFFLE: o->mode = PT_PART_SHUFFLE; break;
		case O_ROWS:
			if (fe_int_arg("--rows", optarg, 0, 1e12, &u) != 0)
				return -1;
			o->synth.rows = u;
			break;
		case O_ARMS:
			if (fe_int_arg("--arms", optarg, 2, PT_SYNTH_MAX_ARMS, &u) != 0)
				return -1;
			o->synth.arms = (int)u;
			break;
		case O_BINARY: o->synth.binary = 1; break;
		case O_ORACLE: o->synth.oracle = 1; break;
		case O_NOISE:
			if (fe_num_arg("--noise", optarg, 0, PT_SYNTH_MAX_NOISE, &d) != 0)
				return -1;
			o->synth.noise = d;
			break;
		case O_NOCODES: o->nocodes = 1; break;
		case O_FRAMEROWS:
			if (fe_int_arg("--frame-rows", optarg, 1, 1 << 24, &u) != 0)
				return -1;
			o->frame_rows = (int)u;
			break;
		case 'o': o->output = optarg; break;
		case 'l':
			if (fe_int_arg("-l", optarg, 0, 19, &u) != 0)
				return -1;
			o->level = (int)u;
			break;
		case 'f': o->force = 1; break;
		case O_PROGRESS: fe_progress_enable(1); break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_VERSION:
			printf("policy-prep %s\n", PT_VERSION);
			exit(0);
		default:
			fe_usage_error("unknown or incomplete option");
			return -1;
		}
	}
	return 0;
}

static int
do_fit(opts *o, int n, char **inputs)
{
	pt_err e;
	pt_manifest *m;
	char *text;
	size_t len;
	fe_out out;
	int rc = FE_EXIT_OK;

	pt_err_clear(&e);
	o->fit.progress = fe_progress;
	m = pt_prep_fit(&o->fit, n, (const char *const *)inputs, &e);
	if (m == NULL)
		return fe_error(&e);
	if (pt_manifest_write(m, &text, &len, &e) != 0) {
		pt_manifest_free(m);
		return fe_error(&e);
	}
	if (fe_out_open(&out, o->output, 0, 1, &e) != 0 ||
	    fe_write_all(out.fd, out.name, text, len, &e) != 0 ||
	    fe_out_commit(&out, &e) != 0) {
		fe_out_abort(&out);
		rc = fe_error(&e);
	}
	if (rc == FE_EXIT_OK && m->dropped_rows > 0)
		fe_warnx("dropped %llu rows missing the treatment or outcome",
		    (unsigned long long)m->dropped_rows);
	free(text);
	pt_manifest_free(m);
	return rc;
}

static int
do_apply(opts *o, int n, char **inputs)
{
	pt_err e;
	pt_manifest *m;
	pt_schema *s = NULL;
	pt_batch *b = NULL;
	pt_writer *w = NULL;
	pt_apply_stats st = { 0 };
	fe_out out = { .fd = -1 };
	static char *dash[] = { "-" };
	int rc = FE_EXIT_TROUBLE;

	pt_err_clear(&e);
	if (o->manifest == NULL)
		return fe_usage_error("apply needs -m MANIFEST");
	if ((m = pt_manifest_read(o->manifest, &e)) == NULL)
		return fe_error(&e);
	if (n == 0) {
		n = 1;
		inputs = dash;
	}
	if ((s = pt_prep_schema(m, &e)) == NULL)
		goto fail;
	if (!o->nocodes) {
		pt_schema *cs = pt_hist_code_schema(m, s, &e);
		pt_schema_free(s);
		if ((s = cs) == NULL)
			goto fail;
	}
	if ((b = pt_batch_new(s, o->frame_rows > 0 ? (size_t)o->frame_rows :
	    pt_frame_rows(s))) == NULL ||
	    fe_out_open(&out, o->output, 1, o->force, &e) != 0)
		goto fail;
	if ((w = pt_writer_open(out.fd, out.name, s, o->level >= 0 ? o->level :
	    fe_default_level(out.fd), &e)) == NULL)
		goto fail;
	for (int i = 0; i < n; i++) {
		int fd = fe_open_in(inputs[i], &e);
		const char *name = strcmp(inputs[i], "-") == 0 ? "<stdin>" : inputs[i];
		int r;
		if (fd < 0)
			goto fail;
		r = pt_prep_apply(m, fd, name, o->header, o->subset, w, b, &st,
		    fe_progress, &e);
		if (fd > 0)
			close(fd);
		if (r != 0)
			goto fail;
	}
	if (b->nrows > 0 && (pt_hist_fill_codes(m, b, &e) != 0 ||
	    pt_writer_write(w, b, &e) != 0))
		goto fail;
	if (pt_writer_close(w, &e) != 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	if (fe_out_commit(&out, &e) != 0)
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

typedef struct cat_ctx {
	pt_cat_opts co;
	fe_out *out;
	int wrote_header;
	pt_schema *first;
} cat_ctx;

static int
cat_one(void *ctx, pt_reader *r, const char *name, pt_err *e)
{
	cat_ctx *c = ctx;

	if (c->first == NULL)
		c->first = pt_schema_clone(pt_reader_schema(r));
	else if (!pt_schema_equal(c->first, pt_reader_schema(r)))
		return pt_fail(e, PT_EMISMATCH, name, "frames of another schema "
		    "than the first input's");
	return pt_prep_cat(r, c->out->fd, c->out->name, &c->co, &c->wrote_header, e);
}

static int
do_cat(opts *o, int n, char **inputs)
{
	pt_err e;
	fe_out out;
	cat_ctx c = { { o->tsv, o->header, o->columns }, &out, 0, NULL };

	pt_err_clear(&e);
	if (fe_out_open(&out, o->output, 0, 1, &e) != 0)
		return fe_error(&e);
	if (fe_each_frames(n, inputs, cat_one, &c, &e) != 0 ||
	    fe_out_commit(&out, &e) != 0) {
		fe_out_abort(&out);
		pt_schema_free(c.first);
		return fe_error(&e);
	}
	pt_schema_free(c.first);
	return FE_EXIT_OK;
}

typedef struct check_ctx {
	uint64_t rows, bytes;
} check_ctx;

static int
check_one(void *ctx, pt_reader *r, const char *name, pt_err *e)
{
	check_ctx *c = ctx;
	const pt_batch *b;
	int rc;

	(void)name;
	while ((rc = pt_reader_next(r, &b, e)) == 1)
		fe_progress(c->rows + pt_reader_rows(r), c->bytes + pt_reader_bytes(r));
	if (rc < 0)
		return -1;
	c->rows += pt_reader_rows(r);
	c->bytes += pt_reader_bytes(r);
	printf("%s: %llu rows, %llu bytes, ok\n", name,
	    (unsigned long long)pt_reader_rows(r),
	    (unsigned long long)pt_reader_bytes(r));
	return 0;
}

static int
do_check(opts *o, int n, char **inputs)
{
	pt_err e;
	check_ctx c = { 0, 0 };

	(void)o;
	pt_err_clear(&e);
	if (fe_each_frames(n, inputs, check_one, &c, &e) != 0)
		return fe_error(&e);
	fe_progress_done(c.rows, c.bytes);
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

typedef struct split_ctx {
	opts *o;
	fe_out *outs;
	pt_writer **w;
	pt_parter *p;
	pt_schema *s;
} split_ctx;

static int
split_one(void *ctx, pt_reader *r, const char *name, pt_err *e)
{
	split_ctx *c = ctx;
	const pt_batch *b;
	int rc;

	if (c->s == NULL) {
		int n = c->o->nparts;
		if ((c->s = pt_schema_clone(pt_reader_schema(r))) == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof path, c->o->output, k);
			if (fe_out_open(&c->outs[k], path, 1, 1, e) != 0)
				return -1;
			c->w[k] = pt_writer_open(c->outs[k].fd, c->outs[k].name, c->s,
			    c->o->level >= 0 ? c->o->level : 1, e);
			if (c->w[k] == NULL)
				return -1;
		}
		if ((c->p = pt_parter_new(c->s, n, c->o->mode, c->o->seed, c->w,
		    e)) == NULL)
			return -1;
	} else if (!pt_schema_equal(c->s, pt_reader_schema(r))) {
		return pt_fail(e, PT_EMISMATCH, name, "frames of another schema "
		    "than the first input's");
	}
	while ((rc = pt_reader_next(r, &b, e)) == 1)
		if (pt_parter_feed(c->p, b, e) != 0)
			return -1;
	return rc;
}

static int
do_split(opts *o, int n, char **inputs)
{
	pt_err e;
	split_ctx c = { o, NULL, NULL, NULL, NULL };
	int rc = FE_EXIT_OK, k;

	pt_err_clear(&e);
	if (o->nparts < 1)
		return fe_usage_error("split needs -n N (1 to 1000 partitions)");
	if (o->output == NULL || check_pattern(o->output) != 0)
		return fe_usage_error("split needs -o PATTERN with one %%d, e.g. "
		    "part.%%d.pf");
	if (o->mode == PT_PART_SHUFFLE && !o->seed_given)
		return fe_usage_error("--shuffle needs --seed S");
	c.outs = calloc((size_t)o->nparts, sizeof *c.outs);
	c.w = calloc((size_t)o->nparts, sizeof *c.w);
	if (c.outs == NULL || c.w == NULL)
		return fe_errorx("out of memory");
	for (k = 0; k < o->nparts; k++)
		c.outs[k].fd = -1;
	if (fe_each_frames(n, inputs, split_one, &c, &e) != 0 ||
	    pt_parter_finish(c.p, &e) != 0)
		rc = fe_error(&e);
	for (k = 0; rc == FE_EXIT_OK && k < o->nparts; k++) {
		pt_writer *w = c.w[k];
		c.w[k] = NULL;
		if (pt_writer_close(w, &e) != 0)
			rc = fe_error(&e);
	}
	for (k = 0; rc == FE_EXIT_OK && k < o->nparts; k++)
		if (fe_out_commit(&c.outs[k], &e) != 0)
			rc = fe_error(&e);
	for (k = 0; k < o->nparts; k++) {
		if (c.w[k] != NULL)
			pt_writer_abort(c.w[k]);
		fe_out_abort(&c.outs[k]);
	}
	pt_parter_free(c.p);
	pt_schema_free(c.s);
	free(c.outs);
	free(c.w);
	return rc;
}

static int
do_synth(opts *o, int n, char **inputs)
{
	pt_err e;
	fe_out out;

	(void)inputs;
	pt_err_clear(&e);
	if (n > 0)
		return fe_usage_error("synth reads no input");
	if (o->features_given) {
		uint64_t u;
		if (fe_int_arg("--features", o->fit.features, 2, PT_SYNTH_MAX_COLS, &u))
			return FE_EXIT_TROUBLE;
		o->synth.numeric = (int)u;
	}
	if (o->fit.categorical != NULL) {
		uint64_t u;
		if (fe_int_arg("--categorical", o->fit.categorical, 0,
		    PT_SYNTH_MAX_COLS, &u))
			return FE_EXIT_TROUBLE;
		o->synth.categorical = (int)u;
	}
	if (o->fit.missing_tokens != NULL) {
		double d;
		if (fe_num_arg("--missing-share", o->fit.missing_tokens, 0, 1, &d))
			return FE_EXIT_TROUBLE;
		o->synth.missing = d;
	}
	if (fe_out_open(&out, o->output, 0, 1, &e) != 0)
		return fe_error(&e);
	if (pt_synth_write(out.fd, out.name, &o->synth, &e) != 0 ||
	    fe_out_commit(&out, &e) != 0) {
		fe_out_abort(&out);
		return fe_error(&e);
	}
	return FE_EXIT_OK;
}

int
main(int argc, char **argv)
{
	opts o;
	const char *verb;

	fe_init(argv[0], "policy-prep");
	if (argc < 2)
		return fe_usage_error("a verb is needed: fit, apply, cat, split, "
		    "check or synth");
	verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		usage(stdout);
		return FE_EXIT_OK;
	}
	if (strcmp(verb, "--version") == 0) {
		printf("policy-prep %s\n", PT_VERSION);
		return FE_EXIT_OK;
	}
	/* synth's --missing is a share, not a policy: rename it before parsing. */
	if (strcmp(verb, "synth") == 0)
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--missing") == 0)
				argv[i] = "--missing-tokens";
			else if (strncmp(argv[i], "--missing=", 10) == 0) {
				static char buf[64];
				snprintf(buf, sizeof buf, "--missing-tokens=%s", argv[i] + 10);
				argv[i] = buf;
			}
		}
	if (parse_opts(&o, argc - 1, argv + 1) != 0)
		return FE_EXIT_TROUBLE;
	argc -= 1 + optind;
	argv += 1 + optind;
	if (o.fit.split_column != NULL && o.fit.split != PT_SPLIT_HASH)
		o.fit.split = PT_SPLIT_COLUMN;
	if (strcmp(verb, "fit") == 0) {
		if ((o.fit.split_column != NULL) != o.until_given)
			return fe_usage_error("--split-column and --train-until go "
			    "together");
		if (o.fit.split_column != NULL && o.fit.split == PT_SPLIT_HASH)
			return fe_usage_error("--split-column and --train-fraction "
			    "are two different train/test rules: give one");
		return do_fit(&o, argc, argv);
	}
	if (strcmp(verb, "apply") == 0)
		return do_apply(&o, argc, argv);
	if (strcmp(verb, "cat") == 0)
		return do_cat(&o, argc, argv);
	if (strcmp(verb, "split") == 0)
		return do_split(&o, argc, argv);
	if (strcmp(verb, "check") == 0)
		return do_check(&o, argc, argv);
	if (strcmp(verb, "synth") == 0)
		return do_synth(&o, argc, argv);
	return fe_usage_error("unknown verb '%s' (fit, apply, cat, split, check, "
	    "synth)", verb);
}

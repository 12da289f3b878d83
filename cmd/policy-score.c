/*
 * policy-score: score frames with a forest or a reward model, fit reward
 * models (also as partials that merge exactly), and generate forests and
 * benchmark frames.  See policy-score(1) and policy-model(5).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fe.h"
#include "forest.h"
#include "frame.h"
#include "manifest.h"
#include "model.h"
#include "number.h"
#include "score.h"

static const char usage_text[] =
"usage: policy-score -M MODEL [--kind dr|dm|ipw] [--backend vector|row]\n"
"                    [-o FILE] [-l LEVEL] [FRAMES...]\n"
"       policy-score fit -m MANIFEST [fit options] [--partial] [-o FILE] [FRAMES...]\n"
"       policy-score fit --merge [--partial] [-o FILE] PARTIAL...\n"
"       policy-score forest-gen [--trees N] [--depth D] [--features F] [--arms A]\n"
"                    [--seed S] [-o FILE]\n"
"       policy-score gen-data [--rows N] [--features F] [--missing P] [--seed S]\n"
"                    [--first N] [-o FILE] [-l LEVEL]\n"
"\n"
"scoring (appends one f64 column score:LABEL per label, vocabulary order):\n"
"  -M, --model FILE       a reward model (policy-score fit) or a forest\n"
"      --kind K           reward models: dr (default), dm or ipw\n"
"      --backend B        vector (default) or row (the reference); same bits\n"
"fit options (reward models: per-arm ridge outcome models):\n"
"  -m, --manifest FILE    the manifest the frames were made under\n"
"      --outcome T        real (default) or binary (0/1; predictions clipped)\n"
"      --lambda L         ridge penalty on the raw features (default 1)\n"
"      --folds K          cross-fitting folds by row hash (default 5; 1 = none)\n"
"      --fold-seed S      seed of the fold hash (default 0)\n"
"      --propensity P     constant (default: arm shares), given:P1,P2,...\n"
"                         (one per label), column:NAME, or logistic (fitted:\n"
"                         multinomial logistic; reads the named FRAMES files\n"
"                         once per pass, so not stdin, not --partial)\n"
"      --propensity-passes N  logistic: at most N passes (default 50)\n"
"      --propensity-floor F   clip propensities below at F (default 0.01)\n"
"      --cost C1,C2,...   a cost per label, subtracted from its score\n"
"      --max-memory SIZE  refuse, before reading, a fit whose exact statistics\n"
"                         would take more than SIZE bytes (K, M, G, T suffixes;\n"
"                         default 4G; 0 = no limit)\n"
"      --partial          write the exact statistics (a partial), not a model\n"
"      --merge            inputs are partials: add them (any order) and write\n"
"                         the model (or, with --partial, the merged partial)\n"
"generators (deterministic; for tests and benchmarks):\n"
"  forest-gen             a random forest of complete trees (policy-model(5))\n"
"                         defaults: 50 trees, depth 7, 32 features, 4 arms\n"
"  gen-data               frames of _row and x1..xF uniform in [0, 1), a share\n"
"                         P missing (default 0.1); --first: first row number\n"
"common options:\n"
"  -o, --output FILE      write FILE (atomically) instead of stdout\n"
"  -l, --level N          zstd level of frames (0 = none; default: 0 on pipes,\n"
"                         1 on files)\n"
"  -f, --force            write frames to a terminal anyway\n"
"      --progress         show progress on stderr (default when it is a terminal)\n"
"  -h, --help             this help\n"
"      --version          the version\n"
"exit status: 0 success, 2 usage or input trouble\n";

enum {
	O_KIND = 256, O_BACKEND, O_OUTCOME, O_LAMBDA, O_FOLDS, O_FOLDSEED,
	O_PROP, O_PASSES, O_FLOOR, O_COST, O_PARTIAL, O_MERGE, O_TREES, O_DEPTH,
	O_FEATURES, O_ARMS, O_SEED, O_ROWS, O_MISSING, O_FIRST, O_PROGRESS,
	O_VERSION, O_MAXMEM
};

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'M' },
	{ "manifest", required_argument, NULL, 'm' },
	{ "kind", required_argument, NULL, O_KIND },
	{ "backend", required_argument, NULL, O_BACKEND },
	{ "outcome", required_argument, NULL, O_OUTCOME },
	{ "lambda", required_argument, NULL, O_LAMBDA },
	{ "folds", required_argument, NULL, O_FOLDS },
	{ "fold-seed", required_argument, NULL, O_FOLDSEED },
	{ "propensity", required_argument, NULL, O_PROP },
	{ "propensity-floor", required_argument, NULL, O_FLOOR },
	{ "propensity-passes", required_argument, NULL, O_PASSES },
	{ "cost", required_argument, NULL, O_COST },
	{ "partial", no_argument, NULL, O_PARTIAL },
	{ "max-memory", required_argument, NULL, O_MAXMEM },
	{ "merge", no_argument, NULL, O_MERGE },
	{ "trees", required_argument, NULL, O_TREES },
	{ "depth", required_argument, NULL, O_DEPTH },
	{ "features", required_argument, NULL, O_FEATURES },
	{ "arms", required_argument, NULL, O_ARMS },
	{ "seed", required_argument, NULL, O_SEED },
	{ "rows", required_argument, NULL, O_ROWS },
	{ "missing", required_argument, NULL, O_MISSING },
	{ "first", required_argument, NULL, O_FIRST },
	{ "output", required_argument, NULL, 'o' },
	{ "level", required_argument, NULL, 'l' },
	{ "force", no_argument, NULL, 'f' },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

typedef struct opts {
	const char *model, *manifest, *output;
	pt_skind kind;
	pt_backend backend;
	int level, force, partial, merge;
	pt_rspec spec;
	char *given, *cost;
	long trees, depth, features, arms, passes;
	uint64_t seed, rows, first;
	double missing;
} opts;

static int
num(const char *s, const char *what, double lo, double hi, double *out)
{
	if (pt_parse_f64(s, strlen(s), out) != 0 || !(*out >= lo && *out <= hi))
		return fe_usage_error("%s: '%s' is not a number in [%g, %g]",
		    what, s, lo, hi);
	return 0;
}

static int
u64(const char *s, const char *what, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || !*s || *s == '-')
		return fe_usage_error("%s: '%s' is not a whole number", what, s);
	return 0;
}

static int
lng(const char *s, const char *what, long lo, long hi, long *out)
{
	uint64_t v;

	if (u64(s, what, &v) || v < (uint64_t)lo || v > (uint64_t)hi)
		return fe_usage_error("%s: '%s' is not in %ld..%ld", what, s, lo,
		    hi);
	*out = (long)v;
	return 0;
}

/* "a,b,c" into n doubles; 0 or an exit status. */
static int
list(const char *s, const char *what, int n, double **out)
{
	double *v = calloc((size_t)n + 1, sizeof *v);
	const char *p = s, *c;
	int i;

	if (v == NULL)
		return fe_errorx("out of memory");
	for (i = 0; i < n; i++) {
		c = strchr(p, ',');
		if (c == NULL)
			c = p + strlen(p);
		if (pt_parse_f64(p, (size_t)(c - p), &v[i]) != 0 ||
		    (*c == '\0' && i != n - 1) || (*c == ',' && i == n - 1)) {
			free(v);
			return fe_usage_error("%s: expected %d numbers separated "
			    "by commas (one per label)", what, n);
		}
		p = c + 1;
	}
	*out = v;
	return 0;
}

/* ---- scoring ---- */

/*
 * Frames through pipes move hundreds of MB/s; with the default 64 KiB pipe
 * buffer the two ends switch contexts for every 64 KiB.  A 1 MiB buffer
 * (Linux; silently ignored elsewhere or when not permitted) lets each side
 * run longer.
 */
static void
widen_pipe(int fd)
{
#ifdef __linux__
	struct stat sb;

	if (fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode))
		(void)fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20);
#else
	(void)fd;
#endif
}

static int
score_main(opts *o, int nin, char **in)
{
	pt_err e;
	pt_scorer *sc = NULL;
	pt_reader *r = NULL;
	pt_writer *w = NULL;
	const pt_schema *os = NULL;
	pt_schema *first = NULL;
	const pt_batch *b, *ob;
	fe_out out;
	char *buf;
	size_t len;
	int i, fd = -1, k, rc = FE_EXIT_TROUBLE, opened = 0;
	uint64_t rows = 0, inbytes = 0;
	const char *name;
	char *stdin_only[] = { "-" };

	pt_err_clear(&e);
	if ((buf = fe_slurp(o->model, &len, &e)) == NULL)
		return fe_error(&e);
	sc = pt_scorer_load(buf, len, o->model, &e);
	free(buf);
	if (sc == NULL)
		return fe_error(&e);
	if (nin == 0) {
		nin = 1;
		in = stdin_only;
	}
	for (i = 0; i < nin; i++) {
		name = strcmp(in[i], "-") == 0 ? "<stdin>" : in[i];
		if ((fd = fe_open_in(in[i], &e)) < 0)
			goto fail;
		widen_pipe(fd);
		if ((r = pt_reader_open(fd, name, &e)) == NULL)
			goto fail;
		if (first == NULL) {
			first = pt_schema_clone(pt_reader_schema(r));
			if (first == NULL) {
				pt_fail(&e, PT_ENOMEM, "", "out of memory");
				goto fail;
			}
			if ((os = pt_scorer_bind(sc, first, o->kind, &e)) == NULL) {
				if (e.where[0] == '\0')
					snprintf(e.where, sizeof e.where,
					    "%.250s", name);
				goto fail;
			}
			if (fe_out_open(&out, o->output, 1, o->force, &e) < 0)
				goto fail;
			opened = 1;
			widen_pipe(out.fd);
			if ((w = pt_writer_open(out.fd, out.name, os,
			    o->level >= 0 ? o->level : fe_default_level(out.fd),
			    &e)) == NULL)
				goto fail;
		} else if (!pt_schema_equal(first, pt_reader_schema(r))) {
			pt_fail(&e, PT_EMISMATCH, name, "a schema other than "
			    "the first input's");
			goto fail;
		}
		while ((k = pt_reader_next(r, &b, &e)) == 1) {
			/* The reader's batch names its own schema; the scorer
			 * bound an equal clone. */
			pt_batch tmp = *b;

			tmp.schema = first;
			if (pt_scorer_run(sc, &tmp, o->backend, &ob, name, &e) < 0 ||
			    pt_writer_write(w, ob, &e) < 0)
				goto fail;
			rows += b->nrows;
			fe_progress(rows, inbytes + pt_reader_bytes(r));
		}
		if (k < 0)
			goto fail;
		inbytes += pt_reader_bytes(r);
		pt_reader_close(r);
		r = NULL;
		if (fd > 0)
			close(fd);
		fd = -1;
	}
	k = pt_writer_close(w, &e);
	w = NULL;
	if (k < 0 || fe_out_commit(&out, &e) < 0)
		goto fail;
	opened = 0;
	fe_progress_done(rows, inbytes);
	rc = FE_EXIT_OK;
	goto done;
fail:
	rc = fe_error(&e);
done:
	if (w)
		pt_writer_abort(w);
	if (opened)
		fe_out_abort(&out);
	if (r)
		pt_reader_close(r);
	if (fd > 0)
		close(fd);
	pt_schema_free(first);
	pt_scorer_free(sc);
	return rc;
}

/* ---- fitting ---- */

static int
write_text(const char *path, const char *buf, size_t len, pt_err *e)
{
	fe_out out;

	if (fe_out_open(&out, path, 0, 0, e) < 0)
		return -1;
	if (fe_write_all(out.fd, out.name, buf, len, e) < 0) {
		fe_out_abort(&out);
		return -1;
	}
	return fe_out_commit(&out, e);
}

static int
emit(const opts *o, pt_rfit *f, pt_err *e)
{
	pt_rmodel *m;
	char *buf;
	size_t len;
	int rc;

	if (o->partial) {
		if (pt_rfit_write(f, &buf, &len, e) < 0)
			return -1;
	} else {
		if ((m = pt_rfit_model(f, e)) == NULL)
			return -1;
		rc = pt_rmodel_write(m, &buf, &len, e);
		pt_rmodel_free(m);
		if (rc < 0)
			return -1;
	}
	rc = write_text(o->output, buf, len, e);
	free(buf);
	return rc;
}

static int
merge_main(opts *o, int nin, char **in)
{
	pt_err e;
	pt_rfit *acc = NULL, *f;
	char *buf;
	size_t len;
	int i;

	pt_err_clear(&e);
	if (nin == 0)
		return fe_usage_error("fit --merge: name the partial files");
	for (i = 0; i < nin; i++) {
		if ((buf = fe_slurp(in[i], &len, &e)) == NULL)
			goto fail;
		f = pt_rfit_parse(buf, len, in[i], &e);
		free(buf);
		if (f == NULL)
			goto fail;
		if (acc == NULL)
			acc = f;
		else {
			i = pt_rfit_merge(acc, f, in[i], &e) < 0 ? -1 - i : i;
			pt_rfit_free(f);
			if (i < 0)
				goto fail;
		}
	}
	if (emit(o, acc, &e) < 0)
		goto fail;
	pt_rfit_free(acc);
	return FE_EXIT_OK;
fail:
	pt_rfit_free(acc);
	return fe_error(&e);
}

/* The passes of the logistic propensity fit: every pass reads all the
 * files again and must see the rows of the first pass. */
static int
logistic_passes(pt_rfit *f, int nin, char **in, pt_err *e)
{
	pt_reader *r;
	const pt_batch *b;
	uint64_t rows;
	int i, k, fd, done;

	if (pt_rfit_logit_begin(f, e) < 0)
		return -1;
	do {
		rows = 0;
		for (i = 0; i < nin; i++) {
			if ((fd = fe_open_in(in[i], e)) < 0)
				return -1;
			if ((r = pt_reader_open(fd, in[i], e)) == NULL) {
				close(fd);
				return -1;
			}
			while ((k = pt_reader_next(r, &b, e)) == 1) {
				if (pt_rfit_logit_add(f, b, in[i], e) < 0)
					break;
				rows += b->nrows;
			}
			pt_reader_close(r);
			close(fd);
			if (k != 0)
				return -1;
		}
		if (rows != pt_rfit_rows(f))
			return pt_fail(e, PT_EMISMATCH, "", "the frames changed "
			    "between passes (%" PRIu64 " rows, then %" PRIu64 ")",
			    pt_rfit_rows(f), rows);
		if ((done = pt_rfit_logit_step(f, e)) < 0)
			return -1;
	} while (!done);
	return 0;
}

static int
fit_main(opts *o, int nin, char **in)
{
	pt_err e;
	pt_manifest *m = NULL;
	pt_rfit *f = NULL;
	pt_reader *r = NULL;
	const pt_batch *b;
	int i, k, fd = -1, rc;
	uint64_t inbytes = 0;
	const char *name;
	char *stdin_only[] = { "-" };

	if (o->merge)
		return merge_main(o, nin, in);
	pt_err_clear(&e);
	if (o->manifest == NULL)
		return fe_usage_error("fit: -m MANIFEST is required (or --merge)");
	if ((m = pt_manifest_read(o->manifest, &e)) == NULL)
		return fe_error(&e);
	if (o->given && (rc = list(o->given, "--propensity given", m->nvocab,
	    &o->spec.given)) != 0)
		goto out_rc;
	if (o->cost && (rc = list(o->cost, "--cost", m->nvocab,
	    &o->spec.cost)) != 0)
		goto out_rc;
	if (o->spec.prop == PT_PROP_LOGISTIC) {
		if (o->partial) {
			rc = fe_usage_error("--propensity logistic fits in passes "
			    "over the frames: it cannot be split into partials");
			goto out_rc;
		}
		for (i = 0; i < nin; i++)
			if (strcmp(in[i], "-") == 0)
				break;
		if (nin == 0 || i < nin) {
			rc = fe_usage_error("--propensity logistic reads the "
			    "frames once per pass: name files, not stdin");
			goto out_rc;
		}
	}
	if ((f = pt_rfit_new(m, &o->spec, &e)) == NULL)
		goto fail;
	if (nin == 0) {
		nin = 1;
		in = stdin_only;
	}
	for (i = 0; i < nin; i++) {
		name = strcmp(in[i], "-") == 0 ? "<stdin>" : in[i];
		if ((fd = fe_open_in(in[i], &e)) < 0)
			goto fail;
		if ((r = pt_reader_open(fd, name, &e)) == NULL)
			goto fail;
		while ((k = pt_reader_next(r, &b, &e)) == 1) {
			if (pt_rfit_add(f, b, name, &e) < 0)
				goto fail;
			fe_progress(pt_rfit_rows(f), inbytes + pt_reader_bytes(r));
		}
		if (k < 0)
			goto fail;
		inbytes += pt_reader_bytes(r);
		pt_reader_close(r);
		r = NULL;
		if (fd > 0)
			close(fd);
		fd = -1;
	}
	fe_progress_done(pt_rfit_rows(f), inbytes);
	if (o->spec.prop == PT_PROP_LOGISTIC && logistic_passes(f, nin, in,
	    &e) < 0)
		goto fail;
	if (emit(o, f, &e) < 0)
		goto fail;
	rc = FE_EXIT_OK;
	goto out_rc;
fail:
	rc = fe_error(&e);
out_rc:
	if (r)
		pt_reader_close(r);
	if (fd > 0)
		close(fd);
	pt_rfit_free(f);
	pt_manifest_free(m);
	return rc;
}

/* ---- generators ---- */

static int
forest_gen_main(opts *o)
{
	pt_err e;
	pt_forest *f;
	char *buf;
	size_t len;
	int rc;

	pt_err_clear(&e);
	f = pt_forest_generate((int)o->trees, (int)o->depth, (int)o->features,
	    (int)o->arms, o->seed, &e);
	if (f == NULL)
		return fe_error(&e);
	rc = pt_forest_write(f, &buf, &len, &e);
	pt_forest_free(f);
	if (rc < 0)
		return fe_error(&e);
	rc = write_text(o->output, buf, len, &e);
	free(buf);
	return rc < 0 ? fe_error(&e) : FE_EXIT_OK;
}

/* Row r of the benchmark data: every value a function of (seed, r, j), so
 * any split of the rows into --first/--rows ranges gives the same rows. */
static int
gen_data_main(opts *o)
{
	pt_err e;
	pt_schema *s;
	pt_batch *b = NULL;
	pt_writer *w = NULL;
	fe_out out;
	int j, opened = 0, rc;
	uint64_t r, end = o->first + o->rows, h;
	size_t n, fr;
	char name[32];
	uint64_t thresh = (uint64_t)(o->missing * 18446744073709551616.0);

	pt_err_clear(&e);
	if (o->missing >= 1)
		thresh = UINT64_MAX;
	if ((s = pt_schema_new("00000000000000000000000000000000")) == NULL)
		return fe_errorx("out of memory");
	if (pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, &e) < 0)
		goto fail;
	for (j = 0; j < o->features; j++) {
		snprintf(name, sizeof name, "x%d", j + 1);
		if (pt_schema_add(s, name, PT_F64, PT_ROLE_FEATURE, 0, NULL,
		    &e) < 0)
			goto fail;
	}
	fr = pt_frame_rows(s);
	if ((b = pt_batch_new(s, fr)) == NULL) {
		pt_fail(&e, PT_ENOMEM, "", "out of memory");
		goto fail;
	}
	if (fe_out_open(&out, o->output, 1, o->force, &e) < 0)
		goto fail;
	opened = 1;
	if ((w = pt_writer_open(out.fd, out.name, s, o->level >= 0 ? o->level :
	    fe_default_level(out.fd), &e)) == NULL)
		goto fail;
	for (r = o->first; r < end; r += n) {
		n = end - r < fr ? (size_t)(end - r) : fr;
		b->nrows = n;
		for (size_t i = 0; i < n; i++)
			PT_COL_U64(b, 0)[i] = pt_splitmix64((r + i) ^
			    (o->seed * UINT64_C(0x2545f4914f6cdd1d)));
		for (j = 0; j < o->features; j++) {
			double *x = PT_COL_F64(b, 1 + j);
			uint64_t base = o->seed * UINT64_C(0x9e3779b97f4a7c15) +
			    (uint64_t)j * UINT64_C(0xd1b54a32d192ed03);

			for (size_t i = 0; i < n; i++) {
				h = pt_splitmix64(base ^ ((r + i) << 8));
				x[i] = pt_splitmix64(h) < thresh ? NAN :
				    (double)(h >> 11) * 0x1p-53;
			}
		}
		if (pt_writer_write(w, b, &e) < 0)
			goto fail;
	}
	rc = pt_writer_close(w, &e);
	w = NULL;
	if (rc < 0 || fe_out_commit(&out, &e) < 0)
		goto fail;
	pt_batch_free(b);
	pt_schema_free(s);
	return FE_EXIT_OK;
fail:
	if (w)
		pt_writer_abort(w);
	if (opened)
		fe_out_abort(&out);
	pt_batch_free(b);
	pt_schema_free(s);
	return fe_error(&e);
}

int
main(int argc, char **argv)
{
	opts o;
	int c, verb = 0;
	double v;
	uint64_t u;

	fe_init(argv[0], "policy-score");
	memset(&o, 0, sizeof o);
	o.level = -1;
	o.spec.lambda = 1;
	o.spec.folds = 5;
	o.spec.floor = 0.01;
	o.spec.passes = 50;
	o.trees = 50;
	o.depth = 7;
	o.features = 32;
	o.arms = 4;
	o.rows = 1000000;
	o.missing = 0.1;
	if (argc > 1 && strcmp(argv[1], "fit") == 0)
		verb = 1;
	else if (argc > 1 && strcmp(argv[1], "forest-gen") == 0)
		verb = 2;
	else if (argc > 1 && strcmp(argv[1], "gen-data") == 0)
		verb = 3;
	if (verb) {
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "M:m:o:l:fh", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'M': o.model = optarg; break;
		case 'm': o.manifest = optarg; break;
		case 'o': o.output = optarg; break;
		case 'l':
			if (num(optarg, "--level", 0, 22, &v))
				return FE_EXIT_TROUBLE;
			o.level = (int)v;
			break;
		case 'f': o.force = 1; break;
		case 'h': fputs(usage_text, stdout); return FE_EXIT_OK;
		case O_VERSION: printf("policy-score %s\n", PT_VERSION);
			return FE_EXIT_OK;
		case O_PROGRESS: fe_progress_enable(1); break;
		case O_KIND:
			if (strcmp(optarg, "dr") == 0) o.kind = PT_SCORE_DR;
			else if (strcmp(optarg, "dm") == 0) o.kind = PT_SCORE_DM;
			else if (strcmp(optarg, "ipw") == 0) o.kind = PT_SCORE_IPW;
			else return fe_usage_error("--kind: '%s' is not dr, dm "
			    "or ipw", optarg);
			break;
		case O_BACKEND:
			if (strcmp(optarg, "vector") == 0)
				o.backend = PT_BACKEND_VECTOR;
			else if (strcmp(optarg, "row") == 0)
				o.backend = PT_BACKEND_ROW;
			else return fe_usage_error("--backend: '%s' is not "
			    "vector or row", optarg);
			break;
		case O_OUTCOME:
			if (strcmp(optarg, "binary") == 0) o.spec.binary = 1;
			else if (strcmp(optarg, "real") == 0) o.spec.binary = 0;
			else return fe_usage_error("--outcome: '%s' is not "
			    "real or binary", optarg);
			break;
		case O_LAMBDA:
			if (num(optarg, "--lambda", 0, 1e300, &o.spec.lambda))
				return FE_EXIT_TROUBLE;
			break;
		case O_FOLDS:
			if (num(optarg, "--folds", 1, 100, &v) || v != floor(v))
				return fe_usage_error("--folds: 1 to 100");
			o.spec.folds = (int)v;
			break;
		case O_FOLDSEED:
			if (u64(optarg, "--fold-seed", &o.spec.fold_seed))
				return FE_EXIT_TROUBLE;
			break;
		case O_PROP:
			if (strcmp(optarg, "constant") == 0)
				o.spec.prop = PT_PROP_CONSTANT;
			else if (strncmp(optarg, "given:", 6) == 0) {
				o.spec.prop = PT_PROP_GIVEN;
				o.given = optarg + 6;
			} else if (strncmp(optarg, "column:", 7) == 0 &&
			    optarg[7] && strlen(optarg + 7) <
			    sizeof o.spec.propcol) {
				o.spec.prop = PT_PROP_COLUMN;
				snprintf(o.spec.propcol, sizeof o.spec.propcol,
				    "%s", optarg + 7);
			} else if (strcmp(optarg, "logistic") == 0)
				o.spec.prop = PT_PROP_LOGISTIC;
			else
				return fe_usage_error("--propensity: '%s' is not "
				    "constant, given:P1,P2,..., column:NAME or "
				    "logistic", optarg);
			break;
		case O_PASSES:
			if (lng(optarg, "--propensity-passes", 1, 10000, &o.passes))
				return FE_EXIT_TROUBLE;
			o.spec.passes = (int)o.passes;
			break;
		case O_FLOOR:
			if (num(optarg, "--propensity-floor", 1e-300, 1,
			    &o.spec.floor))
				return FE_EXIT_TROUBLE;
			break;
		case O_COST: o.cost = optarg; break;
		case O_PARTIAL: o.partial = 1; break;
		case O_MAXMEM:
			if (fe_size_arg("--max-memory", optarg, &u) != 0)
				return FE_EXIT_TROUBLE;
			pt_rfit_set_limit(u);
			break;
		case O_MERGE: o.merge = 1; break;
		case O_TREES:
			if (lng(optarg, "--trees", 1, 100000, &o.trees))
				return FE_EXIT_TROUBLE;
			break;
		case O_DEPTH:
			if (lng(optarg, "--depth", 0, 20, &o.depth))
				return FE_EXIT_TROUBLE;
			break;
		case O_FEATURES:
			if (lng(optarg, "--features", 1, 100000, &o.features))
				return FE_EXIT_TROUBLE;
			break;
		case O_ARMS:
			if (lng(optarg, "--arms", 1, 10000, &o.arms))
				return FE_EXIT_TROUBLE;
			break;
		case O_SEED:
			if (u64(optarg, "--seed", &o.seed))
				return FE_EXIT_TROUBLE;
			break;
		case O_ROWS:
			if (u64(optarg, "--rows", &o.rows))
				return FE_EXIT_TROUBLE;
			break;
		case O_FIRST:
			if (u64(optarg, "--first", &u))
				return FE_EXIT_TROUBLE;
			o.first = u;
			break;
		case O_MISSING:
			if (num(optarg, "--missing", 0, 1, &o.missing))
				return FE_EXIT_TROUBLE;
			break;
		default:
			return fe_usage_error("unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	switch (verb) {
	case 1:
		c = fit_main(&o, argc, argv);
		break;
	case 2:
		if (argc)
			return fe_usage_error("forest-gen takes no files");
		c = forest_gen_main(&o);
		break;
	case 3:
		if (argc)
			return fe_usage_error("gen-data takes no files");
		c = gen_data_main(&o);
		break;
	default:
		if (o.model == NULL)
			return fe_usage_error("-M MODEL is required (or a verb: "
			    "fit, forest-gen, gen-data)");
		c = score_main(&o, argc, argv);
	}
	pt_rspec_free(&o.spec);
	return c;
}

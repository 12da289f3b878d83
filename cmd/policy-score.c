/*
 * policy-score: score frames with a forest or a reward model, fit reward
 * models (also as partials that merge exactly), and generate forests and
 * benchmark frames.  See policy-score(1) and policy-model(5).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"
#include "forest.h"
#include "frame.h"
#include "manifest.h"
#include "number.h"
#include "score.h"
#include "gendata.h"
#include "names.h"
#include "ofit.h"
#include "spool.h"
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

enum { V_SCORE, V_FIT, V_FORESTGEN, V_GENDATA };
#define SCORE (1u << V_SCORE)
#define FIT (1u << V_FIT)
#define FOREST (1u << V_FORESTGEN)
#define GEN (1u << V_GENDATA)

static const fe_verb verbs[] = {
	{ "", "-M MODEL [--kind dr|dm|ipw] [--backend vector|row] "
	  "[--columns COLS] [-o FILE] [FRAMES...]", 0, -1,
	  "frames -> frames with one f64 column score:LABEL per label, in "
	  "vocabulary order" },
	{ "fit", "-m MANIFEST [options] [--partial] [-o FILE] [FRAMES...]\n"
	  "--merge [--partial] [-o FILE] PARTIAL...", 0, -1,
	  "frames -> a reward model (per-arm ridge outcome models and "
	  "propensities), or its exact statistics (a partial)" },
	{ "forest-gen", "[--trees N] [--depth D] [--features F] [--arms A] "
	  "[--seed S] [-o FILE]", 0, 0,
	  "a random forest of complete trees (defaults: 50 trees, depth 7, "
	  "32 features, 4 arms), for benchmarks" },
	{ "gen-data", "[--rows N] [--features F] [--missing P] [--seed S] "
	  "[--first N] [-o FILE]", 0, 0,
	  "frames of _row and x1..xF uniform in [0, 1), a share P missing, "
	  "for benchmarks" },
};

enum {
	O_MODEL, O_KIND, O_BACKEND, O_MANIFEST, O_OUTCOME, O_LAMBDA, O_FOLDS,
	O_FOLDSEED, O_PROP, O_PASSES, O_FLOOR, O_COST, O_MAXMEM, O_PARTIAL,
	O_MERGE, O_TREES, O_DEPTH, O_FEATURES, O_ARMS, O_SEED, O_ROWS,
	O_MISSING, O_FIRST, O_OUTPUT, O_LEVEL, O_FORCE, O_EXPECT, O_PARTITION,
	O_LEARNER, O_MINLEAF, O_MTRY, O_SUBSAMPLE, O_STATE, O_COLUMNS
};

static const fe_opt opts[] = {
	{ O_MODEL, 'M', "model", FE_STR, "MODEL", SCORE, 0, 0, NULL,
	  "a reward model (policy-score fit), a forest or a policy tree" },
	{ O_KIND, 0, "kind", FE_WORD, "K", SCORE, 0, 0, "dr|dm|ipw",
	  "reward models and fitted outcome forests: doubly robust (dr, "
	  "default), direct (dm) or inverse propensity (ipw)" },
	{ O_BACKEND, 0, "backend", FE_WORD, "B", SCORE, 0, 0, "vector|row",
	  "vector (default) or row (the row-at-a-time reference); the same "
	  "bits" },
	{ O_COLUMNS, 0, "columns", FE_LIST, "COLS", SCORE, 0, 0, NULL,
	  "write only these input columns (and always _row, _part, the "
	  "treatment, the outcome and the scores): fewer bytes down the pipe" },
	{ O_MANIFEST, 'm', "manifest", FE_STR, "MANIFEST", FIT, 0, 0, NULL,
	  "the manifest the frames were made under" },
	{ O_OUTCOME, 0, "outcome", FE_WORD, "T", FIT, 0, 0, "real|binary",
	  "real (default) or binary (0/1; predictions clipped to [0, 1])" },
	{ O_LAMBDA, 0, "lambda", FE_NUM, "L", FIT, 0, 1e300, NULL,
	  "ridge penalty on the raw features (default 1)" },
	{ O_FOLDS, 0, "folds", FE_INT, "K", FIT, 1, 100, NULL,
	  "cross-fitting folds by row hash (default 5; 1 = none; --learner "
	  "forest: default 1, tree k grown without fold k mod K)" },
	{ O_FOLDSEED, 0, "fold-seed", FE_U64, "S", FIT, 0, 0, NULL,
	  "seed of the fold hash (default 0)" },
	{ O_PROP, 0, "propensity", FE_STR, "P", FIT, 0, 0, NULL,
	  "constant (default: arm shares), given:P1,P2,... (one per label), "
	  "column:NAME, or logistic (multinomial, fitted in passes over the "
	  "named files: not stdin, not --partial)" },
	{ O_PASSES, 0, "propensity-passes", FE_INT, "N", FIT, 1, 10000, NULL,
	  "logistic: at most N passes (default 50)" },
	{ O_FLOOR, 0, "propensity-floor", FE_NUM, "F", FIT, 1e-300, 1, NULL,
	  "clip propensities below at F (default 0.01)" },
	{ O_COST, 0, "cost", FE_LIST, "COSTS", FIT, 0, 0, NULL,
	  "a cost per label, subtracted from its score" },
	{ O_MAXMEM, 0, "max-memory", FE_SIZE, "SIZE", FIT, 0, 0, NULL,
	  "refuse, before reading, a fit whose exact statistics would take "
	  "more than SIZE bytes (default 4G; 0 = no limit)" },
	{ O_PARTIAL, 0, "partial", FE_FLAG, NULL, FIT, 0, 0, NULL,
	  "write the exact statistics (a partial), not a model" },
	{ O_MERGE, 0, "merge", FE_FLAG, NULL, FIT, 0, 0, NULL,
	  "the operands are partials: add them (in any order) and write the "
	  "model (with --partial, the merged partial); all or nothing: a "
	  "partition given twice is refused" },
	{ O_EXPECT, 0, "expect", FE_INT, "N", FIT, 1, 1000000, NULL,
	  "--merge: fail unless the partials are all N parts of a split "
	  "(or, named by their rows, at least N partitions)" },
	{ O_PARTITION, 0, "partition", FE_STR, "ID", FIT, 0, 0, NULL,
	  "--partial: name the partition (1 to 63 printable bytes; default: "
	  "its part of a split, or a hash of its rows)" },
	{ O_LEARNER, 0, "learner", FE_WORD, "L", FIT, 0, 0, "ridge|forest",
	  "the outcome model: ridge (default) or forest (per-arm leaf means, "
	  "grown from exact histograms; written as a forest)" },
	{ O_STATE, 0, "state", FE_STR, "FILE", FIT, 0, 0, NULL,
	  "--learner forest with --partial or --merge: the forest grown so "
	  "far (what the last --merge wrote)" },
	{ O_TREES, 0, "trees", FE_INT, "N", FOREST | FIT, 1, 100000, NULL,
	  "trees (default 50)" },
	{ O_DEPTH, 0, "depth", FE_INT, "D", FOREST | FIT, 0, 20, NULL,
	  "depth of every tree (default 7; --learner forest: at most 12)" },
	{ O_MINLEAF, 0, "min-leaf", FE_U64, "N", FIT, 1, 0, NULL,
	  "--learner forest: rows of a tree's sample on each side of a "
	  "split, at least (default 5)" },
	{ O_MTRY, 0, "mtry", FE_INT, "K", FIT, 1, 1000000, NULL,
	  "--learner forest: features tried per node (default: "
	  "min(F, ceil(sqrt F) + 20))" },
	{ O_SUBSAMPLE, 0, "subsample", FE_NUM, "S", FIT, 1e-9, 1, NULL,
	  "--learner forest: the share of rows each tree sees, chosen by a "
	  "hash of the row's identity and the tree (default 0.5)" },
	{ O_FEATURES, 0, "features", FE_INT, "F", FOREST | GEN, 1, 100000, NULL,
	  "features x1..xF (default 32)" },
	{ O_ARMS, 0, "arms", FE_INT, "A", FOREST, 1, 10000, NULL,
	  "arms: values per leaf (default 4)" },
	{ O_SEED, 0, "seed", FE_U64, "S", FOREST | GEN | FIT, 0, 0, NULL,
	  "the generator's seed; --learner forest: the forest's (default 0)" },
	{ O_ROWS, 0, "rows", FE_U64, "N", GEN, 0, 0, NULL,
	  "rows (default 1000000)" },
	{ O_MISSING, 0, "missing", FE_NUM, "P", GEN, 0, 1, NULL,
	  "the share of missing values (default 0.1)" },
	{ O_FIRST, 0, "first", FE_U64, "N", GEN, 0, 0, NULL,
	  "the number of the first row (default 0): ranges of one seed make "
	  "partitions of one data set" },
	{ O_OUTPUT, 'o', "output", FE_STR, "FILE", FE_ALL_VERBS, 0, 0, NULL,
	  "write FILE (atomically) instead of stdout" },
	{ O_LEVEL, 'l', "level", FE_INT, "N", SCORE | GEN, 0, 19, NULL,
	  "zstd level of frames (0 = none; default: 0 on pipes, on files "
	  "level 1 where a column shrinks 32 times: policy-frames(5))" },
	{ O_FORCE, 'f', "force", FE_FLAG, NULL, SCORE | GEN, 0, 0, NULL,
	  "write frames to a terminal anyway" },
};

static const fe_cli cli = {
	"policy-score", verbs, sizeof verbs / sizeof verbs[0], V_SCORE,
	opts, sizeof opts / sizeof opts[0],
	"exit status: 0 success, 2 usage or input trouble\n"
};

static int
level_opt(const fe_args *a)
{
	return fe_flag(a, O_LEVEL) ? (int)fe_u64(a, O_LEVEL, 0) : -1;
}

/* ---- scoring ---- */

/*
 * --columns: the output schema keeps the named input columns, in input
 * order, and always the row identity (_row), the partition (_part), the
 * treatment and the outcome, which policy-split (hist, fit, eval) and
 * policy-verify read whatever the features, and the scores.  keep[j] is the output column j's index in the scorer's
 * output (input columns, then scores).
 */
static pt_schema *
project(const fe_args *a, const pt_schema *os, int nin, int *keep,
    int *nkeep, pt_err *e)
{
	const fe_val *v = &a->v[O_COLUMNS];
	pt_schema *ps;
	char *want;
	int i, j, n = 0;

	if ((want = calloc((size_t)nin + 1, 1)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (i = 0; i < v->nlist; i++) {
		j = pt_schema_find(os, v->list[i]);
		if (j < 0 || j >= nin) {
			pt_fail(e, PT_EUSAGE, "--columns", "no input column "
			    "'%.200s'%s", v->list[i], j >= nin ? " (score "
			    "columns are always written)" : "");
			free(want);
			return NULL;
		}
		want[j] = 1;
	}
	if ((ps = pt_schema_new(os->manifest)) == NULL) {
		free(want);
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (j = 0; j < os->ncols; j++) {
		const pt_colspec *c = &os->cols[j];
		if (j < nin && !want[j] && c->role != PT_ROLE_ROW &&
		    c->role != PT_ROLE_PART && c->role != PT_ROLE_TREATMENT &&
		    c->role != PT_ROLE_OUTCOME && c->role != PT_ROLE_WEIGHT)
			continue;
		if (pt_schema_add(ps, c->name, c->type, c->role, c->nlevels,
		    c->levels, e) < 0) {
			free(want);
			pt_schema_free(ps);
			return NULL;
		}
		keep[n++] = j;
	}
	free(want);
	*nkeep = n;
	return ps;
}

static int
score_main(const fe_args *a)
{
	static const pt_skind kinds[] = { PT_SCORE_DR, PT_SCORE_DM,
		PT_SCORE_IPW };
	pt_err e;
	pt_scorer *sc = NULL;
	pt_writer *w = NULL;
	const pt_schema *os = NULL, *is;
	pt_schema *ps = NULL;
	const pt_batch *b, *ob;
	pt_batch pb = { 0 };
	int *keep = NULL, nkeep = 0;
	fe_out out = { .fd = -1 };
	fe_in in;
	char *buf;
	size_t len;
	int k, rc = FE_EXIT_TROUBLE;
	pt_backend backend = fe_word(a, O_BACKEND, 0) == 1 ? PT_BACKEND_ROW :
	    PT_BACKEND_VECTOR;

	pt_err_clear(&e);
	if (!fe_flag(a, O_MODEL))
		return fe_usage_error("-M MODEL is required (or a verb: fit, "
		    "forest-gen, gen-data)");
	if ((buf = fe_slurp(fe_str(a, O_MODEL, NULL), &len, &e)) == NULL)
		return fe_error(&e);
	sc = pt_scorer_load(buf, len, fe_str(a, O_MODEL, NULL), &e);
	free(buf);
	if (sc == NULL)
		return fe_error(&e);
	if (fe_flag(a, O_KIND) && !pt_scorer_has_kinds(sc)) {
		pt_scorer_free(sc);
		return fe_usage_error("--kind: %s is a forest without "
		    "propensities; it scores its own values (fit --learner "
		    "forest writes forests that score dr, dm and ipw)",
		    fe_str(a, O_MODEL, NULL));
	}
	fe_in_init(&in, a->argc, a->argv);
	in.widen = 1;
	in.ahead = 1;
	if ((is = fe_in_schema(&in, &e)) == NULL)
		goto fail;
	if ((os = pt_scorer_bind(sc, is, kinds[fe_word(a, O_KIND, 0)],
	    &e)) == NULL) {
		if (e.where[0] == '\0')
			snprintf(e.where, sizeof e.where, "%.250s", in.name);
		goto fail;
	}
	if (fe_flag(a, O_COLUMNS)) {
		if ((keep = calloc((size_t)os->ncols + 1, sizeof *keep)) ==
		    NULL || (pb.col = calloc((size_t)os->ncols + 1,
		    sizeof *pb.col)) == NULL) {
			pt_fail(&e, PT_ENOMEM, "", "out of memory");
			goto fail;
		}
		if ((ps = project(a, os, is->ncols, keep, &nkeep, &e)) == NULL)
			goto fail;
		os = ps;
		pb.schema = ps;
	}
	if (fe_out_open(&out, fe_str(a, O_OUTPUT, NULL), 1, fe_flag(a, O_FORCE),
	    &e) < 0)
		goto fail;
	fe_widen_pipe(out.fd);
	if ((w = pt_writer_open(out.fd, out.name, os, fe_frame_level(out.fd,
	    level_opt(a)), &e)) == NULL)
		goto fail;
	while ((k = fe_in_next(&in, &b, &e)) == 1) {
		/* The reader's batch names its own schema; the scorer bound the
		 * first input's, which equals it. */
		pt_batch tmp = *b;
		tmp.schema = is;
		if (pt_scorer_run(sc, &tmp, backend, &ob, in.name, &e) < 0)
			goto fail;
		if (ps != NULL) {
			/* The kept columns, not copied. */
			for (int j = 0; j < nkeep; j++)
				pb.col[j] = ob->col[keep[j]];
			pb.nrows = pb.cap = ob->nrows;
			ob = &pb;
		}
		if (pt_writer_write(w, ob, &e) < 0)
			goto fail;
	}
	if (k < 0)
		goto fail;
	k = pt_writer_close(w, &e);
	w = NULL;
	if (k < 0 || fe_out_commit(&out, &e) < 0)
		goto fail;
	fe_progress_done(in.rows, in.done_bytes);
	rc = FE_EXIT_OK;
	goto done;
fail:
	rc = fe_error(&e);
done:
	if (w)
		pt_writer_abort(w);
	fe_out_abort(&out);
	fe_in_close(&in);
	pt_scorer_free(sc);
	pt_schema_free(ps);
	free(keep);
	free(pb.col);
	return rc;
}

/* ---- fitting ---- */

/* The items of a list option as n numbers (one per label); 0 or 2. */
static int
num_list(const fe_args *a, int id, int n, double **out)
{
	const fe_val *v = &a->v[id];
	const char *items = v->s;
	double *d;

	if (v->nlist != n)
		return fe_usage_error("%s: %d numbers for %d labels ('%s')",
		    fe_opt_label(a->cli, id), v->nlist, n, items);
	if ((d = calloc((size_t)n + 1, sizeof *d)) == NULL)
		return fe_errorx("out of memory");
	for (int i = 0; i < n; i++)
		if (pt_parse_f64(v->list[i], strlen(v->list[i]), &d[i]) != 0) {
			free(d);
			return fe_usage_error("%s: '%s' is not a number",
			    fe_opt_label(a->cli, id), v->list[i]);
		}
	*out = d;
	return 0;
}

static int
emit(const fe_args *a, pt_rfit *f, pt_err *e)
{
	pt_rmodel *m;
	char *buf;
	size_t len;
	int rc;

	if (fe_flag(a, O_PARTIAL)) {
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
	rc = fe_write_file(fe_str(a, O_OUTPUT, NULL), buf, len, 0, 0, e);
	free(buf);
	return rc;
}

static int
merge_main(const fe_args *a)
{
	pt_err e;
	pt_rfit *acc = NULL, *f;
	char *buf;
	size_t len;

	pt_err_clear(&e);
	if (a->argc == 0)
		return fe_usage_error("fit --merge: name the partial files");
	for (int i = 0; i < a->argc; i++) {
		const char *name = fe_in_name(a->argv[i]);
		if ((buf = fe_slurp(a->argv[i], &len, &e)) == NULL)
			goto fail;
		f = pt_rfit_parse(buf, len, name, &e);
		free(buf);
		if (f == NULL)
			goto fail;
		if (acc == NULL) {
			acc = f;
		} else {
			int r = pt_rfit_merge(acc, f, name, &e);
			pt_rfit_free(f);
			if (r < 0)
				goto fail;
		}
	}
	if ((fe_flag(a, O_EXPECT) && pt_rfit_expect(acc, (int)fe_u64(a,
	    O_EXPECT, 0), &e) < 0) || emit(a, acc, &e) < 0)
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
logistic_passes(pt_rfit *f, fe_in *in, pt_err *e)
{
	const pt_batch *b;
	int k, done;

	if (pt_rfit_logit_begin(f, e) < 0)
		return -1;
	do {
		if (fe_in_rewind(in, e) < 0)
			return -1;
		while ((k = fe_in_next(in, &b, e)) == 1)
			if (pt_rfit_logit_add(f, b, in->name, e) < 0)
				return -1;
		if (k < 0)
			return -1;
		if (in->rows != pt_rfit_rows(f))
			return pt_fail(e, PT_EMISMATCH, "", "the frames changed "
			    "between passes (%" PRIu64 " rows, then %" PRIu64 ")",
			    pt_rfit_rows(f), in->rows);
		if ((done = pt_rfit_logit_step(f, e)) < 0)
			return -1;
	} while (!done);
	return 0;
}

/* --propensity P into spec; 0 or 2 (message printed). */
static int
propensity(const fe_args *a, const char *p, int nvocab, pt_rspec *spec)
{
	if (strcmp(p, "constant") == 0) {
		spec->prop = PT_PROP_CONSTANT;
	} else if (strcmp(p, "logistic") == 0) {
		spec->prop = PT_PROP_LOGISTIC;
	} else if (strncmp(p, "column:", 7) == 0 && p[7] != '\0') {
		spec->prop = PT_PROP_COLUMN;
		if ((spec->propcol = pt_strdup(p + 7)) == NULL)
			return fe_errorx("out of memory");
	} else if (strncmp(p, "given:", 6) == 0) {
		fe_val v = a->v[O_PROP];
		fe_args b = *a;
		pt_err e;
		int rc;
		pt_err_clear(&e);
		spec->prop = PT_PROP_GIVEN;
		/* The probabilities are a list like --cost's. */
		v.s = p + 6;
		pt_names l;
		if (pt_names_split(&l, v.s, &e) != 0) {
			pt_names_free(&l);
			return fe_usage_error("--propensity: %s", e.msg);
		}
		v.list = l.v;
		v.nlist = l.n;
		b.v[O_PROP] = v;
		rc = num_list(&b, O_PROP, nvocab, &spec->given);
		pt_strs_free(v.list, v.nlist);
		return rc;
	} else {
		return fe_usage_error("--propensity: '%s' is not constant, "
		    "given:P1,P2,..., column:NAME or logistic", p);
	}
	return 0;
}

/* Writes the forest of a complete fit f (with the --propensity-floor and
 * --cost of this step), or its state to grow on. */
static int
forest_emit(const fe_args *a, const pt_ofit *f, const double *cost,
    pt_err *e)
{
	pt_forest *fo = NULL;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (pt_ofit_done(f)) {
		if ((fo = pt_ofit_forest(f, fe_num(a, O_FLOOR, 0.01), cost,
		    e)) == NULL ||
		    pt_forest_write(fo, &buf, &len, e) < 0)
			goto out;
	} else if (pt_ofit_write(f, &buf, &len, e) < 0)
		goto out;
	rc = fe_write_file(fe_str(a, O_OUTPUT, NULL), buf, len, 0, 0, e);
out:
	free(buf);
	pt_forest_free(fo);
	return rc;
}

/* fit --learner forest --merge: the partials of one level, merged all or
 * nothing, grow the state one level. */
static int
forest_merge(const fe_args *a, const pt_manifest *m, pt_ofit *f,
    const double *cost, pt_err *e)
{
	pt_ofpart *acc = NULL, *p;
	char *buf;
	size_t len;
	int rc = -1, own = f == NULL;

	if (a->argc == 0) {
		pt_fail(e, PT_EUSAGE, "", "fit --merge: name the partial files");
		return -1;
	}
	for (int i = 0; i < a->argc; i++) {
		const char *name = fe_in_name(a->argv[i]);
		if ((buf = fe_slurp(a->argv[i], &len, e)) == NULL)
			goto out;
		p = pt_ofpart_read(buf, len, name, e);
		free(buf);
		if (p == NULL)
			goto out;
		if (acc == NULL)
			acc = p;
		else {
			int r = pt_ofpart_merge(acc, p, name, e);
			pt_ofpart_free(p);
			if (r < 0)
				goto out;
		}
	}
	if (fe_flag(a, O_EXPECT) && pt_ofpart_expect(acc, (int)fe_u64(a,
	    O_EXPECT, 0), e) < 0)
		goto out;
	if (f == NULL && (f = pt_ofpart_fit(acc, m, e)) == NULL)
		goto out;
	if (pt_ofit_grow_merged(f, acc, e) < 0 ||
	    forest_emit(a, f, cost, e) < 0)
		goto out;
	rc = 0;
out:
	pt_ofpart_free(acc);
	if (own)
		pt_ofit_free(f);
	return rc;
}

/* One pass over the frames of in: the partials of f's next level. */
static pt_oflevel *
forest_pass(fe_in *in, pt_ofit *f, pt_err *e)
{
	pt_oflevel *l = pt_oflevel_new(f, e);
	const pt_schema *s;
	const pt_batch *b;
	int k;

	if (l == NULL)
		return NULL;
	if ((s = fe_in_schema(in, e)) == NULL || pt_oflevel_bind(l, s, e) < 0) {
		pt_oflevel_free(l);
		return NULL;
	}
	while ((k = fe_in_next(in, &b, e)) == 1)
		if (pt_oflevel_add(l, b, e) < 0)
			break;
	if (k != 0) {
		pt_oflevel_free(l);
		return NULL;
	}
	return l;
}

/* --learner forest: the outcome forest grown in one process (one pass
 * over the frames per level; what cannot be read again is spooled), or
 * one level's partial of a partition (--partial), or the merge of one
 * level's partials (--merge). */
static int
forest_fit_main(const fe_args *a)
{
	static const int ridge_only[] = { O_LAMBDA, O_PROP, O_PASSES,
		O_OUTCOME };
	static const int spec_opts[] = { O_TREES, O_DEPTH, O_MINLEAF, O_MTRY,
		O_SUBSAMPLE, O_SEED, O_FOLDS, O_FOLDSEED };
	pt_err e;
	pt_manifest *m = NULL;
	pt_ofit *f = NULL;
	pt_oflevel *l = NULL;
	pt_ofspec spec;
	fe_in in;
	char spooled[64], *one[1], *buf = NULL;
	double *cost = NULL;
	size_t len;
	int fd = -1, rc, passes = 0;
	uint64_t lim = fe_u64(a, O_MAXMEM, (uint64_t)4 << 30);

	pt_err_clear(&e);
	fe_in_init(&in, 0, NULL);
#ifdef __GLIBC__
	/* Every level allocates and frees the trees' partials, hundreds of
	 * megabytes: kept in the heap they are reused, instead of mapped
	 * afresh and faulted in page by page each time (measured: system time
	 * 6.4 s of an 11 s fit). */
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, -1);
#endif
	for (size_t i = 0; i < sizeof ridge_only / sizeof ridge_only[0]; i++)
		if (fe_flag(a, ridge_only[i]))
			return fe_usage_error("%s goes with --learner ridge",
			    fe_opt_label(a->cli, ridge_only[i]));
	if (fe_flag(a, O_STATE))
		for (size_t i = 0; i < sizeof spec_opts / sizeof spec_opts[0];
		    i++)
			if (fe_flag(a, spec_opts[i]))
				return fe_usage_error("%s: the state holds the "
				    "forest's settings", fe_opt_label(a->cli,
				    spec_opts[i]));
	if (fe_flag(a, O_STATE) && !fe_flag(a, O_PARTIAL) &&
	    !fe_flag(a, O_MERGE))
		return fe_usage_error("--state goes with --partial or --merge");
	if (fe_flag(a, O_EXPECT) && !fe_flag(a, O_MERGE))
		return fe_usage_error("--expect goes with --merge");
	if (fe_flag(a, O_PARTITION) && !fe_flag(a, O_PARTIAL))
		return fe_usage_error("--partition names a --partial");
	if (fe_flag(a, O_PARTIAL) && fe_flag(a, O_MERGE))
		return fe_usage_error("--learner forest: --merge grows the "
		    "merged partials; it writes no partial");
	if (!fe_flag(a, O_MANIFEST))
		return fe_usage_error("fit: -m MANIFEST is required");
	memset(&spec, 0, sizeof spec);
	spec.trees = (int)fe_u64(a, O_TREES, 50);
	spec.depth = (int)fe_u64(a, O_DEPTH, 7);
	spec.min_leaf = fe_u64(a, O_MINLEAF, 5);
	spec.mtry = (int)fe_u64(a, O_MTRY, 0);
	spec.subsample = fe_num(a, O_SUBSAMPLE, 0.5);
	spec.seed = fe_u64(a, O_SEED, 0);
	spec.folds = (int)fe_u64(a, O_FOLDS, 1);
	spec.fold_seed = fe_u64(a, O_FOLDSEED, 0);
	if (spec.folds > spec.trees)
		return fe_usage_error("--folds %d needs --trees %d at least: a "
		    "row is scored by the trees grown without its fold",
		    spec.folds, spec.folds);
	if (spec.depth < 1 || spec.depth > PT_OFIT_MAXDEPTH)
		return fe_usage_error("--depth: 1 to %d with --learner forest",
		    PT_OFIT_MAXDEPTH);
	if ((m = pt_manifest_read(fe_str(a, O_MANIFEST, NULL), &e)) == NULL)
		return fe_error(&e);
	if (fe_flag(a, O_COST) && (rc = num_list(a, O_COST, m->nvocab,
	    &cost)) != 0)
		goto out_rc;
	if (fe_flag(a, O_STATE)) {
		const char *path = fe_str(a, O_STATE, NULL);
		if ((buf = fe_slurp(path, &len, &e)) == NULL)
			goto fail;
		f = pt_ofit_read(buf, len, fe_in_name(path), m, &e);
		free(buf);
		buf = NULL;
		if (f == NULL)
			goto fail;
		if (pt_ofit_done(f)) {
			pt_fail(&e, PT_EUSAGE, fe_in_name(path), "the forest is "
			    "complete: nothing to grow");
			goto fail;
		}
	}
	if (fe_flag(a, O_MERGE)) {
		rc = forest_merge(a, m, f, cost, &e) < 0 ? fe_error(&e) :
		    FE_EXIT_OK;
		goto out_rc;
	}
	if (f == NULL && (f = pt_ofit_new(m, &spec, &e)) == NULL)
		goto fail;
	if (fe_flag(a, O_PARTIAL) || fe_in_rereadable(a->argc, a->argv)) {
		fe_in_init(&in, a->argc, a->argv);
	} else if (a->argc > 1) {
		rc = fe_usage_error("fit --learner forest reads stdin or "
		    "regular files");
		goto out_rc;
	} else {
		const char *path = a->argc ? a->argv[0] : "-";
		int src = fe_open_in(path, &e);
		if (src < 0)
			goto fail;
		fd = pt_spool(src, fe_in_name(path), &e);
		if (src > 0)
			close(src);
		if (fd < 0)
			goto fail;
		snprintf(spooled, sizeof spooled, "/dev/fd/%d", fd);
		one[0] = spooled;
		fe_in_init(&in, 1, one);
	}
	/* A level whose partials exceed --max-memory is grown in batches of
	 * open nodes, a pass over the frames each (one process only: a
	 * level's partial holds every node). */
	do {
		double need = pt_ofit_level_bytes(f), nb = pt_ofit_node_bytes(f);
		int lv = pt_ofit_level(f), batched = lim > 0 && need > (double)lim;
		if (batched && fe_flag(a, O_PARTIAL)) {
			pt_fail(&e, PT_ELIMIT, "", "--learner forest: level %d "
			    "needs about %.0f MB of exact sums, more than "
			    "--max-memory (%.0f MB); a partial holds every tree",
			    lv + 1, need / 1e6, (double)lim / 1e6);
			goto fail;
		}
		if (batched && nb > (double)lim) {
			pt_fail(&e, PT_ELIMIT, "", "--learner forest: one node "
			    "needs about %.0f MB of exact sums, more than "
			    "--max-memory (%.0f MB)", nb / 1e6, (double)lim / 1e6);
			goto fail;
		}
		do {
			if (batched)
				pt_ofit_batch(f, (uint64_t)((double)lim / nb));
			if (passes++ > 0 && fe_in_rewind(&in, &e) < 0)
				goto fail;
			pt_oflevel_free(l);
			if ((l = forest_pass(&in, f, &e)) == NULL)
				goto fail;
			if (fe_flag(a, O_PARTIAL)) {
				if (pt_oflevel_partial(l, fe_str(a, O_PARTITION,
				    NULL), &buf, &len, &e) < 0 ||
				    fe_write_file(fe_str(a, O_OUTPUT, NULL), buf,
				    len, 1, 0, &e) < 0)
					goto fail;
				rc = FE_EXIT_OK;
				goto out_rc;
			}
			if (pt_ofit_grow(f, l, &e) < 0)
				goto fail;
		} while (batched && pt_ofit_level_bytes(f) > 0);
		if (batched) {
			pt_ofit_next_level(f);
			fe_warnx("note: level %d's exact sums (about %.0f MB) "
			    "exceed --max-memory: grown in batches of nodes, a "
			    "pass over the frames each", lv + 1, need / 1e6);
		}
		fe_progress_step("level", (uint64_t)pt_ofit_level(f),
		    (uint64_t)spec.depth);
	} while (!pt_ofit_done(f));
	rc = forest_emit(a, f, cost, &e) < 0 ? fe_error(&e) : FE_EXIT_OK;
	goto out_rc;
fail:
	if (e.where[0] == '\0' && in.name != NULL)
		snprintf(e.where, sizeof e.where, "%s", in.name);
	rc = fe_error(&e);
out_rc:
	free(buf);
	free(cost);
	pt_oflevel_free(l);
	pt_ofit_free(f);
	fe_in_close(&in);
	if (fd >= 0)
		close(fd);
	pt_manifest_free(m);
	return rc;
}

static int
fit_main(const fe_args *a)
{
	pt_err e;
	pt_manifest *m = NULL;
	pt_rfit *f = NULL;
	pt_rspec spec;
	fe_in in;
	const pt_batch *b;
	const pt_schema *is;
	int k, rc;

	if (fe_word(a, O_LEARNER, 0) == 1)
		return forest_fit_main(a);
	if (fe_flag(a, O_MINLEAF) || fe_flag(a, O_MTRY) ||
	    fe_flag(a, O_SUBSAMPLE) || fe_flag(a, O_TREES) ||
	    fe_flag(a, O_DEPTH) || fe_flag(a, O_SEED) || fe_flag(a, O_STATE))
		return fe_usage_error("--trees, --depth, --min-leaf, --mtry, "
		    "--subsample, --seed and --state go with --learner forest");
	if (fe_flag(a, O_MAXMEM))
		pt_rfit_set_limit(fe_u64(a, O_MAXMEM, 0));
	if (fe_flag(a, O_MERGE))
		return merge_main(a);
	if (fe_flag(a, O_EXPECT))
		return fe_usage_error("--expect goes with --merge");
	if (fe_flag(a, O_PARTITION) && !fe_flag(a, O_PARTIAL))
		return fe_usage_error("--partition names a --partial");
	pt_err_clear(&e);
	memset(&spec, 0, sizeof spec);
	spec.binary = fe_word(a, O_OUTCOME, 0) == 1;
	spec.lambda = fe_num(a, O_LAMBDA, 1);
	spec.folds = (int)fe_u64(a, O_FOLDS, 5);
	spec.fold_seed = fe_u64(a, O_FOLDSEED, 0);
	spec.floor = fe_num(a, O_FLOOR, 0.01);
	spec.passes = (int)fe_u64(a, O_PASSES, 50);
	if (!fe_flag(a, O_MANIFEST))
		return fe_usage_error("fit: -m MANIFEST is required (or --merge)");
	fe_in_init(&in, a->argc, a->argv);
	if ((m = pt_manifest_read(fe_str(a, O_MANIFEST, NULL), &e)) == NULL)
		return fe_error(&e);
	if ((fe_flag(a, O_PROP) && (rc = propensity(a, fe_str(a, O_PROP, NULL),
	    m->nvocab, &spec)) != 0) ||
	    (fe_flag(a, O_COST) && (rc = num_list(a, O_COST, m->nvocab,
	    &spec.cost)) != 0))
		goto out_rc;
	if (spec.prop == PT_PROP_LOGISTIC) {
		if (fe_flag(a, O_PARTIAL)) {
			rc = fe_usage_error("--propensity logistic fits in passes "
			    "over the frames: it cannot be split into partials");
			goto out_rc;
		}
		if (!fe_in_rereadable(a->argc, a->argv)) {
			rc = fe_usage_error("--propensity logistic reads the "
			    "frames once per pass: name files, not stdin");
			goto out_rc;
		}
	}
	if ((f = pt_rfit_new(m, &spec, &e)) == NULL)
		goto fail;
	/* The stream's schema first: frames of no rows are checked too. */
	if ((is = fe_in_schema(&in, &e)) == NULL ||
	    pt_rfit_bind(f, is, in.name, &e) < 0)
		goto fail;
	while ((k = fe_in_next(&in, &b, &e)) == 1)
		if (pt_rfit_add(f, b, in.name, &e) < 0)
			goto fail;
	if (k < 0)
		goto fail;
	fe_progress_done(in.rows, in.done_bytes);
	if (fe_flag(a, O_PARTITION) && pt_rfit_set_part(f, fe_str(a,
	    O_PARTITION, NULL), &e) < 0)
		goto fail;
	if (spec.prop == PT_PROP_LOGISTIC && logistic_passes(f, &in, &e) < 0)
		goto fail;
	if (emit(a, f, &e) < 0)
		goto fail;
	rc = FE_EXIT_OK;
	goto out_rc;
fail:
	rc = fe_error(&e);
out_rc:
	fe_in_close(&in);
	pt_rfit_free(f);
	pt_rspec_free(&spec);
	pt_manifest_free(m);
	return rc;
}

/* ---- generators ---- */

static int
forest_gen_main(const fe_args *a)
{
	pt_err e;
	pt_forest *f;
	char *buf;
	size_t len;
	int rc;

	pt_err_clear(&e);
	f = pt_forest_generate((int)fe_u64(a, O_TREES, 50),
	    (int)fe_u64(a, O_DEPTH, 7), (int)fe_u64(a, O_FEATURES, 32),
	    (int)fe_u64(a, O_ARMS, 4), fe_u64(a, O_SEED, 0), &e);
	if (f == NULL)
		return fe_error(&e);
	rc = pt_forest_write(f, &buf, &len, &e);
	pt_forest_free(f);
	if (rc < 0)
		return fe_error(&e);
	rc = fe_write_file(fe_str(a, O_OUTPUT, NULL), buf, len, 0, 0, &e);
	free(buf);
	return rc < 0 ? fe_error(&e) : FE_EXIT_OK;
}

static int
gen_data_main(const fe_args *a)
{
	pt_err e;
	pt_gendata g;
	pt_schema *s;
	pt_batch *b = NULL;
	pt_writer *w = NULL;
	fe_out out = { .fd = -1 };
	uint64_t r, end;
	size_t fr;

	pt_err_clear(&e);
	g.features = (int)fe_u64(a, O_FEATURES, 32);
	g.missing = fe_num(a, O_MISSING, 0.1);
	g.seed = fe_u64(a, O_SEED, 0);
	r = fe_u64(a, O_FIRST, 0);
	end = r + fe_u64(a, O_ROWS, 1000000);
	if (end < r)
		return fe_usage_error("--first plus --rows is past 2^64");
	if ((s = pt_gendata_schema(&g, &e)) == NULL)
		return fe_error(&e);
	fr = pt_frame_rows(s);
	if ((b = pt_batch_new(s, fr)) == NULL) {
		pt_fail(&e, PT_ENOMEM, "", "out of memory");
		goto fail;
	}
	if (fe_out_open(&out, fe_str(a, O_OUTPUT, NULL), 1, fe_flag(a, O_FORCE),
	    &e) < 0)
		goto fail;
	if ((w = pt_writer_open(out.fd, out.name, s, fe_frame_level(out.fd,
	    level_opt(a)), &e)) == NULL)
		goto fail;
	for (; r < end; r += b->nrows) {
		pt_gendata_fill(&g, b, r, end - r < fr ? (size_t)(end - r) : fr);
		if (pt_writer_write(w, b, &e) < 0)
			goto fail;
	}
	if (pt_writer_close(w, &e) < 0) {
		w = NULL;
		goto fail;
	}
	w = NULL;
	if (fe_out_commit(&out, &e) < 0)
		goto fail;
	pt_batch_free(b);
	pt_schema_free(s);
	return FE_EXIT_OK;
fail:
	if (w)
		pt_writer_abort(w);
	fe_out_abort(&out);
	pt_batch_free(b);
	pt_schema_free(s);
	return fe_error(&e);
}

int
main(int argc, char **argv)
{
	fe_args a;
	int rc;

	fe_init("policy-score");
	if ((rc = fe_parse(&cli, argc, argv, &a)) != 0) {
		fe_args_free(&a);
		return rc == 1 ? FE_EXIT_OK : FE_EXIT_TROUBLE;
	}
	switch (a.verb) {
	case V_FIT: rc = fit_main(&a); break;
	case V_FORESTGEN: rc = forest_gen_main(&a); break;
	case V_GENDATA: rc = gen_data_main(&a); break;
	default: rc = score_main(&a); break;
	}
	fe_args_free(&a);
	return rc;
}

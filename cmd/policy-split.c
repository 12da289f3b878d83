/*
 * policy-split: collect-less split search (man/policy-split.1).
 *
 *   hist -m M [-t TREE]      scored frames -> partial of the open nodes
 *   hist -m M --pairs        scored frames -> pair partial (for best --exact)
 *   merge [--expect N] P...  partials -> one partial, all or nothing
 *   best -m M [-t TREE]      merged partial -> TREE grown by one level
 *   best -m M --exact        merged pair partial -> the exact tree
 *   fit -m M --depth K       scored frames -> tree, one process
 *   apply -t TREE            frames -> frames + action column
 *   show -t TREE [--dot]     the tree as text or Graphviz
 *   eval -t TREE [-t TREE2]  scored frames -> values, paired differences,
 *                            uplift curves
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe.h"
#include "frame.h"
#include "grow.h"
#include "hist.h"
#include "manifest.h"
#include "eval.h"
#include "pforest.h"
#include "policy.h"
#include "search.h"
#include "spool.h"
#include "tree.h"
#include "xsum.h"
#include "yamlin.h"

/* Problems bigger than this many operations (pt_exact_cost: about 1e9
 * a second) are refused by --exact. */
#define EXACT_LIMIT 4e11

enum { V_HIST, V_MERGE, V_BEST, V_FIT, V_APPLY, V_SHOW, V_EVAL };
#define HIST (1u << V_HIST)
#define MERGE (1u << V_MERGE)
#define BEST (1u << V_BEST)
#define FIT (1u << V_FIT)
#define APPLY (1u << V_APPLY)
#define SHOW (1u << V_SHOW)
#define EVAL (1u << V_EVAL)

static const fe_verb verbs[] = {
	{ "hist", "-m MANIFEST [-t TREE] [-M MODEL] [--partition ID] "
	  "[FRAMES...]\n"
	  "-m MANIFEST --pairs [--max-memory SIZE] [-M MODEL] [--partition ID] "
	  "[FRAMES...]\n"
	  "-m MANIFEST --trees T [--subsample S] [--seed N] [-M MODEL] "
	  "[--partition ID] [FRAMES...]\n"
	  "-m MANIFEST -t STATE [-M MODEL] [--partition ID] [FRAMES...]", 0, -1,
	  "scored frames (one partition) -> a partial for the open nodes of "
	  "TREE (the root without one), a pair partial for best --exact, or "
	  "a forest partial of every tree of a forest" },
	{ "merge", "[--expect N] PARTIAL...", 1, -1,
	  "partials -> one partial, all or nothing" },
	{ "best", "-m MANIFEST [-t TREE] [--depth K] [--criterion C] "
	  "[--min-node-size N] [PARTIAL]\n"
	  "-m MANIFEST --exact [--depth K] [--criterion C] [--min-node-size N] "
	  "[--threads N] [PAIR-PARTIAL]\n"
	  "-m MANIFEST [-t STATE] [--depth K] [--criterion C] "
	  "[--min-node-size N] [--mtry K] [FOREST-PARTIAL]", 0, 1,
	  "a merged partial -> TREE grown by one level; a merged pair partial "
	  "-> the exact tree (--exact); a merged forest partial -> every tree "
	  "grown by one level (a forest state, or the forest when complete)" },
	{ "fit", "-m MANIFEST --depth K [--criterion C] [--min-node-size N] "
	  "[-M MODEL] [FRAMES...]\n"
	  "-m MANIFEST --depth K --exact [--threads N] [--max-memory SIZE] "
	  "[--criterion C] [--min-node-size N] [-M MODEL] [FRAMES...]\n"
	  "-m MANIFEST --trees T [--subsample S] [--mtry K] [--seed N] "
	  "[--depth K] [FRAMES...]", 0, -1,
	  "scored frames -> the tree (or a forest), in one process" },
	{ "apply", "-t TREE [-l N] [--force] [FRAMES...]", 0, -1,
	  "frames -> frames with the tree's action per row" },
	{ "show", "-t TREE [--dot | --json]", 0, 1,
	  "the tree as text, or as a Graphviz graph" },
	{ "eval", "-t TREE [-t TREE2] [-m MANIFEST] [--cluster COL] "
	  "[--curve FILE [--rank-by PREFIX]] [--control LABEL] "
	  "[--json | --tsv] [FRAMES...]\n"
	  "--partial -t TREE [-t TREE2] [-m MANIFEST] [--cluster COL] "
	  "[--control LABEL] [--partition ID] [FRAMES...]\n"
	  "--merge [--expect N] [--partial | [--curve FILE] [--json | --tsv]] "
	  "[--control LABEL] PARTIAL...", 0, -1,
	  "held-out scored frames -> the policy's value with its standard "
	  "error and 95% interval, beside every single-arm policy's, and the "
	  "paired differences on the same rows; over partitions, an eval "
	  "partial per partition, merged all or nothing into the same report" },
};

enum {
	O_MANIFEST, O_TREE, O_MODEL, O_PARTITION, O_EXPECT, O_DEPTH,
	O_CRITERION, O_MINNODE, O_EXACT, O_TREES, O_SUBSAMPLE, O_MTRY, O_SEED,
	O_DOT, O_OUTPUT, O_LEVEL, O_FORCE, O_PAIRS, O_THREADS, O_MAXMEM,
	O_CLUSTER, O_CURVE, O_RANKBY, O_CONTROL, O_JSON, O_TSV, O_PARTIAL,
	O_EMERGE
};

static const fe_opt opts[] = {
	{ O_MANIFEST, 'm', "manifest", FE_STR, "MANIFEST", HIST | BEST | FIT |
	  EVAL, 0, 0, NULL, "the manifest the frames were made under (its "
	  "boundaries are the candidate thresholds; eval: its train/test rule "
	  "says whether the rows are training rows, and it names the control)" },
	{ O_TREE, 't', "tree", FE_STRS, "TREE", HIST | BEST | APPLY | SHOW |
	  EVAL, 0, 0, NULL, "a tree file (policy-tree(5)); show also takes it "
	  "as its operand; eval takes two, to compare them on the same rows; "
	  "apply and eval also take a forest (the arm of the highest mean "
	  "leaf value)" },
	{ O_MODEL, 'M', "model", FE_STR, "MODEL", HIST | FIT, 0, 0, NULL,
	  "the model that scored the frames (its digest is recorded; partials "
	  "of different models do not merge)" },
	{ O_PARTITION, 0, "partition", FE_STR, "ID", HIST | EVAL, 0, 0, NULL,
	  "name the partition (1 to 63 printable bytes; default: a hash of "
	  "its rows)" },
	{ O_EXPECT, 0, "expect", FE_INT, "N", MERGE | EVAL, 1, 1000000, NULL,
	  "fail unless at least N partitions were merged (eval --merge: "
	  "parts 0 to N-1 of a split, each once)" },
	{ O_PARTIAL, 0, "partial", FE_FLAG, NULL, EVAL, 0, 0, NULL,
	  "write an eval partial (exact sums of this partition's rows, "
	  "policy-tree(5)) instead of the report; with --merge, the merged "
	  "partial" },
	{ O_EMERGE, 0, "merge", FE_FLAG, NULL, EVAL, 0, 0, NULL,
	  "the operands are eval partials: merge them (all or nothing, each "
	  "partition once) and report as eval on all their rows would" },
	{ O_DEPTH, 0, "depth", FE_INT, "K", BEST | FIT, 1, PT_PTREE_MAXDEPTH,
	  NULL, "target depth (default 2)" },
	{ O_CRITERION, 0, "criterion", FE_WORD, "C", BEST | FIT, 0, 0,
	  "welfare|ddp", "welfare (default) or ddp" },
	{ O_MINNODE, 0, "min-node-size", FE_INT, "N", BEST | FIT, 1,
	  9007199254740992.0, NULL,
	  "both sides of every split hold at least N rows (default 1)" },
	{ O_EXACT, 0, "exact", FE_FLAG, NULL, BEST | FIT, 0, 0, NULL,
	  "the globally optimal tree of the depth, not the greedy one (best: "
	  "from a merged pair partial, depth 1 or 2)" },
	{ O_PAIRS, 0, "pairs", FE_FLAG, NULL, HIST, 0, 0, NULL,
	  "a pair partial, for best --exact: cells per feature pair, bin pair "
	  "and arm (the root only)" },
	{ O_THREADS, 0, "threads", FE_INT, "N", BEST | FIT, 1, 1024, NULL,
	  "--exact: threads to search with (default: every core); the tree "
	  "does not depend on N" },
	{ O_MAXMEM, 0, "max-memory", FE_SIZE, "SIZE", HIST | BEST | FIT | EVAL,
	  0, 0, NULL, "--exact, --pairs: refuse, before starting, a search or "
	  "pair partial that needs more than SIZE bytes; eval: clusters and "
	  "rows ranked by --rank-by (default 8G)" },
	{ O_CLUSTER, 0, "cluster", FE_STR, "COL", EVAL, 0, 0, NULL,
	  "cluster-robust standard errors (CR1), the rows grouped by the "
	  "value of COL: a feature, _row (the key, when the manifest has one) "
	  "or the treatment" },
	{ O_CURVE, 0, "curve", FE_STR, "FILE", EVAL, 0, 0, NULL,
	  "write uplift and Qini curves (JSON) of every arm against the "
	  "control and of the tree's targeting, with AUUC and Qini "
	  "coefficients, to FILE" },
	{ O_RANKBY, 0, "rank-by", FE_STR, "PREFIX", EVAL, 0, 0, NULL,
	  "--curve: rank rows for arm t by the columns PREFIXt - PREFIXc "
	  "(predicted outcomes; default: the tree's leaf estimates)" },
	{ O_CONTROL, 0, "control", FE_STR, "LABEL", EVAL, 0, 0, NULL,
	  "the control of the curves (default: the manifest's, else the "
	  "first action)" },
	{ O_JSON, 0, "json", FE_FLAG, NULL, SHOW | EVAL, 0, 0, NULL,
	  "the report as JSON (one line)" },
	{ O_TSV, 0, "tsv", FE_FLAG, NULL, EVAL, 0, 0, NULL,
	  "the report as a tab-separated table with a header line" },
	{ O_TREES, 0, "trees", FE_INT, "T", HIST | FIT, 1, 100000, NULL,
	  "a forest of T trees instead of one tree (hist: the forest "
	  "partial of their roots, which best grows into a forest state)" },
	{ O_SUBSAMPLE, 0, "subsample", FE_NUM, "S", HIST | FIT, 0x1p-53, 1, NULL,
	  "--trees: each tree sees a share S of the rows, by row hash "
	  "(default 1)" },
	{ O_MTRY, 0, "mtry", FE_INT, "K", BEST | FIT, 0, 1000000, NULL,
	  "--trees: features tried per node, by hash (default 0: all)" },
	{ O_SEED, 0, "seed", FE_U64, "N", HIST | FIT, 0, 0, NULL,
	  "--trees: the seed of those hashes (default 0)" },
	{ O_DOT, 0, "dot", FE_FLAG, NULL, SHOW, 0, 0, NULL,
	  "Graphviz output" },
	{ O_OUTPUT, 'o', "output", FE_STR, "FILE", FE_ALL_VERBS, 0, 0, NULL,
	  "write FILE (atomically) instead of stdout" },
	{ O_LEVEL, 'l', "level", FE_INT, "N", APPLY, 0, 19, NULL,
	  "zstd level of frames (0 = none; default: 0 on pipes, on files "
	  "level 1 where a column shrinks 32 times: policy-frames(5))" },
	{ O_FORCE, 'f', "force", FE_FLAG, NULL, HIST | MERGE | APPLY, 0, 0, NULL,
	  "write binary output (frames, partials) to a terminal anyway" },
};

static const fe_cli cli = {
	"policy-split", verbs, sizeof verbs / sizeof verbs[0], -1,
	opts, sizeof opts / sizeof opts[0],
	"criteria: welfare (default), ddp\n"
	"exit status: 0 success, 2 usage or input trouble\n"
};

/* ---- helpers ----------------------------------------------------------- */

/* Names path in the error when the library could not (it names what it
 * knows: the partial, the frames' name; the file behind them is ours). */
static int
where(pt_err *e, const char *path)
{
	if (e->where[0] == '\0')
		snprintf(e->where, sizeof e->where, "%s", fe_in_name(path));
	return -1;
}

static pt_manifest *
load_manifest(const fe_args *a, pt_err *e)
{
	if (!fe_flag(a, O_MANIFEST)) {
		pt_fail(e, PT_EUSAGE, "", "-m MANIFEST is required");
		return NULL;
	}
	return pt_manifest_read(fe_str(a, O_MANIFEST, NULL), e);
}

/* A forest state where a tree or a policy is wanted: refused by name. */
static int
not_state(const char *buf, size_t len, const char *path, pt_err *e)
{
	if (!pt_pfstate_is(buf, len))
		return 0;
	return pt_fail(e, PT_EUSAGE, fe_in_name(path), "a forest state (trees "
	    "still growing), not a tree: grow it with hist -t, merge and "
	    "best -t until best writes the forest");
}

static pt_ptree *
load_tree(const char *path, pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	pt_ptree *t;

	if (buf == NULL || not_state(buf, len, path, e) < 0) {
		free(buf);
		return NULL;
	}
	t = pt_ptree_parse(buf, len, fe_in_name(path), e);
	free(buf);
	return t;
}

/* -t FILE for apply and eval: a policy tree, or a forest (format
 * policy-forest: a policy forest or an outcome forest) into *f. */
static pt_ptree *
load_policy(const char *path, pt_forest **f, char digest[33], pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	pt_ptree *t = NULL;

	*f = NULL;
	if (buf == NULL || not_state(buf, len, path, e) < 0) {
		free(buf);
		return NULL;
	}
	/* Its identity: the digest line that seals it (checked again by the
	 * parser). */
	if (digest != NULL && pt_y_digest_check(buf, len, fe_in_name(path),
	    "policy", digest, e) < 0) {
		free(buf);
		return NULL;
	}
	if (pt_forest_is(buf, len))
		*f = pt_forest_parse(buf, len, fe_in_name(path), e);
	else
		t = pt_ptree_parse(buf, len, fe_in_name(path), e);
	free(buf);
	return t;
}

/* The digest of -M MODEL's bytes into out ("" without one). */
static int
model_digest(const fe_args *a, char out[33], pt_err *e)
{
	size_t len;
	char *buf;

	out[0] = '\0';
	if (!fe_flag(a, O_MODEL))
		return 0;
	if ((buf = fe_slurp(fe_str(a, O_MODEL, NULL), &len, e)) == NULL)
		return -1;
	pt_h128_hex(pt_hash128(buf, len, 0), out);
	free(buf);
	return 0;
}

static int
write_out(const fe_args *a, const char *buf, size_t len, int binary,
    pt_err *e)
{
	return fe_write_file(fe_str(a, O_OUTPUT, NULL), buf, len, binary,
	    fe_flag(a, O_FORCE), e);
}

static int
write_tree(const fe_args *a, pt_ptree *t, pt_err *e)
{
	char *buf;
	size_t len;
	int rc;

	if (pt_ptree_write(t, &buf, &len, e) < 0)
		return -1;
	rc = write_out(a, buf, len, 0, e);
	free(buf);
	return rc;
}

static int
write_partial(const fe_args *a, const pt_hist *h, pt_err *e)
{
	char *buf;
	size_t len;
	int rc;

	if (pt_hist_write(h, &buf, &len, e) < 0)
		return -1;
	rc = write_out(a, buf, len, 1, e);
	free(buf);
	return rc;
}

/* One pass over the frames of in: the partial of t's open nodes, or with
 * pairs the pair partial of the root. */
static pt_hist *
level_pass(fe_in *in, const pt_manifest *m, const pt_ptree *t,
    const char *model, const char *partition, int pairs, pt_err *e)
{
	pt_level *l = pairs ? pt_level_new_pairs(m, model, e) :
	    pt_level_new(m, t, model, e);
	const pt_schema *s;
	const pt_batch *b;
	pt_hist *h = NULL;
	int k;

	if (l == NULL)
		return NULL;
	/* The stream's schema first: frames of no rows are checked too. */
	if ((s = fe_in_schema(in, e)) == NULL || pt_level_bind(l, s, e) < 0) {
		if (e->where[0] == '\0')
			snprintf(e->where, sizeof e->where, "%s", in->name);
		pt_level_free(l);
		return NULL;
	}
	while ((k = fe_in_next(in, &b, e)) == 1)
		if (pt_level_add(l, b, e) < 0) {
			k = -1;
			break;
		}
	if (k == 0)
		h = pt_level_finish(l, partition, e);
	else if (e->where[0] == '\0')
		snprintf(e->where, sizeof e->where, "%s", in->name);
	pt_level_free(l);
	return h;
}

/* ---- the verbs ----------------------------------------------------------- */

/* The --max-memory limit (default 8G). */
static uint64_t
max_memory(const fe_args *a)
{
	return fe_u64(a, O_MAXMEM, UINT64_C(8) << 30);
}

/* The cells of m: the sum of its features' bins. */
static size_t
pairs_bins(const pt_manifest *m)
{
	size_t n = 0;

	for (int f = 0; f < m->nfeatures; f++)
		n += (size_t)m->features[f].nbounds + 2;
	return n;
}

/* Says how much memory a pair partial of m needs, and refuses one bigger
 * than --max-memory. */
static int
pairs_fit(const fe_args *a, const pt_manifest *m, pt_err *e)
{
	double need = pt_hist_pairs_bytes(m);
	uint64_t lim = max_memory(a);

	if (need > (double)lim)
		return pt_fail(e, PT_ELIMIT, "", "--pairs: a pair partial of "
		    "this manifest needs about %.0f bytes (%.3g MB), more than "
		    "--max-memory %" PRIu64 " bytes", need, need / 1e6, lim);
	fe_warnx("pair partial: %zu bins, %d actions, at most %.0f MB",
	    pairs_bins(m), m->nvocab, need / 1e6);
	return 0;
}

/* Whether path is a forest state (its first bytes); a file that cannot be
 * read is left to the tree reader to report. */
static int
is_state(const char *path)
{
	char head[128];
	size_t n = 0;
	FILE *f;

	if (strcmp(path, "-") == 0 || (f = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(head, 1, sizeof head, f);
	fclose(f);
	return pt_pfstate_is(head, n);
}

static pt_pfstate *
load_state(const char *path, pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	pt_pfstate *s;

	if (buf == NULL)
		return NULL;
	s = pt_pfstate_parse(buf, len, fe_in_name(path), e);
	free(buf);
	return s;
}

/* One pass of a forest over in: the forest partial (*out, malloc'd) of
 * the roots of --trees T trees, or of the open nodes of every tree of
 * state st. */
static int
forest_pass(const fe_args *a, fe_in *in, const pt_manifest *m,
    const pt_pfstate *st, const char *model, char **out, size_t *len,
    pt_err *e)
{
	pt_forest_info fi = { fe_num(a, O_SUBSAMPLE, 1), 0,
		fe_u64(a, O_SEED, 0) };
	pt_pflevel *l = pt_pflevel_new(m, st, (int)fe_u64(a, O_TREES, 1), &fi,
	    model, e);
	const pt_schema *s;
	const pt_batch *b;
	int k = -1, rc = -1;

	if (l == NULL)
		return st != NULL && e->code == PT_EMISMATCH &&
		    fe_flag(a, O_TREE) ? where(e, fe_str(a, O_TREE, NULL)) : -1;
	{
		/* The partials of every open node of every tree are held
		 * while the rows are added: known before a row is read. */
		double nodes = st == NULL ? (double)fe_u64(a, O_TREES, 1) : 0;
		double need, lim = (double)max_memory(a);
		for (int k = 0; st != NULL && k < st->ntrees; k++) {
			uint32_t *ids = NULL;
			int n = pt_ptree_open(st->t[k], &ids, e);
			free(ids);
			if (n < 0) {
				pt_pflevel_free(l);
				return -1;
			}
			nodes += n;
		}
		need = nodes * pt_hist_node_bytes(m);
		if (need > lim) {
			pt_pflevel_free(l);
			return pt_fail(e, PT_ELIMIT, "", "the forest's partials "
			    "of %.0f open nodes need about %.3g bytes, over "
			    "--max-memory %.3g: fewer trees, a smaller depth or "
			    "more --max-memory", nodes, need, lim);
		}
	}
	if ((s = fe_in_schema(in, e)) != NULL && pt_pflevel_bind(l, s, e) == 0)
		while ((k = fe_in_next(in, &b, e)) == 1)
			if (pt_pflevel_add(l, b, e) < 0) {
				k = -1;
				break;
			}
	if (k != 0) {
		if (e->where[0] == '\0')
			snprintf(e->where, sizeof e->where, "%s", in->name);
		goto out;
	}
	rc = pt_pflevel_write(l, fe_str(a, O_PARTITION, NULL), out, len, e);
out:
	pt_pflevel_free(l);
	return rc;
}

/* hist of a forest: one pass, one forest partial written. */
static int
forest_hist(const fe_args *a, fe_in *in, const pt_manifest *m,
    const pt_pfstate *st, const char *model, pt_err *e)
{
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (forest_pass(a, in, m, st, model, &buf, &len, e) < 0)
		return -1;
	fe_progress_done(in->rows, in->done_bytes);
	rc = write_out(a, buf, len, 1, e);
	free(buf);
	return rc;
}

static int
cmd_hist(const fe_args *a, pt_err *e)
{
	pt_manifest *m = load_manifest(a, e);
	pt_ptree *t = NULL;
	pt_pfstate *st = NULL;
	pt_hist *h = NULL;
	char model[33];
	fe_in in;
	int rc = -1, pairs = fe_flag(a, O_PAIRS), trees = fe_flag(a, O_TREES);

	if (m == NULL)
		return -1;
	fe_in_init(&in, a->argc, a->argv);
	if (pairs && fe_flag(a, O_TREE)) {
		pt_fail(e, PT_EUSAGE, "", "--pairs makes a partial of the root: "
		    "no -t TREE");
		goto out;
	}
	if (pairs && trees) {
		pt_fail(e, PT_EUSAGE, "", "--pairs and --trees do not mix");
		goto out;
	}
	if (!trees && (fe_flag(a, O_SUBSAMPLE) || fe_flag(a, O_SEED))) {
		pt_fail(e, PT_EUSAGE, "", "--subsample and --seed go with --trees "
		    "(later levels take them from the forest state)");
		goto out;
	}
	if (trees && fe_flag(a, O_TREE)) {
		pt_fail(e, PT_EUSAGE, "", "--trees makes the partial of the roots: "
		    "later levels take -t STATE alone");
		goto out;
	}
	if (trees || (fe_flag(a, O_TREE) && is_state(fe_str(a, O_TREE, NULL)))) {
		if (model_digest(a, model, e) < 0 || (fe_flag(a, O_TREE) &&
		    (st = load_state(fe_str(a, O_TREE, NULL), e)) == NULL))
			goto out;
		rc = forest_hist(a, &in, m, st, model, e);
		goto out;
	}
	/* A pair partial's size depends on the manifest only: said and
	 * checked before a row is read. */
	if (pairs && pairs_fit(a, m, e) < 0)
		goto out;
	if ((fe_flag(a, O_TREE) && (t = load_tree(fe_str(a, O_TREE, NULL),
	    e)) == NULL) || model_digest(a, model, e) < 0)
		goto out;
	if (t != NULL && pt_ptree_check_manifest(t, m, e) < 0) {
		where(e, fe_str(a, O_TREE, NULL));
		goto out;
	}
	if ((h = level_pass(&in, m, t, model, fe_str(a, O_PARTITION, NULL),
	    pairs, e)) == NULL)
		goto out;
	fe_progress_done(in.rows, in.done_bytes);
	rc = write_partial(a, h, e);
out:
	fe_in_close(&in);
	pt_hist_free(h);
	pt_ptree_free(t);
	pt_pfstate_free(st);
	pt_manifest_free(m);
	return rc;
}

/* How merge_all reads, adds and frees one kind of partial. */
typedef struct merge_ops {
	void *(*read)(const char *buf, size_t len, const char *name,
	    const void *ctx, pt_err *e);
	int (*add)(void *dst, void *src, const char *name, pt_err *e);
	void (*drop)(void *p);
	const void *ctx;
} merge_ops;

/* The operands' partials added into the first, one at a time, all or
 * nothing (each add makes its own checks); first, when not NULL, is the
 * first operand's bytes, already read (merge_all frees them).  Returns
 * the sum, or NULL with e set (naming the operand when the add did not). */
static void *
merge_all(const fe_args *a, const merge_ops *ops, char *first, size_t flen,
    pt_err *e)
{
	void *acc = NULL, *p;
	char *buf = first;
	size_t len = flen;
	int rc;

	for (int i = 0; i < a->argc; i++) {
		const char *name = fe_in_name(a->argv[i]);
		if (buf == NULL && (buf = fe_slurp(a->argv[i], &len, e)) == NULL)
			goto fail;
		p = ops->read(buf, len, name, ops->ctx, e);
		free(buf);
		buf = NULL;
		if (p == NULL)
			goto fail;
		if (acc == NULL) {
			acc = p;
			continue;
		}
		rc = ops->add(acc, p, name, e);
		ops->drop(p);
		if (rc < 0) {
			if (e->where[0] == '\0')
				snprintf(e->where, sizeof e->where, "%s", name);
			goto fail;
		}
	}
	if (acc == NULL)
		pt_fail(e, PT_EUSAGE, "", "give the partials to merge");
	free(buf);
	return acc;
fail:
	free(buf);
	if (acc != NULL)
		ops->drop(acc);
	return NULL;
}

static void *
pf_read(const char *buf, size_t len, const char *name, const void *ctx,
    pt_err *e)
{
	(void)ctx;
	return pt_pfpart_read(buf, len, name, e);
}

static int
pf_add(void *dst, void *src, const char *name, pt_err *e)
{
	return pt_pfpart_merge(dst, src, name, e);
}

static void
pf_drop(void *p)
{
	pt_pfpart_free(p);
}

static void *
h_read(const char *buf, size_t len, const char *name, const void *ctx,
    pt_err *e)
{
	(void)ctx;
	return pt_hist_read(buf, len, name, e);
}

static int
h_add(void *dst, void *src, const char *name, pt_err *e)
{
	(void)name;
	return pt_hist_merge(dst, src, e);
}

static void
h_drop(void *p)
{
	pt_hist_free(p);
}

/* merge of forest partials (the first operand was one): all or nothing. */
static int
forest_merge(const fe_args *a, char *first, size_t flen, pt_err *e)
{
	static const merge_ops ops = { pf_read, pf_add, pf_drop, NULL };
	pt_pfpart *acc;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if ((acc = merge_all(a, &ops, first, flen, e)) == NULL)
		return -1;
	if (fe_flag(a, O_EXPECT) && pt_pfpart_expect(acc, (int)fe_u64(a,
	    O_EXPECT, 0), e) < 0)
		goto out;
	if (pt_pfpart_write(acc, &buf, &len, e) < 0)
		goto out;
	rc = write_out(a, buf, len, 1, e);
out:
	free(buf);
	pt_pfpart_free(acc);
	return rc;
}

static int
cmd_merge(const fe_args *a, pt_err *e)
{
	static const merge_ops ops = { h_read, h_add, h_drop, NULL };
	pt_hist *acc = NULL;
	int rc = -1, expect = (int)fe_u64(a, O_EXPECT, 0);
	char *first = NULL;
	size_t len = 0;

	/* The first operand says which kind of partial they all are. */
	if (a->argc > 0 && (first = fe_slurp(a->argv[0], &len, e)) == NULL)
		return -1;
	if (first != NULL && pt_pfpart_is(first, len))
		return forest_merge(a, first, len, e);
	if ((acc = merge_all(a, &ops, first, len, e)) == NULL)
		return -1;
	if (expect > 0 && acc->nparts < expect) {
		pt_fail(e, PT_EMISMATCH, "", "%d partitions merged, %d expected",
		    acc->nparts, expect);
		goto out;
	}
	rc = write_partial(a, acc, e);
out:
	pt_hist_free(acc);
	return rc;
}

static int
criterion(const fe_args *a)
{
	return fe_word(a, O_CRITERION, 0) == 1 ? PT_CRIT_DDP : PT_CRIT_WELFARE;
}

static pt_ptree *
new_tree(const fe_args *a, const pt_manifest *m, const char *model, pt_err *e)
{
	return pt_ptree_new(m, model, criterion(a), (int)fe_u64(a, O_DEPTH, 2),
	    fe_u64(a, O_MINNODE, 1), e);
}

/* best -t: the tree (or forest state) fixes how it grows; an option that
 * says otherwise is refused rather than ignored (what: "tree" or "forest
 * state"; mtry: the state's, or -1 for a tree). */
static int
fixed_growth(const fe_args *a, const pt_ptree *t, int mtry, const char *what,
    pt_err *e)
{
	static const char *const crit[] = { "welfare", "ddp" };
	const char *path = fe_str(a, O_TREE, NULL);

	if (fe_flag(a, O_DEPTH) && (int)fe_u64(a, O_DEPTH, 2) != t->depth)
		return pt_fail(e, PT_EUSAGE, path, "--depth %d differs from the "
		    "%s's %d (the first level fixes it)", (int)fe_u64(a, O_DEPTH,
		    2), what, t->depth);
	if (fe_flag(a, O_CRITERION) && criterion(a) != t->criterion)
		return pt_fail(e, PT_EUSAGE, path, "--criterion %s differs from "
		    "the %s's %s (the first level fixes it)",
		    crit[criterion(a) == PT_CRIT_DDP], what,
		    crit[t->criterion == PT_CRIT_DDP]);
	if (fe_flag(a, O_MINNODE) && fe_u64(a, O_MINNODE, 1) !=
	    t->min_node_size)
		return pt_fail(e, PT_EUSAGE, path, "--min-node-size %" PRIu64
		    " differs from the %s's %" PRIu64 " (the first level fixes "
		    "it)", fe_u64(a, O_MINNODE, 1), what, t->min_node_size);
	if (mtry >= 0 && fe_flag(a, O_MTRY) && (int)fe_u64(a, O_MTRY, 0) != mtry)
		return pt_fail(e, PT_EUSAGE, path, "--mtry %d differs from the "
		    "%s's %d (the first level fixes it)", (int)fe_u64(a, O_MTRY,
		    0), what, mtry);
	return 0;
}

/* The progress line of the exact search. */
static void
exact_step(void *arg, int done, int total)
{
	(void)arg;
	fe_progress_step("exact search: first feature", (uint64_t)done,
	    (uint64_t)total);
}

/* Threads for --exact: --threads, else every online core. */
static int
threads(const fe_args *a)
{
	long n;

	if (fe_flag(a, O_THREADS))
		return (int)fe_u64(a, O_THREADS, 1);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}


/* best --exact: the whole tree from the merged pair partial h (of the
 * file path), or the refusal of a pair partial without --exact or of an
 * ordinary one with it. */
static int
best_exact(const fe_args *a, const pt_manifest *m, const pt_hist *h,
    const char *path, pt_err *e)
{
	pt_ptree *t;
	int rc = -1;

	if (!fe_flag(a, O_EXACT)) {
		pt_fail(e, PT_EUSAGE, "", "a pair partial is for best --exact");
		return where(e, path);
	}
	if (!h->pairs) {
		pt_fail(e, PT_EUSAGE, "", "not a pair partial: best --exact "
		    "reads the merged partials of hist --pairs");
		return where(e, path);
	}
	{
		/* The partial's cells as 128-bit sums, and per thread five
		 * histograms of one slot. */
		double c = (double)h->ncells, A = h->narms, nt = threads(a);
		double per = criterion(a) == PT_CRIT_DDP ? 24 * A : 16 * A;
		double need = c * c * (8 + per) + nt * 5 * c * (8 + per);
		double limit = (double)fe_u64(a, O_MAXMEM, (uint64_t)8 << 30);
		if (limit > 0 && need > limit) {
			pt_fail(e, PT_ELIMIT, "", "best --exact needs about %.3g "
			    "bytes, over --max-memory %.3g", need, limit);
			return where(e, path);
		}
	}
	if ((t = new_tree(a, m, h->model, e)) == NULL)
		return -1;
	if (pt_search_exact_pairs(t, h, m, threads(a), e) < 0) {
		if (e->code == PT_EMISMATCH)
			where(e, path);
		goto out;
	}
	rc = write_tree(a, t, e);
out:
	pt_ptree_free(t);
	return rc;
}

/* best of a forest partial p: every tree of -t STATE grown by one level,
 * or at the roots a new state; the forest itself once complete. */
static int
forest_best(const fe_args *a, const pt_manifest *m, const pt_pfpart *p,
    const char *path, pt_err *e)
{
	pt_pfstate *st = NULL;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (fe_flag(a, O_EXACT))
		return pt_fail(e, PT_EUSAGE, "", "--exact grows one tree, not a "
		    "forest");
	if (fe_flag(a, O_TREE)) {
		const char *sp = fe_str(a, O_TREE, NULL);
		if (!is_state(sp)) {
			pt_fail(e, PT_EUSAGE, "", "a forest partial grows a forest "
			    "state (best's output), not a tree");
			return where(e, sp);
		}
		if ((st = load_state(sp, e)) == NULL)
			return -1;
		if (fixed_growth(a, st->t[0], st->fi.mtry, "forest state",
		    e) < 0)
			goto out;
		if (pt_pfstate_grow(st, m, p, e) < 0) {
			if (e->code == PT_EMISMATCH)
				where(e, path);
			goto out;
		}
	} else if ((st = pt_pfstate_start(m, p, criterion(a),
	    (int)fe_u64(a, O_DEPTH, 2), fe_u64(a, O_MINNODE, 1),
	    (int)fe_u64(a, O_MTRY, 0), e)) == NULL) {
		if (e->code == PT_EMISMATCH || e->code == PT_EUSAGE)
			where(e, path);
		goto out;
	}
	if ((pt_pfstate_complete(st) ? pt_pfstate_forest(st, &buf, &len, e) :
	    pt_pfstate_write(st, &buf, &len, e)) < 0)
		goto out;
	rc = write_out(a, buf, len, 0, e);
out:
	free(buf);
	pt_pfstate_free(st);
	return rc;
}

static int
cmd_best(const fe_args *a, pt_err *e)
{
	pt_manifest *m = load_manifest(a, e);
	const char *path = a->argc ? a->argv[0] : "-";
	pt_ptree *t = NULL;
	pt_hist *h = NULL;
	int rc = -1;

	if (m == NULL)
		return -1;
	if (fe_flag(a, O_EXACT) && fe_flag(a, O_TREE)) {
		pt_fail(e, PT_EUSAGE, "", "best --exact grows the whole tree "
		    "from a pair partial: no -t TREE");
		goto out;
	}
	{
		size_t len;
		char *buf = fe_slurp(path, &len, e);
		if (buf == NULL)
			goto out;
		if (pt_pfpart_is(buf, len)) {
			pt_pfpart *p = pt_pfpart_read(buf, len, fe_in_name(path), e);
			free(buf);
			if (p != NULL)
				rc = forest_best(a, m, p, path, e);
			pt_pfpart_free(p);
			goto out;
		}
		h = pt_hist_read(buf, len, fe_in_name(path), e);
		free(buf);
		if (h == NULL)
			goto out;
	}
	if (fe_flag(a, O_MTRY)) {
		pt_fail(e, PT_EUSAGE, "", "--mtry grows a forest: give best a "
		    "forest partial (hist --trees)");
		goto out;
	}
	if (fe_flag(a, O_EXACT) || h->pairs) {
		rc = best_exact(a, m, h, path, e);
		goto out;
	}
	t = fe_flag(a, O_TREE) ? load_tree(fe_str(a, O_TREE, NULL), e) :
	    new_tree(a, m, NULL, e);
	if (t == NULL || (fe_flag(a, O_TREE) && fixed_growth(a, t, -1, "tree",
	    e) < 0))
		goto out;
	if (pt_grow_level(t, h, m, e) < 0) {
		/* What does not fit is the partial, given to this tree. */
		if (e->code == PT_EMISMATCH)
			where(e, path);
		goto out;
	}
	rc = write_tree(a, t, e);
out:
	pt_hist_free(h);
	pt_ptree_free(t);
	pt_manifest_free(m);
	return rc;
}

/* The rows of every frame in memory, for the exact search and forests. */
static int
load_rows(fe_in *in, pt_rowload *rl, pt_err *e)
{
	const pt_batch *b;
	int k;

	while ((k = fe_in_next(in, &b, e)) == 1)
		if (pt_rowload_add(rl, b, e) < 0)
			return -1;
	if (k == 0 && rl->rows.n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows");
	return k;
}

/* Refuses a plan over --max-memory or the work limit; says it otherwise.
 * nrows 0: before the rows are read. */
static int
exact_plan(const fe_args *a, const pt_manifest *m, size_t nrows, int depth,
    int crit, int nthreads, pt_err *e)
{
	pt_exact_plan p;
	double limit = (double)fe_u64(a, O_MAXMEM, (uint64_t)8 << 30), mem;

	pt_exact_estimate(m, nrows, m->nvocab, depth, crit, &p);
	/* The rows (bins, scores) and each thread's buffers. */
	mem = p.memory * nthreads + (double)nrows * (4.0 * m->nfeatures +
	    8.0 * m->nvocab + 24);
	if (limit > 0 && mem > limit)
		return pt_fail(e, PT_ELIMIT, "", "--exact at depth %d needs "
		    "about %.3g bytes%s, over --max-memory %.3g; use fewer "
		    "bins, a smaller depth or the greedy search", depth, mem,
		    nrows ? "" : " before any row", limit);
	if (p.work > EXACT_LIMIT)
		return pt_fail(e, PT_ELIMIT, "", "--exact at depth %d: about "
		    "%.3g operations%s: too big (limit %.3g, about %.0f "
		    "minutes); use fewer bins, a smaller depth or the greedy "
		    "search", depth, p.work, nrows ? "" : " before any row",
		    EXACT_LIMIT, EXACT_LIMIT / 1e9 / 60);
	if (nrows > 0)
		fe_warnx("exact depth-%d search: %zu rows, %d features, %d "
		    "thread%s, at most about %.0f MB and %.3g operations", depth,
		    nrows, m->nfeatures, nthreads, nthreads == 1 ? "" : "s",
		    mem / 1e6, p.work);
	return 0;
}

static int
fit_exact(const fe_args *a, fe_in *in, pt_manifest *m, const char *model,
    pt_err *e)
{
	pt_rowload rl;
	pt_ptree *t = NULL;
	int rc = -1, depth = (int)fe_u64(a, O_DEPTH, 2), nt = threads(a);

	pt_rowload_init(&rl, m);
	/* What does not depend on the rows, before reading them. */
	if (exact_plan(a, m, 0, depth, criterion(a), nt, e) < 0)
		goto out;
	if (load_rows(in, &rl, e) < 0)
		goto out;
	if (exact_plan(a, m, rl.rows.n, depth, criterion(a), nt, e) < 0)
		goto out;
	pt_exact_progress(exact_step, NULL);
	if ((t = new_tree(a, m, model, e)) == NULL ||
	    pt_search_exact(t, &rl.rows, m, nt, e) < 0)
		goto out;
	rc = write_tree(a, t, e);
out:
	pt_ptree_free(t);
	pt_rowload_free(&rl);
	return rc;
}

/* A forest in one process: exactly the hist --trees, merge and best
 * steps of the partitioned loop, one pass over the input per level for
 * every tree at once (the rows are never held). */
static int
fit_forest(const fe_args *a, fe_in *in, pt_manifest *m, const char *model,
    pt_err *e)
{
	pt_pfstate *st = NULL;
	pt_pfpart *p = NULL;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	if (fe_flag(a, O_EXACT))
		return pt_fail(e, PT_EUSAGE, "", "--exact and --trees do not mix");
	for (int level = 0; st == NULL || !pt_pfstate_complete(st); level++) {
		if (level > 0 && fe_in_rewind(in, e) < 0)
			goto out;
		if (forest_pass(a, in, m, st, model, &buf, &len, e) < 0 ||
		    (p = pt_pfpart_read(buf, len, "forest partial", e)) == NULL)
			goto out;
		free(buf);
		buf = NULL;
		if (st == NULL) {
			if ((st = pt_pfstate_start(m, p, criterion(a),
			    (int)fe_u64(a, O_DEPTH, 2), fe_u64(a, O_MINNODE, 1),
			    (int)fe_u64(a, O_MTRY, 0), e)) == NULL)
				goto out;
		} else if (pt_pfstate_grow(st, m, p, e) < 0)
			goto out;
		pt_pfpart_free(p);
		p = NULL;
	}
	fe_progress_done(in->rows, in->done_bytes);
	if (pt_pfstate_forest(st, &buf, &len, e) < 0)
		goto out;
	rc = write_out(a, buf, len, 0, e);
out:
	free(buf);
	pt_pfpart_free(p);
	pt_pfstate_free(st);
	return rc;
}

/* The greedy search in one process: exactly the hist and best steps of
 * the partitioned loop, one pass over the input per level. */
static int
fit_greedy(const fe_args *a, fe_in *in, pt_manifest *m, const char *model,
    pt_err *e)
{
	pt_ptree *t = new_tree(a, m, model, e);
	int rc = -1;

	if (t == NULL)
		return -1;
	for (int level = 0; !t->complete; level++) {
		pt_hist *h;
		if (level > 0 && fe_in_rewind(in, e) < 0)
			goto out;
		h = level_pass(in, m, level ? t : NULL, model, NULL, 0, e);
		if (h == NULL)
			goto out;
		rc = pt_grow_level(t, h, m, e);
		pt_hist_free(h);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	fe_progress_done(in->rows, in->done_bytes);
	rc = write_tree(a, t, e);
out:
	pt_ptree_free(t);
	return rc;
}

static int
cmd_fit(const fe_args *a, pt_err *e)
{
	pt_manifest *m = load_manifest(a, e);
	char model[33], spooled[64], *one[1];
	fe_in in;
	int rc = -1, fd = -1;

	if (m == NULL)
		return -1;
	fe_in_init(&in, a->argc, a->argv);
	if (model_digest(a, model, e) < 0)
		goto out;
	if (!fe_flag(a, O_EXACT) && !fe_in_rereadable(a->argc, a->argv)) {
		/* One pass per level: what cannot be read again (stdin, a
		 * pipe) is spooled to an unlinked temporary file first. */
		if (a->argc > 1) {
			pt_fail(e, PT_EUSAGE, "", "fit reads stdin or regular "
			    "files");
			goto out;
		}
		const char *path = a->argc ? a->argv[0] : "-";
		int src = fe_open_in(path, e);
		if (src < 0)
			goto out;
		fd = pt_spool(src, fe_in_name(path), e);
		if (src > 0)
			close(src);
		if (fd < 0)
			goto out;
		snprintf(spooled, sizeof spooled, "/dev/fd/%d", fd);
		one[0] = spooled;
		fe_in_init(&in, 1, one);
	}
	if (fe_flag(a, O_TREES))
		rc = fit_forest(a, &in, m, model, e);
	else if (fe_flag(a, O_EXACT))
		rc = fit_exact(a, &in, m, model, e);
	else
		rc = fit_greedy(a, &in, m, model, e);
out:
	fe_in_close(&in);
	if (fd >= 0)
		close(fd);
	pt_manifest_free(m);
	return rc;
}

static int
cmd_apply(const fe_args *a, pt_err *e)
{
	pt_ptree *t;
	pt_forest *f;
	pt_policy *p = NULL;
	pt_writer *w = NULL;
	fe_out out = { .fd = -1 };
	fe_in in;
	const pt_schema *s, *os;
	const pt_batch *b, *ob;
	int rc = -1, k;

	if (!fe_flag(a, O_TREE))
		return pt_fail(e, PT_EUSAGE, "", "-t TREE is required");
	if ((t = load_policy(fe_str(a, O_TREE, NULL), &f, NULL, e)) == NULL &&
	    f == NULL)
		return -1;
	fe_in_init(&in, a->argc, a->argv);
	if ((s = fe_in_schema(&in, e)) == NULL)
		goto out;
	if ((p = t != NULL ? pt_policy_new(t, s, e) :
	    pt_policy_new_forest(f, s, e)) == NULL ||
	    (os = pt_policy_out_schema(p, e)) == NULL) {
		where(e, in.paths[0]);
		goto out;
	}
	if (fe_out_open(&out, fe_str(a, O_OUTPUT, NULL), 1, fe_flag(a, O_FORCE),
	    e) < 0 ||
	    (w = pt_writer_open(out.fd, out.name, os, fe_frame_level(out.fd,
	    fe_flag(a, O_LEVEL) ? (int)fe_u64(a, O_LEVEL, 0) : -1), e)) == NULL)
		goto out;
	while ((k = fe_in_next(&in, &b, e)) == 1)
		if (pt_policy_apply(p, b, &ob, e) < 0 ||
		    pt_writer_write(w, ob, e) < 0)
			goto out;
	if (k < 0)
		goto out;
	k = pt_writer_close(w, e);
	w = NULL;
	if (k < 0 || fe_out_commit(&out, e) < 0)
		goto out;
	fe_progress_done(in.rows, in.done_bytes);
	rc = 0;
out:
	if (w)
		pt_writer_abort(w);
	fe_out_abort(&out);
	pt_policy_free(p);
	fe_in_close(&in);
	pt_ptree_free(t);
	pt_forest_free(f);
	return rc;
}

/* The report of eval (or of eval --merge) of v, its curves and the note on
 * training rows. */
static int
eval_report(const fe_args *a, const pt_eval *v, int curves, int has_m,
    pt_err *e)
{
	char *buf = NULL, *cbuf = NULL;
	size_t len, clen;
	uint64_t ntr;
	const char *tr;
	int rc = -1;

	if (pt_eval_report(v, fe_flag(a, O_JSON) ? PT_FMT_JSON :
	    fe_flag(a, O_TSV) ? PT_FMT_TSV : PT_FMT_YAML, &buf, &len, e) < 0)
		goto out;
	if (curves && pt_eval_curves(v, &cbuf, &clen, e) < 0)
		goto out;
	tr = pt_eval_training(v, &ntr);
	if (strcmp(tr, "yes") == 0 || strcmp(tr, "some") == 0)
		fe_warnx("note: %" PRIu64 " of the %" PRIu64 " rows are "
		    "training rows under the manifest's train/test rule: their "
		    "values are in-sample, not held-out", ntr, pt_eval_rows(v));
	else if (has_m && strcmp(tr, "unknown") == 0)
		fe_warnx("note: the frames do not carry the manifest's split "
		    "column as a feature: whether these are training rows is "
		    "unknown");
	if (curves && fe_write_file(fe_str(a, O_CURVE, NULL), cbuf, clen, 0,
	    1, e) < 0)
		goto out;
	rc = write_out(a, buf, len, 0, e);
out:
	free(buf);
	free(cbuf);
	return rc;
}

static void *
ev_read(const char *buf, size_t len, const char *name, const void *ctx,
    pt_err *e)
{
	return pt_eval_parse(buf, len, name, ctx, e);
}

static int
ev_add(void *dst, void *src, const char *name, pt_err *e)
{
	return pt_eval_merge(dst, src, name, e);
}

static void
ev_drop(void *p)
{
	pt_eval_free(p);
}

/* eval --merge: eval partials -> the report (or the merged partial). */
static int
eval_merge(const fe_args *a, pt_err *e)
{
	static const int only_partial[] = { O_TREE, O_MANIFEST, O_CLUSTER,
		O_RANKBY, O_PARTITION };
	merge_ops ops = { ev_read, ev_add, ev_drop, NULL };
	pt_eval_opts o = { 0 };
	pt_eval *acc = NULL;
	char *buf = NULL;
	size_t len;
	int rc = -1;

	for (size_t i = 0; i < sizeof only_partial / sizeof *only_partial; i++)
		if (fe_flag(a, only_partial[i]))
			return pt_fail(e, PT_EUSAGE, "", "eval --merge takes eval "
			    "partials: -t, -m, --cluster, --rank-by and --partition "
			    "belong to the runs that made them");
	if (a->argc == 0)
		return pt_fail(e, PT_EUSAGE, "", "eval --merge: give the "
		    "partials to merge");
	if (fe_flag(a, O_PARTIAL) && (fe_flag(a, O_JSON) || fe_flag(a, O_TSV) ||
	    fe_flag(a, O_CURVE)))
		return pt_fail(e, PT_EUSAGE, "", "eval --merge --partial writes a "
		    "partial: --json, --tsv and --curve go with the report");
	o.max_memory = max_memory(a);
	ops.ctx = &o;
	if ((acc = merge_all(a, &ops, NULL, 0, e)) == NULL)
		return -1;
	if (fe_flag(a, O_EXPECT) && pt_eval_expect(acc, (int)fe_u64(a,
	    O_EXPECT, 0), e) < 0)
		goto out;
	if (fe_flag(a, O_CONTROL) && pt_eval_set_control(acc, fe_str(a,
	    O_CONTROL, NULL), e) < 0)
		goto out;
	if (fe_flag(a, O_PARTIAL)) {
		if (pt_eval_partial(acc, &buf, &len, e) < 0)
			goto out;
		rc = write_out(a, buf, len, 0, e);
	} else
		rc = eval_report(a, acc, fe_flag(a, O_CURVE), 0, e);
out:
	free(buf);
	pt_eval_free(acc);
	return rc;
}

static int
cmd_eval(const fe_args *a, pt_err *e)
{
	const fe_val *tv = &a->v[O_TREE];
	pt_ptree *t[2] = { NULL, NULL };
	pt_forest *fo[2] = { NULL, NULL };
	const char *names[2] = { "tree", NULL };
	char digest[2][33] = { "", "" };
	pt_manifest *m = NULL;
	pt_eval *v = NULL;
	pt_eval_opts o = { 0 };
	fe_in in;
	const pt_schema *s;
	const pt_batch *b;
	char *buf = NULL;
	size_t len;
	int rc = -1, k, nt = tv->nlist, partial = fe_flag(a, O_PARTIAL);

	if (fe_flag(a, O_EMERGE))
		return eval_merge(a, e);
	if (fe_flag(a, O_EXPECT))
		return pt_fail(e, PT_EUSAGE, "", "--expect goes with --merge");
	if (fe_flag(a, O_PARTITION) && !partial)
		return pt_fail(e, PT_EUSAGE, "", "--partition names the "
		    "partition of a --partial");
	if (partial && fe_flag(a, O_RANKBY))
		return pt_fail(e, PT_EUSAGE, "", "--rank-by ranks rows, which "
		    "stay in their partitions: curves over partitions rank the "
		    "tree's leaves");
	if (partial && (fe_flag(a, O_JSON) || fe_flag(a, O_TSV) ||
	    fe_flag(a, O_CURVE)))
		return pt_fail(e, PT_EUSAGE, "", "--partial writes a partial: "
		    "--json, --tsv and --curve go with the report of "
		    "eval --merge");
	if (nt == 0)
		return pt_fail(e, PT_EUSAGE, "", "-t TREE is required");
	if (nt > 2)
		return pt_fail(e, PT_EUSAGE, "", "eval compares at most two "
		    "trees (-t A -t B); %d given", nt);
	if (fe_flag(a, O_JSON) && fe_flag(a, O_TSV))
		return pt_fail(e, PT_EUSAGE, "", "--json and --tsv do not mix");
	if (fe_flag(a, O_RANKBY) && !fe_flag(a, O_CURVE))
		return pt_fail(e, PT_EUSAGE, "", "--rank-by ranks the rows of "
		    "--curve: give --curve FILE");
	if (fe_flag(a, O_CONTROL) && !fe_flag(a, O_CURVE) && !partial)
		return pt_fail(e, PT_EUSAGE, "", "--control names the control of "
		    "--curve: give --curve FILE");
	fe_in_init(&in, a->argc, a->argv);
	for (k = 0; k < nt; k++)
		if ((t[k] = load_policy(tv->list[k], &fo[k], digest[k], e)) ==
		    NULL && fo[k] == NULL)
			goto out;
	if (nt == 1 && fo[0] != NULL)
		names[0] = "forest";
	if (nt == 2) {
		names[0] = tv->list[0];
		names[1] = tv->list[1];
	}
	if (fe_flag(a, O_MANIFEST) && (m = load_manifest(a, e)) == NULL)
		goto out;
	o.m = m;
	o.control = fe_str(a, O_CONTROL, NULL);
	o.cluster = fe_str(a, O_CLUSTER, NULL);
	o.curves = fe_flag(a, O_CURVE);
	o.rank_prefix = fe_str(a, O_RANKBY, NULL);
	o.max_memory = max_memory(a);
	o.partial = partial;
	o.partition = fe_str(a, O_PARTITION, NULL);
	o.digest[0] = digest[0];
	o.digest[1] = digest[1];
	if ((s = fe_in_schema(&in, e)) == NULL)
		goto out;
	if ((v = pt_eval_new((const pt_ptree *const *)t,
	    (const pt_forest *const *)fo, names, nt, s, &o, e)) == NULL) {
		if (e->code != PT_EUSAGE)
			where(e, in.paths[0]);
		goto out;
	}
	while ((k = fe_in_next(&in, &b, e)) == 1)
		if (pt_eval_add(v, b, e) < 0) {
			if (e->where[0] == '\0')
				snprintf(e->where, sizeof e->where, "%s", in.name);
			goto out;
		}
	if (k < 0)
		goto out;
	fe_progress_done(in.rows, in.done_bytes);
	if (partial) {
		if (pt_eval_partial(v, &buf, &len, e) < 0)
			goto out;
		rc = write_out(a, buf, len, 0, e);
	} else
		rc = eval_report(a, v, o.curves, m != NULL, e);
out:
	free(buf);
	pt_eval_free(v);
	fe_in_close(&in);
	pt_ptree_free(t[0]);
	pt_ptree_free(t[1]);
	pt_forest_free(fo[0]);
	pt_forest_free(fo[1]);
	pt_manifest_free(m);
	return rc;
}

static int
cmd_show(const fe_args *a, pt_err *e)
{
	const char *path = fe_str(a, O_TREE, a->argc ? a->argv[0] : NULL);
	pt_ptree *t;
	char *s;
	int rc;

	if (path == NULL)
		return pt_fail(e, PT_EUSAGE, "", "-t TREE is required");
	if (fe_flag(a, O_TREE) && a->argc > 0)
		return pt_fail(e, PT_EUSAGE, "", "show takes -t TREE or TREE, "
		    "not both");
	if ((t = load_tree(path, e)) == NULL)
		return -1;
	if (fe_flag(a, O_DOT) && fe_flag(a, O_JSON)) {
		pt_ptree_free(t);
		return pt_fail(e, PT_EUSAGE, "", "--dot and --json do not mix");
	}
	s = fe_flag(a, O_DOT) ? pt_ptree_dot(t, e) : fe_flag(a, O_JSON) ?
	    pt_ptree_json(t, e) : pt_ptree_text(t, e);
	pt_ptree_free(t);
	if (s == NULL)
		return -1;
	rc = write_out(a, s, strlen(s), 0, e);
	free(s);
	return rc;
}

int
main(int argc, char **argv)
{
	static int (*const run[])(const fe_args *, pt_err *) = { cmd_hist,
		cmd_merge, cmd_best, cmd_fit, cmd_apply, cmd_show, cmd_eval };
	fe_args a;
	pt_err e;
	int rc;

	fe_init("policy-split");
	if ((rc = fe_parse(&cli, argc, argv, &a)) != 0) {
		fe_args_free(&a);
		return rc == 1 ? FE_EXIT_OK : FE_EXIT_TROUBLE;
	}
	pt_err_clear(&e);
	rc = run[a.verb](&a, &e);
	fe_args_free(&a);
	if (rc < 0) {
		if (e.code == PT_EUSAGE && e.where[0] == '\0')
			return fe_usage_error("%s", e.msg);
		return fe_error(&e);
	}
	return FE_EXIT_OK;
}

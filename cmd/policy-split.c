/*
 * policy-split: collect-less split search (man/policy-split.1).
 *
 *   hist -m M [-t TREE]      scored frames -> partial of the open nodes
 *   merge [--expect N] P...  partials -> one partial, all or nothing
 *   best -m M [-t TREE]      merged partial -> TREE grown by one level
 *   fit -m M --depth K       scored frames -> tree, one process
 *   apply -t TREE            frames -> frames + action column
 *   show -t TREE [--dot]     the tree as text or Graphviz
 *   eval -t TREE             scored frames -> policy value and arms' values
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe.h"
#include "frame.h"
#include "hist.h"
#include "manifest.h"
#include "number.h"
#include "search.h"
#include "tree.h"
#include "xsum.h"

/* Problems bigger than this many operations (pt_exact_cost: about 1e9
 * a second) are refused by --exact. */
#define EXACT_LIMIT 4e11

typedef struct opts {
	const char *manifest, *tree, *model, *out, *partition;
	int depth, criterion, exact, dot, level, force, expect;
	uint64_t min_node_size;
	int trees;              /* fit --trees: a forest (0: one tree) */
	pt_forest_info forest;
	int nin;
	char **in;
} opts;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: policy-split hist -m MANIFEST [-t TREE] [-M MODEL] [--partition ID] [FILE...]\n"
"       policy-split merge [--expect N] PARTIAL...\n"
"       policy-split best -m MANIFEST [-t TREE] [--depth K] [--criterion C]\n"
"                         [--min-node-size N] [PARTIAL]\n"
"       policy-split fit -m MANIFEST --depth K [--exact] [--criterion C]\n"
"                         [--min-node-size N] [-M MODEL] [FILE...]\n"
"       policy-split fit -m MANIFEST --trees T [--subsample S] [--mtry K]\n"
"                         [--seed N] [--depth K] [--criterion C] [FILE...]\n"
"       policy-split apply -t TREE [-l N] [--force] [FILE...]\n"
"       policy-split show -t TREE [--dot]\n"
"       policy-split eval -t TREE [FILE...]\n"
"common: -o FILE, --progress, -h/--help, --version\n"
"criteria: welfare (default), ddp\n");
}

/* ---- helpers ----------------------------------------------------------- */

static pt_manifest *
load_manifest(const char *path, pt_err *e)
{
	if (path == NULL) {
		pt_fail(e, PT_EUSAGE, "", "-m MANIFEST is required");
		return NULL;
	}
	return pt_manifest_read(path, e);
}

static pt_ptree *
load_tree(const char *path, pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	pt_ptree *t;

	if (buf == NULL)
		return NULL;
	t = pt_ptree_parse(buf, len, path, e);
	free(buf);
	return t;
}

static int
model_digest(const char *path, char out[33], pt_err *e)
{
	size_t len;
	char *buf;

	out[0] = '\0';
	if (path == NULL)
		return 0;
	if ((buf = fe_slurp(path, &len, e)) == NULL)
		return -1;
	pt_h128_hex(pt_hash128(buf, len, 0), out);
	free(buf);
	return 0;
}

static int
write_buf(const opts *o, const char *buf, size_t len, int binary, pt_err *e)
{
	fe_out out;

	if (fe_out_open(&out, o->out, binary, o->force, e) < 0)
		return -1;
	if (fe_write_all(out.fd, out.name, buf, len, e) < 0 ||
	    fe_out_commit(&out, e) < 0) {
		fe_out_abort(&out);
		return -1;
	}
	return 0;
}

static int
write_tree(const opts *o, pt_ptree *t, pt_err *e)
{
	char *buf;
	size_t len;
	int rc;

	if (pt_ptree_write(t, &buf, &len, e) < 0)
		return -1;
	rc = write_buf(o, buf, len, 0, e);
	free(buf);
	return rc;
}

/* Iterates the frames of the inputs (stdin when none). */
typedef int (*frame_fn)(void *ctx, const pt_schema *s, const pt_batch *b,
    pt_err *e);
typedef int (*schema_fn)(void *ctx, const pt_schema *s, pt_err *e);

static int
each_frame(const opts *o, schema_fn sf, frame_fn ff, void *ctx, pt_err *e)
{
	int i, n = o->nin ? o->nin : 1;
	uint64_t rows = 0, bytes = 0;
	pt_schema *first = NULL;

	for (i = 0; i < n; i++) {
		const char *path = o->nin ? o->in[i] : "-";
		const char *name = strcmp(path, "-") ? path : "<stdin>";
		int fd = fe_open_in(path, e), r;
		pt_reader *rd;
		const pt_batch *b;
		if (fd < 0)
			goto fail;
		rd = pt_reader_open(fd, name, e);
		if (rd == NULL) {
			if (fd != 0)
				close(fd);
			goto fail;
		}
		if (first == NULL) {
			first = pt_schema_clone(pt_reader_schema(rd));
			if (first == NULL || sf(ctx, first, e) < 0) {
				if (first == NULL)
					pt_fail(e, PT_ENOMEM, name, "out of memory");
				pt_reader_close(rd);
				if (fd != 0)
					close(fd);
				goto fail;
			}
		} else if (!pt_schema_equal(first, pt_reader_schema(rd))) {
			pt_fail(e, PT_EMISMATCH, name, "schema differs from the "
			    "first input's");
			pt_reader_close(rd);
			if (fd != 0)
				close(fd);
			goto fail;
		}
		while ((r = pt_reader_next(rd, &b, e)) == 1) {
			if (ff(ctx, first, b, e) < 0) {
				if (e->where[0] == '\0')
					snprintf(e->where, sizeof e->where, "%s",
					    name);
				r = -1;
				break;
			}
			fe_progress(rows + pt_reader_rows(rd), bytes +
			    pt_reader_bytes(rd));
		}
		rows += pt_reader_rows(rd);
		bytes += pt_reader_bytes(rd);
		pt_reader_close(rd);
		if (fd != 0)
			close(fd);
		if (r < 0)
			goto fail;
	}
	fe_progress_done(rows, bytes);
	pt_schema_free(first);
	return 0;
fail:
	pt_schema_free(first);
	return -1;
}

/* ---- hist --------------------------------------------------------------- */

typedef struct histctx {
	pt_hist *h;
	const pt_manifest *m;
	const pt_ptree *t;
	pt_hist_cols cols;
	int bound;
	int *node_of;
	size_t cap;
	int *tcols;
	const double **x;
} histctx;

static int
hist_schema(void *v, const pt_schema *s, pt_err *e)
{
	histctx *c = v;

	if (pt_hist_bind(c->h, c->m, s, &c->cols, e) < 0)
		return -1;
	c->bound = 1;
	return 0;
}

static int
hist_frame(void *v, const pt_schema *s, const pt_batch *b, pt_err *e)
{
	histctx *c = v;
	size_t i;
	int f;

	(void)s;
	if (c->t == NULL || c->t->nnodes == 1)
		return pt_hist_add(c->h, c->m, &c->cols, b, NULL, e);
	if (b->nrows > c->cap) {
		free(c->node_of);
		c->cap = b->nrows;
		c->node_of = malloc(c->cap * sizeof *c->node_of);
		if (c->node_of == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	for (f = 0; f < c->m->nfeatures; f++)
		c->x[f] = PT_COL_F64(b, c->cols.feature[f]);
	for (i = 0; i < b->nrows; i++) {
		int k = pt_ptree_route(c->t, c->x, i), slot = -1;
		if (c->t->nodes[k].open) {
			int lo = 0, hi = c->h->nnodes - 1;
			while (lo <= hi) {
				int mid = (lo + hi) / 2;
				if (c->h->nodes[mid] == c->t->nodes[k].id) {
					slot = mid;
					break;
				}
				if (c->h->nodes[mid] < c->t->nodes[k].id)
					lo = mid + 1;
				else
					hi = mid - 1;
			}
		}
		c->node_of[i] = slot;
	}
	return pt_hist_add(c->h, c->m, &c->cols, b, c->node_of, e);
}

/* One pass over the inputs: a partial for the open nodes of t (root when
 * t is NULL). */
static pt_hist *
make_hist(const opts *o, const pt_manifest *m, const pt_ptree *t,
    const char *model, pt_err *e)
{
	histctx c;
	uint32_t *ids = NULL;
	int nids = 0;

	memset(&c, 0, sizeof c);
	c.m = m;
	c.t = t;
	if (t != NULL) {
		if (pt_ptree_check_manifest(t, m, e) < 0)
			return NULL;
		if (t->complete) {
			pt_fail(e, PT_EUSAGE, "", "the tree is complete: nothing "
			    "to grow");
			return NULL;
		}
		if ((nids = pt_ptree_open(t, &ids, e)) < 0)
			return NULL;
	}
	c.h = pt_hist_new(m, model, t && t->level > 0 ? t->digest : NULL,
	    t ? t->level : 0, ids, nids, e);
	free(ids);
	c.x = calloc((size_t)m->nfeatures, sizeof *c.x);
	if (c.h == NULL || c.x == NULL) {
		if (c.x == NULL)
			pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto fail;
	}
	if (each_frame(o, hist_schema, hist_frame, &c, e) < 0)
		goto fail;
	if (pt_hist_set_part(c.h, o->partition, e) < 0)
		goto fail;
	pt_hist_cols_free(&c.cols);
	free(c.node_of);
	free(c.x);
	return c.h;
fail:
	pt_hist_cols_free(&c.cols);
	free(c.node_of);
	free(c.x);
	pt_hist_free(c.h);
	return NULL;
}

static int
cmd_hist(const opts *o, pt_err *e)
{
	pt_manifest *m = load_manifest(o->manifest, e);
	pt_ptree *t = NULL;
	pt_hist *h = NULL;
	char model[33], *buf = NULL;
	size_t len;
	int rc = -1;

	if (m == NULL)
		return -1;
	if (o->tree && (t = load_tree(o->tree, e)) == NULL)
		goto out;
	if (model_digest(o->model, model, e) < 0)
		goto out;
	if (t != NULL && t->level > 0 && strcmp(t->model, model) != 0) {
		pt_fail(e, PT_EMISMATCH, "", "the tree was grown with model %s, "
		    "not %s", t->model[0] ? t->model : "(none)",
		    model[0] ? model : "(none)");
		goto out;
	}
	if ((h = make_hist(o, m, t, model, e)) == NULL)
		goto out;
	if (pt_hist_write(h, &buf, &len, e) < 0)
		goto out;
	rc = write_buf(o, buf, len, 1, e);
out:
	free(buf);
	pt_hist_free(h);
	pt_ptree_free(t);
	pt_manifest_free(m);
	return rc;
}

/* ---- merge -------------------------------------------------------------- */

static pt_hist *
read_partial(const char *path, pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	pt_hist *h;

	if (buf == NULL)
		return NULL;
	h = pt_hist_read(buf, len, strcmp(path, "-") ? path : "<stdin>", e);
	free(buf);
	return h;
}

static int
cmd_merge(const opts *o, pt_err *e)
{
	pt_hist *acc = NULL;
	char *buf = NULL;
	size_t len;
	int i, rc = -1;

	if (o->nin < 1)
		return pt_fail(e, PT_EUSAGE, "", "merge needs at least one "
		    "partial");
	for (i = 0; i < o->nin; i++) {
		pt_hist *h = read_partial(o->in[i], e);
		if (h == NULL)
			goto out;
		if (acc == NULL) {
			acc = h;
			continue;
		}
		if (pt_hist_merge(acc, h, e) < 0) {
			if (e->where[0] == '\0')
				snprintf(e->where, sizeof e->where, "%s",
				    o->in[i]);
			pt_hist_free(h);
			goto out;
		}
		pt_hist_free(h);
	}
	if (o->expect > 0 && acc->nparts < o->expect) {
		pt_fail(e, PT_EMISMATCH, "", "%d partitions merged, %d expected",
		    acc->nparts, o->expect);
		goto out;
	}
	if (pt_hist_write(acc, &buf, &len, e) < 0)
		goto out;
	rc = write_buf(o, buf, len, 1, e);
out:
	free(buf);
	pt_hist_free(acc);
	return rc;
}

/* ---- best, fit ---------------------------------------------------------- */

static int
check_root(const pt_ptree *t, const pt_hist *h, pt_err *e)
{
	/* A root that could not be split: say why instead of writing a
	 * single leaf nobody asked for. */
	if (t->nodes[0].feature < 0) {
		uint64_t n = t->nodes[0].rows;
		if (n == 0)
			return pt_fail(e, PT_EEMPTY, "", "no rows");
		if (t->min_node_size * 2 > n)
			return pt_fail(e, PT_EVALUE, "", "--min-node-size %" PRIu64
			    " is more than half of the %" PRIu64 " rows: the "
			    "tree would be a single leaf", t->min_node_size, n);
		if (t->criterion == PT_CRIT_DDP)
			return pt_fail(e, PT_EVALUE, "", "no valid ddp split of "
			    "the root (every arm needs rows on both sides): "
			    "the tree would be a single leaf");
		return pt_fail(e, PT_EVALUE, "", "no valid split of the root: "
		    "the tree would be a single leaf");
	}
	(void)h;
	return 0;
}

static int
cmd_best(const opts *o, pt_err *e)
{
	pt_manifest *m = load_manifest(o->manifest, e);
	pt_ptree *t = NULL;
	pt_hist *h = NULL;
	int rc = -1, wasroot;

	if (m == NULL)
		return -1;
	if (o->nin > 1) {
		pt_fail(e, PT_EUSAGE, "", "best takes one (merged) partial");
		goto out;
	}
	if ((h = read_partial(o->nin ? o->in[0] : "-", e)) == NULL)
		goto out;
	if (o->tree)
		t = load_tree(o->tree, e);
	else
		t = pt_ptree_new(m, NULL, o->criterion, o->depth, o->min_node_size,
		    e);
	if (t == NULL)
		goto out;
	wasroot = t->level == 0;
	if (pt_search_grow(t, h, m, e) < 0)
		goto out;
	if (wasroot && check_root(t, h, e) < 0)
		goto out;
	rc = write_tree(o, t, e);
out:
	pt_hist_free(h);
	pt_ptree_free(t);
	pt_manifest_free(m);
	return rc;
}

/* Copies stdin (or a pipe) to an unlinked temporary file so fit can read
 * it once per level; returns the path of a /dev/fd entry. */
static int
spool_stdin(char *path, size_t n, pt_err *e)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[4096];
	char buf[1 << 16];
	ssize_t r;
	int fd;

	snprintf(tmpl, sizeof tmpl, "%s/policy-split.XXXXXX", dir && *dir ? dir :
	    "/tmp");
	if ((fd = mkstemp(tmpl)) < 0)
		return pt_fail(e, PT_EIO, tmpl, "%s", strerror(errno));
	unlink(tmpl);
	while ((r = read(0, buf, sizeof buf)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return pt_fail(e, PT_EIO, "<stdin>", "%s", strerror(errno));
		}
		if (fe_write_all(fd, "temporary file", buf, (size_t)r, e) < 0) {
			close(fd);
			return -1;
		}
	}
	snprintf(path, n, "/dev/fd/%d", fd);
	return fd;
}

typedef struct rowctx {
	pt_rowset *r;
	const pt_manifest *m;
	pt_hist *shape;
	pt_hist_cols cols;
} rowctx;

static int
rows_schema(void *v, const pt_schema *s, pt_err *e)
{
	rowctx *c = v;

	return pt_hist_bind(c->shape, c->m, s, &c->cols, e);
}

static int
rows_frame(void *v, const pt_schema *s, const pt_batch *b, pt_err *e)
{
	rowctx *c = v;

	(void)s;
	return pt_rowset_add(c->r, c->m, &c->cols, b, e);
}

static int
fit_exact(const opts *o, pt_manifest *m, const char *model, pt_err *e)
{
	pt_rowset r;
	rowctx c;
	pt_ptree *t = NULL;
	double cost;
	int rc = -1;

	memset(&c, 0, sizeof c);
	pt_rowset_init(&r, m);
	c.r = &r;
	c.m = m;
	if (o->depth != 2) {
		pt_fail(e, PT_EUSAGE, "", "--exact searches depth 2 only");
		goto out;
	}
	if (o->criterion != PT_CRIT_WELFARE) {
		pt_fail(e, PT_EUSAGE, "", "--exact uses the welfare criterion");
		goto out;
	}
	/* The cost bound that does not depend on the rows, before reading. */
	cost = pt_exact_cost(m, 0, m->nvocab);
	if (cost > EXACT_LIMIT) {
		pt_fail(e, PT_ELIMIT, "", "--exact: about %.3g operations for "
		    "this manifest's boundaries: too big (limit %.3g); use "
		    "fewer bins or the greedy search", cost, EXACT_LIMIT);
		goto out;
	}
	if ((c.shape = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e)) == NULL)
		goto out;
	if (each_frame(o, rows_schema, rows_frame, &c, e) < 0)
		goto out;
	cost = pt_exact_cost(m, r.n, m->nvocab);
	if (cost > EXACT_LIMIT) {
		pt_fail(e, PT_ELIMIT, "", "--exact: about %.3g operations for "
		    "%zu rows: too big (limit %.3g)", cost, r.n, EXACT_LIMIT);
		goto out;
	}
	fe_warnx("exact depth-2 search: %zu rows, %d features, about %.0f MB "
	    "and %.3g operations", r.n, m->nfeatures,
	    (double)pt_exact_memory(m, r.n, m->nvocab) / 1e6, cost);
	t = pt_ptree_new(m, model, PT_CRIT_WELFARE, 2, o->min_node_size, e);
	if (t == NULL)
		goto out;
	if (pt_search_exact2(t, &r, m, e) < 0)
		goto out;
	rc = write_tree(o, t, e);
out:
	pt_hist_cols_free(&c.cols);
	pt_hist_free(c.shape);
	pt_ptree_free(t);
	pt_rowset_free(&r);
	return rc;
}

/* A forest: every tree grown from the rows in memory, on its own row
 * subsample and per-node feature subsets (both by hash). */
static int
fit_forest(const opts *o, pt_manifest *m, const char *model, pt_err *e)
{
	pt_rowset r;
	rowctx c;
	pt_ptree **ts = NULL;
	char *buf = NULL;
	size_t len;
	int rc = -1, k;

	memset(&c, 0, sizeof c);
	pt_rowset_init(&r, m);
	c.r = &r;
	c.m = m;
	if (o->exact) {
		pt_fail(e, PT_EUSAGE, "", "--exact and --trees do not mix");
		goto out;
	}
	if ((c.shape = pt_hist_new(m, NULL, NULL, 0, NULL, 0, e)) == NULL)
		goto out;
	if (each_frame(o, rows_schema, rows_frame, &c, e) < 0)
		goto out;
	if (r.n == 0) {
		pt_fail(e, PT_EEMPTY, "", "no rows");
		goto out;
	}
	if ((ts = calloc((size_t)o->trees, sizeof *ts)) == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	for (k = 0; k < o->trees; k++) {
		ts[k] = pt_ptree_new(m, model, o->criterion, o->depth,
		    o->min_node_size, e);
		if (ts[k] == NULL ||
		    pt_search_forest_tree(ts[k], &r, m, k, &o->forest, e) < 0)
			goto out;
	}
	if (pt_ptree_write_forest(ts, o->trees, &o->forest, &buf, &len, e) < 0)
		goto out;
	rc = write_buf(o, buf, len, 0, e);
out:
	if (ts != NULL)
		for (k = 0; k < o->trees; k++)
			pt_ptree_free(ts[k]);
	free(ts);
	free(buf);
	pt_hist_cols_free(&c.cols);
	pt_hist_free(c.shape);
	pt_rowset_free(&r);
	return rc;
}

static int
cmd_fit(const opts *o, pt_err *e)
{
	pt_manifest *m = load_manifest(o->manifest, e);
	pt_ptree *t = NULL;
	char model[33], spool[64];
	opts o2 = *o;
	char *one[1];
	int rc = -1, fd = -1, i, level;

	if (m == NULL)
		return -1;
	if (model_digest(o->model, model, e) < 0)
		goto out;
	if (o->trees > 0) {
		rc = fit_forest(o, m, model, e);
		goto out;
	}
	if (o->exact) {
		rc = fit_exact(o, m, model, e);
		goto out;
	}
	/* One pass per level: inputs must be re-readable. */
	for (i = 0; i < o->nin; i++) {
		struct stat st;
		if (strcmp(o->in[i], "-") == 0 || (stat(o->in[i], &st) == 0 &&
		    !S_ISREG(st.st_mode)))
			break;
	}
	if (o->nin == 0 || i < o->nin) {
		if (o->nin > 1) {
			pt_fail(e, PT_EUSAGE, "", "fit reads stdin or regular "
			    "files");
			goto out;
		}
		if ((fd = spool_stdin(spool, sizeof spool, e)) < 0)
			goto out;
		one[0] = spool;
		o2.in = one;
		o2.nin = 1;
	}
	t = pt_ptree_new(m, model, o->criterion, o->depth, o->min_node_size, e);
	if (t == NULL)
		goto out;
	for (level = 0; !t->complete; level++) {
		pt_hist *h;
		if (fd >= 0)
			lseek(fd, 0, SEEK_SET);
		/* Exactly the hist / best steps of the distributed loop. */
		if (level > 0) {
			char *buf;
			size_t len;
			if (pt_ptree_write(t, &buf, &len, e) < 0)
				goto out;
			free(buf);
		}
		h = make_hist(&o2, m, level ? t : NULL, model, e);
		if (h == NULL)
			goto out;
		if (pt_search_grow(t, h, m, e) < 0) {
			pt_hist_free(h);
			goto out;
		}
		if (level == 0 && check_root(t, h, e) < 0) {
			pt_hist_free(h);
			goto out;
		}
		pt_hist_free(h);
	}
	rc = write_tree(o, t, e);
out:
	if (fd >= 0)
		close(fd);
	pt_ptree_free(t);
	pt_manifest_free(m);
	return rc;
}

/* ---- apply, eval, show -------------------------------------------------- */

typedef struct applyctx {
	const pt_ptree *t;
	int *tcols;
	const double **x;
	pt_schema *os;
	pt_batch *ob;
	pt_writer *w;
	fe_out out;
	int level, opened, force;
	const char *outpath;
	/* eval */
	pt_evalacc ev;
	int *score;
	double *g;
} applyctx;

static int
bind_tree(applyctx *c, const pt_schema *s, pt_err *e)
{
	int f;

	c->tcols = calloc((size_t)c->t->nfeatures, sizeof *c->tcols);
	c->x = calloc((size_t)c->t->nfeatures, sizeof *c->x);
	if (c->tcols == NULL || c->x == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	if (pt_ptree_bind(c->t, s, c->tcols, e) < 0)
		return -1;
	for (f = 0; f < c->t->nfeatures; f++)
		c->x[f] = NULL;
	return 0;
}

static void
route_setup(applyctx *c, const pt_batch *b)
{
	int f;

	for (f = 0; f < c->t->nfeatures; f++)
		c->x[f] = c->tcols[f] >= 0 ? PT_COL_F64(b, c->tcols[f]) : NULL;
}

static int
apply_schema(void *v, const pt_schema *s, pt_err *e)
{
	applyctx *c = v;

	if (bind_tree(c, s, e) < 0)
		return -1;
	if (pt_schema_find(s, "action") >= 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames already have an "
		    "action column");
	if ((c->os = pt_schema_clone(s)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	if (pt_schema_add(c->os, "action", PT_I32, PT_ROLE_ACTION, c->t->narms,
	    c->t->vocab, e) < 0)
		return -1;
	if (fe_out_open(&c->out, c->outpath, 1, c->force, e) < 0)
		return -1;
	c->opened = 1;
	c->w = pt_writer_open(c->out.fd, c->out.name, c->os, c->level >= 0 ?
	    c->level : fe_default_level(c->out.fd), e);
	return c->w ? 0 : -1;
}

static int
apply_frame(void *v, const pt_schema *s, const pt_batch *b, pt_err *e)
{
	applyctx *c = v;
	size_t i, sz;
	int j;
	int32_t *act;

	if (c->ob == NULL || c->ob->cap < b->nrows) {
		pt_batch_free(c->ob);
		c->ob = pt_batch_new(c->os, b->nrows > PT_FRAME_ROWS ? b->nrows :
		    PT_FRAME_ROWS);
		if (c->ob == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	for (j = 0; j < s->ncols; j++) {
		sz = pt_type_width(s->cols[j].type);
		memcpy(c->ob->col[j], b->col[j], b->nrows * sz);
	}
	c->ob->nrows = b->nrows;
	route_setup(c, b);
	act = PT_COL_I32(c->ob, s->ncols);
	for (i = 0; i < b->nrows; i++)
		act[i] = c->t->nodes[pt_ptree_route(c->t, c->x, i)].action;
	return pt_writer_write(c->w, c->ob, e);
}

static int
cmd_apply(const opts *o, pt_err *e)
{
	applyctx c;
	int rc = -1;

	memset(&c, 0, sizeof c);
	if (o->tree == NULL)
		return pt_fail(e, PT_EUSAGE, "", "-t TREE is required");
	if ((c.t = load_tree(o->tree, e)) == NULL)
		return -1;
	c.level = o->level;
	c.force = o->force;
	c.outpath = o->out;
	if (each_frame(o, apply_schema, apply_frame, &c, e) < 0)
		goto out;
	if (pt_writer_close(c.w, e) < 0) {
		c.w = NULL;
		goto out;
	}
	c.w = NULL;
	if (fe_out_commit(&c.out, e) < 0)
		goto out;
	c.opened = 0;
	rc = 0;
out:
	if (c.w)
		pt_writer_abort(c.w);
	if (c.opened)
		fe_out_abort(&c.out);
	pt_batch_free(c.ob);
	pt_schema_free(c.os);
	free(c.tcols);
	free(c.x);
	pt_ptree_free((pt_ptree *)c.t);
	return rc;
}

static int
eval_schema(void *v, const pt_schema *s, pt_err *e)
{
	applyctx *c = v;
	int a, n;
	pt_role role = PT_ROLE_SCORE;

	if (bind_tree(c, s, e) < 0)
		return -1;
	n = pt_schema_count_role(s, PT_ROLE_SCORE);
	if (n == 0) {
		role = PT_ROLE_REWARD;
		n = pt_schema_count_role(s, PT_ROLE_REWARD);
	}
	if (n == 0)
		return pt_fail(e, PT_EVALUE, "", "frames have no score columns "
		    "(run policy-score first)");
	if (n != c->t->narms)
		return pt_fail(e, PT_EMISMATCH, "", "%d score columns for %d "
		    "actions", n, c->t->narms);
	c->score = calloc((size_t)n, sizeof *c->score);
	c->g = calloc((size_t)n, sizeof *c->g);
	if (c->score == NULL || c->g == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (a = 0; a < n; a++) {
		c->score[a] = pt_schema_find_role(s, role, a);
		if (s->cols[c->score[a]].type != PT_F64)
			return pt_fail(e, PT_EFORMAT, "", "score column not f64");
	}
	return pt_eval_init(&c->ev, n, e);
}

static int
eval_frame(void *v, const pt_schema *s, const pt_batch *b, pt_err *e)
{
	applyctx *c = v;
	size_t i;
	int a;

	(void)s;
	route_setup(c, b);
	for (i = 0; i < b->nrows; i++) {
		for (a = 0; a < c->t->narms; a++) {
			c->g[a] = PT_COL_F64(b, c->score[a])[i];
			if (!isfinite(c->g[a]))
				return pt_fail(e, PT_EVALUE, "", "row %zu: score "
				    "is not finite", i + 1);
		}
		pt_eval_row(&c->ev, c->g, 1,
		    c->t->nodes[pt_ptree_route(c->t, c->x, i)].action);
	}
	return 0;
}

static int
cmd_eval(const opts *o, pt_err *e)
{
	applyctx c;
	int rc = -1, a;
	char buf[8192], m1[32], s1[32];
	size_t len = 0;
	double mean, se;

	memset(&c, 0, sizeof c);
	if (o->tree == NULL)
		return pt_fail(e, PT_EUSAGE, "", "-t TREE is required");
	if ((c.t = load_tree(o->tree, e)) == NULL)
		return -1;
	if (each_frame(o, eval_schema, eval_frame, &c, e) < 0)
		goto out;
	if (c.ev.n == 0) {
		pt_fail(e, PT_EEMPTY, "", "no rows to evaluate");
		goto out;
	}
	pt_eval_stats(&c.ev.pol, &c.ev.pol2, c.ev.n, &mean, &se);
	pt_fmt_f64(m1, mean);
	pt_fmt_f64(s1, se);
	len += (size_t)snprintf(buf + len, sizeof buf - len,
	    "rows: %" PRIu64 "\npolicy: {value: %s, se: %s}\narms:\n", c.ev.n,
	    m1, s1);
	for (a = 0; a < c.t->narms && len < sizeof buf - 600; a++) {
		pt_eval_stats(&c.ev.arm[a], &c.ev.arm2[a], c.ev.n, &mean, &se);
		pt_fmt_f64(m1, mean);
		pt_fmt_f64(s1, se);
		len += (size_t)snprintf(buf + len, sizeof buf - len,
		    "  - {action: %s, value: %s, se: %s}\n", c.t->vocab[a], m1,
		    s1);
	}
	rc = write_buf(o, buf, len, 0, e);
out:
	if (c.score)
		pt_eval_free(&c.ev);
	free(c.score);
	free(c.g);
	free(c.tcols);
	free(c.x);
	pt_ptree_free((pt_ptree *)c.t);
	return rc;
}

static int
cmd_show(const opts *o, pt_err *e)
{
	pt_ptree *t;
	char *s;
	int rc;
	const char *path = o->tree ? o->tree : (o->nin ? o->in[0] : NULL);

	if (path == NULL)
		return pt_fail(e, PT_EUSAGE, "", "-t TREE is required");
	if ((t = load_tree(path, e)) == NULL)
		return -1;
	s = o->dot ? pt_ptree_dot(t, e) : pt_ptree_text(t, e);
	pt_ptree_free(t);
	if (s == NULL)
		return -1;
	rc = write_buf(o, s, strlen(s), 0, e);
	free(s);
	return rc;
}

/* ---- main --------------------------------------------------------------- */

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "manifest", required_argument, NULL, 'm' },
		{ "tree", required_argument, NULL, 't' },
		{ "model", required_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "depth", required_argument, NULL, 'd' },
		{ "criterion", required_argument, NULL, 'c' },
		{ "min-node-size", required_argument, NULL, 'n' },
		{ "expect", required_argument, NULL, 'x' },
		{ "partition", required_argument, NULL, 'p' },
		{ "exact", no_argument, NULL, 'E' },
		{ "trees", required_argument, NULL, 'T' },
		{ "subsample", required_argument, NULL, 'S' },
		{ "mtry", required_argument, NULL, 'K' },
		{ "seed", required_argument, NULL, 'Z' },
		{ "dot", no_argument, NULL, 'D' },
		{ "level", required_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'f' },
		{ "progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	opts o;
	pt_err e;
	const char *verb;
	uint64_t u;
	int ch, rc;

	fe_init(argv[0], "policy-split");
	memset(&o, 0, sizeof o);
	o.depth = 2;
	o.min_node_size = 1;
	o.level = -1;
	o.forest.subsample = 1;
	pt_err_clear(&e);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return FE_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("policy-split %s\n", PT_VERSION);
		return FE_EXIT_OK;
	}
	if (argc < 2)
		return fe_usage_error("a verb is required: hist, merge, best, "
		    "fit, apply, show or eval");
	verb = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "m:t:M:o:l:fh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'm': o.manifest = optarg; break;
		case 't': o.tree = optarg; break;
		case 'M': o.model = optarg; break;
		case 'o': o.out = optarg; break;
		case 'p': o.partition = optarg; break;
		case 'E': o.exact = 1; break;
		case 'D': o.dot = 1; break;
		case 'f': o.force = 1; break;
		case 'P': fe_progress_enable(1); break;
		case 'd':
			if (parse_u64(optarg, &u) < 0 || u < 1 ||
			    u > PT_PTREE_MAXDEPTH)
				return fe_usage_error("--depth: must be 1 to %d, "
				    "not '%s'", PT_PTREE_MAXDEPTH, optarg);
			o.depth = (int)u;
			break;
		case 'c':
			if (strcmp(optarg, "welfare") == 0)
				o.criterion = PT_CRIT_WELFARE;
			else if (strcmp(optarg, "ddp") == 0)
				o.criterion = PT_CRIT_DDP;
			else
				return fe_usage_error("--criterion: welfare or "
				    "ddp, not '%s'", optarg);
			break;
		case 'n':
			if (parse_u64(optarg, &u) < 0 || u < 1)
				return fe_usage_error("--min-node-size: a "
				    "positive integer, not '%s'", optarg);
			o.min_node_size = u;
			break;
		case 'T':
			if (parse_u64(optarg, &u) < 0 || u < 1 || u > 100000)
				return fe_usage_error("--trees: 1 to 100000, not "
				    "'%s'", optarg);
			o.trees = (int)u;
			break;
		case 'S': {
			double d;
			if (pt_parse_f64(optarg, strlen(optarg), &d) < 0 ||
			    !(d > 0 && d <= 1))
				return fe_usage_error("--subsample: a share in "
				    "(0, 1], not '%s'", optarg);
			o.forest.subsample = d;
			break;
		}
		case 'K':
			if (parse_u64(optarg, &u) < 0 || u > 1000000)
				return fe_usage_error("--mtry: a feature count, "
				    "not '%s'", optarg);
			o.forest.mtry = (int)u;
			break;
		case 'Z':
			if (parse_u64(optarg, &u) < 0)
				return fe_usage_error("--seed: an unsigned "
				    "integer, not '%s'", optarg);
			o.forest.seed = u;
			break;
		case 'x':
			if (parse_u64(optarg, &u) < 0 || u < 1 || u > 1000000)
				return fe_usage_error("--expect: a positive "
				    "integer, not '%s'", optarg);
			o.expect = (int)u;
			break;
		case 'l':
			if (parse_u64(optarg, &u) < 0 || u > 22)
				return fe_usage_error("--level: 0 to 22, not '%s'",
				    optarg);
			o.level = (int)u;
			break;
		case 'h':
			usage(stdout);
			return FE_EXIT_OK;
		case 'V':
			printf("policy-split %s\n", PT_VERSION);
			return FE_EXIT_OK;
		default:
			usage(stderr);
			return FE_EXIT_TROUBLE;
		}
	}
	o.in = argv + optind;
	o.nin = argc - optind;
	if (strcmp(verb, "hist") == 0)
		rc = cmd_hist(&o, &e);
	else if (strcmp(verb, "merge") == 0)
		rc = cmd_merge(&o, &e);
	else if (strcmp(verb, "best") == 0)
		rc = cmd_best(&o, &e);
	else if (strcmp(verb, "fit") == 0)
		rc = cmd_fit(&o, &e);
	else if (strcmp(verb, "apply") == 0)
		rc = cmd_apply(&o, &e);
	else if (strcmp(verb, "show") == 0)
		rc = cmd_show(&o, &e);
	else if (strcmp(verb, "eval") == 0)
		rc = cmd_eval(&o, &e);
	else
		return fe_usage_error("unknown verb '%s'", verb);
	if (rc < 0) {
		if (e.code == PT_EUSAGE && e.where[0] == '\0')
			return fe_usage_error("%s", e.msg);
		return fe_error(&e);
	}
	return FE_EXIT_OK;
}

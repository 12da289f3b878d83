/*
 * pforest.c: policy forests grown over partitions (pforest.h).
 */
#include "pforest.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "search.h"
#include "xsum.h"
#include "yamlin.h"
#include "yamlout.h"

#define STATE_HEAD "# policy-split forest state: policy trees grown level " \
    "by level; see policy-tree(5).\n"
#define PART_HEAD "# policy-split forest partial: a partial per tree; see " \
    "policy-tree(5).\n"
#define DIGEST_LINE 41 /* "digest: " 32 hex digits, a line end */
#define CHECK_LINE 28  /* "\nchecksum: " 16 hex digits, a line end */

static int
nomem(pt_err *e)
{
	return pt_fail(e, PT_ENOMEM, "", "out of memory");
}

/* ---- shared: a YAML header ending in "body:", a body of sized pieces --- */

/* Just past the header's "body:" line, or 0. */
static size_t
body_start(const char *buf, size_t len)
{
	for (size_t p = 0; p + 6 <= len; ) {
		const char *nl = memchr(buf + p, '\n', len - p);
		if (nl == NULL)
			return 0;
		if (memcmp(buf + p, "body:\n", 6) == 0)
			return (size_t)(nl - buf) + 1;
		p = (size_t)(nl - buf) + 1;
	}
	return 0;
}

/* The common header keys of states and partials. */
typedef struct head {
	char manifest[33], model[33], state[33];
	int64_t trees, level, mtry;
	double subsample;
	uint64_t seed, rows;
	size_t *sizes;
	char **parts;
	int nparts;
} head;

static void
head_free(head *h)
{
	free(h->sizes);
	pt_strs_free(h->parts, h->nparts);
	memset(h, 0, sizeof *h);
}

/* Reads the header in buf[0..hlen) of format fmt: keys is the list of
 * keys it may have (the reader checks those it needs). */
static int
head_read(const char *buf, size_t hlen, const char *name, const char *fmt,
    const char *const *keys, int is_part, head *h, pt_err *e)
{
	pt_ydoc d;
	yaml_node_t *root, *n;
	int64_t v, *sz = NULL;
	int nsz = 0, rc = -1;

	memset(h, 0, sizeof *h);
	if ((root = pt_ydoc_load(&d, buf, hlen, name, e)) == NULL)
		goto out;
	if (pt_ymap_only(&d, root, keys, e) < 0)
		goto out;
	n = pt_ynode_need(&d, root, "format", e);
	if (n == NULL || !pt_ynode_is(n, fmt)) {
		if (n != NULL)
			pt_yfail(e, &d, n, PT_EFORMAT, "format: not %s", fmt);
		goto out;
	}
	if (pt_ynode_int(&d, pt_ynode_need(&d, root, "version", e), "version",
	    1, 1, &v, e) < 0 ||
	    pt_ynode_digest(&d, pt_ynode_need(&d, root, "manifest", e),
	    "manifest", 0, h->manifest, e) < 0 ||
	    pt_ynode_digest(&d, pt_ynode_need(&d, root, "model", e), "model", 1,
	    h->model, e) < 0 ||
	    pt_ynode_int(&d, pt_ynode_need(&d, root, "trees", e), "trees", 1,
	    100000, &h->trees, e) < 0 ||
	    pt_ynode_f64(&d, (n = pt_ynode_need(&d, root, "subsample", e)),
	    "subsample", &h->subsample, e) < 0 ||
	    pt_ynode_u64(&d, pt_ynode_need(&d, root, "seed", e), "seed",
	    &h->seed, e) < 0)
		goto out;
	if (!(h->subsample > 0 && h->subsample <= 1)) {
		pt_yfail(e, &d, n, PT_EFORMAT, "subsample: not in (0, 1]");
		goto out;
	}
	if (is_part) {
		if (pt_ynode_digest(&d, pt_ynode_need(&d, root, "state", e),
		    "state", 1, h->state, e) < 0 ||
		    pt_ynode_int(&d, pt_ynode_need(&d, root, "level", e), "level",
		    0, PT_PTREE_MAXDEPTH, &h->level, e) < 0 ||
		    pt_ynode_u64(&d, pt_ynode_need(&d, root, "rows", e), "rows",
		    &h->rows, e) < 0 ||
		    (h->parts = pt_ynode_strs(&d, pt_ynode_need(&d, root,
		    "partitions", e), "partitions", &h->nparts, e)) == NULL)
			goto out;
		if ((h->level == 0) != (h->state[0] == '\0')) {
			pt_yfail(e, &d, root, PT_EFORMAT, "state: none at level 0 "
			    "only");
			goto out;
		}
	} else if (pt_ynode_int(&d, pt_ynode_need(&d, root, "mtry", e), "mtry",
	    0, 1000000, &h->mtry, e) < 0)
		goto out;
	if ((sz = pt_ynode_i64s(&d, (n = pt_ynode_need(&d, root, "sizes", e)),
	    "sizes", (int)h->trees, &nsz, e)) == NULL)
		goto out;
	if ((h->sizes = malloc((size_t)nsz * sizeof *h->sizes)) == NULL) {
		nomem(e);
		goto out;
	}
	for (int k = 0; k < nsz; k++) {
		if (sz[k] < (is_part ? 0 : 1)) {
			pt_yfail(e, &d, n, PT_EFORMAT, "sizes: %" PRId64 " bytes",
			    sz[k]);
			goto out;
		}
		h->sizes[k] = (size_t)sz[k];
	}
	rc = 0;
out:
	free(sz);
	pt_ydoc_free(&d);
	if (rc < 0)
		head_free(h);
	return rc;
}

static void
head_write(pt_buf *b, const char *fmt, const char *manifest,
    const char *model, int ntrees, const pt_forest_info *fi)
{
	pt_buf_printf(b, "format: %s\nversion: 1\nmanifest: %s\nmodel: %s\n"
	    "trees: %d\nsubsample: ", fmt, manifest, model[0] ? model : "none",
	    ntrees);
	pt_y_f64(b, fi->subsample);
	pt_buf_puts(b, "\nseed: ");
	pt_y_u64(b, fi->seed);
	pt_buf_putc(b, '\n');
}

/* ---- states ----------------------------------------------------------- */

void
pt_pfstate_free(pt_pfstate *s)
{
	if (s == NULL)
		return;
	for (int k = 0; s->t != NULL && k < s->ntrees; k++)
		pt_ptree_free(s->t[k]);
	free(s->t);
	free(s);
}

int
pt_pfstate_is(const char *buf, size_t len)
{
	return len >= strlen(STATE_HEAD) &&
	    memcmp(buf, STATE_HEAD, strlen(STATE_HEAD)) == 0;
}

int
pt_pfstate_complete(const pt_pfstate *s)
{
	for (int k = 0; k < s->ntrees; k++)
		if (!s->t[k]->complete)
			return 0;
	return 1;
}

int
pt_pfstate_write(pt_pfstate *s, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char **tb = calloc((size_t)s->ntrees, sizeof *tb);
	size_t *tl = calloc((size_t)s->ntrees, sizeof *tl);
	int rc = -1;

	if (tb == NULL || tl == NULL) {
		nomem(e);
		goto out;
	}
	for (int k = 0; k < s->ntrees; k++)
		if (pt_ptree_write(s->t[k], &tb[k], &tl[k], e) < 0)
			goto out;
	pt_buf_puts(&b, STATE_HEAD);
	head_write(&b, "policy-forest-state", s->manifest, s->model, s->ntrees,
	    &s->fi);
	pt_buf_printf(&b, "mtry: %d\nsizes: [", s->fi.mtry);
	for (int k = 0; k < s->ntrees; k++)
		pt_buf_printf(&b, "%s%zu", k ? ", " : "", tl[k]);
	pt_buf_puts(&b, "]\nbody:\n");
	for (int k = 0; k < s->ntrees; k++)
		pt_buf_put(&b, tb[k], tl[k]);
	pt_y_digest(&b, s->digest);
	rc = pt_buf_take(&b, out, len, "forest state", e);
out:
	pt_buf_free(&b);
	for (int k = 0; tb != NULL && k < s->ntrees; k++)
		free(tb[k]);
	free(tb);
	free(tl);
	return rc;
}

pt_pfstate *
pt_pfstate_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const keys[] = { "format", "version", "manifest",
		"model", "trees", "subsample", "seed", "mtry", "sizes", "body",
		NULL };
	pt_pfstate *s = NULL;
	size_t body, off, end;
	head h;

	if (!pt_pfstate_is(buf, len)) {
		pt_fail(e, PT_EFORMAT, name, "not a policy-split forest state");
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		nomem(e);
		return NULL;
	}
	if (pt_y_digest_check(buf, len, name, "forest state", s->digest,
	    e) < 0) {
		free(s);
		return NULL;
	}
	if ((body = body_start(buf, len)) == 0) {
		pt_fail(e, PT_ECORRUPT, name, "no body line");
		free(s);
		return NULL;
	}
	if (head_read(buf, body, name, "policy-forest-state", keys, 0, &h,
	    e) < 0) {
		free(s);
		return NULL;
	}
	memcpy(s->manifest, h.manifest, sizeof s->manifest);
	memcpy(s->model, h.model, sizeof s->model);
	s->fi.subsample = h.subsample;
	s->fi.seed = h.seed;
	s->fi.mtry = (int)h.mtry;
	if ((s->t = calloc((size_t)h.trees, sizeof *s->t)) == NULL) {
		nomem(e);
		goto fail;
	}
	s->ntrees = (int)h.trees;
	end = len - DIGEST_LINE;
	off = body;
	for (int k = 0; k < s->ntrees; k++) {
		if (h.sizes[k] > end - off) {
			pt_fail(e, PT_ECORRUPT, name, "sizes: the trees overrun the "
			    "body");
			goto fail;
		}
		if ((s->t[k] = pt_ptree_parse(buf + off, h.sizes[k], name,
		    e)) == NULL)
			goto fail;
		if (strcmp(s->t[k]->manifest, s->manifest) != 0 ||
		    strcmp(s->t[k]->model, s->model) != 0 ||
		    (k > 0 && (s->t[k]->level != s->t[0]->level ||
		    s->t[k]->depth != s->t[0]->depth ||
		    s->t[k]->criterion != s->t[0]->criterion ||
		    s->t[k]->min_node_size != s->t[0]->min_node_size))) {
			pt_fail(e, PT_EFORMAT, name, "tree %d: another manifest, "
			    "model, level or shape than the state's", k);
			goto fail;
		}
		off += h.sizes[k];
	}
	if (off != end) {
		pt_fail(e, PT_ECORRUPT, name, "sizes: %zu bytes of body left over",
		    end - off);
		goto fail;
	}
	head_free(&h);
	return s;
fail:
	head_free(&h);
	pt_pfstate_free(s);
	return NULL;
}

int
pt_pfstate_forest(const pt_pfstate *s, char **out, size_t *len, pt_err *e)
{
	if (!pt_pfstate_complete(s))
		return pt_fail(e, PT_EUSAGE, "", "the forest is not complete");
	return pt_ptree_write_forest(s->t, s->ntrees, &s->fi, out, len, e);
}

/* ---- a level pass --------------------------------------------------------- */

struct pt_pflevel {
	const pt_manifest *m;
	const pt_pfstate *st;
	int ntrees, level;
	pt_forest_info fi;
	char model[33];
	pt_hist **h;          /* per tree, NULL when it has no open node */
	int **slot;           /* per tree: per node index its slot, or -1 */
	pt_hist_cols cols;
	int bound;
	pt_partid pid;
	uint64_t rows;
	int *node_of;
	size_t cap;
	const double **x;
};

void
pt_pflevel_free(pt_pflevel *l)
{
	if (l == NULL)
		return;
	for (int k = 0; k < l->ntrees; k++) {
		if (l->h != NULL)
			pt_hist_free(l->h[k]);
		if (l->slot != NULL)
			free(l->slot[k]);
	}
	free(l->h);
	free(l->slot);
	pt_hist_cols_free(&l->cols);
	if (l->bound)
		pt_partid_free(&l->pid);
	free(l->node_of);
	free(l->x);
	free(l);
}

pt_pflevel *
pt_pflevel_new(const pt_manifest *m, const pt_pfstate *st, int ntrees,
    const pt_forest_info *fi, const char *model, pt_err *e)
{
	pt_pflevel *l = calloc(1, sizeof *l);

	if (l == NULL) {
		nomem(e);
		return NULL;
	}
	l->m = m;
	l->st = st;
	if (st != NULL) {
		if (strcmp(st->manifest, m->digest) != 0) {
			pt_fail(e, PT_EMISMATCH, "", "the forest state is of "
			    "manifest %s, not %s", st->manifest, m->digest);
			goto fail;
		}
		if (strcmp(st->model, model) != 0) {
			pt_fail(e, PT_EMISMATCH, "", "the forest was grown with "
			    "model %s, not %s", st->model[0] ? st->model : "(none)",
			    model[0] ? model : "(none)");
			goto fail;
		}
		if (pt_pfstate_complete(st)) {
			pt_fail(e, PT_EUSAGE, "", "the forest is complete: nothing "
			    "to grow");
			goto fail;
		}
		ntrees = st->ntrees;
		fi = &st->fi;
		l->level = st->t[0]->level;
	}
	if (!(fi->subsample > 0 && fi->subsample <= 1)) {
		pt_fail(e, PT_EUSAGE, "", "subsample must be in (0, 1]");
		goto fail;
	}
	l->ntrees = ntrees;
	l->fi = *fi;
	snprintf(l->model, sizeof l->model, "%s", model);
	if ((l->h = calloc((size_t)ntrees, sizeof *l->h)) == NULL ||
	    (l->slot = calloc((size_t)ntrees, sizeof *l->slot)) == NULL ||
	    (l->x = calloc((size_t)m->nfeatures + 1, sizeof *l->x)) == NULL) {
		nomem(e);
		goto fail;
	}
	for (int k = 0; k < ntrees; k++) {
		const pt_ptree *t = st ? st->t[k] : NULL;
		uint32_t *ids = NULL;
		int n = 0, j = 0;
		if (t != NULL) {
			if (t->complete)
				continue;
			if ((n = pt_ptree_open(t, &ids, e)) < 0)
				goto fail;
			if ((l->slot[k] = malloc((size_t)t->nnodes *
			    sizeof *l->slot[k])) == NULL) {
				free(ids);
				nomem(e);
				goto fail;
			}
			for (int i = 0; i < t->nnodes; i++)
				l->slot[k][i] = t->nodes[i].open && j < n &&
				    ids[j] == t->nodes[i].id ? j++ : -1;
		}
		l->h[k] = pt_hist_new(m, model, st ? st->digest : NULL, l->level,
		    ids, n, e);
		free(ids);
		if (l->h[k] == NULL)
			goto fail;
	}
	return l;
fail:
	pt_pflevel_free(l);
	return NULL;
}

int
pt_pflevel_bind(pt_pflevel *l, const pt_schema *s, pt_err *e)
{
	const pt_hist *h = NULL;

	if (l->bound)
		return 0;
	for (int k = 0; k < l->ntrees && h == NULL; k++)
		h = l->h[k];
	if (pt_hist_bind(h, l->m, s, &l->cols, e) < 0)
		return -1;
	if (l->cols.row < 0 && l->fi.subsample < 1) {
		pt_hist_cols_free(&l->cols);
		return pt_fail(e, PT_EMISMATCH, "", "forest: frames lack the "
		    "_row column (subsamples are drawn by row identity)");
	}
	if (pt_partid_bind(&l->pid, s, e) < 0) {
		pt_hist_cols_free(&l->cols);
		return -1;
	}
	l->bound = 1;
	return 0;
}

int
pt_pflevel_add(pt_pflevel *l, const pt_batch *b, pt_err *e)
{
	const pt_manifest *m = l->m;
	const uint64_t *rid = NULL;
	size_t n = b->nrows;
	uint64_t cut = l->fi.subsample >= 1 ? UINT64_MAX :
	    (uint64_t)ldexp(l->fi.subsample, 64);

	if (pt_pflevel_bind(l, b->schema, e) < 0 ||
	    pt_partid_add(&l->pid, b, e) < 0)
		return -1;
	l->rows += n;
	if (n == 0)
		return 0;
	if (n > l->cap) {
		int *p = realloc(l->node_of, n * sizeof *p);
		if (p == NULL)
			return nomem(e);
		l->node_of = p;
		l->cap = n;
	}
	if (l->cols.row >= 0)
		rid = PT_COL_U64(b, l->cols.row);
	for (int f = 0; f < m->nfeatures; f++)
		l->x[f] = PT_COL_F64(b, l->cols.feature[f]);
	for (int k = 0; k < l->ntrees; k++) {
		const pt_ptree *t = l->st ? l->st->t[k] : NULL;
		uint64_t tseed = pt_forest_tree_seed(&l->fi, k);
		if (l->h[k] == NULL)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (l->fi.subsample < 1 &&
			    pt_splitmix64(rid[i] ^ tseed) >= cut)
				l->node_of[i] = -1;
			else
				l->node_of[i] = t == NULL ? 0 :
				    l->slot[k][pt_ptree_route(t, l->x, i)];
		}
		if (pt_hist_add(l->h[k], m, &l->cols, b, l->node_of, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- forest partials ---------------------------------------------------- */

struct pt_pfpart {
	char manifest[33], model[33], state[33];
	int level, ntrees;
	pt_forest_info fi;
	uint64_t rows;
	int nparts;
	char (*parts)[PT_PARTID_LEN];
	pt_hist **h;
};

void
pt_pfpart_free(pt_pfpart *p)
{
	if (p == NULL)
		return;
	for (int k = 0; p->h != NULL && k < p->ntrees; k++)
		pt_hist_free(p->h[k]);
	free(p->h);
	free(p->parts);
	free(p);
}

int
pt_pfpart_is(const char *buf, size_t len)
{
	return len >= strlen(PART_HEAD) &&
	    memcmp(buf, PART_HEAD, strlen(PART_HEAD)) == 0;
}

int
pt_pfpart_level(const pt_pfpart *p)
{
	return p->level;
}

/* Writes the partial of trees h[0..ntrees) with the header fields. */
static int
part_write(const pt_pfpart *p, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char **hb = calloc((size_t)p->ntrees, sizeof *hb), hex[17];
	size_t *hl = calloc((size_t)p->ntrees, sizeof *hl);
	int rc = -1;

	if (hb == NULL || hl == NULL) {
		nomem(e);
		goto out;
	}
	for (int k = 0; k < p->ntrees; k++)
		if (p->h[k] != NULL && pt_hist_write(p->h[k], &hb[k], &hl[k],
		    e) < 0)
			goto out;
	pt_buf_puts(&b, PART_HEAD);
	head_write(&b, "policy-forest-level", p->manifest, p->model, p->ntrees,
	    &p->fi);
	pt_buf_printf(&b, "state: %s\nlevel: %d\nrows: %" PRIu64
	    "\npartitions: [", p->state[0] ? p->state : "none", p->level,
	    p->rows);
	for (int i = 0; i < p->nparts; i++) {
		pt_buf_puts(&b, i ? ", " : "");
		pt_y_str(&b, p->parts[i], PT_Y_QUOTE_ALL);
	}
	pt_buf_puts(&b, "]\nsizes: [");
	for (int k = 0; k < p->ntrees; k++)
		pt_buf_printf(&b, "%s%zu", k ? ", " : "", hl[k]);
	pt_buf_puts(&b, "]\nbody:\n");
	for (int k = 0; k < p->ntrees; k++)
		pt_buf_put(&b, hb[k], hl[k]);
	if (!b.err) {
		snprintf(hex, sizeof hex, "%016" PRIx64, pt_hash64(b.p, b.n, 0));
		pt_buf_printf(&b, "\nchecksum: %s\n", hex);
	}
	rc = pt_buf_take(&b, out, len, "forest partial", e);
out:
	pt_buf_free(&b);
	for (int k = 0; hb != NULL && k < p->ntrees; k++)
		free(hb[k]);
	free(hb);
	free(hl);
	return rc;
}

int
pt_pflevel_write(pt_pflevel *l, const char *partition, char **out,
    size_t *len, pt_err *e)
{
	pt_pfpart p;
	int n = 0, rc;

	if (!l->bound)
		return pt_fail(e, PT_EUSAGE, "", "forest partial: no frames were "
		    "read");
	memset(&p, 0, sizeof p);
	if (partition != NULL) {
		if (pt_partid_check(partition, e) < 0)
			return -1;
		if ((p.parts = malloc(sizeof *p.parts)) == NULL)
			return nomem(e);
		snprintf(p.parts[0], sizeof p.parts[0], "%s", partition);
		n = 1;
	} else if (pt_partid_ids(&l->pid, &p.parts, &n, e) < 0)
		return -1;
	p.nparts = n;
	/* Every tree's partial names the partitions of all the rows read. */
	for (int k = 0; k < l->ntrees; k++) {
		pt_hist *h = l->h[k];
		char (*cp)[PT_PARTID_LEN];
		if (h == NULL)
			continue;
		if (pt_hist_flush(h, e) < 0) {
			free(p.parts);
			return -1;
		}
		if ((cp = malloc((size_t)n * sizeof *cp)) == NULL) {
			free(p.parts);
			return nomem(e);
		}
		memcpy(cp, p.parts, (size_t)n * sizeof *cp);
		free(h->parts);
		h->parts = cp;
		h->nparts = n;
	}
	memcpy(p.manifest, l->m->digest, sizeof p.manifest);
	memcpy(p.model, l->model, sizeof p.model);
	if (l->st != NULL)
		memcpy(p.state, l->st->digest, sizeof p.state);
	p.level = l->level;
	p.ntrees = l->ntrees;
	p.fi = l->fi;
	p.rows = l->rows;
	p.h = l->h;
	rc = part_write(&p, out, len, e);
	free(p.parts);
	return rc;
}

pt_pfpart *
pt_pfpart_read(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const keys[] = { "format", "version", "manifest",
		"model", "trees", "subsample", "seed", "state", "level", "rows",
		"partitions", "sizes", "body", NULL };
	pt_pfpart *p;
	size_t body, off, end;
	char hex[17];
	head h;

	if (!pt_pfpart_is(buf, len)) {
		pt_fail(e, PT_EFORMAT, name, "not a policy-split forest partial");
		return NULL;
	}
	if (len < strlen(PART_HEAD) + CHECK_LINE ||
	    memcmp(buf + len - CHECK_LINE, "\nchecksum: ", 11) != 0 ||
	    buf[len - 1] != '\n') {
		pt_fail(e, PT_ECORRUPT, name, "truncated or missing checksum");
		return NULL;
	}
	end = len - CHECK_LINE;
	snprintf(hex, sizeof hex, "%016" PRIx64, pt_hash64(buf, end, 0));
	if (memcmp(hex, buf + end + 11, 16) != 0) {
		pt_fail(e, PT_ECORRUPT, name, "checksum mismatch (corrupted "
		    "partial)");
		return NULL;
	}
	if ((body = body_start(buf, end)) == 0) {
		pt_fail(e, PT_ECORRUPT, name, "no body line");
		return NULL;
	}
	if (head_read(buf, body, name, "policy-forest-level", keys, 1, &h,
	    e) < 0)
		return NULL;
	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->h = calloc((size_t)h.trees, sizeof *p->h)) == NULL) {
		free(p);
		head_free(&h);
		nomem(e);
		return NULL;
	}
	memcpy(p->manifest, h.manifest, sizeof p->manifest);
	memcpy(p->model, h.model, sizeof p->model);
	memcpy(p->state, h.state, sizeof p->state);
	p->level = (int)h.level;
	p->ntrees = (int)h.trees;
	p->fi.subsample = h.subsample;
	p->fi.seed = h.seed;
	p->rows = h.rows;
	if (pt_partid_list(h.parts, h.nparts, &p->parts, e) < 0) {
		if (e->code != PT_ENOMEM)
			pt_err_where(e, "%.250s", name);
		goto fail;
	}
	p->nparts = h.nparts;
	off = body;
	for (int k = 0; k < p->ntrees; k++) {
		pt_hist *t;
		if (h.sizes[k] == 0)
			continue;
		if (h.sizes[k] > end - off) {
			pt_fail(e, PT_ECORRUPT, name, "sizes: the partials overrun "
			    "the body");
			goto fail;
		}
		if ((t = p->h[k] = pt_hist_read(buf + off, h.sizes[k], name,
		    e)) == NULL)
			goto fail;
		off += h.sizes[k];
		if (strcmp(t->manifest, p->manifest) != 0 ||
		    strcmp(t->model, p->model) != 0 ||
		    strcmp(t->tree, p->state) != 0 || t->level != p->level ||
		    t->pairs || t->rows > p->rows) {
			pt_fail(e, PT_EFORMAT, name, "tree %d: a partial of another "
			    "manifest, model, state, level or rows than the "
			    "forest partial's", k);
			goto fail;
		}
		if (t->nparts != p->nparts || memcmp(t->parts, p->parts,
		    (size_t)p->nparts * sizeof *p->parts) != 0) {
			pt_fail(e, PT_EFORMAT, name, "tree %d: a partial of other "
			    "partitions than the forest partial's", k);
			goto fail;
		}
	}
	if (off != end) {
		pt_fail(e, PT_ECORRUPT, name, "sizes: %zu bytes of body left over",
		    end - off);
		goto fail;
	}
	head_free(&h);
	return p;
fail:
	head_free(&h);
	pt_pfpart_free(p);
	return NULL;
}

int
pt_pfpart_merge(pt_pfpart *dst, const pt_pfpart *src, const char *name,
    pt_err *e)
{
	char (*u)[PT_PARTID_LEN];
	int nu;

	if (strcmp(dst->manifest, src->manifest) != 0 ||
	    strcmp(dst->model, src->model) != 0 ||
	    strcmp(dst->state, src->state) != 0 || dst->level != src->level ||
	    dst->ntrees != src->ntrees ||
	    memcmp(&dst->fi.subsample, &src->fi.subsample, sizeof(double)) ||
	    dst->fi.seed != src->fi.seed)
		return pt_fail(e, PT_EMISMATCH, name, "a forest partial of another "
		    "manifest, model, state, level or forest");
	for (int k = 0; k < dst->ntrees; k++)
		if ((dst->h[k] == NULL) != (src->h[k] == NULL))
			return pt_fail(e, PT_EMISMATCH, name, "tree %d: open in one "
			    "partial and not in the other", k);
	if (dst->rows > UINT64_MAX - src->rows)
		return pt_fail(e, PT_ELIMIT, name, "too many rows");
	if (pt_partid_union(dst->parts, dst->nparts, src->parts, src->nparts,
	    &u, &nu, e) < 0) {
		pt_err_where(e, "%.250s", name);
		return -1;
	}
	/* All or nothing: the trees' merges are checked before any is
	 * made (pt_hist_merge leaves dst as it was on failure, but an
	 * earlier tree would already be merged). */
	for (int k = 0; k < dst->ntrees; k++) {
		pt_hist *h = dst->h[k];
		if (h == NULL)
			continue;
		if (h->nnodes != src->h[k]->nnodes || memcmp(h->nodes,
		    src->h[k]->nodes, (size_t)h->nnodes * sizeof *h->nodes)) {
			free(u);
			return pt_fail(e, PT_EMISMATCH, name, "tree %d: other open "
			    "nodes", k);
		}
	}
	for (int k = 0; k < dst->ntrees; k++)
		if (dst->h[k] != NULL && pt_hist_merge(dst->h[k], src->h[k],
		    e) < 0) {
			free(u);
			pt_err_where(e, "%.250s", name);
			return -1;
		}
	free(dst->parts);
	dst->parts = u;
	dst->nparts = nu;
	dst->rows += src->rows;
	return 0;
}

int
pt_pfpart_expect(const pt_pfpart *p, int n, pt_err *e)
{
	return pt_partid_expect(p->parts, p->nparts, n, e);
}

int
pt_pfpart_write(const pt_pfpart *p, char **out, size_t *len, pt_err *e)
{
	return part_write(p, out, len, e);
}

/* ---- growth --------------------------------------------------------------- */

int
pt_pfstate_grow(pt_pfstate *st, const pt_manifest *m, const pt_pfpart *p,
    pt_err *e)
{
	int level = st->t[0]->level;

	if (strcmp(p->manifest, st->manifest) != 0 ||
	    strcmp(p->manifest, m->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "forest partial of manifest "
		    "%s, not %s", p->manifest, m->digest);
	if (level > 0 && strcmp(p->state, st->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "forest partial of state %s, "
		    "not of this forest (%s)", p->state[0] ? p->state : "(roots)",
		    st->digest);
	if (p->level != level || p->ntrees != st->ntrees ||
	    p->fi.seed != st->fi.seed ||
	    memcmp(&p->fi.subsample, &st->fi.subsample, sizeof(double)))
		return pt_fail(e, PT_EMISMATCH, "", "forest partial of level %d "
		    "or of another forest; the forest is at level %d", p->level,
		    level);
	for (int k = 0; k < st->ntrees; k++) {
		pt_ptree *t = st->t[k];
		if (t->complete) {
			if (p->h[k] != NULL)
				return pt_fail(e, PT_EMISMATCH, "", "tree %d is "
				    "complete, but the partial has open nodes", k);
			continue;
		}
		if (p->h[k] == NULL)
			return pt_fail(e, PT_EMISMATCH, "", "tree %d: no partial", k);
		if (level == 0 && p->h[k]->rows == 0)
			return pt_fail(e, PT_EEMPTY, "", "tree %d: no rows in its "
			    "subsample", k);
		if (pt_search_grow_forest(t, p->h[k], m, k, &st->fi, e) < 0)
			return -1;
	}
	/* The grown state's digest, which the next level's partials carry
	 * (the bytes pt_pfstate_write gives). */
	{
		char *buf;
		size_t len;
		if (pt_pfstate_write(st, &buf, &len, e) < 0)
			return -1;
		free(buf);
	}
	return 0;
}

pt_pfstate *
pt_pfstate_start(const pt_manifest *m, const pt_pfpart *p, int criterion,
    int depth, uint64_t min_node_size, int mtry, pt_err *e)
{
	pt_pfstate *s = calloc(1, sizeof *s);

	if (s == NULL) {
		nomem(e);
		return NULL;
	}
	if (p->level != 0) {
		pt_fail(e, PT_EUSAGE, "", "a forest partial of level %d needs "
		    "-t STATE (the forest it grows)", p->level);
		goto fail;
	}
	memcpy(s->manifest, m->digest, sizeof s->manifest);
	memcpy(s->model, p->model, sizeof s->model);
	s->fi = p->fi;
	s->fi.mtry = mtry;
	if ((s->t = calloc((size_t)p->ntrees, sizeof *s->t)) == NULL) {
		nomem(e);
		goto fail;
	}
	s->ntrees = p->ntrees;
	for (int k = 0; k < s->ntrees; k++)
		if ((s->t[k] = pt_ptree_new(m, p->model, criterion, depth,
		    min_node_size, e)) == NULL)
			goto fail;
	if (pt_pfstate_grow(s, m, p, e) < 0)
		goto fail;
	return s;
fail:
	pt_pfstate_free(s);
	return NULL;
}

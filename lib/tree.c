/*
 * tree.c: policy trees: building, the YAML file, routing rows, text and
 * Graphviz forms, pruning.
 */
#include "tree.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "filehead.h"
#include "hist.h"
#include "number.h"
#include "xsum.h"
#include "jsonout.h"
#include "yamlout.h"

static void
node_free(pt_pnode *n)
{
	free(n->count);
	free(n->mean);
	free(n->value);
}

void
pt_ptree_free(pt_ptree *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nnodes; i++)
		node_free(&t->nodes[i]);
	free(t->nodes);
	pt_strs_free(t->features, t->nfeatures);
	pt_strs_free(t->vocab, t->narms);
	free(t);
}

int
pt_ptree_find(const pt_ptree *t, uint32_t id)
{
	int lo = 0, hi = t->nnodes - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (t->nodes[mid].id == id)
			return mid;
		if (t->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int
pt_ptree_add(pt_ptree *t, uint32_t id, pt_err *e)
{
	pt_pnode *nn, n;
	int i;

	if (pt_ptree_find(t, id) >= 0)
		return pt_fail(e, PT_EFORMAT, "", "node %" PRIu32 " twice", id);
	memset(&n, 0, sizeof n);
	n.id = id;
	n.feature = -1;
	n.count = calloc((size_t)t->narms, sizeof *n.count);
	n.mean = calloc((size_t)t->narms, sizeof *n.mean);
	n.value = calloc((size_t)t->narms, sizeof *n.value);
	nn = realloc(t->nodes, ((size_t)t->nnodes + 1) * sizeof *nn);
	if (n.count == NULL || n.mean == NULL || n.value == NULL || nn == NULL) {
		node_free(&n);
		if (nn != NULL)
			t->nodes = nn;
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	t->nodes = nn;
	for (i = t->nnodes; i > 0 && t->nodes[i - 1].id > id; i--)
		t->nodes[i] = t->nodes[i - 1];
	t->nodes[i] = n;
	t->nnodes++;
	return i;
}

pt_ptree *
pt_ptree_new(const pt_manifest *m, const char *model, int criterion,
    int depth, uint64_t min_node_size, pt_err *e)
{
	pt_ptree *t = calloc(1, sizeof *t);
	char **names;
	int f;

	if (t == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	if (depth < 1 || depth > PT_PTREE_MAXDEPTH) {
		free(t);
		pt_fail(e, PT_EUSAGE, "", "depth must be 1 to %d",
		    PT_PTREE_MAXDEPTH);
		return NULL;
	}
	snprintf(t->manifest, sizeof t->manifest, "%s", m->digest);
	snprintf(t->model, sizeof t->model, "%s", model ? model : "");
	names = calloc((size_t)m->nfeatures + 1, sizeof *names);
	if (names == NULL)
		goto nomem;
	for (f = 0; f < m->nfeatures; f++)
		names[f] = m->features[f].name;
	t->features = pt_strs_dup(names, m->nfeatures);
	free(names);
	if (t->features == NULL)
		goto nomem;
	t->nfeatures = m->nfeatures;
	t->vocab = pt_strs_dup(m->vocab, m->nvocab);
	if (t->vocab == NULL)
		goto nomem;
	t->narms = m->nvocab;
	t->criterion = criterion;
	t->depth = depth;
	t->min_node_size = min_node_size ? min_node_size : 1;
	if (pt_ptree_add(t, 1, e) < 0) {
		pt_ptree_free(t);
		return NULL;
	}
	t->nodes[0].open = 1;
	return t;
nomem:
	pt_ptree_free(t);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

static const char *
crit_name(int c)
{
	return c == PT_CRIT_DDP ? "ddp" : "welfare";
}

/* "    key: [[..], ..]\n": per node, its mean (value 0) or value vector. */
static void
node_f64s(pt_buf *b, const char *key, const pt_ptree *t, int value)
{
	pt_y_key(b, 4, key);
	pt_buf_putc(b, '[');
	for (int i = 0; i < t->nnodes; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_f64s(b, value ? t->nodes[i].value : t->nodes[i].mean,
		    t->narms);
	}
	pt_buf_puts(b, "]\n");
}

/* "    key: [a, b, ...]\n" of one integer per node. */
static void
node_ints(pt_buf *b, const char *key, const pt_ptree *t,
    int64_t (*get)(const pt_ptree *, int))
{
	pt_y_key(b, 4, key);
	pt_buf_putc(b, '[');
	for (int i = 0; i < t->nnodes; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_i64(b, get(t, i));
	}
	pt_buf_puts(b, "]\n");
}

static int64_t get_id(const pt_ptree *t, int i) { return t->nodes[i].id; }
static int64_t get_feature(const pt_ptree *t, int i) { return t->nodes[i].feature; }
static int64_t get_ml(const pt_ptree *t, int i)
{
	return t->nodes[i].feature >= 0 ? t->nodes[i].missing_left : 0;
}
static int64_t get_left(const pt_ptree *t, int i)
{
	return t->nodes[i].feature >= 0 ? pt_ptree_find(t, 2 * t->nodes[i].id) :
	    -1;
}
static int64_t get_right(const pt_ptree *t, int i)
{
	return t->nodes[i].feature >= 0 ? pt_ptree_find(t, 2 *
	    t->nodes[i].id + 1) : -1;
}
static int64_t get_open(const pt_ptree *t, int i) { return t->nodes[i].open; }
static int64_t get_rows(const pt_ptree *t, int i)
{
	return (int64_t)t->nodes[i].rows;
}

/* One tree of a "trees:" list: the node arrays (man/policy-tree.5). */
static void
tree_body(pt_buf *b, const pt_ptree *t)
{
	pt_buf_printf(b, "  - nodes: %d\n", t->nnodes);
	node_ints(b, "id", t, get_id);
	node_ints(b, "feature", t, get_feature);
	pt_y_key(b, 4, "threshold");
	pt_buf_putc(b, '[');
	for (int i = 0; i < t->nnodes; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_f64(b, t->nodes[i].feature >= 0 ? t->nodes[i].threshold : 0.0);
	}
	pt_buf_puts(b, "]\n");
	node_ints(b, "missing_left", t, get_ml);
	node_ints(b, "left", t, get_left);
	node_ints(b, "right", t, get_right);
	node_ints(b, "open", t, get_open);
	pt_y_key(b, 4, "action");
	pt_buf_putc(b, '[');
	for (int i = 0; i < t->nnodes; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_str(b, t->vocab[t->nodes[i].action], PT_Y_PLAIN_WHEN_SAFE);
	}
	pt_buf_puts(b, "]\n");
	node_ints(b, "rows", t, get_rows);
	pt_y_key(b, 4, "count");
	pt_buf_putc(b, '[');
	for (int i = 0; i < t->nnodes; i++) {
		if (i)
			pt_buf_puts(b, ", ");
		pt_y_u64s(b, t->nodes[i].count, t->narms);
	}
	pt_buf_puts(b, "]\n");
	node_f64s(b, "mean", t, 0);
	node_f64s(b, "value", t, 1);
}

/* The lines of a tree or forest file after the common header. */
static void
tree_head(pt_buf *b, const pt_ptree *t, int forest)
{
	pt_buf_printf(b, "model: %s\n", t->model[0] ? t->model : "none");
	pt_buf_printf(b, "criterion: %s\n", crit_name(t->criterion));
	if (!forest)
		pt_buf_printf(b, "search: %s\n", t->exact ? "exact" : "greedy");
	pt_buf_printf(b, "depth: %d\n", t->depth);
	if (!forest)
		pt_buf_printf(b, "level: %d\n", t->level);
	pt_buf_printf(b, "min_node_size: %" PRIu64 "\n", t->min_node_size);
	if (!forest)
		pt_buf_printf(b, "complete: %d\n", t->complete);
}

int
pt_ptree_write(pt_ptree *t, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char hex[33];

	pt_fhead_write(&b, "policy-tree", t->manifest, t->nfeatures, t->features,
	    t->narms, t->vocab);
	tree_head(&b, t, 0);
	pt_buf_puts(&b, "trees:\n");
	tree_body(&b, t);
	pt_y_digest(&b, hex);
	if (pt_buf_take(&b, out, len, "tree", e) < 0)
		return -1;
	memcpy(t->digest, hex, sizeof hex);
	return 0;
}

int
pt_ptree_digest(pt_ptree *t, pt_err *e)
{
	char *buf;
	size_t len;

	if (pt_ptree_write(t, &buf, &len, e) < 0)
		return -1;
	free(buf);
	return 0;
}

int
pt_ptree_write_forest(pt_ptree *const *ts, int ntrees,
    const pt_forest_info *fi, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	const pt_ptree *t;

	if (ntrees < 1)
		return pt_fail(e, PT_EUSAGE, "", "a forest needs a tree");
	t = ts[0];
	pt_fhead_write(&b, "policy-forest", t->manifest, t->nfeatures,
	    t->features, t->narms, t->vocab);
	tree_head(&b, t, 1);
	pt_buf_puts(&b, "subsample: ");
	pt_y_f64(&b, fi->subsample);
	pt_buf_printf(&b, "\nmtry: %d\nseed: %" PRIu64 "\n", fi->mtry,
	    fi->seed);
	pt_buf_puts(&b, "trees:\n");
	for (int i = 0; i < ntrees; i++)
		tree_body(&b, ts[i]);
	pt_y_digest(&b, NULL);
	return pt_buf_take(&b, out, len, "forest", e);
}

/* The node arrays of a tree file, as read. */
typedef struct rawnodes {
	int64_t n, *id, *feature, *ml, *open, *rows, *left, *right;
	double *thr;
} rawnodes;

static void
rawnodes_free(rawnodes *r)
{
	free(r->id);
	free(r->feature);
	free(r->ml);
	free(r->open);
	free(r->rows);
	free(r->left);
	free(r->right);
	free(r->thr);
}

static int
read_ints(pt_ydoc *d, yaml_node_t *tr, const char *key, int64_t n,
    int64_t **out, pt_err *e)
{
	*out = pt_ynode_i64s(d, pt_ynode_need(d, tr, key, e), key, (int)n, NULL,
	    e);
	return *out == NULL ? -1 : 0;
}

/* The header lines of a tree file after the common header. */
static int
read_tree_head(pt_ydoc *d, yaml_node_t *root, pt_ptree *t, pt_err *e)
{
	int64_t v;
	int w;

	if (pt_ynode_digest(d, pt_ynode_need(d, root, "model", e), "model", 1,
	    t->model, e) < 0)
		return -1;
	if ((w = pt_ynode_word(d, pt_ynode_need(d, root, "criterion", e),
	    "criterion", "welfare|ddp", e)) < 0)
		return -1;
	t->criterion = w == 1 ? PT_CRIT_DDP : PT_CRIT_WELFARE;
	if ((w = pt_ynode_word(d, pt_ynode_need(d, root, "search", e), "search",
	    "greedy|exact", e)) < 0)
		return -1;
	t->exact = w == 1;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "depth", e), "depth", 1,
	    PT_PTREE_MAXDEPTH, &v, e) < 0)
		return -1;
	t->depth = (int)v;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "level", e), "level", 0,
	    t->depth, &v, e) < 0)
		return -1;
	t->level = (int)v;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "min_node_size", e),
	    "min_node_size", 1, INT64_MAX, &v, e) < 0)
		return -1;
	t->min_node_size = (uint64_t)v;
	if (pt_ynode_int(d, pt_ynode_need(d, root, "complete", e), "complete",
	    0, 1, &v, e) < 0)
		return -1;
	t->complete = (int)v;
	return 0;
}

/* The nodes: ids sorted from the root, children where splits say, flags
 * in range; then per node its action and per-arm arrays. */
static int
read_nodes(pt_ydoc *d, yaml_node_t *tr, pt_ptree *t, pt_err *e)
{
	static const char *const keys[] = { "nodes", "id", "feature",
		"threshold", "missing_left", "left", "right", "open", "action",
		"rows", "count", "mean", "value", NULL };
	rawnodes r = { 0 };
	yaml_node_t *n;
	int rc = -1;

	if (pt_ymap_only(d, tr, keys, e) < 0 ||
	    pt_ynode_int(d, pt_ynode_need(d, tr, "nodes", e), "nodes", 1,
	    INT64_C(2) << PT_PTREE_MAXDEPTH, &r.n, e) < 0 ||
	    read_ints(d, tr, "id", r.n, &r.id, e) < 0 ||
	    read_ints(d, tr, "feature", r.n, &r.feature, e) < 0 ||
	    read_ints(d, tr, "missing_left", r.n, &r.ml, e) < 0 ||
	    read_ints(d, tr, "open", r.n, &r.open, e) < 0 ||
	    read_ints(d, tr, "rows", r.n, &r.rows, e) < 0 ||
	    read_ints(d, tr, "left", r.n, &r.left, e) < 0 ||
	    read_ints(d, tr, "right", r.n, &r.right, e) < 0 ||
	    (r.thr = pt_ynode_f64s(d, pt_ynode_need(d, tr, "threshold", e),
	    "threshold", (int)r.n, NULL, e)) == NULL)
		goto out;
	for (int i = 0; i < r.n; i++) {
		int k;
		if (r.id[i] < 1 || r.id[i] >= (INT64_C(2) << PT_PTREE_MAXDEPTH) ||
		    (i > 0 && r.id[i] <= r.id[i - 1]) || (i == 0 && r.id[i] != 1)) {
			pt_yfail(e, d, tr, PT_EFORMAT, "id: node %d: bad or unsorted "
			    "id", i);
			goto out;
		}
		if ((k = pt_ptree_add(t, (uint32_t)r.id[i], e)) < 0)
			goto out;
		t->nodes[k].feature = (int)r.feature[i];
		t->nodes[k].threshold = r.thr[i];
		t->nodes[k].missing_left = r.ml[i] != 0;
		t->nodes[k].open = r.open[i] != 0;
		t->nodes[k].rows = (uint64_t)r.rows[i];
		if (r.feature[i] < -1 || r.feature[i] >= t->nfeatures ||
		    r.ml[i] < 0 || r.ml[i] > 1 || r.open[i] < 0 || r.open[i] > 1 ||
		    r.rows[i] < 0 || (r.feature[i] >= 0 && r.open[i])) {
			pt_yfail(e, d, tr, PT_EFORMAT, "node %d: bad feature or "
			    "flags", i);
			goto out;
		}
	}
	/* Structure: a node's parent is a split; a split's children exist
	 * and the left/right indexes agree. */
	for (int i = 0; i < t->nnodes; i++) {
		pt_pnode *p = &t->nodes[i];
		int l = pt_ptree_find(t, 2 * p->id), rt = pt_ptree_find(t,
		    2 * p->id + 1);
		if (p->id > 1) {
			int q = pt_ptree_find(t, p->id / 2);
			if (q < 0 || t->nodes[q].feature < 0) {
				pt_yfail(e, d, tr, PT_EFORMAT, "node %d: orphan", i);
				goto out;
			}
		}
		if (p->feature >= 0 ? (l < 0 || rt < 0 || r.left[i] != l ||
		    r.right[i] != rt) : (r.left[i] != -1 || r.right[i] != -1)) {
			pt_yfail(e, d, tr, PT_EFORMAT, "node %d: bad children", i);
			goto out;
		}
	}
	/* Actions by label: compared in place, whatever their length. */
	if ((n = pt_ynode_need(d, tr, "action", e)) == NULL ||
	    pt_ynode_seq(d, n, "action", (int)r.n, e) < 0)
		goto out;
	for (int i = 0; i < r.n; i++) {
		yaml_node_t *it = pt_ynode_item(d, n, i);
		int k;
		if (pt_ynode_text(it, NULL) == NULL) {
			pt_yfail(e, d, it, PT_EFORMAT, "action: expected a label");
			goto out;
		}
		for (k = 0; k < t->narms && !pt_ynode_is(it, t->vocab[k]); k++)
			;
		if (k == t->narms) {
			pt_yfail(e, d, it, PT_EFORMAT, "action: '%.*s' is not in "
			    "the vocabulary", (int)(it->data.scalar.length > 60 ? 60 :
			    it->data.scalar.length), (const char *)it->data.scalar.value);
			goto out;
		}
		t->nodes[i].action = k;
	}
	for (int q = 0; q < 3; q++) {
		static const char *const arrs[] = { "count", "mean", "value" };
		if ((n = pt_ynode_need(d, tr, arrs[q], e)) == NULL ||
		    pt_ynode_seq(d, n, arrs[q], (int)r.n, e) < 0)
			goto out;
		for (int i = 0; i < r.n; i++) {
			yaml_node_t *it = pt_ynode_item(d, n, i);
			if (q == 0) {
				uint64_t *c = pt_ynode_u64s(d, it, arrs[q], t->narms,
				    NULL, e);
				if (c == NULL)
					goto out;
				memcpy(t->nodes[i].count, c, (size_t)t->narms *
				    sizeof *c);
				free(c);
			} else {
				double *c = pt_ynode_f64s(d, it, arrs[q], t->narms,
				    NULL, e);
				if (c == NULL)
					goto out;
				memcpy(q == 1 ? t->nodes[i].mean : t->nodes[i].value,
				    c, (size_t)t->narms * sizeof *c);
				free(c);
			}
		}
	}
	/* What the nodes count must add up: a split's rows are its
	 * children's; a node's rows are those of its arms (none in rewards
	 * mode, where there are no arms' rows). */
	for (int i = 0; i < t->nnodes; i++) {
		const pt_pnode *p = &t->nodes[i];
		uint64_t arms = 0;
		for (int a = 0; a < t->narms; a++)
			arms += p->count[a];
		if (arms != 0 && arms != p->rows) {
			pt_yfail(e, d, tr, PT_EFORMAT, "node %d: its arms' counts "
			    "add up to %llu, not its %llu rows", i,
			    (unsigned long long)arms, (unsigned long long)p->rows);
			goto out;
		}
		if (p->feature >= 0) {
			const pt_pnode *l = &t->nodes[pt_ptree_find(t, 2 * p->id)];
			const pt_pnode *rt = &t->nodes[pt_ptree_find(t, 2 * p->id +
			    1)];
			if (l->rows + rt->rows != p->rows) {
				pt_yfail(e, d, tr, PT_EFORMAT, "node %d: its children "
				    "hold %llu rows, not its %llu", i,
				    (unsigned long long)(l->rows + rt->rows),
				    (unsigned long long)p->rows);
				goto out;
			}
		}
	}
	rc = 0;
out:
	rawnodes_free(&r);
	return rc;
}

pt_ptree *
pt_ptree_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-tree", NULL };
	static const char *const keys[] = { PT_FHEAD_KEYS, "model", "criterion",
		"search", "depth", "level", "min_node_size", "complete", "trees",
		NULL };
	pt_ydoc d;
	yaml_node_t *root, *trees;
	pt_fhead hd;
	pt_ptree *t = NULL;
	char digest[33];

	if ((root = pt_fhead_load(&d, &hd, buf, len, name, "tree", formats,
	    digest, e)) == NULL)
		goto fail;
	if ((t = calloc(1, sizeof *t)) == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		goto fail;
	}
	memcpy(t->digest, digest, 33);
	memcpy(t->manifest, hd.manifest, sizeof t->manifest);
	t->nfeatures = hd.nfeatures;
	t->features = hd.features;
	t->narms = hd.nvocab;
	t->vocab = hd.vocab;
	hd.features = hd.vocab = NULL;
	hd.nfeatures = hd.nvocab = 0;
	if (t->nfeatures < 1) {
		pt_yfail(e, &d, root, PT_EFORMAT, "a tree without features");
		goto fail;
	}
	if (pt_ymap_only(&d, root, keys, e) < 0 ||
	    read_tree_head(&d, root, t, e) < 0 ||
	    (trees = pt_ynode_need(&d, root, "trees", e)) == NULL ||
	    pt_ynode_seq(&d, trees, "trees", 1, e) < 0 ||
	    read_nodes(&d, pt_ynode_item(&d, trees, 0), t, e) < 0)
		goto fail;
	pt_fhead_free(&hd);
	pt_ydoc_free(&d);
	return t;
fail:
	pt_fhead_free(&hd);
	pt_ydoc_free(&d);
	pt_ptree_free(t);
	return NULL;
}

int
pt_ptree_check_manifest(const pt_ptree *t, const pt_manifest *m, pt_err *e)
{
	int f;

	if (strcmp(t->manifest, m->digest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "tree of manifest %s, not %s",
		    t->manifest, m->digest);
	if (t->nfeatures != m->nfeatures || t->narms != m->nvocab)
		return pt_fail(e, PT_EMISMATCH, "", "tree of another feature "
		    "order or vocabulary");
	for (f = 0; f < t->nfeatures; f++)
		if (strcmp(t->features[f], m->features[f].name) != 0)
			return pt_fail(e, PT_EMISMATCH, "", "tree of another "
			    "feature order (%s)", t->features[f]);
	return 0;
}

int
pt_ptree_route(const pt_ptree *t, const double *const *cols, size_t row)
{
	int i = 0;

	while (t->nodes[i].feature >= 0) {
		const pt_pnode *p = &t->nodes[i];
		double x = cols[p->feature][row];
		int left = isnan(x) ? p->missing_left : x <= p->threshold;
		i = pt_ptree_find(t, 2 * p->id + (left ? 0 : 1));
	}
	return i;
}

int
pt_ptree_open(const pt_ptree *t, uint32_t **ids, pt_err *e)
{
	int i, n = 0;

	*ids = malloc(((size_t)t->nnodes + 1) * sizeof **ids);
	if (*ids == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (i = 0; i < t->nnodes; i++)
		if (t->nodes[i].open)
			(*ids)[n++] = t->nodes[i].id;
	return n;
}

int
pt_ptree_bind(const pt_ptree *t, const pt_schema *s, int *cols, pt_err *e)
{
	int f, i;

	if (strcmp(s->manifest, t->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames were made under "
		    "manifest %s, the tree under %s", s->manifest, t->manifest);
	for (f = 0; f < t->nfeatures; f++)
		cols[f] = -1;
	for (i = 0; i < t->nnodes; i++) {
		int ft = t->nodes[i].feature, j;
		if (ft < 0 || cols[ft] >= 0)
			continue;
		j = pt_schema_find(s, t->features[ft]);
		if (j < 0 || s->cols[j].type != PT_F64 ||
		    s->cols[j].role != PT_ROLE_FEATURE)
			return pt_fail(e, PT_EMISMATCH, "", "frames lack feature "
			    "%s", t->features[ft]);
		cols[ft] = j;
	}
	return 0;
}

static void
text_node(const pt_ptree *t, pt_buf *b, int i, int indent)
{
	const pt_pnode *p = &t->nodes[i];

	if (p->feature < 0) {
		pt_buf_printf(b, "%*s-> ", indent, "");
		pt_y_str(b, t->vocab[p->action], PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_printf(b, "  (rows %" PRIu64 "%s)\n", p->rows, p->open ?
		    ", open" : "");
		return;
	}
	pt_buf_printf(b, "%*sif ", indent, "");
	pt_y_str(b, t->features[p->feature], PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_puts(b, " <= ");
	pt_y_f64(b, p->threshold);
	pt_buf_printf(b, "%s  (rows %" PRIu64 ")\n", p->missing_left ?
	    " or missing" : "", p->rows);
	text_node(t, b, pt_ptree_find(t, 2 * p->id), indent + 2);
	pt_buf_printf(b, "%*selse%s\n", indent, "", p->missing_left ? "" :
	    " (including missing)");
	text_node(t, b, pt_ptree_find(t, 2 * p->id + 1), indent + 2);
}

char *
pt_ptree_text(const pt_ptree *t, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;

	pt_buf_printf(&b, "policy tree: depth %d, criterion %s, %s search%s\n",
	    t->depth, crit_name(t->criterion), t->exact ? "exact" : "greedy",
	    t->complete ? "" : " (incomplete)");
	text_node(t, &b, 0, 0);
	return pt_buf_str(&b, "tree's text", e);
}

static void
json_node(const pt_ptree *t, pt_json *j, int i)
{
	const pt_pnode *p = &t->nodes[i];

	pt_j_obj(j);
	pt_j_key(j, "rows");
	pt_j_u64(j, p->rows);
	if (p->feature < 0) {
		pt_j_key(j, "action");
		pt_j_str(j, t->vocab[p->action]);
		if (p->open) {
			pt_j_key(j, "open");
			pt_j_bool(j, 1);
		}
	} else {
		pt_j_key(j, "feature");
		pt_j_str(j, t->features[p->feature]);
		pt_j_key(j, "threshold");
		pt_j_f64(j, p->threshold);
		pt_j_key(j, "missing");
		pt_j_str(j, p->missing_left ? "left" : "right");
	}
	pt_j_key(j, "arms");
	pt_j_arr(j);
	for (int a = 0; a < t->narms; a++) {
		pt_j_obj(j);
		pt_j_key(j, "action");
		pt_j_str(j, t->vocab[a]);
		pt_j_key(j, "count");
		pt_j_u64(j, p->count[a]);
		pt_j_key(j, "mean");
		pt_j_f64(j, p->mean[a]);
		pt_j_key(j, "value");
		pt_j_f64(j, p->value[a]);
		pt_j_obj_end(j);
	}
	pt_j_arr_end(j);
	if (p->feature >= 0) {
		pt_j_key(j, "left");
		json_node(t, j, pt_ptree_find(t, 2 * p->id));
		pt_j_key(j, "right");
		json_node(t, j, pt_ptree_find(t, 2 * p->id + 1));
	}
	pt_j_obj_end(j);
}

char *
pt_ptree_json(const pt_ptree *t, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	pt_json j;

	pt_j_init(&j, &b);
	pt_j_obj(&j);
	pt_j_key(&j, "depth");
	pt_j_i64(&j, t->depth);
	pt_j_key(&j, "criterion");
	pt_j_str(&j, crit_name(t->criterion));
	pt_j_key(&j, "search");
	pt_j_str(&j, t->exact ? "exact" : "greedy");
	pt_j_key(&j, "complete");
	pt_j_bool(&j, t->complete);
	pt_j_key(&j, "min_node_size");
	pt_j_u64(&j, t->min_node_size);
	pt_j_key(&j, "manifest");
	pt_j_str(&j, t->manifest);
	pt_j_key(&j, "actions");
	pt_j_arr(&j);
	for (int a = 0; a < t->narms; a++)
		pt_j_str(&j, t->vocab[a]);
	pt_j_arr_end(&j);
	pt_j_key(&j, "root");
	json_node(t, &j, 0);
	pt_j_obj_end(&j);
	pt_j_end(&j);
	return pt_buf_str(&b, "tree's JSON", e);
}

/* s inside a DOT double-quoted string: quotes and backslashes escaped,
 * a line end as DOT's \n. */
static void
dot_str(pt_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			pt_buf_putc(b, '\\');
		if (*s == '\n')
			pt_buf_puts(b, "\\n");
		else if (*s != '\r')
			pt_buf_putc(b, *s);
	}
}

char *
pt_ptree_dot(const pt_ptree *t, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;

	pt_buf_puts(&b, "digraph policy_tree {\n  node [shape=box];\n");
	for (int i = 0; i < t->nnodes; i++) {
		const pt_pnode *p = &t->nodes[i];
		pt_buf_printf(&b, "  n%" PRIu32 " [label=\"", p->id);
		if (p->feature >= 0) {
			dot_str(&b, t->features[p->feature]);
			pt_buf_puts(&b, " <= ");
			pt_y_f64(&b, p->threshold);
			pt_buf_printf(&b, "\\nrows %" PRIu64 "\"];\n", p->rows);
			pt_buf_printf(&b, "  n%" PRIu32 " -> n%" PRIu32
			    " [label=\"yes%s\"];\n", p->id, 2 * p->id,
			    p->missing_left ? ", missing" : "");
			pt_buf_printf(&b, "  n%" PRIu32 " -> n%" PRIu32
			    " [label=\"no%s\"];\n", p->id, 2 * p->id + 1,
			    p->missing_left ? "" : ", missing");
		} else {
			dot_str(&b, t->vocab[p->action]);
			pt_buf_printf(&b, "\\nrows %" PRIu64 "\", style=rounded];\n",
			    p->rows);
		}
	}
	pt_buf_puts(&b, "}\n");
	return pt_buf_str(&b, "tree's graph", e);
}

static void
remove_node(pt_ptree *t, int i)
{
	node_free(&t->nodes[i]);
	memmove(&t->nodes[i], &t->nodes[i + 1], (size_t)(t->nnodes - i - 1) *
	    sizeof *t->nodes);
	t->nnodes--;
}

void
pt_ptree_prune(pt_ptree *t)
{
	int changed = 1, i;

	while (changed) {
		changed = 0;
		for (i = t->nnodes - 1; i >= 0; i--) {
			pt_pnode *p = &t->nodes[i];
			int l, r;
			uint32_t id = p->id;
			if (p->feature < 0)
				continue;
			l = pt_ptree_find(t, 2 * id);
			r = pt_ptree_find(t, 2 * id + 1);
			if (t->nodes[l].feature >= 0 || t->nodes[r].feature >= 0 ||
			    t->nodes[l].action != t->nodes[r].action ||
			    t->nodes[l].open || t->nodes[r].open)
				continue;
			p->feature = -1;
			p->threshold = 0;
			p->missing_left = 0;
			p->action = t->nodes[l].action;
			remove_node(t, r);
			remove_node(t, pt_ptree_find(t, 2 * id));
			changed = 1;
			break;
		}
	}
}

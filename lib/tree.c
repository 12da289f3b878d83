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

#include "hist.h"
#include "model.h"
#include "number.h"
#include "xsum.h"

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

/* One tree of a "trees:" list: the node arrays (man/policy-tree.5). */
/* "    key: [[..], ..]\n": per node, its mean (value 0) or value vector. */
static void
node_f64s(pt_mbuf *bp, const char *key, const pt_ptree *t, int value)
{
	int i, a;

	pt_mbuf_printf(bp, "    %s: [", key);
	for (i = 0; i < t->nnodes; i++) {
		const double *v = value ? t->nodes[i].value : t->nodes[i].mean;
		pt_mbuf_printf(bp, i ? ", [" : "[");
		for (a = 0; a < t->narms; a++) {
			if (a)
				pt_mbuf_printf(bp, ", ");
			pt_mbuf_f64(bp, v[a]);
		}
		pt_mbuf_printf(bp, "]");
	}
	pt_mbuf_printf(bp, "]\n");
}

static void
tree_body(pt_mbuf *bp, const pt_ptree *t)
{
	int i, a;
	pt_mbuf_printf(bp, "  - nodes: %d\n", t->nnodes);
#define ARR(key, fmt, expr) do { \
	pt_mbuf_printf(bp, "    " key ": ["); \
	for (i = 0; i < t->nnodes; i++) \
		pt_mbuf_printf(bp, i ? ", " fmt : fmt, expr); \
	pt_mbuf_printf(bp, "]\n"); \
} while (0)
	ARR("id", "%" PRIu32, t->nodes[i].id);
	ARR("feature", "%d", t->nodes[i].feature);
	pt_mbuf_printf(bp, "    threshold: [");
	for (i = 0; i < t->nnodes; i++) {
		if (i)
			pt_mbuf_printf(bp, ", ");
		pt_mbuf_f64(bp, t->nodes[i].feature >= 0 ?
		    t->nodes[i].threshold : 0.0);
	}
	pt_mbuf_printf(bp, "]\n");
	ARR("missing_left", "%d", t->nodes[i].feature >= 0 ?
	    t->nodes[i].missing_left : 0);
	ARR("left", "%d", t->nodes[i].feature >= 0 ?
	    pt_ptree_find(t, 2 * t->nodes[i].id) : -1);
	ARR("right", "%d", t->nodes[i].feature >= 0 ?
	    pt_ptree_find(t, 2 * t->nodes[i].id + 1) : -1);
	ARR("open", "%d", t->nodes[i].open);
	ARR("action", "%s", t->vocab[t->nodes[i].action]);
	ARR("rows", "%" PRIu64, t->nodes[i].rows);
#undef ARR
	pt_mbuf_printf(bp, "    count: [");
	for (i = 0; i < t->nnodes; i++) {
		pt_mbuf_printf(bp, i ? ", [" : "[");
		for (a = 0; a < t->narms; a++)
			pt_mbuf_printf(bp, a ? ", %" PRIu64 : "%" PRIu64,
			    t->nodes[i].count[a]);
		pt_mbuf_printf(bp, "]");
	}
	pt_mbuf_printf(bp, "]\n");
	node_f64s(bp, "mean", t, 0);
	node_f64s(bp, "value", t, 1);
}

int
pt_ptree_write(pt_ptree *t, char **out, size_t *len, pt_err *e)
{
	pt_mbuf b = { 0 };

	pt_mhead_write(&b, "policy-tree", t->manifest, t->nfeatures, t->features,
	    t->narms, t->vocab);
	pt_mbuf_printf(&b, "model: %s\n", t->model[0] ? t->model : "none");
	pt_mbuf_printf(&b, "criterion: %s\n", crit_name(t->criterion));
	pt_mbuf_printf(&b, "search: %s\n", t->exact ? "exact" : "greedy");
	pt_mbuf_printf(&b, "depth: %d\n", t->depth);
	pt_mbuf_printf(&b, "level: %d\n", t->level);
	pt_mbuf_printf(&b, "min_node_size: %" PRIu64 "\n", t->min_node_size);
	pt_mbuf_printf(&b, "complete: %d\n", t->complete);
	pt_mbuf_printf(&b, "trees:\n");
	tree_body(&b, t);
	return pt_mbuf_done(&b, t->digest, out, len, e);
}

int
pt_ptree_write_forest(pt_ptree *const *ts, int ntrees,
    const pt_forest_info *fi, char **out, size_t *len, pt_err *e)
{
	pt_mbuf b = { 0 };
	const pt_ptree *t;
	int i;

	if (ntrees < 1)
		return pt_fail(e, PT_EUSAGE, "", "a forest needs a tree");
	t = ts[0];
	pt_mhead_write(&b, "policy-forest", t->manifest, t->nfeatures,
	    t->features, t->narms, t->vocab);
	pt_mbuf_printf(&b, "model: %s\n", t->model[0] ? t->model : "none");
	pt_mbuf_printf(&b, "criterion: %s\n", crit_name(t->criterion));
	pt_mbuf_printf(&b, "depth: %d\n", t->depth);
	pt_mbuf_printf(&b, "min_node_size: %" PRIu64 "\n", t->min_node_size);
	pt_mbuf_printf(&b, "subsample: ");
	pt_mbuf_f64(&b, fi->subsample);
	pt_mbuf_printf(&b, "\nmtry: %d\nseed: %" PRIu64 "\n", fi->mtry,
	    fi->seed);
	pt_mbuf_printf(&b, "trees:\n");
	for (i = 0; i < ntrees; i++)
		tree_body(&b, ts[i]);
	return pt_mbuf_done(&b, NULL, out, len, e);
}

pt_ptree *
pt_ptree_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	static const char *const formats[] = { "policy-tree", NULL };
	pt_ydoc d;
	yaml_node_t *root, *trees, *tr, *n;
	pt_mhead hd;
	pt_ptree *t = NULL;
	char s[64], digest[33];
	int64_t v, nn, *ids = NULL, *feat = NULL, *ml = NULL, *open = NULL,
	    *rows = NULL, *left = NULL, *right = NULL;
	double *thr = NULL;
	int i, a, cnt;

	if ((root = pt_mfile_load(&d, &hd, buf, len, name, "tree", formats,
	    digest, e)) == NULL)
		goto fail;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		goto nomem;
	memcpy(t->digest, digest, 33);
	snprintf(t->manifest, sizeof t->manifest, "%s", hd.manifest);
	t->nfeatures = hd.nfeatures;
	t->features = hd.features;
	t->narms = hd.nvocab;
	t->vocab = hd.vocab;
	hd.features = hd.vocab = NULL;
	hd.nfeatures = hd.nvocab = 0;
	if (t->narms < 1 || t->nfeatures < 1) {
		pt_fail(e, PT_EFORMAT, name, "tree without features or actions");
		goto fail;
	}
	if (pt_ynode_str(&d, pt_ynode_need(&d, root, "model", e), "model", s,
	    sizeof s, e) < 0)
		goto fail;
	if (strcmp(s, "none") != 0) {
		if (strlen(s) != 32) {
			pt_fail(e, PT_EFORMAT, name, "model: not a digest");
			goto fail;
		}
		memcpy(t->model, s, 33);
	}
	if (pt_ynode_str(&d, pt_ynode_need(&d, root, "criterion", e),
	    "criterion", s, sizeof s, e) < 0)
		goto fail;
	if (strcmp(s, "welfare") == 0)
		t->criterion = PT_CRIT_WELFARE;
	else if (strcmp(s, "ddp") == 0)
		t->criterion = PT_CRIT_DDP;
	else {
		pt_fail(e, PT_EFORMAT, name, "criterion: unknown '%s'", s);
		goto fail;
	}
	if (pt_ynode_str(&d, pt_ynode_need(&d, root, "search", e), "search", s,
	    sizeof s, e) < 0)
		goto fail;
	t->exact = strcmp(s, "exact") == 0;
#define INT(key, lo, hi, dst) do { \
	if (pt_ynode_i64(&d, pt_ynode_need(&d, root, key, e), key, &v, e) < 0) \
		goto fail; \
	if (v < (lo) || v > (hi)) { \
		pt_fail(e, PT_EFORMAT, name, key ": out of range"); goto fail; } \
	dst = v; \
} while (0)
	INT("depth", 1, PT_PTREE_MAXDEPTH, t->depth);
	INT("level", 0, t->depth, t->level);
	INT("min_node_size", 1, INT64_MAX, t->min_node_size);
	INT("complete", 0, 1, t->complete);
#undef INT
	trees = pt_ynode_need(&d, root, "trees", e);
	if (trees == NULL)
		goto fail;
	if (pt_ynode_len(trees) != 1) {
		pt_fail(e, PT_EFORMAT, name, "trees: one tree expected");
		goto fail;
	}
	tr = pt_ynode_item(&d, trees, 0);
	if (tr == NULL || tr->type != YAML_MAPPING_NODE) {
		pt_fail(e, PT_EFORMAT, name, "trees: not a mapping");
		goto fail;
	}
	if (pt_ynode_i64(&d, pt_ynode_need(&d, tr, "nodes", e), "nodes", &nn,
	    e) < 0)
		goto fail;
	if (nn < 1 || nn > (INT64_C(2) << PT_PTREE_MAXDEPTH)) {
		pt_fail(e, PT_EFORMAT, name, "nodes: out of range");
		goto fail;
	}
#define I64S(key, dst) do { \
	dst = pt_ynode_i64s(&d, pt_ynode_need(&d, tr, key, e), key, (int)nn, \
	    &cnt, e); \
	if (dst == NULL) goto fail; \
} while (0)
	I64S("id", ids);
	I64S("feature", feat);
	I64S("missing_left", ml);
	I64S("open", open);
	I64S("rows", rows);
	I64S("left", left);
	I64S("right", right);
#undef I64S
	thr = pt_ynode_f64s(&d, pt_ynode_need(&d, tr, "threshold", e),
	    "threshold", (int)nn, &cnt, e);
	if (thr == NULL)
		goto fail;
	for (i = 0; i < nn; i++) {
		int k;
		if (ids[i] < 1 || ids[i] >= (INT64_C(2) << PT_PTREE_MAXDEPTH) ||
		    (i > 0 && ids[i] <= ids[i - 1]) || (i == 0 && ids[i] != 1)) {
			pt_fail(e, PT_EFORMAT, name, "id: node %d: bad or "
			    "unsorted id", i);
			goto fail;
		}
		if ((k = pt_ptree_add(t, (uint32_t)ids[i], e)) < 0)
			goto fail;
		t->nodes[k].feature = (int)feat[i];
		t->nodes[k].threshold = thr[i];
		t->nodes[k].missing_left = ml[i] != 0;
		t->nodes[k].open = open[i] != 0;
		t->nodes[k].rows = (uint64_t)rows[i];
		if (feat[i] < -1 || feat[i] >= t->nfeatures || (feat[i] >= 0 &&
		    isnan(thr[i])) || ml[i] < 0 || ml[i] > 1 || open[i] < 0 ||
		    open[i] > 1 || rows[i] < 0 || (feat[i] >= 0 && open[i])) {
			pt_fail(e, PT_EFORMAT, name, "node %d: bad feature, "
			    "threshold or flags", i);
			goto fail;
		}
	}
	/* Structure: a node's parent is a split; a split's children exist
	 * and the left/right indexes agree. */
	for (i = 0; i < t->nnodes; i++) {
		pt_pnode *p = &t->nodes[i];
		int l = pt_ptree_find(t, 2 * p->id), r = pt_ptree_find(t,
		    2 * p->id + 1);
		if (p->id > 1) {
			int q = pt_ptree_find(t, p->id / 2);
			if (q < 0 || t->nodes[q].feature < 0) {
				pt_fail(e, PT_EFORMAT, name, "node %d: orphan", i);
				goto fail;
			}
		}
		if (p->feature >= 0 ? (l < 0 || r < 0 || left[i] != l ||
		    right[i] != r) : (left[i] != -1 || right[i] != -1)) {
			pt_fail(e, PT_EFORMAT, name, "node %d: bad children", i);
			goto fail;
		}
	}
	/* Per-node labels and per-arm arrays. */
	n = pt_ynode_need(&d, tr, "action", e);
	if (n == NULL)
		goto fail;
	if (pt_ynode_len(n) != nn) {
		pt_fail(e, PT_EFORMAT, name, "action: %" PRId64 " labels expected",
		    nn);
		goto fail;
	}
	for (i = 0; i < nn; i++) {
		char lab[256];
		int k;
		if (pt_ynode_str(&d, pt_ynode_item(&d, n, i), "action", lab,
		    sizeof lab, e) < 0)
			goto fail;
		for (k = 0; k < t->narms && strcmp(t->vocab[k], lab); k++)
			;
		if (k == t->narms) {
			pt_fail(e, PT_EFORMAT, name, "action: unknown label '%s'",
			    lab);
			goto fail;
		}
		t->nodes[i].action = k;
	}
	{
		static const char *const keys[] = { "count", "mean", "value" };
		int q;
		for (q = 0; q < 3; q++) {
			n = pt_ynode_need(&d, tr, keys[q], e);
			if (n == NULL)
				goto fail;
			if (pt_ynode_len(n) != nn) {
				pt_fail(e, PT_EFORMAT, name, "%s: %" PRId64
				    " entries expected", keys[q], nn);
				goto fail;
			}
			for (i = 0; i < nn; i++) {
				yaml_node_t *it = pt_ynode_item(&d, n, i);
				if (q == 0) {
					int64_t *c = pt_ynode_i64s(&d, it, keys[q],
					    t->narms, &cnt, e);
					if (c == NULL)
						goto fail;
					for (a = 0; a < t->narms; a++)
						t->nodes[i].count[a] = (uint64_t)c[a];
					free(c);
				} else {
					double *c = pt_ynode_f64s(&d, it, keys[q],
					    t->narms, &cnt, e);
					if (c == NULL)
						goto fail;
					memcpy(q == 1 ? t->nodes[i].mean :
					    t->nodes[i].value, c, (size_t)t->narms *
					    sizeof *c);
					free(c);
				}
			}
		}
	}
	free(ids); free(feat); free(ml); free(open); free(rows); free(left);
	free(right); free(thr);
	pt_mhead_free(&hd);
	pt_ydoc_free(&d);
	return t;
nomem:
	pt_fail(e, PT_ENOMEM, name, "out of memory");
fail:
	free(ids); free(feat); free(ml); free(open); free(rows); free(left);
	free(right); free(thr);
	pt_mhead_free(&hd);
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
text_node(const pt_ptree *t, pt_mbuf *b, int i, int indent)
{
	const pt_pnode *p = &t->nodes[i];
	char thr[32];

	if (p->feature < 0) {
		pt_mbuf_printf(b, "%*s-> %s  (rows %" PRIu64 "%s)\n", indent, "",
		    t->vocab[p->action], p->rows, p->open ? ", open" : "");
		return;
	}
	pt_fmt_f64(thr, p->threshold);
	pt_mbuf_printf(b, "%*sif %s <= %s%s  (rows %" PRIu64 ")\n", indent, "",
	    t->features[p->feature], thr, p->missing_left ? " or missing" : "",
	    p->rows);
	text_node(t, b, pt_ptree_find(t, 2 * p->id), indent + 2);
	pt_mbuf_printf(b, "%*selse%s\n", indent, "", p->missing_left ? "" :
	    " (including missing)");
	text_node(t, b, pt_ptree_find(t, 2 * p->id + 1), indent + 2);
}

char *
pt_ptree_text(const pt_ptree *t, pt_err *e)
{
	pt_mbuf b = { 0 };

	pt_mbuf_printf(&b, "policy tree: depth %d, criterion %s, %s search%s\n",
	    t->depth, crit_name(t->criterion), t->exact ? "exact" : "greedy",
	    t->complete ? "" : " (incomplete)");
	text_node(t, &b, 0, 0);
	if (b.err) {
		free(b.p);
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	return b.p;
}

static void
dot_str(pt_mbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			pt_mbuf_printf(b, "\\");
		pt_mbuf_printf(b, "%c", *s);
	}
}

char *
pt_ptree_dot(const pt_ptree *t, pt_err *e)
{
	pt_mbuf b = { 0 };
	int i;

	pt_mbuf_printf(&b, "digraph policy_tree {\n  node [shape=box];\n");
	for (i = 0; i < t->nnodes; i++) {
		const pt_pnode *p = &t->nodes[i];
		pt_mbuf_printf(&b, "  n%" PRIu32 " [label=\"", p->id);
		if (p->feature >= 0) {
			char thr[32];
			pt_fmt_f64(thr, p->threshold);
			dot_str(&b, t->features[p->feature]);
			pt_mbuf_printf(&b, " <= %s\\nrows %" PRIu64 "\"];\n", thr,
			    p->rows);
			pt_mbuf_printf(&b, "  n%" PRIu32 " -> n%" PRIu32
			    " [label=\"yes%s\"];\n", p->id, 2 * p->id,
			    p->missing_left ? ", missing" : "");
			pt_mbuf_printf(&b, "  n%" PRIu32 " -> n%" PRIu32
			    " [label=\"no%s\"];\n", p->id, 2 * p->id + 1,
			    p->missing_left ? "" : ", missing");
		} else {
			dot_str(&b, t->vocab[p->action]);
			pt_mbuf_printf(&b, "\\nrows %" PRIu64 "\", style=rounded];\n",
			    p->rows);
		}
	}
	pt_mbuf_printf(&b, "}\n");
	if (b.err) {
		free(b.p);
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	return b.p;
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

/*
 * grow.c: a level's partial, routing rows to open nodes, one level of
 * growth (grow.h).
 */
#include "grow.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct pt_level {
	const pt_manifest *m;
	const pt_ptree *t;   /* NULL at the root */
	pt_hist *h;
	pt_hist_cols cols;
	int bound;
	int *slot;           /* per open node index of t: its slot in h, or -1 */
	int *node_of;        /* per row of a frame: its slot, or -1 */
	size_t cap;
	const double **x;    /* the frame's feature columns, for routing */
};

void
pt_level_free(pt_level *l)
{
	if (l == NULL)
		return;
	pt_hist_cols_free(&l->cols);
	pt_hist_free(l->h);
	free(l->slot);
	free(l->node_of);
	free(l->x);
	free(l);
}

pt_level *
pt_level_new(const pt_manifest *m, const pt_ptree *t, const char *model,
    pt_err *e)
{
	pt_level *l = calloc(1, sizeof *l);
	uint32_t *ids = NULL;
	int nids = 0;

	if (model == NULL)
		model = "";
	if (l == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	l->m = m;
	if (t != NULL && t->level > 0)
		l->t = t;
	if (t != NULL) {
		if (pt_ptree_check_manifest(t, m, e) < 0)
			goto fail;
		if (t->complete) {
			pt_fail(e, PT_EUSAGE, "", "the tree is complete: nothing "
			    "to grow");
			goto fail;
		}
		if (t->level > 0 && strcmp(t->model, model) != 0) {
			pt_fail(e, PT_EMISMATCH, "", "the tree was grown with model "
			    "%s, not %s", t->model[0] ? t->model : "(none)",
			    model[0] ? model : "(none)");
			goto fail;
		}
		if ((nids = pt_ptree_open(t, &ids, e)) < 0)
			goto fail;
	}
	l->h = pt_hist_new(m, model, l->t ? t->digest : NULL, t ? t->level : 0,
	    ids, nids, e);
	free(ids);
	if (l->h == NULL)
		goto fail;
	if (l->t != NULL) {
		/* Slots of the open nodes, by node index: h->nodes is sorted
		 * by id, as t->nodes is. */
		int k = 0;
		l->slot = malloc((size_t)t->nnodes * sizeof *l->slot);
		l->x = calloc((size_t)m->nfeatures, sizeof *l->x);
		if (l->slot == NULL || l->x == NULL) {
			pt_fail(e, PT_ENOMEM, "", "out of memory");
			goto fail;
		}
		for (int i = 0; i < t->nnodes; i++)
			l->slot[i] = t->nodes[i].open && k < l->h->nnodes &&
			    l->h->nodes[k] == t->nodes[i].id ? k++ : -1;
	}
	return l;
fail:
	pt_level_free(l);
	return NULL;
}

pt_level *
pt_level_new_pairs(const pt_manifest *m, const char *model, pt_err *e)
{
	pt_level *l = calloc(1, sizeof *l);

	if (l == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	l->m = m;
	if ((l->h = pt_hist_new_pairs(m, model, e)) == NULL) {
		pt_level_free(l);
		return NULL;
	}
	return l;
}

int
pt_level_bind(pt_level *l, const pt_schema *s, pt_err *e)
{
	if (l->bound)
		return 0;
	if (pt_hist_bind(l->h, l->m, s, &l->cols, e) < 0 ||
	    pt_hist_bind_part(l->h, s, e) < 0)
		return -1;
	l->bound = 1;
	return 0;
}

int
pt_level_add(pt_level *l, const pt_batch *b, pt_err *e)
{
	if (pt_level_bind(l, b->schema, e) < 0)
		return -1;
	if (l->h->pairs)
		return pt_hist_add_pairs(l->h, l->m, &l->cols, b, e);
	if (l->t == NULL)
		return pt_hist_add(l->h, l->m, &l->cols, b, NULL, e);
	if (b->nrows > l->cap) {
		free(l->node_of);
		l->cap = b->nrows;
		if ((l->node_of = malloc(l->cap * sizeof *l->node_of)) == NULL) {
			l->cap = 0;
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		}
	}
	for (int f = 0; f < l->m->nfeatures; f++)
		l->x[f] = PT_COL_F64(b, l->cols.feature[f]);
	for (size_t i = 0; i < b->nrows; i++)
		l->node_of[i] = l->slot[pt_ptree_route(l->t, l->x, i)];
	return pt_hist_add(l->h, l->m, &l->cols, b, l->node_of, e);
}

pt_hist *
pt_level_finish(pt_level *l, const char *partition, pt_err *e)
{
	pt_hist *h = l->h;

	if (pt_hist_set_part(h, partition, e) < 0)
		return NULL;
	l->h = NULL;
	return h;
}

int
pt_grow_level(pt_ptree *t, const pt_hist *h, const pt_manifest *m, pt_err *e)
{
	int root = t->level == 0;
	uint64_t n;

	if (pt_search_grow(t, h, m, e) < 0 || pt_ptree_digest(t, e) < 0)
		return -1;
	if (!root || t->nodes[0].feature >= 0)
		return 0;
	/* A root that could not be split: say why instead of writing a
	 * single leaf nobody asked for. */
	n = t->nodes[0].rows;
	if (n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows");
	if (t->min_node_size * 2 > n)
		return pt_fail(e, PT_EVALUE, "", "--min-node-size %" PRIu64 " is "
		    "more than half of the %" PRIu64 " rows: the tree would be a "
		    "single leaf", t->min_node_size, n);
	if (t->criterion == PT_CRIT_DDP)
		return pt_fail(e, PT_EVALUE, "", "no valid ddp split of the root "
		    "(every arm needs rows on both sides): the tree would be a "
		    "single leaf");
	return pt_fail(e, PT_EVALUE, "", "no valid split of the root: the tree "
	    "would be a single leaf");
}

void
pt_rowload_init(pt_rowload *l, const pt_manifest *m)
{
	memset(l, 0, sizeof *l);
	pt_rowset_init(&l->rows, m);
	l->m = m;
}

int
pt_rowload_add(pt_rowload *l, const pt_batch *b, pt_err *e)
{
	if (!l->bound) {
		/* The columns only: no cells, so no limit on bins. */
		pt_hist shape;
		memset(&shape, 0, sizeof shape);
		shape.nfeatures = l->m->nfeatures;
		shape.narms = l->m->nvocab;
		shape.has_treatment = l->m->nrewards == 0;
		/* With sample weights: the binding reads only whether the
		 * partial has weight sums, never them. */
		if (l->m->weight >= 0)
			shape.wh = &shape;
		if (pt_hist_bind(&shape, l->m, b->schema, &l->cols, e) < 0)
			return -1;
		l->bound = 1;
	}
	return pt_rowset_add(&l->rows, l->m, &l->cols, b, e);
}

void
pt_rowload_free(pt_rowload *l)
{
	pt_hist_cols_free(&l->cols);
	pt_rowset_free(&l->rows);
	memset(l, 0, sizeof *l);
}

/*
 * policy.c: applying a policy tree to frames and evaluating it (policy.h).
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct pt_policy {
	const pt_ptree *t;
	const pt_schema *in;
	int *tcols;            /* per tree feature: its column, or -1 */
	const double **x;      /* per tree feature: the frame's column */
	/* apply */
	pt_schema *out;
	pt_batch ob;           /* the input's columns and the action column */
	void **ocol;
	int32_t *act;
	size_t cap;
};

void
pt_policy_free(pt_policy *p)
{
	if (p == NULL)
		return;
	free(p->tcols);
	free(p->x);
	pt_schema_free(p->out);
	free(p->ocol);
	free(p->act);
	free(p);
}

pt_policy *
pt_policy_new(const pt_ptree *t, const pt_schema *s, pt_err *e)
{
	pt_policy *p = calloc(1, sizeof *p);

	if (p == NULL || (p->tcols = calloc((size_t)t->nfeatures,
	    sizeof *p->tcols)) == NULL || (p->x = calloc((size_t)t->nfeatures,
	    sizeof *p->x)) == NULL) {
		pt_policy_free(p);
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	p->t = t;
	p->in = s;
	if (pt_ptree_bind(t, s, p->tcols, e) < 0) {
		pt_policy_free(p);
		return NULL;
	}
	return p;
}

/* The action of every row of b into act. */
static void
actions(pt_policy *p, const pt_batch *b, int32_t *act)
{
	const pt_ptree *t = p->t;

	pt_policy_route(p, b, act);
	for (size_t i = 0; i < b->nrows; i++)
		act[i] = t->nodes[act[i]].action;
}

void
pt_policy_route(pt_policy *p, const pt_batch *b, int32_t *node)
{
	const pt_ptree *t = p->t;

	for (int f = 0; f < t->nfeatures; f++)
		p->x[f] = p->tcols[f] >= 0 ? PT_COL_F64(b, p->tcols[f]) : NULL;
	for (size_t i = 0; i < b->nrows; i++)
		node[i] = pt_ptree_route(t, p->x, i);
}

const pt_schema *
pt_policy_out_schema(pt_policy *p, pt_err *e)
{
	if (p->out != NULL)
		return p->out;
	if (pt_schema_find(p->in, "action") >= 0) {
		pt_fail(e, PT_EMISMATCH, "", "frames already have an action "
		    "column");
		return NULL;
	}
	if ((p->out = pt_schema_clone(p->in)) == NULL ||
	    (p->ocol = calloc((size_t)p->in->ncols + 1, sizeof *p->ocol)) ==
	    NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	if (pt_schema_add(p->out, "action", PT_I32, PT_ROLE_ACTION, p->t->narms,
	    p->t->vocab, e) < 0)
		return NULL;
	return p->out;
}

int
pt_policy_apply(pt_policy *p, const pt_batch *b, const pt_batch **out,
    pt_err *e)
{
	if (pt_policy_out_schema(p, e) == NULL)
		return -1;
	if (b->nrows > p->cap) {
		free(p->act);
		/* Columns are 64-byte aligned in a batch; keep this one so too. */
		p->cap = b->nrows;
		if ((p->act = aligned_alloc(64, (p->cap * sizeof *p->act + 63) &
		    ~(size_t)63)) == NULL) {
			p->cap = 0;
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		}
	}
	actions(p, b, p->act);
	memcpy(p->ocol, b->col, (size_t)p->in->ncols * sizeof *p->ocol);
	p->ocol[p->in->ncols] = p->act;
	p->ob.schema = p->out;
	p->ob.nrows = b->nrows;
	p->ob.cap = b->nrows;
	p->ob.col = p->ocol;
	*out = &p->ob;
	return 0;
}

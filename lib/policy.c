/*
 * policy.c: applying a policy tree to frames and evaluating it (policy.h).
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct pt_policy {
	const pt_ptree *t;
	const pt_forest *f;    /* or a forest */
	int narms;
	char *const *vocab;
	double **sc;           /* forest: per arm, the rows' mean values */
	size_t scap;
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
	if (p->sc != NULL)
		for (int a = 0; a < p->narms; a++)
			free(p->sc[a]);
	free(p->sc);
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
	p->narms = t->narms;
	p->vocab = t->vocab;
	if (pt_ptree_bind(t, s, p->tcols, e) < 0) {
		pt_policy_free(p);
		return NULL;
	}
	return p;
}

pt_policy *
pt_policy_new_forest(const pt_forest *f, const pt_schema *s, pt_err *e)
{
	pt_policy *p = calloc(1, sizeof *p);
	size_t F = f->nfeatures > 0 ? (size_t)f->nfeatures : 1;

	if (p == NULL || (p->tcols = calloc(F, sizeof *p->tcols)) == NULL ||
	    (p->x = calloc(F, sizeof *p->x)) == NULL ||
	    (p->sc = calloc((size_t)f->nvocab, sizeof *p->sc)) == NULL) {
		if (p != NULL)
			p->narms = 0;
		pt_policy_free(p);
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	p->f = f;
	p->in = s;
	p->narms = f->nvocab;
	p->vocab = f->vocab;
	if (pt_forest_bind(f, s, p->tcols, e) < 0) {
		pt_policy_free(p);
		return NULL;
	}
	return p;
}

int
pt_policy_narms(const pt_policy *p)
{
	return p->narms;
}

char *const *
pt_policy_vocab(const pt_policy *p)
{
	return p->vocab;
}

int
pt_policy_actions(pt_policy *p, const pt_batch *b, int32_t *act, pt_err *e)
{
	const pt_forest *f = p->f;
	size_t n = b->nrows;

	if (f == NULL) {
		pt_policy_route(p, b, act);
		for (size_t i = 0; i < n; i++)
			act[i] = p->t->nodes[act[i]].action;
		return 0;
	}
	if (n > p->scap) {
		for (int a = 0; a < p->narms; a++) {
			free(p->sc[a]);
			if ((p->sc[a] = malloc(n * sizeof *p->sc[a])) == NULL) {
				p->scap = 0;
				return pt_fail(e, PT_ENOMEM, "", "out of memory");
			}
		}
		p->scap = n;
	}
	for (int j = 0; j < f->nfeatures; j++)
		p->x[j] = PT_COL_F64(b, p->tcols[j]);
	pt_forest_score_block(f, p->x, n, p->sc);
	for (size_t i = 0; i < n; i++) {
		int best = 0;
		double bv = p->sc[0][i] - (f->cost ? f->cost[0] : 0.0);
		for (int a = 1; a < p->narms; a++) {
			double v = p->sc[a][i] - (f->cost ? f->cost[a] : 0.0);
			if (v > bv) {
				bv = v;
				best = a;
			}
		}
		act[i] = best;
	}
	return 0;
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
	if (pt_schema_add(p->out, "action", PT_I32, PT_ROLE_ACTION, p->narms,
	    p->vocab, e) < 0)
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
	if (pt_policy_actions(p, b, p->act, e) < 0)
		return -1;
	memcpy(p->ocol, b->col, (size_t)p->in->ncols * sizeof *p->ocol);
	p->ocol[p->in->ncols] = p->act;
	p->ob.schema = p->out;
	p->ob.nrows = b->nrows;
	p->ob.cap = b->nrows;
	p->ob.col = p->ocol;
	*out = &p->ob;
	return 0;
}

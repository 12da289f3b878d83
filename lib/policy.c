/*
 * policy.c: applying a policy tree to frames and evaluating it (policy.h).
 */
#include "policy.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "yamlout.h"

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
	/* eval */
	int *score;            /* per action: its score (or reward) column */
	uint64_t n;
	pt_xsum pol, pol2;     /* sum of G[i][pi(x_i)] and of its square */
	pt_xsum *arm, *arm2;   /* per arm */
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
	free(p->score);
	free(p->arm);
	free(p->arm2);
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

	for (int f = 0; f < t->nfeatures; f++)
		p->x[f] = p->tcols[f] >= 0 ? PT_COL_F64(b, p->tcols[f]) : NULL;
	for (size_t i = 0; i < b->nrows; i++)
		act[i] = t->nodes[pt_ptree_route(t, p->x, i)].action;
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

/* Binds the score (or reward) columns on the first frame evaluated. */
static int
eval_bind(pt_policy *p, pt_err *e)
{
	const pt_schema *s = p->in;
	pt_role role = PT_ROLE_SCORE;
	int n = pt_schema_count_role(s, PT_ROLE_SCORE), A = p->t->narms;

	if (n == 0) {
		role = PT_ROLE_REWARD;
		n = pt_schema_count_role(s, PT_ROLE_REWARD);
	}
	if (n == 0)
		return pt_fail(e, PT_EVALUE, "", "frames have no score columns "
		    "(run policy-score first)");
	if (n != A)
		return pt_fail(e, PT_EMISMATCH, "", "%d score columns for %d "
		    "actions", n, A);
	p->score = calloc((size_t)A, sizeof *p->score);
	p->arm = malloc((size_t)A * sizeof *p->arm);
	p->arm2 = malloc((size_t)A * sizeof *p->arm2);
	if (p->score == NULL || p->arm == NULL || p->arm2 == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (int a = 0; a < A; a++) {
		p->score[a] = pt_schema_find_role(s, role, a);
		if (s->cols[p->score[a]].type != PT_F64)
			return pt_fail(e, PT_EFORMAT, "", "score column %s is not "
			    "f64", s->cols[p->score[a]].name);
		pt_xsum_init(&p->arm[a]);
		pt_xsum_init(&p->arm2[a]);
	}
	pt_xsum_init(&p->pol);
	pt_xsum_init(&p->pol2);
	return 0;
}

int
pt_policy_eval_add(pt_policy *p, const pt_batch *b, pt_err *e)
{
	int A = p->t->narms;

	if (p->score == NULL && eval_bind(p, e) < 0)
		return -1;
	if (b->nrows > p->cap) {
		free(p->act);
		p->cap = b->nrows;
		if ((p->act = malloc(p->cap * sizeof *p->act)) == NULL) {
			p->cap = 0;
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		}
	}
	actions(p, b, p->act);
	for (size_t i = 0; i < b->nrows; i++) {
		double v;
		for (int a = 0; a < A; a++)
			if (!isfinite(PT_COL_F64(b, p->score[a])[i]))
				return pt_fail(e, PT_EVALUE, "", "row %" PRIu64 ": "
				    "a score is not finite", p->n + i + 1);
		v = PT_COL_F64(b, p->score[p->act[i]])[i];
		pt_xsum_add(&p->pol, v);
		pt_xsum_add(&p->pol2, v * v);
		for (int a = 0; a < A; a++) {
			double x = PT_COL_F64(b, p->score[a])[i];
			pt_xsum_add(&p->arm[a], x);
			pt_xsum_add(&p->arm2[a], x * x);
		}
	}
	p->n += b->nrows;
	return 0;
}

uint64_t
pt_policy_eval_rows(const pt_policy *p)
{
	return p->n;
}

void
pt_mean_se(const pt_xsum *s, const pt_xsum *s2, uint64_t n, double *mean,
    double *se)
{
	double m, m2, var;

	if (n == 0) {
		*mean = *se = NAN;
		return;
	}
	m = pt_xsum_round(s) / (double)n;
	m2 = pt_xsum_round(s2) / (double)n;
	var = n > 1 ? (m2 - m * m) * ((double)n / (double)(n - 1)) : 0.0;
	*mean = m;
	*se = var > 0 ? sqrt(var / (double)n) : 0.0;
}

int
pt_policy_eval_report(const pt_policy *p, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	double mean, se;

	if (p->n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows to evaluate");
	pt_mean_se(&p->pol, &p->pol2, p->n, &mean, &se);
	pt_y_key(&b, 0, "rows");
	pt_y_u64(&b, p->n);
	pt_buf_puts(&b, "\npolicy: {value: ");
	pt_y_f64(&b, mean);
	pt_buf_puts(&b, ", se: ");
	pt_y_f64(&b, se);
	pt_buf_puts(&b, "}\narms:\n");
	for (int a = 0; a < p->t->narms; a++) {
		pt_mean_se(&p->arm[a], &p->arm2[a], p->n, &mean, &se);
		pt_buf_puts(&b, "  - {action: ");
		pt_y_str(&b, p->t->vocab[a], PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_puts(&b, ", value: ");
		pt_y_f64(&b, mean);
		pt_buf_puts(&b, ", se: ");
		pt_y_f64(&b, se);
		pt_buf_puts(&b, "}\n");
	}
	return pt_buf_take(&b, out, len, "evaluation", e);
}

/*
 * eval.c: policy values, paired differences, cluster-robust standard
 * errors, training rows and uplift curves (eval.h).
 */
#include "eval.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonout.h"
#include "policy.h"
#include "yamlout.h"

/* Bytes a cluster costs: its count, a sum per quantity, two map slots. */
#define CLUSTER_BYTES(q) ((size_t)(q) * sizeof(pt_xsum) + 8 + 2 * 12)

enum { TR_UNKNOWN, TR_HASH, TR_COLUMN, TR_ALL };

struct pt_eval {
	const pt_ptree *const *trees;  /* trees[p], or NULL for a forest */
	char *const *vocab;            /* the actions */
	const char *const *names;
	const pt_schema *s;
	const pt_eval_opts *o;
	int P, A, Q, D;        /* trees, arms, quantities (P + A), differences */
	int control;
	pt_policy *pol[2];
	int *score;            /* per arm: its score (or reward) column */
	int32_t *node[2];      /* per row of a frame: each policy's action */
	int32_t *leafof;       /* curves: the first tree's leaf of each row */
	size_t cap;
	double *q;             /* per row: the Q quantities */
	uint64_t n;
	pt_xsum *s1, *s2;      /* per quantity: sum of values, of squares */
	int *da, *db;          /* per difference: quantities a and b (a - b) */
	pt_xsum *d2;           /* per difference: sum of squared differences */
	/* training rows */
	int tr, trcol;
	uint64_t ntrain;
	/* clusters */
	int ccol;
	uint64_t *mkey;        /* open addressing: key, and cluster index + 1 */
	uint32_t *mval;
	size_t mcap, G, Gcap;
	uint64_t *cn;          /* per cluster: rows */
	pt_xsum *cs;           /* per cluster: Q sums */
	/* curves */
	pt_xsum *leaf;         /* per node of the first tree, per arm: sum */
	uint64_t *leafn;
	int *rcol;             /* per arm: its ranking column (rank_prefix) */
	double *rk;            /* per row, per arm but control: rank, gain */
	size_t nrk, rkcap;
};

void
pt_eval_free(pt_eval *v)
{
	if (v == NULL)
		return;
	for (int p = 0; p < 2; p++) {
		pt_policy_free(v->pol[p]);
		free(v->node[p]);
	}
	free(v->leafof);
	free(v->score);
	free(v->q);
	free(v->s1);
	free(v->s2);
	free(v->da);
	free(v->db);
	free(v->d2);
	free(v->mkey);
	free(v->mval);
	free(v->cn);
	free(v->cs);
	free(v->leaf);
	free(v->leafn);
	free(v->rcol);
	free(v->rk);
	free(v);
}

static int
nomem(pt_err *e)
{
	return pt_fail(e, PT_ENOMEM, "", "out of memory");
}

/* The arm of tree 0 called label, or -1. */
static int
arm_of(const pt_eval *v, const char *label)
{
	for (int a = 0; a < v->A; a++)
		if (strcmp(v->vocab[a], label) == 0)
			return a;
	return -1;
}

static int
bind_scores(pt_eval *v, pt_err *e)
{
	const pt_schema *s = v->s;
	pt_role role = PT_ROLE_SCORE;
	int n = pt_schema_count_role(s, PT_ROLE_SCORE);

	if (n == 0) {
		role = PT_ROLE_REWARD;
		n = pt_schema_count_role(s, PT_ROLE_REWARD);
	}
	if (n == 0)
		return pt_fail(e, PT_EVALUE, "", "frames have no score columns "
		    "(run policy-score first)");
	if (n != v->A)
		return pt_fail(e, PT_EMISMATCH, "", "%d score columns for %d "
		    "actions", n, v->A);
	for (int a = 0; a < v->A; a++) {
		v->score[a] = pt_schema_find_role(s, role, a);
		if (s->cols[v->score[a]].type != PT_F64)
			return pt_fail(e, PT_EFORMAT, "", "score column %s is not "
			    "f64", s->cols[v->score[a]].name);
	}
	return 0;
}

/* How a row's train/test side is decided: by its _row hash, by the split
 * column when the frames carry it as a feature, or not at all. */
static int
bind_training(pt_eval *v, pt_err *e)
{
	const pt_manifest *m = v->o->m;
	int j;

	v->tr = TR_UNKNOWN;
	if (m == NULL)
		return 0;
	if (strcmp(m->digest, v->s->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, "", "frames were made under "
		    "manifest %s, -m names %s", v->s->manifest, m->digest);
	switch (m->split) {
	case PT_SPLIT_NONE:
		v->tr = TR_ALL;
		break;
	case PT_SPLIT_HASH:
		if ((j = pt_schema_find_role(v->s, PT_ROLE_ROW, 0)) >= 0 &&
		    v->s->cols[j].type == PT_U64) {
			v->tr = TR_HASH;
			v->trcol = j;
		}
		break;
	case PT_SPLIT_COLUMN:
		j = pt_schema_find(v->s, m->columns[m->split_column]);
		if (j >= 0 && v->s->cols[j].type == PT_F64 &&
		    v->s->cols[j].role == PT_ROLE_FEATURE) {
			v->tr = TR_COLUMN;
			v->trcol = j;
		}
		break;
	}
	return 0;
}

static int
bind_cluster(pt_eval *v, pt_err *e)
{
	const char *c = v->o->cluster;
	int j;

	v->ccol = -1;
	if (c == NULL)
		return 0;
	if ((j = pt_schema_find(v->s, c)) < 0)
		return pt_fail(e, PT_EUSAGE, "--cluster", "the frames have no "
		    "column '%s' (a feature, _row, or the treatment)", c);
	v->ccol = j;
	v->mcap = 1024;
	if ((v->mkey = calloc(v->mcap, sizeof *v->mkey)) == NULL ||
	    (v->mval = calloc(v->mcap, sizeof *v->mval)) == NULL)
		return nomem(e);
	return 0;
}

static int
bind_curves(pt_eval *v, pt_err *e)
{
	const pt_ptree *t = v->trees[0];
	const char *pre = v->o->rank_prefix;
	size_t cells;

	if (!v->o->curves)
		return 0;
	if (t == NULL)
		return pt_fail(e, PT_EUSAGE, "--curve", "uplift curves rank the "
		    "leaves of a tree: give a tree first, not a forest");
	cells = (size_t)t->nnodes * (size_t)v->A;
	if (v->A < 2)
		return pt_fail(e, PT_EUSAGE, "--curve", "one action: no arm to "
		    "hold against the control");
	if ((v->leaf = malloc(cells * sizeof *v->leaf)) == NULL ||
	    (v->leafn = calloc((size_t)t->nnodes, sizeof *v->leafn)) == NULL)
		return nomem(e);
	for (size_t i = 0; i < cells; i++)
		pt_xsum_init(&v->leaf[i]);
	if (pre == NULL)
		return 0;
	if ((v->rcol = malloc((size_t)v->A * sizeof *v->rcol)) == NULL)
		return nomem(e);
	for (int a = 0; a < v->A; a++) {
		char name[512];
		int j;
		snprintf(name, sizeof name, "%s%s", pre, v->vocab[a]);
		j = pt_schema_find(v->s, name);
		if (j < 0 || v->s->cols[j].type != PT_F64)
			return pt_fail(e, PT_EUSAGE, "--rank-by", "the frames have "
			    "no number column '%s'", name);
		v->rcol[a] = j;
	}
	return 0;
}

pt_eval *
pt_eval_new(const pt_ptree *const *trees, const pt_forest *const *forests,
    const char *const *names, int ntrees, const pt_schema *s,
    const pt_eval_opts *o, pt_err *e)
{
	pt_eval *v = calloc(1, sizeof *v);
	int k;

	if (v == NULL) {
		nomem(e);
		return NULL;
	}
	v->trees = trees;
	v->names = names;
	v->s = s;
	v->o = o;
	v->P = ntrees;
	for (int p = 0; p < ntrees; p++)
		if ((v->pol[p] = trees[p] != NULL ? pt_policy_new(trees[p], s,
		    e) : pt_policy_new_forest(forests[p], s, e)) == NULL)
			goto fail;
	v->A = pt_policy_narms(v->pol[0]);
	v->vocab = pt_policy_vocab(v->pol[0]);
	v->Q = v->P + v->A;
	v->D = v->P * v->A + (v->P == 2);
	for (int p = 1; p < ntrees; p++) {
		char *const *vo = pt_policy_vocab(v->pol[p]);
		int same = pt_policy_narms(v->pol[p]) == v->A;
		for (int a = 0; same && a < v->A; a++)
			same = strcmp(vo[a], v->vocab[a]) == 0;
		if (!same) {
			pt_fail(e, PT_EMISMATCH, "", "%s and %s have different "
			    "actions", names[0], names[p]);
			goto fail;
		}
	}
	if (o->control != NULL) {
		if ((v->control = arm_of(v, o->control)) < 0) {
			pt_fail(e, PT_EUSAGE, "--control", "'%s' is not an action "
			    "of the tree", o->control);
			goto fail;
		}
	} else if (o->m != NULL) {
		if ((v->control = arm_of(v, o->m->vocab[o->m->control])) <
		    0) {
			pt_fail(e, PT_EMISMATCH, "", "the manifest's control '%s' "
			    "is not an action of the tree",
			    o->m->vocab[o->m->control]);
			goto fail;
		}
	}
	if ((v->score = calloc((size_t)v->A, sizeof *v->score)) == NULL ||
	    (v->s1 = malloc((size_t)v->Q * sizeof *v->s1)) == NULL ||
	    (v->s2 = malloc((size_t)v->Q * sizeof *v->s2)) == NULL ||
	    (v->q = malloc((size_t)v->Q * sizeof *v->q)) == NULL ||
	    (v->da = malloc((size_t)v->D * sizeof *v->da)) == NULL ||
	    (v->db = malloc((size_t)v->D * sizeof *v->db)) == NULL ||
	    (v->d2 = malloc((size_t)v->D * sizeof *v->d2)) == NULL) {
		nomem(e);
		goto fail;
	}
	for (k = 0; k < v->Q; k++) {
		pt_xsum_init(&v->s1[k]);
		pt_xsum_init(&v->s2[k]);
	}
	/* The second tree against the first, then each tree against each
	 * arm. */
	k = 0;
	if (v->P == 2) {
		v->da[k] = 1;
		v->db[k++] = 0;
	}
	for (int p = 0; p < v->P; p++)
		for (int a = 0; a < v->A; a++) {
			v->da[k] = p;
			v->db[k++] = v->P + a;
		}
	for (k = 0; k < v->D; k++)
		pt_xsum_init(&v->d2[k]);
	if (bind_scores(v, e) < 0 || bind_training(v, e) < 0 ||
	    bind_cluster(v, e) < 0 || bind_curves(v, e) < 0)
		goto fail;
	return v;
fail:
	pt_eval_free(v);
	return NULL;
}

/* A cluster column's value as a key: a number's bits (-0 as 0, every NaN
 * alike), a code or a hash as it is. */
static uint64_t
cluster_key(const pt_batch *b, int j, size_t i)
{
	double x;
	uint64_t u;

	switch (b->schema->cols[j].type) {
	case PT_F64:
		x = PT_COL_F64(b, j)[i];
		if (isnan(x))
			return UINT64_C(0x7ff8000000000000);
		if (x == 0)
			return 0;
		memcpy(&u, &x, sizeof u);
		return u;
	case PT_I32:
		return (uint64_t)(uint32_t)PT_COL_I32(b, j)[i];
	case PT_U64:
		return PT_COL_U64(b, j)[i];
	case PT_U8:
		return PT_COL_U8(b, j)[i];
	}
	return 0;
}

static int
map_grow(pt_eval *v, pt_err *e)
{
	size_t cap = v->mcap * 2;
	uint64_t *key = calloc(cap, sizeof *key);
	uint32_t *val = calloc(cap, sizeof *val);

	if (key == NULL || val == NULL) {
		free(key);
		free(val);
		return nomem(e);
	}
	for (size_t i = 0; i < v->mcap; i++) {
		size_t h;
		if (v->mval[i] == 0)
			continue;
		for (h = pt_splitmix64(v->mkey[i]) & (cap - 1); val[h] != 0;
		    h = (h + 1) & (cap - 1))
			;
		key[h] = v->mkey[i];
		val[h] = v->mval[i];
	}
	free(v->mkey);
	free(v->mval);
	v->mkey = key;
	v->mval = val;
	v->mcap = cap;
	return 0;
}

/* The index of the cluster of key, made when new.  -1 on error. */
static long
cluster(pt_eval *v, uint64_t key, pt_err *e)
{
	size_t h = pt_splitmix64(key) & (v->mcap - 1), g;

	for (; v->mval[h] != 0; h = (h + 1) & (v->mcap - 1))
		if (v->mkey[h] == key)
			return (long)v->mval[h] - 1;
	if (v->G == UINT32_MAX - 1)
		return pt_fail(e, PT_ELIMIT, "--cluster", "more than %u clusters",
		    UINT32_MAX - 1);
	if (v->G == v->Gcap) {
		size_t cap = v->Gcap ? 2 * v->Gcap : 256;
		uint64_t *cn;
		pt_xsum *cs;
		if ((double)cap * (double)CLUSTER_BYTES(v->Q) >
		    (double)v->o->max_memory && v->G + 1 >
		    v->o->max_memory / CLUSTER_BYTES(v->Q))
			return pt_fail(e, PT_ELIMIT, "--cluster", "more than %zu "
			    "clusters: at %zu bytes each, over --max-memory %"
			    PRIu64 " bytes", v->G, CLUSTER_BYTES(v->Q),
			    v->o->max_memory);
		if ((double)cap * (double)CLUSTER_BYTES(v->Q) >
		    (double)v->o->max_memory)
			cap = v->o->max_memory / CLUSTER_BYTES(v->Q);
		if ((cn = realloc(v->cn, cap * sizeof *cn)) == NULL)
			return nomem(e);
		v->cn = cn;
		if ((cs = realloc(v->cs, cap * (size_t)v->Q * sizeof *cs)) ==
		    NULL)
			return nomem(e);
		v->cs = cs;
		v->Gcap = cap;
	}
	g = v->G++;
	v->cn[g] = 0;
	for (int k = 0; k < v->Q; k++)
		pt_xsum_init(&v->cs[g * (size_t)v->Q + (size_t)k]);
	v->mkey[h] = key;
	v->mval[h] = (uint32_t)(g + 1);
	if (2 * v->G > v->mcap && map_grow(v, e) < 0)
		return -1;
	return (long)g;
}

static int
rank_grow(pt_eval *v, size_t rows, pt_err *e)
{
	size_t per = 2 * (size_t)(v->A - 1), cap;
	double *rk;

	if (v->nrk + rows <= v->rkcap)
		return 0;
	cap = v->rkcap ? 2 * v->rkcap : 65536;
	while (cap < v->nrk + rows)
		cap *= 2;
	if ((double)(v->nrk + rows) * (double)per * 8 >
	    (double)v->o->max_memory)
		return pt_fail(e, PT_ELIMIT, "--rank-by", "%zu rows ranked for "
		    "%d curves need %.0f bytes, over --max-memory %" PRIu64
		    " (without --rank-by the curves rank by the tree's leaves, "
		    "in memory that does not grow with the rows)", v->nrk + rows,
		    v->A - 1, (double)(v->nrk + rows) * (double)per * 8,
		    v->o->max_memory);
	if ((double)cap * (double)per * 8 > (double)v->o->max_memory)
		cap = v->nrk + rows;
	if ((rk = realloc(v->rk, cap * per * sizeof *rk)) == NULL)
		return nomem(e);
	v->rk = rk;
	v->rkcap = cap;
	return 0;
}

int
pt_eval_add(pt_eval *v, const pt_batch *b, pt_err *e)
{
	const int P = v->P, A = v->A, Q = v->Q, c = v->control;
	const pt_manifest *m = v->o->m;

	if (b->nrows > v->cap) {
		for (int p = 0; p < P; p++) {
			free(v->node[p]);
			if ((v->node[p] = malloc(b->nrows * sizeof *v->node[p])) ==
			    NULL) {
				v->cap = 0;
				return nomem(e);
			}
		}
		free(v->leafof);
		v->leafof = NULL;
		if (v->leaf != NULL && (v->leafof = malloc(b->nrows *
		    sizeof *v->leafof)) == NULL) {
			v->cap = 0;
			return nomem(e);
		}
		v->cap = b->nrows;
	}
	for (int p = 0; p < P; p++)
		if (pt_policy_actions(v->pol[p], b, v->node[p], e) < 0)
			return -1;
	if (v->leaf != NULL) /* curves: the first tree's leaves */
		pt_policy_route(v->pol[0], b, v->leafof);
	if (v->rcol != NULL && rank_grow(v, b->nrows, e) < 0)
		return -1;
	for (size_t i = 0; i < b->nrows; i++) {
		double *q = v->q;
		for (int a = 0; a < A; a++) {
			q[P + a] = PT_COL_F64(b, v->score[a])[i];
			if (!isfinite(q[P + a]))
				return pt_fail(e, PT_EVALUE, "", "row %" PRIu64 ": "
				    "a score is not finite", v->n + i + 1);
		}
		for (int p = 0; p < P; p++)
			q[p] = q[P + v->node[p][i]];
		for (int k = 0; k < Q; k++) {
			pt_xsum_add(&v->s1[k], q[k]);
			pt_xsum_add(&v->s2[k], q[k] * q[k]);
		}
		for (int d = 0; d < v->D; d++) {
			double x = q[v->da[d]] - q[v->db[d]];
			pt_xsum_add(&v->d2[d], x * x);
		}
		if (v->tr == TR_HASH)
			v->ntrain += pt_manifest_is_train(m,
			    PT_COL_U64(b, v->trcol)[i], NAN);
		else if (v->tr == TR_COLUMN)
			v->ntrain += pt_manifest_is_train(m, 0,
			    PT_COL_F64(b, v->trcol)[i]);
		if (v->ccol >= 0) {
			long g = cluster(v, cluster_key(b, v->ccol, i), e);
			if (g < 0)
				return -1;
			v->cn[g]++;
			for (int k = 0; k < Q; k++)
				pt_xsum_add(&v->cs[(size_t)g * (size_t)Q +
				    (size_t)k], q[k]);
		}
		if (v->leaf != NULL) {
			int l = v->leafof[i];
			v->leafn[l]++;
			for (int a = 0; a < A; a++)
				pt_xsum_add(&v->leaf[(size_t)l * (size_t)A +
				    (size_t)a], q[P + a]);
		}
		if (v->rcol != NULL) {
			double *r = v->rk + v->nrk * 2 * (size_t)(A - 1);
			for (int a = 0; a < A; a++) {
				if (a == c)
					continue;
				*r++ = PT_COL_F64(b, v->rcol[a])[i] -
				    PT_COL_F64(b, v->rcol[c])[i];
				*r++ = q[P + a] - q[P + c];
			}
			v->nrk++;
		}
	}
	v->n += b->nrows;
	if (v->tr == TR_ALL)
		v->ntrain = v->n;
	return 0;
}

uint64_t
pt_eval_rows(const pt_eval *v)
{
	return v->n;
}

const char *
pt_eval_training(const pt_eval *v, uint64_t *rows)
{
	*rows = v->ntrain;
	if (v->tr == TR_UNKNOWN)
		return "unknown";
	return v->ntrain == 0 ? "no" : v->ntrain == v->n ? "yes" : "some";
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

typedef struct fig {
	double value, se, lo, hi;
} fig;

/* The cluster-robust standard error of the mean xbar of quantity a
 * (minus quantity b when b >= 0): CR1, as statsmodels' cluster
 * covariance, Stata and R's sandwich::vcovCL give for a mean,
 * se^2 = G/(G-1) * sum_g (T_g - n_g xbar)^2 / n^2, T_g the cluster's
 * exact total. */
static double
cluster_se(const pt_eval *v, int a, int b, double xbar)
{
	pt_xsum acc, t;
	double G = (double)v->G, n = (double)v->n;

	pt_xsum_init(&acc);
	for (size_t g = 0; g < v->G; g++) {
		double d;
		t = v->cs[g * (size_t)v->Q + (size_t)a];
		if (b >= 0)
			pt_xsum_sub(&t, &v->cs[g * (size_t)v->Q + (size_t)b]);
		d = pt_xsum_round(&t) - (double)v->cn[g] * xbar;
		pt_xsum_add(&acc, d * d);
	}
	return sqrt((G / (G - 1)) * (pt_xsum_round(&acc) / (n * n)));
}

static fig
interval(double value, double se)
{
	fig f = { value, se, value - PT_EVAL_Z95 * se, value + PT_EVAL_Z95 * se };
	return f;
}

static fig
quantity(const pt_eval *v, int k)
{
	double mean, se;

	pt_mean_se(&v->s1[k], &v->s2[k], v->n, &mean, &se);
	if (v->ccol >= 0)
		se = cluster_se(v, k, -1, mean);
	return interval(mean, se);
}

/* a - b: the value from the exact difference of the sums, the standard
 * error from the rows' differences (their squares summed exactly). */
static fig
difference(const pt_eval *v, int d)
{
	pt_xsum t = v->s1[v->da[d]];
	double n = (double)v->n, m, m2, var, se;

	pt_xsum_sub(&t, &v->s1[v->db[d]]);
	m = pt_xsum_round(&t) / n;
	m2 = pt_xsum_round(&v->d2[d]) / n;
	var = v->n > 1 ? (m2 - m * m) * (n / (n - 1)) : 0.0;
	se = var > 0 ? sqrt(var / n) : 0.0;
	if (v->ccol >= 0)
		se = cluster_se(v, v->da[d], v->db[d], m);
	return interval(m, se);
}

/* The name of quantity k: a tree's name or an arm's label. */
static const char *
qname(const pt_eval *v, int k)
{
	return k < v->P ? v->names[k] : v->vocab[k - v->P];
}

static void
y_fig(pt_buf *b, fig f)
{
	pt_buf_puts(b, "value: ");
	pt_y_f64(b, f.value);
	pt_buf_puts(b, ", se: ");
	pt_y_f64(b, f.se);
	pt_buf_puts(b, ", lo: ");
	pt_y_f64(b, f.lo);
	pt_buf_puts(b, ", hi: ");
	pt_y_f64(b, f.hi);
	pt_buf_puts(b, "}\n");
}

static void
report_yaml(const pt_eval *v, pt_buf *b)
{
	uint64_t ntr;

	pt_y_key(b, 0, "rows");
	pt_y_u64(b, v->n);
	pt_buf_putc(b, '\n');
	pt_y_key(b, 0, "training_rows");
	pt_y_str(b, pt_eval_training(v, &ntr), PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_putc(b, '\n');
	if (v->ccol >= 0) {
		pt_buf_puts(b, "cluster: {column: ");
		pt_y_str(b, v->o->cluster, PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_printf(b, ", clusters: %zu}\n", v->G);
	}
	if (v->P == 1) {
		pt_buf_puts(b, "policy: {");
		y_fig(b, quantity(v, 0));
	} else {
		pt_buf_puts(b, "policies:\n");
		for (int p = 0; p < v->P; p++) {
			pt_buf_puts(b, "  - {name: ");
			pt_y_str(b, v->names[p], PT_Y_PLAIN_WHEN_SAFE);
			pt_buf_puts(b, ", ");
			y_fig(b, quantity(v, p));
		}
	}
	pt_buf_puts(b, "arms:\n");
	for (int a = 0; a < v->A; a++) {
		pt_buf_puts(b, "  - {action: ");
		pt_y_str(b, v->vocab[a], PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_puts(b, ", ");
		y_fig(b, quantity(v, v->P + a));
	}
	pt_buf_puts(b, "differences:\n");
	for (int d = 0; d < v->D; d++) {
		pt_buf_puts(b, "  - {a: ");
		pt_y_str(b, qname(v, v->da[d]), PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_puts(b, ", b: ");
		pt_y_str(b, qname(v, v->db[d]), PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_puts(b, ", ");
		y_fig(b, difference(v, d));
	}
}

static void
j_fig(pt_json *j, fig f)
{
	pt_j_key(j, "value");
	pt_j_f64(j, f.value);
	pt_j_key(j, "se");
	pt_j_f64(j, f.se);
	pt_j_key(j, "lo");
	pt_j_f64(j, f.lo);
	pt_j_key(j, "hi");
	pt_j_f64(j, f.hi);
}

static void
report_json(const pt_eval *v, pt_buf *b)
{
	pt_json j;
	uint64_t ntr;

	pt_j_init(&j, b);
	pt_j_obj(&j);
	pt_j_key(&j, "rows");
	pt_j_u64(&j, v->n);
	pt_j_key(&j, "training_rows");
	pt_j_str(&j, pt_eval_training(v, &ntr));
	pt_j_key(&j, "cluster");
	if (v->ccol < 0)
		pt_j_null(&j);
	else {
		pt_j_obj(&j);
		pt_j_key(&j, "column");
		pt_j_str(&j, v->o->cluster);
		pt_j_key(&j, "clusters");
		pt_j_u64(&j, v->G);
		pt_j_obj_end(&j);
	}
	pt_j_key(&j, "policies");
	pt_j_arr(&j);
	for (int p = 0; p < v->P; p++) {
		pt_j_obj(&j);
		pt_j_key(&j, "name");
		pt_j_str(&j, v->names[p]);
		j_fig(&j, quantity(v, p));
		pt_j_obj_end(&j);
	}
	pt_j_arr_end(&j);
	pt_j_key(&j, "arms");
	pt_j_arr(&j);
	for (int a = 0; a < v->A; a++) {
		pt_j_obj(&j);
		pt_j_key(&j, "action");
		pt_j_str(&j, v->vocab[a]);
		j_fig(&j, quantity(v, v->P + a));
		pt_j_obj_end(&j);
	}
	pt_j_arr_end(&j);
	pt_j_key(&j, "differences");
	pt_j_arr(&j);
	for (int d = 0; d < v->D; d++) {
		pt_j_obj(&j);
		pt_j_key(&j, "a");
		pt_j_str(&j, qname(v, v->da[d]));
		pt_j_key(&j, "b");
		pt_j_str(&j, qname(v, v->db[d]));
		j_fig(&j, difference(v, d));
		pt_j_obj_end(&j);
	}
	pt_j_arr_end(&j);
	pt_j_obj_end(&j);
	pt_j_end(&j);
}

/* TSV has no quoting: a name with a tab or a line end is refused. */
static int
tsv_name(pt_buf *b, const char *s)
{
	if (strpbrk(s, "\t\r\n") != NULL) {
		pt_buf_fail(b, PT_EVALUE, "a name holds a tab or a line end, "
		    "which TSV cannot hold (use --json)");
		return -1;
	}
	pt_buf_puts(b, s);
	return 0;
}

static void
t_fig(pt_buf *b, fig f)
{
	double x[4] = { f.value, f.se, f.lo, f.hi };

	for (int i = 0; i < 4; i++) {
		pt_buf_putc(b, '\t');
		pt_y_f64(b, x[i]);
	}
	pt_buf_putc(b, '\n');
}

static void
report_tsv(const pt_eval *v, pt_buf *b)
{
	pt_buf_puts(b, "kind\ta\tb\tvalue\tse\tlo\thi\n");
	for (int k = 0; k < v->Q; k++) {
		pt_buf_puts(b, k < v->P ? "policy\t" : "arm\t");
		tsv_name(b, qname(v, k));
		pt_buf_putc(b, '\t');
		t_fig(b, quantity(v, k));
	}
	for (int d = 0; d < v->D; d++) {
		pt_buf_puts(b, "difference\t");
		tsv_name(b, qname(v, v->da[d]));
		pt_buf_putc(b, '\t');
		tsv_name(b, qname(v, v->db[d]));
		t_fig(b, difference(v, d));
	}
}

int
pt_eval_report(const pt_eval *v, int format, char **out, size_t *len,
    pt_err *e)
{
	pt_buf b = PT_BUF_INIT;

	if (v->n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows to evaluate");
	if (v->ccol >= 0 && v->G < 2)
		return pt_fail(e, PT_EVALUE, "--cluster", "one cluster: a "
		    "cluster-robust standard error needs two or more");
	if (format == PT_FMT_JSON)
		report_json(v, &b);
	else if (format == PT_FMT_TSV)
		report_tsv(v, &b);
	else
		report_yaml(v, &b);
	return pt_buf_take(&b, out, len, "evaluation", e);
}

/* ---- uplift curves ------------------------------------------------------ */

/* A group of rows of one rank: how many, and the sum of their gains. */
typedef struct group {
	double rank, m, gain;
} group;

static int
by_rank(const void *x, const void *y)
{
	double a = ((const group *)x)->rank, b = ((const group *)y)->rank;

	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b); /* NaN last */
	return a > b ? -1 : a < b;
}

static int
same_rank(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* The curve of groups g[0..ng) in rank order (highest first), as one
 * object of "curves".  Within a group of tied rows the gain grows
 * linearly: the mean over the orders of its rows. */
static void
curve(pt_json *j, const char *treatment, const char *control, const char *by,
    const group *g, size_t ng, uint64_t n)
{
	pt_xsum cum, area, tot;
	double total, N = (double)n, auuc, auuc_random;
	int npts = n < 100 ? (int)n + 1 : 101, pt = 0;
	uint64_t p = 0;

	pt_xsum_init(&tot);
	for (size_t i = 0; i < ng; i++)
		pt_xsum_add(&tot, g[i].gain);
	total = pt_xsum_round(&tot);
	pt_j_obj(j);
	pt_j_key(j, "treatment");
	pt_j_str(j, treatment);
	pt_j_key(j, "control");
	pt_j_str(j, control);
	pt_j_key(j, "by");
	pt_j_str(j, by);
	pt_xsum_init(&cum);
	pt_xsum_init(&area);
	for (size_t i = 0; i < ng; i++) {
		double G = pt_xsum_round(&cum), m = g[i].m;
		pt_xsum_add(&area, m * G);
		pt_xsum_add(&area, g[i].gain * (m + 1) / 2);
		pt_xsum_add(&cum, g[i].gain);
	}
	auuc = pt_xsum_round(&area) / N / total;
	auuc_random = (N + 1) / (2 * N);
	pt_j_key(j, "auuc");
	pt_j_f64(j, auuc);
	pt_j_key(j, "auuc_random");
	pt_j_f64(j, auuc_random);
	pt_j_key(j, "qini");
	pt_j_f64(j, auuc - auuc_random);
	pt_j_key(j, "points");
	pt_j_arr(j);
	pt_xsum_init(&cum);
	for (size_t i = 0; i <= ng && pt < npts; i++) {
		double G = pt_xsum_round(&cum);
		uint64_t m = i < ng ? (uint64_t)g[i].m : 0;
		/* The points whose row count falls in this group. */
		for (; pt < npts; pt++) {
			uint64_t k = (uint64_t)pt * n / (uint64_t)(npts - 1);
			double gain;
			if (k > p + m || (k > p && i == ng))
				break;
			gain = k == p ? G : G + (double)(k - p) / (double)m *
			    g[i].gain;
			pt_j_obj(j);
			pt_j_key(j, "share");
			pt_j_f64(j, (double)k / N);
			pt_j_key(j, "n");
			pt_j_u64(j, k);
			pt_j_key(j, "uplift");
			pt_j_f64(j, k ? gain / (double)k : 0.0);
			pt_j_key(j, "qini");
			pt_j_f64(j, gain / N);
			pt_j_key(j, "random");
			pt_j_f64(j, (double)k / N * (total / N));
			pt_j_obj_end(j);
		}
		if (i < ng)
			pt_xsum_add(&cum, g[i].gain);
		p += m;
	}
	pt_j_arr_end(j);
	pt_j_obj_end(j);
}

/* Groups of the first tree's leaves: rank est(leaf), gain the exact sum
 * of G[t] - G[c] over its rows, t the arm, or the leaf's action when
 * arm < 0.  Leaves of equal rank are one group.  *ng set. */
static group *
leaf_groups(const pt_eval *v, int arm, size_t *ng, pt_err *e)
{
	const pt_ptree *t = v->trees[0];
	const int A = v->A, c = v->control;
	group *g = malloc(((size_t)t->nnodes + 1) * sizeof *g);
	pt_xsum *sum = malloc(((size_t)t->nnodes + 1) * sizeof *sum);
	size_t k = 0, out = 0;

	if (g == NULL || sum == NULL) {
		free(g);
		free(sum);
		nomem(e);
		return NULL;
	}
	for (int l = 0; l < t->nnodes; l++) {
		const pt_pnode *nd = &t->nodes[l];
		int a = arm >= 0 ? arm : nd->action;
		if (v->leafn[l] == 0)
			continue;
		g[k].rank = nd->value[a] - nd->value[c];
		g[k].m = (double)v->leafn[l];
		/* gain holds the index of its exact sum until merged */
		sum[k] = v->leaf[(size_t)l * (size_t)A + (size_t)a];
		pt_xsum_sub(&sum[k], &v->leaf[(size_t)l * (size_t)A + (size_t)c]);
		g[k].gain = (double)k;
		k++;
	}
	qsort(g, k, sizeof *g, by_rank);
	for (size_t i = 0; i < k; out++) {
		pt_xsum s;
		size_t i0 = i;
		double m = 0;
		pt_xsum_init(&s);
		for (; i < k && same_rank(g[i].rank, g[i0].rank); i++) {
			pt_xsum_merge(&s, &sum[(size_t)g[i].gain]);
			m += g[i].m;
		}
		g[out].rank = g[i0].rank;
		g[out].m = m;
		g[out].gain = pt_xsum_round(&s);
	}
	free(sum);
	*ng = out;
	return g;
}

/* Groups of the ranked rows of curve j (arm order, control skipped): in
 * place over the rows' pairs, which are left sorted. */
static size_t
row_groups(pt_eval *v, int j, group *g)
{
	size_t per = 2 * (size_t)(v->A - 1), out = 0, n = v->nrk;

	for (size_t i = 0; i < n; i++) {
		g[i].rank = v->rk[i * per + 2 * (size_t)j];
		g[i].gain = v->rk[i * per + 2 * (size_t)j + 1];
	}
	qsort(g, n, sizeof *g, by_rank);
	for (size_t i = 0; i < n; out++) {
		pt_xsum s;
		size_t i0 = i;
		pt_xsum_init(&s);
		for (; i < n && same_rank(g[i].rank, g[i0].rank); i++)
			pt_xsum_add(&s, g[i].gain);
		g[out].rank = g[i0].rank;
		g[out].m = (double)(i - i0);
		g[out].gain = pt_xsum_round(&s);
	}
	return out;
}

int
pt_eval_curves(const pt_eval *v, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	pt_json j;
	const pt_ptree *t = v->trees[0];
	group *g = NULL;
	size_t ng;
	int k = 0;

	if (v->n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows to evaluate");
	if (v->rcol != NULL && (g = malloc(v->nrk * sizeof *g)) == NULL)
		return nomem(e);
	pt_j_init(&j, &b);
	pt_j_obj(&j);
	pt_j_key(&j, "rows");
	pt_j_u64(&j, v->n);
	pt_j_key(&j, "curves");
	pt_j_arr(&j);
	for (int a = 0; a < v->A; a++) {
		if (a == v->control)
			continue;
		if (v->rcol != NULL) {
			ng = row_groups((pt_eval *)v, k++, g);
			curve(&j, t->vocab[a], t->vocab[v->control], "model", g,
			    ng, v->n);
		} else {
			group *lg = leaf_groups(v, a, &ng, e);
			if (lg == NULL)
				goto fail;
			curve(&j, t->vocab[a], t->vocab[v->control], "tree", lg,
			    ng, v->n);
			free(lg);
		}
	}
	{
		group *lg = leaf_groups(v, -1, &ng, e);
		if (lg == NULL)
			goto fail;
		curve(&j, v->names[0], t->vocab[v->control], "tree", lg, ng,
		    v->n);
		free(lg);
	}
	pt_j_arr_end(&j);
	pt_j_obj_end(&j);
	pt_j_end(&j);
	free(g);
	return pt_buf_take(&b, out, len, "curves", e);
fail:
	free(g);
	free(b.p);
	return -1;
}

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
#include "filehead.h"
#include "jsonout.h"
#include "partid.h"
#include "policy.h"
#include "yamlin.h"
#include "yamlout.h"

/* Bytes a cluster costs: its count and key, a sum per quantity (and its
 * weight), two map slots. */
#define CLUSTER_BYTES(q) ((size_t)(q) * sizeof(pt_xsum) + 16 + 2 * 12)
#define CLUSTER_COST(v) CLUSTER_BYTES((v)->Q + (v)->weighted)

enum { TR_UNKNOWN, TR_HASH, TR_COLUMN, TR_ALL };
static const char *const tr_words[] = { "unknown", "hash", "column", "all",
	NULL };

struct pt_eval {
	const pt_ptree *const *trees;  /* trees[p], or NULL for a forest;
					* NULL for a parsed partial */
	char *const *vocab;            /* the actions */
	const char *const *names;
	char **ovocab, **onames;       /* a parsed partial's, owned */
	char digest[2][33];            /* partials: each policy file's */
	char manifest[33];             /* the frames' manifest, "" none */
	int role;                      /* PT_ROLE_SCORE or PT_ROLE_REWARD */
	int clustered;                 /* cluster sums kept */
	char *cname;                   /* the cluster column, owned */
	pt_partid pid;                 /* partials: the partitions added */
	int pidbound;
	char (*parts)[PT_PARTID_LEN];  /* as read, merged or named */
	int nparts;
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
	/* Sample (frequency) weights: a row of weight w counts as w copies
	 * of it in every sum, rows still count rows. */
	int weighted;          /* the frames carry a weight column */
	int wcol;              /* its column, or -1 */
	pt_xsum wsum;          /* the rows' weights */
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
	uint64_t *ckey;        /* per cluster: its key */
	pt_xsum *cs;           /* per cluster: Q sums */
	pt_xsum *cw;           /* per cluster: its weight (weighted) */
	/* curves */
	int nnodes;            /* the first tree's nodes (0: no leaf sums) */
	double *lval;          /* per node, per arm: the tree's estimate */
	int *lact;             /* per node: the tree's action */
	pt_xsum *leaf;         /* per node of the first tree, per arm: sum */
	uint64_t *leafn;
	pt_xsum *leafw;        /* per node: its weight (weighted) */
	int *rcol;             /* per arm: its ranking column (rank_prefix) */
	double *rk;            /* per row, per arm but control: rank, gain;
				* then (weighted) the row's weight */
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
	free(v->ckey);
	free(v->cs);
	free(v->cw);
	free(v->leaf);
	free(v->leafn);
	free(v->leafw);
	free(v->rcol);
	free(v->rk);
	free(v->lval);
	free(v->lact);
	free(v->cname);
	free(v->parts);
	if (v->pidbound)
		pt_partid_free(&v->pid);
	pt_strs_free(v->ovocab, v->A);
	pt_strs_free(v->onames, v->P);
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
	v->role = role;
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

/* The cluster map, and the cluster column's name. */
static int
map_init(pt_eval *v, const char *name, pt_err *e)
{
	v->clustered = 1;
	v->mcap = 1024;
	if ((v->cname = pt_strdup(name)) == NULL ||
	    (v->mkey = calloc(v->mcap, sizeof *v->mkey)) == NULL ||
	    (v->mval = calloc(v->mcap, sizeof *v->mval)) == NULL)
		return nomem(e);
	return 0;
}

/* Leaf sums of the first tree's nnodes nodes, and its estimates. */
static int
leaves_alloc(pt_eval *v, int nnodes, pt_err *e)
{
	size_t cells = (size_t)nnodes * (size_t)v->A;

	v->nnodes = nnodes;
	if ((v->leaf = malloc(cells * sizeof *v->leaf)) == NULL ||
	    (v->leafn = calloc((size_t)nnodes, sizeof *v->leafn)) == NULL ||
	    (v->weighted && (v->leafw = malloc((size_t)nnodes *
	    sizeof *v->leafw)) == NULL) ||
	    (v->lval = calloc(cells, sizeof *v->lval)) == NULL ||
	    (v->lact = calloc((size_t)nnodes, sizeof *v->lact)) == NULL)
		return nomem(e);
	for (size_t i = 0; i < cells; i++)
		pt_xsum_init(&v->leaf[i]);
	for (int l = 0; v->weighted && l < nnodes; l++)
		pt_xsum_init(&v->leafw[l]);
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
	return map_init(v, c, e);
}

static int
bind_curves(pt_eval *v, pt_err *e)
{
	const pt_ptree *t = v->trees[0];
	const char *pre = v->o->rank_prefix;

	/* A partial keeps the leaf sums whenever it can: its merge may be
	 * asked for curves. */
	if (v->o->partial && !v->o->curves) {
		if (t == NULL || v->A < 2)
			return 0;
	} else if (!v->o->curves)
		return 0;
	if (t == NULL)
		return pt_fail(e, PT_EUSAGE, "--curve", "uplift curves rank the "
		    "leaves of a tree: give a tree first, not a forest");
	if (v->A < 2)
		return pt_fail(e, PT_EUSAGE, "--curve", "one action: no arm to "
		    "hold against the control");
	if (leaves_alloc(v, t->nnodes, e) < 0)
		return -1;
	for (int l = 0; l < t->nnodes; l++) {
		v->lact[l] = t->nodes[l].action;
		for (int a = 0; a < v->A; a++)
			v->lval[(size_t)l * (size_t)v->A + (size_t)a] =
			    t->nodes[l].value[a];
	}
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

/* The sums of P policies and A arms, and the differences' operands. */
static int
sums_alloc(pt_eval *v, pt_err *e)
{
	int k;

	v->Q = v->P + v->A;
	v->D = v->P * v->A + (v->P == 2);
	if ((v->score = calloc((size_t)v->A, sizeof *v->score)) == NULL ||
	    (v->s1 = malloc((size_t)v->Q * sizeof *v->s1)) == NULL ||
	    (v->s2 = malloc((size_t)v->Q * sizeof *v->s2)) == NULL ||
	    (v->q = malloc((size_t)v->Q * sizeof *v->q)) == NULL ||
	    (v->da = malloc((size_t)v->D * sizeof *v->da)) == NULL ||
	    (v->db = malloc((size_t)v->D * sizeof *v->db)) == NULL ||
	    (v->d2 = malloc((size_t)v->D * sizeof *v->d2)) == NULL)
		return nomem(e);
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
	return 0;
}

pt_eval *
pt_eval_new(const pt_ptree *const *trees, const pt_forest *const *forests,
    const char *const *names, int ntrees, const pt_schema *s,
    const pt_eval_opts *o, pt_err *e)
{
	pt_eval *v = calloc(1, sizeof *v);

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
	if (sums_alloc(v, e) < 0)
		goto fail;
	pt_xsum_init(&v->wsum);
	if ((v->wcol = pt_schema_weight(s)) >= 0) {
		if (s->cols[v->wcol].type != PT_F64) {
			pt_fail(e, PT_EFORMAT, "", "weight column %s is not f64",
			    s->cols[v->wcol].name);
			goto fail;
		}
		v->weighted = 1;
	}
	if (bind_scores(v, e) < 0 || bind_training(v, e) < 0 ||
	    bind_cluster(v, e) < 0 || bind_curves(v, e) < 0)
		goto fail;
	snprintf(v->manifest, sizeof v->manifest, "%s", s->manifest);
	for (int p = 0; p < ntrees; p++)
		snprintf(v->digest[p], sizeof v->digest[p], "%s",
		    o->digest[p] ? o->digest[p] : "");
	if (o->partial) {
		if (pt_partid_bind(&v->pid, s, e) < 0)
			goto fail;
		v->pidbound = 1;
		if (o->partition != NULL) {
			if (pt_partid_check(o->partition, e) < 0 ||
			    (v->parts = malloc(sizeof *v->parts)) == NULL) {
				if (v->parts == NULL && e->code == PT_OK)
					nomem(e);
				goto fail;
			}
			snprintf(v->parts[0], sizeof v->parts[0], "%s",
			    o->partition);
			v->nparts = 1;
		}
	}
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
		if ((double)cap * (double)CLUSTER_COST(v) >
		    (double)v->o->max_memory && v->G + 1 >
		    v->o->max_memory / CLUSTER_COST(v))
			return pt_fail(e, PT_ELIMIT, "--cluster", "more than %zu "
			    "clusters: at %zu bytes each, over --max-memory %"
			    PRIu64 " bytes", v->G, CLUSTER_COST(v),
			    v->o->max_memory);
		if ((double)cap * (double)CLUSTER_COST(v) >
		    (double)v->o->max_memory)
			cap = v->o->max_memory / CLUSTER_COST(v);
		if ((cn = realloc(v->cn, cap * sizeof *cn)) == NULL)
			return nomem(e);
		v->cn = cn;
		if ((cn = realloc(v->ckey, cap * sizeof *cn)) == NULL)
			return nomem(e);
		v->ckey = cn;
		if ((cs = realloc(v->cs, cap * (size_t)v->Q * sizeof *cs)) ==
		    NULL)
			return nomem(e);
		v->cs = cs;
		if (v->weighted) {
			if ((cs = realloc(v->cw, cap * sizeof *cs)) == NULL)
				return nomem(e);
			v->cw = cs;
		}
		v->Gcap = cap;
	}
	g = v->G++;
	v->cn[g] = 0;
	v->ckey[g] = key;
	for (int k = 0; k < v->Q; k++)
		pt_xsum_init(&v->cs[g * (size_t)v->Q + (size_t)k]);
	if (v->weighted)
		pt_xsum_init(&v->cw[g]);
	v->mkey[h] = key;
	v->mval[h] = (uint32_t)(g + 1);
	if (2 * v->G > v->mcap && map_grow(v, e) < 0)
		return -1;
	return (long)g;
}

static int
rank_grow(pt_eval *v, size_t rows, pt_err *e)
{
	size_t per = 2 * (size_t)(v->A - 1) + (size_t)v->weighted, cap;
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

/* A product of a weight and a value out of the exact range: refused, never
 * rounded. */
static int
prod_fail(uint64_t row, double w, double x, const char *what, pt_err *e)
{
	return pt_fail(e, PT_ELIMIT, "", "row %" PRIu64 ": weight %.17g times "
	    "%s %.17g cannot be summed exactly (the product overflows or is "
	    "below 2^-968)", row, w, what, x);
}

/* x += w * y, exactly; y itself when unweighted.  -1 when the product is
 * out of range. */
static int
wadd(const pt_eval *v, pt_xsum *x, double w, double y)
{
	if (!v->weighted) {
		pt_xsum_add(x, y);
		return 0;
	}
	return pt_xsum_add_prod(x, w, y);
}

/* The sums of one row of weight w and quantities q. */
static int
add_row(pt_eval *v, const pt_batch *b, size_t i, double w, pt_err *e)
{
	const int P = v->P, A = v->A, Q = v->Q, c = v->control;
	const double *q = v->q;
	const uint64_t row = v->n + i + 1;

	for (int k = 0; k < Q; k++) {
		double sq = q[k] * q[k];
		if (wadd(v, &v->s1[k], w, q[k]) < 0)
			return prod_fail(row, w, q[k], "score", e);
		if (wadd(v, &v->s2[k], w, sq) < 0)
			return prod_fail(row, w, sq, "squared score", e);
	}
	for (int d = 0; d < v->D; d++) {
		double x = q[v->da[d]] - q[v->db[d]];
		if (wadd(v, &v->d2[d], w, x * x) < 0)
			return prod_fail(row, w, x * x, "squared difference", e);
	}
	if (v->ccol >= 0) {
		long g = cluster(v, cluster_key(b, v->ccol, i), e);
		if (g < 0)
			return -1;
		v->cn[g]++;
		if (v->weighted)
			pt_xsum_add(&v->cw[g], w);
		for (int k = 0; k < Q; k++)
			(void)wadd(v, &v->cs[(size_t)g * (size_t)Q + (size_t)k],
			    w, q[k]); /* in range: added to s1 above */
	}
	if (v->leaf != NULL) {
		int l = v->leafof[i];
		v->leafn[l]++;
		if (v->weighted)
			pt_xsum_add(&v->leafw[l], w);
		for (int a = 0; a < A; a++)
			(void)wadd(v, &v->leaf[(size_t)l * (size_t)A + (size_t)a],
			    w, q[P + a]);
	}
	/* Ranked rows: a row of weight 0 is no row at all (its copies are
	 * none), so it takes no place in the ranking. */
	if (v->rcol != NULL && (!v->weighted || w > 0)) {
		double *r = v->rk + v->nrk * (2 * (size_t)(A - 1) +
		    (size_t)v->weighted), hi, lo;
		for (int a = 0; a < A; a++) {
			if (a == c)
				continue;
			*r++ = PT_COL_F64(b, v->rcol[a])[i] -
			    PT_COL_F64(b, v->rcol[c])[i];
			*r = q[P + a] - q[P + c];
			if (v->weighted && pt_two_prod(w, *r, &hi, &lo) < 0)
				return prod_fail(row, w, *r, "gain", e);
			r++;
		}
		if (v->weighted)
			*r = w;
		v->nrk++;
	}
	return 0;
}

int
pt_eval_add(pt_eval *v, const pt_batch *b, pt_err *e)
{
	const int P = v->P, A = v->A;
	const pt_manifest *m = v->o->m;
	const double *wc = v->weighted ? PT_COL_F64(b, v->wcol) : NULL;

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
	if (v->pidbound && pt_partid_add(&v->pid, b, e) < 0)
		return -1;
	if (v->leaf != NULL) /* curves: the first tree's leaves */
		pt_policy_route(v->pol[0], b, v->leafof);
	if (v->rcol != NULL && rank_grow(v, b->nrows, e) < 0)
		return -1;
	for (size_t i = 0; i < b->nrows; i++) {
		double *q = v->q, w = wc != NULL ? wc[i] : 1.0;
		if (!(w >= 0 && isfinite(w)))
			return pt_fail(e, PT_EVALUE, "", "row %" PRIu64 ": weight "
			    "%g is not a finite number >= 0", v->n + i + 1, w);
		for (int a = 0; a < A; a++) {
			q[P + a] = PT_COL_F64(b, v->score[a])[i];
			if (!isfinite(q[P + a]))
				return pt_fail(e, PT_EVALUE, "", "row %" PRIu64 ": "
				    "a score is not finite", v->n + i + 1);
		}
		for (int p = 0; p < P; p++)
			q[p] = q[P + v->node[p][i]];
		if (add_row(v, b, i, w, e) < 0)
			return -1;
		if (v->weighted)
			pt_xsum_add(&v->wsum, w);
		if (v->tr == TR_HASH)
			v->ntrain += pt_manifest_is_train(m,
			    PT_COL_U64(b, v->trcol)[i], NAN);
		else if (v->tr == TR_COLUMN)
			v->ntrain += pt_manifest_is_train(m, 0,
			    PT_COL_F64(b, v->trcol)[i]);
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
pt_mean_se_w(const pt_xsum *s, const pt_xsum *s2, double n, double *mean,
    double *se)
{
	double m, m2, var;

	if (!(n > 0)) {
		*mean = *se = NAN;
		return;
	}
	m = pt_xsum_round(s) / n;
	m2 = pt_xsum_round(s2) / n;
	var = n > 1 ? (m2 - m * m) * (n / (n - 1)) : 0.0;
	*mean = m;
	*se = var > 0 ? sqrt(var / n) : 0.0;
}

void
pt_mean_se(const pt_xsum *s, const pt_xsum *s2, uint64_t n, double *mean,
    double *se)
{
	pt_mean_se_w(s, s2, (double)n, mean, se);
}

/* What the means divide by: the rows' weight, or their count. */
static double
total(const pt_eval *v)
{
	return v->weighted ? pt_xsum_round(&v->wsum) : (double)v->n;
}

/* The clusters the rows form: under weights, those of weight 0 hold no
 * copy of a row and count for nothing. */
static size_t
nclusters(const pt_eval *v)
{
	size_t G = 0;

	if (!v->weighted)
		return v->G;
	for (size_t g = 0; g < v->G; g++)
		G += pt_xsum_sign(&v->cw[g]) > 0;
	return G;
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
	double G = (double)nclusters(v), n = total(v);

	pt_xsum_init(&acc);
	for (size_t g = 0; g < v->G; g++) {
		double d;
		t = v->cs[g * (size_t)v->Q + (size_t)a];
		if (b >= 0)
			pt_xsum_sub(&t, &v->cs[g * (size_t)v->Q + (size_t)b]);
		d = pt_xsum_round(&t) - (v->weighted ?
		    pt_xsum_round(&v->cw[g]) : (double)v->cn[g]) * xbar;
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

	pt_mean_se_w(&v->s1[k], &v->s2[k], total(v), &mean, &se);
	if (v->clustered)
		se = cluster_se(v, k, -1, mean);
	return interval(mean, se);
}

/* a - b: the value from the exact difference of the sums, the standard
 * error from the rows' differences (their squares summed exactly). */
static fig
difference(const pt_eval *v, int d)
{
	pt_xsum t = v->s1[v->da[d]];
	double n = total(v), m, m2, var, se;

	pt_xsum_sub(&t, &v->s1[v->db[d]]);
	m = pt_xsum_round(&t) / n;
	m2 = pt_xsum_round(&v->d2[d]) / n;
	var = n > 1 ? (m2 - m * m) * (n / (n - 1)) : 0.0;
	se = var > 0 ? sqrt(var / n) : 0.0;
	if (v->clustered)
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
	if (v->weighted) {
		pt_y_key(b, 0, "weight");
		pt_y_f64(b, total(v));
		pt_buf_putc(b, '\n');
	}
	pt_y_key(b, 0, "training_rows");
	pt_y_str(b, pt_eval_training(v, &ntr), PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_putc(b, '\n');
	if (v->clustered) {
		pt_buf_puts(b, "cluster: {column: ");
		pt_y_str(b, v->cname, PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_printf(b, ", clusters: %zu}\n", nclusters(v));
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
	if (v->weighted) {
		pt_j_key(&j, "weight");
		pt_j_f64(&j, total(v));
	}
	pt_j_key(&j, "training_rows");
	pt_j_str(&j, pt_eval_training(v, &ntr));
	pt_j_key(&j, "cluster");
	if (!v->clustered)
		pt_j_null(&j);
	else {
		pt_j_obj(&j);
		pt_j_key(&j, "column");
		pt_j_str(&j, v->cname);
		pt_j_key(&j, "clusters");
		pt_j_u64(&j, nclusters(v));
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
	if (v->weighted && pt_xsum_sign(&v->wsum) <= 0)
		return pt_fail(e, PT_EVALUE, "", "the rows' weights add up to 0: "
		    "no value to estimate");
	if (v->clustered && nclusters(v) < 2)
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

/* A group of rows of one rank: how many (or their weight), and the sum of
 * their gains. */
typedef struct group {
	double rank, m, gain;
	int leaf;              /* leaf_groups: the leaf, before merging */
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
 * object of "curves", over N rows (or weight: g[i].m is then a group's
 * weight).  Within a group of tied rows the gain grows linearly: the mean
 * over the orders of its rows.  While N and every group are whole, the
 * points sit at whole row counts (the points of N rows of weight 1);
 * otherwise at the 101 shares of the weight, their n a weight. */
static void
curve(pt_json *j, const char *treatment, const char *control, const char *by,
    const group *g, size_t ng, double N)
{
	pt_xsum cum, area, tot, pos;
	double total, auuc, auuc_random;
	int whole = N <= 0x1p53 && N == floor(N), npts, pt = 0;
	uint64_t n;
	double p = 0;

	for (size_t i = 0; whole && i < ng; i++)
		whole = g[i].m == floor(g[i].m);
	n = whole ? (uint64_t)N : 0;
	npts = whole && n < 100 ? (int)n + 1 : 101;

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
	pt_xsum_init(&pos);
	for (size_t i = 0; i <= ng && pt < npts; i++) {
		double G = pt_xsum_round(&cum), end;
		double m = i < ng ? g[i].m : 0;
		/* The group's end: exact for whole counts, else the rounded
		 * exact sum of the weights so far, and N for the last group
		 * (its groups' weights are rounded: the sum may miss N by an
		 * ulp, and the last point must fall in). */
		if (i < ng)
			pt_xsum_add(&pos, m);
		end = whole ? p + m : i + 1 >= ng ? N : pt_xsum_round(&pos);
		/* The points whose row count falls in this group. */
		for (; pt < npts; pt++) {
			double k = whole ? (double)((uint64_t)pt * n /
			    (uint64_t)(npts - 1)) : pt == npts - 1 ? N :
			    N * pt / (npts - 1);
			double gain;
			if (k > end || (k > p && i == ng))
				break;
			gain = k == p ? G : G + (k - p) / m * g[i].gain;
			pt_j_obj(j);
			pt_j_key(j, "share");
			pt_j_f64(j, k / N);
			pt_j_key(j, "n");
			if (whole)
				pt_j_u64(j, (uint64_t)k);
			else
				pt_j_f64(j, k);
			pt_j_key(j, "uplift");
			pt_j_f64(j, k != 0 ? gain / k : 0.0);
			pt_j_key(j, "qini");
			pt_j_f64(j, gain / N);
			pt_j_key(j, "random");
			pt_j_f64(j, k / N * (total / N));
			pt_j_obj_end(j);
		}
		if (i < ng)
			pt_xsum_add(&cum, g[i].gain);
		p = end;
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
	const int A = v->A, c = v->control;
	group *g = malloc(((size_t)v->nnodes + 1) * sizeof *g);
	pt_xsum *sum = malloc(((size_t)v->nnodes + 1) * sizeof *sum);
	size_t k = 0, out = 0;

	if (g == NULL || sum == NULL) {
		free(g);
		free(sum);
		nomem(e);
		return NULL;
	}
	for (int l = 0; l < v->nnodes; l++) {
		const double *val = &v->lval[(size_t)l * (size_t)A];
		int a = arm >= 0 ? arm : v->lact[l];
		/* Under weights a leaf of weight 0 holds no copy of a row. */
		if (v->leafn[l] == 0 || (v->weighted &&
		    pt_xsum_sign(&v->leafw[l]) <= 0))
			continue;
		g[k].rank = val[a] - val[c];
		g[k].m = v->weighted ? pt_xsum_round(&v->leafw[l]) :
		    (double)v->leafn[l];
		/* gain holds the index of its exact sum until merged */
		sum[k] = v->leaf[(size_t)l * (size_t)A + (size_t)a];
		pt_xsum_sub(&sum[k], &v->leaf[(size_t)l * (size_t)A + (size_t)c]);
		g[k].gain = (double)k;
		g[k].leaf = l;
		k++;
	}
	qsort(g, k, sizeof *g, by_rank);
	for (size_t i = 0; i < k; out++) {
		pt_xsum s, sm;
		size_t i0 = i;
		double m = 0;
		pt_xsum_init(&s);
		pt_xsum_init(&sm);
		for (; i < k && same_rank(g[i].rank, g[i0].rank); i++) {
			pt_xsum_merge(&s, &sum[(size_t)g[i].gain]);
			if (v->weighted)
				pt_xsum_merge(&sm, &v->leafw[g[i].leaf]);
			else
				m += g[i].m;
		}
		g[out].rank = g[i0].rank;
		g[out].m = v->weighted ? pt_xsum_round(&sm) : m;
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
	size_t per = 2 * (size_t)(v->A - 1) + (size_t)v->weighted, out = 0,
	    n = v->nrk;

	for (size_t i = 0; i < n; i++) {
		g[i].rank = v->rk[i * per + 2 * (size_t)j];
		g[i].gain = v->rk[i * per + 2 * (size_t)j + 1];
		g[i].m = v->weighted ? v->rk[i * per + per - 1] : 1.0;
	}
	qsort(g, n, sizeof *g, by_rank);
	for (size_t i = 0; i < n; out++) {
		pt_xsum s, sm;
		size_t i0 = i;
		pt_xsum_init(&s);
		pt_xsum_init(&sm);
		for (; i < n && same_rank(g[i].rank, g[i0].rank); i++) {
			/* in range: checked as the row was added */
			(void)wadd(v, &s, g[i].m, g[i].gain);
			pt_xsum_add(&sm, g[i].m);
		}
		g[out].rank = g[i0].rank;
		g[out].m = v->weighted ? pt_xsum_round(&sm) : (double)(i - i0);
		g[out].gain = pt_xsum_round(&s);
	}
	return out;
}

int
pt_eval_curves(const pt_eval *v, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	pt_json j;
	char *const *vocab = v->vocab;
	group *g = NULL;
	size_t ng;
	int k = 0;

	if (v->n == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows to evaluate");
	if (v->weighted && pt_xsum_sign(&v->wsum) <= 0)
		return pt_fail(e, PT_EVALUE, "", "the rows' weights add up to 0: "
		    "no curve to draw");
	if (v->leaf == NULL)
		return pt_fail(e, PT_EUSAGE, "--curve", "the partials hold no "
		    "leaf sums: uplift curves rank the leaves of a tree, and the "
		    "first policy is a forest");
	if (v->rcol != NULL && (g = malloc(v->nrk * sizeof *g)) == NULL)
		return nomem(e);
	pt_j_init(&j, &b);
	pt_j_obj(&j);
	pt_j_key(&j, "rows");
	pt_j_u64(&j, v->n);
	if (v->weighted) {
		pt_j_key(&j, "weight");
		pt_j_f64(&j, total(v));
	}
	pt_j_key(&j, "curves");
	pt_j_arr(&j);
	for (int a = 0; a < v->A; a++) {
		if (a == v->control)
			continue;
		if (v->rcol != NULL) {
			ng = row_groups((pt_eval *)v, k++, g);
			curve(&j, vocab[a], vocab[v->control], "model", g, ng,
			    total(v));
		} else {
			group *lg = leaf_groups(v, a, &ng, e);
			if (lg == NULL)
				goto fail;
			curve(&j, vocab[a], vocab[v->control], "tree", lg, ng,
			    total(v));
			free(lg);
		}
	}
	{
		group *lg = leaf_groups(v, -1, &ng, e);
		if (lg == NULL)
			goto fail;
		curve(&j, v->names[0], vocab[v->control], "tree", lg, ng,
		    total(v));
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

/* ---- partials ----------------------------------------------------------- */

static void
y_sum(pt_buf *b, const pt_xsum *x)
{
	char t[PT_XSUM_TEXT];

	pt_xsum_encode(x, t);
	pt_buf_puts(b, t);
}

static void
y_sums(pt_buf *b, const pt_xsum *x, int n)
{
	char t[PT_XSUM_TEXT];

	pt_buf_putc(b, '[');
	for (int i = 0; i < n; i++) {
		pt_xsum_encode(&x[i], t);
		pt_buf_printf(b, i ? ", %s" : "%s", t);
	}
	pt_buf_putc(b, ']');
}

/* Cluster indexes in key order, so that the text does not depend on the
 * order the rows came in. */
static const pt_eval *sort_v;

static int
by_key(const void *x, const void *y)
{
	uint64_t a = sort_v->ckey[*(const size_t *)x];
	uint64_t b = sort_v->ckey[*(const size_t *)y];

	return a < b ? -1 : a > b;
}

int
pt_eval_partial(const pt_eval *v, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char (*parts)[PT_PARTID_LEN] = v->parts, (*own)[PT_PARTID_LEN] = NULL;
	int np = v->nparts;
	size_t *ord = NULL;

	if (parts == NULL) {
		if (!v->pidbound)
			return pt_fail(e, PT_EUSAGE, "", "not a partial "
			    "evaluation");
		if (pt_partid_ids(&v->pid, &own, &np, e) < 0)
			return -1;
		parts = own;
	}
	if (v->G > 0 && (ord = malloc(v->G * sizeof *ord)) == NULL) {
		free(own);
		return nomem(e);
	}
	pt_buf_puts(&b, "# policy-split eval partial: exact sums of scored "
	    "rows; see policy-tree(5).\n");
	pt_fhead_write(&b, "policy-eval-partial", v->manifest, 0, NULL, v->A,
	    v->vocab);
	pt_buf_puts(&b, "policies:\n");
	for (int p = 0; p < v->P; p++) {
		pt_buf_puts(&b, "  - {name: ");
		pt_y_str(&b, v->names[p], PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_printf(&b, ", digest: %s}\n", v->digest[p][0] ?
		    v->digest[p] : "none");
	}
	pt_buf_printf(&b, "scores: %s\ncontrol: ", v->role == PT_ROLE_REWARD ?
	    "reward" : "score");
	pt_y_str(&b, v->vocab[v->control], PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_printf(&b, "\ntraining: %s\ntraining_rows: %" PRIu64 "\nrows: %"
	    PRIu64 "\n", tr_words[v->tr], v->ntrain, v->n);
	if (v->weighted) {
		pt_buf_puts(&b, "weight: ");
		y_sum(&b, &v->wsum);
		pt_buf_putc(&b, '\n');
	}
	pt_buf_puts(&b, "partitions: ");
	pt_buf_putc(&b, '[');
	for (int i = 0; i < np; i++) {
		if (i)
			pt_buf_puts(&b, ", ");
		pt_y_str(&b, parts[i], PT_Y_PLAIN_WHEN_SAFE);
	}
	free(own);
	pt_buf_puts(&b, "]\ns1: ");
	y_sums(&b, v->s1, v->Q);
	pt_buf_puts(&b, "\ns2: ");
	y_sums(&b, v->s2, v->Q);
	pt_buf_puts(&b, "\nd2: ");
	y_sums(&b, v->d2, v->D);
	pt_buf_putc(&b, '\n');
	if (v->clustered) {
		pt_y_key(&b, 0, "cluster");
		pt_y_str(&b, v->cname, PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_puts(&b, "\nclusters:");
		pt_buf_puts(&b, v->G ? "\n" : " []\n");
		for (size_t g = 0; g < v->G; g++)
			ord[g] = g;
		sort_v = v;
		if (v->G > 1)
			qsort(ord, v->G, sizeof *ord, by_key);
		for (size_t i = 0; i < v->G; i++) {
			size_t g = ord[i];
			pt_buf_printf(&b, "  - {key: %016" PRIx64 ", rows: %"
			    PRIu64 ", ", v->ckey[g], v->cn[g]);
			if (v->weighted) {
				pt_buf_puts(&b, "weight: ");
				y_sum(&b, &v->cw[g]);
				pt_buf_puts(&b, ", ");
			}
			pt_buf_puts(&b, "sums: ");
			y_sums(&b, &v->cs[g * (size_t)v->Q], v->Q);
			pt_buf_puts(&b, "}\n");
		}
	}
	if (v->leaf != NULL) {
		int any = 0;
		pt_buf_printf(&b, "nodes: %d\nleaves:", v->nnodes);
		for (int l = 0; l < v->nnodes; l++) {
			if (v->leafn[l] == 0)
				continue;
			pt_buf_puts(&b, any++ ? "" : "\n");
			pt_buf_printf(&b, "  - {node: %d, action: %d, rows: %"
			    PRIu64 ", ", l, v->lact[l], v->leafn[l]);
			if (v->weighted) {
				pt_buf_puts(&b, "weight: ");
				y_sum(&b, &v->leafw[l]);
				pt_buf_puts(&b, ", ");
			}
			pt_buf_puts(&b, "values: ");
			pt_y_f64s(&b, &v->lval[(size_t)l * (size_t)v->A], v->A);
			pt_buf_puts(&b, ", sums: ");
			y_sums(&b, &v->leaf[(size_t)l * (size_t)v->A], v->A);
			pt_buf_puts(&b, "}\n");
		}
		if (!any)
			pt_buf_puts(&b, " []\n");
	}
	free(ord);
	pt_y_digest(&b, NULL);
	return pt_buf_take(&b, out, len, "partial", e);
}

/* One exact sum of a partial into x. */
static int
read_sums_1(pt_ydoc *d, yaml_node_t *it, const char *what, pt_xsum *x,
    pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(it, &len);
	char tmp[PT_XSUM_TEXT];

	if (t == NULL || len >= sizeof tmp)
		return pt_yfail(e, d, it, PT_EFORMAT, "%s: expected an exact sum",
		    what);
	memcpy(tmp, t, len);
	tmp[len] = '\0';
	if (pt_xsum_decode(x, tmp) < 0)
		return pt_yfail(e, d, it, PT_EFORMAT, "%s: a malformed exact sum",
		    what);
	return 0;
}

/* A weight of a partial (a sum of weights: finite and >= 0) into x. */
static int
read_weight(pt_ydoc *d, yaml_node_t *n, const char *what, pt_xsum *x,
    pt_err *e)
{
	if (n == NULL || read_sums_1(d, n, what, x, e) < 0)
		return -1;
	if (x->special != 0 || pt_xsum_sign(x) < 0)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: a weight is finite and "
		    ">= 0", what);
	return 0;
}

/* n exact sums of a partial into x. */
static int
read_sums(pt_ydoc *d, yaml_node_t *n, const char *what, pt_xsum *x, int cnt,
    pt_err *e)
{
	if (n == NULL || pt_ynode_seq(d, n, what, cnt, e) < 0)
		return -1;
	for (int i = 0; i < cnt; i++)
		if (read_sums_1(d, pt_ynode_item(d, n, i), what, &x[i], e) < 0)
			return -1;
	return 0;
}

static int
read_policies(pt_ydoc *d, yaml_node_t *root, pt_eval *v, pt_err *e)
{
	static const char *const pkeys[] = { "name", "digest", NULL };
	yaml_node_t *n = pt_ynode_need(d, root, "policies", e);
	int P;

	if (n == NULL || (P = pt_ynode_seq(d, n, "policies", -1, e)) < 0)
		return -1;
	if (P < 1 || P > 2)
		return pt_yfail(e, d, n, PT_EFORMAT, "policies: one or two, not "
		    "%d", P);
	if ((v->onames = calloc((size_t)P + 1, sizeof *v->onames)) == NULL)
		return nomem(e);
	v->P = P;
	for (int p = 0; p < P; p++) {
		yaml_node_t *it = pt_ynode_item(d, n, p);
		if (pt_ymap_only(d, it, pkeys, e) < 0 ||
		    (v->onames[p] = pt_ynode_strdup(d, pt_ynode_need(d, it, "name",
		    e), "name", e)) == NULL ||
		    pt_ynode_digest(d, pt_ynode_need(d, it, "digest", e),
		    "digest", 1, v->digest[p], e) < 0)
			return -1;
	}
	v->names = (const char *const *)v->onames;
	return 0;
}

static int
read_clusters(pt_ydoc *d, yaml_node_t *root, pt_eval *v, pt_err *e)
{
	static const char *const ckeys[] = { "key", "rows", "sums", NULL };
	static const char *const wkeys[] = { "key", "rows", "weight", "sums",
		NULL };
	yaml_node_t *n = pt_ynode_get(d, root, "cluster"), *cl;
	char *name;
	uint64_t rows = 0;
	pt_xsum w;
	int G;

	pt_xsum_init(&w);
	cl = pt_ynode_get(d, root, "clusters");
	if (n == NULL && cl == NULL)
		return 0;
	if (n == NULL || cl == NULL)
		return pt_yfail(e, d, n ? n : cl, PT_EFORMAT, "cluster and "
		    "clusters go together");
	if ((name = pt_ynode_strdup(d, n, "cluster", e)) == NULL)
		return -1;
	G = map_init(v, name, e);
	free(name);
	if (G < 0 || (G = pt_ynode_seq(d, cl, "clusters", -1, e)) < 0)
		return -1;
	for (int i = 0; i < G; i++) {
		yaml_node_t *it = pt_ynode_item(d, cl, i), *k;
		char hex[17], *end;
		uint64_t key;
		long g;
		if (pt_ymap_only(d, it, v->weighted ? wkeys : ckeys, e) < 0 ||
		    (k = pt_ynode_need(d, it, "key", e)) == NULL ||
		    pt_ynode_str(d, k, "key", hex, sizeof hex, e) < 0)
			return -1;
		key = strtoull(hex, &end, 16);
		if (strlen(hex) != 16 || *end != '\0' ||
		    strspn(hex, "0123456789abcdef") != 16)
			return pt_yfail(e, d, k, PT_EFORMAT, "key: 16 lowercase "
			    "hex digits");
		if (i > 0 && key <= v->ckey[v->G - 1])
			return pt_yfail(e, d, k, PT_EFORMAT, "clusters: keys must "
			    "ascend, each once");
		if ((g = cluster(v, key, e)) < 0)
			return -1;
		if (pt_ynode_u64(d, pt_ynode_need(d, it, "rows", e), "rows",
		    &v->cn[g], e) < 0 ||
		    read_sums(d, pt_ynode_need(d, it, "sums", e), "sums",
		    &v->cs[(size_t)g * (size_t)v->Q], v->Q, e) < 0 ||
		    (v->weighted && read_weight(d, pt_ynode_need(d, it,
		    "weight", e), "weight", &v->cw[g], e) < 0))
			return -1;
		if (v->weighted)
			pt_xsum_merge(&w, &v->cw[g]);
		if (v->cn[g] == 0 || v->cn[g] > v->n - rows)
			return pt_yfail(e, d, it, PT_EFORMAT, "clusters: rows "
			    "must be 1 or more and add up to the partial's rows");
		rows += v->cn[g];
	}
	if (rows != v->n)
		return pt_yfail(e, d, cl, PT_EFORMAT, "clusters: %" PRIu64 " rows "
		    "for a partial of %" PRIu64, rows, v->n);
	if (v->weighted && pt_xsum_cmp(&w, &v->wsum) != 0)
		return pt_yfail(e, d, cl, PT_EFORMAT, "clusters: their weights "
		    "do not add up to the partial's weight");
	return 0;
}

static int
read_leaves(pt_ydoc *d, yaml_node_t *root, pt_eval *v, pt_err *e)
{
	static const char *const lkeys[] = { "node", "action", "rows",
		"values", "sums", NULL };
	static const char *const wkeys[] = { "node", "action", "rows",
		"weight", "values", "sums", NULL };
	yaml_node_t *n = pt_ynode_get(d, root, "nodes"), *lv;
	int64_t nn, prev = -1;
	uint64_t rows = 0;
	pt_xsum w;
	int L;

	pt_xsum_init(&w);
	lv = pt_ynode_get(d, root, "leaves");
	if (n == NULL && lv == NULL)
		return 0;
	if (n == NULL || lv == NULL)
		return pt_yfail(e, d, n ? n : lv, PT_EFORMAT, "nodes and leaves "
		    "go together");
	if (v->A < 2)
		return pt_yfail(e, d, n, PT_EFORMAT, "leaves: one action has no "
		    "curves");
	if (pt_ynode_int(d, n, "nodes", 1, (INT64_C(1) <<
	    (PT_PTREE_MAXDEPTH + 1)) - 1, &nn, e) < 0 ||
	    leaves_alloc(v, (int)nn, e) < 0 ||
	    (L = pt_ynode_seq(d, lv, "leaves", -1, e)) < 0)
		return -1;
	for (int i = 0; i < L; i++) {
		yaml_node_t *it = pt_ynode_item(d, lv, i), *k;
		int64_t l, act;
		double *val;
		if (pt_ymap_only(d, it, v->weighted ? wkeys : lkeys, e) < 0 ||
		    pt_ynode_int(d, (k = pt_ynode_need(d, it, "node", e)), "node",
		    0, nn - 1, &l, e) < 0 ||
		    pt_ynode_int(d, pt_ynode_need(d, it, "action", e), "action",
		    0, v->A - 1, &act, e) < 0)
			return -1;
		if (l <= prev)
			return pt_yfail(e, d, k, PT_EFORMAT, "leaves: nodes must "
			    "ascend, each once");
		prev = l;
		v->lact[l] = (int)act;
		if (pt_ynode_u64(d, pt_ynode_need(d, it, "rows", e), "rows",
		    &v->leafn[l], e) < 0 ||
		    (val = pt_ynode_f64s(d, pt_ynode_need(d, it, "values", e),
		    "values", v->A, NULL, e)) == NULL)
			return -1;
		memcpy(&v->lval[l * v->A], val, (size_t)v->A * sizeof *val);
		free(val);
		if (read_sums(d, pt_ynode_need(d, it, "sums", e), "sums",
		    &v->leaf[l * v->A], v->A, e) < 0 ||
		    (v->weighted && read_weight(d, pt_ynode_need(d, it,
		    "weight", e), "weight", &v->leafw[l], e) < 0))
			return -1;
		if (v->weighted)
			pt_xsum_merge(&w, &v->leafw[l]);
		if (v->leafn[l] == 0 || v->leafn[l] > v->n - rows)
			return pt_yfail(e, d, it, PT_EFORMAT, "leaves: rows must "
			    "be 1 or more and add up to the partial's rows");
		rows += v->leafn[l];
	}
	if (rows != v->n)
		return pt_yfail(e, d, lv, PT_EFORMAT, "leaves: %" PRIu64 " rows "
		    "for a partial of %" PRIu64, rows, v->n);
	if (v->weighted && pt_xsum_cmp(&w, &v->wsum) != 0)
		return pt_yfail(e, d, lv, PT_EFORMAT, "leaves: their weights do "
		    "not add up to the partial's weight");
	return 0;
}

pt_eval *
pt_eval_parse(const char *buf, size_t len, const char *name,
    const pt_eval_opts *o, pt_err *e)
{
	static const char *const formats[] = { "policy-eval-partial", NULL };
	static const char *const keys[] = { PT_FHEAD_KEYS, "policies",
		"scores", "control", "training", "training_rows", "rows",
		"weight", "partitions", "s1", "s2", "d2", "cluster", "clusters", "nodes",
		"leaves", NULL };
	pt_eval *v = calloc(1, sizeof *v);
	pt_ydoc d;
	pt_fhead h;
	yaml_node_t *root, *n;
	char **parts = NULL;
	char *label = NULL;
	int np = 0, k;

	if (v == NULL) {
		nomem(e);
		return NULL;
	}
	v->o = o;
	v->ccol = -1;
	v->wcol = -1;
	pt_xsum_init(&v->wsum);
	if ((root = pt_fhead_load(&d, &h, buf, len, name,
	    "policy-split eval partial", formats, NULL, e)) == NULL ||
	    pt_ymap_only(&d, root, keys, e) < 0)
		goto fail;
	if (h.nfeatures != 0) {
		pt_yfail(e, &d, pt_ynode_get(&d, root, "features"), PT_EFORMAT,
		    "features: an eval partial names none");
		goto fail;
	}
	memcpy(v->manifest, h.manifest, sizeof v->manifest);
	v->A = h.nvocab;
	v->ovocab = h.vocab;
	v->vocab = v->ovocab;
	h.vocab = NULL;
	h.nvocab = 0;
	if (read_policies(&d, root, v, e) < 0 || sums_alloc(v, e) < 0 ||
	    (k = pt_ynode_word(&d, pt_ynode_need(&d, root, "scores", e),
	    "scores", "score|reward", e)) < 0)
		goto fail;
	v->role = k ? PT_ROLE_REWARD : PT_ROLE_SCORE;
	if ((n = pt_ynode_need(&d, root, "control", e)) == NULL ||
	    (label = pt_ynode_strdup(&d, n, "control", e)) == NULL)
		goto fail;
	if ((v->control = arm_of(v, label)) < 0) {
		pt_yfail(e, &d, n, PT_EFORMAT, "control: not an action of vocab");
		goto fail;
	}
	if ((k = pt_ynode_word(&d, pt_ynode_need(&d, root, "training", e),
	    "training", "unknown|hash|column|all", e)) < 0 ||
	    pt_ynode_u64(&d, pt_ynode_need(&d, root, "training_rows", e),
	    "training_rows", &v->ntrain, e) < 0 ||
	    pt_ynode_u64(&d, pt_ynode_need(&d, root, "rows", e), "rows", &v->n,
	    e) < 0)
		goto fail;
	v->tr = k;
	if ((n = pt_ynode_get(&d, root, "weight")) != NULL) {
		v->weighted = 1;
		if (read_weight(&d, n, "weight", &v->wsum, e) < 0)
			goto fail;
		if (v->n == 0 && pt_xsum_sign(&v->wsum) != 0) {
			pt_yfail(e, &d, n, PT_EFORMAT, "weight: a partial of no "
			    "rows weighs 0");
			goto fail;
		}
	}
	if (v->ntrain > v->n || (v->tr == TR_UNKNOWN && v->ntrain != 0) ||
	    (v->tr == TR_ALL && v->ntrain != v->n)) {
		pt_yfail(e, &d, root, PT_EFORMAT, "training_rows: %" PRIu64
		    " cannot be under training: %s with %" PRIu64 " rows",
		    v->ntrain, tr_words[v->tr], v->n);
		goto fail;
	}
	if ((parts = pt_ynode_strs(&d, (n = pt_ynode_need(&d, root,
	    "partitions", e)), "partitions", &np, e)) == NULL)
		goto fail;
	if (pt_partid_list(parts, np, &v->parts, e) < 0) {
		if (e->code != PT_ENOMEM) {
			char msg[sizeof e->msg];
			memcpy(msg, e->msg, sizeof msg);
			pt_yfail(e, &d, n, PT_EFORMAT, "%s", msg);
		}
		goto fail;
	}
	v->nparts = np;
	if (read_sums(&d, pt_ynode_need(&d, root, "s1", e), "s1", v->s1, v->Q,
	    e) < 0 || read_sums(&d, pt_ynode_need(&d, root, "s2", e), "s2",
	    v->s2, v->Q, e) < 0 || read_sums(&d, pt_ynode_need(&d, root, "d2",
	    e), "d2", v->d2, v->D, e) < 0 ||
	    read_clusters(&d, root, v, e) < 0 || read_leaves(&d, root, v, e) < 0)
		goto fail;
	free(label);
	pt_strs_free(parts, np);
	pt_fhead_free(&h);
	pt_ydoc_free(&d);
	return v;
fail:
	free(label);
	pt_strs_free(parts, np);
	pt_fhead_free(&h);
	pt_ydoc_free(&d);
	pt_eval_free(v);
	return NULL;
}

/* Whether two partials are of the same evaluation: "" or what differs. */
static const char *
differs(const pt_eval *a, const pt_eval *b)
{
	if (strcmp(a->manifest, b->manifest) != 0)
		return "another manifest";
	if (a->A != b->A || a->P != b->P)
		return "other actions or policies";
	for (int k = 0; k < a->A; k++)
		if (strcmp(a->vocab[k], b->vocab[k]) != 0)
			return "other actions";
	for (int p = 0; p < a->P; p++)
		if (strcmp(a->names[p], b->names[p]) != 0 ||
		    strcmp(a->digest[p], b->digest[p]) != 0)
			return "another policy";
	if (a->role != b->role)
		return "other score columns (scores and rewards)";
	if (a->weighted != b->weighted)
		return "rows weighted and unweighted (a sample weight column "
		    "in one and not the other)";
	if (a->control != b->control)
		return "another control";
	if (a->tr != b->tr)
		return "another training rule (-m given to one and not the "
		    "other, or frames of another split)";
	if (a->clustered != b->clustered || (a->clustered &&
	    strcmp(a->cname, b->cname) != 0))
		return "another --cluster column";
	if (a->nnodes != b->nnodes)
		return "another first tree";
	return "";
}

int
pt_eval_merge(pt_eval *dst, const pt_eval *src, const char *srcname,
    pt_err *e)
{
	const char *why = differs(dst, src);
	char (*u)[PT_PARTID_LEN];
	int nu;

	if (*why)
		return pt_fail(e, PT_EMISMATCH, srcname, "an eval partial of %s",
		    why);
	if (dst->parts == NULL || src->parts == NULL)
		return pt_fail(e, PT_EUSAGE, srcname, "merge: partials only");
	/* Each node's estimates are the tree's: the same file, the same
	 * values. */
	for (int l = 0; l < src->nnodes; l++) {
		size_t o = (size_t)l * (size_t)src->A;
		if (src->leafn[l] == 0 || dst->leafn[l] == 0)
			continue;
		if (src->lact[l] != dst->lact[l] || memcmp(&src->lval[o],
		    &dst->lval[o], (size_t)src->A * sizeof *src->lval) != 0)
			return pt_fail(e, PT_EMISMATCH, srcname, "an eval partial "
			    "whose leaf %d differs from the others'", l);
	}
	if (pt_partid_union(dst->parts, dst->nparts, src->parts, src->nparts,
	    &u, &nu, e) < 0) {
		pt_err_where(e, "%.250s", srcname);
		return -1;
	}
	free(dst->parts);
	dst->parts = u;
	dst->nparts = nu;
	for (size_t g = 0; g < src->G; g++) {
		long h = cluster(dst, src->ckey[g], e);
		if (h < 0)
			return -1;
		dst->cn[h] += src->cn[g];
		if (dst->weighted)
			pt_xsum_merge(&dst->cw[h], &src->cw[g]);
		for (int k = 0; k < dst->Q; k++)
			pt_xsum_merge(&dst->cs[(size_t)h * (size_t)dst->Q +
			    (size_t)k], &src->cs[g * (size_t)src->Q + (size_t)k]);
	}
	for (int l = 0; l < src->nnodes; l++) {
		size_t o = (size_t)l * (size_t)src->A;
		if (src->leafn[l] == 0)
			continue;
		if (dst->leafn[l] == 0) {
			dst->lact[l] = src->lact[l];
			memcpy(&dst->lval[o], &src->lval[o], (size_t)src->A *
			    sizeof *src->lval);
		}
		dst->leafn[l] += src->leafn[l];
		if (dst->weighted)
			pt_xsum_merge(&dst->leafw[l], &src->leafw[l]);
		for (int a = 0; a < src->A; a++)
			pt_xsum_merge(&dst->leaf[o + (size_t)a],
			    &src->leaf[o + (size_t)a]);
	}
	for (int k = 0; k < dst->Q; k++) {
		pt_xsum_merge(&dst->s1[k], &src->s1[k]);
		pt_xsum_merge(&dst->s2[k], &src->s2[k]);
	}
	for (int d = 0; d < dst->D; d++)
		pt_xsum_merge(&dst->d2[d], &src->d2[d]);
	dst->n += src->n;
	dst->ntrain += src->ntrain;
	pt_xsum_merge(&dst->wsum, &src->wsum);
	return 0;
}

int
pt_eval_expect(const pt_eval *v, int n, pt_err *e)
{
	char (*own)[PT_PARTID_LEN] = NULL;
	int np = v->nparts, rc;

	if (v->parts == NULL && v->pidbound &&
	    pt_partid_ids(&v->pid, &own, &np, e) < 0)
		return -1;
	rc = pt_partid_expect(v->parts ? v->parts : own, np, n, e);
	free(own);
	return rc;
}

int
pt_eval_set_control(pt_eval *v, const char *label, pt_err *e)
{
	int c = arm_of(v, label);

	if (c < 0)
		return pt_fail(e, PT_EUSAGE, "--control", "'%s' is not an action "
		    "of the tree", label);
	v->control = c;
	return 0;
}

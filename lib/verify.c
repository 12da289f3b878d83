/*
 * verify.c: contract signatures, their file format, comparison, and drift.
 *
 * Per-row components hash each row on its own (XXH3-128 over the bytes of
 * its input columns, in schema order) and add the hashes modulo 2^128: the
 * sum is the same for any order and partitioning, and a change of any bit
 * of any value changes it (with probability 1 - 2^-128 per change).
 */
#include "verify.h"
#include "wordhash.h"

#include "buf.h"
#include "forest.h"
#include "score.h"
#include "tree.h"
#include "yamlin.h"
#include "jsonout.h"
#include "yamlout.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
/* Inline: the state's layout, so it can live on the stack (no allocation
 * to fail and leave a component silently unhashed), and the hash of short
 * rows compiled into the loops that lay them out. */
#define XXH_INLINE_ALL
#include <xxhash.h>

static const char *const names[PT_SIG_N + 1] = {
	"manifest", "feature_order", "vocabulary", "preprocessing", "boundaries",
	"model", "rows", "scores", "tree", "policy"
};

const char *
pt_sig_name(pt_sigcomp c)
{
	return c < PT_SIG_N ? names[c] : "?";
}

void
pt_sig_init(pt_sig *s)
{
	memset(s, 0, sizeof *s);
}

/* ---- hashing structured content ------------------------------------------ */

/* A streaming XXH3-128 state with typed feeds: each string is fed with its
 * length first, so ["ab","c"] and ["a","bc"] differ. */
typedef struct hstate {
	XXH3_state_t st;
} hstate;

static void
h_begin(hstate *h)
{
	XXH3_128bits_reset(&h->st);
}

static void
h_bytes(hstate *h, const void *p, size_t n)
{
	XXH3_128bits_update(&h->st, p, n);
}

static void
h_u64(hstate *h, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	h_bytes(h, b, 8);
}

static void
h_f64(hstate *h, double x)
{
	uint64_t v;

	memcpy(&v, &x, 8);
	h_u64(h, v);
}

static void
h_str(hstate *h, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	h_u64(h, s ? n : UINT64_MAX);
	if (s)
		h_bytes(h, s, n);
}

static pt_h128
h_end(hstate *h)
{
	XXH128_hash_t x = XXH3_128bits_digest(&h->st);
	pt_h128 r = { x.low64, x.high64 };

	return r;
}

static void
set(pt_sig *s, pt_sigcomp c, pt_h128 h)
{
	s->have[c] = 1;
	s->h[c] = h;
}

static const char *
colname(const pt_manifest *m, int i)
{
	return i >= 0 ? m->columns[i] : NULL;
}

void
pt_sig_manifest(pt_sig *s, const pt_manifest *m)
{
	hstate h;

	h_begin(&h);
	h_str(&h, m->digest);
	set(s, PT_SIG_MANIFEST, h_end(&h));

	h_begin(&h);
	h_u64(&h, (uint64_t)m->nfeatures);
	for (int i = 0; i < m->nfeatures; i++)
		h_str(&h, m->features[i].name);
	set(s, PT_SIG_FEATURES, h_end(&h));

	h_begin(&h);
	h_u64(&h, (uint64_t)m->nvocab);
	for (int i = 0; i < m->nvocab; i++)
		h_str(&h, m->vocab[i]);
	h_str(&h, m->vocab[m->control]);
	set(s, PT_SIG_VOCABULARY, h_end(&h));

	/* Preprocessing: everything that turns a CSV row into a frame row,
	 * except the feature order, vocabulary and boundaries (their own
	 * components) and the fit's bookkeeping. */
	h_begin(&h);
	h_u64(&h, (uint64_t)m->ncolumns);
	for (int i = 0; i < m->ncolumns; i++)
		h_str(&h, m->columns[i]);
	h_str(&h, colname(m, m->treatment));
	h_str(&h, colname(m, m->outcome));
	h_str(&h, colname(m, m->key));
	h_u64(&h, (uint64_t)m->nrewards);
	for (int i = 0; i < m->nrewards; i++)
		h_str(&h, colname(m, m->rewards[i]));
	h_u64(&h, (uint64_t)m->drop_missing);
	h_u64(&h, (uint64_t)m->nmissing_tokens);
	for (int i = 0; i < m->nmissing_tokens; i++)
		h_str(&h, m->missing_tokens[i]);
	h_u64(&h, (uint64_t)m->nonfinite_missing);
	h_u64(&h, (uint64_t)m->split);
	h_f64(&h, m->train_fraction);
	h_u64(&h, m->seed);
	h_str(&h, colname(m, m->split_column));
	h_f64(&h, m->until);
	h_u64(&h, (uint64_t)m->nsources);
	/* Sources in CSV column order, not feature order (its own component). */
	for (int c = 0; c < m->ncolumns; c++) {
		const pt_source *src = NULL;
		for (int i = 0; i < m->nsources; i++)
			if (m->sources[i].column == c)
				src = &m->sources[i];
		if (src == NULL)
			continue;
		h_str(&h, src->name);
		h_u64(&h, (uint64_t)src->kind);
		h_u64(&h, (uint64_t)src->missing);
		h_f64(&h, src->impute);
		h_u64(&h, (uint64_t)src->impute_level);
		h_u64(&h, (uint64_t)src->unknown_missing);
		h_u64(&h, (uint64_t)src->nlevels);
		for (int k = 0; k < src->nlevels; k++)
			h_str(&h, src->levels[k]);
	}
	set(s, PT_SIG_PREPROCESSING, h_end(&h));

	/* Boundaries: a multiset of (feature name, its boundaries), so that
	 * reordering features moves the feature order alone. */
	{
		pt_mset bs;
		pt_mset_init(&bs);
		for (int i = 0; i < m->nfeatures; i++) {
			const pt_feature *f = &m->features[i];
			h_begin(&h);
			h_str(&h, f->name);
			h_u64(&h, (uint64_t)f->nbounds);
			for (int k = 0; k < f->nbounds; k++)
				h_f64(&h, f->bounds[k]);
			pt_mset_add_hash(&bs, h_end(&h));
		}
		set(s, PT_SIG_BOUNDARIES, bs.sum);
	}
}

void
pt_sig_file(pt_sig *s, pt_sigcomp c, const void *buf, size_t len)
{
	set(s, c, pt_hash128(buf, len, 0));
}

int
pt_sig_load_file(pt_sig *s, pt_sigcomp c, const char *buf, size_t len,
    const char *name, const pt_manifest *m, pt_err *e)
{
	const char *made = NULL;
	pt_scorer *sc = NULL;
	pt_ptree *t = NULL;
	pt_forest *f = NULL;
	int rc = 0;

	if (len == 0)
		return pt_fail(e, PT_EFORMAT, name, "empty file");
	/* Only what the programs themselves would load is signed: the
	 * readers check the format, the structure and the digest line. */
	if (c == PT_SIG_MODEL) {
		if ((sc = pt_scorer_load(buf, len, name, e)) == NULL)
			return -1;
		made = pt_scorer_forest(sc) ? pt_scorer_forest(sc)->manifest :
		    pt_scorer_rmodel(sc)->manifest;
	} else if (pt_forest_is(buf, len)) {
		/* A forest as the policy (policy-split apply -t FOREST). */
		if ((f = pt_forest_parse(buf, len, name, e)) == NULL)
			return -1;
		made = f->manifest;
	} else {
		if ((t = pt_ptree_parse(buf, len, name, e)) == NULL)
			return -1;
		made = t->manifest;
	}
	if (m != NULL && made[0] != '\0' && strcmp(made, m->digest) != 0)
		rc = pt_fail(e, PT_EMISMATCH, name, "made for manifest %s, not for "
		    "the manifest given (%s)", made, m->digest);
	else
		pt_sig_file(s, c, buf, len);
	pt_scorer_free(sc);
	pt_ptree_free(t);
	pt_forest_free(f);
	return rc;
}

/* ---- frames ---------------------------------------------------------------- */

/* An input column as the rows take it: where it is, its type and, for a
 * coded column, the word of each of its labels. */
typedef struct incol {
	int j;
	pt_type type;
	int nwords;
	uint64_t *word;
} incol;

typedef struct group {
	pt_schema *schema;
	pt_mset rows, scores, policy;
	int nscores;
	int *scorecol;     /* the score columns, in vocabulary order */
	incol *in, action; /* input columns sorted by name; action (j -1: none) */
	int nin;
	pt_h128 shape;     /* hash of their names and types */
	const char *first_name;
	int *need, nneed;  /* the columns a row needs: in, scores, action */
} group;

/* Rows are hashed BLOCK at a time: laid out row-major in a scratch block
 * small enough to stay in the first-level cache, filled one column at a
 * time, then hashed row by row. */
#define BLOCK 128
#define MAXTHREADS 16

/* One thread's share of a frame: rows [lo, hi) of b, its scratch blocks
 * and its sums (added to the group's after the frame; the sums do not
 * depend on how the rows were shared). */
typedef struct part {
	const group *gr;
	const pt_batch *b;
	size_t lo, hi;
	unsigned char *rowbuf, *scorebuf;
	size_t rowcap, scorecap;
	const void **col;  /* per needed column, its values from row lo */
	int colcap;
	pt_mset rows, scores, policy;
	struct pt_signer *owner;
	uint64_t seen;     /* the last frame a worker took */
} part;

struct pt_signer {
	const pt_manifest *m;
	pt_progress_fn progress;
	uint64_t rows_seen;
	char manifest[33];
	group *g;
	int ng;
	uint64_t bytes;
	/* Threads: part[0] is the caller's, part[k] worker k's.  A frame is
	 * handed out by bumping gen; each worker does its part and counts
	 * pending down. */
	int nthreads, nstarted;
	part part[MAXTHREADS];
	pthread_t th[MAXTHREADS];
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	int have_sync, quit, pending;
	uint64_t gen;
};

pt_signer *
pt_signer_new(const pt_manifest *m, pt_err *e)
{
	pt_signer *g = calloc(1, sizeof *g);

	if (g == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	g->m = m;
	g->nthreads = 1;
	/* Before any worker hashes. */
	pt_hash128_words_ready();
	if (m != NULL)
		memcpy(g->manifest, m->digest, sizeof g->manifest);
	return g;
}

void
pt_signer_threads(pt_signer *g, int n)
{
	if (g->nstarted > 0)
		return;
	g->nthreads = n < 1 ? 1 : n > MAXTHREADS ? MAXTHREADS : n;
}

static void
stop_workers(pt_signer *g)
{
	if (g->nstarted > 0) {
		pthread_mutex_lock(&g->mu);
		g->quit = 1;
		pthread_cond_broadcast(&g->go);
		pthread_mutex_unlock(&g->mu);
		for (int k = 1; k <= g->nstarted; k++)
			pthread_join(g->th[k], NULL);
		g->nstarted = 0;
	}
	if (g->have_sync) {
		pthread_cond_destroy(&g->done);
		pthread_cond_destroy(&g->go);
		pthread_mutex_destroy(&g->mu);
		g->have_sync = 0;
	}
}

static void
free_group(group *gr)
{
	pt_schema_free(gr->schema);
	free(gr->scorecol);
	if (gr->in != NULL)
		for (int k = 0; k < gr->nin; k++)
			free(gr->in[k].word);
	free(gr->in);
	free(gr->action.word);
	free(gr->need);
}

void
pt_signer_free(pt_signer *g)
{
	if (g == NULL)
		return;
	stop_workers(g);
	for (int i = 0; i < g->ng; i++)
		free_group(&g->g[i]);
	free(g->g);
	for (int k = 0; k < MAXTHREADS; k++) {
		free(g->part[k].rowbuf);
		free(g->part[k].scorebuf);
		free(g->part[k].col);
	}
	free(g);
}

uint64_t
pt_signer_bytes(const pt_signer *g)
{
	return g->bytes;
}

/* Input columns make a row what it is; scores and actions are outputs. */
static int
is_input(pt_role r)
{
	/* Bin codes follow from the features and the manifest; which part of
	 * a split a row went to is no part of the row. */
	return r != PT_ROLE_SCORE && r != PT_ROLE_ACTION && r != PT_ROLE_BIN &&
	    r != PT_ROLE_PART;
}

/* The 8 bytes that stand for code v of a coded column: the hash of its
 * label (so the row does not depend on the code), or of the bare code
 * when it has no label. */
static uint64_t
code_word(const pt_colspec *cs, int32_t v)
{
	if (v >= 0 && v < cs->nlevels)
		return pt_hash64(cs->levels[v], strlen(cs->levels[v]), 0x6c6162656cULL);
	return 0xffffffff00000000ULL | (uint32_t)v;
}

/* Column j of s as an input column: for a coded one, the word of each
 * label, computed once. */
static int
make_incol(incol *c, const pt_schema *s, int j)
{
	const pt_colspec *cs = &s->cols[j];

	c->j = j;
	c->type = cs->type;
	c->nwords = 0;
	c->word = NULL;
	if (cs->type != PT_I32 || cs->nlevels <= 0)
		return 0;
	if ((c->word = malloc(sizeof *c->word * (size_t)cs->nlevels)) == NULL)
		return -1;
	for (int v = 0; v < cs->nlevels; v++)
		c->word[v] = code_word(cs, v);
	c->nwords = cs->nlevels;
	return 0;
}

/* code_word() from the table. */
static inline uint64_t
word_of(const incol *c, int32_t v)
{
	return (uint32_t)v < (uint32_t)c->nwords ? c->word[v] :
	    0xffffffff00000000ULL | (uint32_t)v;
}

static group *
find_group(pt_signer *g, const pt_schema *s, const char *name, pt_err *e)
{
	group *ng;

	for (int i = 0; i < g->ng; i++)
		if (pt_schema_equal(g->g[i].schema, s))
			return &g->g[i];
	ng = realloc(g->g, sizeof *ng * ((size_t)g->ng + 1));
	if (ng == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	g->g = ng;
	ng = &g->g[g->ng];
	memset(ng, 0, sizeof *ng);
	ng->action.j = -1;
	if ((ng->schema = pt_schema_clone(s)) == NULL)
		goto oom;
	pt_mset_init(&ng->rows);
	pt_mset_init(&ng->scores);
	pt_mset_init(&ng->policy);
	ng->nscores = pt_schema_count_role(s, PT_ROLE_SCORE);
	if ((ng->scorecol = malloc(sizeof(int) * ((size_t)ng->nscores + 1))) == NULL)
		goto oom;
	for (int k = 0; k < ng->nscores; k++)
		ng->scorecol[k] = pt_schema_find_role(s, PT_ROLE_SCORE, k);
	{
		int a = pt_schema_find_role(s, PT_ROLE_ACTION, 0);
		if (a >= 0 && make_incol(&ng->action, s, a) != 0)
			goto oom;
	}
	/* A row is its input columns by name, whatever their order in the
	 * frames, and a coded column by its label, whatever the code. */
	if ((ng->in = calloc((size_t)s->ncols + 1, sizeof *ng->in)) == NULL)
		goto oom;
	for (int j = 0; j < s->ncols; j++)
		if (is_input(s->cols[j].role))
			ng->in[ng->nin++].j = j;
	for (int a = 1; a < ng->nin; a++)
		for (int b = a; b > 0 && strcmp(s->cols[ng->in[b - 1].j].name,
		    s->cols[ng->in[b].j].name) > 0; b--) {
			int t = ng->in[b].j;
			ng->in[b].j = ng->in[b - 1].j;
			ng->in[b - 1].j = t;
		}
	for (int k = 0; k < ng->nin; k++)
		if (make_incol(&ng->in[k], s, ng->in[k].j) != 0)
			goto oom;
	if ((ng->need = malloc(sizeof(int) * ((size_t)s->ncols + 1))) == NULL)
		goto oom;
	for (int k = 0; k < ng->nin; k++)
		ng->need[ng->nneed++] = ng->in[k].j;
	for (int k = 0; k < ng->nscores; k++)
		ng->need[ng->nneed++] = ng->scorecol[k];
	if (ng->action.j >= 0)
		ng->need[ng->nneed++] = ng->action.j;
	{
		hstate h;
		h_begin(&h);
		for (int k = 0; k < ng->nin; k++) {
			const pt_colspec *cs = &s->cols[ng->in[k].j];
			h_str(&h, cs->name);
			h_u64(&h, (uint64_t)cs->type);
		}
		ng->shape = h_end(&h);
	}
	ng->first_name = name;
	g->ng++;
	return ng;
oom:
	free_group(ng);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

/* Little-endian 8 bytes at p: a plain copy on little-endian hosts. */
static inline void
put64(unsigned char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
#endif
}

/* Adds h to a sum kept in two words (lo, hi): modulo 2^128. */
#define ADD128(lo, hi, h) do { \
	(lo) += (h).low64; \
	(hi) += (h).high64 + ((lo) < (h).low64); \
} while (0)

/* Rows [0, n) of the columns at col (the input columns by name, then the
 * score columns, then the action), BLOCK at a time: each row as
 * [shape 16][input columns by name, 8 bytes each], its scores as
 * [row hash 16][score bits 8 each], its action as [row hash 16][word 8];
 * their hashes added to p's sums. */
static void
sign_rows(part *p, const void *const *col, size_t n)
{
	const group *gr = p->gr;
	const size_t stride = 16 + 8 * (size_t)gr->nin;
	const size_t sstride = 16 + 8 * (size_t)gr->nscores;
	const int nin = gr->nin, ns = gr->nscores;
	uint64_t rlo = p->rows.sum.lo, rhi = p->rows.sum.hi;
	uint64_t slo = p->scores.sum.lo, shi = p->scores.sum.hi;
	uint64_t plo = p->policy.sum.lo, phi = p->policy.sum.hi;
	XXH128_hash_t rh[BLOCK];
	unsigned char *rb = p->rowbuf, *sb = p->scorebuf;

	for (size_t i = 0; i < BLOCK; i++) {
		put64(rb + i * stride, gr->shape.lo);
		put64(rb + i * stride + 8, gr->shape.hi);
	}
	for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
		size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
		for (int k = 0; k < nin; k++) {
			const incol *c = &gr->in[k];
			unsigned char *q = rb + 16 + 8 * (size_t)k;
			if (c->type == PT_I32) {
				const int32_t *v = (const int32_t *)col[k] + i0;
				for (size_t i = 0; i < m; i++)
					put64(q + i * stride, word_of(c, v[i]));
			} else if (c->type == PT_U8) {
				const uint8_t *v = (const uint8_t *)col[k] + i0;
				for (size_t i = 0; i < m; i++)
					put64(q + i * stride, v[i]);
			} else {
				const uint64_t *v = (const uint64_t *)col[k] + i0;
				for (size_t i = 0; i < m; i++)
					put64(q + i * stride, v[i]);
			}
		}
		for (size_t i = 0; i < m; i++) {
			rh[i] = XXH3_128bits(rb + i * stride, stride);
			ADD128(rlo, rhi, rh[i]);
		}
		if (ns > 0) {
			for (size_t i = 0; i < m; i++) {
				put64(sb + i * sstride, rh[i].low64);
				put64(sb + i * sstride + 8, rh[i].high64);
			}
			for (int k = 0; k < ns; k++) {
				const uint64_t *v = (const uint64_t *)col[nin + k] + i0;
				unsigned char *q = sb + 16 + 8 * (size_t)k;
				for (size_t i = 0; i < m; i++)
					put64(q + i * sstride, v[i]);
			}
			for (size_t i = 0; i < m; i++) {
				XXH128_hash_t h = XXH3_128bits(sb + i * sstride, sstride);
				ADD128(slo, shi, h);
			}
		}
		if (gr->action.j >= 0) {
			const int32_t *v = (const int32_t *)col[nin + ns] + i0;
			for (size_t i = 0; i < m; i++) {
				unsigned char rec[24];
				XXH128_hash_t h;
				put64(rec, rh[i].low64);
				put64(rec + 8, rh[i].high64);
				put64(rec + 16, word_of(&gr->action, v[i]));
				h = XXH3_128bits(rec, 24);
				ADD128(plo, phi, h);
			}
		}
	}
	p->rows.sum.lo = rlo;
	p->rows.sum.hi = rhi;
	p->scores.sum.lo = slo;
	p->scores.sum.hi = shi;
	p->policy.sum.lo = plo;
	p->policy.sum.hi = phi;
}

/* sign_rows() for rows of 3 to PT_HASH_WORDS_MAX words (shape and input
 * columns) and score items as short: the same hashes, computed
 * straight from the columns a word column at a time, so no row is laid
 * out in bytes.  An f64 or u64 column is its own word column; a coded or
 * u8 one is turned into words in p->rowbuf, BLOCK at a time. */
static void
sign_rows_words(part *p, const void *const *col, size_t n)
{
	const group *gr = p->gr;
	const int nin = gr->nin, ns = gr->nscores;
	uint64_t *wb = (uint64_t *)(void *)p->rowbuf; /* (2 + nin) BLOCKs */
	const uint64_t *w[PT_HASH_WORDS_MAX];
	uint64_t hlo[BLOCK], hhi[BLOCK], ilo[BLOCK], ihi[BLOCK], aw[BLOCK];
	uint64_t rlo = p->rows.sum.lo, rhi = p->rows.sum.hi;
	uint64_t slo = p->scores.sum.lo, shi = p->scores.sum.hi;
	uint64_t plo = p->policy.sum.lo, phi = p->policy.sum.hi;

	for (size_t i = 0; i < BLOCK; i++) {
		wb[i] = gr->shape.lo;
		wb[BLOCK + i] = gr->shape.hi;
	}
	for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
		size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
		w[0] = wb;
		w[1] = wb + BLOCK;
		for (int k = 0; k < nin; k++) {
			const incol *c = &gr->in[k];
			uint64_t *q = wb + (size_t)(2 + k) * BLOCK;
			if (c->type == PT_I32) {
				const int32_t *v = (const int32_t *)col[k] + i0;
				for (size_t i = 0; i < m; i++)
					q[i] = word_of(c, v[i]);
				w[2 + k] = q;
			} else if (c->type == PT_U8) {
				const uint8_t *v = (const uint8_t *)col[k] + i0;
				for (size_t i = 0; i < m; i++)
					q[i] = v[i];
				w[2 + k] = q;
			} else
				w[2 + k] = (const uint64_t *)col[k] + i0;
		}
		pt_hash128_words(w, 2 + nin, m, hlo, hhi);
		for (size_t i = 0; i < m; i++) {
			rlo += hlo[i];
			rhi += hhi[i] + (rlo < hlo[i]);
		}
		w[0] = hlo;
		w[1] = hhi;
		if (ns > 0) {
			for (int k = 0; k < ns; k++)
				w[2 + k] = (const uint64_t *)col[nin + k] + i0;
			pt_hash128_words(w, 2 + ns, m, ilo, ihi);
			for (size_t i = 0; i < m; i++) {
				slo += ilo[i];
				shi += ihi[i] + (slo < ilo[i]);
			}
		}
		if (gr->action.j >= 0) {
			const int32_t *v = (const int32_t *)col[nin + ns] + i0;
			for (size_t i = 0; i < m; i++)
				aw[i] = word_of(&gr->action, v[i]);
			w[2] = aw;
			pt_hash128_words(w, 3, m, ilo, ihi);
			for (size_t i = 0; i < m; i++) {
				plo += ilo[i];
				phi += ihi[i] + (plo < ilo[i]);
			}
		}
	}
	p->rows.sum.lo = rlo;
	p->rows.sum.hi = rhi;
	p->scores.sum.lo = slo;
	p->scores.sum.hi = shi;
	p->policy.sum.lo = plo;
	p->policy.sum.hi = phi;
}

/* Rows [p->lo, p->hi) of p->b. */
static void
sign_part(part *p)
{
	const group *gr = p->gr;

	for (int k = 0; k < gr->nneed; k++) {
		int j = gr->need[k];
		p->col[k] = (const char *)p->b->col[j] +
		    p->lo * pt_type_width(gr->schema->cols[j].type);
	}
	if (gr->nin >= 1 && 2 + gr->nin <= PT_HASH_WORDS_MAX &&
	    2 + gr->nscores <= PT_HASH_WORDS_MAX)
		sign_rows_words(p, p->col, p->hi - p->lo);
	else
		sign_rows(p, p->col, p->hi - p->lo);
	p->rows.count += p->hi - p->lo;
	if (gr->nscores > 0)
		p->scores.count += p->hi - p->lo;
	if (gr->action.j >= 0)
		p->policy.count += p->hi - p->lo;
}

/* Worker k: waits for a frame, signs its part, says so. */
static void *
worker(void *arg)
{
	part *p = arg;
	pt_signer *g = p->owner;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (!g->quit && g->gen == p->seen)
			pthread_cond_wait(&g->go, &g->mu);
		if (g->quit)
			break;
		p->seen = g->gen;
		pthread_mutex_unlock(&g->mu);
		sign_part(p);
		pthread_mutex_lock(&g->mu);
		if (--g->pending == 0)
			pthread_cond_signal(&g->done);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Starts the workers, once; with fewer (or none) when threads cannot be
 * made: they only share the work. */
static void
start_workers(pt_signer *g)
{
	if (g->nthreads < 2 || g->have_sync)
		return;
	if (pthread_mutex_init(&g->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&g->go, NULL) != 0) {
		pthread_mutex_destroy(&g->mu);
		return;
	}
	if (pthread_cond_init(&g->done, NULL) != 0) {
		pthread_cond_destroy(&g->go);
		pthread_mutex_destroy(&g->mu);
		return;
	}
	g->have_sync = 1;
	for (int k = 1; k < g->nthreads; k++) {
		part *p = &g->part[k];
		p->owner = g;
		p->seen = g->gen;
		if (pthread_create(&g->th[k], NULL, worker, p) != 0)
			break;
		g->nstarted = k;
	}
}

/* Scratch blocks for part p and rows of strides rs and ss, and room for
 * the column pointers of group gr. */
static int
part_room(part *p, size_t rs, size_t ss, const group *gr)
{
	if (gr->nneed > p->colcap) {
		const void **c = realloc(p->col, sizeof *c * (size_t)gr->nneed);
		if (c == NULL)
			return -1;
		p->col = c;
		p->colcap = gr->nneed;
	}
	if (BLOCK * rs > p->rowcap) {
		free(p->rowbuf);
		p->rowcap = 0;
		if ((p->rowbuf = malloc(BLOCK * rs)) == NULL)
			return -1;
		p->rowcap = BLOCK * rs;
	}
	if (BLOCK * ss > p->scorecap) {
		free(p->scorebuf);
		p->scorecap = 0;
		if ((p->scorebuf = malloc(BLOCK * ss)) == NULL)
			return -1;
		p->scorecap = BLOCK * ss;
	}
	return 0;
}

/* Frames of fewer rows than this a part are signed by the caller alone. */
#define PART_MIN 4096

/* Signs batch b of group gr: shared among the threads when it is big
 * enough, each thread a run of rows. */
static int
sign_batch(pt_signer *g, group *gr, const pt_batch *b, pt_err *e)
{
	size_t n = b->nrows, rs = 16 + 8 * (size_t)gr->nin;
	size_t ss = 16 + 8 * (size_t)gr->nscores;
	int np = 1 + g->nstarted;

	if (n < 2 * (size_t)PART_MIN)
		np = 1;
	for (int k = 0; k < np; k++) {
		part *p = &g->part[k];
		if (part_room(p, rs, ss, gr) != 0)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
		p->gr = gr;
		p->b = b;
		p->lo = n * (size_t)k / (size_t)np;
		p->hi = n * (size_t)(k + 1) / (size_t)np;
		pt_mset_init(&p->rows);
		pt_mset_init(&p->scores);
		pt_mset_init(&p->policy);
	}
	if (np > 1) {
		pthread_mutex_lock(&g->mu);
		g->pending = np - 1;
		g->gen++;
		pthread_cond_broadcast(&g->go);
		pthread_mutex_unlock(&g->mu);
	}
	sign_part(&g->part[0]);
	if (np > 1) {
		pthread_mutex_lock(&g->mu);
		while (g->pending > 0)
			pthread_cond_wait(&g->done, &g->mu);
		pthread_mutex_unlock(&g->mu);
	}
	for (int k = 0; k < np; k++) {
		pt_mset_merge(&gr->rows, &g->part[k].rows);
		pt_mset_merge(&gr->scores, &g->part[k].scores);
		pt_mset_merge(&gr->policy, &g->part[k].policy);
	}
	return 0;
}

int
pt_signer_feed(pt_signer *g, pt_reader *r, const char *name, pt_err *e)
{
	const pt_schema *s = pt_reader_schema(r);
	const pt_batch *b;
	group *gr;
	int rc;

	if (g->manifest[0] == '\0')
		memcpy(g->manifest, s->manifest, sizeof g->manifest);
	else if (strcmp(g->manifest, s->manifest) != 0)
		return pt_fail(e, PT_EMISMATCH, name, "frames of manifest %s, but %s "
		    "is %s", s->manifest, g->m ? "the manifest given" :
		    "the first input's", g->manifest);
	if ((gr = find_group(g, s, name, e)) == NULL)
		return -1;
	/* With threads to spare, frame k + 1 is read and checked while the
	 * rows of frame k are hashed: reading is the larger part now. */
	if (g->nthreads > 1)
		pt_reader_readahead(r);
	start_workers(g);
	while ((rc = pt_reader_next(r, &b, e)) == 1) {
		if (sign_batch(g, gr, b, e) != 0) {
			rc = -1;
			break;
		}
		g->rows_seen += b->nrows;
		if (g->progress)
			g->progress(g->rows_seen, g->bytes + pt_reader_bytes(r));
	}
	g->bytes += pt_reader_bytes(r);
	return rc < 0 ? -1 : 0;
}

static int
mset_eq(const pt_mset *a, const pt_mset *b)
{
	return a->count == b->count && a->sum.lo == b->sum.lo &&
	    a->sum.hi == b->sum.hi;
}

int
pt_signer_finish(pt_signer *g, pt_sig *s, pt_err *e)
{
	group *rows = NULL, *scores = NULL, *policy = NULL;

	for (int i = 0; i < g->ng; i++) {
		group *gr = &g->g[i];
		if (rows == NULL)
			rows = gr;
		else if (!mset_eq(&rows->rows, &gr->rows))
			return pt_fail(e, PT_EMISMATCH, gr->first_name, "these frames "
			    "hold other rows than %s (%llu rows against %llu)",
			    rows->first_name, (unsigned long long)gr->rows.count,
			    (unsigned long long)rows->rows.count);
		if (gr->nscores > 0) {
			if (scores != NULL && !mset_eq(&scores->scores, &gr->scores))
				return pt_fail(e, PT_EMISMATCH, gr->first_name, "these "
				    "frames hold other scores than %s",
				    scores->first_name);
			scores = gr;
		}
		if (gr->action.j >= 0) {
			if (policy != NULL && !mset_eq(&policy->policy, &gr->policy))
				return pt_fail(e, PT_EMISMATCH, gr->first_name, "these "
				    "frames hold other actions than %s",
				    policy->first_name);
			policy = gr;
		}
	}
	if (rows != NULL) {
		set(s, PT_SIG_ROWS, rows->rows.sum);
		s->rows = rows->rows.count;
		s->have_rows = 1;
	}
	if (scores != NULL)
		set(s, PT_SIG_SCORES, scores->scores.sum);
	if (policy != NULL)
		set(s, PT_SIG_POLICY, policy->policy.sum);
	return 0;
}

/* ---- the signature file ------------------------------------------------------ */

int
pt_sig_write(const pt_sig *s, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char hex[33];

	pt_buf_printf(&b, "# policy-tools contract signature; see "
	    "policy-signature(5).\nformat: policy-signature\nversion: %d\n",
	    PT_SIG_VERSION);
	if (s->have_rows) {
		pt_y_key(&b, 0, "row_count");
		pt_y_u64(&b, s->rows);
		pt_buf_putc(&b, '\n');
	}
	pt_buf_puts(&b, "components:\n");
	for (int c = 0; c < PT_SIG_N; c++) {
		if (!s->have[c])
			continue;
		pt_h128_hex(s->h[c], hex);
		pt_y_key(&b, 2, names[c]);
		pt_buf_printf(&b, "%s\n", hex);
	}
	pt_y_digest(&b, NULL);
	return pt_buf_take(&b, out, len, "signature", e);
}

static int
parse_hex(const char *s, size_t n, pt_h128 *h)
{
	uint64_t v[2] = { 0, 0 };

	if (n != 32)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int c = s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		v[i / 16] = v[i / 16] << 4 | (uint64_t)d;
	}
	h->hi = v[0];
	h->lo = v[1];
	return 0;
}

int
pt_sig_parse(pt_sig *s, const char *buf, size_t len, const char *name,
    pt_err *e)
{
	static const char *const keys[] = { "format", "version", "row_count",
		"components", "digest", NULL };
	pt_ydoc d;
	yaml_node_t *root, *n, *comp;
	int64_t v;
	int rc = -1;

	pt_sig_init(s);
	if (len == 0)
		return pt_fail(e, PT_EFORMAT, name, "empty signature file");
	if (pt_y_digest_check(buf, len, name, "signature", NULL, e) < 0)
		return -1;
	if ((root = pt_ydoc_load(&d, buf, len, name, e)) == NULL)
		goto out;
	if (pt_ymap_only(&d, root, keys, e) < 0)
		goto out;
	n = pt_ynode_get(&d, root, "format");
	if (n == NULL || !pt_ynode_is(n, "policy-signature")) {
		pt_yfail(e, &d, n ? n : root, PT_EFORMAT, "not a policy signature "
		    "(format: policy-signature missing)");
		goto out;
	}
	if ((n = pt_ynode_need(&d, root, "version", e)) == NULL ||
	    pt_ynode_i64(&d, n, "version", &v, e) < 0)
		goto out;
	if (v != PT_SIG_VERSION) {
		pt_yfail(e, &d, n, PT_EMISMATCH, "signature version %" PRId64 " is "
		    "not supported (this program reads version %d)", v,
		    PT_SIG_VERSION);
		goto out;
	}
	if ((n = pt_ynode_get(&d, root, "row_count")) != NULL) {
		if (pt_ynode_u64(&d, n, "row_count", &s->rows, e) < 0)
			goto out;
		s->have_rows = 1;
	}
	if ((comp = pt_ynode_need(&d, root, "components", e)) == NULL ||
	    pt_ymap_only(&d, comp, names, e) < 0)
		goto out;
	for (int c = 0; c < PT_SIG_N; c++) {
		size_t k;
		const char *t;
		if ((n = pt_ynode_get(&d, comp, names[c])) == NULL)
			continue;
		if ((t = pt_ynode_text(n, &k)) == NULL ||
		    parse_hex(t, k, &s->h[c]) != 0) {
			pt_yfail(e, &d, n, PT_EFORMAT, "%s: expected 32 hex digits",
			    names[c]);
			goto out;
		}
		s->have[c] = 1;
	}
	rc = 0;
out:
	pt_ydoc_free(&d);
	return rc;
}

pt_cmp
pt_sig_compare(const pt_sig *a, const pt_sig *b, pt_sigcomp c)
{
	if (!a->have[c] && !b->have[c])
		return PT_CMP_ABSENT;
	if (!b->have[c])
		return PT_CMP_ONLY_A;
	if (!a->have[c])
		return PT_CMP_ONLY_B;
	return a->h[c].lo == b->h[c].lo && a->h[c].hi == b->h[c].hi ?
	    PT_CMP_SAME : PT_CMP_DRIFTED;
}

/* ---- drift -------------------------------------------------------------------- */

struct pt_drift {
	const pt_manifest *m;
	uint64_t **counts; /* per feature: nbounds + 2 */
	uint64_t rows;
	/* When the manifest has a weight column (so its frames carry one):
	 * the exact weight per bin of each feature, and in all. */
	pt_binw *w;
	pt_xsum wtotal;
};

pt_drift *
pt_drift_new(const pt_manifest *m, pt_err *e)
{
	pt_drift *d = calloc(1, sizeof *d);

	if (d == NULL || (d->counts = calloc((size_t)m->nfeatures + 1,
	    sizeof *d->counts)) == NULL)
		goto oom;
	d->m = m;
	for (int f = 0; f < m->nfeatures; f++)
		if ((d->counts[f] = calloc((size_t)m->features[f].nbounds + 2,
		    sizeof **d->counts)) == NULL)
			goto oom;
	if (m->weight >= 0) {
		if ((d->w = calloc((size_t)m->nfeatures + 1, sizeof *d->w)) == NULL)
			goto oom;
		for (int f = 0; f < m->nfeatures; f++)
			if (pt_binw_init(&d->w[f], m->features[f].nbounds + 2) != 0)
				goto oom;
		pt_xsum_init(&d->wtotal);
	}
	return d;
oom:
	pt_drift_free(d);
	pt_fail(e, PT_ENOMEM, "", "out of memory");
	return NULL;
}

void
pt_drift_free(pt_drift *d)
{
	if (d == NULL)
		return;
	if (d->counts != NULL)
		for (int f = 0; f < d->m->nfeatures; f++)
			free(d->counts[f]);
	free(d->counts);
	if (d->w != NULL)
		for (int f = 0; f < d->m->nfeatures; f++)
			pt_binw_free(&d->w[f]);
	free(d->w);
	free(d);
}

/* A frame's weights: each finite and not negative (as apply writes
 * them), added to the total. */
static int
drift_weights(pt_drift *d, const double *w, size_t n, const char *name,
    pt_err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (!(w[i] >= 0 && w[i] <= DBL_MAX))
			return pt_fail(e, PT_EVALUE, name, "sample weight %g: a "
			    "weight is a finite number, 0 or more", w[i]);
		pt_xsum_add(&d->wtotal, w[i]);
	}
	return 0;
}

int
pt_drift_feed(pt_drift *d, pt_reader *r, const char *name, pt_err *e)
{
	const pt_manifest *m = d->m;
	const pt_schema *s = pt_reader_schema(r);
	const pt_batch *b;
	int *col = malloc(sizeof *col * ((size_t)m->nfeatures + 1)), rc, wc;

	if (col == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	if (strcmp(s->manifest, m->digest) != 0) {
		free(col);
		return pt_fail(e, PT_EMISMATCH, name, "frames of manifest %s, not of "
		    "the manifest given (%s)", s->manifest, m->digest);
	}
	/* Frames carry a weight column exactly when their manifest has one;
	 * a file that breaks this was not made by apply under it, and its
	 * rows cannot be compared with training bins of the other kind. */
	if ((wc = pt_schema_weight(s)) >= 0 && m->weight < 0) {
		free(col);
		return pt_fail(e, PT_EMISMATCH, name, "the frames carry sample "
		    "weights (column '%.100s') but the manifest has no weight "
		    "column, hence no training weights to compare them with",
		    s->cols[wc].name);
	}
	if (m->weight >= 0 && (wc < 0 || s->cols[wc].type != PT_F64)) {
		free(col);
		return pt_fail(e, PT_EMISMATCH, name, "the manifest has a weight "
		    "column ('%.100s') but the frames carry no f64 weights",
		    m->columns[m->weight]);
	}
	for (int f = 0; f < m->nfeatures; f++) {
		col[f] = pt_schema_find(s, m->features[f].name);
		if (col[f] < 0 || s->cols[col[f]].type != PT_F64) {
			rc = pt_fail(e, PT_EMISMATCH, name, "no feature column '%s'",
			    m->features[f].name);
			free(col);
			return rc;
		}
	}
	while ((rc = pt_reader_next(r, &b, e)) == 1) {
		const double *w = wc >= 0 ? PT_COL_F64(b, wc) : NULL;
		if (w != NULL && drift_weights(d, w, b->nrows, name, e) != 0) {
			rc = -1;
			break;
		}
		for (int f = 0; f < m->nfeatures; f++) {
			const pt_feature *ft = &m->features[f];
			const double *x = PT_COL_F64(b, col[f]);
			uint64_t *c = d->counts[f];
			for (size_t i = 0; i < b->nrows; i++)
				c[pt_feature_bin(ft, x[i])]++;
			if (w == NULL)
				continue;
			for (size_t i = 0; i < b->nrows; i++)
				if (pt_binw_add(&d->w[f], pt_feature_bin(ft, x[i]),
				    w[i]) != 0) {
					free(col);
					return pt_fail(e, PT_ENOMEM, "", "out of memory");
				}
		}
		d->rows += b->nrows;
	}
	free(col);
	return rc < 0 ? -1 : 0;
}

uint64_t
pt_drift_rows(const pt_drift *d)
{
	return d->rows;
}

double
pt_drift_weight(const pt_drift *d)
{
	return d->w != NULL ? pt_xsum_round(&d->wtotal) + 0.0 : (double)d->rows;
}

/* With weights, a bin's share is its weight over the total weight (each
 * exact sum rounded once), on both sides; without, rows over rows.  Whole
 * weights give the numbers, hence the index, of the rows repeated. */
double
pt_drift_psi(const pt_drift *d, int f)
{
	const pt_feature *ft = &d->m->features[f];
	int k = ft->nbounds + 2;
	double nt = 0, nn = 0, psi = 0;

	if (d->w != NULL) {
		nt = d->m->train_weight;
		nn = pt_drift_weight(d);
	} else {
		for (int i = 0; i < k; i++) {
			nt += (double)ft->counts[i];
			nn += (double)d->counts[f][i];
		}
	}
	for (int i = 0; i < k; i++) {
		double n = d->w != NULL ? pt_binw_round(&d->w[f], i) :
		    (double)d->counts[f][i];
		double t = d->w != NULL ? ft->weights[i] : (double)ft->counts[i];
		double p = (n + 0.5) / (nn + 0.5 * k);
		double q = (t + 0.5) / (nt + 0.5 * k);
		psi += (p - q) * log(p / q);
	}
	return psi;
}

typedef struct psi_row {
	int f;
	double psi;
} psi_row;

static int
by_psi(const void *a, const void *b)
{
	const psi_row *x = a, *y = b;

	if (x->psi != y->psi)
		return x->psi < y->psi ? 1 : -1;
	return x->f - y->f;
}

int
pt_drift_report(const pt_drift *d, double threshold, char **out, size_t *len,
    int *over, pt_err *e)
{
	return pt_drift_report_as(d, threshold, PT_FMT_YAML, out, len, over, e);
}

int
pt_drift_report_as(const pt_drift *d, double threshold, int format,
    char **out, size_t *len, int *over, pt_err *e)
{
	const pt_manifest *m = d->m;
	pt_buf b = PT_BUF_INIT;
	pt_json j;
	psi_row *rows;

	*over = 0;
	if (d->rows == 0)
		return pt_fail(e, PT_EEMPTY, "", "no rows to compare");
	if (d->w != NULL) {
		/* Rows of weight 0 count as no rows, as they would repeated
		 * 0 times; a total past the doubles cannot be a share's
		 * denominator. */
		double nw = pt_drift_weight(d);
		if (nw == 0)
			return pt_fail(e, PT_EEMPTY, "", "the rows' weights are all "
			    "0: no rows to compare");
		if (isinf(nw))
			return pt_fail(e, PT_ELIMIT, "", "the rows' weights add up "
			    "past the range of doubles");
		if (m->train_weight == 0)
			return pt_fail(e, PT_EEMPTY, "", "the manifest's training "
			    "weights are all 0: no training rows to compare with");
	}
	if ((rows = malloc(sizeof *rows * ((size_t)m->nfeatures + 1))) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (int f = 0; f < m->nfeatures; f++) {
		rows[f].f = f;
		rows[f].psi = pt_drift_psi(d, f);
	}
	qsort(rows, (size_t)m->nfeatures, sizeof *rows, by_psi);
	pt_j_init(&j, &b);
	if (format == PT_FMT_JSON) {
		pt_j_obj(&j);
		pt_j_key(&j, "rows");
		pt_j_u64(&j, d->rows);
		if (d->w != NULL) {
			pt_j_key(&j, "weight");
			pt_j_f64(&j, pt_drift_weight(d));
		}
		pt_j_key(&j, "training_rows");
		pt_j_u64(&j, m->train_rows);
		if (d->w != NULL) {
			pt_j_key(&j, "training_weight");
			pt_j_f64(&j, m->train_weight);
		}
		pt_j_key(&j, "threshold");
		pt_j_f64(&j, threshold);
		pt_j_key(&j, "features");
		pt_j_arr(&j);
	} else if (format == PT_FMT_TSV)
		pt_buf_puts(&b, "feature\tpsi\tstatus\n");
	else {
		pt_y_key(&b, 0, "rows");
		pt_y_u64(&b, d->rows);
		pt_buf_putc(&b, '\n');
		if (d->w != NULL) {
			pt_y_key(&b, 0, "weight");
			pt_y_f64(&b, pt_drift_weight(d));
			pt_buf_putc(&b, '\n');
		}
		pt_y_key(&b, 0, "training_rows");
		pt_y_u64(&b, m->train_rows);
		pt_buf_putc(&b, '\n');
		if (d->w != NULL) {
			pt_y_key(&b, 0, "training_weight");
			pt_y_f64(&b, m->train_weight);
			pt_buf_putc(&b, '\n');
		}
		pt_y_key(&b, 0, "threshold");
		pt_y_f64(&b, threshold);
		pt_buf_puts(&b, "\nfeatures:\n");
	}
	for (int i = 0; i < m->nfeatures; i++) {
		int bad = rows[i].psi > threshold;
		const char *name = m->features[rows[i].f].name;
		*over |= bad;
		if (format == PT_FMT_JSON) {
			pt_j_obj(&j);
			pt_j_key(&j, "name");
			pt_j_str(&j, name);
			pt_j_key(&j, "psi");
			pt_j_f64(&j, rows[i].psi);
			pt_j_key(&j, "drift");
			pt_j_bool(&j, bad);
			pt_j_obj_end(&j);
			continue;
		}
		if (format == PT_FMT_TSV) {
			/* TSV has no quoting: refuse what it cannot hold. */
			if (strpbrk(name, "\t\r\n") != NULL)
				pt_buf_fail(&b, PT_EVALUE, "a feature name holds a "
				    "tab or a line end, which TSV cannot hold (use "
				    "--json)");
			pt_buf_puts(&b, name);
			pt_buf_putc(&b, '\t');
			pt_y_f64(&b, rows[i].psi);
			pt_buf_printf(&b, "\t%s\n", bad ? "drifted" : "stable");
			continue;
		}
		pt_buf_puts(&b, "  - {feature: ");
		pt_y_str(&b, name, PT_Y_PLAIN_WHEN_SAFE);
		pt_buf_puts(&b, ", psi: ");
		pt_y_f64(&b, rows[i].psi);
		pt_buf_printf(&b, ", status: %s}\n", bad ? "drifted" : "stable");
	}
	if (format == PT_FMT_JSON) {
		pt_j_arr_end(&j);
		pt_j_obj_end(&j);
		pt_j_end(&j);
	}
	free(rows);
	return pt_buf_take(&b, out, len, "drift report", e);
}

void
pt_signer_progress(pt_signer *g, pt_progress_fn fn)
{
	g->progress = fn;
}

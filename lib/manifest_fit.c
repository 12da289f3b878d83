/*
 * manifest_fit.c: fitting a manifest on CSV training rows (policy-prep
 * fit): roles, treatment vocabulary, categorical levels, imputation
 * values, quantile bin boundaries and their counts.
 *
 * Fit must give the same manifest bytes whatever the order or partitioning
 * of the training rows, in bounded memory.  Everything it computes is a
 * function of the multiset of rows: sets of labels and levels (sorted),
 * counts, and a hash-selected sample (the rows whose sample hash is below a
 * threshold that depends only on the multiset; see sample_add) from which
 * quantiles and medians are exact.  When every training row fits in the
 * sample the quantiles are exact over all rows; when it does not, a second
 * pass counts every training row into the bins.
 */
#include "manifest_fit.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csvin.h"
#include "names.h"
#include "rowid.h"
#include "number.h"
#include "spool.h"
#include "strmap.h"

/* A set of doubles by value (-0 folded into +0), for --bins all. */
typedef struct dset {
	size_t cap, n;
	uint64_t *bits; /* 0 marks an empty slot; +0.0 is kept apart */
	int has_zero;
} dset;

static int
dset_add(dset *d, double x)
{
	uint64_t b;
	size_t j;

	if (x == 0) {
		if (!d->has_zero) {
			d->has_zero = 1;
			d->n++;
		}
		return 0;
	}
	memcpy(&b, &x, 8);
	if ((d->n + 1) * 2 > d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 1024;
		uint64_t *nb = calloc(ncap, sizeof *nb);
		if (nb == NULL)
			return -1;
		for (size_t i = 0; i < d->cap; i++) {
			if (d->bits[i] == 0)
				continue;
			j = pt_splitmix64(d->bits[i]) & (ncap - 1);
			while (nb[j] != 0)
				j = (j + 1) & (ncap - 1);
			nb[j] = d->bits[i];
		}
		free(d->bits);
		d->bits = nb;
		d->cap = ncap;
	}
	j = pt_splitmix64(b) & (d->cap - 1);
	while (d->bits[j] != 0) {
		if (d->bits[j] == b)
			return 0;
		j = (j + 1) & (d->cap - 1);
	}
	d->bits[j] = b;
	d->n++;
	return 0;
}

static int
cmp_f64(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum { R_NONE, R_SOURCE, R_TREATMENT, R_OUTCOME, R_KEY, R_REWARD, R_IGNORED,
	R_WEIGHT };

typedef struct colstat {
	int role;
	int force;         /* 0, 'n' numeric, 'c' categorical */
	int numeric_ok;    /* every non-missing training value parsed finite */
	uint64_t first_text_line; /* where a value first failed to parse */
	const char *first_text_file;
	char first_text[64];
	int first_text_range; /* that value was a number past the range */
	uint64_t nnum, ntext; /* values that are numbers, and that are not */
	uint64_t nmissing, first_missing_line;
	uint64_t nonfinite_missing; /* of nmissing: inf/nan text read as missing,
				     * which a categorical column keeps as a
				     * level (as apply does) */
	const char *first_missing_file;
	uint64_t nonfinite_line;   /* first inf/nan text, when refused */
	const char *nonfinite_file;
	char nonfinite_text[48];
	pt_strmap levels;
	int levels_over;
	dset distinct;
	int distinct_over;
	int slot;          /* index of the value in a sample row, or -1 */
	pt_missing missing;
	int has_missing_for;
	char *constant;    /* constant:VALUE from --missing-for */
} colstat;

typedef struct sample {
	size_t stride;     /* 1 (hash) + number of slots */
	size_t n, cap;     /* rows held; limit before compaction */
	size_t limit;      /* rows kept after compaction */
	double *rows;
	uint64_t threshold; /* rows with sample hash >= threshold are out */
	int overflowed;
} sample;

typedef struct fit {
	const pt_fit_opts *o;
	pt_err *e;
	pt_names header;
	colstat *col;
	int treatment, outcome, key, splitcol, weight;
	pt_names rewards, tokens, vocab_given;
	pt_rowvals rv;     /* the record's values, read once */
	pt_strmap vocab;
	sample s;
	uint64_t train_rows, dropped_rows;
	double *vals;      /* one row's slot values */
	int nslots;
	pt_manifest *m;    /* the manifest being built (pass 2 counts into it) */
	int *feat_of_slot; /* numeric slot -> feature index, or -1 */
	/* With a weight column (pass 2): each feature's exact weight per bin
	 * (one-hot features: bins 1 and 2 only; bin 0 is the rest of the
	 * total) and the exact total. */
	pt_binw *binw;
	pt_xsum wtotal;
} fit;

/* Sample rows are [hash bits, slot values...].  Compaction keeps the rows
 * with the smallest hashes, never splitting a group of equal hashes, and
 * lowers the threshold to the first hash left out; the rows kept are then
 * exactly those of the whole input with hash below the final threshold,
 * however the input was ordered (the threshold only ever falls to a value
 * that the whole multiset determines).  The order of the rows kept does
 * not matter: everything taken from them is sorted or counted. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Returns -1 when out of memory (for the hashes: 8 bytes a row). */
static int
sample_compact(sample *s)
{
	size_t n = s->n, st = s->stride, i, w;
	uint64_t cut, h, *hs;

	if (n <= s->limit)
		return 0;
	if ((hs = malloc(n * sizeof *hs)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		memcpy(&hs[i], &s->rows[i * st], 8);
	qsort(hs, n, sizeof *hs, cmp_u64);
	cut = hs[s->limit];
	free(hs);
	/* The rows with a hash below cut, moved down in place. */
	for (i = w = 0; i < n; i++) {
		memcpy(&h, &s->rows[i * st], 8);
		if (h >= cut)
			continue;
		if (w != i)
			memcpy(&s->rows[w * st], &s->rows[i * st], st * sizeof *s->rows);
		w++;
	}
	s->n = w;
	s->threshold = cut;
	s->overflowed = 1;
	return 0;
}

/* Adds a row unless its hash is out.  The buffer grows as rows come, up to
 * twice the limit, then is compacted.  Returns -1 when out of memory. */
static int
sample_add(sample *s, uint64_t h, const double *vals, int nslots)
{
	double *row;

	if (h >= s->threshold)
		return 0;
	if (s->n == s->cap && s->cap < 2 * s->limit) {
		size_t cap = s->cap < 1024 ? 1024 : 2 * s->cap;
		double *r;
		cap = cap > 2 * s->limit ? 2 * s->limit : cap;
		if (cap > SIZE_MAX / sizeof(double) / s->stride ||
		    (r = realloc(s->rows, cap * s->stride * sizeof *r)) == NULL)
			return -1;
		s->rows = r;
		s->cap = cap;
	}
	if (s->n == s->cap) {
		if (sample_compact(s) < 0)
			return -1;
		if (h >= s->threshold)
			return 0;
	}
	row = &s->rows[s->n * s->stride];
	memcpy(row, &h, 8);
	memcpy(row + 1, vals, (size_t)nslots * sizeof *vals);
	s->n++;
	return 0;
}

/* The out-of-memory message of the sample. */
static int
sample_nomem(fit *f)
{
	return pt_fail(f->e, PT_ENOMEM, "", "out of memory for the sample: "
	    "%zu rows of %zu values (%.1f GiB); --sample N holds fewer rows",
	    f->s.n, f->s.stride, (double)f->s.n * f->s.stride * 8 / 1073741824.0);
}

/* Splits "col=policy[:value]" entries into the per-column settings. */
static int
apply_missing_for(fit *f)
{
	pt_names l;

	if (pt_names_split(&l, f->o->missing_for, f->e) != 0)
		return -1;
	for (int i = 0; i < l.n; i++) {
		char *eq = strchr(l.v[i], '='), *colon;
		int c;
		pt_missing p;

		if (eq == NULL) {
			pt_names_free(&l);
			return pt_fail(f->e, PT_EUSAGE, "--missing-for",
			    "'%s' is not COLUMN=POLICY", l.v[i]);
		}
		*eq = '\0';
		colon = strchr(eq + 1, ':');
		if (colon)
			*colon = '\0';
		c = pt_names_find(&f->header, l.v[i]);
		if (c < 0 || f->col[c].role != R_SOURCE) {
			pt_fail(f->e, PT_EUSAGE, "--missing-for",
			    "'%s' is not a feature column", l.v[i]);
			pt_names_free(&l);
			return -1;
		}
		if (strcmp(eq + 1, "keep") == 0)
			p = PT_MISS_KEEP;
		else if (strcmp(eq + 1, "median") == 0)
			p = PT_MISS_MEDIAN;
		else if (strcmp(eq + 1, "mode") == 0)
			p = PT_MISS_MODE;
		else if (strcmp(eq + 1, "reject") == 0)
			p = PT_MISS_REJECT;
		else if (strcmp(eq + 1, "constant") == 0 && colon != NULL)
			p = PT_MISS_CONSTANT;
		else {
			pt_fail(f->e, PT_EUSAGE, "--missing-for",
			    "unknown policy '%s' for '%s' (keep, median, mode, "
			    "constant:VALUE, reject)", eq + 1, l.v[i]);
			pt_names_free(&l);
			return -1;
		}
		f->col[c].missing = p;
		f->col[c].has_missing_for = 1;
		if (p == PT_MISS_CONSTANT &&
		    (f->col[c].constant = pt_strdup(colon + 1)) == NULL) {
			pt_names_free(&l);
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		}
	}
	pt_names_free(&l);
	return 0;
}

static int
role_list(fit *f, const char *list, int role, const char *opt, pt_names *keep)
{
	pt_names l;

	if (list == NULL)
		return 0;
	if (pt_names_split(&l, list, f->e) != 0)
		return -1;
	for (int i = 0; i < l.n; i++) {
		int c = pt_names_find(&f->header, l.v[i]);
		if (c < 0) {
			pt_fail(f->e, PT_EUSAGE, opt, "no column '%s' in the header",
			    l.v[i]);
			pt_names_free(&l);
			return -1;
		}
		if (role == 'n' || role == 'c')
			f->col[c].force = role;
		else if (role == R_SOURCE && f->col[c].role != R_NONE &&
		    f->col[c].role != R_SOURCE) {
			pt_fail(f->e, PT_EUSAGE, opt, "column '%s' already has a role",
			    l.v[i]);
			pt_names_free(&l);
			return -1;
		} else
			f->col[c].role = role;
	}
	if (keep)
		*keep = l;
	else
		pt_names_free(&l);
	return 0;
}

static int
one_role(fit *f, const char *name, int role, const char *opt, int *out)
{
	int c;

	*out = -1;
	if (name == NULL)
		return 0;
	c = pt_names_find(&f->header, name);
	if (c < 0)
		return pt_fail(f->e, PT_EUSAGE, opt, "no column '%s' in the header",
		    name);
	if (f->col[c].role != R_NONE && role != R_NONE)
		return pt_fail(f->e, PT_EUSAGE, opt, "column '%s' already has a role",
		    name);
	if (role != R_NONE)
		f->col[c].role = role;
	*out = c;
	return 0;
}

/* Sets up roles from the first header. */
static int
fit_roles(fit *f)
{
	const pt_fit_opts *o = f->o;
	int n = f->header.n;

	if (n <= 0)
		return pt_fail(f->e, PT_EFORMAT, "", "empty header");
	f->col = calloc((size_t)n, sizeof *f->col);
	f->vals = calloc((size_t)n + 1, sizeof *f->vals);
	if (f->col == NULL || f->vals == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < n; i++) {
		f->col[i].numeric_ok = 1;
		f->col[i].slot = -1;
		f->col[i].missing = o->missing;
	}
	if (o->rewards != NULL && (o->treatment != NULL || o->outcome != NULL))
		return pt_fail(f->e, PT_EUSAGE, "",
		    "--rewards replaces --treatment and --outcome: give one or the other");
	if (o->rewards == NULL && (o->treatment == NULL || o->outcome == NULL))
		return pt_fail(f->e, PT_EUSAGE, "",
		    "--treatment and --outcome are required (or --rewards)");
	if (one_role(f, o->treatment, R_TREATMENT, "--treatment", &f->treatment) ||
	    one_role(f, o->outcome, R_OUTCOME, "--outcome", &f->outcome) ||
	    one_role(f, o->key, R_KEY, "--key", &f->key) ||
	    one_role(f, o->weight, R_WEIGHT, "--weight", &f->weight) ||
	    role_list(f, o->rewards, R_REWARD, "--rewards", &f->rewards) ||
	    one_role(f, o->split_column, R_NONE, "--split-column", &f->splitcol) ||
	    role_list(f, o->exclude, R_IGNORED, "--exclude", NULL))
		return -1;
	if (o->split == PT_SPLIT_COLUMN && f->splitcol < 0)
		return pt_fail(f->e, PT_EUSAGE, "",
		    "a split by column needs --split-column");
	if (o->features != NULL) {
		pt_names fl;
		if (role_list(f, o->features, R_SOURCE, "--features", &fl) != 0)
			return -1;
		pt_names_free(&fl);
		for (int i = 0; i < n; i++)
			if (f->col[i].role == R_NONE)
				f->col[i].role = R_IGNORED;
	} else {
		for (int i = 0; i < n; i++)
			if (f->col[i].role == R_NONE)
				f->col[i].role = R_SOURCE;
	}
	if (f->splitcol >= 0 && f->col[f->splitcol].role == R_SOURCE)
		f->col[f->splitcol].role = R_IGNORED; /* it defines train/test */
	if (role_list(f, o->categorical, 'c', "--categorical", NULL) ||
	    role_list(f, o->numeric, 'n', "--numeric", NULL))
		return -1;
	f->nslots = 0;
	for (int i = 0; i < n; i++)
		if (f->col[i].role == R_SOURCE)
			f->col[i].slot = f->nslots++;
	if (f->nslots == 0)
		return pt_fail(f->e, PT_EUSAGE, "", "no feature columns left");
	if (apply_missing_for(f) != 0)
		return -1;
	if (o->vocab != NULL && pt_names_split(&f->vocab_given, o->vocab, f->e) != 0)
		return -1;
	f->s.stride = 1 + (size_t)f->nslots;
	f->s.limit = o->sample;
	f->s.cap = 0; /* grown by sample_add */
	f->s.threshold = UINT64_MAX;
	return 0;
}

/* What a row is for: -1 error, 0 skip (test row or dropped), 1 train. */
static int
fit_classify(fit *f, const pt_manifest *shape, const pt_csvrec *r,
    const char *file, uint64_t *h)
{
	const pt_fit_opts *o = f->o;
	const pt_rowvals *rv = &f->rv;
	double sv = NAN;
	char w[512];

	if (pt_rowvals_read(&f->rv, r, &f->tokens, f->e) < 0)
		return -1;
	*h = pt_rowvals_id(&f->rv, r, f->key, f->weight);
	if (f->splitcol >= 0 && o->split == PT_SPLIT_COLUMN) {
		int c = f->splitcol;
		if (rv->kind[c] != PT_VAL_NUMBER)
			return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
			    file, r->line, f->header.v[c]), "split column value "
			    "'%.40s' is not a finite number", r->field[c]);
		sv = rv->v[c];
	}
	if (!pt_manifest_is_train(shape, *h, sv))
		return 0;
	if (f->treatment >= 0) {
		int c = f->treatment, oc = f->outcome;
		if (rv->kind[c] == PT_VAL_MISSING ||
		    rv->kind[oc] == PT_VAL_MISSING) {
			if (o->drop_missing) {
				f->dropped_rows++;
				return 0;
			}
			c = rv->kind[c] == PT_VAL_MISSING ? c : oc;
			return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
			    file, r->line, f->header.v[c]), "missing %s (use "
			    "--drop-missing to drop such rows)",
			    c == f->treatment ? "treatment" : "outcome");
		}
		if (rv->kind[oc] != PT_VAL_NUMBER)
			return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
			    file, r->line, f->header.v[oc]), "outcome '%.40s' is "
			    "not a finite number", r->field[oc]);
	}
	for (int k = 0; k < f->rewards.n; k++) {
		int c = pt_names_find(&f->header, f->rewards.v[k]);
		if (rv->kind[c] != PT_VAL_NUMBER)
			return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
			    file, r->line, f->header.v[c]), "reward '%.40s' is not "
			    "a finite number", r->field[c]);
	}
	if (f->weight >= 0) {
		int c = f->weight;
		const char *why = pt_weight_check(rv->kind[c], rv->v[c]);
		if (why != NULL && rv->kind[c] == PT_VAL_MISSING &&
		    o->drop_missing) {
			f->dropped_rows++;
			return 0;
		}
		if (why != NULL)
			return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
			    file, r->line, f->header.v[c]), "weight '%.40s' %s%s",
			    r->field[c], why, rv->kind[c] == PT_VAL_MISSING ?
			    " (use --drop-missing to drop such rows)" : "");
	}
	return 1;
}

static int
fit_row(fit *f, const pt_csvrec *r, const char *file, uint64_t h)
{
	char w[512];

	f->train_rows++;
	if (f->treatment >= 0) {
		int c = f->treatment;
		if (f->vocab_given.n > 0) {
			int ok = 0;
			for (int i = 0; i < f->vocab_given.n && !ok; i++)
				ok = strlen(f->vocab_given.v[i]) == r->len[c] &&
				    memcmp(f->vocab_given.v[i], r->field[c], r->len[c]) == 0;
			if (!ok)
				return pt_fail(f->e, PT_EVALUE, pt_csv_where(w,
				    sizeof w, file, r->line, f->header.v[c]),
				    "treatment '%.60s' is not in --vocabulary",
				    r->field[c]);
		} else if (pt_strmap_add(&f->vocab, r->field[c], r->len[c], 0) < 0) {
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		}
	}
	for (int c = 0; c < f->header.n; c++) {
		colstat *cs = &f->col[c];
		const char *s = r->field[c];
		size_t n = r->len[c];
		double v = f->rv.v[c];
		int kind = f->rv.kind[c];

		if (cs->role != R_SOURCE)
			continue;
		if (kind == PT_VAL_MISSING) {
			if (cs->nmissing++ == 0) {
				cs->first_missing_line = r->line;
				cs->first_missing_file = file;
			}
			f->vals[cs->slot] = NAN;
			continue;
		}
		if (kind == PT_VAL_NUMBER)
			cs->nnum++;
		if (kind == PT_VAL_NONFINITE && f->o->nonfinite_missing) {
			cs->nonfinite_missing++;
			if (cs->nmissing++ == 0) {
				cs->first_missing_line = r->line;
				cs->first_missing_file = file;
			}
			v = NAN;
		} else if (kind == PT_VAL_NONFINITE) {
			/* inf/nan text: refused if the column proves numeric. */
			if (cs->nonfinite_line == 0) {
				cs->nonfinite_line = r->line;
				cs->nonfinite_file = file;
				snprintf(cs->nonfinite_text, sizeof cs->nonfinite_text,
				    "%.40s", s);
			}
			v = NAN;
		} else if (kind != PT_VAL_NUMBER) {
			cs->ntext++;
			if (cs->numeric_ok) {
				cs->numeric_ok = 0;
				cs->first_text_line = r->line;
				cs->first_text_file = file;
				cs->first_text_range = kind == PT_VAL_RANGE;
				snprintf(cs->first_text, sizeof cs->first_text, "%.40s", s);
			}
			if (cs->force == 'n')
				return pt_fail(f->e, PT_EVALUE, pt_csv_where(w,
				    sizeof w, file, r->line, f->header.v[c]),
				    kind == PT_VAL_RANGE ? "'%.40s' is past the range of "
				    "doubles" : "'%.40s' is not a number", s);
			v = NAN;
		} else if (f->o->bins == 0 && !cs->distinct_over) {
			if (dset_add(&cs->distinct, v) != 0)
				return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
			if (cs->distinct.n > (size_t)f->o->max_all)
				cs->distinct_over = 1;
		}
		f->vals[cs->slot] = v;
		if (!cs->levels_over) {
			if (pt_strmap_add(&cs->levels, s, n, 0) < 0)
				return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
			if (cs->levels.n > (size_t)f->o->max_levels) {
				cs->levels_over = 1;
				pt_strmap_free(&cs->levels);
			}
		}
	}
	if (sample_add(&f->s, pt_splitmix64(h ^ 0x53414d504c45ULL), f->vals,
	    f->nslots) < 0)
		return sample_nomem(f);
	return 0;
}

typedef int (*row_fn)(fit *f, pt_manifest *shape, const pt_csvrec *r,
    const char *file);

static int
pass1_row(fit *f, pt_manifest *shape, const pt_csvrec *r, const char *file)
{
	uint64_t h;
	int rc = fit_classify(f, shape, r, file, &h);

	return rc <= 0 ? rc : fit_row(f, r, file, h);
}

/* The header's names, copied (the record is only valid until the next). */
static int
header_copy(pt_names *h, const pt_csvrec *r)
{
	h->v = pt_strs_dup(r->field, (int)r->nfields);
	h->n = h->v != NULL ? (int)r->nfields : 0;
	return h->v != NULL ? 0 : -1;
}

/* Reads every input once, calling fn for each record after the header. */
static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The header a manifest can be made of: at most PT_MAX_COLUMNS columns,
 * each named (non-empty, UTF-8, as YAML holds names), no name twice; one
 * column whose name holds another likely separator gets a hint. */
static int
check_header(const pt_csvrec *r, const char *file, char delim, pt_err *e)
{
	char w[512];
	char **sorted;
	int rc = 0;

	if (r->nfields > PT_MAX_COLUMNS)
		return pt_fail(e, PT_ELIMIT, pt_csv_where(w, sizeof w, file,
		    r->line, NULL), "%zu columns: more than %d (each feature "
		    "becomes frame columns, and a frame has at most 65,536)",
		    r->nfields, PT_MAX_COLUMNS);
	if (r->nfields == 1) {
		const char *h = r->field[0];
		const char *cand[] = { ";", "\t", "|", NULL };
		for (int k = 0; cand[k]; k++)
			if (*cand[k] != delim && strchr(h, *cand[k]) != NULL)
				return pt_fail(e, PT_EFORMAT, pt_csv_where(w,
				    sizeof w, file, r->line, NULL), "the header is "
				    "one column, '%.60s': separated by '%s'? (give "
				    "--delimiter '%s')", h, *cand[k] == '\t' ? "\\t" :
				    cand[k], *cand[k] == '\t' ? "tab" : cand[k]);
	}
	for (size_t k = 0; k < r->nfields; k++) {
		if (r->len[k] == 0)
			return pt_fail(e, PT_EFORMAT, pt_csv_where(w, sizeof w, file,
			    r->line, NULL), "column %zu has no name", k + 1);
		if (!pt_utf8_ok(r->field[k], r->len[k]))
			return pt_fail(e, PT_EFORMAT, pt_csv_where(w, sizeof w, file,
			    r->line, NULL), "column %zu's name '%.60s' is not UTF-8 "
			    "(re-encode the file as UTF-8)", k + 1, r->field[k]);
	}
	if ((sorted = malloc(r->nfields * sizeof *sorted)) == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	memcpy(sorted, r->field, r->nfields * sizeof *sorted);
	qsort(sorted, r->nfields, sizeof *sorted, cmp_name);
	for (size_t k = 1; k < r->nfields && rc == 0; k++)
		if (strcmp(sorted[k - 1], sorted[k]) == 0)
			rc = pt_fail(e, PT_EFORMAT, pt_csv_where(w, sizeof w, file,
			    r->line, NULL), "column '%s' appears twice in the "
			    "header", sorted[k]);
	free(sorted);
	return rc;
}

static int
fit_pass(fit *f, pt_manifest *shape, int n, const char *const *paths,
    const int *fds, row_fn fn)
{
	uint64_t rows = 0;

	for (int i = 0; i < n; i++) {
		const char *name = strcmp(paths[i], "-") == 0 ? "<stdin>" : paths[i];
		pt_csv *c;
		pt_csvrec r;
		int rc, first = 1;
		char w[512];

		if (lseek(fds[i], 0, SEEK_SET) != 0)
			return pt_fail(f->e, PT_EIO, name, "cannot rewind: %s",
			    strerror(errno));
		if ((c = pt_csv_open(fds[i], name, f->e)) == NULL)
			return -1;
		pt_csv_set_delimiter(c, f->o->delimiter ? f->o->delimiter : ',');
		while ((rc = pt_csv_next(c, &r, f->e)) == 1) {
			if (first) {
				first = 0;
				if (f->header.n == 0) {
					if (check_header(&r, name, f->o->delimiter ?
					    f->o->delimiter : ',', f->e) != 0) {
						rc = -1;
						break;
					}
					if (header_copy(&f->header, &r) != 0) {
						rc = pt_fail(f->e, PT_ENOMEM, "", "out of memory");
						break;
					}
					if (fit_roles(f) != 0) {
						rc = -1;
						break;
					}
				} else {
					int same = (int)r.nfields == f->header.n;
					for (int k = 0; same && k < f->header.n; k++)
						same = strcmp(r.field[k], f->header.v[k]) == 0;
					if (!same) {
						rc = pt_fail(f->e, PT_EFORMAT,
						    pt_csv_where(w, sizeof w, name,
						    r.line, NULL), "header differs "
						    "from the first input's header");
						break;
					}
				}
				continue;
			}
			if ((int)r.nfields != f->header.n) {
				rc = pt_fail(f->e, PT_EFORMAT, pt_csv_where(w,
				    sizeof w, name, r.line, NULL), "%zu fields, the "
				    "header has %d", r.nfields, f->header.n);
				break;
			}
			if (fn(f, shape, &r, name) != 0) {
				rc = -1;
				break;
			}
			if (f->o->progress && (++rows & 0xffff) == 0)
				f->o->progress(rows, 0);
		}
		if (rc == 0 && first)
			rc = pt_fail(f->e, PT_EEMPTY, name, "empty input: no header");
		pt_csv_close(c);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Quantile boundaries from sorted values v[0..n): the type-1 quantiles
 * j/bins (the smallest value with at least j*n/bins values at or below),
 * without duplicates and without the maximum (a split there sends every
 * row left).  bins == 0: every distinct value. */
static int
boundaries(const double *v, size_t n, int bins, double **out, int *nout)
{
	double *b = malloc(sizeof *b * (bins > 0 ? (size_t)bins : n + 1));
	int k = 0;

	if (b == NULL)
		return -1;
	if (n > 0 && bins > 0) {
		for (int j = 1; j < bins; j++) {
			/* ceil(j*n/bins) - 1 in integers */
			size_t idx = (size_t)(((unsigned __int128)j * n + (unsigned)bins - 1) /
			    (unsigned)bins) - 1;
			double t = v[idx] + 0.0; /* -0 reads as 0: one spelling */
			if (t < v[n - 1] && (k == 0 || t > b[k - 1]))
				b[k++] = t;
		}
	} else if (n > 0) {
		for (size_t i = 0; i < n; i++) {
			double t = v[i] + 0.0;
			if (t < v[n - 1] && (k == 0 || t > b[k - 1]))
				b[k++] = t;
		}
	}
	*out = b;
	*nout = k;
	return 0;
}

/* What the frames will hold must be nameable there and in YAML: every
 * label and level UTF-8; no frame column named as the tools name theirs
 * (_row, action, score:..., bin:...); no two frame columns of one name
 * (a column "c1=a" beside the one-hot feature of level a of c1). */
static int
check_names(fit *f, pt_manifest *m)
{
	int n = m->nfeatures + 3 + m->nvocab, k = 0, rc = 0;
	const char **names = calloc((size_t)n, sizeof *names);
	char **sorted;

	(void)f;
	if (names == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < m->nvocab; i++)
		if (!pt_utf8_ok(m->vocab[i], strlen(m->vocab[i]))) {
			free(names);
			return pt_fail(f->e, PT_EFORMAT, m->nrewards ? "--rewards" :
			    m->columns[m->treatment], "label '%.60s' is not UTF-8 "
			    "(re-encode the file as UTF-8)", m->vocab[i]);
		}
	for (int i = 0; i < m->nsources; i++)
		for (int l = 0; l < m->sources[i].nlevels; l++)
			if (!pt_utf8_ok(m->sources[i].levels[l],
			    strlen(m->sources[i].levels[l]))) {
				free(names);
				return pt_fail(f->e, PT_EFORMAT, m->sources[i].name,
				    "level '%.60s' is not UTF-8 (re-encode the file "
				    "as UTF-8)", m->sources[i].levels[l]);
			}
	for (int i = 0; i < m->nfeatures; i++)
		names[k++] = m->features[i].name;
	if (m->nrewards > 0)
		for (int i = 0; i < m->nvocab; i++)
			names[k++] = m->vocab[i];
	else {
		names[k++] = m->columns[m->treatment];
		names[k++] = m->columns[m->outcome];
	}
	for (int i = 0; i < k && rc == 0; i++)
		if (strcmp(names[i], "_row") == 0 ||
		    strcmp(names[i], "action") == 0 ||
		    strncmp(names[i], "score:", 6) == 0 ||
		    strncmp(names[i], "bin:", 4) == 0)
			rc = pt_fail(f->e, PT_EFORMAT, names[i], "a name the tools "
			    "give their own frame columns (_row, action, score:..., "
			    "bin:...): rename the column, or --exclude it");
	if (rc == 0 && (sorted = malloc((size_t)k * sizeof *sorted)) != NULL) {
		memcpy(sorted, names, (size_t)k * sizeof *sorted);
		qsort(sorted, (size_t)k, sizeof *sorted, cmp_name);
		for (int i = 1; i < k && rc == 0; i++)
			if (strcmp(sorted[i - 1], sorted[i]) == 0)
				rc = pt_fail(f->e, PT_EFORMAT, sorted[i], "two frame "
				    "columns of this name (a column named as a one-hot "
				    "feature 'column=level' of another, or a role "
				    "named as a feature): rename one, or --exclude it");
		free(sorted);
	} else if (rc == 0) {
		rc = pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	}
	free(names);
	return rc;
}

static int
build_manifest(fit *f, pt_manifest *m, int n, const char *const *paths,
    const int *fds);

pt_manifest *
pt_prep_fit(const pt_fit_opts *o, int ninputs, const char *const *paths,
    pt_err *e)
{
	fit f;
	pt_manifest *m = NULL, *shape = NULL;
	int *fds = calloc((size_t)ninputs + 1, sizeof *fds);
	static const char *const defpaths[] = { "-" };
	int ok = 0;

	memset(&f, 0, sizeof f);
	f.o = o;
	f.e = e;
	f.treatment = f.outcome = f.key = f.splitcol = f.weight = -1;
	if (ninputs == 0) {
		ninputs = 1;
		paths = defpaths;
	}
	if (fds != NULL) {
		int *nf = realloc(fds, sizeof *fds * (size_t)ninputs);
		if (nf == NULL)
			free(fds);
		fds = nf;
	}
	if (fds == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		return NULL;
	}
	for (int i = 0; i < ninputs; i++)
		fds[i] = -1;
	if (o->bins < 0 || o->bins == 1 || o->bins > 65536) {
		pt_fail(e, PT_EUSAGE, "--bins", "bins must be 2..65536 or all");
		goto out;
	}
	if (o->sample < 16) {
		pt_fail(e, PT_EUSAGE, "--sample", "the sample must hold at least 16 rows");
		goto out;
	}
	if (pt_names_split(&f.tokens, o->missing_tokens ? o->missing_tokens :
	    ",NA,NaN,null", e) != 0)
		goto out;
	/* Fit may read its input twice: what cannot be rewound (stdin, a
	 * pipe) is copied to an unlinked temporary file first. */
	for (int i = 0; i < ninputs; i++) {
		int in = strcmp(paths[i], "-") == 0 ? 0 : open(paths[i], O_RDONLY);
		if (in < 0) {
			pt_fail(e, PT_EIO, paths[i], "%s", strerror(errno));
			goto out;
		}
		if (lseek(in, 0, SEEK_CUR) < 0) {
			fds[i] = pt_spool(in, in == 0 ? "<stdin>" : paths[i], e);
			if (in > 0)
				close(in);
		} else {
			fds[i] = in == 0 ? dup(0) : in;
		}
		if (fds[i] < 0)
			goto out;
	}
	/* The split rule is needed to classify rows as they are read. */
	shape = pt_manifest_new();
	if (shape == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	shape->split = o->split;
	shape->train_fraction = o->train_fraction;
	shape->seed = o->seed;
	shape->until = o->until;
	if (o->split == PT_SPLIT_HASH &&
	    !(o->train_fraction > 0 && o->train_fraction <= 1)) {
		pt_fail(e, PT_EUSAGE, "--train-fraction", "must be in (0, 1]");
		goto out;
	}
	if (fit_pass(&f, shape, ninputs, paths, fds, pass1_row) != 0)
		goto out;
	/* Compactions happen when the buffer fills, at 2x the limit; one more
	 * at the end leaves exactly the rows below the threshold that the
	 * multiset alone determines (see sample_compact). */
	if (sample_compact(&f.s) < 0) {
		sample_nomem(&f);
		goto out;
	}
	if (f.train_rows == 0) {
		pt_fail(e, PT_EEMPTY, ninputs == 1 && strcmp(paths[0], "-") ?
		    paths[0] : "", "no training rows to fit on");
		goto out;
	}
	m = pt_manifest_new();
	if (m == NULL) {
		pt_fail(e, PT_ENOMEM, "", "out of memory");
		goto out;
	}
	if (build_manifest(&f, m, ninputs, paths, fds) != 0)
		goto out;
	ok = 1;
out:
	for (int i = 0; i < ninputs; i++)
		if (fds[i] > 0)
			close(fds[i]);
	free(fds);
	pt_manifest_free(shape);
	if (f.col != NULL)
		for (int c = 0; c < f.header.n; c++) {
			pt_strmap_free(&f.col[c].levels);
			free(f.col[c].distinct.bits);
			free(f.col[c].constant);
		}
	free(f.col);
	free(f.feat_of_slot);
	if (f.binw != NULL && f.m != NULL)
		for (int i = 0; i < f.m->nfeatures; i++)
			pt_binw_free(&f.binw[i]);
	free(f.binw);
	pt_names_free(&f.header);
	pt_names_free(&f.rewards);
	pt_names_free(&f.tokens);
	pt_names_free(&f.vocab_given);
	pt_rowvals_free(&f.rv);
	pt_strmap_free(&f.vocab);
	free(f.s.rows);
	free(f.vals);
	if (!ok) {
		pt_manifest_free(m);
		m = NULL;
	}
	return m;
}

/* The level of a categorical field: its index in the sorted levels, or -1. */
static int
level_of(const pt_source *s, const char *t, size_t n)
{
	int lo = 0, hi = s->nlevels - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		const char *l = s->levels[mid];
		size_t ln = strlen(l);
		int c = memcmp(t, l, n < ln ? n : ln);
		if (c == 0)
			c = (n > ln) - (n < ln);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Adds the weight of a training row to the bin it falls in of every
 * feature, binned as apply writes the row (numeric: its value, else the
 * imputed value or NaN; categorical: 1 in its level's feature, the
 * missing bin of every level's feature when kept missing). */
static int
weigh_row(fit *f, const pt_csvrec *r, const char *file)
{
	const pt_manifest *m = f->m;
	double w = f->rv.v[f->weight] + 0.0;
	char where[512];
	int fi = 0;

	pt_xsum_add(&f->wtotal, w);
	for (int si = 0; si < m->nsources; si++) {
		const pt_source *s = &m->sources[si];
		int c = s->column, kind = f->rv.kind[c], k, b;
		if (s->kind == PT_SRC_NUMERIC) {
			const pt_feature *ft = &m->features[fi];
			double v = f->rv.v[c];
			if (kind != PT_VAL_NUMBER)
				v = s->missing == PT_MISS_KEEP ? NAN : s->impute;
			if (pt_binw_add(&f->binw[fi], pt_feature_bin(ft, v), w) != 0)
				return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
			fi++;
			continue;
		}
		if (kind == PT_VAL_MISSING && s->missing == PT_MISS_KEEP) {
			k = -1;
			b = 2;
		} else {
			k = kind == PT_VAL_MISSING ? s->impute_level :
			    level_of(s, r->field[c], r->len[c]);
			b = 1;
			if (k < 0) /* pass 1 saw every training value */
				return pt_fail(f->e, PT_EVALUE, pt_csv_where(where,
				    sizeof where, file, r->line, s->name), "'%.40s' "
				    "is not a level the first pass found (did the "
				    "input change?)", r->field[c]);
		}
		/* Bin 0 of the one-hot features is the rest of the total: only
		 * the bins the row is in are added here. */
		for (int l = 0; l < s->nlevels; l++)
			if ((k < 0 || l == k) &&
			    pt_binw_add(&f->binw[fi + l], b, w) != 0)
				return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		fi += s->nlevels;
	}
	return 0;
}

/* The manifest's weights from the exact sums of pass 2: each bin's sum
 * rounded once, and the total.  A sum past the range of doubles is
 * refused, never written as inf. */
static int
finish_weights(fit *f, pt_manifest *m)
{
	m->train_weight = pt_xsum_round(&f->wtotal) + 0.0;
	if (isinf(m->train_weight))
		return pt_fail(f->e, PT_ELIMIT, m->columns[m->weight], "the "
		    "training weights add up past the range of doubles");
	for (int i = 0; i < m->nfeatures; i++) {
		pt_feature *ft = &m->features[i];
		int nb = ft->nbounds + 2;
		if ((ft->weights = calloc((size_t)nb, sizeof *ft->weights)) == NULL)
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		for (int k = 0; k < nb; k++)
			ft->weights[k] = pt_binw_round(&f->binw[i], k);
		if (ft->level >= 0) {
			pt_xsum rest = f->wtotal;
			if (f->binw[i].bin[1] != NULL)
				pt_xsum_sub(&rest, f->binw[i].bin[1]);
			if (f->binw[i].bin[2] != NULL)
				pt_xsum_sub(&rest, f->binw[i].bin[2]);
			ft->weights[0] = pt_xsum_round(&rest) + 0.0;
		}
	}
	return 0;
}

/* Pass 2, when the sample could not hold every training row (bin counts
 * of numeric features over all training rows) or the manifest has a
 * weight column (every feature's weight per bin). */
static int
pass2_row(fit *f, pt_manifest *shape, const pt_csvrec *r, const char *file)
{
	uint64_t h;
	int rc = fit_classify(f, shape, r, file, &h);

	if (rc <= 0)
		return rc;
	if (f->weight >= 0 && weigh_row(f, r, file) != 0)
		return -1;
	if (!f->s.overflowed)
		return 0;
	for (int c = 0; c < f->header.n; c++) {
		const colstat *cs = &f->col[c];
		int fi;
		double v;
		pt_feature *ft;
		const pt_source *src;

		if (cs->role != R_SOURCE || (fi = f->feat_of_slot[cs->slot]) < 0)
			continue;
		ft = &f->m->features[fi];
		src = &f->m->sources[ft->source];
		v = f->rv.v[c];
		if (f->rv.kind[c] != PT_VAL_NUMBER)
			v = src->missing == PT_MISS_KEEP ? NAN : src->impute;
		ft->counts[pt_feature_bin(ft, v)]++;
	}
	return 0;
}

/*
 * Sorts n doubles (no NaN) ascending, as qsort with cmp_f64 would, but
 * for the order of -0 and +0, which compare equal (here -0 comes first).
 * An LSD radix sort on keys that order like the values, 16 bits a pass,
 * skipping passes whose digit every key shares; qsort when memory is short.
 */
static void
sort_f64(double *v, size_t n)
{
	const uint64_t top = UINT64_C(1) << 63;
	uint64_t *a, *b, u;
	size_t *cnt, i, sum;
	int pass, d;

	if (n < 256) {
		qsort(v, n, sizeof *v, cmp_f64);
		return;
	}
	a = malloc(n * sizeof *a);
	b = malloc(n * sizeof *b);
	cnt = malloc(65536 * sizeof *cnt);
	if (a == NULL || b == NULL || cnt == NULL) {
		free(a);
		free(b);
		free(cnt);
		qsort(v, n, sizeof *v, cmp_f64);
		return;
	}
	for (i = 0; i < n; i++) {
		memcpy(&u, &v[i], 8);
		a[i] = u & top ? ~u : u | top;
	}
	for (pass = 0; pass < 4; pass++) {
		int sh = 16 * pass;
		uint64_t *t;
		memset(cnt, 0, 65536 * sizeof *cnt);
		for (i = 0; i < n; i++)
			cnt[(a[i] >> sh) & 0xffff]++;
		if (cnt[(a[0] >> sh) & 0xffff] == n)
			continue;
		for (d = 0, sum = 0; d < 65536; d++) {
			size_t c = cnt[d];
			cnt[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[cnt[(a[i] >> sh) & 0xffff]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (i = 0; i < n; i++) {
		u = a[i] & top ? a[i] ^ top : ~a[i];
		memcpy(&v[i], &u, 8);
	}
	free(a);
	free(b);
	free(cnt);
}

/* The sample's non-missing values of one slot, sorted. */
static double *
slot_values(const fit *f, int slot, size_t *n)
{
	double *v = malloc((f->s.n + 1) * sizeof *v);
	size_t k = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < f->s.n; i++) {
		double x = f->s.rows[i * f->s.stride + 1 + (size_t)slot];
		if (!isnan(x))
			v[k++] = x;
	}
	sort_f64(v, k);
	*n = k;
	return v;
}

static int
build_source(fit *f, int c, pt_source *s)
{
	colstat *cs = &f->col[c];
	const char *name = f->header.v[c];
	int categorical;
	char w[512];

	s->column = c;
	if ((s->name = pt_strdup(name)) == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	categorical = cs->force == 'c' || (cs->force != 'n' && !cs->numeric_ok);
	/* A column of numbers but for a few values is most likely numbers
	 * with a typo or a missing-value code in it, not a category of
	 * hundreds of levels: say so, unless told which it is. */
	if (categorical && cs->force == 0 && cs->nnum > 0 && cs->nnum >=
	    cs->ntext)
		return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
		    cs->first_text_file ? cs->first_text_file : "input",
		    cs->first_text_line, name), "'%s' is %s: the column holds "
		    "%llu numbers and %llu values that are not (give --categorical "
		    "'%s' to treat it as categorical, or name a missing-value "
		    "code in --missing-tokens)", cs->first_text,
		    cs->first_text_range ? "past the range of doubles" :
		    "not a number", (unsigned long long)cs->nnum,
		    (unsigned long long)cs->ntext, name);
	s->kind = categorical ? PT_SRC_CATEGORICAL : PT_SRC_NUMERIC;
	s->missing = cs->missing;
	if (!cs->has_missing_for) {
		/* The default policy, read as "the central value" per kind. */
		if (categorical && s->missing == PT_MISS_MEDIAN)
			s->missing = PT_MISS_MODE;
		if (!categorical && s->missing == PT_MISS_MODE)
			s->missing = PT_MISS_MEDIAN;
	} else if ((categorical && s->missing == PT_MISS_MEDIAN) ||
	    (!categorical && s->missing == PT_MISS_MODE)) {
		return pt_fail(f->e, PT_EUSAGE, "--missing-for", "'%s' is %s: "
		    "use %s", name, categorical ? "categorical" : "numeric",
		    categorical ? "mode" : "median");
	}
	if (!categorical && cs->nonfinite_line > 0)
		return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
		    cs->nonfinite_file, cs->nonfinite_line, name), "'%s' is not "
		    "allowed in a numeric column (use --nonfinite missing to read "
		    "inf/nan as missing)", cs->nonfinite_text);
	if (s->missing == PT_MISS_REJECT && cs->nmissing > 0)
		return pt_fail(f->e, PT_EVALUE, pt_csv_where(w, sizeof w,
		    cs->first_missing_file ? cs->first_missing_file : "input",
		    cs->first_missing_line, name), "missing value, and the policy "
		    "for '%s' is reject (%llu missing)", name,
		    (unsigned long long)cs->nmissing);
	s->unknown_missing = f->o->unknown_missing;
	if (categorical) {
		uint64_t best = 0;
		if (cs->levels_over)
			return pt_fail(f->e, PT_ELIMIT, name, "more than %d distinct "
			    "values for a categorical column (first text value '%s' "
			    "on line %llu); exclude it, force it --numeric, or raise "
			    "--max-levels", f->o->max_levels, cs->first_text,
			    (unsigned long long)cs->first_text_line);
		if (cs->levels.n == 0)
			return pt_fail(f->e, PT_EVALUE, name,
			    "no values in the training rows: exclude the column");
		s->nlevels = (int)cs->levels.n;
		if ((s->levels = pt_strmap_sorted(&cs->levels)) == NULL)
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		s->impute_level = 0;
		for (int k = 0; k < s->nlevels; k++) {
			long slot = pt_strmap_find(&cs->levels, s->levels[k],
			    strlen(s->levels[k]));
			if (cs->levels.count[slot] > best) {
				best = cs->levels.count[slot];
				if (s->missing == PT_MISS_MODE)
					s->impute_level = k;
			}
		}
		if (s->missing == PT_MISS_CONSTANT) {
			s->impute_level = -1;
			for (int k = 0; k < s->nlevels; k++)
				if (strcmp(s->levels[k], cs->constant) == 0)
					s->impute_level = k;
			if (s->impute_level < 0)
				return pt_fail(f->e, PT_EUSAGE, "--missing-for",
				    "'%s' is not a level of '%s'", cs->constant, name);
		}
	} else if (s->missing == PT_MISS_CONSTANT) {
		if (pt_parse_f64(cs->constant, strlen(cs->constant), &s->impute) != 0)
			return pt_fail(f->e, PT_EUSAGE, "--missing-for",
			    "constant '%s' for '%s' is not a finite number",
			    cs->constant, name);
		s->impute += 0.0;
	}
	return 0;
}

/* Features of a numeric source: boundaries, the median, counts when the
 * sample holds every training row. */
static int
build_numeric(fit *f, pt_manifest *m, int c, int si)
{
	colstat *cs = &f->col[c];
	pt_source *s = &m->sources[si];
	pt_feature *ft = &m->features[m->nfeatures];
	size_t n, ns;
	double *sv = slot_values(f, cs->slot, &ns), *v = sv;
	int rc = 0;

	if (sv == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	n = ns;
	ft->source = si;
	ft->level = -1;
	if ((ft->name = pt_strdup(s->name)) == NULL) {
		free(sv);
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	}
	m->nfeatures++;
	if (s->missing == PT_MISS_MEDIAN) {
		if (n == 0) {
			free(sv);
			return pt_fail(f->e, PT_EVALUE, s->name,
			    "no values to take a median of");
		}
		s->impute = v[(n + 1) / 2 - 1] + 0.0; /* the lower median */
	}
	if (f->o->bins == 0) {
		/* Every distinct training value: from the exact distinct set. */
		dset *d = &cs->distinct;
		size_t k = 0;
		if (cs->distinct_over) {
			free(sv);
			return pt_fail(f->e, PT_ELIMIT, s->name, "more than %d "
			    "distinct values: --bins all is limited to %d per feature "
			    "(use --bins N, or raise --max-all)", f->o->max_all,
			    f->o->max_all);
		}
		v = malloc((d->n + 1) * sizeof *v);
		if (v == NULL) {
			free(sv);
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		}
		if (d->has_zero)
			v[k++] = 0.0;
		for (size_t i = 0; i < d->cap; i++)
			if (d->bits[i] != 0)
				memcpy(&v[k++], &d->bits[i], 8);
		sort_f64(v, k);
		n = k;
	}
	if (boundaries(v, n, f->o->bins, &ft->bounds, &ft->nbounds) != 0)
		rc = pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	if (v != sv)
		free(v);
	if (rc == 0 && (ft->counts = calloc((size_t)ft->nbounds + 2,
	    sizeof *ft->counts)) == NULL)
		rc = pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	if (rc == 0) {
		f->feat_of_slot[cs->slot] = m->nfeatures - 1;
		/* Counts over the sample when it holds every training row: the
		 * sorted values walked against the boundaries (as
		 * pt_feature_bin bins each), then the missing ones. */
		if (!f->s.overflowed) {
			size_t b = 0, nb = (size_t)ft->nbounds, miss = f->s.n - ns;
			for (size_t i = 0; i < ns; i++) {
				while (b < nb && sv[i] > ft->bounds[b])
					b++;
				ft->counts[b]++;
			}
			if (miss > 0)
				ft->counts[s->missing == PT_MISS_KEEP ? nb + 1 :
				    (size_t)pt_feature_bin(ft, s->impute)] += miss;
		}
	}
	free(sv);
	return rc;
}

/* One 0/1 feature per level: x <= 0 goes left. */
static int
build_onehot(fit *f, pt_manifest *m, int c, int si)
{
	colstat *cs = &f->col[c];
	pt_source *s = &m->sources[si];

	for (int k = 0; k < s->nlevels; k++) {
		pt_feature *ft = &m->features[m->nfeatures];
		size_t len = strlen(s->name) + strlen(s->levels[k]) + 2;
		long slot = pt_strmap_find(&cs->levels, s->levels[k],
		    strlen(s->levels[k]));
		/* inf/nan text is a level of a categorical source (apply
		 * looks it up as one), not a missing value as well. */
		uint64_t ones = cs->levels.count[slot],
		    miss = cs->nmissing - cs->nonfinite_missing;

		ft->source = si;
		ft->level = k;
		ft->name = malloc(len);
		ft->bounds = malloc(sizeof *ft->bounds);
		ft->counts = calloc(3, sizeof *ft->counts);
		m->nfeatures++;
		if (!ft->name || !ft->bounds || !ft->counts)
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		snprintf(ft->name, len, "%s=%s", s->name, s->levels[k]);
		ft->nbounds = 1;
		ft->bounds[0] = 0.0;
		if (s->missing != PT_MISS_KEEP) {
			if (s->impute_level == k)
				ones += miss;
			miss = 0;
		}
		ft->counts[1] = ones;
		ft->counts[2] = miss;
		ft->counts[0] = f->train_rows - ones - miss;
	}
	return 0;
}

/* Source c of the CSV, and its features, appended to m. */
static int
build_one_source(fit *f, pt_manifest *m, int c)
{
	int si = m->nsources++;

	if (build_source(f, c, &m->sources[si]) != 0)
		return -1;
	if (m->sources[si].kind == PT_SRC_NUMERIC ?
	    build_numeric(f, m, c, si) : build_onehot(f, m, c, si))
		return -1;
	return 0;
}

static int
build_manifest(fit *f, pt_manifest *m, int n, const char *const *paths,
    const int *fds)
{
	const pt_fit_opts *o = f->o;
	int nsrc = 0, nfeat = 0;

	f->m = m;
	m->ncolumns = f->header.n;
	if ((m->columns = pt_strs_dup(f->header.v, f->header.n)) == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	m->treatment = f->treatment;
	m->outcome = f->outcome;
	m->key = f->key;
	m->weight = f->weight;
	m->nrewards = f->rewards.n;
	m->rewards = calloc((size_t)m->nrewards + 1, sizeof *m->rewards);
	if (m->rewards == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < m->nrewards; i++)
		m->rewards[i] = pt_names_find(&f->header, f->rewards.v[i]);
	if (m->nrewards > 0) {
		m->nvocab = f->rewards.n;
		m->vocab = pt_strs_dup(f->rewards.v, f->rewards.n);
	} else if (f->vocab_given.n > 0) {
		m->nvocab = f->vocab_given.n;
		m->vocab = pt_strs_dup(f->vocab_given.v, f->vocab_given.n);
	} else {
		m->nvocab = (int)f->vocab.n;
		m->vocab = pt_strmap_sorted(&f->vocab);
	}
	if (m->vocab == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < m->nvocab; i++)
		for (int j = i + 1; j < m->nvocab; j++)
			if (strcmp(m->vocab[i], m->vocab[j]) == 0)
				return pt_fail(f->e, PT_EUSAGE, "--vocabulary",
				    "label '%s' appears twice", m->vocab[i]);
	m->control = 0;
	if (o->control != NULL && (m->control = pt_manifest_vocab(m, o->control)) < 0)
		return pt_fail(f->e, PT_EUSAGE, "--control", "'%s' is not a treatment "
		    "label of the training rows", o->control);
	m->drop_missing = o->drop_missing;
	m->nmissing_tokens = f->tokens.n;
	if ((m->missing_tokens = pt_strs_dup(f->tokens.v, f->tokens.n)) == NULL)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	m->nonfinite_missing = o->nonfinite_missing;
	m->split = o->split;
	m->train_fraction = o->train_fraction;
	m->seed = o->seed;
	m->split_column = f->splitcol;
	m->until = o->until;
	m->bins = o->bins;
	m->sample = o->sample;
	m->train_rows = f->train_rows;
	m->dropped_rows = f->dropped_rows;

	for (int c = 0; c < f->header.n; c++)
		if (f->col[c].role == R_SOURCE) {
			nsrc++;
			nfeat += f->col[c].levels_over ? 1 : (int)f->col[c].levels.n + 1;
		}
	m->sources = calloc((size_t)nsrc + 1, sizeof *m->sources);
	m->features = calloc((size_t)nfeat + 1, sizeof *m->features);
	f->feat_of_slot = malloc(sizeof *f->feat_of_slot * ((size_t)f->nslots + 1));
	if (!m->sources || !m->features || !f->feat_of_slot)
		return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < f->nslots; i++)
		f->feat_of_slot[i] = -1;
	/* The feature order: --features as given, else the CSV's order. */
	{
		pt_names fl;
		int *order = malloc(sizeof *order * ((size_t)f->header.n + 1)), no = 0;
		if (order == NULL)
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		if (o->features != NULL) {
			if (pt_names_split(&fl, o->features, f->e) != 0) {
				free(order);
				return -1;
			}
			for (int i = 0; i < fl.n; i++) {
				int c = pt_names_find(&f->header, fl.v[i]);
				int dup = 0;
				for (int k = 0; k < no; k++)
					dup |= order[k] == c;
				if (c >= 0 && f->col[c].role == R_SOURCE && !dup)
					order[no++] = c;
			}
			pt_names_free(&fl);
		} else {
			for (int c = 0; c < f->header.n; c++)
				if (f->col[c].role == R_SOURCE)
					order[no++] = c;
		}
		for (int k = 0; k < no; k++)
			if (build_one_source(f, m, order[k]) != 0) {
				free(order);
				return -1;
			}
		free(order);
	}
	if (check_names(f, m) != 0)
		return -1;
	if (f->weight >= 0) {
		f->binw = calloc((size_t)m->nfeatures + 1, sizeof *f->binw);
		if (f->binw == NULL)
			return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		for (int i = 0; i < m->nfeatures; i++)
			if (pt_binw_init(&f->binw[i], m->features[i].nbounds + 2) != 0)
				return pt_fail(f->e, PT_ENOMEM, "", "out of memory");
		pt_xsum_init(&f->wtotal);
	}
	/* With weights, a second pass over every training row even when the
	 * sample held them all: the sample keeps feature values, not weights. */
	if ((f->s.overflowed || f->weight >= 0) &&
	    fit_pass(f, m, n, paths, fds, pass2_row) != 0)
		return -1;
	if (f->weight >= 0 && finish_weights(f, m) != 0)
		return -1;
	return 0;
}

void
pt_fit_defaults(pt_fit_opts *o)
{
	memset(o, 0, sizeof *o);
	o->missing = PT_MISS_KEEP;
	o->bins = 32;
	o->sample = 262144;
	o->max_levels = 256;
	o->max_all = 100000;
	o->split = PT_SPLIT_NONE;
	o->train_fraction = 1.0;
	o->seed = 1;
	o->delimiter = ',';
}

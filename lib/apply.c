/*
 * apply.c: CSV rows to frames under a manifest (policy-prep apply).
 *
 * The hot path of policy-prep: every field of every row passes through
 * apply_features.  So what the inner loop needs per source (column, kind,
 * missing policy, a level -> feature map) is looked up once, in
 * apply_init, and the bin codes are filled a whole frame at a time.  Rows
 * are classified train/test by the same row hash and rule as fit.
 */
#include "apply.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csvin.h"
#include "hist.h"
#include "names.h"
#include "number.h"
#include "rowid.h"
#include "strmap.h"

pt_schema *
pt_prep_schema(const pt_manifest *m, pt_err *e)
{
	pt_schema *s = pt_schema_new(m->digest);
	int ok = s != NULL;

	ok = ok && pt_schema_add(s, "_row", PT_U64, PT_ROLE_ROW, 0, NULL, e) >= 0;
	for (int i = 0; ok && i < m->nfeatures; i++)
		ok = pt_schema_add(s, m->features[i].name, PT_F64, PT_ROLE_FEATURE,
		    0, NULL, e) >= 0;
	if (m->nrewards > 0) {
		for (int i = 0; ok && i < m->nrewards; i++)
			ok = pt_schema_add(s, m->vocab[i], PT_F64, PT_ROLE_REWARD, 0,
			    NULL, e) >= 0;
	} else if (ok) {
		ok = pt_schema_add(s, m->columns[m->treatment], PT_I32,
		    PT_ROLE_TREATMENT, m->nvocab, m->vocab, e) >= 0 &&
		    pt_schema_add(s, m->columns[m->outcome], PT_F64, PT_ROLE_OUTCOME,
		    0, NULL, e) >= 0;
	}
	if (ok && m->weight >= 0)
		ok = pt_schema_add(s, m->columns[m->weight], PT_F64,
		    PT_ROLE_WEIGHT, 0, NULL, e) >= 0;
	if (!ok) {
		if (s == NULL)
			pt_fail(e, PT_ENOMEM, "", "out of memory");
		pt_schema_free(s);
		return NULL;
	}
	return s;
}

/* Per source, what apply needs in its inner loop. */
typedef struct asrc {
	int column, kind, feat, nlevels;
	pt_missing missing;
	double impute;
	int impute_level, unknown_missing;
	pt_strmap levels; /* categorical: level -> index */
} asrc;

typedef struct apply {
	const pt_manifest *m;
	asrc *src;
	pt_names tokens;
	pt_strmap vocab;   /* treatment label -> code */
	pt_rowvals rv;     /* the record's values, read once */
	pt_err *e;
	const char *file;
	char where[512];
} apply;

static const char *
aloc(apply *a, uint64_t line, int col)
{
	return pt_csv_where(a->where, sizeof a->where, a->file, line,
	    col >= 0 ? a->m->columns[col] : NULL);
}

static int
apply_init(apply *a, const pt_manifest *m, pt_err *e)
{
	memset(a, 0, sizeof *a);
	a->m = m;
	a->e = e;
	a->src = calloc((size_t)m->nsources + 1, sizeof *a->src);
	a->tokens.n = m->nmissing_tokens;
	a->tokens.v = m->missing_tokens;
	if (a->src == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (int k = 0; k < m->nvocab; k++)
		if (pt_strmap_add(&a->vocab, m->vocab[k], strlen(m->vocab[k]),
		    k) < 0)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	for (int i = 0; i < m->nsources; i++) {
		const pt_source *s = &m->sources[i];
		asrc *d = &a->src[i];
		d->column = s->column;
		d->kind = s->kind;
		d->nlevels = s->nlevels;
		d->missing = s->missing;
		d->impute = s->impute;
		d->impute_level = s->impute_level;
		d->unknown_missing = s->unknown_missing;
		d->feat = -1;
		for (int k = 0; k < m->nfeatures; k++)
			if (m->features[k].source == i) {
				d->feat = k;
				break;
			}
		if (d->feat < 0)
			return pt_fail(e, PT_EFORMAT, "", "source '%s' has no feature",
			    s->name);
		for (int k = 0; k < s->nlevels; k++) {
			/* A level's feature is the one naming it (any order). */
			int fk = -1;
			for (int j = 0; j < m->nfeatures; j++)
				if (m->features[j].source == i && m->features[j].level == k)
					fk = j;
			if (fk < 0)
				return pt_fail(e, PT_EFORMAT, "", "level '%s' of '%s' has "
				    "no feature", s->levels[k], s->name);
			if (pt_strmap_add(&d->levels, s->levels[k], strlen(s->levels[k]),
			    fk) < 0)
				return pt_fail(e, PT_ENOMEM, "", "out of memory");
		}
	}
	return 0;
}

static void
apply_free(apply *a)
{
	if (a->src != NULL)
		for (int i = 0; i < a->m->nsources; i++)
			pt_strmap_free(&a->src[i].levels);
	free(a->src);
	pt_strmap_free(&a->vocab);
	pt_rowvals_free(&a->rv);
}

/* Fills row i of the feature columns from record r.  0 or -1. */
static int
apply_features(apply *a, const pt_csvrec *r, pt_batch *b, size_t i)
{
	const pt_manifest *m = a->m;

	for (int k = 0; k < m->nsources; k++) {
		const asrc *s = &a->src[k];
		const char *f = r->field[s->column];
		size_t n = r->len[s->column];
		int kind = a->rv.kind[s->column];
		int missing = kind == PT_VAL_MISSING;

		if (s->kind == PT_SRC_NUMERIC) {
			double v = a->rv.v[s->column];
			if (kind != PT_VAL_NUMBER) {
				if (kind == PT_VAL_NONFINITE && !m->nonfinite_missing)
					return pt_fail(a->e, PT_EVALUE, aloc(a, r->line,
					    s->column), "'%.40s' is not allowed: the "
					    "manifest forbids inf and nan", f);
				if (kind == PT_VAL_RANGE)
					return pt_fail(a->e, PT_EVALUE, aloc(a, r->line,
					    s->column), "'%.40s' is past the range of "
					    "doubles (it would overflow, or underflow to "
					    "0 or a subnormal)", f);
				if (kind == PT_VAL_TEXT)
					return pt_fail(a->e, PT_EVALUE, aloc(a, r->line,
					    s->column), "'%.40s' is not a number", f);
				if (s->missing == PT_MISS_REJECT)
					return pt_fail(a->e, PT_EVALUE, aloc(a, r->line,
					    s->column), "missing value, and the manifest's "
					    "policy is reject");
				v = s->missing == PT_MISS_KEEP ? NAN : s->impute;
			}
			PT_COL_F64(b, 1 + s->feat)[i] = v;
		} else {
			int fk;
			long slot;
			double fill = 0.0;
			slot = missing ? -1 : pt_strmap_find(&s->levels, f, n);
			if (slot >= 0) {
				fk = s->levels.val[slot];
			} else {
				if (!missing && !s->unknown_missing)
					return pt_fail(a->e, PT_EVALUE, aloc(a, r->line,
					    s->column), "unknown category '%.60s' (not among "
					    "the manifest's %d levels)", f, s->nlevels);
				if (s->missing == PT_MISS_REJECT)
					return pt_fail(a->e, PT_EVALUE, aloc(a, r->line,
					    s->column), "missing value, and the manifest's "
					    "policy is reject");
				if (s->missing == PT_MISS_KEEP) {
					fk = -1;
					fill = NAN;
				} else {
					long is = pt_strmap_find(&s->levels,
					    m->sources[k].levels[s->impute_level],
					    strlen(m->sources[k].levels[s->impute_level]));
					fk = s->levels.val[is];
				}
			}
			for (int l = 0; l < s->nlevels; l++)
				PT_COL_F64(b, 1 + s->feat + l)[i] = fill;
			if (fk >= 0)
				PT_COL_F64(b, 1 + fk)[i] = 1.0;
		}
	}
	return 0;
}

/* The weight of row i, after its roles: 1 kept, 0 dropped, -1 error. */
static int
apply_weight(apply *a, const pt_csvrec *r, pt_batch *b, size_t i)
{
	const pt_manifest *m = a->m;
	int base = 1 + m->nfeatures;

	if (m->weight >= 0) {
		int c = m->weight;
		const char *why = pt_weight_check(a->rv.kind[c], a->rv.v[c]);
		if (why != NULL) {
			if (a->rv.kind[c] == PT_VAL_MISSING && m->drop_missing)
				return 0;
			return pt_fail(a->e, PT_EVALUE, aloc(a, r->line, c),
			    "weight '%.40s' %s%s", r->field[c], why,
			    a->rv.kind[c] == PT_VAL_MISSING ? " (the manifest "
			    "rejects such rows)" : "");
		}
		/* -0 and 0 are one weight. */
		PT_COL_F64(b, base + (m->nrewards > 0 ? m->nrewards : 2))[i] =
		    a->rv.v[c] + 0.0;
	}
	return 1;
}

/* Treatment, outcome or rewards of row i: 1 kept, 0 dropped, -1 error. */
static int
apply_roles(apply *a, const pt_csvrec *r, pt_batch *b, size_t i)
{
	const pt_manifest *m = a->m;
	int base = 1 + m->nfeatures;

	if (m->nrewards > 0) {
		for (int k = 0; k < m->nrewards; k++) {
			int c = m->rewards[k];
			if (a->rv.kind[c] != PT_VAL_NUMBER)
				return pt_fail(a->e, PT_EVALUE, aloc(a, r->line, c),
				    "reward '%.40s' is not a finite number", r->field[c]);
			PT_COL_F64(b, base + k)[i] = a->rv.v[c];
		}
		return 1;
	} else {
		int c = m->treatment, oc = m->outcome, code = -1;
		const char *t = r->field[c];
		size_t n = r->len[c];

		long slot = pt_strmap_find(&a->vocab, t, n);
		if (slot >= 0)
			code = a->vocab.val[slot];
		if (code < 0) {
			if (a->rv.kind[c] == PT_VAL_MISSING) {
				if (m->drop_missing)
					return 0;
				return pt_fail(a->e, PT_EVALUE, aloc(a, r->line, c),
				    "missing treatment (the manifest rejects such rows)");
			}
			return pt_fail(a->e, PT_EVALUE, aloc(a, r->line, c),
			    "unknown treatment label '%.60s' (not in the manifest's "
			    "vocabulary of %d labels)", t, m->nvocab);
		}
		PT_COL_I32(b, base)[i] = code;
		PT_COL_F64(b, base + 1)[i] = a->rv.v[oc];
		if (a->rv.kind[oc] != PT_VAL_NUMBER) {
			if (a->rv.kind[oc] == PT_VAL_MISSING) {
				if (m->drop_missing)
					return 0;
				return pt_fail(a->e, PT_EVALUE, aloc(a, r->line, oc),
				    "missing outcome (the manifest rejects such rows)");
			}
			return pt_fail(a->e, PT_EVALUE, aloc(a, r->line, oc),
			    "outcome '%.40s' is not a finite number", r->field[oc]);
		}
		return 1;
	}
}

int
pt_prep_apply(const pt_manifest *m, int fd, const char *name,
    const pt_apply_opts *o, pt_writer *w, pt_batch *b, pt_apply_stats *st,
    pt_progress_fn progress, pt_err *e)
{
	apply a;
	pt_csv *c;
	pt_csvrec r;
	pt_subset subset = o->subset;
	int rc, first = o->header, any = 0;

	if (apply_init(&a, m, e) != 0) {
		apply_free(&a);
		return -1;
	}
	a.file = name;
	if (subset == PT_SUBSET_TEST && m->split == PT_SPLIT_NONE) {
		apply_free(&a);
		return pt_fail(e, PT_EUSAGE, "--subset", "the manifest has no "
		    "train/test rule, so there are no test rows (fit with "
		    "--train-fraction or --split-column)");
	}
	if ((c = pt_csv_open(fd, name, e)) == NULL) {
		apply_free(&a);
		return -1;
	}
	pt_csv_set_delimiter(c, o->delimiter ? o->delimiter : ',');
	while ((rc = pt_csv_next(c, &r, e)) == 1) {
		size_t i = b->nrows;
		uint64_t h;
		int kept;

		any = 1;
		if (first) {
			first = 0;
			for (int k = 0; k < m->ncolumns; k++)
				if ((size_t)k >= r.nfields || strcmp(r.field[k],
				    m->columns[k]) != 0) {
					rc = pt_fail(e, PT_EMISMATCH, aloc(&a, r.line, -1),
					    "header does not match the manifest: column %d "
					    "is '%.40s', the manifest says '%s'", k + 1,
					    (size_t)k < r.nfields ? r.field[k] : "(none)",
					    m->columns[k]);
					goto out;
				}
			if ((int)r.nfields != m->ncolumns) {
				rc = pt_fail(e, PT_EMISMATCH, aloc(&a, r.line, -1),
				    "header does not match the manifest: %zu columns, "
				    "the manifest has %d", r.nfields, m->ncolumns);
				goto out;
			}
			continue;
		}
		if ((int)r.nfields != m->ncolumns) {
			rc = pt_fail(e, PT_EFORMAT, aloc(&a, r.line, -1), "%zu fields, "
			    "the manifest has %d columns", r.nfields, m->ncolumns);
			goto out;
		}
		st->rows_in++;
		if (pt_rowvals_read(&a.rv, &r, &a.tokens, e) < 0) {
			rc = -1;
			goto out;
		}
		h = pt_rowvals_id(&a.rv, &r, m->key, m->weight);
		if (subset != PT_SUBSET_ALL && m->split != PT_SPLIT_NONE) {
			double sv = m->split == PT_SPLIT_COLUMN ?
			    a.rv.v[m->split_column] : NAN;
			if (m->split == PT_SPLIT_COLUMN &&
			    a.rv.kind[m->split_column] != PT_VAL_NUMBER) {
				rc = pt_fail(e, PT_EVALUE, aloc(&a, r.line,
				    m->split_column), "split column value '%.40s' is not a "
				    "finite number", r.field[m->split_column]);
				goto out;
			}
			if (pt_manifest_is_train(m, h, sv) != (subset == PT_SUBSET_TRAIN))
				continue;
		}
		PT_COL_U64(b, 0)[i] = h;
		if ((kept = apply_roles(&a, &r, b, i)) == 1)
			kept = apply_weight(&a, &r, b, i);
		if (kept < 0) {
			rc = -1;
			goto out;
		}
		if (!kept) { /* dropped rows are counted, not checked further */
			st->dropped++;
			continue;
		}
		if (apply_features(&a, &r, b, i) < 0) {
			rc = -1;
			goto out;
		}
		st->rows_out++;
		if (++b->nrows == b->cap) {
			if (pt_hist_fill_codes(m, b, e) != 0 ||
			    pt_writer_write(w, b, e) != 0) {
				rc = -1;
				goto out;
			}
			b->nrows = 0;
			if (progress)
				progress(st->rows_in, st->bytes + pt_csv_bytes(c));
		}
	}
	/* With a header, an empty file is not the file meant (it has no
	 * header to check); without one it is a partition of no rows. */
	if (rc == 0 && !any && o->header)
		rc = pt_fail(e, PT_EEMPTY, name, "empty input: no header");
out:
	st->bytes += pt_csv_bytes(c);
	pt_csv_close(c);
	apply_free(&a);
	return rc < 0 ? -1 : 0;
}

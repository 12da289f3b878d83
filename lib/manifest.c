/*
 * manifest.c: writing and reading the locked manifest (policy-manifest(5)).
 *
 * Writing is by hand-formatted text, not an emitter, so that the bytes are
 * a pure function of the content: fixed key order, every string double
 * quoted, every double in its shortest round-trip form.  Reading goes
 * through libyaml's document API and then validates everything a later
 * program relies on, so they can trust a manifest that reads.
 */
#include "manifest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "number.h"
#include "xsum.h"
#include "yamlin.h"
#include "yamlout.h"

/* ---- writing ------------------------------------------------------------ */

/* Every string of the manifest is double-quoted (PT_Y_QUOTE_ALL), as it
 * always was: "NA", "null", "yes" and "2) $100 - $200" keep their text. */
#define Q PT_Y_QUOTE_ALL

static const char *
missing_name(pt_missing m)
{
	switch (m) {
	case PT_MISS_KEEP: return "keep";
	case PT_MISS_MEDIAN: return "median";
	case PT_MISS_MODE: return "mode";
	case PT_MISS_CONSTANT: return "constant";
	case PT_MISS_REJECT: return "reject";
	}
	return "?";
}

static const char *
colname(const pt_manifest *m, int i)
{
	return i >= 0 && i < m->ncolumns ? m->columns[i] : NULL;
}

static void
put_colref(pt_buf *b, const pt_manifest *m, int i)
{
	const char *n = colname(m, i);

	if (n)
		pt_y_str(b, n, Q);
	else
		pt_buf_puts(b, "null");
}

int
pt_manifest_write(pt_manifest *m, char **out, size_t *len, pt_err *e)
{
	pt_buf b = PT_BUF_INIT;
	char hex[33];

	pt_buf_puts(&b, "# policy-tools manifest: the locked inputs of a run; "
	    "see policy-manifest(5).\n");
	pt_buf_puts(&b, "# Do not edit: the digest on the last line covers every "
	    "byte above it.\n");
	pt_buf_puts(&b, "format: policy-manifest\n");
	pt_buf_printf(&b, "version: %d\n", PT_MANIFEST_VERSION);
	pt_buf_puts(&b, "columns: ");
	pt_y_strs(&b, m->columns, m->ncolumns, Q);
	pt_buf_puts(&b, "\ntreatment: ");
	put_colref(&b, m, m->treatment);
	pt_buf_puts(&b, "\noutcome: ");
	put_colref(&b, m, m->outcome);
	pt_buf_puts(&b, "\nkey: ");
	put_colref(&b, m, m->key);
	if (m->weight >= 0) {
		pt_buf_puts(&b, "\nweight: ");
		put_colref(&b, m, m->weight);
	}
	pt_buf_puts(&b, "\nrewards: [");
	for (int i = 0; i < m->nrewards; i++) {
		if (i)
			pt_buf_puts(&b, ", ");
		put_colref(&b, m, m->rewards[i]);
	}
	pt_buf_puts(&b, "]\nvocabulary: ");
	pt_y_strs(&b, m->vocab, m->nvocab, Q);
	pt_buf_puts(&b, "\ncontrol: ");
	pt_y_str(&b, m->vocab[m->control], Q);
	pt_buf_printf(&b, "\nmissing_rows: %s\n", m->drop_missing ? "drop" : "reject");
	pt_buf_puts(&b, "missing_tokens: ");
	pt_y_strs(&b, m->missing_tokens, m->nmissing_tokens, Q);
	pt_buf_printf(&b, "\nnonfinite: %s\n", m->nonfinite_missing ? "missing" : "reject");
	pt_buf_puts(&b, "split:\n");
	switch (m->split) {
	case PT_SPLIT_NONE:
		pt_buf_puts(&b, "  rule: none\n");
		break;
	case PT_SPLIT_HASH:
		pt_buf_puts(&b, "  rule: hash\n  train_fraction: ");
		pt_y_f64(&b, m->train_fraction);
		pt_buf_printf(&b, "\n  seed: %llu\n", (unsigned long long)m->seed);
		break;
	case PT_SPLIT_COLUMN:
		pt_buf_puts(&b, "  rule: column\n  column: ");
		put_colref(&b, m, m->split_column);
		pt_buf_puts(&b, "\n  until: ");
		pt_y_f64(&b, m->until);
		pt_buf_puts(&b, "\n");
		break;
	}
	pt_buf_puts(&b, "fit:\n  bins: ");
	if (m->bins > 0)
		pt_buf_printf(&b, "%d\n", m->bins);
	else
		pt_buf_puts(&b, "all\n");
	pt_buf_printf(&b, "  sample: %llu\n  train_rows: %llu\n  dropped_rows: %llu\n",
	    (unsigned long long)m->sample, (unsigned long long)m->train_rows,
	    (unsigned long long)m->dropped_rows);
	if (m->weight >= 0) {
		pt_buf_puts(&b, "  train_weight: ");
		pt_y_f64(&b, m->train_weight);
		pt_buf_putc(&b, '\n');
	}
	pt_buf_puts(&b, m->nsources ? "sources:\n" : "sources: []\n");
	for (int i = 0; i < m->nsources; i++) {
		const pt_source *s = &m->sources[i];
		pt_buf_puts(&b, "  - name: ");
		pt_y_str(&b, s->name, Q);
		pt_buf_printf(&b, "\n    type: %s\n", s->kind == PT_SRC_NUMERIC ?
		    "numeric" : "categorical");
		if (s->kind == PT_SRC_CATEGORICAL) {
			pt_buf_puts(&b, "    levels: ");
			pt_y_strs(&b, s->levels, s->nlevels, Q);
			pt_buf_puts(&b, "\n");
		}
		pt_buf_printf(&b, "    missing: %s\n", missing_name(s->missing));
		if (s->missing == PT_MISS_MEDIAN || s->missing == PT_MISS_MODE ||
		    s->missing == PT_MISS_CONSTANT) {
			pt_buf_puts(&b, "    impute: ");
			if (s->kind == PT_SRC_NUMERIC)
				pt_y_f64(&b, s->impute);
			else
				pt_y_str(&b, s->levels[s->impute_level], Q);
			pt_buf_puts(&b, "\n");
		}
		if (s->kind == PT_SRC_CATEGORICAL)
			pt_buf_printf(&b, "    unknown: %s\n",
			    s->unknown_missing ? "missing" : "reject");
	}
	pt_buf_puts(&b, m->nfeatures ? "features:\n" : "features: []\n");
	for (int i = 0; i < m->nfeatures; i++) {
		const pt_feature *f = &m->features[i];
		const pt_source *s = &m->sources[f->source];
		pt_buf_puts(&b, "  - name: ");
		pt_y_str(&b, f->name, Q);
		pt_buf_puts(&b, "\n    source: ");
		pt_y_str(&b, s->name, Q);
		if (f->level >= 0) {
			pt_buf_puts(&b, "\n    level: ");
			pt_y_str(&b, s->levels[f->level], Q);
		}
		pt_buf_puts(&b, "\n    boundaries: [");
		for (int k = 0; k < f->nbounds; k++) {
			if (k)
				pt_buf_puts(&b, ", ");
			pt_y_f64(&b, f->bounds[k]);
		}
		pt_buf_puts(&b, "]\n    counts: [");
		for (int k = 0; k < f->nbounds + 2; k++)
			pt_buf_printf(&b, "%s%llu", k ? ", " : "",
			    (unsigned long long)f->counts[k]);
		pt_buf_puts(&b, "]\n");
		/* Only with weights, so other manifests keep their bytes. */
		if (m->weight >= 0) {
			pt_buf_puts(&b, "    weights: ");
			pt_y_f64s(&b, f->weights, f->nbounds + 2);
			pt_buf_putc(&b, '\n');
		}
	}
	pt_y_digest(&b, hex);
	if (pt_buf_take(&b, out, len, "manifest", e) < 0)
		return -1;
	memcpy(m->digest, hex, sizeof hex);
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

typedef struct rd {
	pt_ydoc doc;       /* the YAML reader shared with models and trees */
	const char *name;
	pt_err *e;
} rd;

/* The node for key, which must exist and be of type. */
static yaml_node_t *
need(rd *r, yaml_node_t *map, const char *key, yaml_node_type_t type)
{
	yaml_node_t *n = pt_ynode_need(&r->doc, map, key, r->e);

	if (n != NULL && n->type != type) {
		pt_yfail(r->e, &r->doc, n, PT_EFORMAT, "'%s' should be a %s", key,
		    type == YAML_SCALAR_NODE ? "scalar" :
		    type == YAML_SEQUENCE_NODE ? "list" : "mapping");
		return NULL;
	}
	return n;
}

static const char *
sval(yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int
to_f64(rd *r, yaml_node_t *n, const char *what, double *out)
{
	return pt_ynode_f64(&r->doc, n, what, out, r->e);
}

static int
to_u64(rd *r, yaml_node_t *n, const char *what, uint64_t *out)
{
	return pt_ynode_u64(&r->doc, n, what, out, r->e);
}

/* A list of strings; *out is freed by the caller (also on failure). */
static int
to_strlist(rd *r, yaml_node_t *n, const char *what, char ***out, int *count)
{
	*count = 0;
	return (*out = pt_ynode_strs(&r->doc, n, what, count, r->e)) == NULL ?
	    -1 : 0;
}

/* Refuses a key of a mapping that the reader does not know. */
static int
only(rd *r, yaml_node_t *map, const char *const *keys)
{
	return pt_ymap_only(&r->doc, map, keys, r->e);
}

static int
find_str(char *const *v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return i;
	return -1;
}

/* A column reference: null (-1) or a name that must be in columns. */
static int
to_colref(rd *r, pt_manifest *m, yaml_node_t *n, int *out)
{
	if (pt_ynode_is_null(n)) {
		*out = -1;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE)
		return pt_yfail(r->e, &r->doc, n, PT_EFORMAT, "expected a column name");
	*out = find_str(m->columns, m->ncolumns, sval(n));
	if (*out < 0)
		return pt_yfail(r->e, &r->doc, n, PT_EFORMAT,
		    "'%s' is not one of the manifest's columns", sval(n));
	return 0;
}

static int
check_unique(rd *r, yaml_node_t *n, char *const *v, int count, const char *what)
{
	for (int i = 0; i < count; i++)
		for (int j = i + 1; j < count; j++)
			if (strcmp(v[i], v[j]) == 0)
				return pt_yfail(r->e, &r->doc, n, PT_EFORMAT,
				    "%s '%s' appears twice", what, v[i]);
	return 0;
}

static int
parse_missing(rd *r, yaml_node_t *n, pt_missing *out)
{
	static const char *names[] = { "keep", "median", "mode", "constant", "reject" };

	for (int i = 0; i < 5; i++)
		if (strcmp(sval(n), names[i]) == 0) {
			*out = (pt_missing)i;
			return 0;
		}
	return pt_yfail(r->e, &r->doc, n, PT_EFORMAT,
	    "unknown missing policy '%s' (keep, median, mode, constant, reject)",
	    sval(n));
}

static int
read_sources(rd *r, pt_manifest *m, yaml_node_t *list)
{
	static const char *const srckeys[] = { "name", "type", "levels",
		"missing", "impute", "unknown", NULL };
	int n = pt_ynode_len(list);

	m->sources = calloc((size_t)n + 1, sizeof *m->sources);
	if (m->sources == NULL)
		return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
	for (int i = 0; i < n; i++) {
		yaml_node_t *it = pt_ynode_item(&r->doc, list, i), *x;
		pt_source *s = &m->sources[i];
		m->nsources = i + 1;
		s->column = -1;
		if (it == NULL || it->type != YAML_MAPPING_NODE)
			return pt_yfail(r->e, &r->doc, it ? it : list, PT_EFORMAT,
			    "a source should be a mapping");
		if (only(r, it, srckeys) != 0 ||
		    (x = need(r, it, "name", YAML_SCALAR_NODE)) == NULL)
			return -1;
		if ((s->name = pt_strdup(sval(x))) == NULL)
			return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
		s->column = find_str(m->columns, m->ncolumns, s->name);
		if (s->column < 0)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "source '%s' is not one of the manifest's columns", s->name);
		for (int j = 0; j < i; j++)
			if (m->sources[j].column == s->column)
				return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
				    "source '%s' appears twice", s->name);
		if ((x = need(r, it, "type", YAML_SCALAR_NODE)) == NULL)
			return -1;
		if (strcmp(sval(x), "numeric") == 0)
			s->kind = PT_SRC_NUMERIC;
		else if (strcmp(sval(x), "categorical") == 0)
			s->kind = PT_SRC_CATEGORICAL;
		else
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "unknown type '%s' (numeric or categorical)", sval(x));
		if (s->kind == PT_SRC_CATEGORICAL) {
			if ((x = need(r, it, "levels", YAML_SEQUENCE_NODE)) == NULL ||
			    to_strlist(r, x, "levels", &s->levels, &s->nlevels) != 0 ||
			    check_unique(r, x, s->levels, s->nlevels, "level") != 0)
				return -1;
			if (s->nlevels == 0)
				return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
				    "source '%s' has no levels", s->name);
			if ((x = need(r, it, "unknown", YAML_SCALAR_NODE)) == NULL)
				return -1;
			if (strcmp(sval(x), "missing") == 0)
				s->unknown_missing = 1;
			else if (strcmp(sval(x), "reject") != 0)
				return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
				    "unknown-level policy '%s' (reject or missing)", sval(x));
		}
		if ((x = need(r, it, "missing", YAML_SCALAR_NODE)) == NULL ||
		    parse_missing(r, x, &s->missing) != 0)
			return -1;
		if ((s->kind == PT_SRC_NUMERIC && s->missing == PT_MISS_MODE) ||
		    (s->kind == PT_SRC_CATEGORICAL && s->missing == PT_MISS_MEDIAN))
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "missing policy '%s' does not fit a %s source",
			    missing_name(s->missing), s->kind == PT_SRC_NUMERIC ?
			    "numeric" : "categorical");
		if (s->missing == PT_MISS_MEDIAN || s->missing == PT_MISS_MODE ||
		    s->missing == PT_MISS_CONSTANT) {
			if ((x = need(r, it, "impute", YAML_SCALAR_NODE)) == NULL)
				return -1;
			if (s->kind == PT_SRC_NUMERIC) {
				if (to_f64(r, x, "impute", &s->impute) != 0)
					return -1;
			} else {
				s->impute_level = find_str(s->levels, s->nlevels, sval(x));
				if (s->impute_level < 0)
					return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
					    "impute level '%s' is not a level", sval(x));
			}
		}
	}
	return 0;
}

/* A feature's training weight per bin: present exactly when the manifest
 * has a weight column, one per count, finite and not negative, and 0
 * where no row is (a bin without rows has no weight). */
static int
read_weights(rd *r, pt_manifest *m, yaml_node_t *it, pt_feature *f)
{
	yaml_node_t *x = pt_ynode_get(&r->doc, it, "weights");
	int nb = f->nbounds + 2;

	if (x == NULL && m->weight < 0)
		return 0;
	if (x == NULL)
		return pt_yfail(r->e, &r->doc, it, PT_EFORMAT, "feature '%s' has "
		    "no weights, but the manifest has a weight column", f->name);
	if (m->weight < 0)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT, "feature '%s' has "
		    "weights, but the manifest has no weight column", f->name);
	if (x->type != YAML_SEQUENCE_NODE || pt_ynode_len(x) != nb)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT, "feature '%s': %d "
		    "weights, expected %d (one per count)", f->name,
		    x->type == YAML_SEQUENCE_NODE ? pt_ynode_len(x) : 0, nb);
	if ((f->weights = calloc((size_t)nb, sizeof *f->weights)) == NULL)
		return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
	for (int k = 0; k < nb; k++) {
		yaml_node_t *v = pt_ynode_item(&r->doc, x, k);
		if (to_f64(r, v, "weights", &f->weights[k]) != 0)
			return -1;
		if (f->weights[k] < 0)
			return pt_yfail(r->e, &r->doc, v, PT_EFORMAT, "feature "
			    "'%s': weight %s is negative", f->name, sval(v));
		f->weights[k] += 0.0; /* -0 is 0 */
		if (f->counts[k] == 0 && f->weights[k] != 0)
			return pt_yfail(r->e, &r->doc, v, PT_EFORMAT, "feature "
			    "'%s': weight %s in bin %d, which holds no training "
			    "rows", f->name, sval(v), k);
	}
	return 0;
}

static int
read_features(rd *r, pt_manifest *m, yaml_node_t *list)
{
	static const char *const featkeys[] = { "name", "source", "level",
		"boundaries", "counts", "weights", NULL };
	int n = pt_ynode_len(list);

	m->features = calloc((size_t)n + 1, sizeof *m->features);
	if (m->features == NULL)
		return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
	for (int i = 0; i < n; i++) {
		yaml_node_t *it = pt_ynode_item(&r->doc, list, i), *x, *lv;
		pt_feature *f = &m->features[i];
		const pt_source *s;
		m->nfeatures = i + 1;
		f->level = -1;
		if (it == NULL || it->type != YAML_MAPPING_NODE)
			return pt_yfail(r->e, &r->doc, it ? it : list, PT_EFORMAT,
			    "a feature should be a mapping");
		if (only(r, it, featkeys) != 0 ||
		    (x = need(r, it, "name", YAML_SCALAR_NODE)) == NULL)
			return -1;
		if ((f->name = pt_strdup(sval(x))) == NULL)
			return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
		for (int j = 0; j < i; j++)
			if (strcmp(m->features[j].name, f->name) == 0)
				return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
				    "feature '%s' appears twice", f->name);
		if ((x = need(r, it, "source", YAML_SCALAR_NODE)) == NULL)
			return -1;
		f->source = -1;
		for (int j = 0; j < m->nsources; j++)
			if (strcmp(m->sources[j].name, sval(x)) == 0)
				f->source = j;
		if (f->source < 0)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "feature '%s': source '%s' is not among the sources",
			    f->name, sval(x));
		s = &m->sources[f->source];
		lv = pt_ynode_get(&r->doc, it, "level");
		if (s->kind == PT_SRC_CATEGORICAL) {
			if (lv == NULL || lv->type != YAML_SCALAR_NODE)
				return pt_yfail(r->e, &r->doc, it, PT_EFORMAT,
				    "feature '%s' of a categorical source needs a level",
				    f->name);
			f->level = find_str(s->levels, s->nlevels, sval(lv));
			if (f->level < 0)
				return pt_yfail(r->e, &r->doc, lv, PT_EFORMAT,
				    "feature '%s': '%s' is not a level of '%s'",
				    f->name, sval(lv), s->name);
		} else if (lv != NULL) {
			return pt_yfail(r->e, &r->doc, lv, PT_EFORMAT,
			    "feature '%s' of a numeric source has a level", f->name);
		}
		if ((x = need(r, it, "boundaries", YAML_SEQUENCE_NODE)) == NULL)
			return -1;
		f->nbounds = pt_ynode_len(x);
		f->bounds = calloc((size_t)f->nbounds + 1, sizeof *f->bounds);
		f->counts = calloc((size_t)f->nbounds + 2, sizeof *f->counts);
		if (f->bounds == NULL || f->counts == NULL)
			return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
		for (int k = 0; k < f->nbounds; k++) {
			yaml_node_t *v = pt_ynode_item(&r->doc, x, k);
			if (to_f64(r, v, "boundaries", &f->bounds[k]) != 0)
				return -1;
			if (k > 0 && !(f->bounds[k - 1] < f->bounds[k]))
				return pt_yfail(r->e, &r->doc, v, PT_EFORMAT,
				    "feature '%s': boundaries are not strictly "
				    "increasing (%s then %s)", f->name,
				    sval(pt_ynode_item(&r->doc, x, k - 1)), sval(v));
		}
		if ((x = need(r, it, "counts", YAML_SEQUENCE_NODE)) == NULL)
			return -1;
		if (pt_ynode_len(x) != f->nbounds + 2)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "feature '%s': %d counts, expected %d (one per bin "
			    "and the missing bin)", f->name, pt_ynode_len(x), f->nbounds + 2);
		{
			uint64_t sum = 0;
			for (int k = 0; k < f->nbounds + 2; k++) {
				if (to_u64(r, pt_ynode_item(&r->doc, x, k), "counts",
				    &f->counts[k]) != 0)
					return -1;
				sum += f->counts[k];
				if (sum < f->counts[k])
					sum = UINT64_MAX; /* saturate: refused below */
			}
			/* Every training row falls in one bin of every feature. */
			if (sum != m->train_rows)
				return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
				    "feature '%s': its counts add up to %llu, not the "
				    "%llu training rows", f->name,
				    (unsigned long long)sum,
				    (unsigned long long)m->train_rows);
		}
		if (read_weights(r, m, it, f) != 0)
			return -1;
		if (m->bins > 0 && f->nbounds > m->bins - 1)
			return pt_yfail(r->e, &r->doc, pt_ynode_get(&r->doc, it,
			    "boundaries"), PT_EFORMAT, "feature '%s': %d boundaries, "
			    "more than %d bins make", f->name, f->nbounds, m->bins);
	}
	return 0;
}

static int
read_split(rd *r, pt_manifest *m, yaml_node_t *sp)
{
	static const char *const none[] = { "rule", NULL };
	static const char *const hash[] = { "rule", "train_fraction", "seed",
		NULL };
	static const char *const column[] = { "rule", "column", "until", NULL };
	yaml_node_t *x;

	if ((x = need(r, sp, "rule", YAML_SCALAR_NODE)) == NULL)
		return -1;
	if (strcmp(sval(x), "none") == 0) {
		m->split = PT_SPLIT_NONE;
		if (only(r, sp, none) != 0)
			return -1;
	} else if (strcmp(sval(x), "hash") == 0) {
		m->split = PT_SPLIT_HASH;
		if (only(r, sp, hash) != 0)
			return -1;
		if ((x = need(r, sp, "train_fraction", YAML_SCALAR_NODE)) == NULL ||
		    to_f64(r, x, "train_fraction", &m->train_fraction) != 0)
			return -1;
		if (!(m->train_fraction > 0 && m->train_fraction <= 1))
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "train_fraction must be in (0, 1]");
		if ((x = need(r, sp, "seed", YAML_SCALAR_NODE)) == NULL ||
		    to_u64(r, x, "seed", &m->seed) != 0)
			return -1;
	} else if (strcmp(sval(x), "column") == 0) {
		m->split = PT_SPLIT_COLUMN;
		if (only(r, sp, column) != 0)
			return -1;
		if ((x = need(r, sp, "column", YAML_SCALAR_NODE)) == NULL ||
		    to_colref(r, m, x, &m->split_column) != 0)
			return -1;
		if (m->split_column < 0)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "a column split needs a column");
		if ((x = need(r, sp, "until", YAML_SCALAR_NODE)) == NULL ||
		    to_f64(r, x, "until", &m->until) != 0)
			return -1;
	} else {
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
		    "unknown split rule '%s' (none, hash, column)", sval(x));
	}
	return 0;
}

/* Checks what ties the pieces together: roles, vocabulary, control. */
static int
validate(rd *r, pt_manifest *m, yaml_node_t *root)
{
	if (m->nrewards > 0) {
		if (m->treatment >= 0 || m->outcome >= 0)
			return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
			    "rewards exclude a treatment and an outcome column");
		if (m->nvocab != m->nrewards)
			return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
			    "%d reward columns but %d vocabulary labels",
			    m->nrewards, m->nvocab);
	} else if (m->treatment < 0 || m->outcome < 0) {
		return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
		    "a manifest needs a treatment and an outcome, or rewards");
	}
	if (m->nvocab < 1)
		return pt_yfail(r->e, &r->doc, root, PT_EFORMAT, "the vocabulary is empty");
	for (int i = 0; i < m->nrewards; i++) {
		if (m->rewards[i] < 0)
			return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
			    "a reward column is null");
		for (int j = 0; j < i; j++)
			if (m->rewards[j] == m->rewards[i])
				return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
				    "reward column '%s' appears twice",
				    m->columns[m->rewards[i]]);
	}
	if (m->key >= 0 && (m->key == m->treatment || m->key == m->outcome))
		return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
		    "the key column is also the treatment or the outcome");
	if (m->weight >= 0) {
		int wc = m->weight;
		for (int k = 0; k < m->nrewards; k++)
			if (m->rewards[k] == wc)
				wc = -2;
		if (wc == -2 || wc == m->treatment || wc == m->outcome ||
		    wc == m->key || (m->split == PT_SPLIT_COLUMN &&
		    wc == m->split_column))
			return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
			    "the weight column also has another role");
	}
	if (m->split == PT_SPLIT_COLUMN && (m->split_column == m->treatment ||
	    m->split_column == m->outcome))
		return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
		    "the split column is also the treatment or the outcome");
	for (int i = 0; i < m->nsources; i++) {
		int c = m->sources[i].column;
		if (c == m->treatment || c == m->outcome || c == m->key ||
		    c == m->weight)
			return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
			    "column '%s' is both a feature source and a role",
			    m->columns[c]);
		for (int k = 0; k < m->nrewards; k++)
			if (c == m->rewards[k])
				return pt_yfail(r->e, &r->doc, root, PT_EFORMAT,
				    "column '%s' is both a feature source and a "
				    "reward", m->columns[c]);
	}
	if (m->nfeatures == 0)
		return pt_yfail(r->e, &r->doc, root, PT_EFORMAT, "no features");
	/* apply fills a categorical source's one-hot features as one block:
	 * they must be consecutive, one per level, in level order. */
	for (int k = 0; k < m->nfeatures; k++) {
		const pt_source *s = &m->sources[m->features[k].source];
		if (s->kind != PT_SRC_CATEGORICAL ||
		    (k > 0 && m->features[k - 1].source == m->features[k].source))
			continue;
		for (int l = 0; l < s->nlevels; l++)
			if (k + l >= m->nfeatures ||
			    m->features[k + l].source != m->features[k].source ||
			    m->features[k + l].level != l)
				return pt_yfail(r->e, &r->doc, pt_ynode_get(&r->doc,
				    root, "features"), PT_EFORMAT, "the one-hot "
				    "features of '%s' must be consecutive, one per "
				    "level, in level order", s->name);
	}
	for (int i = 0; i < m->nsources; i++) {
		int has = 0;
		for (int k = 0; k < m->nfeatures && !has; k++)
			has = m->features[k].source == i;
		if (!has)
			return pt_yfail(r->e, &r->doc, pt_ynode_get(&r->doc, root, "features"), PT_EFORMAT,
			    "source '%s' has no feature: a feature is missing",
			    m->sources[i].name);
	}
	return 0;
}

static int
parse_root(rd *r, pt_manifest *m)
{
	static const char *const keys[] = { "format", "version", "columns",
		"treatment", "outcome", "key", "weight", "rewards", "vocabulary", "control",
		"missing_rows", "missing_tokens", "nonfinite", "split", "fit",
		"sources", "features", "digest", NULL };
	static const char *const fitkeys[] = { "bins", "sample", "train_rows",
		"dropped_rows", "train_weight", NULL };
	yaml_node_t *root = yaml_document_get_root_node(&r->doc.doc), *x, *fit;

	x = pt_ynode_get(&r->doc, root, "format");
	if (x == NULL || x->type != YAML_SCALAR_NODE ||
	    strcmp(sval(x), "policy-manifest") != 0)
		return pt_yfail(r->e, &r->doc, x ? x : root, PT_EFORMAT,
		    "not a policy manifest (format: policy-manifest missing)");
	if ((x = need(r, root, "version", YAML_SCALAR_NODE)) == NULL)
		return -1;
	if (strcmp(sval(x), "1") != 0)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
		    "manifest version %s is not supported (this program reads "
		    "version %d)", sval(x), PT_MANIFEST_VERSION);
	m->version = PT_MANIFEST_VERSION;
	if (only(r, root, keys) != 0)
		return -1;
	if ((x = need(r, root, "columns", YAML_SEQUENCE_NODE)) == NULL ||
	    to_strlist(r, x, "columns", &m->columns, &m->ncolumns) != 0 ||
	    check_unique(r, x, m->columns, m->ncolumns, "column") != 0)
		return -1;
	if ((x = need(r, root, "treatment", YAML_SCALAR_NODE)) == NULL ||
	    to_colref(r, m, x, &m->treatment) != 0)
		return -1;
	if ((x = need(r, root, "outcome", YAML_SCALAR_NODE)) == NULL ||
	    to_colref(r, m, x, &m->outcome) != 0)
		return -1;
	if ((x = need(r, root, "key", YAML_SCALAR_NODE)) == NULL ||
	    to_colref(r, m, x, &m->key) != 0)
		return -1;
	/* Optional: written only by a fit with --weight. */
	if ((x = pt_ynode_get(&r->doc, root, "weight")) != NULL) {
		if (x->type != YAML_SCALAR_NODE)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "'weight' must be a column name");
		if (to_colref(r, m, x, &m->weight) != 0)
			return -1;
		if (m->weight < 0)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "'weight' is null (leave it out for no weights)");
	}
	if ((x = need(r, root, "rewards", YAML_SEQUENCE_NODE)) == NULL)
		return -1;
	m->nrewards = pt_ynode_len(x);
	m->rewards = calloc((size_t)m->nrewards + 1, sizeof *m->rewards);
	if (m->rewards == NULL)
		return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
	for (int i = 0; i < m->nrewards; i++)
		if (to_colref(r, m, pt_ynode_item(&r->doc, x, i), &m->rewards[i]) != 0)
			return -1;
	if ((x = need(r, root, "vocabulary", YAML_SEQUENCE_NODE)) == NULL ||
	    to_strlist(r, x, "vocabulary", &m->vocab, &m->nvocab) != 0 ||
	    check_unique(r, x, m->vocab, m->nvocab, "label") != 0)
		return -1;
	if ((x = need(r, root, "control", YAML_SCALAR_NODE)) == NULL)
		return -1;
	m->control = find_str(m->vocab, m->nvocab, sval(x));
	if (m->control < 0)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
		    "control '%s' is not in the vocabulary", sval(x));
	if ((x = need(r, root, "missing_rows", YAML_SCALAR_NODE)) == NULL)
		return -1;
	m->drop_missing = strcmp(sval(x), "drop") == 0;
	if (!m->drop_missing && strcmp(sval(x), "reject") != 0)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
		    "missing_rows must be reject or drop");
	if ((x = need(r, root, "missing_tokens", YAML_SEQUENCE_NODE)) == NULL ||
	    to_strlist(r, x, "missing_tokens", &m->missing_tokens,
	    &m->nmissing_tokens) != 0)
		return -1;
	if ((x = need(r, root, "nonfinite", YAML_SCALAR_NODE)) == NULL)
		return -1;
	m->nonfinite_missing = strcmp(sval(x), "missing") == 0;
	if (!m->nonfinite_missing && strcmp(sval(x), "reject") != 0)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
		    "nonfinite must be reject or missing");
	if ((x = need(r, root, "split", YAML_MAPPING_NODE)) == NULL ||
	    read_split(r, m, x) != 0)
		return -1;
	if ((fit = need(r, root, "fit", YAML_MAPPING_NODE)) == NULL ||
	    only(r, fit, fitkeys) != 0)
		return -1;
	if ((x = need(r, fit, "bins", YAML_SCALAR_NODE)) == NULL)
		return -1;
	if (strcmp(sval(x), "all") == 0) {
		m->bins = 0;
	} else {
		uint64_t v;
		if (to_u64(r, x, "bins", &v) != 0)
			return -1;
		m->bins = (int)v;
	}
	if ((x = need(r, fit, "sample", YAML_SCALAR_NODE)) == NULL ||
	    to_u64(r, x, "sample", &m->sample) != 0 ||
	    (x = need(r, fit, "train_rows", YAML_SCALAR_NODE)) == NULL ||
	    to_u64(r, x, "train_rows", &m->train_rows) != 0 ||
	    (x = need(r, fit, "dropped_rows", YAML_SCALAR_NODE)) == NULL ||
	    to_u64(r, x, "dropped_rows", &m->dropped_rows) != 0)
		return -1;
	/* train_weight: present exactly when the manifest has weights. */
	x = pt_ynode_get(&r->doc, fit, "train_weight");
	if (x != NULL && m->weight < 0)
		return pt_yfail(r->e, &r->doc, x, PT_EFORMAT, "train_weight, "
		    "but the manifest has no weight column");
	if (m->weight >= 0) {
		if ((x = need(r, fit, "train_weight", YAML_SCALAR_NODE)) == NULL ||
		    to_f64(r, x, "train_weight", &m->train_weight) != 0)
			return -1;
		if (m->train_weight < 0)
			return pt_yfail(r->e, &r->doc, x, PT_EFORMAT,
			    "train_weight %s is negative", sval(x));
		m->train_weight += 0.0;
	}
	if ((x = need(r, root, "sources", YAML_SEQUENCE_NODE)) == NULL ||
	    read_sources(r, m, x) != 0)
		return -1;
	if ((x = need(r, root, "features", YAML_SEQUENCE_NODE)) == NULL ||
	    read_features(r, m, x) != 0)
		return -1;
	return validate(r, m, root);
}

pt_manifest *
pt_manifest_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	pt_manifest *m;
	rd r;
	char digest[33];
	int ok;

	memset(&r, 0, sizeof r);
	r.name = name;
	r.e = e;
	if (len == 0) {
		pt_fail(e, PT_EFORMAT, name, "empty manifest");
		return NULL;
	}
	if (pt_y_digest_check(buf, len, name, "manifest", digest, e) < 0)
		return NULL;
	if ((m = pt_manifest_new()) == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		return NULL;
	}
	memcpy(m->digest, digest, sizeof digest);
	ok = pt_ydoc_load(&r.doc, buf, len, name, e) != NULL &&
	    parse_root(&r, m) == 0;
	pt_ydoc_free(&r.doc);
	if (!ok) {
		pt_manifest_free(m);
		return NULL;
	}
	return m;
}

pt_manifest *
pt_manifest_read(const char *path, pt_err *e)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	pt_manifest *m;

	if (fp == NULL) {
		pt_fail(e, PT_EIO, path, "cannot open the manifest: %m");
		return NULL;
	}
	for (;;) {
		size_t k;
		if (len + 65536 > cap) {
			char *nb;
			if (cap > ((size_t)256 << 20)) {
				free(buf);
				fclose(fp);
				pt_fail(e, PT_ELIMIT, path, "manifest over 256 MiB");
				return NULL;
			}
			cap = cap ? 2 * cap : 262144;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(fp);
				pt_fail(e, PT_ENOMEM, path, "out of memory");
				return NULL;
			}
			buf = nb;
		}
		k = fread(buf + len, 1, cap - len, fp);
		len += k;
		if (k == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		pt_fail(e, PT_EIO, path, "read error");
		return NULL;
	}
	fclose(fp);
	m = pt_manifest_parse(buf, len, path, e);
	free(buf);
	return m;
}

/* ---- life cycle and lookups -------------------------------------------- */

pt_manifest *
pt_manifest_new(void)
{
	pt_manifest *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->version = PT_MANIFEST_VERSION;
	m->treatment = m->outcome = m->key = m->split_column = -1;
	m->weight = -1;
	return m;
}

void
pt_manifest_free(pt_manifest *m)
{
	if (m == NULL)
		return;
	pt_strs_free(m->columns, m->ncolumns);
	free(m->rewards);
	pt_strs_free(m->vocab, m->nvocab);
	pt_strs_free(m->missing_tokens, m->nmissing_tokens);
	for (int i = 0; i < m->nsources; i++) {
		free(m->sources[i].name);
		pt_strs_free(m->sources[i].levels, m->sources[i].nlevels);
	}
	free(m->sources);
	for (int i = 0; i < m->nfeatures; i++) {
		free(m->features[i].name);
		free(m->features[i].bounds);
		free(m->features[i].counts);
		free(m->features[i].weights);
	}
	free(m->features);
	free(m);
}

int
pt_manifest_feature(const pt_manifest *m, const char *name)
{
	for (int i = 0; i < m->nfeatures; i++)
		if (strcmp(m->features[i].name, name) == 0)
			return i;
	return -1;
}

int
pt_manifest_source(const pt_manifest *m, const char *name)
{
	for (int i = 0; i < m->nsources; i++)
		if (strcmp(m->sources[i].name, name) == 0)
			return i;
	return -1;
}

int
pt_manifest_vocab(const pt_manifest *m, const char *label)
{
	return find_str(m->vocab, m->nvocab, label);
}

int
pt_binw_init(pt_binw *b, int nbins)
{
	b->nbins = nbins;
	b->bin = calloc((size_t)nbins + 1, sizeof *b->bin);
	if (b->bin == NULL) {
		b->nbins = 0;
		return -1;
	}
	return 0;
}

int
pt_binw_add(pt_binw *b, int k, double w)
{
	pt_xsum *x = b->bin[k];

	if (x == NULL) {
		if (w == 0)
			return 0; /* a zero adds nothing: no accumulator yet */
		if ((x = malloc(sizeof *x)) == NULL)
			return -1;
		pt_xsum_init(x);
		b->bin[k] = x;
	}
	pt_xsum_add(x, w);
	return 0;
}

double
pt_binw_round(const pt_binw *b, int k)
{
	return b->bin[k] != NULL ? pt_xsum_round(b->bin[k]) + 0.0 : 0.0;
}

void
pt_binw_total(const pt_binw *b, pt_xsum *total)
{
	for (int k = 0; k < b->nbins; k++)
		if (b->bin[k] != NULL)
			pt_xsum_merge(total, b->bin[k]);
}

void
pt_binw_free(pt_binw *b)
{
	if (b->bin != NULL)
		for (int k = 0; k < b->nbins; k++)
			free(b->bin[k]);
	free(b->bin);
	b->bin = NULL;
	b->nbins = 0;
}

int
pt_feature_bin(const pt_feature *f, double x)
{
	int lo = 0, hi = f->nbounds;

	if (isnan(x))
		return f->nbounds + 1;
	/* The first k with x <= bounds[k]; nbounds when x is above them all. */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (x <= f->bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int
pt_manifest_is_train(const pt_manifest *m, uint64_t rowhash, double splitval)
{
	uint64_t u;

	switch (m->split) {
	case PT_SPLIT_NONE:
		return 1;
	case PT_SPLIT_HASH:
		/* 53 random bits against the fraction: exact in double. */
		u = pt_splitmix64(rowhash ^ pt_splitmix64(m->seed)) >> 11;
		return (double)u * 0x1p-53 < m->train_fraction;
	case PT_SPLIT_COLUMN:
		return splitval <= m->until;
	}
	return 1;
}

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

#include "model.h"
#include "number.h"
#include "xsum.h"

/* ---- building text --------------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
} sbuf;

static void
sb_grow(sbuf *b, size_t more)
{
	char *np;
	size_t cap;

	if (b->oom || b->n + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->n + more + 1)
		cap *= 2;
	np = realloc(b->p, cap);
	if (np == NULL) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void
sb_put(sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_puts(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void
sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		sb_put(b, tmp, (size_t)n);
		return;
	}
	sb_grow(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

/* A YAML double-quoted scalar: always quoted, so labels such as "NA",
 * "null", "yes" or "2) $100 - $200" keep their text. */
static void
sb_qstr(sbuf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	sb_put(b, "\"", 1);
	for (; *u; u++) {
		if (*u == '"' || *u == '\\') {
			char esc[2] = { '\\', (char)*u };
			sb_put(b, esc, 2);
		} else if (*u < 0x20 || *u == 0x7f) {
			sb_printf(b, "\\x%02x", *u);
		} else {
			sb_put(b, (const char *)u, 1);
		}
	}
	sb_put(b, "\"", 1);
}

static void
sb_f64(sbuf *b, double x)
{
	char tmp[32];
	int n = pt_fmt_f64(tmp, x);

	sb_put(b, tmp, (size_t)n);
}

static void
sb_strlist(sbuf *b, char *const *v, int n)
{
	sb_puts(b, "[");
	for (int i = 0; i < n; i++) {
		if (i)
			sb_puts(b, ", ");
		sb_qstr(b, v[i]);
	}
	sb_puts(b, "]");
}

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
sb_colref(sbuf *b, const pt_manifest *m, int i)
{
	const char *n = colname(m, i);

	if (n)
		sb_qstr(b, n);
	else
		sb_puts(b, "null");
}

int
pt_manifest_write(pt_manifest *m, char **out, size_t *len, pt_err *e)
{
	sbuf b = { 0 };
	pt_h128 h;

	sb_puts(&b, "# policy-tools manifest: the locked inputs of a run; "
	    "see policy-manifest(5).\n");
	sb_puts(&b, "# Do not edit: the digest on the last line covers every "
	    "byte above it.\n");
	sb_puts(&b, "format: policy-manifest\n");
	sb_printf(&b, "version: %d\n", PT_MANIFEST_VERSION);
	sb_puts(&b, "columns: ");
	sb_strlist(&b, m->columns, m->ncolumns);
	sb_puts(&b, "\ntreatment: ");
	sb_colref(&b, m, m->treatment);
	sb_puts(&b, "\noutcome: ");
	sb_colref(&b, m, m->outcome);
	sb_puts(&b, "\nkey: ");
	sb_colref(&b, m, m->key);
	sb_puts(&b, "\nrewards: [");
	for (int i = 0; i < m->nrewards; i++) {
		if (i)
			sb_puts(&b, ", ");
		sb_colref(&b, m, m->rewards[i]);
	}
	sb_puts(&b, "]\nvocabulary: ");
	sb_strlist(&b, m->vocab, m->nvocab);
	sb_puts(&b, "\ncontrol: ");
	sb_qstr(&b, m->vocab[m->control]);
	sb_printf(&b, "\nmissing_rows: %s\n", m->drop_missing ? "drop" : "reject");
	sb_puts(&b, "missing_tokens: ");
	sb_strlist(&b, m->missing_tokens, m->nmissing_tokens);
	sb_printf(&b, "\nnonfinite: %s\n", m->nonfinite_missing ? "missing" : "reject");
	sb_puts(&b, "split:\n");
	switch (m->split) {
	case PT_SPLIT_NONE:
		sb_puts(&b, "  rule: none\n");
		break;
	case PT_SPLIT_HASH:
		sb_puts(&b, "  rule: hash\n  train_fraction: ");
		sb_f64(&b, m->train_fraction);
		sb_printf(&b, "\n  seed: %llu\n", (unsigned long long)m->seed);
		break;
	case PT_SPLIT_COLUMN:
		sb_puts(&b, "  rule: column\n  column: ");
		sb_colref(&b, m, m->split_column);
		sb_puts(&b, "\n  until: ");
		sb_f64(&b, m->until);
		sb_puts(&b, "\n");
		break;
	}
	sb_puts(&b, "fit:\n  bins: ");
	if (m->bins > 0)
		sb_printf(&b, "%d\n", m->bins);
	else
		sb_puts(&b, "all\n");
	sb_printf(&b, "  sample: %llu\n  train_rows: %llu\n  dropped_rows: %llu\n",
	    (unsigned long long)m->sample, (unsigned long long)m->train_rows,
	    (unsigned long long)m->dropped_rows);
	sb_puts(&b, m->nsources ? "sources:\n" : "sources: []\n");
	for (int i = 0; i < m->nsources; i++) {
		const pt_source *s = &m->sources[i];
		sb_puts(&b, "  - name: ");
		sb_qstr(&b, s->name);
		sb_printf(&b, "\n    type: %s\n", s->kind == PT_SRC_NUMERIC ?
		    "numeric" : "categorical");
		if (s->kind == PT_SRC_CATEGORICAL) {
			sb_puts(&b, "    levels: ");
			sb_strlist(&b, s->levels, s->nlevels);
			sb_puts(&b, "\n");
		}
		sb_printf(&b, "    missing: %s\n", missing_name(s->missing));
		if (s->missing == PT_MISS_MEDIAN || s->missing == PT_MISS_MODE ||
		    s->missing == PT_MISS_CONSTANT) {
			sb_puts(&b, "    impute: ");
			if (s->kind == PT_SRC_NUMERIC)
				sb_f64(&b, s->impute);
			else
				sb_qstr(&b, s->levels[s->impute_level]);
			sb_puts(&b, "\n");
		}
		if (s->kind == PT_SRC_CATEGORICAL)
			sb_printf(&b, "    unknown: %s\n",
			    s->unknown_missing ? "missing" : "reject");
	}
	sb_puts(&b, m->nfeatures ? "features:\n" : "features: []\n");
	for (int i = 0; i < m->nfeatures; i++) {
		const pt_feature *f = &m->features[i];
		const pt_source *s = &m->sources[f->source];
		sb_puts(&b, "  - name: ");
		sb_qstr(&b, f->name);
		sb_puts(&b, "\n    source: ");
		sb_qstr(&b, s->name);
		if (f->level >= 0) {
			sb_puts(&b, "\n    level: ");
			sb_qstr(&b, s->levels[f->level]);
		}
		sb_puts(&b, "\n    boundaries: [");
		for (int k = 0; k < f->nbounds; k++) {
			if (k)
				sb_puts(&b, ", ");
			sb_f64(&b, f->bounds[k]);
		}
		sb_puts(&b, "]\n    counts: [");
		for (int k = 0; k < f->nbounds + 2; k++)
			sb_printf(&b, "%s%llu", k ? ", " : "",
			    (unsigned long long)f->counts[k]);
		sb_puts(&b, "]\n");
	}
	if (b.oom) {
		free(b.p);
		return pt_fail(e, PT_ENOMEM, "", "out of memory writing the manifest");
	}
	h = pt_hash128(b.p, b.n, 0);
	pt_h128_hex(h, m->digest);
	sb_printf(&b, "digest: %s\n", m->digest);
	if (b.oom) {
		free(b.p);
		return pt_fail(e, PT_ENOMEM, "", "out of memory writing the manifest");
	}
	*out = b.p;
	*len = b.n;
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

typedef struct rd {
	pt_ydoc doc;       /* the YAML layer shared with models and trees */
	const char *name;
	pt_err *e;
	char where[300];
} rd;

static const char *
at(rd *r, yaml_node_t *n)
{
	snprintf(r->where, sizeof r->where, "%s:%lu", r->name,
	    n ? (unsigned long)n->start_mark.line + 1 : 0UL);
	return r->where;
}

/* The node for key, which must exist (and be a scalar when scalar). */
static yaml_node_t *
need(rd *r, yaml_node_t *map, const char *key, yaml_node_type_t type)
{
	yaml_node_t *n = pt_ynode_get(&r->doc, map, key);

	if (n == NULL) {
		pt_fail(r->e, PT_EFORMAT, at(r, map), "missing key '%s'", key);
		return NULL;
	}
	if (n->type != type) {
		pt_fail(r->e, PT_EFORMAT, at(r, n), "'%s' should be a %s", key,
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

/* A plain "null" or "~" (not a quoted string) is YAML's null. */
static int
is_null(yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (strcmp(sval(n), "null") == 0 || strcmp(sval(n), "~") == 0 ||
	    sval(n)[0] == '\0');
}

static int
to_f64(rd *r, yaml_node_t *n, double *out)
{
	if (n->type != YAML_SCALAR_NODE ||
	    pt_parse_f64(sval(n), n->data.scalar.length, out) != 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, n),
		    "expected a finite number, found '%s'",
		    n->type == YAML_SCALAR_NODE ? sval(n) : "a collection");
	return 0;
}

static int
to_u64(rd *r, yaml_node_t *n, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (n->type != YAML_SCALAR_NODE || sval(n)[0] < '0' || sval(n)[0] > '9')
		goto bad;
	errno = 0;
	v = strtoull(sval(n), &end, 10);
	if (*end != '\0' || errno == ERANGE)
		goto bad;
	*out = v;
	return 0;
bad:
	return pt_fail(r->e, PT_EFORMAT, at(r, n),
	    "expected a non-negative integer, found '%s'",
	    n->type == YAML_SCALAR_NODE ? sval(n) : "a collection");
}

/* A list of strings; *out is NULL-safe freed by the caller. */
static int
to_strlist(rd *r, yaml_node_t *n, char ***out, int *count)
{
	int len = pt_ynode_len(n);

	*out = calloc((size_t)len + 1, sizeof **out);
	if (*out == NULL)
		return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
	*count = len;
	for (int i = 0; i < len; i++) {
		yaml_node_t *it = pt_ynode_item(&r->doc, n, i);
		if (it == NULL || it->type != YAML_SCALAR_NODE)
			return pt_fail(r->e, PT_EFORMAT, at(r, it ? it : n),
			    "expected a string");
		(*out)[i] = pt_strndup(sval(it), it->data.scalar.length);
		if ((*out)[i] == NULL)
			return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
	}
	return 0;
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
	if (is_null(n)) {
		*out = -1;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE)
		return pt_fail(r->e, PT_EFORMAT, at(r, n), "expected a column name");
	*out = find_str(m->columns, m->ncolumns, sval(n));
	if (*out < 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, n),
		    "'%s' is not one of the manifest's columns", sval(n));
	return 0;
}

static int
check_unique(rd *r, yaml_node_t *n, char *const *v, int count, const char *what)
{
	for (int i = 0; i < count; i++)
		for (int j = i + 1; j < count; j++)
			if (strcmp(v[i], v[j]) == 0)
				return pt_fail(r->e, PT_EFORMAT, at(r, n),
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
	return pt_fail(r->e, PT_EFORMAT, at(r, n),
	    "unknown missing policy '%s' (keep, median, mode, constant, reject)",
	    sval(n));
}

static int
read_sources(rd *r, pt_manifest *m, yaml_node_t *list)
{
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
			return pt_fail(r->e, PT_EFORMAT, at(r, it ? it : list),
			    "a source should be a mapping");
		if ((x = need(r, it, "name", YAML_SCALAR_NODE)) == NULL)
			return -1;
		if ((s->name = pt_strdup(sval(x))) == NULL)
			return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
		s->column = find_str(m->columns, m->ncolumns, s->name);
		if (s->column < 0)
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "source '%s' is not one of the manifest's columns", s->name);
		for (int j = 0; j < i; j++)
			if (m->sources[j].column == s->column)
				return pt_fail(r->e, PT_EFORMAT, at(r, x),
				    "source '%s' appears twice", s->name);
		if ((x = need(r, it, "type", YAML_SCALAR_NODE)) == NULL)
			return -1;
		if (strcmp(sval(x), "numeric") == 0)
			s->kind = PT_SRC_NUMERIC;
		else if (strcmp(sval(x), "categorical") == 0)
			s->kind = PT_SRC_CATEGORICAL;
		else
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "unknown type '%s' (numeric or categorical)", sval(x));
		if (s->kind == PT_SRC_CATEGORICAL) {
			if ((x = need(r, it, "levels", YAML_SEQUENCE_NODE)) == NULL ||
			    to_strlist(r, x, &s->levels, &s->nlevels) != 0 ||
			    check_unique(r, x, s->levels, s->nlevels, "level") != 0)
				return -1;
			if (s->nlevels == 0)
				return pt_fail(r->e, PT_EFORMAT, at(r, x),
				    "source '%s' has no levels", s->name);
			if ((x = need(r, it, "unknown", YAML_SCALAR_NODE)) == NULL)
				return -1;
			if (strcmp(sval(x), "missing") == 0)
				s->unknown_missing = 1;
			else if (strcmp(sval(x), "reject") != 0)
				return pt_fail(r->e, PT_EFORMAT, at(r, x),
				    "unknown-level policy '%s' (reject or missing)", sval(x));
		}
		if ((x = need(r, it, "missing", YAML_SCALAR_NODE)) == NULL ||
		    parse_missing(r, x, &s->missing) != 0)
			return -1;
		if ((s->kind == PT_SRC_NUMERIC && s->missing == PT_MISS_MODE) ||
		    (s->kind == PT_SRC_CATEGORICAL && s->missing == PT_MISS_MEDIAN))
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "missing policy '%s' does not fit a %s source",
			    missing_name(s->missing), s->kind == PT_SRC_NUMERIC ?
			    "numeric" : "categorical");
		if (s->missing == PT_MISS_MEDIAN || s->missing == PT_MISS_MODE ||
		    s->missing == PT_MISS_CONSTANT) {
			if ((x = need(r, it, "impute", YAML_SCALAR_NODE)) == NULL)
				return -1;
			if (s->kind == PT_SRC_NUMERIC) {
				if (to_f64(r, x, &s->impute) != 0)
					return -1;
			} else {
				s->impute_level = find_str(s->levels, s->nlevels, sval(x));
				if (s->impute_level < 0)
					return pt_fail(r->e, PT_EFORMAT, at(r, x),
					    "impute level '%s' is not a level", sval(x));
			}
		}
	}
	return 0;
}

static int
read_features(rd *r, pt_manifest *m, yaml_node_t *list)
{
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
			return pt_fail(r->e, PT_EFORMAT, at(r, it ? it : list),
			    "a feature should be a mapping");
		if ((x = need(r, it, "name", YAML_SCALAR_NODE)) == NULL)
			return -1;
		if ((f->name = pt_strdup(sval(x))) == NULL)
			return pt_fail(r->e, PT_ENOMEM, r->name, "out of memory");
		for (int j = 0; j < i; j++)
			if (strcmp(m->features[j].name, f->name) == 0)
				return pt_fail(r->e, PT_EFORMAT, at(r, x),
				    "feature '%s' appears twice", f->name);
		if ((x = need(r, it, "source", YAML_SCALAR_NODE)) == NULL)
			return -1;
		f->source = -1;
		for (int j = 0; j < m->nsources; j++)
			if (strcmp(m->sources[j].name, sval(x)) == 0)
				f->source = j;
		if (f->source < 0)
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "feature '%s': source '%s' is not among the sources",
			    f->name, sval(x));
		s = &m->sources[f->source];
		lv = pt_ynode_get(&r->doc, it, "level");
		if (s->kind == PT_SRC_CATEGORICAL) {
			if (lv == NULL || lv->type != YAML_SCALAR_NODE)
				return pt_fail(r->e, PT_EFORMAT, at(r, it),
				    "feature '%s' of a categorical source needs a level",
				    f->name);
			f->level = find_str(s->levels, s->nlevels, sval(lv));
			if (f->level < 0)
				return pt_fail(r->e, PT_EFORMAT, at(r, lv),
				    "feature '%s': '%s' is not a level of '%s'",
				    f->name, sval(lv), s->name);
		} else if (lv != NULL) {
			return pt_fail(r->e, PT_EFORMAT, at(r, lv),
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
			if (to_f64(r, v, &f->bounds[k]) != 0)
				return -1;
			if (k > 0 && !(f->bounds[k - 1] < f->bounds[k]))
				return pt_fail(r->e, PT_EFORMAT, at(r, v),
				    "feature '%s': boundaries are not strictly "
				    "increasing (%s then %s)", f->name,
				    sval(pt_ynode_item(&r->doc, x, k - 1)), sval(v));
		}
		if ((x = need(r, it, "counts", YAML_SEQUENCE_NODE)) == NULL)
			return -1;
		if (pt_ynode_len(x) != f->nbounds + 2)
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "feature '%s': %d counts, expected %d (one per bin "
			    "and the missing bin)", f->name, pt_ynode_len(x), f->nbounds + 2);
		for (int k = 0; k < f->nbounds + 2; k++)
			if (to_u64(r, pt_ynode_item(&r->doc, x, k), &f->counts[k]) != 0)
				return -1;
	}
	return 0;
}

static int
read_split(rd *r, pt_manifest *m, yaml_node_t *sp)
{
	yaml_node_t *x;

	if ((x = need(r, sp, "rule", YAML_SCALAR_NODE)) == NULL)
		return -1;
	if (strcmp(sval(x), "none") == 0) {
		m->split = PT_SPLIT_NONE;
	} else if (strcmp(sval(x), "hash") == 0) {
		m->split = PT_SPLIT_HASH;
		if ((x = need(r, sp, "train_fraction", YAML_SCALAR_NODE)) == NULL ||
		    to_f64(r, x, &m->train_fraction) != 0)
			return -1;
		if (!(m->train_fraction > 0 && m->train_fraction <= 1))
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "train_fraction must be in (0, 1]");
		if ((x = need(r, sp, "seed", YAML_SCALAR_NODE)) == NULL ||
		    to_u64(r, x, &m->seed) != 0)
			return -1;
	} else if (strcmp(sval(x), "column") == 0) {
		m->split = PT_SPLIT_COLUMN;
		if ((x = need(r, sp, "column", YAML_SCALAR_NODE)) == NULL ||
		    to_colref(r, m, x, &m->split_column) != 0)
			return -1;
		if (m->split_column < 0)
			return pt_fail(r->e, PT_EFORMAT, at(r, x),
			    "a column split needs a column");
		if ((x = need(r, sp, "until", YAML_SCALAR_NODE)) == NULL ||
		    to_f64(r, x, &m->until) != 0)
			return -1;
	} else {
		return pt_fail(r->e, PT_EFORMAT, at(r, x),
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
			return pt_fail(r->e, PT_EFORMAT, at(r, root),
			    "rewards exclude a treatment and an outcome column");
		if (m->nvocab != m->nrewards)
			return pt_fail(r->e, PT_EFORMAT, at(r, root),
			    "%d reward columns but %d vocabulary labels",
			    m->nrewards, m->nvocab);
	} else if (m->treatment < 0 || m->outcome < 0) {
		return pt_fail(r->e, PT_EFORMAT, at(r, root),
		    "a manifest needs a treatment and an outcome, or rewards");
	}
	if (m->nvocab < 1)
		return pt_fail(r->e, PT_EFORMAT, at(r, root), "the vocabulary is empty");
	for (int i = 0; i < m->nrewards; i++) {
		if (m->rewards[i] < 0)
			return pt_fail(r->e, PT_EFORMAT, at(r, root),
			    "a reward column is null");
		for (int j = 0; j < i; j++)
			if (m->rewards[j] == m->rewards[i])
				return pt_fail(r->e, PT_EFORMAT, at(r, root),
				    "reward column '%s' appears twice",
				    m->columns[m->rewards[i]]);
	}
	if (m->key >= 0 && (m->key == m->treatment || m->key == m->outcome))
		return pt_fail(r->e, PT_EFORMAT, at(r, root),
		    "the key column is also the treatment or the outcome");
	if (m->split == PT_SPLIT_COLUMN && (m->split_column == m->treatment ||
	    m->split_column == m->outcome))
		return pt_fail(r->e, PT_EFORMAT, at(r, root),
		    "the split column is also the treatment or the outcome");
	for (int i = 0; i < m->nsources; i++) {
		int c = m->sources[i].column;
		if (c == m->treatment || c == m->outcome || c == m->key)
			return pt_fail(r->e, PT_EFORMAT, at(r, root),
			    "column '%s' is both a feature source and a role",
			    m->columns[c]);
		for (int k = 0; k < m->nrewards; k++)
			if (c == m->rewards[k])
				return pt_fail(r->e, PT_EFORMAT, at(r, root),
				    "column '%s' is both a feature source and a "
				    "reward", m->columns[c]);
	}
	if (m->nfeatures == 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, root), "no features");
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
				return pt_fail(r->e, PT_EFORMAT,
				    at(r, pt_ynode_get(&r->doc, root, "features")), "the one-hot "
				    "features of '%s' must be consecutive, one per "
				    "level, in level order", s->name);
	}
	for (int i = 0; i < m->nsources; i++) {
		int has = 0;
		for (int k = 0; k < m->nfeatures && !has; k++)
			has = m->features[k].source == i;
		if (!has)
			return pt_fail(r->e, PT_EFORMAT, at(r, pt_ynode_get(&r->doc, root, "features")),
			    "source '%s' has no feature: a feature is missing",
			    m->sources[i].name);
	}
	return 0;
}

static int
parse_root(rd *r, pt_manifest *m)
{
	yaml_node_t *root = yaml_document_get_root_node(&r->doc.doc), *x, *fit;

	if (root == NULL || root->type != YAML_MAPPING_NODE)
		return pt_fail(r->e, PT_EFORMAT, r->name, "not a manifest (no mapping)");
	x = pt_ynode_get(&r->doc, root, "format");
	if (x == NULL || x->type != YAML_SCALAR_NODE ||
	    strcmp(sval(x), "policy-manifest") != 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, x ? x : root),
		    "not a policy manifest (format: policy-manifest missing)");
	if ((x = need(r, root, "version", YAML_SCALAR_NODE)) == NULL)
		return -1;
	if (strcmp(sval(x), "1") != 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, x),
		    "manifest version %s is not supported (this program reads "
		    "version %d)", sval(x), PT_MANIFEST_VERSION);
	m->version = PT_MANIFEST_VERSION;
	if ((x = need(r, root, "columns", YAML_SEQUENCE_NODE)) == NULL ||
	    to_strlist(r, x, &m->columns, &m->ncolumns) != 0 ||
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
	    to_strlist(r, x, &m->vocab, &m->nvocab) != 0 ||
	    check_unique(r, x, m->vocab, m->nvocab, "label") != 0)
		return -1;
	if ((x = need(r, root, "control", YAML_SCALAR_NODE)) == NULL)
		return -1;
	m->control = find_str(m->vocab, m->nvocab, sval(x));
	if (m->control < 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, x),
		    "control '%s' is not in the vocabulary", sval(x));
	if ((x = need(r, root, "missing_rows", YAML_SCALAR_NODE)) == NULL)
		return -1;
	m->drop_missing = strcmp(sval(x), "drop") == 0;
	if (!m->drop_missing && strcmp(sval(x), "reject") != 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, x),
		    "missing_rows must be reject or drop");
	if ((x = need(r, root, "missing_tokens", YAML_SEQUENCE_NODE)) == NULL ||
	    to_strlist(r, x, &m->missing_tokens, &m->nmissing_tokens) != 0)
		return -1;
	if ((x = need(r, root, "nonfinite", YAML_SCALAR_NODE)) == NULL)
		return -1;
	m->nonfinite_missing = strcmp(sval(x), "missing") == 0;
	if (!m->nonfinite_missing && strcmp(sval(x), "reject") != 0)
		return pt_fail(r->e, PT_EFORMAT, at(r, x),
		    "nonfinite must be reject or missing");
	if ((x = need(r, root, "split", YAML_MAPPING_NODE)) == NULL ||
	    read_split(r, m, x) != 0)
		return -1;
	if ((fit = need(r, root, "fit", YAML_MAPPING_NODE)) == NULL)
		return -1;
	if ((x = need(r, fit, "bins", YAML_SCALAR_NODE)) == NULL)
		return -1;
	if (strcmp(sval(x), "all") == 0) {
		m->bins = 0;
	} else {
		uint64_t v;
		if (to_u64(r, x, &v) != 0)
			return -1;
		m->bins = (int)v;
	}
	if ((x = need(r, fit, "sample", YAML_SCALAR_NODE)) == NULL ||
	    to_u64(r, x, &m->sample) != 0 ||
	    (x = need(r, fit, "train_rows", YAML_SCALAR_NODE)) == NULL ||
	    to_u64(r, x, &m->train_rows) != 0 ||
	    (x = need(r, fit, "dropped_rows", YAML_SCALAR_NODE)) == NULL ||
	    to_u64(r, x, &m->dropped_rows) != 0)
		return -1;
	if ((x = need(r, root, "sources", YAML_SEQUENCE_NODE)) == NULL ||
	    read_sources(r, m, x) != 0)
		return -1;
	if ((x = need(r, root, "features", YAML_SEQUENCE_NODE)) == NULL ||
	    read_features(r, m, x) != 0)
		return -1;
	return validate(r, m, root);
}

/* The digest line must be the last line; returns the offset where it
 * starts, or -1. */
static long
digest_line(const char *buf, size_t len)
{
	size_t end = len;
	size_t start;

	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (end - start < 8 || memcmp(buf + start, "digest: ", 8) != 0)
		return -1;
	return (long)start;
}

pt_manifest *
pt_manifest_parse(const char *buf, size_t len, const char *name, pt_err *e)
{
	pt_manifest *m;
	rd r;
	long dl;
	char want[33], got[40];
	size_t glen;
	int ok;

	memset(&r, 0, sizeof r);
	r.name = name;
	r.e = e;
	if (len == 0) {
		pt_fail(e, PT_EFORMAT, name, "empty manifest");
		return NULL;
	}
	dl = digest_line(buf, len);
	if (dl < 0) {
		pt_fail(e, PT_EFORMAT, name,
		    "no 'digest:' line at the end: not a complete manifest");
		return NULL;
	}
	/* The buffer need not be NUL-terminated: stay within len. */
	for (glen = 0; (size_t)dl + 8 + glen < len && glen < sizeof got - 1 &&
	    buf[dl + 8 + glen] != '\n' && buf[dl + 8 + glen] != '\r'; glen++)
		;
	memcpy(got, buf + dl + 8, glen);
	got[glen] = '\0';
	pt_h128_hex(pt_hash128(buf, (size_t)dl, 0), want);
	if (strcmp(want, got) != 0) {
		pt_fail(e, PT_EFORMAT, name,
		    "digest %s does not match the content (%s): the manifest was "
		    "edited or damaged", got, want);
		return NULL;
	}
	m = pt_manifest_new();
	if (m == NULL) {
		pt_fail(e, PT_ENOMEM, name, "out of memory");
		return NULL;
	}
	memcpy(m->digest, want, sizeof want);
	if (pt_ydoc_load(&r.doc, buf, len, name, e) == NULL) {
		pt_ydoc_free(&r.doc);
		pt_manifest_free(m);
		return NULL;
	}
	ok = parse_root(&r, m) == 0;
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

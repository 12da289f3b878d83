/*
 * yamlin.c: the one YAML reader (yamlin.h).
 *
 * libyaml's own loader builds the whole document before anything can be
 * checked, recursing as deep as the input nests (a file of 100,000 '['
 * took it 44 s to refuse).  This one builds the document from libyaml's
 * events itself, so nesting, anchors, further documents and repeated keys
 * are refused the moment they appear.
 */
#include "yamlin.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "xsum.h"

int
pt_ynode_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

int
pt_yfail(pt_err *e, const pt_ydoc *d, const yaml_node_t *n, pt_status code,
    const char *fmt, ...)
{
	char where[256], msg[768];
	va_list ap;

	if (n)
		snprintf(where, sizeof where, "%s:%d", d->name, pt_ynode_line(n));
	else
		snprintf(where, sizeof where, "%s", d->name);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pt_fail(e, code, where, "%s", msg);
}

/* ---- building the document from events --------------------------------- */

typedef struct frame {
	int node;   /* the open sequence or mapping */
	int key;    /* a mapping's key awaiting its value, or 0 */
} frame;

static int
key_cmp(const void *a, const void *b)
{
	const yaml_node_t *x = *(yaml_node_t *const *)a;
	const yaml_node_t *y = *(yaml_node_t *const *)b;
	size_t n = x->data.scalar.length < y->data.scalar.length ?
	    x->data.scalar.length : y->data.scalar.length;
	int c = memcmp(x->data.scalar.value, y->data.scalar.value, n);

	if (c != 0)
		return c;
	return x->data.scalar.length < y->data.scalar.length ? -1 :
	    x->data.scalar.length > y->data.scalar.length;
}

/* A mapping is complete: no key may appear in it twice. */
static int
check_keys(pt_ydoc *d, yaml_node_t *map, pt_err *e)
{
	size_t n = (size_t)(map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start);
	yaml_node_t **k;
	int rc = 0;

	if (n < 2)
		return 0;
	if ((k = malloc(n * sizeof *k)) == NULL)
		return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	for (size_t i = 0; i < n; i++)
		k[i] = yaml_document_get_node(&d->doc,
		    map->data.mapping.pairs.start[i].key);
	qsort(k, n, sizeof *k, key_cmp);
	for (size_t i = 1; i < n && rc == 0; i++)
		if (key_cmp(&k[i - 1], &k[i]) == 0) {
			/* Name the later of the two in the file. */
			yaml_node_t *a = k[i - 1], *b = k[i];
			yaml_node_t *late = a->start_mark.index > b->start_mark.index ?
			    a : b;
			rc = pt_yfail(e, d, late, PT_EFORMAT, "key '%.*s' appears "
			    "twice in one mapping", (int)(late->data.scalar.length >
			    60 ? 60 : late->data.scalar.length),
			    (const char *)late->data.scalar.value);
		}
	free(k);
	return rc;
}

/* Attaches node id to the collection on top of the stack. */
static int
attach(pt_ydoc *d, frame *top, int id, pt_err *e)
{
	yaml_node_t *parent = yaml_document_get_node(&d->doc, top->node);

	if (parent->type == YAML_SEQUENCE_NODE) {
		if (!yaml_document_append_sequence_item(&d->doc, top->node, id))
			return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		return 0;
	}
	if (top->key == 0) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, id);
		if (k->type != YAML_SCALAR_NODE)
			return pt_yfail(e, d, k, PT_EFORMAT, "a key that is not a "
			    "scalar");
		top->key = id;
		return 0;
	}
	if (!yaml_document_append_mapping_pair(&d->doc, top->node, top->key, id))
		return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	top->key = 0;
	return 0;
}

static int
parse_fail(pt_ydoc *d, yaml_parser_t *p, pt_err *e)
{
	char where[256];

	if (p->error == YAML_MEMORY_ERROR)
		return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	snprintf(where, sizeof where, "%s:%zu", d->name, p->problem_mark.line + 1);
	return pt_fail(e, PT_EFORMAT, where, "malformed YAML: %s%s%s",
	    p->problem ? p->problem : "parse error",
	    p->context ? " " : "", p->context ? p->context : "");
}

static void
mark(pt_ydoc *d, int id, const yaml_event_t *ev)
{
	yaml_node_t *n = yaml_document_get_node(&d->doc, id);

	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
}

static int
build(pt_ydoc *d, yaml_parser_t *p, pt_err *e)
{
	frame stack[PT_Y_MAXDEPTH + 1];
	int depth = 0, docs = 0, rc = -1, done = 0;
	yaml_event_t ev;

	while (!done) {
		int id = 0;
		if (!yaml_parser_parse(p, &ev))
			return parse_fail(d, p, e);
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (docs++ > 0) {
				char where[256];
				snprintf(where, sizeof where, "%s:%zu", d->name,
				    ev.start_mark.line + 1);
				pt_fail(e, PT_EFORMAT, where, "a second YAML "
				    "document: a file holds one");
				goto out;
			}
			if (!yaml_document_initialize(&d->doc, NULL, NULL, NULL, 1,
			    1)) {
				pt_fail(e, PT_ENOMEM, d->name, "out of memory");
				goto out;
			}
			d->loaded = 1;
			break;
		case YAML_ALIAS_EVENT:
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor = ev.type == YAML_ALIAS_EVENT ?
			    ev.data.alias.anchor : ev.type == YAML_SCALAR_EVENT ?
			    ev.data.scalar.anchor : ev.type ==
			    YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor :
			    ev.data.mapping_start.anchor;
			if (anchor != NULL) {
				char where[256];
				snprintf(where, sizeof where, "%s:%zu", d->name,
				    ev.start_mark.line + 1);
				pt_fail(e, PT_EFORMAT, where, "an anchor or alias "
				    "('&' or '*'): these files use none");
				goto out;
			}
			if (ev.type == YAML_SCALAR_EVENT) {
				if (ev.data.scalar.length > INT32_MAX) {
					pt_fail(e, PT_ELIMIT, d->name, "a scalar over "
					    "2 GiB");
					goto out;
				}
				/* Every accessor hands out C strings: a NUL
				 * ("\0" in a quoted scalar) would cut a value
				 * short, so two different values could read
				 * as one and nothing would write back as it
				 * was read. */
				if (memchr(ev.data.scalar.value, '\0',
				    ev.data.scalar.length) != NULL) {
					char where[256];
					snprintf(where, sizeof where, "%s:%zu",
					    d->name, ev.start_mark.line + 1);
					pt_fail(e, PT_EFORMAT, where, "a value "
					    "holding a NUL byte");
					goto out;
				}
				id = yaml_document_add_scalar(&d->doc, NULL,
				    ev.data.scalar.value, (int)ev.data.scalar.length,
				    ev.data.scalar.style);
			} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
				id = yaml_document_add_sequence(&d->doc, NULL,
				    ev.data.sequence_start.style);
			} else {
				id = yaml_document_add_mapping(&d->doc, NULL,
				    ev.data.mapping_start.style);
			}
			if (id == 0) {
				pt_fail(e, PT_ENOMEM, d->name, "out of memory");
				goto out;
			}
			mark(d, id, &ev);
			if (depth > 0 && attach(d, &stack[depth - 1], id, e) < 0)
				goto out;
			if (ev.type == YAML_SCALAR_EVENT)
				break;
			if (depth == PT_Y_MAXDEPTH) {
				char where[256];
				snprintf(where, sizeof where, "%s:%zu", d->name,
				    ev.start_mark.line + 1);
				pt_fail(e, PT_ELIMIT, where, "nested more than %d "
				    "deep: not a file these programs write",
				    PT_Y_MAXDEPTH);
				goto out;
			}
			stack[depth].node = id;
			stack[depth].key = 0;
			depth++;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			if (ev.type == YAML_MAPPING_END_EVENT && check_keys(d,
			    yaml_document_get_node(&d->doc, stack[depth].node),
			    e) < 0)
				goto out;
			break;
		case YAML_NO_EVENT:
			break;
		}
		yaml_event_delete(&ev);
	}
	return 0;
out:
	yaml_event_delete(&ev);
	return rc;
}

yaml_node_t *
pt_ydoc_load(pt_ydoc *d, const char *buf, size_t len, const char *name,
    pt_err *e)
{
	yaml_parser_t p;
	yaml_node_t *root;
	int rc;

	memset(d, 0, sizeof *d);
	d->name = name;
	if (!yaml_parser_initialize(&p)) {
		pt_fail(e, PT_ENOMEM, name, "cannot start the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	rc = build(d, &p, e);
	yaml_parser_delete(&p);
	if (rc < 0)
		return NULL;
	root = d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		pt_fail(e, PT_EFORMAT, name, "empty, or not a YAML mapping");
		return NULL;
	}
	return root;
}

void
pt_ydoc_free(pt_ydoc *d)
{
	if (d->loaded)
		yaml_document_delete(&d->doc);
	d->loaded = 0;
}

/* ---- access --------------------------------------------------------------- */

yaml_node_t *
pt_ynode_get(pt_ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;
	size_t n = strlen(key);

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, pr->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    n == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key, n) == 0)
			return yaml_document_get_node(&d->doc, pr->value);
	}
	return NULL;
}

yaml_node_t *
pt_ynode_need(pt_ydoc *d, yaml_node_t *map, const char *key, pt_err *e)
{
	yaml_node_t *n = pt_ynode_get(d, map, key);

	if (n == NULL)
		pt_yfail(e, d, map, PT_EFORMAT, "missing key '%s' (truncated "
		    "file?)", key);
	return n;
}

int
pt_ymap_only(pt_ydoc *d, yaml_node_t *map, const char *const *known,
    pt_err *e)
{
	yaml_node_pair_t *pr;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return pt_yfail(e, d, map, PT_EFORMAT, "expected a mapping");
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, pr->key);
		int i;
		for (i = 0; known[i]; i++)
			if (pt_ynode_is(k, known[i]))
				break;
		if (known[i] == NULL)
			return pt_yfail(e, d, k, PT_EFORMAT, "unknown key '%.*s'",
			    (int)(k->data.scalar.length > 60 ? 60 :
			    k->data.scalar.length), (const char *)k->data.scalar.value);
	}
	return 0;
}

/* An accessor given no node: the key was missing.  pt_ynode_need has
 * said so already (with the mapping's line) when it was the caller; else
 * say it here. */
static int
absent(const pt_ydoc *d, const char *what, pt_err *e)
{
	if (e != NULL && e->code != PT_OK)
		return -1;
	return pt_yfail(e, d, NULL, PT_EFORMAT, "missing key '%s' (truncated "
	    "file?)", what);
}

int
pt_ynode_len(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return -1;
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *
pt_ynode_item(pt_ydoc *d, yaml_node_t *seq, int i)
{
	if (i < 0 || i >= pt_ynode_len(seq))
		return NULL;
	return yaml_document_get_node(&d->doc, seq->data.sequence.items.start[i]);
}

int
pt_ynode_seq(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    pt_err *e)
{
	int len = pt_ynode_len(n);

	if (n == NULL)
		return absent(d, what, e);
	if (len < 0)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a list", what);
	if (want >= 0 && len != want)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: %d items, expected %d",
		    what, len, want);
	return len;
}

const char *
pt_ynode_text(const yaml_node_t *n, size_t *len)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	if (len != NULL)
		*len = n->data.scalar.length;
	return (const char *)n->data.scalar.value;
}

int
pt_ynode_is_null(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (n->data.scalar.length == 0 || pt_ynode_is(n, "null") ||
	    pt_ynode_is(n, "~"));
}

int
pt_ynode_is(const yaml_node_t *n, const char *s)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);

	return t != NULL && len == strlen(s) && memcmp(t, s, len) == 0;
}

/* The first bytes of a scalar for messages. */
#define SHOWN(n) (int)((n)->data.scalar.length > 40 ? 40 : \
    (n)->data.scalar.length), (const char *)(n)->data.scalar.value

char *
pt_ynode_strdup(pt_ydoc *d, yaml_node_t *n, const char *what, pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);
	char *s;

	if (n == NULL) {
		absent(d, what, e);
		return NULL;
	}
	if (t == NULL) {
		pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a string", what);
		return NULL;
	}
	if (memchr(t, '\0', len) != NULL) {
		pt_yfail(e, d, n, PT_EFORMAT, "%s: a NUL character", what);
		return NULL;
	}
	if ((s = pt_strndup(t, len)) == NULL)
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	return s;
}

int
pt_ynode_str(pt_ydoc *d, yaml_node_t *n, const char *what, char *out,
    size_t outsz, pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);

	if (n == NULL)
		return absent(d, what, e);
	if (t == NULL)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a scalar",
		    what);
	if (len >= outsz || memchr(t, '\0', len) != NULL)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: '%.*s' is not a valid "
		    "value", what, SHOWN(n));
	memcpy(out, t, len);
	out[len] = '\0';
	return 0;
}

int
pt_ynode_word(pt_ydoc *d, yaml_node_t *n, const char *what, const char *words,
    pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);
	int i = 0;

	if (n == NULL)
		return absent(d, what, e);
	if (t == NULL)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a word", what);
	for (const char *p = words; *p; i++) {
		size_t k = strcspn(p, "|");
		if (k == len && memcmp(p, t, k) == 0)
			return i;
		p += k + (p[k] == '|');
	}
	return pt_yfail(e, d, n, PT_EFORMAT, "%s: '%.*s' is not one of %s", what,
	    SHOWN(n), words);
}

int
pt_ynode_f64(pt_ydoc *d, yaml_node_t *n, const char *what, double *out,
    pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);

	if (n == NULL)
		return absent(d, what, e);
	if (t == NULL)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a number", what);
	if (pt_parse_f64_exact(t, len, out) != 0)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: '%.*s' is not a finite "
		    "number", what, SHOWN(n));
	return 0;
}

/* Decimal digits only, with a leading '-' when neg_ok. */
static int
whole(const char *t, size_t len, int neg_ok, uint64_t *mag, int *neg)
{
	uint64_t v = 0;
	size_t i = 0;

	*neg = 0;
	if (neg_ok && len > 1 && t[0] == '-') {
		*neg = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		unsigned c = (unsigned)(t[i] - '0');
		if (c > 9 || v > (UINT64_MAX - c) / 10)
			return -1;
		v = v * 10 + c;
	}
	*mag = v;
	return 0;
}

int
pt_ynode_u64(pt_ydoc *d, yaml_node_t *n, const char *what, uint64_t *out,
    pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);
	int neg;

	if (n == NULL)
		return absent(d, what, e);
	if (t == NULL || whole(t, len, 0, out, &neg) != 0)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a whole number "
		    "from 0 to 2^64-1", what);
	return 0;
}

int
pt_ynode_i64(pt_ydoc *d, yaml_node_t *n, const char *what, int64_t *out,
    pt_err *e)
{
	return pt_ynode_int(d, n, what, INT64_MIN + 1, INT64_MAX, out, e);
}

int
pt_ynode_int(pt_ydoc *d, yaml_node_t *n, const char *what, int64_t lo,
    int64_t hi, int64_t *out, pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);
	uint64_t mag;
	int neg;

	if (n == NULL)
		return absent(d, what, e);
	if (t == NULL || whole(t, len, lo < 0, &mag, &neg) != 0 ||
	    mag > (uint64_t)INT64_MAX)
		goto bad;
	*out = neg ? -(int64_t)mag : (int64_t)mag;
	if (*out < lo || *out > hi)
		goto bad;
	return 0;
bad:
	return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected a whole number from "
	    "%" PRId64 " to %" PRId64, what, lo, hi);
}

int
pt_ynode_digest(pt_ydoc *d, yaml_node_t *n, const char *what, int none_ok,
    char out[33], pt_err *e)
{
	size_t len;
	const char *t = pt_ynode_text(n, &len);

	if (n == NULL)
		return absent(d, what, e);
	if (t != NULL && none_ok && pt_ynode_is(n, "none")) {
		out[0] = '\0';
		return 0;
	}
	if (t == NULL || len != 32 || strspn(t, "0123456789abcdef") < 32)
		return pt_yfail(e, d, n, PT_EFORMAT, "%s: expected 32 hex "
		    "digits%s", what, none_ok ? " or none" : "");
	memcpy(out, t, 32);
	out[32] = '\0';
	return 0;
}

/* A list's items read by item into an array of elements of size bytes
 * (one spare), its length in *count: the array, or NULL with e set. */
static void *
ynode_list(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, size_t size, int (*item)(pt_ydoc *, yaml_node_t *,
    const char *, void *, pt_err *), pt_err *e)
{
	int len = pt_ynode_seq(d, n, what, want, e);
	char *v;

	if (len < 0)
		return NULL;
	if (count)
		*count = len;
	if ((v = malloc(((size_t)len + 1) * size)) == NULL) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		return NULL;
	}
	for (int i = 0; i < len; i++)
		if (item(d, pt_ynode_item(d, n, i), what, v + (size_t)i * size,
		    e) < 0) {
			free(v);
			return NULL;
		}
	return v;
}

static int
f64_item(pt_ydoc *d, yaml_node_t *n, const char *what, void *out, pt_err *e)
{
	return pt_ynode_f64(d, n, what, out, e);
}

static int
i64_item(pt_ydoc *d, yaml_node_t *n, const char *what, void *out, pt_err *e)
{
	return pt_ynode_i64(d, n, what, out, e);
}

static int
u64_item(pt_ydoc *d, yaml_node_t *n, const char *what, void *out, pt_err *e)
{
	return pt_ynode_u64(d, n, what, out, e);
}

double *
pt_ynode_f64s(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, pt_err *e)
{
	return ynode_list(d, n, what, want, count, sizeof(double), f64_item, e);
}

int64_t *
pt_ynode_i64s(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, pt_err *e)
{
	return ynode_list(d, n, what, want, count, sizeof(int64_t), i64_item,
	    e);
}

uint64_t *
pt_ynode_u64s(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, pt_err *e)
{
	return ynode_list(d, n, what, want, count, sizeof(uint64_t), u64_item,
	    e);
}

char **
pt_ynode_strs(pt_ydoc *d, yaml_node_t *n, const char *what, int *count,
    pt_err *e)
{
	int len = pt_ynode_seq(d, n, what, -1, e);
	char **v;

	if (len < 0)
		return NULL;
	if ((v = calloc((size_t)len + 1, sizeof *v)) == NULL) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		return NULL;
	}
	for (int i = 0; i < len; i++)
		if ((v[i] = pt_ynode_strdup(d, pt_ynode_item(d, n, i), what,
		    e)) == NULL) {
			pt_strs_free(v, len);
			return NULL;
		}
	if (count)
		*count = len;
	return v;
}

int
pt_y_digest_check(const char *buf, size_t len, const char *name,
    const char *what, char out[33], pt_err *e)
{
	size_t p;
	char hex[33];

	if (len < 42 || buf[len - 1] != '\n')
		return pt_fail(e, PT_EFORMAT, name, "no final digest line "
		    "(truncated, or not a %s)", what);
	for (p = len - 1; p > 0 && buf[p - 1] != '\n'; p--)
		;
	if (len - p != 41 || memcmp(buf + p, "digest: ", 8) != 0)
		return pt_fail(e, PT_EFORMAT, name, "no final digest line "
		    "(truncated, or not a %s)", what);
	pt_h128_hex(pt_hash128(buf, p, 0), hex);
	if (memcmp(hex, buf + p + 8, 32) != 0)
		return pt_fail(e, PT_ECORRUPT, name, "digest does not match the "
		    "content (the %s was edited or damaged)", what);
	if (out != NULL)
		memcpy(out, hex, 33);
	return 0;
}

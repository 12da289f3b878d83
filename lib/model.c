/*
 * model.c: the shared pieces of policy-score's model files: fixed-format
 * text output and a thin, strict walk over libyaml documents.
 */
#include "model.h"
#include "xsum.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

static int
mbuf_reserve(pt_mbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->err)
		return -1;
	if (b->n + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->n + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
pt_mbuf_printf(pt_mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k < 0 || mbuf_reserve(b, (size_t)k) < 0) {
		b->err = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

void
pt_mbuf_f64(pt_mbuf *b, double x)
{
	char t[32];

	pt_fmt_f64(t, x);
	pt_mbuf_printf(b, "%s", t);
}

void
pt_mbuf_f64s(pt_mbuf *b, const char *key, const double *v, int n)
{
	int i;

	pt_mbuf_printf(b, "%s: [", key);
	for (i = 0; i < n; i++) {
		if (i)
			pt_mbuf_printf(b, ", ");
		pt_mbuf_f64(b, v[i]);
	}
	pt_mbuf_printf(b, "]\n");
}

/* Names are written double-quoted when they hold anything YAML might read
 * otherwise. */
static void
mbuf_name(pt_mbuf *b, const char *s)
{
	const char *p;
	int plain = *s != '\0' && strchr("-?:,[]{}#&*!|>'\"%@` ", *s) == NULL;

	for (p = s; plain && *p; p++)
		if (strchr(",[]{}#:\"'\\", *p) || (unsigned char)*p < 0x20)
			plain = 0;
	if (plain) {
		pt_mbuf_printf(b, "%s", s);
		return;
	}
	pt_mbuf_printf(b, "\"");
	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			pt_mbuf_printf(b, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			pt_mbuf_printf(b, "\\x%02x", (unsigned char)*p);
		else
			pt_mbuf_printf(b, "%c", *p);
	}
	pt_mbuf_printf(b, "\"");
}

void
pt_mbuf_strs(pt_mbuf *b, const char *key, char *const *v, int n)
{
	int i;

	pt_mbuf_printf(b, "%s: [", key);
	for (i = 0; i < n; i++) {
		if (i)
			pt_mbuf_printf(b, ", ");
		mbuf_name(b, v[i]);
	}
	pt_mbuf_printf(b, "]\n");
}

void
pt_mhead_write(pt_mbuf *b, const char *format, const char *manifest,
    int nfeatures, char *const *features, int nvocab, char *const *vocab)
{
	pt_mbuf_printf(b, "format: %s\nversion: %d\nmanifest: %s\n", format,
	    PT_MODEL_VERSION, manifest && *manifest ? manifest : "none");
	pt_mbuf_strs(b, "features", features, nfeatures);
	pt_mbuf_strs(b, "vocab", vocab, nvocab);
}

void
pt_mbuf_digest(pt_mbuf *b, char hex[33])
{
	char h[33];

	if (b->err)
		return;
	pt_h128_hex(pt_hash128(b->p, b->n, 0), h);
	pt_mbuf_printf(b, "digest: %s\n", h);
	if (hex != NULL)
		memcpy(hex, h, 33);
}

int
pt_mbuf_done(pt_mbuf *b, char hex[33], char **out, size_t *len, pt_err *e)
{
	pt_mbuf_digest(b, hex);
	if (b->err) {
		free(b->p);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	*out = b->p;
	*len = b->n;
	return 0;
}

int
pt_digest_check(const char *buf, size_t len, const char *name,
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
		    "content (the %s was edited or corrupted)", what);
	if (out != NULL)
		memcpy(out, hex, 33);
	return 0;
}

void
pt_mhead_free(pt_mhead *h)
{
	pt_strs_free(h->features, h->nfeatures);
	pt_strs_free(h->vocab, h->nvocab);
	h->features = h->vocab = NULL;
	h->nfeatures = h->nvocab = 0;
}

yaml_node_t *
pt_mfile_load(pt_ydoc *d, pt_mhead *h, const char *buf, size_t len,
    const char *name, const char *what, const char *const *formats,
    char digest[33], pt_err *e)
{
	yaml_node_t *root;

	memset(d, 0, sizeof *d);
	memset(h, 0, sizeof *h);
	if (pt_digest_check(buf, len, name, what, digest, e) < 0 ||
	    (root = pt_ydoc_load(d, buf, len, name, e)) == NULL ||
	    pt_mhead_read(d, root, formats, h, e) < 0)
		return NULL;
	return root;
}

int
pt_ynode_line(yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

/* Formats "name:line" as where. */
static int
yfailv(pt_err *e, pt_ydoc *d, yaml_node_t *n, pt_status code,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static int
yfailv(pt_err *e, pt_ydoc *d, yaml_node_t *n, pt_status code,
    const char *fmt, va_list ap)
{
	char where[256], msg[768];

	if (n)
		snprintf(where, sizeof where, "%s:%d", d->name, pt_ynode_line(n));
	else
		snprintf(where, sizeof where, "%s", d->name);
	vsnprintf(msg, sizeof msg, fmt, ap);
	return pt_fail(e, code, where, "%s", msg);
}

#define YFAIL(e, d, n, code, ...) yfail_e(e, d, n, code, __VA_ARGS__)
static int
yfail_e(pt_err *e, pt_ydoc *d, yaml_node_t *n, pt_status code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int
yfail_e(pt_err *e, pt_ydoc *d, yaml_node_t *n, pt_status code,
    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = yfailv(e, d, n, code, fmt, ap);
	va_end(ap);
	return r;
}

yaml_node_t *
pt_ydoc_load(pt_ydoc *d, const char *buf, size_t len, const char *name,
    pt_err *e)
{
	yaml_parser_t p;
	yaml_node_t *root;
	char where[256];

	memset(d, 0, sizeof *d);
	d->name = name;
	if (!yaml_parser_initialize(&p)) {
		pt_fail(e, PT_ENOMEM, name, "cannot start the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d->doc)) {
		snprintf(where, sizeof where, "%s:%zu", name,
		    p.problem_mark.line + 1);
		pt_fail(e, PT_EFORMAT, where, "malformed YAML: %s",
		    p.problem ? p.problem : "parse error");
		yaml_parser_delete(&p);
		return NULL;
	}
	yaml_parser_delete(&p);
	d->loaded = 1;
	root = yaml_document_get_root_node(&d->doc);
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

yaml_node_t *
pt_ynode_get(pt_ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pr;
	yaml_node_t *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(&d->doc, pr->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strlen(key) == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(&d->doc, pr->value);
	}
	return NULL;
}

yaml_node_t *
pt_ynode_need(pt_ydoc *d, yaml_node_t *map, const char *key, pt_err *e)
{
	yaml_node_t *n = pt_ynode_get(d, map, key);

	if (n == NULL)
		YFAIL(e, d, map, PT_EFORMAT, "missing key '%s' (truncated "
		    "file?)", key);
	return n;
}

int
pt_ynode_len(yaml_node_t *n)
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
pt_ynode_str(pt_ydoc *d, yaml_node_t *n, const char *what, char *out,
    size_t outsz, pt_err *e)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: expected a scalar", what);
	if (n->data.scalar.length >= outsz)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: too long", what);
	memcpy(out, n->data.scalar.value, n->data.scalar.length);
	out[n->data.scalar.length] = '\0';
	return 0;
}

int
pt_ynode_f64(pt_ydoc *d, yaml_node_t *n, const char *what, double *out,
    pt_err *e)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: expected a number", what);
	if (pt_parse_f64((const char *)n->data.scalar.value,
	    n->data.scalar.length, out) < 0)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: not a number: '%.*s'",
		    what, (int)(n->data.scalar.length > 40 ? 40 :
		    n->data.scalar.length), (const char *)n->data.scalar.value);
	return 0;
}

int
pt_ynode_i64(pt_ydoc *d, yaml_node_t *n, const char *what, int64_t *out,
    pt_err *e)
{
	char t[32], *end;
	long long v;

	if (n == NULL || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.length == 0 || n->data.scalar.length >= sizeof t)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: expected an integer",
		    what);
	memcpy(t, n->data.scalar.value, n->data.scalar.length);
	t[n->data.scalar.length] = '\0';
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno || *end != '\0')
		return YFAIL(e, d, n, PT_EFORMAT, "%s: not an integer: '%s'",
		    what, t);
	*out = v;
	return 0;
}

static int
seq_check(pt_ydoc *d, yaml_node_t *n, const char *what, int want, int *count,
    pt_err *e)
{
	int len = pt_ynode_len(n);

	if (len < 0)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: expected a sequence",
		    what);
	if (want >= 0 && len != want)
		return YFAIL(e, d, n, PT_EFORMAT, "%s: %d items, expected %d",
		    what, len, want);
	if (count)
		*count = len;
	return len;
}

double *
pt_ynode_f64s(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, pt_err *e)
{
	int len, i;
	double *v;

	if ((len = seq_check(d, n, what, want, count, e)) < 0)
		return NULL;
	if ((v = malloc(((size_t)len + 1) * sizeof *v)) == NULL) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++)
		if (pt_ynode_f64(d, pt_ynode_item(d, n, i), what, &v[i], e) < 0) {
			free(v);
			return NULL;
		}
	return v;
}

int64_t *
pt_ynode_i64s(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, pt_err *e)
{
	int len, i;
	int64_t *v;

	if ((len = seq_check(d, n, what, want, count, e)) < 0)
		return NULL;
	if ((v = malloc(((size_t)len + 1) * sizeof *v)) == NULL) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++)
		if (pt_ynode_i64(d, pt_ynode_item(d, n, i), what, &v[i], e) < 0) {
			free(v);
			return NULL;
		}
	return v;
}

char **
pt_ynode_strs(pt_ydoc *d, yaml_node_t *n, const char *what, int *count,
    pt_err *e)
{
	int len, i;
	char **v;
	yaml_node_t *it;

	if ((len = seq_check(d, n, what, -1, count, e)) < 0)
		return NULL;
	if ((v = calloc((size_t)len + 1, sizeof *v)) == NULL) {
		pt_fail(e, PT_ENOMEM, d->name, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++) {
		it = pt_ynode_item(d, n, i);
		if (it == NULL || it->type != YAML_SCALAR_NODE) {
			YFAIL(e, d, it, PT_EFORMAT, "%s: expected names", what);
			pt_strs_free(v, len);
			return NULL;
		}
		v[i] = pt_strndup((const char *)it->data.scalar.value,
		    it->data.scalar.length);
		if (v[i] == NULL) {
			pt_strs_free(v, len);
			pt_fail(e, PT_ENOMEM, d->name, "out of memory");
			return NULL;
		}
	}
	return v;
}

int
pt_mhead_read(pt_ydoc *d, yaml_node_t *root, const char *const *formats,
    pt_mhead *h, pt_err *e)
{
	yaml_node_t *n;
	int64_t v;
	int i, j;

	memset(h, 0, sizeof *h);
	if ((n = pt_ynode_need(d, root, "format", e)) == NULL ||
	    pt_ynode_str(d, n, "format", h->format, sizeof h->format, e) < 0)
		return -1;
	for (i = 0; formats[i]; i++)
		if (strcmp(formats[i], h->format) == 0)
			break;
	if (formats[i] == NULL)
		return YFAIL(e, d, n, PT_EMISMATCH, "format '%s' is not %s%s",
		    h->format, formats[0], formats[1] ? " (or a kin)" : "");
	if ((n = pt_ynode_need(d, root, "version", e)) == NULL ||
	    pt_ynode_i64(d, n, "version", &v, e) < 0)
		return -1;
	if (v != PT_MODEL_VERSION)
		return YFAIL(e, d, n, PT_EMISMATCH, "version %" PRId64 " not "
		    "supported (this program reads version %d)", v,
		    PT_MODEL_VERSION);
	h->version = (int)v;
	if ((n = pt_ynode_need(d, root, "manifest", e)) == NULL ||
	    pt_ynode_str(d, n, "manifest", h->manifest, sizeof h->manifest,
	    e) < 0)
		return -1;
	if (strcmp(h->manifest, "none") == 0)
		h->manifest[0] = '\0';
	else if (strlen(h->manifest) != 32 ||
	    strspn(h->manifest, "0123456789abcdef") != 32)
		return YFAIL(e, d, n, PT_EFORMAT, "manifest: expected 32 hex "
		    "digits or none");
	if ((n = pt_ynode_need(d, root, "features", e)) == NULL ||
	    (h->features = pt_ynode_strs(d, n, "features", &h->nfeatures,
	    e)) == NULL)
		goto fail;
	if ((n = pt_ynode_need(d, root, "vocab", e)) == NULL ||
	    (h->vocab = pt_ynode_strs(d, n, "vocab", &h->nvocab, e)) == NULL)
		goto fail;
	if (h->nvocab < 1) {
		YFAIL(e, d, n, PT_EFORMAT, "vocab: empty");
		goto fail;
	}
	for (i = 0; i < h->nvocab; i++)
		for (j = 0; j < i; j++)
			if (strcmp(h->vocab[i], h->vocab[j]) == 0) {
				YFAIL(e, d, n, PT_EFORMAT, "vocab: '%s' twice",
				    h->vocab[i]);
				goto fail;
			}
	return 0;
fail:
	pt_mhead_free(h);
	return -1;
}

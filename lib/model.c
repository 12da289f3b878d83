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
	if (pt_y_digest_check(buf, len, name, what, digest, e) < 0 ||
	    (root = pt_ydoc_load(d, buf, len, name, e)) == NULL ||
	    pt_mhead_read(d, root, formats, h, e) < 0)
		return NULL;
	return root;
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
		return pt_yfail(e, d, n, PT_EMISMATCH, "format '%s' is not %s%s",
		    h->format, formats[0], formats[1] ? " (or a kin)" : "");
	if ((n = pt_ynode_need(d, root, "version", e)) == NULL ||
	    pt_ynode_i64(d, n, "version", &v, e) < 0)
		return -1;
	if (v != PT_MODEL_VERSION)
		return pt_yfail(e, d, n, PT_EMISMATCH, "version %" PRId64 " not "
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
		return pt_yfail(e, d, n, PT_EFORMAT, "manifest: expected 32 hex "
		    "digits or none");
	if ((n = pt_ynode_need(d, root, "features", e)) == NULL ||
	    (h->features = pt_ynode_strs(d, n, "features", &h->nfeatures,
	    e)) == NULL)
		goto fail;
	if ((n = pt_ynode_need(d, root, "vocab", e)) == NULL ||
	    (h->vocab = pt_ynode_strs(d, n, "vocab", &h->nvocab, e)) == NULL)
		goto fail;
	if (h->nvocab < 1) {
		pt_yfail(e, d, n, PT_EFORMAT, "vocab: empty");
		goto fail;
	}
	for (i = 0; i < h->nvocab; i++)
		for (j = 0; j < i; j++)
			if (strcmp(h->vocab[i], h->vocab[j]) == 0) {
				pt_yfail(e, d, n, PT_EFORMAT, "vocab: '%s' twice",
				    h->vocab[i]);
				goto fail;
			}
	return 0;
fail:
	pt_mhead_free(h);
	return -1;
}

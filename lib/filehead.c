/*
 * filehead.c: the header of model, forest and tree files (filehead.h).
 */
#include "filehead.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "yamlout.h"

void
pt_fhead_write(pt_buf *b, const char *format, const char *manifest,
    int nfeatures, char *const *features, int nvocab, char *const *vocab)
{
	pt_buf_printf(b, "format: %s\nversion: %d\nmanifest: %s\n", format,
	    PT_FILE_VERSION, manifest && *manifest ? manifest : "none");
	pt_y_key(b, 0, "features");
	pt_y_strs(b, features, nfeatures, PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_putc(b, '\n');
	pt_y_key(b, 0, "vocab");
	pt_y_strs(b, vocab, nvocab, PT_Y_PLAIN_WHEN_SAFE);
	pt_buf_putc(b, '\n');
}

void
pt_fhead_free(pt_fhead *h)
{
	pt_strs_free(h->features, h->nfeatures);
	pt_strs_free(h->vocab, h->nvocab);
	h->features = h->vocab = NULL;
	h->nfeatures = h->nvocab = 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
unique(pt_ydoc *d, yaml_node_t *n, char **v, int count, const char *what,
    pt_err *e)
{
	char **s;
	int rc = 0;

	if (count < 2)
		return 0;
	if ((s = malloc((size_t)count * sizeof *s)) == NULL)
		return pt_fail(e, PT_ENOMEM, d->name, "out of memory");
	memcpy(s, v, (size_t)count * sizeof *s);
	qsort(s, (size_t)count, sizeof *s, cmp_str);
	for (int i = 1; i < count && rc == 0; i++)
		if (strcmp(s[i - 1], s[i]) == 0)
			rc = pt_yfail(e, d, n, PT_EFORMAT, "%s: '%s' twice", what,
			    s[i]);
	free(s);
	return rc;
}

static int
read_head(pt_ydoc *d, yaml_node_t *root, const char *const *formats,
    pt_fhead *h, pt_err *e)
{
	yaml_node_t *n;
	int64_t v;
	int i;

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
	if (v != PT_FILE_VERSION)
		return pt_yfail(e, d, n, PT_EMISMATCH, "version %" PRId64 " not "
		    "supported (this program reads version %d)", v,
		    PT_FILE_VERSION);
	h->version = (int)v;
	if ((n = pt_ynode_need(d, root, "manifest", e)) == NULL ||
	    pt_ynode_digest(d, n, "manifest", 1, h->manifest, e) < 0)
		return -1;
	if ((n = pt_ynode_need(d, root, "features", e)) == NULL ||
	    (h->features = pt_ynode_strs(d, n, "features", &h->nfeatures,
	    e)) == NULL || unique(d, n, h->features, h->nfeatures, "features",
	    e) < 0)
		return -1;
	if ((n = pt_ynode_need(d, root, "vocab", e)) == NULL ||
	    (h->vocab = pt_ynode_strs(d, n, "vocab", &h->nvocab, e)) == NULL ||
	    unique(d, n, h->vocab, h->nvocab, "vocab", e) < 0)
		return -1;
	if (h->nvocab < 1)
		return pt_yfail(e, d, n, PT_EFORMAT, "vocab: empty");
	return 0;
}

yaml_node_t *
pt_fhead_load(pt_ydoc *d, pt_fhead *h, const char *buf, size_t len,
    const char *name, const char *what, const char *const *formats,
    char digest[33], pt_err *e)
{
	yaml_node_t *root;

	memset(d, 0, sizeof *d);
	memset(h, 0, sizeof *h);
	if (pt_y_digest_check(buf, len, name, what, digest, e) < 0 ||
	    (root = pt_ydoc_load(d, buf, len, name, e)) == NULL)
		return NULL;
	if (read_head(d, root, formats, h, e) < 0) {
		pt_fhead_free(h);
		return NULL;
	}
	return root;
}

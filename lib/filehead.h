/*
 * filehead.h: the header that model, forest and tree files share
 * (policy-model(5), policy-tree(5)): format, version, the digest of the
 * manifest they were made under, the feature order and the vocabulary;
 * and the final digest line that seals each of them.
 */
#ifndef PT_FILEHEAD_H
#define PT_FILEHEAD_H

#include "buf.h"
#include "pt.h"
#include "yamlin.h"

#define PT_FILE_VERSION 1

typedef struct pt_fhead {
	char format[32];
	int version;
	char manifest[33];   /* 32 hex digits, or "" for "none" */
	int nfeatures;
	char **features;
	int nvocab;
	char **vocab;
} pt_fhead;

/* Writes the header lines (format, version, manifest, features, vocab). */
void pt_fhead_write(pt_buf *b, const char *format, const char *manifest,
    int nfeatures, char *const *features, int nvocab, char *const *vocab);
void pt_fhead_free(pt_fhead *h);

/* The header's keys and the final digest line's, for a reader's
 * pt_ymap_only list. */
#define PT_FHEAD_KEYS "format", "version", "manifest", "features", "vocab", \
	"digest"

/* Opens a model, forest or tree file: checks its final digest line
 * (digest, when not NULL, gets it), parses the YAML and reads the header
 * (formats: the accepted format names, NULL-terminated).  d and h are set
 * so that pt_ydoc_free and pt_fhead_free are safe whatever happens.
 * Returns the root mapping, or NULL (e says why). */
yaml_node_t *pt_fhead_load(pt_ydoc *d, pt_fhead *h, const char *buf,
    size_t len, const char *name, const char *what,
    const char *const *formats, char digest[33], pt_err *e);

#endif

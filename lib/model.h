/*
 * model.h: what the model files of policy-score share (man/policy-model.5):
 * the common header (format, version, manifest digest, feature order,
 * vocabulary), a growable text buffer for writing them with fixed
 * formatting, and small helpers to walk a libyaml document.
 */
#ifndef PT_MODEL_H
#define PT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "pt.h"
#include "yamlin.h"

#define PT_MODEL_VERSION 1

/* A text buffer; on allocation failure it sets err and drops further
 * writes, so writers check once at the end. */
typedef struct pt_mbuf {
	char *p;
	size_t n, cap;
	int err;
} pt_mbuf;

void pt_mbuf_printf(pt_mbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pt_mbuf_f64(pt_mbuf *b, double x);             /* round-trip text */
/* "key: [a, b, c]\n" of doubles / of strings / of ints. */
void pt_mbuf_f64s(pt_mbuf *b, const char *key, const double *v, int n);
void pt_mbuf_strs(pt_mbuf *b, const char *key, char *const *v, int n);

/* Ends a file as manifests, models, forests and trees end: a line
 * "digest: HEX", the XXH3-128 of every byte before it.  hex, when not
 * NULL, gets the digest. */
void pt_mbuf_digest(pt_mbuf *b, char hex[33]);
/* Ends a file with that line (hex as for pt_mbuf_digest) and hands the
 * text over: *out, malloc'd, for the caller to free, and *len.  Returns 0,
 * or -1 (PT_ENOMEM, the buffer freed) when a write to b failed. */
int pt_mbuf_done(pt_mbuf *b, char hex[33], char **out, size_t *len,
    pt_err *e);

/* The common header of every model file. */
typedef struct pt_mhead {
	char format[32];
	int version;
	char manifest[33];   /* 32 hex digits, or "" for "none" */
	int nfeatures;
	char **features;
	int nvocab;
	char **vocab;
} pt_mhead;

void pt_mhead_free(pt_mhead *h);
void pt_mhead_write(pt_mbuf *b, const char *format, const char *manifest,
    int nfeatures, char *const *features, int nvocab, char *const *vocab);

/* Opens a model, partial, forest or tree file: checks its final digest
 * line (pt_digest_check; digest, when not NULL, gets it), parses the YAML
 * and reads the common header (formats: the accepted format names).  d
 * and h are set so that pt_ydoc_free and pt_mhead_free are safe whatever
 * happens.  Returns the root mapping, or NULL (e says why). */
yaml_node_t *pt_mfile_load(pt_ydoc *d, pt_mhead *h, const char *buf,
    size_t len, const char *name, const char *what,
    const char *const *formats, char digest[33], pt_err *e);
/* Reads the common header; accepts only the formats in the NULL-terminated
 * list, and version PT_MODEL_VERSION. */
int pt_mhead_read(pt_ydoc *d, yaml_node_t *root, const char *const *formats,
    pt_mhead *h, pt_err *e);

#endif

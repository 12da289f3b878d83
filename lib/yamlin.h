/*
 * yamlin.h: the one YAML reader.  Every file the tools read back
 * (manifests, models, forests, trees, partial headers, signatures) goes
 * through pt_ydoc_load and these accessors, so each is held to the same
 * rules: one document, a mapping at the root, nesting at most
 * PT_Y_MAXDEPTH deep (checked while parsing, before anything is built, so
 * a hostile file is refused at once), no anchors or aliases, no key twice
 * in a mapping, and no key a reader did not ask for (pt_ymap_only).
 * Errors name the file and the line: "m.yaml:12: ...".
 */
#ifndef PT_YAMLIN_H
#define PT_YAMLIN_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "pt.h"

#define PT_Y_MAXDEPTH 32

typedef struct pt_ydoc {
	yaml_document_t doc;
	const char *name;  /* for messages; not owned */
	int loaded;
} pt_ydoc;

/* Parses buf[0..len) (need not end in NUL).  Returns the root mapping,
 * or NULL with e set.  pt_ydoc_free is safe after either. */
yaml_node_t *pt_ydoc_load(pt_ydoc *d, const char *buf, size_t len,
    const char *name, pt_err *e);
void pt_ydoc_free(pt_ydoc *d);

/* Fails (returns -1) with where "name:line" of node n (the file alone
 * when n is NULL). */
int pt_yfail(pt_err *e, const pt_ydoc *d, const yaml_node_t *n,
    pt_status code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int pt_ynode_line(const yaml_node_t *n);

/* Mappings.  get: the value of key or NULL; need: fails when absent. */
yaml_node_t *pt_ynode_get(pt_ydoc *d, yaml_node_t *map, const char *key);
yaml_node_t *pt_ynode_need(pt_ydoc *d, yaml_node_t *map, const char *key,
    pt_err *e);
/* Fails on a key of map that is not in known (NULL-terminated): a file
 * with a key no program reads is not one this program wrote. */
int pt_ymap_only(pt_ydoc *d, yaml_node_t *map, const char *const *known,
    pt_err *e);
/* Sequences: length and item, -1 / NULL when n is not a sequence. */
int pt_ynode_len(const yaml_node_t *n);
yaml_node_t *pt_ynode_item(pt_ydoc *d, yaml_node_t *seq, int i);
/* Fails unless n is a sequence (of want items when want >= 0). */
int pt_ynode_seq(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    pt_err *e);

/* Scalars.  Each fails (e names what and the line) unless n is a scalar
 * of the kind asked for. */
/* The text of a scalar and its length, or NULL. */
const char *pt_ynode_text(const yaml_node_t *n, size_t *len);
/* A plain null: "null", "~" or nothing, unquoted. */
int pt_ynode_is_null(const yaml_node_t *n);
/* Whether scalar n is exactly s. */
int pt_ynode_is(const yaml_node_t *n, const char *s);
/* A copy of any length (labels: no limit but the file's).  Caller frees. */
char *pt_ynode_strdup(pt_ydoc *d, yaml_node_t *n, const char *what,
    pt_err *e);
/* Into a fixed buffer, for short words and digests: too long fails. */
int pt_ynode_str(pt_ydoc *d, yaml_node_t *n, const char *what, char *out,
    size_t outsz, pt_err *e);
/* One of the words in "a|b|c": its index. */
int pt_ynode_word(pt_ydoc *d, yaml_node_t *n, const char *what,
    const char *words, pt_err *e);
/* A finite number (policy-prep's grammar, no inf or nan). */
int pt_ynode_f64(pt_ydoc *d, yaml_node_t *n, const char *what, double *out,
    pt_err *e);
/* Whole numbers: decimal digits (a leading '-' for i64), in range. */
int pt_ynode_i64(pt_ydoc *d, yaml_node_t *n, const char *what, int64_t *out,
    pt_err *e);
int pt_ynode_u64(pt_ydoc *d, yaml_node_t *n, const char *what, uint64_t *out,
    pt_err *e);
/* A whole number in [lo, hi]. */
int pt_ynode_int(pt_ydoc *d, yaml_node_t *n, const char *what, int64_t lo,
    int64_t hi, int64_t *out, pt_err *e);
/* A 32-digit lowercase hex digest into out[33]; with none_ok, "none" too
 * (out then ""). */
int pt_ynode_digest(pt_ydoc *d, yaml_node_t *n, const char *what,
    int none_ok, char out[33], pt_err *e);

/* Sequences of scalars (want < 0: any length; *count set when not NULL).
 * Caller frees (pt_strs_free for strings). */
double *pt_ynode_f64s(pt_ydoc *d, yaml_node_t *n, const char *what, int want,
    int *count, pt_err *e);
int64_t *pt_ynode_i64s(pt_ydoc *d, yaml_node_t *n, const char *what,
    int want, int *count, pt_err *e);
uint64_t *pt_ynode_u64s(pt_ydoc *d, yaml_node_t *n, const char *what,
    int want, int *count, pt_err *e);
char **pt_ynode_strs(pt_ydoc *d, yaml_node_t *n, const char *what,
    int *count, pt_err *e);

/* Checks that buf ends with the line pt_y_digest writes, matching the
 * bytes before it; what names the kind of file ("model", "tree").  out,
 * when not NULL, gets the digest. */
int pt_y_digest_check(const char *buf, size_t len, const char *name,
    const char *what, char out[33], pt_err *e);

#endif

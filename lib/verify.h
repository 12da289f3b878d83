/*
 * verify.h: contract signatures (policy-signature(5)), their comparison,
 * and drift of new rows against the training bins of a manifest.
 *
 * A signature holds one 128-bit digest per contract component.  Components
 * over rows are multiset hashes (pt_mset): the sum modulo 2^128 of one
 * XXH3-128 per row, so they do not depend on the order or partitioning of
 * the rows and change when any bit of any value does.
 */
#ifndef PT_VERIFY_H
#define PT_VERIFY_H

#include <stdint.h>

#include "frame.h"
#include "manifest.h"
#include "pt.h"
#include "xsum.h"

#define PT_SIG_VERSION 1

/* Components, in the order a signature file lists them.  Never renumber. */
typedef enum pt_sigcomp {
	PT_SIG_MANIFEST = 0,   /* the manifest digest: every locked input */
	PT_SIG_FEATURES,       /* feature order: names in order */
	PT_SIG_VOCABULARY,     /* treatment vocabulary in order, and the control */
	PT_SIG_PREPROCESSING,  /* columns, roles, missing tokens and policies, levels */
	PT_SIG_BOUNDARIES,     /* split boundaries of every feature */
	PT_SIG_MODEL,          /* the scoring model file */
	PT_SIG_ROWS,           /* multiset of rows (their input columns) */
	PT_SIG_SCORES,         /* multiset of (row, score vector) */
	PT_SIG_TREE,           /* the split decisions: the tree file */
	PT_SIG_POLICY,         /* multiset of (row, chosen action) */
	PT_SIG_N
} pt_sigcomp;

typedef struct pt_sig {
	int have[PT_SIG_N];
	pt_h128 h[PT_SIG_N];
	uint64_t rows;         /* rows signed (0 when no frames) */
	int have_rows;
} pt_sig;

const char *pt_sig_name(pt_sigcomp c); /* "manifest", "feature_order", ... */

void pt_sig_init(pt_sig *s);
/* Components of a manifest: manifest, features, vocabulary,
 * preprocessing, boundaries. */
void pt_sig_manifest(pt_sig *s, const pt_manifest *m);
/* A model or tree file: the hash of its bytes (they are written
 * deterministically, so equal content is equal bytes). */
void pt_sig_file(pt_sig *s, pt_sigcomp c, const void *buf, size_t len);
/* Signs a model (c PT_SIG_MODEL) or tree (PT_SIG_TREE) file, after
 * loading it as the programs would (format, structure, digest line); with
 * m, the file must have been made under that manifest. */
int pt_sig_load_file(pt_sig *s, pt_sigcomp c, const char *buf, size_t len,
    const char *name, const pt_manifest *m, pt_err *e);

/* Frames: feed every stream, then finish.  Streams with one schema add up
 * (partitions); streams with different schemas (say scored frames and
 * frames with actions) must agree on the rows they share.  All must be of
 * one manifest (and of m's, when m is not NULL). */
typedef struct pt_signer pt_signer;
pt_signer *pt_signer_new(const pt_manifest *m, pt_err *e);
int pt_signer_feed(pt_signer *g, pt_reader *r, const char *name, pt_err *e);
int pt_signer_finish(pt_signer *g, pt_sig *s, pt_err *e);
uint64_t pt_signer_bytes(const pt_signer *g);
/* Signs each frame with n threads (the caller's and n - 1 more, at most
 * 16; default 1): any n gives the same digests.  Before the first feed. */
void pt_signer_threads(pt_signer *g, int n);
/* Calls fn (rows and bytes so far, over all streams) after every frame. */
void pt_signer_progress(pt_signer *g, pt_progress_fn fn);
void pt_signer_free(pt_signer *g);

/* The signature file: writes to a malloc'd buffer; parses one. */
int pt_sig_write(const pt_sig *s, char **out, size_t *len, pt_err *e);
int pt_sig_parse(pt_sig *s, const char *buf, size_t len, const char *name,
    pt_err *e);

/* Comparison of two signatures, component by component. */
typedef enum pt_cmp { PT_CMP_SAME, PT_CMP_DRIFTED, PT_CMP_ONLY_A,
	PT_CMP_ONLY_B, PT_CMP_ABSENT } pt_cmp;
pt_cmp pt_sig_compare(const pt_sig *a, const pt_sig *b, pt_sigcomp c);

/* Drift: Population Stability Index of each feature of new frames against
 * the manifest's training bin counts (boundaries' bins plus the missing
 * bin).  Empty bins are smoothed by adding 0.5 to every count on both
 * sides, so the index stays finite.  When the manifest has a weight
 * column, its frames carry weights and the index compares the new rows'
 * weight per bin (exact sums) with the manifest's training weight per
 * bin, the weights taking the place of the counts (frequency weights:
 * whole weights give the index of the rows repeated); frames with
 * weights and a manifest without, or the other way round, are refused. */
typedef struct pt_drift pt_drift;
pt_drift *pt_drift_new(const pt_manifest *m, pt_err *e);
int pt_drift_feed(pt_drift *d, pt_reader *r, const char *name, pt_err *e);
/* PSI of feature f (manifest order) and the rows seen. */
double pt_drift_psi(const pt_drift *d, int f);
uint64_t pt_drift_rows(const pt_drift *d);
/* The rows' total weight (their exact sum rounded once), or the rows
 * when the manifest has no weights. */
double pt_drift_weight(const pt_drift *d);
/* The report (YAML): the rows compared (and their weight, with weights),
 * the training rows (and weight), the threshold
 * and per feature, largest PSI first, its PSI and whether it is over the
 * threshold (*over set when one is).  *out malloc'd. */
int pt_drift_report(const pt_drift *d, double threshold, char **out,
    size_t *len, int *over, pt_err *e);
/* The same report as JSON or TSV (PT_FMT_*, jsonout.h; a TSV line per
 * feature: feature, psi, status, under a header line). */
int pt_drift_report_as(const pt_drift *d, double threshold, int format,
    char **out, size_t *len, int *over, pt_err *e);
void pt_drift_free(pt_drift *d);

#endif

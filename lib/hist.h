/*
 * hist.h: partial histograms for collect-less split search (DESIGN 6,
 * man/policy-tree.5).
 *
 * A partial holds, per open node of a tree, per feature, per bin (the
 * manifest boundaries' bins plus the missing bin) and per action: the row
 * count, the count and outcome sum of the rows that received the action,
 * and the sum of the action's score column.  Every sum is exact: partials
 * add in any order and grouping and give the same bits.
 *
 * Exact sums are pt_wide: 256-bit two's complement integers counting units
 * of 2^scale, where scale is one exponent shared by every sum of a partial
 * (the lowest bit any added double needs).  Adding data with a lower bit
 * rescales the partial; the text and binary forms are canonical (they do
 * not depend on scale).  A partial whose values span more than about 2^250
 * (say 1e-30 beside 1e40 in one score column) is refused with PT_ELIMIT.
 */
#ifndef PT_HIST_H
#define PT_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "bincode.h"
#include "frame.h"
#include "manifest.h"
#include "partid.h"
#include "pt.h"
#include "wide.h"

#define PT_HIST_VERSION 3    /* 3: a YAML header (2: key-value lines) */
#define PT_HIST_MAXNODES 4096
#define PT_HIST_MAXLEVEL 64
#define PT_HIST_MAXBINS 65002 /* bins of a feature, the missing bin too */

/* One partial.  Arrays are node-major: index [node][cell] for n, and
 * [node][cell][arm] for cnt, ysum and gsum; cell = off[f] + bin. */
typedef struct pt_hist {
	char manifest[33];
	char model[33];   /* "" when no model was named */
	char tree[33];    /* "" for the root */
	int level;        /* tree level of the open nodes (0 = root) */
	int nfeatures, narms;
	int *nbins;       /* per feature: nbounds + 2 (missing bin last) */
	size_t *off;      /* first cell of each feature */
	size_t ncells;
	int nnodes;
	uint32_t *nodes;  /* open node ids (root 1, children 2i, 2i+1) */
	int scale;        /* exponent of a unit of every sum */
	uint64_t *n;
	uint64_t *cnt;
	pt_wide *ysum, *gsum;
	uint64_t rows;    /* rows added (in open nodes or not) */
	int nparts;
	char (*parts)[PT_PARTID_LEN]; /* partition ids, sorted (partid.h) */
	pt_partid pid;     /* the partition of the frames added */
	int pid_bound;
	int has_treatment; /* 0 in bring-your-own-rewards mode */
	int pairs;         /* a pair partial (below) */
	/* Sample weights (a manifest with a weight column; NULL without):
	 * ysum and gsum then hold exact sums of weight times outcome and
	 * weight times score (n and cnt still count rows), and wh holds the
	 * weights themselves: a partial of the same shape and nodes in
	 * rewards mode whose gsum has, per cell, the weight of the rows that
	 * received each arm and then the weight of every row (A + 1 columns;
	 * in rewards mode just the latter), in its own scale.  Its n is h's. */
	struct pt_hist *wh;
	struct pt_hist_acc *acc; /* per-frame accumulators, while adding */
} pt_hist;

/* The columns of wh: A + 1 in treatment mode, 1 in rewards mode; the
 * weight of every row is the last. */
#define PT_HIST_WCOLS(h) ((h)->has_treatment ? (h)->narms + 1 : 1)

/* Creates an empty partial with the shape of manifest m (nvocab arms) for
 * the given open nodes (copied; NULL/0 means the root).  tree and model
 * may be NULL.  Returns the partial, which the caller frees with
 * pt_hist_free, or NULL with e set. */
pt_hist *pt_hist_new(const pt_manifest *m, const char *model,
    const char *tree, int level, const uint32_t *nodes, int nnodes,
    pt_err *e);
/* Frees h and all it holds; NULL is fine. */
void pt_hist_free(pt_hist *h);

/* The columns of a frame schema that feed a partial. */
typedef struct pt_hist_cols {
	int row;        /* _row column, or -1 */
	int treatment;  /* -1 in rewards mode */
	int outcome;    /* -1 in rewards mode */
	int *feature;   /* nfeatures column indexes (malloc'd) */
	int *score;     /* narms column indexes (score or reward columns) */
	int *code;      /* nfeatures bin code columns, -1 where absent */
	int weight;     /* the sample weight column, or -1 */
} pt_hist_cols;

/* Finds the columns in schema s for partial h (and manifest m: feature
 * names, digest).  Score columns are preferred; reward columns are used
 * when there are none.  A feature's bin codes (u8 column "bin:NAME", role
 * bin) are used instead of binning its values when the frames carry them.
 * Returns 0 with c's arrays malloc'd (the caller frees them with
 * pt_hist_cols_free), or -1 with e set (PT_EMISMATCH on another manifest,
 * PT_EVALUE when the frames carry no score columns) and nothing to free. */
int pt_hist_bind(const pt_hist *h, const pt_manifest *m, const pt_schema *s,
    pt_hist_cols *c, pt_err *e);
/* The same for frames not yet scored (outcome models, lib/ofit.h): the
 * outcome column stands in for every score column, so gsum holds outcome
 * sums, and only n, cnt and ysum mean anything.  h must have a treatment. */
int pt_hist_bind_unscored(const pt_hist *h, const pt_manifest *m,
    const pt_schema *s, pt_hist_cols *c, pt_err *e);
/* Frees c's arrays (not c itself); calling it twice is fine. */
void pt_hist_cols_free(pt_hist_cols *c);

/* Which partition the frames of schema s are (their _part column, or
 * their rows): bound once, by the first schema given. */
int pt_hist_bind_part(pt_hist *h, const pt_schema *s, pt_err *e);
/* Adds a frame's rows.  node_of[i] is the slot (index into h->nodes) of
 * row i, or -1 to skip it; NULL means every row is in slot 0.  The row
 * hashes of the kept rows (the _row column) go into the partition hash
 * that pt_hist_set_part makes a default id of.  Neither b nor node_of is
 * kept.  Returns 0, or -1 with e set.  The frame is read once, a block of
 * rows at a time, each block checked just before it is added: a frame
 * refused after its first block (a NaN score in row 5000, say) leaves the
 * partial holding part of it, and every later call on that partial (add,
 * flush, write, merge, search) fails. */
int pt_hist_add(pt_hist *h, const pt_manifest *m, const pt_hist_cols *c,
    const pt_batch *b, const int *node_of, pt_err *e);

/* The rows added are kept in per-frame cells across frames and folded
 * into the exact sums only every so often; pt_hist_flush folds them (after
 * the last pt_hist_add; pt_hist_set_part does it too).  A partial with
 * rows pending is refused by pt_hist_write, pt_hist_merge and the search:
 * they call pt_hist_folded, which fails (PT_EUSAGE) when rows are pending.
 * Both return 0, or -1 with e set. */
int pt_hist_flush(pt_hist *h, pt_err *e);
int pt_hist_folded(const pt_hist *h, pt_err *e);

/* Which kernels pt_hist_add uses: enable 0 forces the portable ones, 1
 * allows AVX2, 2 (the default) also AVX-512, each when the CPU has it;
 * -1 only asks.  All give the same bits.  Returns the level in use (0, 1
 * or 2).  For tests and benchmarks; not thread-safe. */
int pt_hist_simd(int enable);

/* Sets the partition id of a single-partition partial: id, or with id NULL
 * one made from its rows ("empty" without rows); folds pending rows first
 * (pt_hist_flush).  Returns 0, or -1 with e set (PT_EUSAGE for an id of
 * blanks, control bytes or over 63 bytes, PT_ENOMEM), the partition ids
 * then as they were. */
int pt_hist_set_part(pt_hist *h, const char *id, pt_err *e);

/* dst += src; src is not changed and stays the caller's.  Returns 0, or -1
 * with e set (PT_EMISMATCH unless both have the same manifest, model,
 * tree, level, shape and nodes, or when a partition id is in both;
 * PT_ELIMIT when a sum would grow too wide; PT_ENOMEM); dst is unchanged
 * on failure. */
int pt_hist_merge(pt_hist *dst, const pt_hist *src, pt_err *e);

/* Serialises h (man/policy-tree.5, PARTIALS): a text header, a binary body
 * of the non-zero cells, an XXH3-64 checksum.  Returns 0 with *out (malloc'd;
 * the caller frees it) and *len set, or -1 with e set (PT_EUSAGE without a
 * partition id or with rows pending, PT_ENOMEM) and *out untouched. */
int pt_hist_write(const pt_hist *h, char **out, size_t *len, pt_err *e);
/* Parses and checks the partial in buf[0..len) (checksum, shape, values;
 * name names it in messages; buf is not kept).  Returns the partial, which
 * the caller frees with pt_hist_free, or NULL with e set (PT_EFORMAT,
 * PT_ECORRUPT, PT_ENOMEM). */
pt_hist *pt_hist_read(const char *buf, size_t len, const char *name,
    pt_err *e);

/*
 * Pair partials (hist --pairs), for the exact depth-2 search over
 * partitions: a root partial whose open "nodes" are every (feature f1,
 * bin b1) of the manifest, missing bins included, in cell order: slot
 * off[f1] + b1 holds the ordinary histogram (every feature f2, bin b2,
 * arm) of the rows whose f1 value falls in bin b1.  So cell (f2, b2) of
 * slot (f1, b1) counts the rows in bin b1 of f1 and bin b2 of f2.  Node
 * ids are PT_PAIR_ID(f1, b1); level is 0, tree "".  Pair partials merge
 * with pair partials only, all or nothing, like any partial.  There may
 * be more than PT_HIST_MAXNODES slots: the bound is memory (their cells
 * are C^2 for C cells of the manifest), pt_hist_pairs_bytes.
 */
#define PT_PAIR_ID(f, b) ((((uint32_t)(f) + 1) << 17) | (uint32_t)(b))
#define PT_PAIR_FEATURE(id) ((int)((id) >> 17) - 1)
#define PT_PAIR_BIN(id) ((int)((id) & 0x1FFFFu))

/* Bytes a pair partial of manifest m (nvocab arms) holds in memory, to be
 * said (and checked against --max-memory) before it is made: its exact
 * sums, C^2 (8 + A (8 + 2 sizeof(pt_wide))) bytes for C cells (the sum of
 * the features' bins) and A arms, and while rows are added its frame
 * cells, counted at their widest (five limbs a value; most data takes one
 * or two), which pt_hist_set_part frees before the partial is written.
 * An upper bound of the partial's own memory (the frames being read
 * come on top). */
double pt_hist_pairs_bytes(const pt_manifest *m);
/* The most bytes one node of a partial under m takes while rows are added:
 * its exact sums and its frame cells at their widest. */
double pt_hist_node_bytes(const pt_manifest *m);
/* An empty pair partial of manifest m; model may be NULL.  Returns it, or
 * NULL with e set (PT_ELIMIT past 32766 features, PT_ENOMEM). */
pt_hist *pt_hist_new_pairs(const pt_manifest *m, const char *model,
    pt_err *e);
/* Adds a frame's rows to pair partial h: each row into slot (f1, its bin
 * of f1) for every feature f1.  Counts each row once in h->rows and in the
 * partition's hash, as pt_hist_add does, which otherwise it is (checks,
 * blocks, a refused frame; pt_hist_flush after the last).  Returns 0, or
 * -1 with e set (PT_EUSAGE when h is not a pair partial; pt_hist_add
 * refuses one). */
int pt_hist_add_pairs(pt_hist *h, const pt_manifest *m,
    const pt_hist_cols *c, const pt_batch *b, pt_err *e);

/* A digest of manifest m's feature names and bin counts, in feature
 * order, as 32 hex digits into out; out is "" when out of memory (the
 * function cannot report it). */
void pt_hist_feature_digest(const pt_manifest *m, char out[33]);

#endif

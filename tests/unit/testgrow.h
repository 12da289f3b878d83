/*
 * testgrow.h: a tree grown the distributed way, level by level: for each
 * level a partial of the open nodes over the rows of one batch (hist),
 * folded, then one level of growth (pt_search_grow).  t is grown in place;
 * on an error it is freed, the error shown, and NULL returned.  Features
 * are the batch's columns 1..nfeatures.
 */
#ifndef TESTGROW_H
#define TESTGROW_H

#include <stdlib.h>

#include "hist.h"
#include "search.h"
#include "tree.h"
#include "../tap.h"

static pt_ptree *
grow_by_partials(pt_ptree *t, const pt_manifest *m, const pt_schema *s,
    const pt_batch *b, int nfeatures)
{
	pt_err e;
	pt_hist_cols c;
	const double **cols = calloc((size_t)nfeatures, sizeof *cols);
	int *node_of = calloc(b->nrows + 1, sizeof *node_of), f;
	size_t i;

	for (f = 0; f < nfeatures; f++)
		cols[f] = PT_COL_F64(b, 1 + f);
	while (t != NULL && !t->complete) {
		uint32_t *ids;
		int n = pt_ptree_open(t, &ids, &e), k;
		pt_hist *h;
		char *buf;
		size_t len;
		/* Writing the tree sets its digest, which the partial names. */
		if (t->level > 0 && pt_ptree_write(t, &buf, &len, &e) == 0)
			free(buf);
		h = pt_hist_new(m, NULL, t->level ? t->digest : NULL, t->level,
		    ids, n, &e);
		pt_hist_bind(h, m, s, &c, &e);
		for (i = 0; i < b->nrows; i++) {
			int q = pt_ptree_route(t, cols, i);
			node_of[i] = -1;
			for (k = 0; k < n; k++)
				if (ids[k] == t->nodes[q].id && t->nodes[q].open)
					node_of[i] = k;
		}
		if (pt_hist_add(h, m, &c, b, node_of, &e) < 0 ||
		    pt_hist_flush(h, &e) < 0 ||
		    pt_search_grow(t, h, m, &e) < 0) {
			diag("grow: %s", e.msg);
			pt_ptree_free(t);
			t = NULL;
		}
		pt_hist_cols_free(&c);
		pt_hist_free(h);
		free(ids);
	}
	free(cols);
	free(node_of);
	return t;
}

#endif

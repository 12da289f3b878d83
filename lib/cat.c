/*
 * cat.c: frames back to text (policy-prep cat), for people and for tools
 * that read CSV or TSV.  CSV fields are quoted by csvin's rule, so what
 * cat writes reads back to the same rows and row hashes; numbers are in
 * their shortest round-trip form, missing values NA.
 */
#include "cat.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvin.h"
#include "names.h"
#include "number.h"

/* The output: room for the longest row cat can write (see pt_prep_cat),
 * flushed when less than that is left. */
typedef struct obuf {
	char *p;
	size_t n, cap;
	int fd;
	const char *name;
} obuf;

static int
ob_flush(obuf *o, pt_err *e)
{
	if (pt_write_all(o->fd, o->p, o->n) != 0)
		return pt_fail(e, PT_EIO, o->name, "%s", strerror(errno));
	o->n = 0;
	return 0;
}

/* A text field: CSV quoted as csvin reads it back; TSV as it is (a text
 * TSV cannot hold was refused before the first byte, see tsv_refuses). */
static void
ob_text(obuf *o, const char *s, size_t n, int tsv)
{
	if (o->n + 2 * n + 4 > o->cap)
		return; /* the caller guarantees room; see pt_prep_cat */
	if (!tsv) {
		o->n += pt_csv_quote(o->p + o->n, s, n);
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

/* TSV has no quoting: a tab, CR or LF in a name or a label could only be
 * written as something else, so it is refused, naming it. */
static int
tsv_bad(const char *t)
{
	return strpbrk(t, "\t\r\n") != NULL;
}

static int
tsv_refuses(const pt_schema *s, const int *sel, int nsel, pt_err *e)
{
	for (int k = 0; k < nsel; k++) {
		const pt_colspec *cs = &s->cols[sel[k]];
		if (tsv_bad(cs->name))
			return pt_fail(e, PT_EVALUE, "--tsv", "column name '%s' "
			    "holds a tab or a line end, which TSV cannot hold "
			    "(write CSV)", cs->name);
		for (int l = 0; l < cs->nlevels; l++)
			if (tsv_bad(cs->levels[l]))
				return pt_fail(e, PT_EVALUE, "--tsv", "%s: label '%s' "
				    "holds a tab or a line end, which TSV cannot "
				    "hold (write CSV)", cs->name, cs->levels[l]);
	}
	return 0;
}

/* Whether a missing value of column cs, written NA, would read back as
 * its level "NA" (possible when the manifest's missing tokens leave NA
 * out): such a value is refused rather than written as another. */
static int
na_is_level(const pt_colspec *cs)
{
	for (int l = 0; l < cs->nlevels; l++)
		if (strcmp(cs->levels[l], "NA") == 0)
			return 1;
	return 0;
}

int
pt_prep_cat(pt_reader *r, int fd, const char *outname, const pt_cat_opts *o,
    int *wrote_header, pt_err *e)
{
	const pt_schema *s = pt_reader_schema(r);
	const pt_batch *b;
	int *sel = malloc(sizeof *sel * ((size_t)s->ncols + 1)), nsel = 0, rc;
	size_t rowmax = 64;
	obuf ob = { 0 };
	char sep = o->tsv ? '\t' : ',';

	if (sel == NULL)
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	if (o->columns != NULL) {
		pt_names l;
		if (pt_names_split(&l, o->columns, e) != 0) {
			free(sel);
			return -1;
		}
		{
			int *ns = realloc(sel, sizeof *sel * ((size_t)l.n + 1));
			if (ns == NULL)
				free(sel);
			sel = ns;
		}
		for (int i = 0; sel != NULL && i < l.n; i++) {
			int j = pt_schema_find(s, l.v[i]);
			if (j < 0) {
				pt_fail(e, PT_EUSAGE, "--columns", "no column '%s' in the "
				    "frames", l.v[i]);
				pt_names_free(&l);
				free(sel);
				return -1;
			}
			sel[nsel++] = j;
		}
		pt_names_free(&l);
		if (sel == NULL)
			return pt_fail(e, PT_ENOMEM, "", "out of memory");
	} else {
		/* Bin codes are derived from the features, and the part of a
		 * split a row went to is no part of the row: both are shown on
		 * request. */
		for (int j = 0; j < s->ncols; j++)
			if (s->cols[j].role != PT_ROLE_BIN &&
			    s->cols[j].role != PT_ROLE_PART)
				sel[nsel++] = j;
	}
	if (o->tsv && tsv_refuses(s, sel, nsel, e) < 0) {
		free(sel);
		return -1;
	}
	/* The longest a row can be: numbers take at most 24 bytes. */
	for (int k = 0; k < nsel; k++) {
		const pt_colspec *cs = &s->cols[sel[k]];
		size_t w = 26;
		for (int l = 0; l < cs->nlevels; l++)
			if (2 * strlen(cs->levels[l]) + 4 > w)
				w = 2 * strlen(cs->levels[l]) + 4;
		rowmax += w;
	}
	for (int k = 0; k < nsel; k++)
		rowmax += 2 * strlen(s->cols[sel[k]].name) + 4;
	ob.cap = rowmax + (1 << 20);
	ob.p = malloc(ob.cap);
	ob.fd = fd;
	ob.name = outname;
	if (ob.p == NULL) {
		free(sel);
		return pt_fail(e, PT_ENOMEM, "", "out of memory");
	}
	if (o->header && !*wrote_header) {
		for (int k = 0; k < nsel; k++) {
			if (k)
				ob.p[ob.n++] = sep;
			ob_text(&ob, s->cols[sel[k]].name, strlen(s->cols[sel[k]].name),
			    o->tsv);
		}
		ob.p[ob.n++] = '\n';
		*wrote_header = 1;
	}
	while ((rc = pt_reader_next(r, &b, e)) == 1) {
		for (size_t i = 0; i < b->nrows; i++) {
			for (int k = 0; k < nsel; k++) {
				int j = sel[k];
				const pt_colspec *cs = &s->cols[j];
				if (k)
					ob.p[ob.n++] = sep;
				if (cs->type == PT_F64) {
					double v = PT_COL_F64(b, j)[i];
					if (isnan(v)) {
						memcpy(ob.p + ob.n, "NA", 2);
						ob.n += 2;
					} else {
						ob.n += (size_t)pt_fmt_f64(ob.p + ob.n, v);
					}
				} else if (cs->type == PT_U64) {
					ob.n += (size_t)sprintf(ob.p + ob.n, "%llu",
					    (unsigned long long)PT_COL_U64(b, j)[i]);
				} else if (cs->type == PT_U8) {
					ob.n += (size_t)sprintf(ob.p + ob.n, "%u",
					    (unsigned)PT_COL_U8(b, j)[i]);
				} else {
					int32_t v = PT_COL_I32(b, j)[i];
					if (v >= 0 && v < cs->nlevels)
						ob_text(&ob, cs->levels[v], strlen(cs->levels[v]),
						    o->tsv);
					else if (v < 0 && cs->nlevels > 0) {
						if (na_is_level(cs)) {
							rc = pt_fail(e, PT_EVALUE, "",
							    "%s: a missing value, and "
							    "'NA' is one of its labels: "
							    "written NA it would read "
							    "back as that label",
							    cs->name);
							break;
						}
						memcpy(ob.p + ob.n, "NA", 2);
						ob.n += 2;
					} else
						ob.n += (size_t)sprintf(ob.p + ob.n, "%d", (int)v);
				}
			}
			if (rc < 0)
				break;
			ob.p[ob.n++] = '\n';
			if (ob.n + rowmax > ob.cap && ob_flush(&ob, e) != 0) {
				rc = -1;
				break;
			}
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && ob_flush(&ob, e) != 0)
		rc = -1;
	free(ob.p);
	free(sel);
	return rc < 0 ? -1 : 0;
}

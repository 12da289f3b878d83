/*
 * csv: the CSV reader (lib/csvin.h) over the input, every record and
 * field, once on its fast path and once with every record through libcsv
 * (pt_csv_force_slow): the two must return the same records, the same
 * end or error, and stay there.  Then pt_prep_apply under a fixed small
 * manifest, as policy-prep apply runs it (bin codes and all), its frames
 * written to /dev/null in frames of 8 rows.
 *
 * The manifest was made by
 *     policy-prep synth --rows 20 --features 2 --categorical 1 --arms 2 \
 *         --missing 0.1 --seed 5 > t.csv
 *     policy-prep fit --treatment arm --outcome y --bins 3 \
 *         --train-fraction 0.7 --seed 1 --unknown missing \
 *         --missing-for x2=median --drop-missing --nonfinite missing t.csv
 * (scripts/fuzz-corpus makes it again and checks that it is this one).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "csvin.h"
#include "fuzz.h"
#include "hist.h"
#include "manifest.h"
#include "prep.h"

static const char manifest[] =
	"# policy-tools manifest: the locked inputs of a run; see policy-manifest(5).\n"
	"# Do not edit: the digest on the last line covers every byte above it.\n"
	"format: policy-manifest\n"
	"version: 1\n"
	"columns: [\"x1\", \"x2\", \"c1\", \"arm\", \"y\"]\n"
	"treatment: \"arm\"\n"
	"outcome: \"y\"\n"
	"key: null\n"
	"rewards: []\n"
	"vocabulary: [\"control\", \"t1\"]\n"
	"control: \"control\"\n"
	"missing_rows: drop\n"
	"missing_tokens: [\"\", \"NA\", \"NaN\", \"null\"]\n"
	"nonfinite: missing\n"
	"split:\n"
	"  rule: hash\n"
	"  train_fraction: 0.7\n"
	"  seed: 1\n"
	"fit:\n"
	"  bins: 3\n"
	"  sample: 262144\n"
	"  train_rows: 14\n"
	"  dropped_rows: 0\n"
	"sources:\n"
	"  - name: \"x1\"\n"
	"    type: numeric\n"
	"    missing: keep\n"
	"  - name: \"x2\"\n"
	"    type: numeric\n"
	"    missing: median\n"
	"    impute: 0.348953\n"
	"  - name: \"c1\"\n"
	"    type: categorical\n"
	"    levels: [\"a\", \"b\", \"d\"]\n"
	"    missing: keep\n"
	"    unknown: missing\n"
	"features:\n"
	"  - name: \"x1\"\n"
	"    source: \"x1\"\n"
	"    boundaries: [0.288411, 0.332335]\n"
	"    counts: [4, 3, 3, 4]\n"
	"  - name: \"x2\"\n"
	"    source: \"x2\"\n"
	"    boundaries: [0.248066, 0.594206]\n"
	"    counts: [5, 5, 4, 0]\n"
	"  - name: \"c1=a\"\n"
	"    source: \"c1\"\n"
	"    level: \"a\"\n"
	"    boundaries: [0]\n"
	"    counts: [5, 4, 5]\n"
	"  - name: \"c1=b\"\n"
	"    source: \"c1\"\n"
	"    level: \"b\"\n"
	"    boundaries: [0]\n"
	"    counts: [6, 3, 5]\n"
	"  - name: \"c1=d\"\n"
	"    source: \"c1\"\n"
	"    level: \"d\"\n"
	"    boundaries: [0]\n"
	"    counts: [7, 2, 5]\n"
	"digest: 6056431a12d2c1932c22934660b78ccf\n";

/* What a pass of the reader saw: one hash per record, then the end. */
struct pass {
	uint64_t *rec;
	size_t n, cap;
	int rc;
	pt_err e;
};

static void
add(struct pass *p, uint64_t h)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->rec = realloc(p->rec, p->cap * sizeof *p->rec);
		fz_assert(p->rec != NULL, "memory");
	}
	p->rec[p->n++] = h;
}

/* A hash of everything a record holds; every byte of every field and its
 * terminator are read. */
static uint64_t
rec_hash(const pt_csvrec *r)
{
	uint64_t h = XXH3_64bits(&r->nfields, sizeof r->nfields);

	h = XXH3_64bits_withSeed(&r->line, sizeof r->line, h);
	for (size_t i = 0; i < r->nfields; i++) {
		fz_assert(r->field[i][r->len[i]] == '\0',
		    "a field ends with a NUL");
		h = XXH3_64bits_withSeed(r->field[i], r->len[i] + 1, h);
	}
	return h;
}

static void
read_all(const uint8_t *data, size_t size, int slow, struct pass *p)
{
	pt_csvrec r;
	pt_csv *c;

	memset(p, 0, sizeof *p);
	pt_err_clear(&p->e);
	c = pt_csv_open(fz_fd(data, size), "fuzz", &p->e);
	fz_assert(c != NULL, "pt_csv_open");
	pt_csv_force_slow(c, slow);
	while ((p->rc = pt_csv_next(c, &r, &p->e)) == 1)
		add(p, rec_hash(&r));
	add(p, pt_csv_bytes(c));
	fz_assert(pt_csv_next(c, &r, &p->e) == p->rc,
	    "the end or an error of the reader stays");
	pt_csv_close(c);
}

static void
apply(const uint8_t *data, size_t size)
{
	static pt_manifest *m;
	static pt_schema *s;
	static pt_batch *b;
	static int null = -1;
	pt_apply_stats st = { 0 };
	pt_apply_opts o = { .header = 1, .subset = PT_SUBSET_ALL,
	    .delimiter = ',' };
	pt_writer *w;
	pt_err e;

	if (m == NULL) {
		pt_schema *s0;

		m = pt_manifest_parse(manifest, sizeof manifest - 1,
		    "manifest", &e);
		fz_assert(m != NULL, "the embedded manifest reads");
		s0 = pt_prep_schema(m, &e);
		fz_assert(s0 != NULL, "pt_prep_schema");
		s = pt_hist_code_schema(m, s0, &e);
		fz_assert(s != NULL, "pt_hist_code_schema");
		pt_schema_free(s0);
		b = pt_batch_new(s, 8);
		fz_assert(b != NULL, "pt_batch_new");
		null = open("/dev/null", O_WRONLY);
		fz_assert(null >= 0, "/dev/null");
	}
	b->nrows = 0;
	if ((w = pt_writer_open(null, "/dev/null", s, 0, &e)) == NULL)
		return;
	if (pt_prep_apply(m, fz_fd(data, size), "fuzz", &o, w, b, &st,
	    NULL, &e) == 0 && (b->nrows == 0 ||
	    (pt_hist_fill_codes(m, b, &e) == 0 &&
	    pt_writer_write(w, b, &e) == 0)))
		pt_writer_close(w, &e);
	else
		pt_writer_abort(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pass fast, slow;
	size_t i;

	read_all(data, size, 0, &fast);
	read_all(data, size, 1, &slow);
	for (i = 0; i < fast.n && i < slow.n; i++)
		if (fast.rec[i] != slow.rec[i])
			break;
	fz_assert(i == fast.n && i == slow.n,
	    "the fast path and libcsv read the same records");
	fz_assert(fast.rc == slow.rc && fast.e.code == slow.e.code &&
	    strcmp(fast.e.where, slow.e.where) == 0 &&
	    strcmp(fast.e.msg, slow.e.msg) == 0,
	    "the fast path and libcsv end the same way");
	free(fast.rec);
	free(slow.rec);
	apply(data, size);
	return 0;
}

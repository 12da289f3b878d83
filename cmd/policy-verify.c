/*
 * policy-verify: contract signatures of a run, their comparison, and drift
 * of new rows against a manifest's training distribution.  See
 * policy-verify(1) and policy-signature(5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe.h"
#include "frame.h"
#include "manifest.h"
#include "number.h"
#include "score.h"
#include "tree.h"
#include "buf.h"
#include "jsonout.h"
#include "verify.h"

enum { V_SIGN, V_COMPARE, V_DRIFT };
#define SIGN (1u << V_SIGN)
#define COMPARE (1u << V_COMPARE)
#define DRIFT (1u << V_DRIFT)

static const fe_verb verbs[] = {
	{ "sign", "[-m MANIFEST] [-M MODEL] [-t TREE] [--threads N] [-o FILE] "
	  "[FRAMES...]",
	  0, -1, "a signature file: one digest per contract component "
	  "(manifest, feature order, vocabulary, preprocessing, boundaries, "
	  "model, rows, scores, tree, policy) and the row count; frame files "
	  "of one schema add up (partitions), streams of different schemas "
	  "must hold the same rows" },
	{ "compare", "[--json] A.sig B.sig", 2, 2, "a line per component: same, "
	  "drifted, or absent on one side; exit 0 when every component present "
	  "on both sides is the same, 1 when one drifted, 2 on trouble" },
	{ "drift", "-m MANIFEST [--threshold T] [--json | --tsv] [FRAMES...]",
	  0, -1,
	  "the Population Stability Index of each feature of the frames "
	  "against the manifest's training bins, largest first; exit 1 when "
	  "one is over the threshold" },
};

enum { O_MANIFEST, O_MODEL, O_TREE, O_OUTPUT, O_THRESHOLD, O_THREADS,
	O_JSON, O_TSV };

static const fe_opt optrows[] = {
	{ O_MANIFEST, 'm', "manifest", FE_STR, "MANIFEST", SIGN | DRIFT, 0, 0,
	  NULL, "the manifest (sign: its components; drift: its training bins)" },
	{ O_MODEL, 'M', "model", FE_STR, "MODEL", SIGN, 0, 0, NULL,
	  "the scoring model" },
	{ O_TREE, 't', "tree", FE_STR, "TREE", SIGN, 0, 0, NULL,
	  "the policy tree (or forest)" },
	{ O_OUTPUT, 'o', "output", FE_STR, "FILE", FE_ALL_VERBS, 0, 0, NULL,
	  "write FILE (atomically) instead of stdout" },
	{ O_THRESHOLD, 0, "threshold", FE_NUM, "T", DRIFT, 0, 1e300, NULL,
	  "the PSI over which a feature drifted (default 0.25)" },
	{ O_THREADS, 0, "threads", FE_INT, "N", SIGN, 1, 1024, NULL,
	  "threads to hash the rows of each frame with (default: every core, "
	  "at most 16; with two or more, one more reads ahead); the signature "
	  "does not depend on N" },
	{ O_JSON, 0, "json", FE_FLAG, NULL, COMPARE | DRIFT, 0, 0, NULL,
	  "the report as JSON (one line)" },
	{ O_TSV, 0, "tsv", FE_FLAG, NULL, DRIFT, 0, 0, NULL,
	  "drift: the features as a tab-separated table (feature, psi, "
	  "status) with a header line" },
};

static const fe_cli cli = {
	"policy-verify", verbs, sizeof verbs / sizeof verbs[0], -1,
	optrows, sizeof optrows / sizeof optrows[0],
	"exit status: 0 same (or no drift), 1 drifted, 2 trouble\n"
};

typedef struct opts {
	const char *manifest, *model, *tree, *output;
	double threshold;
	int threads, json, tsv;
} opts;

/* Feeds every input's reader to fn (the signer, the drift counter). */
static int
each_reader(int n, char **paths, int (*fn)(void *, pt_reader *, const char *,
    pt_err *), void *ctx, pt_err *e)
{
	fe_in in;
	pt_reader *r;
	int k;

	fe_in_init(&in, n, paths);
	in.any_schema = 1;
	while ((k = fe_in_reader(&in, &r, e)) == 1)
		if (fn(ctx, r, in.name, e) != 0) {
			k = -1;
			break;
		}
	fe_in_close(&in);
	return k;
}

static int
sign_feed(void *ctx, pt_reader *r, const char *name, pt_err *e)
{
	return pt_signer_feed(ctx, r, name, e);
}

static int
sign_file(pt_sig *s, pt_sigcomp c, const char *path, const pt_manifest *m,
    pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	int rc;

	if (buf == NULL)
		return -1;
	rc = pt_sig_load_file(s, c, buf, len, fe_in_name(path), m, e);
	free(buf);
	return rc;
}

static int
do_sign(opts *o, int n, char **paths)
{
	pt_err e;
	pt_sig s;
	pt_manifest *m = NULL;
	pt_signer *g = NULL;
	char *text = NULL;
	size_t len;
	fe_out out = { .fd = -1 };
	int rc = FE_EXIT_TROUBLE;

	pt_err_clear(&e);
	pt_sig_init(&s);
	if (o->manifest == NULL && o->model == NULL && o->tree == NULL && n == 0)
		return fe_usage_error("sign needs something to sign: -m, -M, -t or "
		    "frame files");
	if (o->manifest != NULL) {
		if ((m = pt_manifest_read(o->manifest, &e)) == NULL)
			goto fail;
		pt_sig_manifest(&s, m);
	}
	if ((o->model != NULL &&
	    sign_file(&s, PT_SIG_MODEL, o->model, m, &e) != 0) ||
	    (o->tree != NULL && sign_file(&s, PT_SIG_TREE, o->tree, m, &e) != 0))
		goto fail;
	if (n > 0) {
		if ((g = pt_signer_new(m, &e)) == NULL)
			goto fail;
		pt_signer_progress(g, fe_progress);
		pt_signer_threads(g, o->threads);
		if (each_reader(n, paths, sign_feed, g, &e) != 0 ||
		    pt_signer_finish(g, &s, &e) != 0)
			goto fail;
		fe_progress_done(s.rows, pt_signer_bytes(g));
	}
	if (pt_sig_write(&s, &text, &len, &e) != 0 ||
	    fe_out_open(&out, o->output, 0, 1, &e) != 0 ||
	    fe_write_all(out.fd, out.name, text, len, &e) != 0 ||
	    fe_out_commit(&out, &e) != 0)
		goto fail;
	rc = FE_EXIT_OK;
	goto done;
fail:
	rc = fe_error(&e);
	fe_out_abort(&out);
done:
	free(text);
	pt_signer_free(g);
	pt_manifest_free(m);
	return rc;
}

static int
read_sig(const char *path, pt_sig *s, pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);
	int rc;

	if (buf == NULL)
		return -1;
	rc = pt_sig_parse(s, buf, len, path, e);
	free(buf);
	return rc;
}

/* The report of compare and drift goes to stdout or to -o FILE (written
 * to a temporary and renamed). */
static FILE *
report_open(opts *o, fe_out *out, pt_err *e)
{
	FILE *fp;

	if (fe_out_open(out, o->output, 0, 1, e) != 0)
		return NULL;
	if (out->path == NULL)
		return stdout;
	if ((fp = fdopen(out->fd, "w")) == NULL) {
		fe_out_abort(out);
		pt_fail(e, PT_EIO, out->name, "cannot open for writing");
	}
	return fp;
}

/* Flushes and commits the report; returns rc, or 2 on a write error. */
static int
report_close(FILE *fp, fe_out *out, int rc)
{
	pt_err e;
	int bad = fflush(fp) != 0 || ferror(fp);

	pt_err_clear(&e);
	if (out->path != NULL) {
		/* fe_out_commit closes the fd; let fclose do it instead. */
		int fd = dup(out->fd);
		bad |= fclose(fp) != 0;
		out->fd = fd;
	}
	if (bad) {
		fe_out_abort(out);
		return fe_errorx("%s: write error", out->name);
	}
	if (fe_out_commit(out, &e) != 0)
		return fe_error(&e);
	return rc;
}

/* compare --json: {"same", "components": [{name, a, b, same}], "rows"}. */
static int
compare_json(opts *o, const pt_sig *a, const pt_sig *b)
{
	pt_buf buf = PT_BUF_INIT;
	pt_json j;
	pt_err e;
	char *text = NULL;
	size_t len;
	int drift = 0, rc;

	pt_err_clear(&e);
	pt_j_init(&j, &buf);
	for (int c = 0; c < PT_SIG_N; c++)
		drift |= pt_sig_compare(a, b, (pt_sigcomp)c) == PT_CMP_DRIFTED;
	drift |= a->have_rows && b->have_rows && a->rows != b->rows;
	pt_j_obj(&j);
	pt_j_key(&j, "same");
	pt_j_bool(&j, !drift);
	pt_j_key(&j, "components");
	pt_j_arr(&j);
	for (int c = 0; c < PT_SIG_N; c++) {
		pt_cmp r = pt_sig_compare(a, b, (pt_sigcomp)c);
		char hex[33];
		if (r == PT_CMP_ABSENT)
			continue;
		pt_j_obj(&j);
		pt_j_key(&j, "name");
		pt_j_str(&j, pt_sig_name((pt_sigcomp)c));
		pt_j_key(&j, "a");
		if (a->have[c]) {
			pt_h128_hex(a->h[c], hex);
			pt_j_str(&j, hex);
		} else
			pt_j_null(&j);
		pt_j_key(&j, "b");
		if (b->have[c]) {
			pt_h128_hex(b->h[c], hex);
			pt_j_str(&j, hex);
		} else
			pt_j_null(&j);
		pt_j_key(&j, "same");
		pt_j_bool(&j, r == PT_CMP_SAME);
		pt_j_obj_end(&j);
	}
	pt_j_arr_end(&j);
	pt_j_key(&j, "rows");
	pt_j_obj(&j);
	pt_j_key(&j, "a");
	if (a->have_rows)
		pt_j_u64(&j, a->rows);
	else
		pt_j_null(&j);
	pt_j_key(&j, "b");
	if (b->have_rows)
		pt_j_u64(&j, b->rows);
	else
		pt_j_null(&j);
	pt_j_key(&j, "same");
	pt_j_bool(&j, a->have_rows && b->have_rows && a->rows == b->rows);
	pt_j_obj_end(&j);
	pt_j_obj_end(&j);
	pt_j_end(&j);
	if (pt_buf_take(&buf, &text, &len, "comparison", &e) != 0 ||
	    fe_write_file(o->output, text, len, 0, 1, &e) != 0)
		rc = fe_error(&e);
	else
		rc = drift ? FE_EXIT_NO : FE_EXIT_OK;
	free(text);
	return rc;
}

static int
do_compare(opts *o, int n, char **paths)
{
	pt_err e;
	pt_sig a, b;
	int drift = 0;
	fe_out out;
	FILE *fp;
	static const char *const word[] = { "same", "drifted", "absent in B",
		"absent in A", "absent" };

	(void)o;
	pt_err_clear(&e);
	if (n != 2)
		return fe_usage_error("compare needs two signature files");
	if (read_sig(paths[0], &a, &e) != 0 || read_sig(paths[1], &b, &e) != 0)
		return fe_error(&e);
	if (o->json)
		return compare_json(o, &a, &b);
	if ((fp = report_open(o, &out, &e)) == NULL)
		return fe_error(&e);
	for (int c = 0; c < PT_SIG_N; c++) {
		pt_cmp r = pt_sig_compare(&a, &b, (pt_sigcomp)c);
		if (r == PT_CMP_ABSENT)
			continue;
		fprintf(fp, "%-14s %s\n", pt_sig_name((pt_sigcomp)c), word[r]);
		drift |= r == PT_CMP_DRIFTED;
	}
	if (a.have_rows || b.have_rows) {
		if (a.have_rows && b.have_rows)
			fprintf(fp, "%-14s %s (%llu and %llu rows)\n", "row_count",
			    a.rows == b.rows ? "same" : "drifted",
			    (unsigned long long)a.rows, (unsigned long long)b.rows);
		else
			fprintf(fp, "%-14s %s\n", "row_count", a.have_rows ?
			    "absent in B" : "absent in A");
		drift |= a.have_rows && b.have_rows && a.rows != b.rows;
	}
	return report_close(fp, &out, drift ? FE_EXIT_NO : FE_EXIT_OK);
}

static int
drift_feed(void *ctx, pt_reader *r, const char *name, pt_err *e)
{
	return pt_drift_feed(ctx, r, name, e);
}

static int
do_drift(opts *o, int n, char **paths)
{
	pt_err e;
	pt_manifest *m;
	pt_drift *d = NULL;
	char *text = NULL;
	size_t len;
	int over = 0, rc = FE_EXIT_TROUBLE;

	pt_err_clear(&e);
	if (o->manifest == NULL)
		return fe_usage_error("drift needs -m MANIFEST");
	if (o->json && o->tsv)
		return fe_usage_error("--json and --tsv do not mix");
	if ((m = pt_manifest_read(o->manifest, &e)) == NULL)
		return fe_error(&e);
	if ((d = pt_drift_new(m, &e)) == NULL ||
	    each_reader(n, paths, drift_feed, d, &e) != 0 ||
	    pt_drift_report_as(d, o->threshold, o->json ? PT_FMT_JSON :
	    o->tsv ? PT_FMT_TSV : PT_FMT_YAML, &text, &len, &over, &e) != 0 ||
	    fe_write_file(o->output, text, len, 0, 1, &e) != 0)
		rc = fe_error(&e);
	else
		rc = over ? FE_EXIT_NO : FE_EXIT_OK;
	free(text);
	pt_drift_free(d);
	pt_manifest_free(m);
	return rc;
}

int
main(int argc, char **argv)
{
	fe_args a;
	opts o;
	int rc;

	fe_init("policy-verify");
	if ((rc = fe_parse(&cli, argc, argv, &a)) != 0) {
		fe_args_free(&a);
		return rc == 1 ? FE_EXIT_OK : FE_EXIT_TROUBLE;
	}
	o.manifest = fe_str(&a, O_MANIFEST, NULL);
	o.model = fe_str(&a, O_MODEL, NULL);
	o.tree = fe_str(&a, O_TREE, NULL);
	o.output = fe_str(&a, O_OUTPUT, NULL);
	o.threshold = fe_num(&a, O_THRESHOLD, 0.25);
	o.json = fe_flag(&a, O_JSON);
	o.tsv = fe_flag(&a, O_TSV);
	if (fe_flag(&a, O_THREADS))
		o.threads = (int)fe_u64(&a, O_THREADS, 1);
	else {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = n < 1 ? 1 : n > 16 ? 16 : (int)n;
	}
	switch (a.verb) {
	case V_SIGN: rc = do_sign(&o, a.argc, a.argv); break;
	case V_COMPARE: rc = do_compare(&o, a.argc, a.argv); break;
	default: rc = do_drift(&o, a.argc, a.argv); break;
	}
	fe_args_free(&a);
	return rc;
}

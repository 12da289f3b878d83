/*
 * policy-verify: contract signatures of a run, their comparison, and drift
 * of new rows against a manifest's training distribution.  See
 * policy-verify(1) and policy-signature(5).
 */
#include <getopt.h>
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
#include "verify.h"

static const char usage_text[] =
"usage: policy-verify sign [-m MANIFEST] [-M MODEL] [-t TREE] [-o FILE] [FRAMES...]\n"
"       policy-verify compare A.sig B.sig\n"
"       policy-verify drift -m MANIFEST [--threshold T] [FRAMES...]\n"
"\n"
"sign      writes a signature file: one digest per contract component\n"
"          (manifest, feature order, vocabulary, preprocessing, boundaries,\n"
"          model, rows, scores, tree, policy) and the row count.  Frame files\n"
"          are operands ('-' for stdin); files of one schema add up\n"
"          (partitions), streams of different schemas must hold the same rows.\n"
"compare   a line per component: same, drifted, or absent on one side;\n"
"          exit 0 when every component present on both sides is the same,\n"
"          1 when one drifted, 2 on trouble.\n"
"drift     Population Stability Index of each feature of the frames against\n"
"          the manifest's training bins, largest first; exit 1 when one is\n"
"          over the threshold.\n"
"\n"
"options:\n"
"  -m, --manifest FILE    the manifest (sign: its components; drift: bins)\n"
"  -M, --model FILE       the scoring model (sign)\n"
"  -t, --tree FILE        the policy tree (sign)\n"
"  -o, --output FILE      write FILE (atomically) instead of stdout\n"
"      --threshold T      drift: PSI over which a feature drifted (default 0.25)\n"
"      --progress         show progress on stderr\n"
"  -h, --help             this help\n"
"      --version          the version\n";

enum { O_THRESHOLD = 256, O_PROGRESS, O_VERSION };

static const struct option longopts[] = {
	{ "manifest", required_argument, NULL, 'm' },
	{ "model", required_argument, NULL, 'M' },
	{ "tree", required_argument, NULL, 't' },
	{ "output", required_argument, NULL, 'o' },
	{ "threshold", required_argument, NULL, O_THRESHOLD },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

typedef struct opts {
	const char *manifest, *model, *tree, *output;
	double threshold;
} opts;

static int
sign_feed(void *ctx, pt_reader *r, const char *name, pt_err *e)
{
	return pt_signer_feed(ctx, r, name, e);
}

/* A model or tree names the manifest it belongs to on a top-level
 * "manifest: DIGEST" line: with -m, it must be that manifest. */
static int
check_manifest_line(const char *buf, size_t len, const char *path,
    const pt_manifest *m, pt_err *e)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n >= 10 && memcmp(p, "manifest: ", 10) == 0) {
			size_t k = n - 10;
			const char *v = p + 10;
			if (k >= 2 && v[0] == '"' && v[k - 1] == '"') {
				v++;
				k -= 2;
			}
			if (k != strlen(m->digest) || memcmp(v, m->digest, k) != 0)
				return pt_fail(e, PT_EMISMATCH, path, "made for manifest "
				    "%.*s, not for the manifest given (%s)", (int)k, v,
				    m->digest);
			return 0;
		}
		p += n + 1;
	}
	return 0;
}

static int
sign_file(pt_sig *s, pt_sigcomp c, const char *path, const pt_manifest *m,
    pt_err *e)
{
	size_t len;
	char *buf = fe_slurp(path, &len, e);

	if (buf == NULL)
		return -1;
	if (len == 0) {
		free(buf);
		return pt_fail(e, PT_EFORMAT, path, "empty file");
	}
	if (m != NULL && check_manifest_line(buf, len, path, m, e) != 0) {
		free(buf);
		return -1;
	}
	/* Only what the programs themselves would load is signed: the
	 * readers check the format, the structure and any digest line. */
	if (c == PT_SIG_MODEL) {
		pt_scorer *sc = pt_scorer_load(buf, len, path, e);
		if (sc == NULL) {
			free(buf);
			return -1;
		}
		pt_scorer_free(sc);
	} else if (c == PT_SIG_TREE) {
		pt_ptree *t = pt_ptree_parse(buf, len, path, e);
		if (t == NULL) {
			free(buf);
			return -1;
		}
		pt_ptree_free(t);
	}
	pt_sig_file(s, c, buf, len);
	free(buf);
	return 0;
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
		if (fe_each_frames(n, paths, sign_feed, g, &e) != 0 ||
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
	if (read_sig(paths[0], &a, &e) != 0 || read_sig(paths[1], &b, &e) != 0 ||
	    (fp = report_open(o, &out, &e)) == NULL)
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

typedef struct psi_row {
	int f;
	double psi;
} psi_row;

static int
by_psi(const void *a, const void *b)
{
	const psi_row *x = a, *y = b;

	if (x->psi != y->psi)
		return x->psi < y->psi ? 1 : -1;
	return x->f - y->f;
}

static int
do_drift(opts *o, int n, char **paths)
{
	pt_err e;
	pt_manifest *m;
	pt_drift *d;
	psi_row *rows;
	int over = 0;
	fe_out out;
	FILE *fp;

	pt_err_clear(&e);
	if (o->manifest == NULL)
		return fe_usage_error("drift needs -m MANIFEST");
	if ((m = pt_manifest_read(o->manifest, &e)) == NULL)
		return fe_error(&e);
	if ((d = pt_drift_new(m, &e)) == NULL ||
	    fe_each_frames(n, paths, drift_feed, d, &e) != 0) {
		pt_drift_free(d);
		pt_manifest_free(m);
		return fe_error(&e);
	}
	if (pt_drift_rows(d) == 0) {
		pt_drift_free(d);
		pt_manifest_free(m);
		return fe_errorx("drift: no rows to compare");
	}
	rows = malloc(sizeof *rows * ((size_t)m->nfeatures + 1));
	if (rows == NULL || (fp = report_open(o, &out, &e)) == NULL) {
		free(rows);
		pt_drift_free(d);
		pt_manifest_free(m);
		return rows == NULL ? fe_errorx("out of memory") : fe_error(&e);
	}
	for (int f = 0; f < m->nfeatures; f++) {
		rows[f].f = f;
		rows[f].psi = pt_drift_psi(d, f);
	}
	qsort(rows, (size_t)m->nfeatures, sizeof *rows, by_psi);
	fprintf(fp, "%-24s %10s  %s\n", "feature", "psi", "status");
	for (int i = 0; i < m->nfeatures; i++) {
		int bad = rows[i].psi > o->threshold;
		fprintf(fp, "%-24s %10.6f  %s\n", m->features[rows[i].f].name, rows[i].psi,
		    bad ? "drifted" : "stable");
		over |= bad;
	}
	fprintf(fp, "# %llu rows against %llu training rows, threshold %g\n",
	    (unsigned long long)pt_drift_rows(d),
	    (unsigned long long)m->train_rows, o->threshold);
	free(rows);
	pt_drift_free(d);
	pt_manifest_free(m);
	return report_close(fp, &out, over ? FE_EXIT_NO : FE_EXIT_OK);
}

int
main(int argc, char **argv)
{
	opts o = { NULL, NULL, NULL, NULL, 0.25 };
	const char *verb;
	int c;

	fe_init(argv[0], "policy-verify");
	if (argc < 2)
		return fe_usage_error("a verb is needed: sign, compare or drift");
	verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		fputs(usage_text, stdout);
		return FE_EXIT_OK;
	}
	if (strcmp(verb, "--version") == 0) {
		printf("policy-verify %s\n", PT_VERSION);
		return FE_EXIT_OK;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "m:M:t:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.manifest = optarg; break;
		case 'M': o.model = optarg; break;
		case 't': o.tree = optarg; break;
		case 'o': o.output = optarg; break;
		case O_THRESHOLD:
			if (pt_parse_f64(optarg, strlen(optarg), &o.threshold) != 0 ||
			    o.threshold < 0)
				return fe_usage_error("--threshold: '%s' is not a "
				    "non-negative number", optarg);
			break;
		case O_PROGRESS: fe_progress_enable(1); break;
		case 'h':
			fputs(usage_text, stdout);
			return FE_EXIT_OK;
		case O_VERSION:
			printf("policy-verify %s\n", PT_VERSION);
			return FE_EXIT_OK;
		default:
			return fe_usage_error("unknown or incomplete option");
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(verb, "sign") == 0)
		return do_sign(&o, argc, argv);
	if (strcmp(verb, "compare") == 0)
		return do_compare(&o, argc, argv);
	if (strcmp(verb, "drift") == 0)
		return do_drift(&o, argc, argv);
	return fe_usage_error("unknown verb '%s' (sign, compare, drift)", verb);
}

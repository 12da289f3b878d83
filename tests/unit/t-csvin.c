/*
 * t-csvin.c: the CSV reader.  The fast path and pure libcsv
 * (pt_csv_force_slow) must give identical records on random documents, and
 * both must give the records the generator meant when it wrote valid CSV.
 */
#include "../tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "csvin.h"

#include <zlib.h>
#include <zstd.h>

/* ---- helpers ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

struct sb {
	char *s;
	size_t n, cap;
};

static void
sb_add(struct sb *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->n + n + 1)
			cap *= 2;
		b->s = realloc(b->s, cap);
		if (b->s == NULL)
			abort();
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_fmt(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sb_fmt(struct sb *b, const char *fmt, ...)
{
	char tmp[1200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void
sb_free(struct sb *b)
{
	free(b->s);
	b->s = NULL;
	b->n = b->cap = 0;
}

/* One record as text, so that whole parses compare with strcmp. */
static void
dump_rec(struct sb *out, const pt_csvrec *r)
{
	size_t i;

	sb_fmt(out, "L%llu N%zu", (unsigned long long)r->line, r->nfields);
	for (i = 0; i < r->nfields; i++) {
		sb_fmt(out, " %zu:", r->len[i]);
		sb_add(out, r->field[i], r->len[i]);
		if (strlen(r->field[i]) != r->len[i])
			sb_str(out, "(not NUL-terminated at len)");
	}
	sb_str(out, "\n");
}

/* A readable fd holding doc: a pipe when it fits, else a temporary file. */
static int
doc_fd(const char *doc, size_t n)
{
	int p[2];

	if (n < 32768 && pipe(p) == 0) {
		if (write(p[1], doc, n) != (ssize_t)n)
			abort();
		close(p[1]);
		return p[0];
	} else {
		FILE *f = tmpfile();
		int fd;

		if (f == NULL || (n > 0 && fwrite(doc, 1, n, f) != n) ||
		    fflush(f) != 0)
			abort();
		fd = dup(fileno(f));
		fclose(f);
		if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0)
			abort();
		return fd;
	}
}

struct parse {
	struct sb out;   /* records, then "END n" or "ERR code where: msg" */
	long nrec;
	int rc;          /* last pt_csv_next result */
	pt_err err;
	uint64_t bytes;
};

static void
parse_fd(int fd, int slow, struct parse *res)
{
	pt_err e;
	pt_csvrec r;
	pt_csv *c;
	int rc;

	memset(res, 0, sizeof *res);
	pt_err_clear(&e);
	c = pt_csv_open(fd, "doc", &e);
	if (c == NULL) {
		sb_fmt(&res->out, "OPEN %s", e.msg);
		res->rc = -1;
		return;
	}
	pt_csv_force_slow(c, slow);
	while ((rc = pt_csv_next(c, &r, &e)) == 1) {
		dump_rec(&res->out, &r);
		res->nrec++;
	}
	res->rc = rc;
	res->err = e;
	if (rc == 0)
		sb_fmt(&res->out, "END %llu",
		    (unsigned long long)pt_csv_bytes(c));
	else
		sb_fmt(&res->out, "ERR %d %s: %s", e.code, e.where, e.msg);
	res->bytes = pt_csv_bytes(c);
	/* an error is sticky and a finished reader stays finished */
	if (pt_csv_next(c, &r, &e) != rc)
		sb_str(&res->out, " (not sticky)");
	pt_csv_close(c);
}

static void
parse_doc(const char *doc, size_t n, int slow, struct parse *res)
{
	int fd = doc_fd(doc, n);

	parse_fd(fd, slow, res);
	close(fd);
}

/* ---- random documents ---- */

/*
 * Writes a random document into doc.  When it is valid CSV (every field
 * that needs quotes has them, no mutation), writes into model what a
 * correct reader returns and returns 1; else returns 0.  Line numbers
 * start at *linep (1 if NULL), which is left at the line after the
 * document.
 */
static int
gen_doc(struct sb *doc, struct sb *model, int maxrec, int maxlen,
    unsigned long long *linep)
{
	static const char alpha[] = ",\"\r\naa11  ";
	int nrec = (int)rn((unsigned)maxrec + 1), eolmode = (int)rn(3);
	int r, valid = 1;
	unsigned long long line = linep ? *linep : 1;

	for (r = 0; r < nrec; r++) {
		char fbuf[8][64];
		size_t flen[8], nf = 1 + rn(5), i, j;
		int blank = 0;
		const char *eol;

		while (rn(5) == 0) { /* blank lines */
			sb_str(doc, eolmode == 1 || (eolmode == 2 && rn(2)) ?
			    "\r\n" : "\n");
			line++;
		}
		for (i = 0; i < nf; i++) {
			int needy = 0, quote;

			flen[i] = rn((unsigned)maxlen + 1);
			for (j = 0; j < flen[i]; j++) {
				fbuf[i][j] = alpha[rn(sizeof alpha - 1)];
				needy |= strchr(",\"\r\n", fbuf[i][j]) != NULL;
			}
			fbuf[i][flen[i]] = '\0';
			/* rarely leave needed quotes out: a wrong document */
			quote = needy ? rn(20 * (unsigned)maxrec) != 0
			              : rn(3) == 0;
			if (needy && !quote)
				valid = 0;
			if (i > 0)
				sb_str(doc, ",");
			if (quote)
				sb_str(doc, "\"");
			for (j = 0; j < flen[i]; j++) {
				if (quote && fbuf[i][j] == '"')
					sb_str(doc, "\"");
				sb_add(doc, &fbuf[i][j], 1);
			}
			if (quote)
				sb_str(doc, "\"");
			/* an unquoted lone empty field is a blank line */
			blank = nf == 1 && flen[0] == 0 && !quote;
		}
		if (!blank) {
			sb_fmt(model, "L%llu N%zu", line, nf);
			for (i = 0; i < nf; i++) {
				sb_fmt(model, " %zu:", flen[i]);
				sb_add(model, fbuf[i], flen[i]);
			}
			sb_str(model, "\n");
		}
		for (i = 0; i < nf; i++)
			for (j = 0; j < flen[i]; j++)
				line += fbuf[i][j] == '\n';
		eol = eolmode == 1 || (eolmode == 2 && rn(2)) ? "\r\n" : "\n";
		if (r == nrec - 1 && rn(2))
			eol = ""; /* no final line end */
		sb_str(doc, eol);
		line += *eol != '\0';
	}
	if (doc->n > 0 && rn(8) == 0) { /* a mutation: stray byte */
		size_t at = rn((unsigned)doc->n);

		doc->s[at] = alpha[rn(sizeof alpha - 1)];
		valid = 0;
	}
	if (rn(50) == 0) { /* a NUL byte */
		sb_add(doc, "x\0y\n", 4);
		valid = 0;
	}
	if (linep != NULL)
		*linep = line;
	return valid;
}

static void
test_differential(int ndocs, int maxrec, int maxlen, const char *what)
{
	int i, bad = 0, badmodel = 0, nvalid = 0, nerr = 0;
	long nrec = 0;

	for (i = 0; i < ndocs; i++) {
		struct sb doc = { 0 }, model = { 0 };
		struct parse fast, slow;
		int valid = gen_doc(&doc, &model, maxrec, maxlen, NULL);

		sb_add(&doc, "", 0);
		parse_doc(doc.s, doc.n, 0, &fast);
		parse_doc(doc.s, doc.n, 1, &slow);
		if (strcmp(fast.out.s, slow.out.s) != 0 && bad++ < 3)
			diag("fast and slow differ on %zu-byte doc:\n"
			    "--- fast\n%s\n--- slow\n%s", doc.n, fast.out.s,
			    slow.out.s);
		if (valid) {
			nvalid++;
			sb_fmt(&model, "END %zu", doc.n);
			if (strcmp(model.s, slow.out.s) != 0 && badmodel++ < 3)
				diag("reader and model differ:\n--- model\n%s\n"
				    "--- reader\n%s", model.s, slow.out.s);
		}
		nerr += fast.rc < 0;
		nrec += fast.nrec;
		sb_free(&doc);
		sb_free(&model);
		sb_free(&fast.out);
		sb_free(&slow.out);
	}
	ok(bad == 0, "%s: fast path and libcsv agree on %d random documents "
	    "(%d differ)", what, ndocs, bad);
	ok(badmodel == 0, "%s: %d valid documents give the intended records "
	    "(%d differ)", what, nvalid, badmodel);
	ok(nvalid > ndocs / 3 && nerr > ndocs / 50 && nrec > ndocs,
	    "%s: the mix has valid docs (%d), errors (%d), records (%ld)",
	    what, nvalid, nerr, nrec);
}

/*
 * The one-pass line scan (csvin.c, scan_line) reads 16-byte blocks: lines
 * of every length from 0 to 70 bytes, so that the line end, a CR before
 * it, a quote, a lone CR or the last delimiter falls on each place of a
 * block and across two, each followed by a second line or by the end of
 * the input (with and without a line end), read by the fast path and by
 * libcsv alone: the records must be the same.
 */
static void
test_block_edges(void)
{
	static const char *const ends[] = { "\n", "\r\n", "\r\r\n", "\r" };
	static const char *const tails[] = { "x,y\n", "x,y", "", "\n\n" };
	static const char *const odds[] = { "", "\"", "\r", "," };
	int bad = 0, n = 0;

	for (size_t len = 0; len <= 70; len++)
		for (size_t e = 0; e < 4; e++)
			for (size_t t = 0; t < 4; t++)
				for (size_t o = 0; o < 4; o++) {
					struct sb doc = { 0 };
					struct parse f, sl;

					for (size_t i = 0; i < len; i++)
						sb_add(&doc, i % 7 == 3 ? "," : "7", 1);
					if (len > 0 && *odds[o] != '\0')
						doc.s[(len * 5 + o) % len] = *odds[o];
					sb_str(&doc, ends[e]);
					sb_str(&doc, tails[t]);
					parse_doc(doc.s, doc.n, 0, &f);
					parse_doc(doc.s, doc.n, 1, &sl);
					if (strcmp(f.out.s, sl.out.s) != 0 && bad++ < 3)
						diag("differ on %zu bytes:\n--- fast\n%s\n"
						    "--- slow\n%s", doc.n, f.out.s, sl.out.s);
					n++;
					sb_free(&doc);
					sb_free(&f.out);
					sb_free(&sl.out);
				}
	ok(bad == 0, "%d documents with the line end at every place of a "
	    "16-byte block: fast path and libcsv agree (%d differ)", n, bad);
}

/* ---- fixed cases ---- */

static int
parse_str(const char *doc, int slow, struct parse *res)
{
	parse_doc(doc, strlen(doc), slow, res);
	return res->rc;
}

/*
 * Parses doc both ways, checks they agree and that the result is want
 * (followed by "END <bytes>" unless want is an error).
 */
static void
check_doc(const char *doc, const char *want0, const char *name)
{
	struct parse f, s;
	struct sb w = { 0 };
	const char *want;

	sb_str(&w, want0);
	if (strstr(want0, "ERR ") == NULL)
		sb_fmt(&w, "END %zu", strlen(doc));
	want = w.s;
	parse_str(doc, 0, &f);
	parse_str(doc, 1, &s);
	if (!ok(strcmp(f.out.s, want) == 0 && strcmp(s.out.s, want) == 0,
	    "%s", name))
		diag("want:\n%s\nfast:\n%s\nslow:\n%s", want, f.out.s, s.out.s);
	sb_free(&w);
	sb_free(&f.out);
	sb_free(&s.out);
}

/* The records of doc[0..n) read with delimiter d, one line each, then
 * END or ERR. */
static void
read_with(const char *doc, size_t n, char d, struct sb *out)
{
	pt_err e;
	pt_csvrec r;
	pt_csv *c;
	int fd = doc_fd(doc, n), rc;

	pt_err_clear(&e);
	c = pt_csv_open(fd, "doc", &e);
	pt_csv_set_delimiter(c, d);
	while ((rc = pt_csv_next(c, &r, &e)) == 1)
		dump_rec(out, &r);
	sb_str(out, rc == 0 ? "END" : "ERR ");
	if (rc != 0)
		sb_str(out, e.msg);
	pt_csv_close(c);
	close(fd);
}

static size_t
gzip_of(const char *s, size_t n, char *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)(uintptr_t)s;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	deflateEnd(&z);
	return cap - z.avail_out;
}

static void
check_read(const char *doc, size_t n, char d, const char *want,
    const char *name)
{
	struct sb got = { 0 };

	read_with(doc, n, d, &got);
	if (!ok(strcmp(got.s, want) == 0, "%s", name))
		diag("want:\n%s\ngot:\n%s", want, got.s);
	sb_free(&got);
}

/* The forms another program may give the same rows in. */
static void
test_encodings(void)
{
	static const char rows[] = "a,b\n1,\"x,y\"\n";
	static const char want[] = "L1 N2 1:a 1:b\nL2 N2 1:1 3:x,y\nEND";
	char z[512], two[1024];
	size_t n, m;

	check_read("\xef\xbb\xbf" "a,b\n1,\"x,y\"\n", strlen(rows) + 3, ',',
	    want, "a UTF-8 byte order mark is not part of the first name");
	check_read("a;b\n1;\"x,y\"\n", strlen(rows), ';', want,
	    "--delimiter ';' (fast and quoted records)");
	n = gzip_of(rows, strlen(rows), z, sizeof z);
	check_read(z, n, ',', want, "gzip input is decoded");
	memcpy(two, z, n);
	memcpy(two + n, z, n);
	check_read(two, 2 * n, ',', "L1 N2 1:a 1:b\nL2 N2 1:1 3:x,y\n"
	    "L3 N2 1:a 1:b\nL4 N2 1:1 3:x,y\nEND",
	    "concatenated gzip members are one stream");
	check_read(z, n - 5, ',', "L1 N2 1:a 1:b\nL2 N2 1:1 3:x,y\nERR the gzip "
	    "stream is cut short", "a gzip stream cut in its trailer is an "
	    "error, not a short file");
	m = ZSTD_compress(z, sizeof z, rows, strlen(rows), 3);
	check_read(z, m, ',', want, "zstd input is decoded");
	memcpy(two, z, m);
	memcpy(two + m, z, m);
	check_read(two, 2 * m, ',', "L1 N2 1:a 1:b\nL2 N2 1:1 3:x,y\n"
	    "L3 N2 1:a 1:b\nL4 N2 1:1 3:x,y\nEND",
	    "concatenated zstd frames are one stream");
	check_read(z, m - 3, ',', "L1 N2 1:a 1:b\nERR the zstd stream is cut "
	    "short", "a cut zstd stream is an error, not a short file");
}

static void
test_fixed(void)
{
	check_doc("10,\"2) $100 - $200\",142.44\r\n",
	    "L1 N3 2:10 14:2) $100 - $200 6:142.44\n",
	    "Hillstrom-style quoted field, CRLF");
	check_doc("5,\"6) $750 - $1,000\",828.42\r\n1,2\r\n",
	    "L1 N3 1:5 16:6) $750 - $1,000 6:828.42\nL2 N2 1:1 1:2\n",
	    "a quoted comma stays in its field");
	check_doc("a,\"x\ny\",b\nc\n",
	    "L1 N3 1:a 3:x\ny 1:b\nL3 N1 1:c\n",
	    "embedded newline: the record spans two lines");
	check_doc("\"say \"\"hi\"\"\",2\n",
	    "L1 N2 8:say \"hi\" 1:2\n",
	    "\"\" escapes");
	check_doc("\"a\",b\na,b\n\"a\",\"b\"\n",
	    "L1 N2 1:a 1:b\nL2 N2 1:a 1:b\nL3 N2 1:a 1:b\n",
	    "unneeded quotes do not change the fields");
	check_doc("", "", "empty input: no records");
	check_doc("\n\r\n\n\r", "", "blank lines only: no records");
	check_doc("\n\na,b\r\n\r\n\nc",
	    "L3 N2 1:a 1:b\nL6 N1 1:c\n",
	    "blank lines skipped, numbering kept, no final newline");
	check_doc(" a , b\n,\n",
	    "L1 N2 3: a  2: b\nL2 N2 0: 0:\n",
	    "spaces are data; a lone comma is two empty fields");
	check_doc("a\rb,c\n",
	    "L1 N1 1:a\nL1 N2 1:b 1:c\n",
	    "a lone CR ends a record, as in libcsv");
	check_doc("\"\"\n",
	    "L1 N1 0:\n",
	    "one quoted empty field");
	check_doc("a,b\nc,\"d\ne",
	    "L1 N2 1:a 1:b\nERR 4 doc:2: unterminated quoted field",
	    "unterminated quote at EOF: error at the record's first line");
	check_doc("a\n\"b\nc\nd\"\"\n",
	    "L1 N1 1:a\nERR 4 doc:2: unterminated quoted field",
	    "unterminated after an escaped quote");
	check_doc("x\nab\"c\n",
	    "L1 N1 1:x\nERR 4 doc:2: malformed quoting: a quote inside an unquoted field, or text after a closing quote",
	    "quote inside an unquoted field");
	check_doc("\"a\"b\n", "ERR 4 doc:1: malformed quoting: a quote inside "
	    "an unquoted field, or text after a closing quote",
	    "text after a closing quote");
	check_doc("\"a\" ,b\n", "ERR 4 doc:1: malformed quoting: a quote "
	    "inside an unquoted field, or text after a closing quote",
	    "space after a closing quote");
	{
		static const char nul[] = "a\n1,x\0y,2\n";
		struct parse f, s;

		parse_doc(nul, sizeof nul - 1, 0, &f);
		parse_doc(nul, sizeof nul - 1, 1, &s);
		ok(strcmp(f.out.s, s.out.s) == 0 && f.rc == -1 &&
		    f.err.code == PT_EFORMAT && strcmp(f.err.where, "doc:2") == 0,
		    "NUL byte rejected: %s", f.err.msg);
		sb_free(&f.out);
		sb_free(&s.out);
	}
}

static void
test_big_field(int quoted, int slow)
{
	size_t n = 2u << 20, i;
	char *doc = malloc(n + 16), want[64];
	struct parse r;

	i = (size_t)snprintf(doc, 16, "a\nb,%s", quoted ? "\"" : "");
	memset(doc + i, 'x', n);
	i += n;
	i += (size_t)snprintf(doc + i, 8, "%s\n", quoted ? "\"" : "");
	parse_doc(doc, i, slow, &r);
	snprintf(want, sizeof want, "%u bytes", PT_CSV_MAX_FIELD);
	ok(r.rc == -1 && r.err.code == PT_ELIMIT && r.nrec == 1 &&
	    strcmp(r.err.where, "doc:2") == 0 && strstr(r.err.msg, want),
	    "2 MiB %s field, %s: PT_ELIMIT at doc:2 (%s)",
	    quoted ? "quoted" : "bare", slow ? "libcsv" : "fast path",
	    r.err.msg);
	sb_free(&r.out);
	free(doc);
}

static void
test_long_line(void)
{
	/* a 1.5 MiB line of short fields: too long for the fast path's
	 * buffer, read by libcsv piece by piece */
	size_t nf = 300000, i, n = 0;
	char *doc = malloc(nf * 5 + 16);
	struct parse f, s;

	for (i = 0; i < nf; i++) {
		memcpy(doc + n, i ? ",abcd" : "abcd", i ? 5 : 4);
		n += i ? 5 : 4;
	}
	memcpy(doc + n, "\r\nz\n", 4);
	n += 4;
	parse_doc(doc, n, 0, &f);
	parse_doc(doc, n, 1, &s);
	ok(f.rc == 0 && f.nrec == 2 && strcmp(f.out.s, s.out.s) == 0 &&
	    strncmp(f.out.s, "L1 N300000 4:abcd", 17) == 0 && f.bytes == n,
	    "1.5 MiB line of 300000 fields: both paths agree");
	sb_free(&f.out);
	sb_free(&s.out);

	/* over the record limit: 5 MiB of fields in one line */
	nf = 1000000;
	free(doc);
	doc = malloc(nf * 6 + 2);
	for (n = 0, i = 0; i < nf; i++, n += 6)
		memcpy(doc + n, "abcde,", 6);
	doc[n++] = '\n';
	parse_doc(doc, n, 0, &f);
	ok(f.rc == -1 && f.err.code == PT_ELIMIT && strstr(f.err.msg, "record"),
	    "5.7 MiB record: PT_ELIMIT (%s)", f.err.msg);
	sb_free(&f.out);
	free(doc);
}

static void
test_read_error(void)
{
	int fd = open(".", O_RDONLY);
	struct parse r;

	if (fd < 0) {
		ok(0, "open . for the read-error test: %s", strerror(errno));
		return;
	}
	parse_fd(fd, 0, &r);
	close(fd);
	ok(r.rc == -1 && r.err.code == PT_EIO && strncmp(r.err.where, "doc:", 4) == 0,
	    "reading a directory: PT_EIO (%s)", r.err.msg);
	sb_free(&r.out);
}

/*
 * Input through a pipe in 1-7 byte writes, so reads return tiny pieces and
 * records straddle every kind of boundary.  Compared with the same input
 * read whole.
 */
static void
test_tiny_chunks(int ndocs)
{
	struct sb doc = { 0 };
	struct parse whole, tiny_fast, tiny_slow;
	int i, p[2], status;
	pid_t pid;

	for (i = 0; i < ndocs; i++) {
		struct sb d1 = { 0 }, m1 = { 0 };

		/* valid documents ending in a newline concatenate validly */
		if (gen_doc(&d1, &m1, 12, 40, NULL) && d1.n > 0 &&
		    d1.s[d1.n - 1] == '\n')
			sb_add(&doc, d1.s, d1.n);
		sb_free(&d1);
		sb_free(&m1);
	}
	sb_str(&doc, "1,\"long ");
	for (i = 0; i < 5000; i++)
		sb_str(&doc, i % 100 == 99 ? "\r\n" : "x");
	sb_str(&doc, "\",2\r\nlast,line");
	parse_doc(doc.s, doc.n, 0, &whole);
	for (i = 0; i < 2; i++) {
		struct parse *res = i ? &tiny_slow : &tiny_fast;

		if (pipe(p) != 0 || (pid = fork()) < 0) {
			ok(0, "pipe/fork: %s", strerror(errno));
			return;
		}
		if (pid == 0) {
			size_t at = 0;

			close(p[0]);
			while (at < doc.n) {
				size_t k = 1 + rn(7);

				if (k > doc.n - at)
					k = doc.n - at;
				if (write(p[1], doc.s + at, k) != (ssize_t)k)
					_exit(1);
				at += k;
			}
			_exit(0);
		}
		close(p[1]);
		parse_fd(p[0], i, res);
		close(p[0]);
		waitpid(pid, &status, 0);
	}
	ok(whole.rc == 0 && whole.nrec > 10 &&
	    strcmp(whole.out.s, tiny_fast.out.s) == 0 &&
	    strcmp(whole.out.s, tiny_slow.out.s) == 0,
	    "%zu bytes in 1-7 byte pipe writes: %ld records, same as whole "
	    "(fast and libcsv)", doc.n, whole.nrec);
	sb_free(&doc);
	sb_free(&whole.out);
	sb_free(&tiny_fast.out);
	sb_free(&tiny_slow.out);
}

/* A valid document of several MiB: records cross the 1 MiB block edges. */
static void
test_big_doc(size_t target)
{
	struct sb doc = { 0 }, model = { 0 };
	struct parse f, s;
	unsigned long long line = 1;

	while (doc.n < target) {
		struct sb d1 = { 0 }, m1 = { 0 };
		unsigned long long l1 = line;

		if (gen_doc(&d1, &m1, 20, 30, &l1) && d1.n > 0 &&
		    d1.s[d1.n - 1] == '\n') {
			sb_add(&doc, d1.s, d1.n);
			sb_add(&model, m1.s, m1.n);
			line = l1;
		}
		sb_free(&d1);
		sb_free(&m1);
	}
	sb_fmt(&model, "END %zu", doc.n);
	parse_doc(doc.s, doc.n, 0, &f);
	parse_doc(doc.s, doc.n, 1, &s);
	ok(f.rc == 0 && strcmp(f.out.s, s.out.s) == 0 &&
	    strcmp(f.out.s, model.s) == 0,
	    "%zu-byte document (%ld records): fast, libcsv and model agree",
	    doc.n, f.nrec);
	sb_free(&doc);
	sb_free(&model);
	sb_free(&f.out);
	sb_free(&s.out);
}

static void
test_hillstrom(void)
{
	const char *top = getenv("PT_TOP");
	char path[4096];
	struct parse f, s;
	int fd;
	long nl = 0;
	FILE *fp;

	snprintf(path, sizeof path, "%s/../shared/data/hillstrom.csv",
	    top ? top : ".");
	if ((fp = fopen(path, "rb")) == NULL) {
		diag("%s absent: Hillstrom test skipped", path);
		return;
	}
	{
		int ch;

		while ((ch = getc(fp)) != EOF)
			nl += ch == '\n';
		fclose(fp);
	}
	fd = open(path, O_RDONLY);
	parse_fd(fd, 0, &f);
	close(fd);
	fd = open(path, O_RDONLY);
	parse_fd(fd, 1, &s);
	close(fd);
	ok(f.rc == 0 && f.nrec == nl && strcmp(f.out.s, s.out.s) == 0,
	    "hillstrom.csv: %ld records, fast path and libcsv identical",
	    f.nrec);
	sb_free(&f.out);
	sb_free(&s.out);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Tokenizer speed on 12-column rows: 10 numbers, a label, a number. */
static void
speed(int nrows)
{
	struct sb doc = { 0 };
	pt_csvrec r;
	pt_err e;
	pt_csv *c;
	double t0, t1;
	long n = 0, nf = 0;
	int i, j, fd;

	for (i = 0; i < nrows; i++) {
		for (j = 0; j < 10; j++)
			sb_fmt(&doc, "%.6f,", (double)(rnd() % 1000000000) / 1e6);
		sb_fmt(&doc, "%s,%d\n", rn(2) ? "treat" : "control", (int)rn(100));
	}
	fd = doc_fd(doc.s, doc.n);
	t0 = now();
	c = pt_csv_open(fd, "speed", &e);
	while (c != NULL && pt_csv_next(c, &r, &e) == 1) {
		n++;
		nf += (long)r.nfields;
	}
	pt_csv_close(c);
	t1 = now();
	close(fd);
	ok(n == nrows && nf == 12L * nrows, "speed sample: %ld rows read", n);
	diag("tokenizer: %.1f M rows/s, %.0f MB/s (12-column rows)",
	    n / (t1 - t0) / 1e6, doc.n / (t1 - t0) / 1e6);
	sb_free(&doc);
}

int
main(void)
{
	int san = getenv("PT_SANITIZE") != NULL;

	signal(SIGPIPE, SIG_IGN);
	test_fixed();
	test_encodings();
	test_big_field(0, 0);
	test_big_field(0, 1);
	test_big_field(1, 0);
	test_big_field(1, 1);
	test_long_line();
	test_block_edges();
	test_read_error();
	test_differential(san ? 2000 : 20000, 6, 6, "small");
	test_differential(san ? 200 : 2000, 30, 20, "larger");
	test_tiny_chunks(san ? 60 : 200);
	test_big_doc(san ? (5u << 20) / 4 : 3u << 20);
	test_hillstrom();
	speed(san ? 20000 : 200000);
	return done_testing();
}

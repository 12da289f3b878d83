/*
 * opt.c: the option tables' parser, --help and --list-options (opt.h).
 *
 * Not getopt_long: it cannot say that an option belongs to another verb,
 * it prints its own two-line complaints naming whatever argv[0] was, and
 * it takes any unambiguous prefix of a long option, so adding an option
 * could break a script that abbreviated another.  Here a long option is
 * spelled in full.
 */
#include "opt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"
#include "names.h"
#include "number.h"
#include "pt.h"

/* The build (Makefile: scripts/build-id); --version prints it. */
#ifndef PT_BUILD_ID
#define PT_BUILD_ID "unknown"
#endif

static const fe_opt fe_common[] = {
	{ FE_O_HELP, 'h', "help", FE_FLAG, NULL, FE_ALL_VERBS, 0, 0, NULL,
	  "this help (after a verb: that verb's help)" },
	{ FE_O_VERSION, 0, "version", FE_FLAG, NULL, FE_ALL_VERBS, 0, 0, NULL,
	  "the version" },
	{ FE_O_QUIET, 'q', "quiet", FE_FLAG, NULL, FE_ALL_VERBS, 0, 0, NULL,
	  "no warnings and no progress on stderr (errors still)" },
	{ FE_O_PROGRESS, 0, "progress", FE_FLAG, NULL, FE_ALL_VERBS, 0, 0, NULL,
	  "draw progress on stderr, when it is a terminal (rows, rows/s, and "
	  "percent and time left when the input size is known)" },
	{ FE_O_LISTOPTS, 0, "list-options", FE_FLAG, NULL, FE_ALL_VERBS, 0, 0,
	  NULL, "print the option table as tab-separated lines (short, long, "
	  "argument, verbs, help) and exit" },
};
#define NCOMMON ((int)(sizeof fe_common / sizeof fe_common[0]))

/* The i-th row of the program's table followed by the common rows. */
static const fe_opt *
row(const fe_cli *cli, int i)
{
	return i < cli->nopts ? &cli->opts[i] : &fe_common[i - cli->nopts];
}

static int
nrows(const fe_cli *cli)
{
	return cli->nopts + NCOMMON;
}

static int
takes(const fe_opt *o, int verb)
{
	return (o->verbs >> verb) & 1u;
}

static int
usage_err(const fe_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_err(const fe_cli *cli, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	(void)cli;
	fe_usage_error("%s", msg);
	return 2;
}

const char *
fe_verb_name(const fe_args *a)
{
	return a->cli->verbs[a->verb].name;
}

const char *
fe_opt_label(const fe_cli *cli, int id)
{
	static char buf[96];

	for (int i = 0; i < nrows(cli); i++) {
		const fe_opt *o = row(cli, i);
		if (o->id != id)
			continue;
		if (o->shortname)
			snprintf(buf, sizeof buf, "-%c/--%s", o->shortname, o->name);
		else
			snprintf(buf, sizeof buf, "--%s", o->name);
		return buf;
	}
	return "?";
}

/* A verb's name in messages: "cat", or "scoring" for a program's verb-less
 * mode. */
static const char *
verb_label(const fe_cli *cli, int verb)
{
	const char *v = cli->verbs[verb].name;

	return *v ? v : "scoring";
}

/* "fit, apply" into buf: the verbs that take an option called name. */
static const char *
takers(const fe_cli *cli, const char *name, size_t len, char letter,
    char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int k = 0; k < cli->nverbs; k++)
		for (int i = 0; i < cli->nopts; i++) {
			const fe_opt *o = &cli->opts[i];
			int match = name != NULL ? strlen(o->name) == len &&
			    memcmp(o->name, name, len) == 0 : o->shortname == letter;
			if (match && ((o->verbs >> k) & 1u) && n < size) {
				n += (size_t)snprintf(buf + n, size - n, "%s%s",
				    n ? ", " : "", verb_label(cli, k));
				break;
			}
		}
	return buf;
}

/* A whole number: decimal digits only, no sign, no exponent. */
static int
parse_whole(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (d > 9)
			return -1;
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
word_index(const char *words, const char *s)
{
	size_t n = strlen(s);
	int i = 0;

	for (const char *p = words; *p; i++) {
		size_t k = strcspn(p, "|");
		if (k == n && memcmp(p, s, n) == 0)
			return i;
		p += k;
		if (*p == '|')
			p++;
	}
	return -1;
}

/* "a, b or c" from "a|b|c", into buf. */
static const char *
words_text(const char *words, char *buf, size_t size)
{
	size_t n = 0;
	int count = 1;

	for (const char *p = words; *p; p++)
		count += *p == '|';
	buf[0] = '\0';
	for (const char *p = words; *p && n + 1 < size; count--) {
		size_t k = strcspn(p, "|");
		n += (size_t)snprintf(buf + n, size - n, "%s%.*s",
		    p == words ? "" : count == 1 ? " or " : ", ", (int)k, p);
		p += k;
		if (*p == '|')
			p++;
		if (n >= size)
			break;
	}
	return buf;
}

static int
set_value(const fe_cli *cli, const fe_opt *o, const char *arg, fe_val *v)
{
	char opt[80], words[256];
	uint64_t u;
	double d;

	snprintf(opt, sizeof opt, "--%s", o->name);
	v->s = arg;
	v->word = -1;
	switch (o->kind) {
	case FE_FLAG:
	case FE_STR:
		return 0;
	case FE_WORD:
		if ((v->word = word_index(o->words, arg)) < 0)
			return usage_err(cli, "%s: '%s' is not %s", opt, arg,
			    words_text(o->words, words, sizeof words));
		return 0;
	case FE_INT:
		if (o->words != NULL && (v->word = word_index(o->words, arg)) >= 0)
			return 0;
		if (parse_whole(arg, &u) != 0 || (double)u < o->lo ||
		    (double)u > o->hi)
			return usage_err(cli, "%s: '%s' is not a whole number from "
			    "%.0f to %.0f%s%s", opt, arg, o->lo, o->hi,
			    o->words ? ", or " : "", o->words ?
			    words_text(o->words, words, sizeof words) : "");
		v->u = u;
		v->d = (double)u;
		return 0;
	case FE_U64:
		if (parse_whole(arg, &u) != 0)
			return usage_err(cli, "%s: '%s' is not a whole number from "
			    "0 to 18446744073709551615", opt, arg);
		v->u = u;
		v->d = (double)u;
		return 0;
	case FE_NUM:
		if (pt_parse_f64(arg, strlen(arg), &d) != 0 || !isfinite(d) ||
		    d < o->lo || d > o->hi)
			return usage_err(cli, "%s: '%s' is not a number from %g "
			    "to %g", opt, arg, o->lo, o->hi);
		v->d = d;
		return 0;
	case FE_SIZE: {
		static const char units[] = "KMGT";
		size_t n = strlen(arg);
		const char *p = n > 0 ? strchr(units, arg[n - 1]) : NULL;
		int shift = p != NULL && *p != '\0' ? 10 * (int)(p - units + 1) : 0;
		char digits[32];
		if (shift > 0)
			n--;
		if (n == 0 || n >= sizeof digits)
			goto badsize;
		memcpy(digits, arg, n);
		digits[n] = '\0';
		if (parse_whole(digits, &u) != 0 ||
		    (shift > 0 && u > (UINT64_C(1) << (63 - shift)) - 1) ||
		    (shift == 0 && u >= UINT64_C(1) << 63))
			goto badsize;
		v->u = u << shift;
		v->d = (double)v->u;
		return 0;
badsize:
		return usage_err(cli, "%s: '%s' is not a size (a whole number of "
		    "bytes below 2^63, with K, M, G or T for powers of 1024)",
		    opt, arg);
	}
	case FE_STRS: {
		char **l = realloc(v->list, ((size_t)v->nlist + 1) *
		    sizeof *l);
		if (l == NULL)
			return usage_err(cli, "out of memory");
		v->list = l;
		if ((l[v->nlist] = strdup(arg)) == NULL)
			return usage_err(cli, "out of memory");
		v->nlist++;
		return 0;
	}
	case FE_LIST: {
		pt_err e;
		pt_err_clear(&e);
		pt_names l;
		pt_strs_free(v->list, v->nlist);
		v->list = NULL;
		v->nlist = 0;
		if (pt_names_split(&l, arg, &e) != 0) {
			pt_names_free(&l);
			return usage_err(cli, "%s: %s", opt, e.msg);
		}
		v->list = l.v;
		v->nlist = l.n;
		return 0;
	}
	}
	return 0;
}

/* The row for a long name or a short letter that verb takes; *other is
 * set when some other verb takes it. */
static const fe_opt *
lookup(const fe_cli *cli, int verb, const char *name, size_t len, char letter,
    int *other)
{
	*other = 0;
	for (int i = 0; i < nrows(cli); i++) {
		const fe_opt *o = row(cli, i);
		int match = name != NULL ? strlen(o->name) == len &&
		    memcmp(o->name, name, len) == 0 : o->shortname == letter &&
		    letter != 0;
		if (!match)
			continue;
		if (takes(o, verb))
			return o;
		*other = 1;
	}
	return NULL;
}

static void help(const fe_cli *cli, int verb, FILE *fp);
static void list_options(const fe_cli *cli);

/* Writes what was printed on stdout; a full disk or a closed pipe there is
 * an error like any other. */
static int
served(const fe_cli *cli)
{
	(void)cli;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fe_errorx("<stdout>: write error: %s", strerror(errno));
		return 2;
	}
	return 1;
}

static int
operands_ok(const fe_cli *cli, fe_args *a)
{
	const fe_verb *vb = &cli->verbs[a->verb];

	if (a->argc < vb->minargs)
		return usage_err(cli, "%s needs %s", verb_label(cli, a->verb),
		    vb->minargs == 1 ? "an operand" : "more operands");
	if (vb->maxargs >= 0 && a->argc > vb->maxargs) {
		if (vb->maxargs == 0)
			return usage_err(cli, "%s takes no operands ('%s')",
			    verb_label(cli, a->verb), a->argv[0]);
		return usage_err(cli, "%s takes at most %d operand%s ('%s')",
		    verb_label(cli, a->verb), vb->maxargs,
		    vb->maxargs == 1 ? "" : "s", a->argv[vb->maxargs]);
	}
	return 0;
}

int
fe_parse(const fe_cli *cli, int argc, char **argv, fe_args *a)
{
	int i = 1, rc;

	memset(a, 0, sizeof *a);
	a->cli = cli;
	a->verb = cli->default_verb;
	if ((a->argv = calloc((size_t)argc + 1, sizeof *a->argv)) == NULL) {
		fe_errorx("out of memory");
		return 2;
	}
	for (int k = 0; k < FE_MAXOPTS; k++)
		a->v[k].word = -1;
	if (argc > 1) {
		for (int k = 0; k < cli->nverbs; k++)
			if (cli->verbs[k].name[0] != '\0' &&
			    strcmp(argv[1], cli->verbs[k].name) == 0) {
				a->verb = k;
				i = 2;
				break;
			}
	}
	if (a->verb < 0) {
		/* No verb: only the program's own requests make sense. */
		if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			help(cli, -1, stdout);
			return served(cli);
		}
		if (argc > 1 && strcmp(argv[1], "--version") == 0) {
			printf("%s %s (%s)\n", cli->prog, PT_VERSION, PT_BUILD_ID);
			return served(cli);
		}
		if (argc > 1 && strcmp(argv[1], "--list-options") == 0) {
			list_options(cli);
			return served(cli);
		}
		{
			char verbs[512];
			size_t n = 0;
			for (int k = 0; k < cli->nverbs && n < sizeof verbs; k++)
				n += (size_t)snprintf(verbs + n, sizeof verbs - n,
				    "%s%s", k == 0 ? "" : k + 1 == cli->nverbs ?
				    " or " : ", ", cli->verbs[k].name);
			if (argc > 1 && argv[1][0] != '-')
				return usage_err(cli, "unknown verb '%s' (%s)",
				    argv[1], verbs);
			return usage_err(cli, "a verb is needed first: %s", verbs);
		}
	}
	for (; i < argc; i++) {
		const char *s = argv[i], *arg = NULL, *eq;
		const fe_opt *o;
		int other;
		if (strcmp(s, "--") == 0) {
			for (i++; i < argc; i++)
				a->argv[a->argc++] = argv[i];
			break;
		}
		if (s[0] != '-' || s[1] == '\0') {
			a->argv[a->argc++] = argv[i];
			continue;
		}
		if (s[1] == '-') {
			size_t len;
			eq = strchr(s + 2, '=');
			len = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
			o = lookup(cli, a->verb, s + 2, len, 0, &other);
			if (o == NULL) {
				char who[256];
				if (other)
					return usage_err(cli, "%s does not take "
					    "--%.*s (%s does)", verb_label(cli,
					    a->verb), (int)len, s + 2, takers(cli,
					    s + 2, len, 0, who, sizeof who));
				return usage_err(cli, "unknown option '--%.*s'",
				    (int)len, s + 2);
			}
			if (o->kind == FE_FLAG && eq != NULL)
				return usage_err(cli, "--%s takes no argument",
				    o->name);
			if (o->kind != FE_FLAG) {
				if (eq != NULL)
					arg = eq + 1;
				else if (i + 1 < argc)
					arg = argv[++i];
				else
					return usage_err(cli, "--%s needs an "
					    "argument (%s)", o->name, o->meta ?
					    o->meta : "a value");
			}
			a->v[o->id].set++;
			if ((rc = set_value(cli, o, arg, &a->v[o->id])) != 0)
				return rc;
			continue;
		}
		/* A cluster of short options: -fq, -o FILE, -oFILE. */
		for (const char *p = s + 1; *p; p++) {
			o = lookup(cli, a->verb, NULL, 0, *p, &other);
			if (o == NULL) {
				char who[256];
				if (other)
					return usage_err(cli, "%s does not take "
					    "-%c (%s does)", verb_label(cli, a->verb),
					    *p, takers(cli, NULL, 0, *p, who,
					    sizeof who));
				return usage_err(cli, "unknown option '-%c'", *p);
			}
			a->v[o->id].set++;
			if (o->kind == FE_FLAG) {
				if ((rc = set_value(cli, o, NULL,
				    &a->v[o->id])) != 0)
					return rc;
				continue;
			}
			if (p[1] != '\0')
				arg = p + 1;
			else if (i + 1 < argc)
				arg = argv[++i];
			else
				return usage_err(cli, "-%c needs an argument (%s)",
				    *p, o->meta ? o->meta : "a value");
			if ((rc = set_value(cli, o, arg, &a->v[o->id])) != 0)
				return rc;
			break;
		}
	}
	if (a->v[FE_O_HELP].set) {
		help(cli, a->verb, stdout);
		return served(cli);
	}
	if (a->v[FE_O_VERSION].set) {
		printf("%s %s (%s)\n", cli->prog, PT_VERSION, PT_BUILD_ID);
		return served(cli);
	}
	if (a->v[FE_O_LISTOPTS].set) {
		list_options(cli);
		return served(cli);
	}
	fe_quiet(a->v[FE_O_QUIET].set > 0);
	fe_progress_enable(a->v[FE_O_PROGRESS].set > 0 &&
	    !a->v[FE_O_QUIET].set);
	return operands_ok(cli, a);
}

void
fe_args_free(fe_args *a)
{
	for (int k = 0; k < FE_MAXOPTS; k++)
		pt_strs_free(a->v[k].list, a->v[k].nlist);
	free(a->argv);
	memset(a, 0, sizeof *a);
}

const char *
fe_str(const fe_args *a, int id, const char *dflt)
{
	return a->v[id].set ? a->v[id].s : dflt;
}

uint64_t
fe_u64(const fe_args *a, int id, uint64_t dflt)
{
	return a->v[id].set && a->v[id].word < 0 ? a->v[id].u : dflt;
}

double
fe_num(const fe_args *a, int id, double dflt)
{
	return a->v[id].set && a->v[id].word < 0 ? a->v[id].d : dflt;
}

int
fe_word(const fe_args *a, int id, int dflt)
{
	return a->v[id].set ? a->v[id].word : dflt;
}

int
fe_flag(const fe_args *a, int id)
{
	return a->v[id].set > 0;
}

/* ---- --help ----------------------------------------------------------- */

#define HELP_COL 25
#define HELP_WIDTH 79

/* Prints text from column col, wrapped at HELP_WIDTH, continuation lines
 * indented to col. */
static void
wrap(FILE *fp, const char *text, int col, int at)
{
	const char *p = text;

	while (*p) {
		const char *end = p, *brk = NULL;
		int room = HELP_WIDTH - at;
		while (*end && end - p <= room) {
			if (*end == ' ')
				brk = end;
			end++;
		}
		if (*end == '\0' && end - p <= room)
			brk = end;
		else if (brk == NULL) /* one long word */
			for (brk = p; *brk && *brk != ' '; brk++)
				;
		fprintf(fp, "%.*s\n", (int)(brk - p), p);
		p = brk;
		while (*p == ' ')
			p++;
		if (*p) {
			fprintf(fp, "%*s", col, "");
			at = col;
		}
	}
}

static void
opt_line(FILE *fp, const fe_opt *o)
{
	char head[96];
	int n;

	if (o->shortname)
		n = snprintf(head, sizeof head, "  -%c, --%s%s%s", o->shortname,
		    o->name, o->meta ? " " : "", o->meta ? o->meta : "");
	else
		n = snprintf(head, sizeof head, "      --%s%s%s", o->name,
		    o->meta ? " " : "", o->meta ? o->meta : "");
	fputs(head, fp);
	if (n + 1 >= HELP_COL) {
		fprintf(fp, "\n%*s", HELP_COL, "");
		n = HELP_COL;
	} else {
		fprintf(fp, "%*s", HELP_COL - n, "");
		n = HELP_COL;
	}
	wrap(fp, o->help, HELP_COL, n);
}

static void
synopsis(FILE *fp, const fe_cli *cli, int verb, int *first)
{
	const fe_verb *vb = &cli->verbs[verb];
	const char *p = vb->synopsis;

	do {
		size_t k = strcspn(p, "\n");
		fprintf(fp, "%s %s%s%s%s%.*s\n", *first ? "usage:" : "      ",
		    cli->prog, *vb->name ? " " : "", vb->name, k ? " " : "",
		    (int)k, p);
		*first = 0;
		p += k;
		if (*p == '\n')
			p++;
	} while (*p);
}

/* The verbs of a mask, "fit, apply", into buf. */
static void
mask_text(const fe_cli *cli, unsigned mask, const char *sep, char *buf,
    size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int k = 0; k < cli->nverbs && n < size; k++)
		if ((mask >> k) & 1u)
			n += (size_t)snprintf(buf + n, size - n, "%s%s",
			    n ? sep : "", verb_label(cli, k));
}

static unsigned
all_mask(const fe_cli *cli)
{
	return cli->nverbs >= 32 ? FE_ALL_VERBS : (1u << cli->nverbs) - 1;
}

static void
help(const fe_cli *cli, int verb, FILE *fp)
{
	int first = 1, n = nrows(cli);
	unsigned all = all_mask(cli);
	char *done = calloc((size_t)n, 1);

	if (verb >= 0) {
		/* One verb: its synopsis and every option it takes. */
		synopsis(fp, cli, verb, &first);
		if (cli->verbs[verb].summary) {
			fputc('\n', fp);
			wrap(fp, cli->verbs[verb].summary, 0, 0);
		}
		fprintf(fp, "\noptions:\n");
		for (int i = 0; i < n; i++)
			if (takes(row(cli, i), verb))
				opt_line(fp, row(cli, i));
		free(done);
		return;
	}
	for (int k = 0; k < cli->nverbs; k++)
		synopsis(fp, cli, k, &first);
	fputc('\n', fp);
	for (int k = 0; k < cli->nverbs; k++)
		if (cli->verbs[k].summary) {
			fprintf(fp, "  %-*s", HELP_COL - 2, verb_label(cli, k));
			wrap(fp, cli->verbs[k].summary, HELP_COL, HELP_COL);
		}
	/* Options grouped by the verbs that take them, groups in the order
	 * of their first option in the table; options every verb takes
	 * last. */
	for (int i = 0; i < n && done != NULL; i++) {
		unsigned mask = row(cli, i)->verbs & all;
		char verbs[512];
		if (done[i] || mask == all)
			continue;
		mask_text(cli, mask, ", ", verbs, sizeof verbs);
		fprintf(fp, "\n%s options:\n", verbs);
		for (int j = i; j < n; j++)
			if (!done[j] && (row(cli, j)->verbs & all) == mask) {
				opt_line(fp, row(cli, j));
				done[j] = 1;
			}
	}
	fprintf(fp, "\n%s:\n", cli->nverbs > 1 ? "options of every verb" :
	    "options");
	for (int i = 0; i < n; i++)
		if ((row(cli, i)->verbs & all) == all)
			opt_line(fp, row(cli, i));
	if (cli->epilog)
		fprintf(fp, "\n%s", cli->epilog);
	free(done);
}

static void
list_options(const fe_cli *cli)
{
	unsigned all = all_mask(cli);

	for (int i = 0; i < nrows(cli); i++) {
		const fe_opt *o = row(cli, i);
		char verbs[512];
		if ((o->verbs & all) == all)
			snprintf(verbs, sizeof verbs, "*");
		else
			mask_text(cli, o->verbs & all, ",", verbs, sizeof verbs);
		char shortname[3] = { '-', o->shortname, '\0' };
		printf("%s\t%s\t%s\t%s\t%s\n", o->shortname ? shortname : "",
		    o->name, o->meta ? o->meta : "", verbs, o->help);
	}
}

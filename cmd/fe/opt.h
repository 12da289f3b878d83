/*
 * opt.h: one option table per program, in the manner of curl's tool
 * options.  A row says an option's names, its argument and how to check
 * it, the verbs that take it and its help line; parsing, --help and
 * --list-options (which tests/man-options.t holds the manual pages
 * against) are all made from the rows, so none of them can disagree.
 *
 * Every program shares the rows of fe_common (-h/--help, --version,
 * -q/--quiet, --progress, --list-options), which fe_parse serves itself.
 */
#ifndef PT_FE_OPT_H
#define PT_FE_OPT_H

#include <stdint.h>

/* How an option's argument is checked and what fe_parse makes of it. */
typedef enum fe_argkind {
	FE_FLAG,  /* no argument */
	FE_STR,   /* any text, as given */
	FE_INT,   /* a whole number in [lo, hi] (digits only; hi <= 2^53);
		   * with words set, one of those words is taken too */
	FE_U64,   /* any whole number from 0 to 2^64 - 1 (seeds) */
	FE_NUM,   /* a finite number in [lo, hi] (policy-prep's strict grammar) */
	FE_SIZE,  /* bytes: a whole number with an optional K, M, G or T
		   * (powers of 1024), below 2^63 */
	FE_WORD,  /* one of the words in words ("dr|dm|ipw") */
	FE_LIST,  /* a comma-separated list; an item may be double-quoted
		   * CSV-style to hold commas ("a,b",c) */
	FE_STRS   /* any text, and the option may be given more than once:
		   * every value is kept in list, in order (fe_str: the last) */
} fe_argkind;

/* One row of a program's table.  id indexes fe_args.v; two rows may share
 * a name when their verbs do not overlap (synth's --missing is a share,
 * fit's a policy). */
typedef struct fe_opt {
	int id;
	char shortname;      /* 0: none */
	const char *name;    /* the long name, without "--" */
	fe_argkind kind;
	const char *meta;    /* the argument's name in help ("COL"), or NULL */
	unsigned verbs;      /* bit i set: verb i takes it */
	double lo, hi;       /* FE_INT, FE_NUM */
	const char *words;   /* FE_WORD, FE_INT: "a|b|c" */
	const char *help;    /* one sentence, no trailing period */
} fe_opt;

#define FE_ALL_VERBS 0xffffffffu

/* A verb: policy-prep fit, policy-split best.  A program without verbs
 * (or with a mode used when argv[1] is not a verb: policy-score -M) has
 * a verb with name "". */
typedef struct fe_verb {
	const char *name;
	const char *synopsis; /* the arguments after "prog verb"; lines split
			       * by \n for several forms */
	int minargs, maxargs; /* operands; maxargs < 0: any number */
	const char *summary;  /* one line for --help */
} fe_verb;

typedef struct fe_cli {
	const char *prog;
	const fe_verb *verbs;
	int nverbs;
	int default_verb;     /* verb used when argv[1] is none; -1: required */
	const fe_opt *opts;   /* the program's own rows */
	int nopts;
	const char *epilog;   /* lines printed at the end of --help */
} fe_cli;

/* Ids of the common options; a program's own ids are below FE_O_COMMON. */
enum {
	FE_O_COMMON = 56,
	FE_O_HELP = FE_O_COMMON, FE_O_VERSION, FE_O_QUIET, FE_O_PROGRESS,
	FE_O_LISTOPTS,
	FE_MAXOPTS
};

/* What the command line said for one option. */
typedef struct fe_val {
	int set;          /* times given (the last one counts) */
	const char *s;    /* the argument's text; NULL for a flag */
	uint64_t u;       /* FE_INT, FE_U64, FE_SIZE */
	double d;         /* FE_NUM (and FE_INT, as a double) */
	int word;         /* FE_WORD, FE_INT with words: the word's index, or -1 */
	char **list;      /* FE_LIST: the items (owned by fe_args) */
	int nlist;
} fe_val;

typedef struct fe_args {
	const fe_cli *cli;
	int verb;         /* index into cli->verbs */
	fe_val v[FE_MAXOPTS];
	int argc;         /* the operands, in order */
	char **argv;      /* (owned by fe_args; the strings are argv's) */
} fe_args;

/* Parses argv: the verb (argv[1], or cli->default_verb), options anywhere
 * before "--", operands.  An option the verb does not take, a bad value,
 * a missing argument or the wrong number of operands prints exactly one
 * line on stderr, "prog: ... (see prog --help)".  Serves -h/--help,
 * --version and --list-options itself, and sets up --quiet and
 * --progress (fe_quiet, fe_progress_enable).
 * Returns 0 to go on, 1 when a request was served (exit 0), 2 on a usage
 * error (exit 2; the message is printed).  Free a with fe_args_free. */
int fe_parse(const fe_cli *cli, int argc, char **argv, fe_args *a);
void fe_args_free(fe_args *a);

/* The verb's name, for messages. */
const char *fe_verb_name(const fe_args *a);

/* A value or the default: the text, the number, the word index. */
const char *fe_str(const fe_args *a, int id, const char *dflt);
uint64_t fe_u64(const fe_args *a, int id, uint64_t dflt);
double fe_num(const fe_args *a, int id, double dflt);
int fe_word(const fe_args *a, int id, int dflt);
int fe_flag(const fe_args *a, int id);

/* "name" or "-s/--name", for messages about an option. */
const char *fe_opt_label(const fe_cli *cli, int id);

#endif

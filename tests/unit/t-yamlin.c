/*
 * t-yamlin.c: the one YAML reader holds every file to the same rules: one
 * document with a mapping at its root, nesting at most PT_Y_MAXDEPTH deep,
 * no anchors or aliases, no key twice, no NUL byte in a value, and no key a
 * reader did not ask for; errors name the file and the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlin.h"
#include "../tap.h"

/* Loads text; 1 when it loads, else 0 with e set. */
static int
loads(const char *text, pt_err *e)
{
	pt_ydoc d;
	yaml_node_t *root = pt_ydoc_load(&d, text, strlen(text), "f.yaml", e);

	pt_ydoc_free(&d);
	return root != NULL;
}

/* Refused, and the message holds want (and the where holds where). */
static void
refused(const char *text, const char *where, const char *want,
    const char *what)
{
	pt_err e;

	pt_err_clear(&e);
	if (loads(text, &e)) {
		ok(0, "%s: refused", what);
		return;
	}
	ok(strstr(e.msg, want) != NULL && strcmp(e.where, where) == 0,
	    "%s: refused (%s: %s)", what, e.where, e.msg);
}

int
main(void)
{
	static const char nul[] = "a: 1\nb: \"x\\0y\"\n";
	const char *const known[] = { "a", "b", NULL };
	char deep[4 * PT_Y_MAXDEPTH + 64];
	size_t n = 0;
	pt_ydoc d;
	yaml_node_t *root;
	pt_err e;
	int i;

	ok(loads("a: 1\nb: [x, y]\nc: {d: e}\n", &e), "a plain file loads");
	refused(nul, "f.yaml:2", "NUL", "a NUL byte in a quoted value");
	refused("a: &x 1\nb: *x\n", "f.yaml:1", "anchor", "an anchor");
	refused("a: 1\na: 2\n", "f.yaml:2", "twice", "a key twice");
	refused("a: 1\n---\nb: 2\n", "f.yaml:2", "second YAML document", "two documents");
	refused("- a\n- b\n", "f.yaml", "mapping", "a sequence at the root");
	refused("a: [1, 2\n", "f.yaml:2", "malformed YAML", "an unclosed sequence");

	/* PT_Y_MAXDEPTH levels load; one more is refused. */
	for (i = 0; i < PT_Y_MAXDEPTH - 1; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "{a: ");
	n += (size_t)snprintf(deep + n, sizeof deep - n, "1");
	for (i = 0; i < PT_Y_MAXDEPTH - 1; i++)
		deep[n++] = '}';
	deep[n] = '\0';
	{
		char *doc = malloc(n + 8);
		snprintf(doc, n + 8, "x: %s\n", deep);
		pt_err_clear(&e);
		ok(loads(doc, &e), "%d levels load: %s", PT_Y_MAXDEPTH,
		    e.msg);
		snprintf(doc, n + 8, "x: [%s]\n", deep);
		pt_err_clear(&e);
		ok(!loads(doc, &e) && strstr(e.msg, "deep") != NULL,
		    "%d levels are refused: %s", PT_Y_MAXDEPTH + 1, e.msg);
		free(doc);
	}

	/* A key no reader asked for names itself and its line. */
	root = pt_ydoc_load(&d, "a: 1\nb: 2\nzz: 3\n", 15, "f.yaml", &e);
	pt_err_clear(&e);
	ok(root != NULL && pt_ymap_only(&d, root, known, &e) < 0 &&
	    strstr(e.msg, "zz") != NULL && strcmp(e.where, "f.yaml:3") == 0,
	    "an unknown key is refused (%s: %s)", e.where, e.msg);
	pt_ydoc_free(&d);
	return done_testing();
}

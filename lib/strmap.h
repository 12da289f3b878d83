/*
 * strmap.h: a hash map from byte strings to a count and an int, for the
 * labels and levels fit counts (treatment labels, categorical levels) and
 * the level -> feature lookup apply makes for every categorical field.
 */
#ifndef PT_STRMAP_H
#define PT_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/* Open addressing; a zeroed struct is the empty map.  Slots are indexes
 * into the arrays; key[slot] == NULL marks an empty one. */
typedef struct pt_strmap {
	size_t cap, n;
	char **key;      /* NUL-terminated copies, owned by the map */
	size_t *klen;
	uint64_t *count; /* times pt_strmap_add met the key */
	int *val;        /* the value given when the key was first added */
} pt_strmap;

/* The slot of the n bytes at s, or -1 when absent. */
long pt_strmap_find(const pt_strmap *m, const char *s, size_t n);

/* Adds the n bytes at s with value val, or counts them again when present
 * (val is then ignored).  Returns the slot, or -1 when out of memory (the
 * map is unchanged). */
long pt_strmap_add(pt_strmap *m, const char *s, size_t n, int val);

/* Frees the keys and arrays; m is the empty map again. */
void pt_strmap_free(pt_strmap *m);

/* Copies of the keys sorted bytewise, in a NULL-terminated array of
 * m->n strings that the caller frees (pt_strs_free), or NULL when out of
 * memory. */
char **pt_strmap_sorted(const pt_strmap *m);

#endif

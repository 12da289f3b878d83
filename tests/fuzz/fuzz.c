/*
 * fuzz.c: the harnesses' shared helpers (fuzz.h): exact-size copies, the
 * seals of each file kind recomputed, and a memory file to read frames and
 * CSV from.
 */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xxhash.h>

#include "xsum.h"

static void *
xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

char *
fz_copy(const uint8_t *data, size_t size)
{
	char *p = xmalloc(size);

	if (size > 0)
		memcpy(p, data, size);
	return p;
}

char *
fz_seal_yaml(const uint8_t *data, size_t size, size_t *len)
{
	const char *s = (const char *)data;
	size_t keep = size, p = size, n;
	char hex[33], *out;

	/* The last line (with or without its line end) goes when it is a
	 * digest line; otherwise the content ends with a line end. */
	if (p > 0 && s[p - 1] == '\n')
		p--;
	while (p > 0 && s[p - 1] != '\n')
		p--;
	if (size - p >= 7 && memcmp(s + p, "digest:", 7) == 0)
		keep = p;
	out = xmalloc(keep + 1 + 41);
	memcpy(out, s, keep);
	n = keep;
	if (n > 0 && out[n - 1] != '\n')
		out[n++] = '\n';
	pt_h128_hex(pt_hash128(out, n, 0), hex);
	memcpy(out + n, "digest: ", 8);
	memcpy(out + n + 8, hex, 32);
	out[n + 40] = '\n';
	*len = n + 41;
	return out;
}

/* The first occurrence of needle in s[from..size), or size. */
static size_t
find(const char *s, size_t size, size_t from, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = from; i + k <= size; i++)
		if (memcmp(s + i, needle, k) == 0)
			return i;
	return size;
}

char *
fz_seal_partial(const uint8_t *data, size_t size, size_t *len)
{
	const char *s = (const char *)data;
	size_t bodyline, body, ck = size, i, n;
	char num[32], tail[40], *out;
	int nl;

	/* The header is text up to the first "body" line; the body is binary
	 * up to the last "checksum" line, which may occur inside it too. */
	if ((bodyline = find(s, size, 0, "\nbody ")) == size)
		return NULL;
	bodyline += 1;
	if ((body = find(s, size, bodyline, "\n")) == size)
		return NULL;
	body += 1;
	for (i = body; (i = find(s, size, i, "\nchecksum ")) < size; i++)
		ck = i;
	if (ck == size)
		return NULL;
	nl = snprintf(num, sizeof num, "body %zu\n", ck - body);
	out = xmalloc(bodyline + (size_t)nl + (ck - body) + sizeof tail);
	memcpy(out, s, bodyline);
	memcpy(out + bodyline, num, (size_t)nl);
	memcpy(out + bodyline + nl, s + body, ck - body);
	n = bodyline + (size_t)nl + (ck - body);
	nl = snprintf(tail, sizeof tail, "\nchecksum %016" PRIx64 "\n",
	    (uint64_t)XXH3_64bits(out, n));
	memcpy(out + n, tail, (size_t)nl);
	*len = n + (size_t)nl;
	return out;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

char *
fz_seal_frames(const uint8_t *data, size_t size, size_t *len)
{
	unsigned char *p = (unsigned char *)fz_copy(data, size);
	uint64_t schema = 0;
	int have_schema = 0;
	size_t o = 0;

	/* man/policy-frames.5: a 48-byte header, plen bytes of payload, an
	 * 8-byte frame check; the schema digest is the XXH3-64 of the schema
	 * frame's payload. */
	while (size - o >= 56) {
		uint64_t plen = get64(p + o + 24);

		if (plen > size - o - 56)
			break;
		if (p[o + 6] == 1) {
			schema = XXH3_64bits(p + o + 48, (size_t)plen);
			have_schema = 1;
		}
		if (have_schema)
			put64(p + o + 32, schema);
		put64(p + o + 40, XXH3_64bits(p + o, 40));
		put64(p + o + 48 + plen, XXH3_64bits(p + o, 48 + (size_t)plen));
		o += 56 + (size_t)plen;
	}
	*len = size;
	return (char *)p;
}

int
fz_fd(const void *data, size_t size)
{
	static int fd = -1;
	const char *p = data;

	if (fd < 0) {
		fd = memfd_create("fuzz-input", 0);
		if (fd < 0) {
			char path[] = "/tmp/fuzz-input.XXXXXX";
			if ((fd = mkstemp(path)) < 0)
				abort();
			unlink(path);
		}
	}
	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	while (size > 0) {
		ssize_t k = write(fd, p, size);
		if (k <= 0)
			abort();
		p += k;
		size -= (size_t)k;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

void
fz_parse_both(const uint8_t *data, size_t size, fz_seal_fn *seal,
    void (*parse)(const char *buf, size_t len))
{
	char *raw = fz_copy(data, size), *sealed;
	size_t n;

	parse(raw, size);
	free(raw);
	if (seal == NULL || (sealed = seal(data, size, &n)) == NULL)
		return;
	if (n != size || memcmp(sealed, data, n) != 0)
		parse(sealed, n);
	free(sealed);
}

void
fz_assert(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz check failed: %s\n", what);
		abort();
	}
}

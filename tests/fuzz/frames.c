/*
 * frames: the frame decoder (lib/frame.h) as every program reads its
 * input: pt_reader_open on a file descriptor holding the input, then
 * pt_reader_next until the end or an error, every value of every batch
 * read.
 */
#include "frame.h"
#include "fuzz.h"

static volatile unsigned sink;

/* Reads every value of a batch, so ASan sees a column shorter than its
 * rows. */
static unsigned
touch(const pt_batch *b)
{
	unsigned x = 0;

	for (int j = 0; j < b->schema->ncols; j++) {
		const unsigned char *p = b->col[j];
		size_t n = b->nrows * pt_type_width(b->schema->cols[j].type);

		for (size_t i = 0; i < n; i++)
			x += p[i];
	}
	return x;
}

static void
parse(const char *buf, size_t len)
{
	pt_err e;
	const pt_batch *b;
	pt_reader *r = pt_reader_open(fz_fd(buf, len), "fuzz", &e);

	if (r == NULL)
		return;
	while (pt_reader_next(r, &b, &e) == 1)
		sink += touch(b);
	pt_reader_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_parse_both(data, size, fz_seal_frames, parse);
	return 0;
}

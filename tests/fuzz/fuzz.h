/*
 * fuzz.h: what the libFuzzer harnesses in tests/fuzz share.
 *
 * Every file the programs read is sealed: manifests, models, forests,
 * trees, model partials and signatures end with a digest line over the
 * bytes above it, histogram partials with a checksum, frames with a header
 * check and a frame check.  A mutated input almost never carries the right
 * seal, so a harness that only fed the raw bytes would test little more
 * than the seal check.  Each harness therefore parses the input as it is
 * (as a program would) and then, when resealing changes it, the input
 * with its seal recomputed, so that mutations reach the parser behind it.
 *
 * Buffers are malloc'd to exactly the input's size (a NUL after it only
 * where an API needs one), so AddressSanitizer catches a read past the end.
 */
#ifndef PT_FUZZ_H
#define PT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* A malloc'd copy of data[0..size) with no terminator (never NULL: aborts
 * when out of memory, which libFuzzer reports). */
char *fz_copy(const uint8_t *data, size_t size);

/* The input with its final "digest: <32 hex>" line recomputed (added when
 * there is none), as the YAML files of policy-tools carry it.  *len gets
 * the length; the caller frees. */
char *fz_seal_yaml(const uint8_t *data, size_t size, size_t *len);

/* A histogram partial with its body length and checksum recomputed, or
 * NULL when the input has no "body" and "checksum" lines to recompute. */
char *fz_seal_partial(const uint8_t *data, size_t size, size_t *len);

/* A frame stream with every complete frame's schema digest, header check
 * and frame check recomputed.  *len = size. */
char *fz_seal_frames(const uint8_t *data, size_t size, size_t *len);

/* A file descriptor, open for reading at offset 0, that holds exactly
 * data[0..size): one memory file per process, rewritten for each input. */
int fz_fd(const void *data, size_t size);

/* A resealing function: one of the fz_seal_ above (NULL: nothing to do). */
typedef char *fz_seal_fn(const uint8_t *data, size_t size, size_t *len);

/* Calls parse on an exact-size copy of the input, then on the resealed
 * input when seal gives one that differs. */
void fz_parse_both(const uint8_t *data, size_t size, fz_seal_fn *seal,
    void (*parse)(const char *buf, size_t len));

/* Aborts, so that libFuzzer reports the input, when ok is 0: the
 * harnesses' own checks (a writer's output the reader refuses...). */
void fz_assert(int ok, const char *what);

/* What every harness defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

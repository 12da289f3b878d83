/*
 * testrng.h: the tests' random numbers (splitmix64), so test data is the
 * same on every machine.  A test sets TEST_RNG_SEED before including it to
 * keep its own sequence.
 */
#ifndef TESTRNG_H
#define TESTRNG_H

#include <stdint.h>

#ifndef TEST_RNG_SEED
#define TEST_RNG_SEED 7
#endif

static uint64_t rs = TEST_RNG_SEED;

static uint64_t
rn(void)
{
	uint64_t x = (rs += UINT64_C(0x9e3779b97f4a7c15));
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Uniform on [0, 1) with 53 random bits. */
static double
unif(void)
{
	return (double)(rn() >> 11) / 9007199254740992.0;
}

#endif

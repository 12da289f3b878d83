/*
 * cpu.c: the library's one CPU feature check (cpu.h), so that every SIMD
 * kernel is chosen from the same answer and none asks the CPU again.
 */
#include "cpu.h"

/* The PT_CPU_* bits the CPU has. */
static unsigned
cpu_ask(void)
{
	unsigned f = 0;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt"))
		f |= PT_CPU_AVX2;
	if (__builtin_cpu_supports("avx512f"))
		f |= PT_CPU_AVX512F;
	if (__builtin_cpu_supports("avx512vl"))
		f |= PT_CPU_AVX512VL;
	if (__builtin_cpu_supports("avx512cd"))
		f |= PT_CPU_AVX512CD;
	if (__builtin_cpu_supports("avx512dq"))
		f |= PT_CPU_AVX512DQ;
	if (__builtin_cpu_supports("avx512bw"))
		f |= PT_CPU_AVX512BW;
	if (__builtin_cpu_supports("avx512vbmi"))
		f |= PT_CPU_AVX512VBMI;
	if (__builtin_cpu_supports("bmi2"))
		f |= PT_CPU_BMI2;
#endif
	return f;
}

int
pt_cpu_has(unsigned want)
{
	static int asked;
	static unsigned have;

	if (!asked) {
		have = cpu_ask();
		asked = 1;
	}
	return (have & want) == want;
}

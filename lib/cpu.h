/*
 * cpu.h: what the CPU offers, asked once for the whole library.
 *
 * The build has no -march flag, so it runs on any x86-64 (and off x86);
 * the SIMD kernels are compiled with target attributes and used only when
 * the CPU has every feature their attribute names.  One module asks, so
 * that every kernel decides from the same answer.
 */
#ifndef PT_CPU_H
#define PT_CPU_H

/* Features, one bit each, named as in the target attributes. */
#define PT_CPU_AVX2     0x01u /* with it, POPCNT (an AVX2 kernel uses both) */
#define PT_CPU_AVX512F  0x02u
#define PT_CPU_AVX512VL 0x04u
#define PT_CPU_AVX512CD 0x08u
#define PT_CPU_AVX512DQ 0x10u
#define PT_CPU_AVX512BW 0x20u
#define PT_CPU_AVX512VBMI 0x40u
#define PT_CPU_BMI2     0x80u

/* Whether the CPU has every feature in want (an or of PT_CPU_*); 0 off
 * x86-64 or with a compiler that cannot ask.  The CPU is asked on the
 * first call; not thread-safe until then. */
int pt_cpu_has(unsigned want);

#endif

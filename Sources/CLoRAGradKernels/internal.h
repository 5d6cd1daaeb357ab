// Declarations shared by the kernel files but not exported to Swift.

#ifndef LGK_INTERNAL_H
#define LGK_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#if defined(__x86_64__) || defined(__i386__)
#define LGK_X86 1
#define LGK_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define LGK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define LGK_X86 0
#endif

/// Alignment of every scratch buffer: one cache line, one AVX-512 vector.
#define LGK_ALIGN 64

/// A scratch buffer of n floats aligned to LGK_ALIGN (zeroed), or NULL.
float *lgk_scratch(int64_t n);
/// Frees a buffer from lgk_scratch.
void lgk_scratch_free(float *p);

/// The active instruction set, cached (see lgk_isa_active).
extern int lgk_active_isa;

#define LGK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LGK_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif

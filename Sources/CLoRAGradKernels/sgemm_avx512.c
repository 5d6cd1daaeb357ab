// Single-precision GEMM with AVX-512, split BLIS-style into register-blocked micro-kernels
// (MR rows × NV vectors of 16 columns of C held in registers, one rank-1 update per step of the
// inner dimension: NV vector loads of B, MR broadcasts of A) and the loops around them. The
// shapes are the small in-cache blocks of the attention tiles, laid out contiguously by their
// callers, so nothing is packed here.

#include "ops.h"
#include "gemm_blocks_avx512.h"

#if LGK_X86
#include <immintrin.h>

#define LGK_UKR512(MR, NV)                                                                    \
  LGK_TARGET_AVX512 static void lgk_ukr512_##MR##x##NV(                                       \
      int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa, const float *b,       \
      int64_t ldb, float beta, float *c, int64_t ldc) {                                       \
    __m512 acc[MR][NV];                                                                       \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                           \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                         \
        acc[r][v] = _mm512_setzero_ps();                                                      \
    for (int64_t p = 0; p < k; p++) {                                                         \
      __m512 bv[NV];                                                                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                         \
        bv[v] = _mm512_loadu_ps(b + p * ldb + 16 * v);                                        \
      const float *ap = a + p * csa;                                                          \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {                       \
        __m512 ar = _mm512_set1_ps(ap[r * rsa]);                                              \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                       \
          acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);                                  \
      }                                                                                       \
    }                                                                                         \
    __m512 scale = _mm512_set1_ps(alpha);                                                     \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                           \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                       \
        float *cp = c + r * ldc + 16 * v;                                                     \
        __m512 out = _mm512_mul_ps(scale, acc[r][v]);                                         \
        if (beta != 0.0f) out = _mm512_add_ps(out, _mm512_loadu_ps(cp));                      \
        _mm512_storeu_ps(cp, out);                                                            \
      }                                                                                       \
  }

LGK_UKR512(8, 2)
LGK_UKR512(1, 2)
LGK_UKR512(4, 4)
LGK_UKR512(1, 4)
LGK_UKR512(16, 1)
LGK_UKR512(1, 1)

LGK_TARGET_AVX512 void lgk_sgemm_avx512(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                        int64_t rsa, int64_t csa, const float *b, int64_t ldb,
                                        float beta, float *c, int64_t ldc) {
#define LGK_SGEMM_TAIL(j) lgk_sgemm_portable(m, n - (j), k, alpha, a, rsa, csa, b + (j), ldb, beta, c + (j), ldc)
  LGK_AVX512_BLOCKS(lgk_ukr512, (k, alpha), m, n, a, rsa, csa, b, ldb, beta, c, ldc, LGK_SGEMM_TAIL);
#undef LGK_SGEMM_TAIL
}

#endif

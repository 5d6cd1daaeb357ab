// Single-precision GEMM with AVX2 + FMA: register-blocked micro-kernels (MR rows × NV vectors of
// 8 columns) and the loops around them, as in sgemm_avx512.c.

#include "ops.h"

#if LGK_X86
#include <immintrin.h>

#define LGK_UKR256(MR, NV)                                                                    \
  LGK_TARGET_AVX2 static void lgk_ukr256_##MR##x##NV(                                         \
      int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa, const float *b,       \
      int64_t ldb, float beta, float *c, int64_t ldc) {                                       \
    __m256 acc[MR][NV];                                                                       \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                           \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                         \
        acc[r][v] = _mm256_setzero_ps();                                                      \
    for (int64_t p = 0; p < k; p++) {                                                         \
      __m256 bv[NV];                                                                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                         \
        bv[v] = _mm256_loadu_ps(b + p * ldb + 8 * v);                                         \
      const float *ap = a + p * csa;                                                          \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {                       \
        __m256 ar = _mm256_broadcast_ss(ap + r * rsa);                                        \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                       \
          acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);                                  \
      }                                                                                       \
    }                                                                                         \
    __m256 scale = _mm256_set1_ps(alpha);                                                     \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                           \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                       \
        float *cp = c + r * ldc + 8 * v;                                                      \
        __m256 out = _mm256_mul_ps(scale, acc[r][v]);                                         \
        if (beta != 0.0f) out = _mm256_add_ps(out, _mm256_loadu_ps(cp));                      \
        _mm256_storeu_ps(cp, out);                                                            \
      }                                                                                       \
  }

LGK_UKR256(6, 2)
LGK_UKR256(4, 2)
LGK_UKR256(2, 2)
LGK_UKR256(1, 2)
LGK_UKR256(6, 1)
LGK_UKR256(4, 1)
LGK_UKR256(2, 1)
LGK_UKR256(1, 1)

// The rows of one strip of NV vectors: blocks of 6 (12 or 6 accumulators, enough to hide the FMA
// latency on 128-bit and 256-bit units alike), then one block of 4, 2 and 1 for the rows left
// over, so a 64-row tile loses no more than a 2-row block to the remainder. Each entry of C is
// the same chain of FMAs over p whatever block computes it.
#define LGK_AVX2_STRIP(NV)                                                                           \
  for (; j + 8 * (NV) <= n; j += 8 * (NV)) {                                                         \
    int64_t i = 0;                                                                                   \
    for (; i + 6 <= m; i += 6) lgk_ukr256_6x##NV(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc); \
    if (i + 4 <= m) lgk_ukr256_4x##NV(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc), i += 4;   \
    if (i + 2 <= m) lgk_ukr256_2x##NV(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc), i += 2;   \
    if (i < m) lgk_ukr256_1x##NV(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);                \
  }

LGK_TARGET_AVX2 void lgk_sgemm_avx2(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                    int64_t rsa, int64_t csa, const float *b, int64_t ldb,
                                    float beta, float *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  int64_t j = 0;
  LGK_AVX2_STRIP(2)
  LGK_AVX2_STRIP(1)
  if (j < n) lgk_sgemm_portable(m, n - j, k, alpha, a, rsa, csa, b + j, ldb, beta, c + j, ldc);
}

#endif

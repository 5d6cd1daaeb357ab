// Single-precision GEMM, C = alpha·A·B + beta·C, split BLIS-style into a register-blocked
// micro-kernel (MR rows × NR columns of C held in registers, one rank-1 update per step of the
// inner dimension: NR/16 vector loads of B, MR broadcasts of A) and the loops around it.
// A is addressed through a row and a column stride, so Aᵀ costs nothing; B and C are row-major.
// The shapes here are the small in-cache blocks of the attention tiles, so no packing is done:
// the tiles are laid out contiguously by their callers instead.

#include "CLoRAGradKernels.h"
#include "internal.h"

#if LGK_X86
#include <immintrin.h>
#endif

// MARK: - Portable

static void lgk_sgemm_portable(int64_t m, int64_t n, int64_t k, float alpha,
                               const float *a, int64_t rsa, int64_t csa, const float *b, int64_t ldb,
                               float beta, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    float row[256];
    for (int64_t j0 = 0; j0 < n; j0 += 256) {
      int64_t nj = LGK_MIN(256, n - j0);
      for (int64_t j = 0; j < nj; j++) row[j] = 0.0f;
      for (int64_t p = 0; p < k; p++) {
        float aip = a[i * rsa + p * csa];
        const float *bp = b + p * ldb + j0;
        for (int64_t j = 0; j < nj; j++) row[j] += aip * bp[j];
      }
      for (int64_t j = 0; j < nj; j++) {
        ci[j0 + j] = beta != 0.0f ? ci[j0 + j] + alpha * row[j] : alpha * row[j];
      }
    }
  }
}

#if LGK_X86

// MARK: - AVX-512 (16 floats per vector)

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

LGK_TARGET_AVX512 static void lgk_sgemm_avx512(int64_t m, int64_t n, int64_t k, float alpha,
                                               const float *a, int64_t rsa, int64_t csa,
                                               const float *b, int64_t ldb, float beta, float *c,
                                               int64_t ldc) {
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
      lgk_ukr512_4x4(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
    for (; i < m; i++)
      lgk_ukr512_1x4(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
  }
  for (; j + 32 <= n; j += 32) {
    int64_t i = 0;
    for (; i + 8 <= m; i += 8)
      lgk_ukr512_8x2(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
    for (; i < m; i++)
      lgk_ukr512_1x2(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
  }
  for (; j + 16 <= n; j += 16) {
    int64_t i = 0;
    for (; i + 16 <= m; i += 16)
      lgk_ukr512_16x1(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
    for (; i < m; i++)
      lgk_ukr512_1x1(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
  }
  if (j < n) lgk_sgemm_portable(m, n - j, k, alpha, a, rsa, csa, b + j, ldb, beta, c + j, ldc);
}

// MARK: - AVX2 + FMA (8 floats per vector)

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
LGK_UKR256(1, 2)

LGK_TARGET_AVX2 static void lgk_sgemm_avx2(int64_t m, int64_t n, int64_t k, float alpha,
                                           const float *a, int64_t rsa, int64_t csa, const float *b,
                                           int64_t ldb, float beta, float *c, int64_t ldc) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    int64_t i = 0;
    for (; i + 6 <= m; i += 6)
      lgk_ukr256_6x2(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
    for (; i < m; i++)
      lgk_ukr256_1x2(k, alpha, a + i * rsa, rsa, csa, b + j, ldb, beta, c + i * ldc + j, ldc);
  }
  if (j < n) lgk_sgemm_portable(m, n - j, k, alpha, a, rsa, csa, b + j, ldb, beta, c + j, ldc);
}

#endif

// MARK: - Dispatch

void lgk_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
               int64_t csa, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
#if LGK_X86
  switch (lgk_isa_active()) {
    case lgk_isa_avx512f:
      lgk_sgemm_avx512(m, n, k, alpha, a, rsa, csa, b, ldb, beta, c, ldc);
      return;
    case lgk_isa_avx2_fma:
      lgk_sgemm_avx2(m, n, k, alpha, a, rsa, csa, b, ldb, beta, c, ldc);
      return;
    default:
      break;
  }
#endif
  lgk_sgemm_portable(m, n, k, alpha, a, rsa, csa, b, ldb, beta, c, ldc);
}

// Single-precision GEMM in plain C, C = alpha·A·B + beta·C (beta ∈ {0, 1}): the fallback, the
// column tails of the vector kernels, and the meaning of every micro-kernel. A is addressed
// A[i·rsa + p·csa] (so Aᵀ is just swapped strides); B and C are row-major.

#include "ops.h"

void lgk_sgemm_portable(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa,
                        int64_t csa, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    float row[256];
    for (int64_t j0 = 0; j0 < n; j0 += 256) {
      const int64_t nj = LGK_MIN(256, n - j0);
      for (int64_t j = 0; j < nj; j++) row[j] = 0.0f;
      for (int64_t p = 0; p < k; p++) {
        const float aip = a[i * rsa + p * csa];
        const float *bp = b + p * ldb + j0;
        for (int64_t j = 0; j < nj; j++) row[j] += aip * bp[j];
      }
      for (int64_t j = 0; j < nj; j++) ci[j0 + j] = beta != 0.0f ? ci[j0 + j] + alpha * row[j] : alpha * row[j];
    }
  }
}

// The bf16 pair product in plain C, C = A·B + beta·C (beta ∈ {0, 1}) over words that each hold a
// bf16 pair (x_2t low, x_2t+1 high): for every pair, the high product is added before the low one,
// which is vdpbf16ps's order. A bf16 × bf16 product is exact in fp32, so a multiply and an add
// round as one FMA: this is the native kernel's meaning (and its column tail), bit for bit on
// normal numbers (the instruction also flushes subnormal results to zero).

#include "bf16.h"

void lgk_bf16_gemm_portable(int64_t m, int64_t n, int64_t k_pairs, const uint32_t *a, int64_t rsa, int64_t csa,
                            const uint32_t *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    float row[256];
    for (int64_t j0 = 0; j0 < n; j0 += 256) {
      const int64_t nj = LGK_MIN(256, n - j0);
      for (int64_t j = 0; j < nj; j++) row[j] = 0.0f;
      for (int64_t p = 0; p < k_pairs; p++) {
        const uint32_t word = a[i * rsa + p * csa];
        const float low = lgk_bf16_float((uint16_t)word), high = lgk_bf16_float((uint16_t)(word >> 16));
        const uint32_t *bp = b + p * ldb + j0;
        for (int64_t j = 0; j < nj; j++) {
          row[j] += high * lgk_bf16_float((uint16_t)(bp[j] >> 16));
          row[j] += low * lgk_bf16_float((uint16_t)bp[j]);
        }
      }
      for (int64_t j = 0; j < nj; j++) ci[j0 + j] = beta != 0.0f ? ci[j0 + j] + row[j] : row[j];
    }
  }
}

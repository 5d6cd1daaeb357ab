// The bf16 pair product with AVX512-BF16, C = A·B + beta·C: the register blocking of
// sgemm_avx512.c (MR rows × NV vectors of 16 columns of C in registers) with one vdpbf16ps per
// accumulator per pair of the inner dimension (a broadcast word of A, two bf16 products per lane
// accumulated in fp32: twice the multiply-adds of an fp32 FMA per instruction). A's word is the
// instruction's last operand, so where a kernel reads it once (16 × 1, the head-wide products at
// h = 16) the compiler folds the broadcast into the product as a {1to16} memory operand: on Zen 4
// a separate vbroadcastss took an FP pipe the products needed: those products ran at 74% of the
// pair product's roof (164 of 221 GFLOP/s in cache), 92–100% with the fold (loragrad-bench
// tile-gemm --head-width 16). The pair products are symmetric in their operands: same bits.

#include "ops.h"
#include "gemm_blocks_avx512.h"

#if LGK_X86
#include <immintrin.h>

#define LGK_UKRBF16(MR, NV)                                                                     \
  LGK_TARGET_AVX512BF16 static void lgk_ukrbf16_##MR##x##NV(                                    \
      int64_t k_pairs, const uint32_t *a, int64_t rsa, int64_t csa, const uint32_t *b,          \
      int64_t ldb, float beta, float *c, int64_t ldc) {                                         \
    __m512 acc[MR][NV];                                                                         \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                             \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                           \
        acc[r][v] = _mm512_setzero_ps();                                                        \
    for (int64_t p = 0; p < k_pairs; p++) {                                                     \
      __m512bh bv[NV];                                                                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                           \
        bv[v] = (__m512bh)_mm512_loadu_si512(b + p * ldb + 16 * v);                             \
      const uint32_t *ap = a + p * csa;                                                         \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {                         \
        __m512bh ar = (__m512bh)_mm512_set1_epi32((int)ap[r * rsa]);                            \
        _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++)                         \
          acc[r][v] = _mm512_dpbf16_ps(acc[r][v], bv[v], ar);                                   \
      }                                                                                         \
    }                                                                                           \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++)                             \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                         \
        float *cp = c + r * ldc + 16 * v;                                                       \
        __m512 out = acc[r][v];                                                                 \
        if (beta != 0.0f) out = _mm512_add_ps(out, _mm512_loadu_ps(cp));                        \
        _mm512_storeu_ps(cp, out);                                                              \
      }                                                                                         \
  }

LGK_UKRBF16(8, 2)
LGK_UKRBF16(1, 2)
LGK_UKRBF16(4, 4)
LGK_UKRBF16(1, 4)
LGK_UKRBF16(16, 1)
LGK_UKRBF16(1, 1)

LGK_TARGET_AVX512BF16 void lgk_bf16_gemm_avx512bf16(int64_t m, int64_t n, int64_t k_pairs, const uint32_t *a,
                                                    int64_t rsa, int64_t csa, const uint32_t *b, int64_t ldb,
                                                    float beta, float *c, int64_t ldc) {
#define LGK_BF16_TAIL(j) lgk_bf16_gemm_portable(m, n - (j), k_pairs, a, rsa, csa, b + (j), ldb, beta, c + (j), ldc)
  LGK_AVX512_BLOCKS(lgk_ukrbf16, (k_pairs), m, n, a, rsa, csa, b, ldb, beta, c, ldc, LGK_BF16_TAIL);
#undef LGK_BF16_TAIL
}

#endif

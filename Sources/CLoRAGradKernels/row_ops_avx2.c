// Row primitives with AVX2 + FMA: the same exp as the AVX-512 file (Cephes-style range
// reduction and polynomial), with 2ⁿ built in the exponent field; scalar tails.

#include "internal.h"
#include "row_ops.h"

#if LGK_X86
#include <immintrin.h>
#include <math.h>

LGK_TARGET_AVX2 static inline __m256 exp256(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
  x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

LGK_TARGET_AVX2 static inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

LGK_TARGET_AVX2 static float lgk_max_avx2(int64_t valid, const float *s) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= valid; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + j));
  float lanes[8];
  _mm256_storeu_ps(lanes, m);
  float best = -INFINITY;
  for (int t = 0; t < 8; t++) best = lanes[t] > best ? lanes[t] : best;
  for (; j < valid; j++) best = s[j] > best ? s[j] : best;
  return best;
}

LGK_TARGET_AVX2 static float lgk_exp_shifted_avx2(int64_t n, int64_t valid, float *s, float shift) {
  __m256 sum = _mm256_setzero_ps();
  __m256 c = _mm256_set1_ps(shift);
  int64_t j = 0;
  for (; j + 8 <= valid; j += 8) {
    __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), c));
    _mm256_storeu_ps(s + j, p);
    sum = _mm256_add_ps(sum, p);
  }
  float tail[8] = {0};
  int64_t live = valid - j;
  for (int64_t t = 0; t < live; t++) tail[t] = s[j + t] - shift;
  if (live > 0) {
    __m256 p = _mm256_loadu_ps(tail);
    p = exp256(p);
    _mm256_storeu_ps(tail, p);
    for (int64_t t = live; t < 8; t++) tail[t] = 0.0f;
    sum = _mm256_add_ps(sum, _mm256_loadu_ps(tail));
    for (int64_t t = 0; t < live; t++) s[j + t] = tail[t];
  }
  for (j = valid; j < n; j++) s[j] = 0.0f;
  return hsum256(sum);
}

LGK_TARGET_AVX2 static void lgk_softmax_backward_avx2(int64_t n, const float *p, float *dp, float delta) {
  __m256 d = _mm256_set1_ps(delta);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 g = _mm256_sub_ps(_mm256_loadu_ps(dp + j), d);
    _mm256_storeu_ps(dp + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), g));
  }
  for (; j < n; j++) dp[j] = p[j] * (dp[j] - delta);
}

LGK_TARGET_AVX2 static void lgk_scale_avx2(int64_t n, float *o, float factor) {
  __m256 f = _mm256_set1_ps(factor);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_loadu_ps(o + j), f));
  for (; j < n; j++) o[j] *= factor;
}

LGK_TARGET_AVX2 static void lgk_exp_avx2(int64_t n, const float *x, float *y) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, exp256(_mm256_loadu_ps(x + j)));
  if (j < n) {
    float tail[8] = {0};
    for (int64_t t = 0; t < n - j; t++) tail[t] = x[j + t];
    _mm256_storeu_ps(tail, exp256(_mm256_loadu_ps(tail)));
    for (int64_t t = 0; t < n - j; t++) y[j + t] = tail[t];
  }
}

const lgk_row_ops lgk_row_ops_avx2 = {
    lgk_max_avx2, lgk_exp_shifted_avx2, lgk_softmax_backward_avx2, lgk_scale_avx2, lgk_exp_avx2};

#endif

// The row primitives with AVX2 + FMA (8 floats per vector): the template of row_ops_template.h,
// with 2ⁿ built in the exponent field.

#include "ops.h"

#if LGK_X86
#include <immintrin.h>

typedef __m256 lgk_v;
#define LGK_LANES 8
#define LGK_SUFFIX avx2
#define LGK_ATTRIBUTE LGK_TARGET_AVX2

LGK_ATTRIBUTE static inline lgk_v v_set1(float x) { return _mm256_set1_ps(x); }
LGK_ATTRIBUTE static inline lgk_v v_load(const float *p) { return _mm256_loadu_ps(p); }
LGK_ATTRIBUTE static inline void v_store(float *p, lgk_v x) { _mm256_storeu_ps(p, x); }
LGK_ATTRIBUTE static inline lgk_v v_add(lgk_v a, lgk_v b) { return _mm256_add_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_sub(lgk_v a, lgk_v b) { return _mm256_sub_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_mul(lgk_v a, lgk_v b) { return _mm256_mul_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_max(lgk_v a, lgk_v b) { return _mm256_max_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_min(lgk_v a, lgk_v b) { return _mm256_min_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_fma(lgk_v a, lgk_v b, lgk_v c) { return _mm256_fmadd_ps(a, b, c); }
LGK_ATTRIBUTE static inline lgk_v v_fnma(lgk_v a, lgk_v b, lgk_v c) { return _mm256_fnmadd_ps(a, b, c); }
LGK_ATTRIBUTE static inline lgk_v v_round(lgk_v x) {
  return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
LGK_ATTRIBUTE static inline lgk_v v_exp2i(lgk_v p, lgk_v n) {
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
LGK_ATTRIBUTE static inline float v_hsum(lgk_v v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
LGK_ATTRIBUTE static inline float v_hmax(lgk_v v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

#include "row_ops_template.h"

#endif

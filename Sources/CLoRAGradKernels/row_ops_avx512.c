// The row primitives with AVX-512 (16 floats per vector): the template of row_ops_template.h,
// with 2ⁿ by scalef.

#include "ops.h"

#if LGK_X86
#include <immintrin.h>

typedef __m512 lgk_v;
#define LGK_LANES 16
#define LGK_SUFFIX avx512
#define LGK_ATTRIBUTE LGK_TARGET_AVX512

LGK_ATTRIBUTE static inline lgk_v v_set1(float x) { return _mm512_set1_ps(x); }
LGK_ATTRIBUTE static inline lgk_v v_load(const float *p) { return _mm512_loadu_ps(p); }
LGK_ATTRIBUTE static inline void v_store(float *p, lgk_v x) { _mm512_storeu_ps(p, x); }
LGK_ATTRIBUTE static inline lgk_v v_add(lgk_v a, lgk_v b) { return _mm512_add_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_sub(lgk_v a, lgk_v b) { return _mm512_sub_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_mul(lgk_v a, lgk_v b) { return _mm512_mul_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_max(lgk_v a, lgk_v b) { return _mm512_max_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_min(lgk_v a, lgk_v b) { return _mm512_min_ps(a, b); }
LGK_ATTRIBUTE static inline lgk_v v_fma(lgk_v a, lgk_v b, lgk_v c) { return _mm512_fmadd_ps(a, b, c); }
LGK_ATTRIBUTE static inline lgk_v v_fnma(lgk_v a, lgk_v b, lgk_v c) { return _mm512_fnmadd_ps(a, b, c); }
LGK_ATTRIBUTE static inline lgk_v v_round(lgk_v x) {
  return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
LGK_ATTRIBUTE static inline lgk_v v_exp2i(lgk_v p, lgk_v n) { return _mm512_scalef_ps(p, n); }
LGK_ATTRIBUTE static inline float v_hsum(lgk_v v) { return _mm512_reduce_add_ps(v); }
LGK_ATTRIBUTE static inline float v_hmax(lgk_v v) { return _mm512_reduce_max_ps(v); }

#include "row_ops_template.h"

#endif

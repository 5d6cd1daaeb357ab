// The vector vocabulary of row_ops_template.h and exp_template.h with AVX-512 (16 floats per
// vector, 2ⁿ by scalef), for the files that instantiate them (row_ops_avx512.c,
// bf16_softmax_backward_avx512bf16.c). Include after <immintrin.h> and ops.h, inside LGK_X86.

#ifndef LGK_VECTOR_AVX512_H
#define LGK_VECTOR_AVX512_H

typedef __m512 lgk_v;
#define LGK_LANES 16

LGK_TARGET_AVX512 static inline lgk_v v_set1(float x) { return _mm512_set1_ps(x); }
LGK_TARGET_AVX512 static inline lgk_v v_load(const float *p) { return _mm512_loadu_ps(p); }
LGK_TARGET_AVX512 static inline void v_store(float *p, lgk_v x) { _mm512_storeu_ps(p, x); }
LGK_TARGET_AVX512 static inline lgk_v v_add(lgk_v a, lgk_v b) { return _mm512_add_ps(a, b); }
LGK_TARGET_AVX512 static inline lgk_v v_sub(lgk_v a, lgk_v b) { return _mm512_sub_ps(a, b); }
LGK_TARGET_AVX512 static inline lgk_v v_mul(lgk_v a, lgk_v b) { return _mm512_mul_ps(a, b); }
LGK_TARGET_AVX512 static inline lgk_v v_max(lgk_v a, lgk_v b) { return _mm512_max_ps(a, b); }
LGK_TARGET_AVX512 static inline lgk_v v_min(lgk_v a, lgk_v b) { return _mm512_min_ps(a, b); }
LGK_TARGET_AVX512 static inline lgk_v v_fma(lgk_v a, lgk_v b, lgk_v c) { return _mm512_fmadd_ps(a, b, c); }
LGK_TARGET_AVX512 static inline lgk_v v_fnma(lgk_v a, lgk_v b, lgk_v c) { return _mm512_fnmadd_ps(a, b, c); }
LGK_TARGET_AVX512 static inline lgk_v v_round(lgk_v x) {
  return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
LGK_TARGET_AVX512 static inline lgk_v v_exp2i(lgk_v p, lgk_v n) { return _mm512_scalef_ps(p, n); }
LGK_TARGET_AVX512 static inline float v_hsum(lgk_v v) { return _mm512_reduce_add_ps(v); }
LGK_TARGET_AVX512 static inline float v_hmax(lgk_v v) { return _mm512_reduce_max_ps(v); }

#endif

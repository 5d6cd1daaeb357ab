// The row primitives of the softmax kernels, written once over a small vector vocabulary and
// instantiated per instruction set (row_ops_portable.c, row_ops_avx2.c, row_ops_avx512.c).
//
// The exp: exp_template.h.
//
// Before including, define:
//   LGK_SUFFIX     the name suffix (portable, avx2, avx512)
//   LGK_ATTRIBUTE  the function attribute selecting the instruction set (may be empty)
//   lgk_v, LGK_LANES   the vector type and its lanes
// and these LGK_ATTRIBUTE static inline functions: v_set1(float), v_load(const float *),
// v_store(float *, lgk_v), v_add, v_sub, v_mul, v_max, v_min (lgk_v, lgk_v),
// v_fma(a, b, c) = a·b + c, v_fnma(a, b, c) = c − a·b, v_round(x) (to nearest even),
// v_exp2i(p, n) = p·2ⁿ (n integral), v_hsum(lgk_v), v_hmax(lgk_v).

#include <math.h>

#define LGK_CAT2(a, b) a##_##b
#define LGK_CAT(a, b) LGK_CAT2(a, b)
#define LGK_NAME(name) LGK_CAT(name, LGK_SUFFIX)

#include "exp_template.h"

LGK_ATTRIBUTE float LGK_NAME(lgk_row_max)(int64_t valid, const float *s) {
  lgk_v m = v_set1(-INFINITY);
  int64_t j = 0;
  for (; j + LGK_LANES <= valid; j += LGK_LANES) m = v_max(m, v_load(s + j));
  float best = v_hmax(m);
  for (; j < valid; j++) best = s[j] > best ? s[j] : best;
  return best;
}

// Inlined always, so that perf names each exported variant (lgk_row_exp_shifted_bf16_avx512, …).
LGK_ATTRIBUTE static inline __attribute__((always_inline)) float row_exp_shifted(int64_t n, int64_t valid, float *s,
                                                                                 float shift, int bf16) {
  lgk_v sum = v_set1(0.0f), c = v_set1(shift);
  int64_t j = 0;
  for (; j + LGK_LANES <= valid; j += LGK_LANES) {
    lgk_v p = vexp_of(v_sub(v_load(s + j), c), bf16);
    v_store(s + j, p);
    sum = v_add(sum, p);
  }
  if (j < valid) {
    float tail[LGK_LANES];
    const int64_t live = valid - j;
    for (int64_t t = 0; t < LGK_LANES; t++) tail[t] = t < live ? s[j + t] - shift : 0.0f;
    v_store(tail, vexp_of(v_load(tail), bf16));
    for (int64_t t = live; t < LGK_LANES; t++) tail[t] = 0.0f;
    sum = v_add(sum, v_load(tail));
    for (int64_t t = 0; t < live; t++) s[j + t] = tail[t];
  }
  for (j = valid; j < n; j++) s[j] = 0.0f;
  return v_hsum(sum);
}

LGK_ATTRIBUTE float LGK_NAME(lgk_row_exp_shifted)(int64_t n, int64_t valid, float *s, float shift) {
  return row_exp_shifted(n, valid, s, shift, 0);
}

LGK_ATTRIBUTE float LGK_NAME(lgk_row_exp_shifted_bf16)(int64_t n, int64_t valid, float *s, float shift) {
  return row_exp_shifted(n, valid, s, shift, 1);
}

// One pass over a row where it can (whole vectors of visible keys): P straight from the exp into
// dS; the tail and the hidden keys as row_exp_shifted gives them, then dS there. Every value is the
// lane-wise operation of the two-step form (row_exp_shifted, then P ∘ (dP − δ)): the same bits.
LGK_ATTRIBUTE static inline __attribute__((always_inline)) void row_softmax_backward(int64_t n, int64_t valid, float *s,
                                                                                      float *dp, float lse,
                                                                                      float delta, int bf16) {
  const lgk_v c = v_set1(lse), d = v_set1(delta);
  int64_t j = 0;
  for (; j + LGK_LANES <= valid; j += LGK_LANES) {
    const lgk_v p = vexp_of(v_sub(v_load(s + j), c), bf16);
    v_store(s + j, p);
    v_store(dp + j, v_mul(p, v_sub(v_load(dp + j), d)));
  }
  (void)row_exp_shifted(n - j, valid - j, s + j, lse, bf16);
  for (; j + LGK_LANES <= n; j += LGK_LANES) v_store(dp + j, v_mul(v_load(s + j), v_sub(v_load(dp + j), d)));
  for (; j < n; j++) dp[j] = s[j] * (dp[j] - delta);
}

LGK_ATTRIBUTE void LGK_NAME(lgk_row_softmax_backward)(int64_t n, int64_t valid, float *s, float *dp, float lse,
                                                      float delta) {
  row_softmax_backward(n, valid, s, dp, lse, delta, 0);
}

LGK_ATTRIBUTE void LGK_NAME(lgk_row_softmax_backward_bf16)(int64_t n, int64_t valid, float *s, float *dp, float lse,
                                                           float delta) {
  row_softmax_backward(n, valid, s, dp, lse, delta, 1);
}

LGK_ATTRIBUTE void LGK_NAME(lgk_row_scale)(int64_t n, float *o, float factor) {
  lgk_v f = v_set1(factor);
  int64_t j = 0;
  for (; j + LGK_LANES <= n; j += LGK_LANES) v_store(o + j, v_mul(v_load(o + j), f));
  for (; j < n; j++) o[j] *= factor;
}

LGK_ATTRIBUTE static inline __attribute__((always_inline)) void exp_of(int64_t n, const float *x, float *y,
                                                                        int bf16) {
  int64_t j = 0;
  for (; j + LGK_LANES <= n; j += LGK_LANES) v_store(y + j, vexp_of(v_load(x + j), bf16));
  if (j < n) {
    float tail[LGK_LANES] = {0};
    for (int64_t t = 0; t < n - j; t++) tail[t] = x[j + t];
    v_store(tail, vexp_of(v_load(tail), bf16));
    for (int64_t t = 0; t < n - j; t++) y[j + t] = tail[t];
  }
}

LGK_ATTRIBUTE void LGK_NAME(lgk_exp)(int64_t n, const float *x, float *y) { exp_of(n, x, y, 0); }

LGK_ATTRIBUTE void LGK_NAME(lgk_exp_bf16)(int64_t n, const float *x, float *y) { exp_of(n, x, y, 1); }

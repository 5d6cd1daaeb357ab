// Row primitives in plain C (the fallback, and the meaning of the vector versions).

#include <math.h>
#include "internal.h"
#include "row_ops.h"
#include "CLoRAGradKernels.h"

static float lgk_max_portable(int64_t valid, const float *s) {
  float m = -INFINITY;
  for (int64_t j = 0; j < valid; j++) m = s[j] > m ? s[j] : m;
  return m;
}

static float lgk_exp_shifted_portable(int64_t n, int64_t valid, float *s, float shift) {
  float sum = 0.0f;
  for (int64_t j = 0; j < n; j++) {
    float p = j < valid ? expf(s[j] - shift) : 0.0f;
    s[j] = p;
    sum += p;
  }
  return sum;
}

static void lgk_softmax_backward_portable(int64_t n, const float *p, float *dp, float delta) {
  for (int64_t j = 0; j < n; j++) dp[j] = p[j] * (dp[j] - delta);
}

static void lgk_scale_portable(int64_t n, float *o, float factor) {
  for (int64_t j = 0; j < n; j++) o[j] *= factor;
}

static void lgk_exp_portable(int64_t n, const float *x, float *y) {
  for (int64_t j = 0; j < n; j++) y[j] = expf(x[j]);
}

const lgk_row_ops lgk_row_ops_portable = {
    lgk_max_portable, lgk_exp_shifted_portable, lgk_softmax_backward_portable, lgk_scale_portable, lgk_exp_portable};

const lgk_row_ops *lgk_row_ops_active(void) {
#if LGK_X86
  switch (lgk_isa_active()) {
    case lgk_isa_avx512f: return &lgk_row_ops_avx512;
    case lgk_isa_avx2_fma: return &lgk_row_ops_avx2;
    default: break;
  }
#endif
  return &lgk_row_ops_portable;
}

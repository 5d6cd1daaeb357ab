// The softmax kernels of the flash-style tiles, written once over the row primitives of the
// active instruction set (row_ops.h).

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "CLoRAGradKernels.h"
#include "internal.h"
#include "row_ops.h"

void lgk_softmax_online_step(int64_t m, int64_t n, int64_t valid, float *s, int64_t lds,
                             float *row_max, float *row_sum, float *o, int64_t width, int64_t ldo) {
  const lgk_row_ops *ops = lgk_row_ops_active();
  for (int64_t i = 0; i < m; i++) {
    float *si = s + i * lds;
    float old_max = row_max[i];
    float block_max = ops->max(valid, si);
    float new_max = block_max > old_max ? block_max : old_max;
    float correction = old_max == -INFINITY ? 0.0f : expf(old_max - new_max);
    float block_sum = ops->exp_shifted(n, valid, si, new_max);
    row_sum[i] = row_sum[i] * correction + block_sum;
    row_max[i] = new_max;
    if (correction != 1.0f) ops->scale(width, o + i * ldo, correction);
  }
}

void lgk_softmax_recompute(int64_t m, int64_t n, int64_t valid, float *s, int64_t lds,
                           const float *lse) {
  const lgk_row_ops *ops = lgk_row_ops_active();
  for (int64_t i = 0; i < m; i++) (void)ops->exp_shifted(n, valid, s + i * lds, lse[i]);
}

void lgk_softmax_backward(int64_t m, int64_t n, const float *p, float *dp, int64_t ld,
                          const float *delta) {
  const lgk_row_ops *ops = lgk_row_ops_active();
  for (int64_t i = 0; i < m; i++) ops->softmax_backward(n, p + i * ld, dp + i * ld, delta[i]);
}

void lgk_exp(int64_t n, const float *x, float *y) {
  lgk_row_ops_active()->exp(n, x, y);
}

float *lgk_scratch(int64_t n) {
  size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
  bytes = (bytes + LGK_ALIGN - 1) / LGK_ALIGN * LGK_ALIGN;
  float *p = aligned_alloc(LGK_ALIGN, bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

void lgk_scratch_free(float *p) { free(p); }

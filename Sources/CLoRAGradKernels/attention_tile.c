// The (query block, key block) tiles of softmax attention (attention_tile.h), written once over
// the operations table of the instruction set in use.

#include <math.h>
#include "attention_tile.h"

static inline int64_t row_valid(const lgk_tile_shape *shape, int64_t i) {
  const int64_t count = lgk_row_visible(shape->row0 + i, shape->key0, shape->visible, shape->causal);
  return count < shape->cols ? count : shape->cols;
}

int64_t lgk_tile_row_valid(const lgk_tile_shape *shape, int64_t i) { return row_valid(shape, i); }

void lgk_tile_online_softmax(const lgk_ops *ops, const lgk_tile_shape *shape, float *s, float *row_max, float *row_sum,
                             float *o, int bf16, uint16_t *p_rows) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride;
  // P straight into the rows form (native bf16): the fused exp, S left as it was.
#define LGK_ROW_EXP(valid, shift)                                                                  \
  (p_rows ? ops->bf16_row_exp_shifted(cols, (valid), si, (shift), p_rows + i * cols)              \
          : row_exp_shifted(cols, (valid), si, (shift)))
  float (*const row_exp_shifted)(int64_t, int64_t, float *, float) =
      bf16 ? ops->row_exp_shifted_bf16 : ops->row_exp_shifted;
  for (int64_t i = 0; i < rows; i++) {
    float *si = s + i * cols;
    const int64_t valid = row_valid(shape, i);
    const float old_max = row_max[i];
    const float block_max = ops->row_max(valid, si);
    const float new_max = block_max > old_max ? block_max : old_max;
    if (new_max == -INFINITY) {  // nothing visible yet: the row stays zero
      (void)LGK_ROW_EXP(0, 0.0f);
      continue;
    }
    const float correction = old_max == new_max ? 1.0f : expf(old_max - new_max);
    const float block_sum = LGK_ROW_EXP(valid, new_max);
    row_sum[i] = row_sum[i] * correction + block_sum;
    row_max[i] = new_max;
    if (correction != 1.0f) ops->row_scale(hs, o + i * hs, correction);
  }
#undef LGK_ROW_EXP
}

void lgk_tile_forward_online(const lgk_ops *ops, const lgk_tile_shape *shape, const float *q, int64_t ldq,
                             const float *k_t, int64_t ldkt, const float *v, int64_t ldv, float *s,
                             float *row_max, float *row_sum, float *o) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride;
  ops->sgemm(rows, cols, hs, 1.0f, q, ldq, 1, k_t, ldkt, 0.0f, s, cols);
  lgk_tile_online_softmax(ops, shape, s, row_max, row_sum, o, 0, NULL);
  ops->sgemm(rows, hs, cols, 1.0f, s, cols, 1, v, ldv, 1.0f, o, hs);
}

void lgk_tile_forward_fixed(const lgk_ops *ops, const lgk_tile_shape *shape, const float *q, int64_t ldq,
                            const float *k_t, int64_t ldkt, const float *v, int64_t ldv, float *s,
                            float *den, float *num, int64_t ldnum) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride;
  ops->sgemm(rows, cols, hs, 1.0f, q, ldq, 1, k_t, ldkt, 0.0f, s, cols);
  for (int64_t i = 0; i < rows; i++) den[i] += ops->row_exp_shifted(cols, row_valid(shape, i), s + i * cols, 0.0f);
  ops->sgemm(rows, hs, cols, 1.0f, s, cols, 1, v, ldv, 1.0f, num, ldnum);
}

void lgk_tile_backward(const lgk_ops *ops, const lgk_tile_shape *shape, const float *q, int64_t ldq,
                       const float *k_t, int64_t ldkt, const float *k, int64_t ldk, const float *v_t,
                       int64_t ldvt, const float *d_o, int64_t lddo, const float *lse, const float *delta,
                       float *d_q, int64_t lddq, float beta_q, float *d_k, float *d_v, float beta_kv,
                       float *p, float *ds) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride;
  // S and dP = dO Vᵀ; then P = exp(S − lse) (zero where hidden) over S and dS = P ∘ (dP − δ) over dP.
  ops->sgemm(rows, cols, hs, 1.0f, q, ldq, 1, k_t, ldkt, 0.0f, p, cols);
  ops->sgemm(rows, cols, hs, 1.0f, d_o, lddo, 1, v_t, ldvt, 0.0f, ds, cols);
  for (int64_t i = 0; i < rows; i++)
    ops->row_softmax_backward(cols, row_valid(shape, i), p + i * cols, ds + i * cols, lse[i], delta[i]);
  // dV ← dV + Pᵀ dO.
  ops->sgemm(cols, hs, rows, 1.0f, p, 1, cols, d_o, lddo, beta_kv, d_v, hs);
  // dK ← dK + dSᵀ q;  dQ ← dQ + dS k.
  ops->sgemm(cols, hs, rows, 1.0f, ds, 1, cols, q, ldq, beta_kv, d_k, hs);
  ops->sgemm(rows, hs, cols, 1.0f, ds, cols, 1, k, ldk, beta_q, d_q, lddq);
}

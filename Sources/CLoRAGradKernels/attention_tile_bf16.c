// The attention tiles with bf16 products (SPEC §2.1): the steps of attention_tile.c, with every
// GEMM operand in its packed bf16 form (lgk_exact.h) and fp32 accumulation. The softmax, its
// sums, lse, δ and dS = P ∘ (dP − δ) stay fp32; P and dS are rounded only as operands, so P's
// exp is the bf16 tiles' (within 2⁻¹⁷ relative, row_ops_template.h), not the full one.

#include "attention_tile.h"
#include "bf16.h"

void lgk_tile_forward_online_bf16(const lgk_ops *ops, const lgk_tile_shape *shape, const void *q, const void *k_t,
                                  int64_t ldkt, const void *v, float *s, void *p_rows, float *row_max,
                                  float *row_sum, float *o) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride, w = lgk_bf16_step(ops);
  lgk_bf16_gemm(ops, rows, cols, hs, q, hs / w, 1, k_t, ldkt, 0.0f, s, cols);
  lgk_tile_online_softmax(ops, shape, s, row_max, row_sum, o, 1);
  lgk_bf16_pack_rows(ops, rows, cols, s, cols, p_rows, cols / w);
  lgk_bf16_gemm(ops, rows, hs, cols, p_rows, cols / w, 1, v, hs, 1.0f, o, hs);
}

void lgk_tile_backward_bf16(const lgk_ops *ops, const lgk_tile_shape *shape, const void *q_rows, const void *q_pairs,
                            const void *k_t, const void *k_pairs, const void *v_t, int64_t ldt, const void *d_o_rows,
                            const void *d_o_pairs, const float *lse, const float *delta, float *d_q, int64_t lddq,
                            float beta_q, float *d_k, float *d_v, float beta_kv, float *p, float *ds, void *packed) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride, w = lgk_bf16_step(ops);
  // P = exp(S − lse), zero where hidden; dS = P ∘ (dO Vᵀ − δ), both fp32.
  lgk_bf16_gemm(ops, rows, cols, hs, q_rows, hs / w, 1, k_t, ldt, 0.0f, p, cols);
  for (int64_t i = 0; i < rows; i++)
    (void)ops->row_exp_shifted_bf16(cols, lgk_tile_row_valid(shape, i), p + i * cols, lse[i]);
  lgk_bf16_gemm(ops, rows, cols, hs, d_o_rows, hs / w, 1, v_t, ldt, 0.0f, ds, cols);
  for (int64_t i = 0; i < rows; i++) ops->row_softmax_backward(cols, p + i * cols, ds + i * cols, delta[i]);
  // dV ← dV + Pᵀ dO: Pᵀ is the row_pairs form of P read with swapped strides (likewise dSᵀ).
  lgk_bf16_pack_row_pairs(ops, rows, cols, p, cols, packed, cols);
  lgk_bf16_gemm(ops, cols, hs, rows, packed, 1, cols, d_o_pairs, hs, beta_kv, d_v, hs);
  // dK ← dK + dSᵀ q̂;  dQ ← dQ + dS k̂.
  lgk_bf16_pack_row_pairs(ops, rows, cols, ds, cols, packed, cols);
  lgk_bf16_gemm(ops, cols, hs, rows, packed, 1, cols, q_pairs, hs, beta_kv, d_k, hs);
  lgk_bf16_pack_rows(ops, rows, cols, ds, cols, packed, cols / w);
  lgk_bf16_gemm(ops, rows, hs, cols, packed, cols / w, 1, k_pairs, hs, beta_q, d_q, lddq);
}

// The attention tiles with bf16 products (SPEC §2.1): the steps of attention_tile.c, with every
// GEMM operand in its packed bf16 form (lgk_exact.h) and fp32 accumulation. The softmax, its
// sums, lse, δ and dS = P ∘ (dP − δ) stay fp32; P and dS are rounded only as operands, so P's
// exp is the bf16 tiles' (within 2⁻¹⁷ relative, exp_template.h), not the full one. With native
// bf16 the backward's softmax and its packs are one fused pass (bf16_softmax_backward_avx512bf16.c).

#include "attention_tile.h"
#include "bf16.h"

void lgk_tile_forward_online_bf16(const lgk_ops *ops, const lgk_tile_shape *shape, const void *q, const void *k_t,
                                  int64_t ldkt, const void *v, float *s, void *p_rows, float *row_max,
                                  float *row_sum, float *o) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride, w = lgk_bf16_step(ops);
  lgk_bf16_gemm(ops, rows, cols, hs, q, hs / w, 1, k_t, ldkt, 0.0f, s, cols);
  if (ops->bf16_row_exp_shifted && cols % 16 == 0) {
    lgk_tile_online_softmax(ops, shape, s, row_max, row_sum, o, 1, p_rows);
  } else {
    lgk_tile_online_softmax(ops, shape, s, row_max, row_sum, o, 1, NULL);
    lgk_bf16_pack_rows(ops, rows, cols, s, cols, p_rows, cols / w);
  }
  lgk_bf16_gemm(ops, rows, hs, cols, p_rows, cols / w, 1, v, hs, 1.0f, o, hs);
}

int64_t lgk_tile_backward_bf16_packed_words(int64_t rows, int64_t cols) {
  // Either form of either width fits in rows rounded up to even times cols rounded up to even.
  return 3 * ((rows + 1) / 2 * 2) * ((cols + 1) / 2 * 2);
}

void lgk_tile_backward_bf16(const lgk_ops *ops, const lgk_tile_shape *shape, const void *q_rows, const void *q_pairs,
                            const void *k_t, const void *k_pairs, const void *v_t, int64_t ldt, const void *d_o_rows,
                            const void *d_o_pairs, const float *lse, const float *delta, float *d_q, int64_t lddq,
                            float beta_q, float *d_k, float *d_v, float beta_kv, float *p, float *ds, void *packed) {
  const int64_t rows = shape->rows, cols = shape->cols, hs = shape->head_stride, w = lgk_bf16_step(ops);
  // S and dP = dO Vᵀ, fp32.
  lgk_bf16_gemm(ops, rows, cols, hs, q_rows, hs / w, 1, k_t, ldt, 0.0f, p, cols);
  lgk_bf16_gemm(ops, rows, cols, hs, d_o_rows, hs / w, 1, v_t, ldt, 0.0f, ds, cols);
  // The three packed operands (lgk_tile_backward_bf16_packed_words): Pᵀ and dSᵀ are the row_pairs
  // forms of P and dS read with swapped strides, dS k̂ reads dS's rows form.
  const int64_t form = lgk_tile_backward_bf16_packed_words(rows, cols) / 3;
  uint32_t *p_pairs = packed, *ds_pairs = p_pairs + form, *ds_rows = ds_pairs + form;
  if (ops->bf16_softmax_backward && cols % 16 == 0) {
    // P = exp(S − lse), zero where hidden; dS = P ∘ (dP − δ): one fused pass into the packs.
    enum { chunk = 64 };  // rows whose visible counts are taken at a time (even: whole row pairs)
    int64_t valid[chunk];
    for (int64_t i0 = 0; i0 < rows; i0 += chunk) {
      const int64_t count = LGK_MIN(chunk, rows - i0);
      for (int64_t i = 0; i < count; i++) valid[i] = lgk_tile_row_valid(shape, i0 + i);
      ops->bf16_softmax_backward(count, cols, valid, p + i0 * cols, ds + i0 * cols, cols, lse + i0, delta + i0,
                                 p_pairs + i0 / 2 * cols, ds_pairs + i0 / 2 * cols,
                                 (uint16_t *)ds_rows + i0 * cols);
    }
  } else {
    for (int64_t i = 0; i < rows; i++)
      ops->row_softmax_backward_bf16(cols, lgk_tile_row_valid(shape, i), p + i * cols, ds + i * cols, lse[i], delta[i]);
    lgk_bf16_pack_row_pairs(ops, rows, cols, p, cols, p_pairs, cols);
    lgk_bf16_pack_row_pairs(ops, rows, cols, ds, cols, ds_pairs, cols);
    lgk_bf16_pack_rows(ops, rows, cols, ds, cols, ds_rows, cols / w);
  }
  // dV ← dV + Pᵀ dO;  dK ← dK + dSᵀ q̂;  dQ ← dQ + dS k̂.
  lgk_bf16_gemm(ops, cols, hs, rows, p_pairs, 1, cols, d_o_pairs, hs, beta_kv, d_v, hs);
  lgk_bf16_gemm(ops, cols, hs, rows, ds_pairs, 1, cols, q_pairs, hs, beta_kv, d_k, hs);
  lgk_bf16_gemm(ops, rows, hs, cols, ds_rows, cols / w, 1, k_pairs, hs, beta_q, d_q, lddq);
}

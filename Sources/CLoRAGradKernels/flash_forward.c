// The forward tile of exact attention, FlashAttention-2 style: one query block against every
// key block, with the online softmax (running max m and sum l), so no more than one block of
// scores ever exists. It ends by forming the loss terms the backward pass needs:
// dO = O − Y, δ_i = ⟨dO_i, O_i⟩ and lse_i = m_i + log l_i.

#include <math.h>
#include "CLoRAGradKernels.h"
#include "internal.h"

int64_t lgk_flash_query_blocks(const lgk_flash_problem *pr) {
  return (pr->length + pr->query_block - 1) / pr->query_block;
}

void lgk_flash_forward_tile(const void *problem, int64_t tile) {
  const lgk_flash_problem *pr = problem;
  const int64_t query_blocks = lgk_flash_query_blocks(pr);
  const int64_t pair = tile / query_blocks, block = tile % query_blocks;
  const int64_t hs = pr->head_stride, lp = pr->padded_length, bc = pr->key_block;
  const int64_t row0 = block * pr->query_block;
  const int64_t rows = LGK_MIN(pr->query_block, pr->length - row0);
  const int64_t pair_offset = pair * lp * hs;
  const float *q = pr->q + pair_offset + row0 * hs;
  const float *k_t = pr->k_t + pair_offset;
  const float *v = pr->v + pair_offset;

  float *scores = lgk_scratch(rows * bc);
  float *out = lgk_scratch(rows * hs);
  float *row_max = lgk_scratch(rows);
  float *row_sum = lgk_scratch(rows);
  for (int64_t i = 0; i < rows; i++) row_max[i] = -INFINITY;

  for (int64_t key0 = 0; key0 < pr->length; key0 += bc) {
    const int64_t valid = LGK_MIN(bc, pr->length - key0);
    // S = (βQ) Kᵀ for this block, P = exp(S − m), O ← diag(e^{m_old − m}) O + P V.
    lgk_sgemm(rows, bc, hs, 1.0f, q, hs, 1, k_t + key0, lp, 0.0f, scores, bc);
    lgk_softmax_online_step(rows, bc, valid, scores, bc, row_max, row_sum, out, hs, hs);
    lgk_sgemm(rows, hs, bc, 1.0f, scores, bc, 1, v + key0 * hs, hs, 1.0f, out, hs);
  }

  const float *y = pr->y + pair_offset + row0 * hs;
  float *d_o = pr->d_o + pair_offset + row0 * hs;
  float *lse = pr->lse + pair * lp + row0;
  float *delta = pr->delta + pair * lp + row0;
  double loss = 0.0;
  for (int64_t i = 0; i < rows; i++) {
    const float inv_sum = 1.0f / row_sum[i];
    float dot = 0.0f;
    double sq = 0.0;
    for (int64_t c = 0; c < hs; c++) {
      const float o = out[i * hs + c] * inv_sum;
      const float g = o - y[i * hs + c];
      d_o[i * hs + c] = g;
      dot += g * o;
      sq += (double)g * (double)g;
    }
    delta[i] = dot;
    lse[i] = row_max[i] + logf(row_sum[i]);
    loss += sq;
  }
  pr->loss_partials[tile] = 0.5 * loss;

  lgk_scratch_free(scores);
  lgk_scratch_free(out);
  lgk_scratch_free(row_max);
  lgk_scratch_free(row_sum);
}

// The backward tiles of exact attention. A tile owns a group of key blocks: for each of its
// key blocks it sweeps every query block, recomputes P = exp(S − lse) from the saved
// log-sum-exp, and accumulates
//   dV_c += Pᵀ dO,   dS = P ∘ (dO Vᵀ − δ),   dK_c += dSᵀ (βQ),   dQ_g += dS K_c,
// so dK and dV rows are owned by one tile, and dQ is a sum over key groups kept per group and
// reduced afterwards in group order: no atomics, and the same bits for any thread count.

#include "CLoRAGradKernels.h"
#include "internal.h"

int64_t lgk_flash_blocks_per_group(const lgk_flash_problem *pr) {
  const int64_t key_blocks = (pr->length + pr->key_block - 1) / pr->key_block;
  return (key_blocks + pr->key_groups - 1) / pr->key_groups;
}

void lgk_flash_backward_tile(const void *problem, int64_t tile) {
  const lgk_flash_problem *pr = problem;
  const int64_t pair = tile / pr->key_groups, group = tile % pr->key_groups;
  const int64_t hs = pr->head_stride, lp = pr->padded_length;
  const int64_t bc = pr->key_block, br = pr->query_block;
  const int64_t per_group = lgk_flash_blocks_per_group(pr);
  const int64_t pair_offset = pair * lp * hs;
  const float *q = pr->q + pair_offset;
  const float *k = pr->k + pair_offset, *k_t = pr->k_t + pair_offset;
  const float *v_t = pr->v_t + pair_offset;
  const float *d_o = pr->d_o + pair_offset;
  const float *lse = pr->lse + pair * lp, *delta = pr->delta + pair * lp;
  float *d_q = pr->d_q_partials + (pair * pr->key_groups + group) * lp * hs;

  float *p = lgk_scratch(br * bc);
  float *ds = lgk_scratch(br * bc);
  float *d_k = lgk_scratch(bc * hs);
  float *d_v = lgk_scratch(bc * hs);

  for (int64_t kb = group * per_group; kb < (group + 1) * per_group; kb++) {
    const int64_t key0 = kb * bc;
    if (key0 >= pr->length) break;
    const int64_t valid = LGK_MIN(bc, pr->length - key0);
    for (int64_t row0 = 0; row0 < pr->length; row0 += br) {
      const int64_t rows = LGK_MIN(br, pr->length - row0);
      const float *q_i = q + row0 * hs, *d_o_i = d_o + row0 * hs;
      // P = exp((βQ_i) K_cᵀ − lse_i), zero on the padded keys.
      lgk_sgemm(rows, bc, hs, 1.0f, q_i, hs, 1, k_t + key0, lp, 0.0f, p, bc);
      lgk_softmax_recompute(rows, bc, valid, p, bc, lse + row0);
      // dV_c += Pᵀ dO_i.
      lgk_sgemm(bc, hs, rows, 1.0f, p, 1, bc, d_o_i, hs, row0 == 0 ? 0.0f : 1.0f, d_v, hs);
      // dS = P ∘ (dO_i V_cᵀ − δ_i).
      lgk_sgemm(rows, bc, hs, 1.0f, d_o_i, hs, 1, v_t + key0, lp, 0.0f, ds, bc);
      lgk_softmax_backward(rows, bc, p, ds, bc, delta + row0);
      // dK_c += dSᵀ (βQ_i); dQ_g,i += dS K_c.
      lgk_sgemm(bc, hs, rows, 1.0f, ds, 1, bc, q_i, hs, row0 == 0 ? 0.0f : 1.0f, d_k, hs);
      lgk_sgemm(rows, hs, bc, 1.0f, ds, bc, 1, k + key0 * hs, hs, 1.0f, d_q + row0 * hs, hs);
    }
    float *d_k_out = pr->d_k + pair_offset + key0 * hs;
    float *d_v_out = pr->d_v + pair_offset + key0 * hs;
    for (int64_t t = 0; t < valid * hs; t++) {
      d_k_out[t] = d_k[t];
      d_v_out[t] = d_v[t];
    }
  }

  lgk_scratch_free(p);
  lgk_scratch_free(ds);
  lgk_scratch_free(d_k);
  lgk_scratch_free(d_v);
}

void lgk_flash_reduce_dq_tile(const void *problem, int64_t tile) {
  const lgk_flash_problem *pr = problem;
  const int64_t query_blocks = lgk_flash_query_blocks(pr);
  const int64_t pair = tile / query_blocks, block = tile % query_blocks;
  const int64_t hs = pr->head_stride, lp = pr->padded_length;
  const int64_t row0 = block * pr->query_block;
  const int64_t count = LGK_MIN(pr->query_block, pr->length - row0) * hs;
  const float *first = pr->d_q_partials + pair * pr->key_groups * lp * hs + row0 * hs;
  float *d_q = pr->d_q + pair * lp * hs + row0 * hs;
  for (int64_t t = 0; t < count; t++) d_q[t] = first[t];
  for (int64_t g = 1; g < pr->key_groups; g++) {
    const float *part = first + g * lp * hs;
    for (int64_t t = 0; t < count; t++) d_q[t] += part[t];
  }
  for (int64_t t = 0; t < count; t++) d_q[t] *= pr->scale;
}

// The backward tiles of exact attention. A tile owns a group of key blocks (key block c is in
// group c mod G, which balances the causal work): for each of its key blocks it sweeps the query
// blocks of one panel that can see it, recomputes P = exp(S − lse) from the saved log-sum-exp, and
// accumulates
//   dV_c += Pᵀ dO,   dS = P ∘ (dO Vᵀ − δ),   dk̂_c += dSᵀ q̂,   dq̂_g += dS k̂_c,
// so dk̂ and dV rows are owned by one tile, and dq̂ is a sum over groups kept per group and
// added afterwards in group order: no atomics, and the same bits for any thread count. The query
// rows go in panels (the phase runs once per panel, in order): a panel's q̂, dO and dq̂ partials
// stay in cache while the group's key blocks pass over them, and the partials take G·panel rows
// instead of G·L. dk̂ and dV accumulate in place from panel to panel, and every sum keeps the
// order of one sweep over all query rows, so the panel size never changes a bit.

#include "attention_tile.h"

int64_t lgk_flash_key_groups(int64_t length, int64_t key_block, int64_t max_key_groups) {
  const int64_t key_blocks = (length + key_block - 1) / key_block;
  return LGK_MAX(1, LGK_MIN(max_key_groups, key_blocks));
}

static void flash_backward_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_flash_backward_params *pr = params;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const int64_t groups = pr->key_groups, pair = tile / groups, group = tile % groups;
  const int64_t hs = layout->head_stride, lp = layout->padded_length, length = layout->length;
  const int64_t bc = pr->key_block, br = pr->query_block;
  const int64_t key_blocks = (length + bc - 1) / bc, query_blocks = (length + br - 1) / br;
  const int64_t panel0 = pr->panel_row, panel_end = LGK_MIN(length, panel0 + pr->panel_rows);
  const int64_t first_panel_block = panel0 / br, end_panel_block = LGK_MIN(query_blocks, (panel_end + br - 1) / br);
  const int64_t visible = lgk_key_length(heads, pair);
  const int64_t offset = lgk_pair_offset(layout, pair);
  const float *q = heads->q + offset, *k = heads->k + offset;
  // A bf16 view has no Float32 transposes (NULL): no pointer is formed from them then.
  const float *k_t = heads->k_t ? heads->k_t + offset : NULL, *v_t = heads->v_t ? heads->v_t + offset : NULL;
  const float *d_o = pr->d_o + offset, *lse = pr->lse + pair * lp, *delta = pr->delta + pair * lp;
  // Row i of the panel's partial is query row panel0 + i.
  float *d_q = pr->d_q_partials + (pair * groups + group) * pr->panel_rows * hs - panel0 * hs;

  float *p = lgk_carve(&scratch, br * bc);
  float *ds = lgk_carve(&scratch, br * bc);
  float *packed = pr->bf16 ? lgk_carve(&scratch, lgk_tile_backward_bf16_packed_words(br, bc)) : NULL;
  const int64_t w = lgk_ops_bf16_native(pr->ops) ? 2 : 1, words = offset / w;  // the packed forms' offsets
  const lgk_bf16_heads *bf = pr->bf16;
  // Causal: the group's first key block is `group`, so rows above its first query block never
  // receive a contribution (and the reduction does not read them).
  const int64_t first_row = LGK_MAX(panel0, heads->causal ? (group * bc) / br * br : 0);
  if (first_row < panel_end) lgk_zero(d_q + first_row * hs, (end_panel_block * br - first_row) * hs);

  for (int64_t kb = group; kb < key_blocks; kb += groups) {
    const int64_t key0 = kb * bc, keys = LGK_MIN(bc, length - key0);
    float *d_k_out = pr->d_k + offset + key0 * hs, *d_v_out = pr->d_v + offset + key0 * hs;
    if (key0 >= visible) {  // hidden from every query: no gradient (cleared once, in the first panel)
      if (panel0 == 0) {
        lgk_zero(d_k_out, keys * hs);
        lgk_zero(d_v_out, keys * hs);
      }
      continue;
    }
    // The first query block that sees this key block overwrites dk̂ and dV; every later one adds.
    const int64_t first_block = heads->causal ? key0 / br : 0;
    for (int64_t qb = LGK_MAX(first_block, first_panel_block); qb < end_panel_block; qb++) {
      const int64_t row0 = qb * br;
      const lgk_tile_shape shape = {LGK_MIN(br, length - row0), bc, hs, row0, key0, visible, heads->causal};
      const float beta_kv = qb == first_block ? 0.0f : 1.0f;
      if (bf) {
        lgk_tile_backward_bf16(
            pr->ops, &shape, (const uint32_t *)bf->q_rows + words + row0 * (hs / w),
            (const uint32_t *)bf->q_row_pairs + words + row0 / w * hs, (const uint32_t *)bf->k_rows_t + words + key0 * (hs / w),
            (const uint32_t *)bf->k_row_pairs + words + key0 / w * hs, (const uint32_t *)bf->v_rows_t + words + key0 * (hs / w), bc,
            (const uint32_t *)bf->d_o_rows + words + row0 * (hs / w),
            (const uint32_t *)bf->d_o_row_pairs + words + row0 / w * hs, lse + row0, delta + row0, d_q + row0 * hs, hs,
            1.0f, d_k_out, d_v_out, beta_kv, p, ds, packed);
      } else {
        // k̂ᵀ and Vᵀ of the key block: their panels (panel_width = bc, the view's row multiple).
        const int64_t panel = lgk_transposed_index(layout, 0, key0), ldt = layout->panel_width;
        lgk_tile_backward(pr->ops, &shape, q + row0 * hs, hs, k_t + panel, ldt, k + key0 * hs, hs, v_t + panel, ldt,
                          d_o + row0 * hs, hs, lse + row0, delta + row0, d_q + row0 * hs, hs, 1.0f, d_k_out, d_v_out,
                          beta_kv, p, ds);
      }
    }
  }
}

lgk_phase lgk_flash_backward_phase(const lgk_flash_backward_params *pr) {
  const int64_t br = pr->query_block, bc = pr->key_block;
  const int64_t scratch =
      2 * lgk_piece(br * bc) + (pr->bf16 ? lgk_piece(lgk_tile_backward_bf16_packed_words(br, bc)) : 0);
  return lgk_make_phase("flash backward", flash_backward_tile, lgk_pairs(&pr->heads.layout) * pr->key_groups,
                        scratch, pr);
}

static void flash_reduce_dq_tile(const void *params, int64_t tile, float *scratch) {
  (void)scratch;
  const lgk_flash_reduce_dq_params *pr = params;
  const lgk_head_layout *layout = &pr->layout;
  const int64_t panel_end = LGK_MIN(layout->length, pr->panel_row + pr->panel_rows);
  const int64_t blocks = (panel_end - pr->panel_row + pr->query_block - 1) / pr->query_block;
  const int64_t pair = tile / blocks, block = tile % blocks;
  const int64_t hs = layout->head_stride;
  const int64_t row0 = pr->panel_row + block * pr->query_block;
  const int64_t count = LGK_MIN(pr->query_block, layout->length - row0) * hs;
  const int64_t partial_floats = pr->panel_rows * hs;
  const float *first = pr->d_q_partials + pair * pr->key_groups * partial_floats + (row0 - pr->panel_row) * hs;
  float *d_q = pr->d_q + lgk_pair_offset(layout, pair) + row0 * hs;
  // Causal: group g starts at key block g, so it reaches this block only if g·B_c ≤ its last row.
  const int64_t last_row = row0 + count / hs - 1;
  const int64_t groups = pr->causal ? LGK_MIN(pr->key_groups, last_row / pr->key_block + 1) : pr->key_groups;
  for (int64_t t = 0; t < count; t++) d_q[t] = first[t];
  for (int64_t g = 1; g < groups; g++) {
    const float *part = first + g * partial_floats;
    for (int64_t t = 0; t < count; t++) d_q[t] += part[t];
  }
}

lgk_phase lgk_flash_reduce_dq_phase(const lgk_flash_reduce_dq_params *pr) {
  const int64_t panel_end = LGK_MIN(pr->layout.length, pr->panel_row + pr->panel_rows);
  const int64_t blocks = (panel_end - pr->panel_row + pr->query_block - 1) / pr->query_block;
  return lgk_make_phase("flash reduce dq", flash_reduce_dq_tile, lgk_pairs(&pr->layout) * blocks, 0, pr);
}

// The forward tile of exact attention, FlashAttention-2 style: one query block against every key
// block it can see, with the online softmax (running max m and sum l), so no more than one block
// of scores ever exists; then O = O / l and lse_i = m_i + log l_i for the backward pass.
// Causal: key blocks wholly above the diagonal are never visited.

#include <math.h>
#include "attention_tile.h"

static int64_t query_blocks(const lgk_flash_forward_params *pr) {
  return (pr->heads.layout.length + pr->query_block - 1) / pr->query_block;
}

static void flash_forward_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_flash_forward_params *pr = params;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const int64_t pairs = lgk_pairs(layout), blocks = query_blocks(pr);
  // The longest causal rows first (largest block index), across all pairs.
  const int64_t block = blocks - 1 - tile / pairs, pair = tile % pairs;
  const int64_t hs = layout->head_stride, lp = layout->padded_length, bc = pr->key_block;
  const int64_t row0 = block * pr->query_block;
  const int64_t rows = LGK_MIN(pr->query_block, layout->length - row0);
  const int64_t visible = lgk_key_length(heads, pair);
  const int64_t key_end = heads->causal ? LGK_MIN(visible, row0 + rows) : visible;
  const int64_t offset = lgk_pair_offset(layout, pair);

  float *s = lgk_carve(&scratch, rows * bc);
  float *o = lgk_carve(&scratch, rows * hs);
  float *row_max = lgk_carve(&scratch, rows);
  float *row_sum = lgk_carve(&scratch, rows);
  float *p_rows = pr->bf16 ? lgk_carve(&scratch, rows * bc) : NULL;
  lgk_zero(o, rows * hs);
  lgk_zero(row_sum, rows);
  for (int64_t i = 0; i < rows; i++) row_max[i] = -INFINITY;

  for (int64_t key0 = 0; key0 < key_end; key0 += bc) {
    const lgk_tile_shape shape = {rows, bc, hs, row0, key0, visible, heads->causal};
    if (pr->bf16) {
      // Word offsets in the packed forms (w elements of the paired dimension per word).
      const int64_t w = lgk_ops_bf16_native(pr->ops) ? 2 : 1, packed = offset / w;
      const uint32_t *q = pr->bf16->q_rows, *k_t = pr->bf16->k_rows_t, *v = pr->bf16->v_row_pairs;
      lgk_tile_forward_online_bf16(pr->ops, &shape, q + packed + row0 * (hs / w), k_t + packed + key0 * (hs / w), bc,
                                   v + packed + key0 / w * hs, s, p_rows, row_max, row_sum, o);
    } else {
      // k̂ᵀ of the key block: its panel (panel_width = bc, the view's row multiple).
      lgk_tile_forward_online(pr->ops, &shape, heads->q + offset + row0 * hs, hs,
                              heads->k_t + offset + lgk_transposed_index(layout, 0, key0), layout->panel_width,
                              heads->v + offset + key0 * hs, hs, s, row_max, row_sum, o);
    }
  }

  float *out = pr->o + offset + row0 * hs;
  float *lse = pr->lse + pair * lp + row0;
  for (int64_t i = 0; i < rows; i++) {
    const float inverse = 1.0f / row_sum[i];
    for (int64_t c = 0; c < hs; c++) out[i * hs + c] = o[i * hs + c] * inverse;
    lse[i] = row_max[i] + logf(row_sum[i]);
  }
}

lgk_phase lgk_flash_forward_phase(const lgk_flash_forward_params *pr) {
  const int64_t br = pr->query_block, bc = pr->key_block, hs = pr->heads.layout.head_stride;
  const int64_t scratch = (pr->bf16 ? 2 : 1) * lgk_piece(br * bc) + lgk_piece(br * hs) + 2 * lgk_piece(br);
  return lgk_make_phase("flash forward", flash_forward_tile, lgk_pairs(&pr->heads.layout) * query_blocks(pr),
                        scratch, pr);
}

// The phase that packs a head view's bf16 operand forms (lgk_exact.h) once per call, from the two
// pack operations of the operations table.

#include "bf16.h"
#include "internal.h"

/// Source rows per pack tile (even, so a tile never splits a pair).
#define LGK_PACK_ROWS 256

/// The `rows_transposed` form of rows r0 ..< r0 + rows of m: word (c, r) = word (r, c) of `rows`,
/// in panels of `panel` rows of m.
static void pack_rows_transposed(const lgk_ops *ops, int64_t rows, int64_t hs, int64_t panel, const float *m, int64_t r0,
                                 void *out, float *scratch) {
  const int64_t words = hs / lgk_bf16_step(ops);
  lgk_bf16_pack_rows(ops, rows, hs, m + r0 * hs, hs, scratch, words);
  // Words are copied as bytes: the same 4 bytes whether they hold a bf16 pair or a float.
  const char *src = (const char *)scratch;
  char *dst = (char *)out;
  for (int64_t c = 0; c < words; c++)
    for (int64_t r = 0; r < rows; r++) {
      const int64_t key = r0 + r;
      memcpy(dst + 4 * (key / panel * words * panel + c * panel + key % panel), src + 4 * (r * words + c), 4);
    }
}

static void bf16_pack_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_bf16_pack_params *pr = params;
  const lgk_head_layout *layout = &pr->layout;
  const int64_t lp = layout->padded_length, hs = layout->head_stride, w = lgk_bf16_step(pr->ops);
  const int64_t blocks = (lp + LGK_PACK_ROWS - 1) / LGK_PACK_ROWS, pair = tile / blocks;
  const int64_t r0 = (tile % blocks) * LGK_PACK_ROWS, rows = LGK_MIN(LGK_PACK_ROWS, lp - r0);
  const int64_t source = lgk_pair_offset(layout, pair), packed = source / w;  // floats, words
  const float *sources[4] = {pr->q, pr->k, pr->v, pr->d_o};
  void *const rows_form[4] = {pr->q_rows, NULL, NULL, pr->d_o_rows};
  void *const transposed_form[4] = {NULL, pr->k_rows_t, pr->v_rows_t, NULL};
  void *const pairs_form[4] = {pr->q_row_pairs, pr->k_row_pairs, pr->v_row_pairs, pr->d_o_row_pairs};
  for (int s = 0; s < 4; s++) {
    if (!sources[s]) continue;
    const float *m = sources[s] + source;
    if (rows_form[s])
      lgk_bf16_pack_rows(pr->ops, rows, hs, m + r0 * hs, hs, (uint32_t *)rows_form[s] + packed + r0 * (hs / w), hs / w);
    if (transposed_form[s])
      pack_rows_transposed(pr->ops, rows, hs, pr->panel, m, r0, (uint32_t *)transposed_form[s] + packed, scratch);
    if (pairs_form[s])
      lgk_bf16_pack_row_pairs(pr->ops, rows, hs, m + r0 * hs, hs, (uint32_t *)pairs_form[s] + packed + r0 / w * hs, hs);
  }
}

lgk_phase lgk_bf16_pack_phase(const lgk_bf16_pack_params *pr) {
  const lgk_head_layout *layout = &pr->layout;
  const int64_t blocks = (layout->padded_length + LGK_PACK_ROWS - 1) / LGK_PACK_ROWS;
  return lgk_make_phase("bf16 pack", bf16_pack_tile, lgk_pairs(layout) * blocks,
                        LGK_PACK_ROWS * layout->head_stride, pr);
}

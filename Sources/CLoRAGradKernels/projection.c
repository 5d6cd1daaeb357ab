// Projection tiles: Q, K, V = X W_μᵀ + b_μ for a block of rows of one sequence, RoPE on Q and K,
// √β on Q and K (the head view's one β convention), scattered into the head-major, zero-padded
// layout with k̂ᵀ and Vᵀ alongside. Every tile writes all the padding of its rows; the last tile of
// a sequence also clears the padding rows, so no buffer needs to be zeroed first.

#include "internal.h"
#include "ops.h"
#include "rope.h"

#define LGK_PROJECTION_ROWS 64

static int64_t projection_blocks(const lgk_head_layout *layout) {
  return (layout->length + LGK_PROJECTION_ROWS - 1) / LGK_PROJECTION_ROWS;
}

static void projection_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_projection_params *pr = params;
  const lgk_head_layout *layout = &pr->layout;
  const int64_t blocks = projection_blocks(layout);
  const int64_t n = tile / blocks, row0 = (tile % blocks) * LGK_PROJECTION_ROWS;
  const int64_t rows = LGK_MIN(LGK_PROJECTION_ROWS, layout->length - row0);
  const int64_t d = pr->width, h = layout->head_width, hs = layout->head_stride, lp = layout->padded_length;
  const int64_t half = h / 2, last = row0 + rows == layout->length;
  const float *x = pr->x + (n * layout->length + row0) * d;
  float *product = lgk_carve(&scratch, rows * d);
  float *cosines = lgk_carve(&scratch, rows * half);
  float *sines = lgk_carve(&scratch, rows * half);
  if (pr->rope_theta > 0) lgk_rope_angles(pr->rope_theta, h, row0, rows, cosines, sines);
  float *heads_out[3] = {pr->q, pr->k, pr->v};
  float *transposed_out[3] = {0, pr->k_t, pr->v_t};

  for (int mu = 0; mu < 3; mu++) {
    pr->ops->sgemm(rows, d, d, 1.0f, x, d, 1, pr->w_t[mu], d, 0.0f, product, d);
    if (pr->bias[mu])
      for (int64_t i = 0; i < rows; i++)
        for (int64_t o = 0; o < d; o++) product[i * d + o] += pr->bias[mu][o];
    const int rotated = mu < 2 && pr->rope_theta > 0;
    const float scale = mu < 2 ? pr->head_scale : 1.0f;
    for (int64_t head = 0; head < layout->heads; head++) {
      const int64_t offset = lgk_pair_offset(layout, n * layout->heads + head);
      float *dst = heads_out[mu] + offset;
      float *dst_t = transposed_out[mu] ? transposed_out[mu] + offset : 0;
      for (int64_t i = 0; i < rows; i++) {
        float *row = product + i * d + head * h;
        if (rotated) lgk_rope_rotate(row, h, cosines + i * half, sines + i * half, 0);
        float *out = dst + (row0 + i) * hs;
        for (int64_t c = 0; c < h; c++) out[c] = row[c] * scale;
        for (int64_t c = h; c < hs; c++) out[c] = 0.0f;
      }
      // The transpose, panel by panel and column by column, so each write is a run of rows.
      if (dst_t)
        for (int64_t i = 0; i < rows;) {
          const int64_t run = LGK_MIN(rows - i, layout->panel_width - (row0 + i) % layout->panel_width);
          float *panel = dst_t + lgk_transposed_index(layout, 0, row0 + i);
          for (int64_t c = 0; c < hs; c++)
            for (int64_t t = 0; t < run; t++) panel[c * layout->panel_width + t] = dst[(row0 + i + t) * hs + c];
          i += run;
        }
      if (last) {
        lgk_zero(dst + layout->length * hs, (lp - layout->length) * hs);
        if (dst_t)
          for (int64_t c = 0; c < hs; c++)
            for (int64_t key = layout->length; key < lp; key++) dst_t[lgk_transposed_index(layout, c, key)] = 0.0f;
      }
    }
  }
}

lgk_phase lgk_projection_phase(const lgk_projection_params *pr) {
  const int64_t rows = LGK_PROJECTION_ROWS, half = pr->layout.head_width / 2;
  const int64_t scratch = lgk_piece(rows * pr->width) + 2 * lgk_piece(rows * half);
  return lgk_make_phase("projection", projection_tile, pr->layout.sequences * projection_blocks(&pr->layout),
                        scratch, pr);
}

// The head-major layout (lgk_heads.h) and the phases that move rows of [N, L, D] tensors into
// head space and back: the upstream gradient dZ (with δ_i = ⟨dZ_i, Z_i⟩ per head) and the output.

#include "internal.h"

/// Rows per tile of the row ↔ head phases.
#define LGK_ROW_TILE 64

lgk_head_layout lgk_head_layout_make(int64_t sequences, int64_t heads, int64_t length,
                                     int64_t head_width, int64_t row_multiple) {
  const int64_t multiple = row_multiple > 0 ? row_multiple : 1;
  lgk_head_layout layout = {sequences, heads, length, head_width,
                            lgk_round_up(head_width, LGK_VECTOR_FLOATS),
                            lgk_round_up(length, multiple), multiple};
  return layout;
}

int64_t lgk_head_layout_floats(const lgk_head_layout *layout) {
  return lgk_pairs(layout) * layout->padded_length * layout->head_stride;
}

int64_t lgk_head_layout_row_floats(const lgk_head_layout *layout) {
  return lgk_pairs(layout) * layout->padded_length;
}

static int64_t row_tiles(const lgk_head_layout *layout) {
  return layout->sequences * ((layout->length + LGK_ROW_TILE - 1) / LGK_ROW_TILE);
}

/// The sequence and first row of a row tile, and how many rows it has.
static void row_tile(const lgk_head_layout *layout, int64_t tile, int64_t *sequence, int64_t *row0, int64_t *rows) {
  const int64_t blocks = (layout->length + LGK_ROW_TILE - 1) / LGK_ROW_TILE;
  *sequence = tile / blocks;
  *row0 = (tile % blocks) * LGK_ROW_TILE;
  *rows = LGK_MIN(LGK_ROW_TILE, layout->length - *row0);
}

static void upstream_tile(const void *params, int64_t tile, float *scratch) {
  (void)scratch;
  const lgk_upstream_params *pr = params;
  const lgk_head_layout *layout = &pr->layout;
  int64_t n, row0, rows;
  row_tile(layout, tile, &n, &row0, &rows);
  const int64_t d = pr->width, h = layout->head_width, hs = layout->head_stride, lp = layout->padded_length;
  // The last tile of a sequence also clears the padding rows, so no buffer needs zeroing first.
  const int64_t end = row0 + rows == layout->length ? lp : row0 + rows;
  for (int64_t head = 0; head < layout->heads; head++) {
    const int64_t pair = n * layout->heads + head;
    float *d_o = pr->d_o + lgk_pair_offset(layout, pair);
    for (int64_t i = row0; i < end; i++) {
      const float *dz = pr->dz + (n * layout->length + i) * d + head * h;
      float *out = d_o + i * hs;
      if (i >= layout->length) {
        lgk_zero(out, hs);
        continue;
      }
      for (int64_t c = 0; c < h; c++) out[c] = dz[c];
      for (int64_t c = h; c < hs; c++) out[c] = 0.0f;
      if (pr->z) {
        const float *z = pr->z + (n * layout->length + i) * d + head * h;
        float dot = 0.0f;
        for (int64_t c = 0; c < h; c++) dot += dz[c] * z[c];
        pr->delta[pair * lp + i] = dot;
      }
    }
  }
}

lgk_phase lgk_upstream_phase(const lgk_upstream_params *pr) {
  return lgk_make_phase("upstream", upstream_tile, row_tiles(&pr->layout), 0, pr);
}

static void gather_tile(const void *params, int64_t tile, float *scratch) {
  (void)scratch;
  const lgk_gather_params *pr = params;
  const lgk_head_layout *layout = &pr->layout;
  int64_t n, row0, rows;
  row_tile(layout, tile, &n, &row0, &rows);
  const int64_t d = pr->width, h = layout->head_width, hs = layout->head_stride;
  for (int64_t head = 0; head < layout->heads; head++) {
    const float *src = pr->heads + lgk_pair_offset(layout, n * layout->heads + head);
    for (int64_t i = row0; i < row0 + rows; i++) {
      float *out = pr->rows + (n * layout->length + i) * d + head * h;
      for (int64_t c = 0; c < h; c++) out[c] = src[i * hs + c];
    }
  }
}

lgk_phase lgk_gather_phase(const lgk_gather_params *pr) {
  return lgk_make_phase("gather", gather_tile, row_tiles(&pr->layout), 0, pr);
}

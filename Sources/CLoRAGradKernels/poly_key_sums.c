// The key side of the polynomial method: per (pair, chunk), the sums Σ_j ψ_j ⊗ payload_j over
// the chunk's visible keys, with payload_j = [1 | V_j | k̃_j | V_j1 k̃_j | … | V_jh k̃_j] (k̃ = k̂ − μ),
// one GEMM Ψᵀ·payload per key block; and the scan that combines the chunk sums in chunk order.

#include "poly_internal.h"

static void poly_key_sums_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_poly_key_sums_params *pr = params;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t pair = tile / g->chunks, chunk = tile % g->chunks;
  const int64_t h = layout->head_width, hs = layout->head_stride, rb = g->row_block, width = pr->width;
  const int64_t visible = lgk_key_length(heads, pair), offset = lgk_pair_offset(layout, pair);
  const float *k = heads->k + offset, *v = heads->v + offset;
  const float *mean = pr->plan.key_mean + pair * hs;
  float *sums = lgk_poly_sums(pr->sums, g, pair, chunk, width);
  if (!lgk_poly_owns(g, chunk)) {  // another process's chunk: it adds nothing here
    lgk_zero(sums, g->rank * width);
    return;
  }
  float *x_t = lgk_carve(&scratch, hs * rb);
  float *features = lgk_carve(&scratch, g->rank * rb);
  float *payload = lgk_carve(&scratch, rb * width);
  float *block = lgk_carve(&scratch, g->rank * width);
  double *acc = lgk_carve_doubles(&scratch, g->rank * width);
  for (int64_t t = 0; t < g->rank * width; t++) acc[t] = 0.0;

  for (int64_t b = chunk * g->blocks_per_chunk; b < LGK_MIN((chunk + 1) * g->blocks_per_chunk, g->blocks); b++) {
    const int64_t row0 = b * rb;
    if (row0 >= visible) break;
    const int64_t rows = LGK_MIN(rb, visible - row0);
    lgk_poly_key_features(pr->ops, heads, g, &pr->plan, pair, row0, rows, x_t, features);
    for (int64_t r = 0; r < rows; r++) {
      float *row = payload + r * width;
      const float *v_j = v + (row0 + r) * hs, *k_j = k + (row0 + r) * hs;
      lgk_zero(row, width);
      row[0] = 1.0f;
      for (int64_t c = 0; c < h; c++) row[hs + c] = v_j[c];
      if (width > 2 * hs) {
        float *centred = row + 2 * hs;
        for (int64_t c = 0; c < h; c++) centred[c] = k_j[c] - mean[c];
        for (int64_t a = 0; a < h; a++)
          for (int64_t c = 0; c < h; c++) row[(3 + a) * hs + c] = v_j[a] * centred[c];
      }
    }
    lgk_poly_accumulate(pr->ops, g->rank, width, rows, features, rb, payload, block, acc);
  }
  for (int64_t t = 0; t < g->rank * width; t++) sums[t] = (float)acc[t];
}

lgk_phase lgk_poly_key_sums_phase(const lgk_poly_key_sums_params *pr) {
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t hs = pr->heads.layout.head_stride, rb = g->row_block;
  const int64_t scratch = lgk_piece(hs * rb) + lgk_piece(g->rank * rb) + lgk_piece(rb * pr->width) +
                          lgk_piece(g->rank * pr->width) + lgk_piece(2 * g->rank * pr->width);
  return lgk_make_phase("poly key sums", poly_key_sums_tile, lgk_pairs(&pr->heads.layout) * g->chunks, scratch, pr);
}

#define LGK_SCAN_SLAB 16

static void poly_scan_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_poly_scan_params *pr = params;
  const int64_t slabs = (pr->rank + LGK_SCAN_SLAB - 1) / LGK_SCAN_SLAB;
  const int64_t pair = tile / slabs, first = (tile % slabs) * LGK_SCAN_SLAB;
  const int64_t count = LGK_MIN(LGK_SCAN_SLAB, pr->rank - first) * pr->width;
  const int64_t stride = pr->rank * pr->width;
  float *base = pr->sums + pair * pr->chunks * stride + first * pr->width;
  double *running = lgk_carve_doubles(&scratch, count);
  for (int64_t t = 0; t < count; t++) running[t] = 0.0;
  if (pr->mode == lgk_scan_total) {
    for (int64_t c = 0; c < pr->chunks; c++) {
      const float *part = base + c * stride;
      for (int64_t t = 0; t < count; t++) running[t] += part[t];
    }
    for (int64_t t = 0; t < count; t++) base[t] = (float)running[t];
    return;
  }
  for (int64_t step = 0; step < pr->chunks; step++) {
    const int64_t c = pr->mode == lgk_scan_prefix ? step : pr->chunks - 1 - step;
    float *part = base + c * stride;
    for (int64_t t = 0; t < count; t++) {
      const float own = part[t];
      part[t] = (float)running[t];
      running[t] += own;
    }
  }
}

lgk_phase lgk_poly_scan_phase(const lgk_poly_scan_params *pr) {
  const int64_t slabs = (pr->rank + LGK_SCAN_SLAB - 1) / LGK_SCAN_SLAB;
  return lgk_make_phase("poly scan", poly_scan_tile, pr->pairs * slabs, 2 * LGK_SCAN_SLAB * pr->width, pr);
}

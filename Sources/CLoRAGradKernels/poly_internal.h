// Pieces shared by the polynomial-method tiles.

#ifndef LGK_POLY_INTERNAL_H
#define LGK_POLY_INTERNAL_H

#include "internal.h"
#include "ops.h"

/// The sums of one (pair, chunk): `width` columns per feature.
static inline float *lgk_poly_sums(float *sums, const lgk_poly_geometry *g, int64_t pair, int64_t chunk,
                                   int64_t width) {
  return sums + (pair * g->chunks + chunk) * g->rank * width;
}

/// ψ of the centred, normalised keys (k̂_j − μ)/ρ_k of rows row0 ..< row0 + rows: `rank` features,
/// feature-major with row stride row_block; x_t is scratch of head_stride × row_block.
static inline void lgk_poly_key_features(const lgk_ops *ops, const lgk_heads *heads, const lgk_poly_geometry *g,
                                         const lgk_poly_plan *plan, int64_t pair, int64_t row0, int64_t rows,
                                         float *x_t, float *features) {
  const lgk_head_layout *layout = &heads->layout;
  const int64_t h = layout->head_width, hs = layout->head_stride, rb = g->row_block;
  const float *k = heads->k + lgk_pair_offset(layout, pair) + row0 * hs;
  const float *mean = plan->key_mean + pair * hs;
  const float norm = plan->key_norm[pair];
  const float scale = norm > 0.0f ? 1.0f / norm : 0.0f;
  for (int64_t r = 0; r < rows; r++)  // transposed here from the row-major k̂ (the block is in cache)
    for (int64_t c = 0; c < h; c++) x_t[c * rb + r] = (k[r * hs + c] - mean[c]) * scale;
  ops->features(rows, x_t, rb, g->rank, plan->parent, plan->variable, features, rb);
}

/// out (rows × n) = Φᵀ·sums for feature-major features (rank × rows, row stride ld) and sums
/// (rank × n), the feature dimension in blocks of LGK_FEATURE_BLOCK summed in order: at most
/// LGK_FEATURE_BLOCK + ⌈rank / LGK_FEATURE_BLOCK⌉ roundings per entry.
static inline void lgk_poly_feature_product(const lgk_ops *ops, int64_t rows, int64_t n, int64_t rank,
                                            const float *features, int64_t ld, const float *sums, float *out) {
  for (int64_t m0 = 0; m0 < rank; m0 += LGK_FEATURE_BLOCK) {
    const int64_t count = LGK_MIN(LGK_FEATURE_BLOCK, rank - m0);
    ops->sgemm(rows, n, count, 1.0f, features + m0 * ld, 1, ld, sums + m0 * n, n, m0 == 0 ? 0.0f : 1.0f, out, n);
  }
}

/// acc (rank × n, Float64) += features·payload for one block of rows (features feature-major,
/// row stride ld; payload rows × n), the block's product in Float32 (scratch `block`).
static inline void lgk_poly_accumulate(const lgk_ops *ops, int64_t rank, int64_t n, int64_t rows, const float *features,
                                       int64_t ld, const float *payload, float *block, double *acc) {
  ops->sgemm(rank, n, rows, 1.0f, features, ld, 1, payload, n, 0.0f, block, n);
  for (int64_t t = 0; t < rank * n; t++) acc[t] += block[t];
}

/// A scratch piece of n doubles.
/// Whether this process computes `chunk` (lgk_poly_geometry.own_begin, own_end).
static inline int lgk_poly_owns(const lgk_poly_geometry *g, int64_t chunk) {
  return chunk >= g->own_begin && chunk < g->own_end;
}

static inline double *lgk_carve_doubles(float **cursor, int64_t n) { return (double *)lgk_carve(cursor, 2 * n); }

#endif

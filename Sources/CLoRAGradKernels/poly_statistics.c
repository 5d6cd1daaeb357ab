// The geometry and the statistics tile of the polynomial method: the key mean μ over the visible
// keys (subtracting it from every key adds the same constant to each row of the logits, so P is
// unchanged and the range shrinks), the norm bounds ρ_k = max ‖k̂_j − μ‖ and, per query block,
// ρ_q = max ‖q̂_i‖, whose product bounds every |⟨q̂_i, k̂_j − μ⟩|; and the largest entries.
// Norms are accumulated in Float64 from the Float32 values the kernels use and rounded up, so
// the bound is never below the true one.

#include <math.h>
#include "internal.h"

lgk_poly_geometry lgk_poly_geometry_make(int64_t length, int64_t head_width, int64_t head_stride,
                                         int64_t row_block, int64_t rank, int64_t max_chunks) {
  lgk_poly_geometry g;
  g.row_block = row_block;
  g.blocks = (length + row_block - 1) / row_block;
  const int64_t chunks = LGK_MAX(1, LGK_MIN(max_chunks, g.blocks));
  g.blocks_per_chunk = (g.blocks + chunks - 1) / chunks;
  g.chunks = (g.blocks + g.blocks_per_chunk - 1) / g.blocks_per_chunk;
  g.rank = rank;
  g.key_width = (head_width + 3) * head_stride;
  g.forward_key_width = 2 * head_stride;
  g.query_width = (head_width + 2) * head_stride;
  g.bound_query_width = (head_width + 4) * head_stride;
  g.own_begin = 0;
  g.own_end = g.chunks;
  return g;
}

/// The smallest Float32 ≥ x.
static float rounded_up(double x) {
  float f = (float)x;
  if ((double)f < x) f = nextafterf(f, INFINITY);
  return f;
}

static void poly_statistics_tile(const void *params, int64_t pair, float *scratch) {
  (void)scratch;
  const lgk_poly_statistics_params *pr = params;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const int64_t h = layout->head_width, hs = layout->head_stride, length = layout->length;
  const int64_t blocks = (length + pr->row_block - 1) / pr->row_block, visible = lgk_key_length(heads, pair);
  const int64_t offset = lgk_pair_offset(layout, pair);
  const float *k = heads->k + offset, *q = heads->q + offset;

  float *mean = pr->key_mean + pair * hs;
  float *value_max = pr->value_max + pair * hs, *key_max = pr->centred_key_max + pair * hs;
  const float *v = heads->v + offset;
  for (int64_t c = 0; c < hs; c++) mean[c] = value_max[c] = key_max[c] = 0.0f;
  for (int64_t c = 0; c < h; c++) {
    double sum = 0.0;
    for (int64_t j = 0; j < visible; j++) sum += k[j * hs + c];
    mean[c] = (float)(sum / (double)visible);
  }
  double key_norm = 0.0;
  float centred_entry = 0.0f, key_entry = 0.0f;
  for (int64_t j = 0; j < visible; j++) {
    double square = 0.0;
    for (int64_t c = 0; c < h; c++) {
      const float centred = k[j * hs + c] - mean[c];
      square += (double)centred * (double)centred;
      key_max[c] = LGK_MAX(key_max[c], fabsf(centred));
      value_max[c] = LGK_MAX(value_max[c], fabsf(v[j * hs + c]));
      centred_entry = LGK_MAX(centred_entry, fabsf(centred));
      key_entry = LGK_MAX(key_entry, fabsf(k[j * hs + c]));
    }
    key_norm = LGK_MAX(key_norm, square);
  }
  pr->key_norm[pair] = rounded_up(sqrt(key_norm));

  float query_entry = 0.0f;
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t row0 = b * pr->row_block, rows = LGK_MIN(pr->row_block, length - row0);
    double block_norm = 0.0;
    for (int64_t i = row0; i < row0 + rows; i++) {
      double square = 0.0;
      for (int64_t c = 0; c < h; c++) {
        square += (double)q[i * hs + c] * (double)q[i * hs + c];
        query_entry = LGK_MAX(query_entry, fabsf(q[i * hs + c]));
      }
      block_norm = LGK_MAX(block_norm, square);
    }
    pr->query_norm[pair * blocks + b] = rounded_up(sqrt(block_norm));
  }
  float *entries = pr->entry_bounds + 3 * pair;
  entries[0] = query_entry;
  entries[1] = centred_entry;
  entries[2] = key_entry;
}

lgk_phase lgk_poly_statistics_phase(const lgk_poly_statistics_params *pr) {
  return lgk_make_phase("poly statistics", poly_statistics_tile, lgk_pairs(&pr->heads.layout), 0, pr);
}

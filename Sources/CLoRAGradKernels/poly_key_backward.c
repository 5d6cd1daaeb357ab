// The key side of the polynomial backward pass, per (pair, key block):
//   W_j = ψ_j·QS = [dV_j | Ψ_j QS[δ q̂] | Ψ_j QS[dO_1 q̂] | …],  dk̂_j = Σ_a V_ja W_j[dO_a q̂] − W_j[δ q̂],
// with QS the total of the query sums, or (causal) the suffix over the chunks after the key's
// own, added to the in-chunk part the query phase left in dk̂ and dV. Hidden keys get zero.

#include "poly_internal.h"

static void poly_key_backward_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_poly_key_backward_params *pr = params;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t pair = tile / g->blocks, b = tile % g->blocks;
  const int64_t h = layout->head_width, hs = layout->head_stride, rb = g->row_block, qw = pr->query_width;
  const int bounds = pr->d_k_bound != 0;
  const int64_t row0 = b * rb, block_rows = LGK_MIN(rb, layout->length - row0);
  const int64_t visible = lgk_key_length(heads, pair), offset = lgk_pair_offset(layout, pair);
  const int64_t rows = LGK_MAX(0, LGK_MIN(block_rows, visible - row0));
  const int64_t chunk = b / g->blocks_per_chunk;
  float *d_v = pr->d_v + offset + row0 * hs, *d_k = pr->d_k + offset + row0 * hs;
  float *d_k_bound = bounds ? pr->d_k_bound + offset + row0 * hs : 0, *d_v_bound = bounds ? pr->d_v_bound + offset + row0 * hs : 0;
  if (!lgk_poly_owns(g, chunk)) return;  // another process's keys: left zero (lgk_poly_geometry.own_begin)
  if (!heads->causal) {  // hidden keys of the block: no gradient
    lgk_zero(d_k + rows * hs, (block_rows - rows) * hs);
    lgk_zero(d_v + rows * hs, (block_rows - rows) * hs);
    if (bounds) {
      lgk_zero(d_k_bound + rows * hs, (block_rows - rows) * hs);
      lgk_zero(d_v_bound + rows * hs, (block_rows - rows) * hs);
    }
  }
  if (rows == 0 || (heads->causal && chunk == g->chunks - 1)) return;  // nothing, or no later chunk
  float *x_t = lgk_carve(&scratch, hs * rb);
  float *features = lgk_carve(&scratch, g->rank * rb);
  float *products = lgk_carve(&scratch, rb * qw);
  const float *sums = lgk_poly_sums((float *)pr->query_sums, g, pair, heads->causal ? chunk : 0, qw);

  lgk_poly_key_features(pr->ops, heads, g, &pr->plan, pair, row0, rows, x_t, features);
  lgk_poly_feature_product(pr->ops, rows, qw, g->rank, features, rb, sums, products);
  const float *v = heads->v + offset + row0 * hs;
  for (int64_t r = 0; r < rows; r++) {
    const float *w = products + r * qw, *v_j = v + r * hs;
    for (int64_t c = 0; c < hs; c++) {
      float dk = 0.0f, dv = 0.0f;
      if (c < h) {
        dk = -w[hs + c];
        for (int64_t a = 0; a < h; a++) dk += v_j[a] * w[(2 + a) * hs + c];
        dv = w[c];
      }
      if (heads->causal) {
        d_k[r * hs + c] += dk;
        d_v[r * hs + c] += dv;
      } else {
        d_k[r * hs + c] = dk;
        d_v[r * hs + c] = dv;
      }
      if (!bounds) continue;
      const float dk_bound = c < h ? w[(h + 3) * hs + c] : 0.0f, dv_bound = c < h ? w[(h + 2) * hs + c] : 0.0f;
      if (heads->causal) {
        d_k_bound[r * hs + c] += dk_bound;
        d_v_bound[r * hs + c] += dv_bound;
      } else {
        d_k_bound[r * hs + c] = dk_bound;
        d_v_bound[r * hs + c] = dv_bound;
      }
    }
  }
}

lgk_phase lgk_poly_key_backward_phase(const lgk_poly_key_backward_params *pr) {
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t hs = pr->heads.layout.head_stride, rb = g->row_block;
  const int64_t scratch = lgk_piece(hs * rb) + lgk_piece(g->rank * rb) + lgk_piece(rb * pr->query_width);
  return lgk_make_phase("poly key backward", poly_key_backward_tile, lgk_pairs(&pr->heads.layout) * g->blocks,
                        scratch, pr);
}

// The query side of the polynomial method, per (pair, chunk of query blocks):
//   U_i = φ_b(q̂_i)·KS  = [den_i | Φ_i KS[V] | Φ_i KS[k̃] | Φ_i KS[V_1 k̃] | …]   (one GEMM per block)
//   O_i = U_i[V] / den_i;  forward: lse_i = log den_i + q̂_i·μ;
//   backward: δ_i = ⟨dO_i, O_i⟩ (from the same P̃), dq̂_i = (Σ_a dO_ia U_i[V_a k̃] − δ_i U_i[k̃]) / den_i,
//   and the chunk's query sums Σ_i φ_i ⊗ [dO_i | δ_i q̂_i | dO_i1 q̂_i | … | dO_ih q̂_i] / den_i.
// Causal: KS is the prefix over the chunks before, and the keys of the chunk itself enter
// exactly: e_ij = exp(q̂_i·k̃_j) for j ≤ i (attention_tile.h), added to den_i and O_i, and in the
// backward pass their share of dq̂, dk̂ and dV with P̃_ij = e_ij / den_i (the tile owns the key
// rows of its chunk for this part; the key phase adds the low-rank rest).

#include <math.h>
#include "attention_tile.h"
#include "poly_internal.h"

/// The scratch of a query tile.
typedef struct query_scratch {
  float *x_t, *features, *products, *payload, *block;  // low-rank part
  double *acc;                                          // the chunk's query sums in Float64
  float *centred_t, *centred, *p, *ds, *den, *lse, *delta;  // causal exact part
  float *abs_d_o, *weighted_q;                          // causal exact part of the bounds
  float *values_t;                                      // causal exact part of the backward: Vᵀ of a key block
} query_scratch;

static int64_t query_scratch_floats(const lgk_poly_query_params *pr, int backward) {
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t hs = pr->heads.layout.head_stride, rb = g->row_block, qw = pr->query_width;
  int64_t n = lgk_piece(hs * rb) + lgk_piece(g->rank * rb) + lgk_piece(rb * pr->key_width);
  if (backward) n += lgk_piece(rb * qw) + lgk_piece(g->rank * qw) + lgk_piece(2 * g->rank * qw);
  if (pr->heads.causal) n += 2 * lgk_piece(hs * rb) + 2 * lgk_piece(rb * rb) + 3 * lgk_piece(rb);
  if (pr->heads.causal && backward) n += 3 * lgk_piece(rb * hs);
  return n;
}

static query_scratch carve_query_scratch(const lgk_poly_query_params *pr, int backward, float *cursor) {
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t hs = pr->heads.layout.head_stride, rb = g->row_block, qw = pr->query_width;
  query_scratch s = {0};
  s.x_t = lgk_carve(&cursor, hs * rb);
  s.features = lgk_carve(&cursor, g->rank * rb);
  s.products = lgk_carve(&cursor, rb * pr->key_width);
  if (backward) {
    s.payload = lgk_carve(&cursor, rb * qw);
    s.block = lgk_carve(&cursor, g->rank * qw);
    s.acc = lgk_carve_doubles(&cursor, g->rank * qw);
  }
  if (pr->heads.causal && backward) {
    s.abs_d_o = lgk_carve(&cursor, rb * hs);
    s.weighted_q = lgk_carve(&cursor, rb * hs);
    s.values_t = lgk_carve(&cursor, hs * rb);
  }
  if (pr->heads.causal) {
    s.centred_t = lgk_carve(&cursor, hs * rb);
    s.centred = lgk_carve(&cursor, rb * hs);
    s.p = lgk_carve(&cursor, rb * rb);
    s.ds = lgk_carve(&cursor, rb * rb);
    s.den = lgk_carve(&cursor, rb);
    s.lse = lgk_carve(&cursor, rb);
    s.delta = lgk_carve(&cursor, rb);
  }
  return s;
}

/// The centred keys k̃_j = k̂_j − μ of one key block, transposed (head_stride × row_block) and
/// row-major (keys × head_stride), zero beyond the head width.
static void centre_keys(const lgk_poly_query_params *pr, int64_t pair, int64_t key0, int64_t keys,
                        const query_scratch *s) {
  const lgk_head_layout *layout = &pr->heads.layout;
  const int64_t h = layout->head_width, hs = layout->head_stride, rb = pr->geometry.row_block;
  const float *k = pr->heads.k + lgk_pair_offset(layout, pair) + key0 * hs;
  const float *mean = pr->plan.key_mean + pair * hs;
  for (int64_t j = 0; j < keys; j++)
    for (int64_t c = 0; c < hs; c++) {
      const float centred = c < h ? k[j * hs + c] - mean[c] : 0.0f;
      s->centred[j * hs + c] = centred;
      s->centred_t[c * rb + j] = centred;
    }
}

/// U = Φ_b·KS for query block b (rows row0 ..< row0 + rows), plus (causal) the exact in-chunk keys
/// added to den and the V columns.
static void block_products(const lgk_poly_query_params *pr, int64_t pair, int64_t chunk, int64_t b,
                           int64_t row0, int64_t rows, const query_scratch *s) {
  const lgk_ops *ops = pr->ops;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t h = layout->head_width, hs = layout->head_stride, rb = g->row_block;
  const int64_t kw = pr->key_width, offset = lgk_pair_offset(layout, pair);
  const int64_t block = pair * g->blocks + b, rank = pr->plan.block_rank[block];
  const float norm = pr->plan.query_norm[block];
  const float scale = norm > 0.0f ? 1.0f / norm : 0.0f;
  const float *q = heads->q + offset + row0 * hs;
  for (int64_t c = 0; c < h; c++)
    for (int64_t r = 0; r < rows; r++) s->x_t[c * rb + r] = q[r * hs + c] * scale;
  lgk_monomial_features(ops, rows, s->x_t, rb, rank, pr->plan.parent, pr->plan.variable,
                        pr->plan.block_weights + block * g->rank, s->features, rb);
  const float *key_sums = lgk_poly_sums((float *)pr->key_sums, g, pair, heads->causal ? chunk : 0, kw);
  lgk_poly_feature_product(ops, rows, kw, rank, s->features, rb, key_sums, s->products);
  if (!heads->causal) return;
  const int64_t visible = lgk_key_length(heads, pair);
  float *den_column = s->den;
  lgk_zero(den_column, rows);
  for (int64_t kb = chunk * g->blocks_per_chunk; kb <= b; kb++) {
    const int64_t key0 = kb * rb;
    if (key0 >= visible) break;
    const int64_t keys = LGK_MIN(rb, visible - key0);
    centre_keys(pr, pair, key0, keys, s);
    const lgk_tile_shape shape = {rows, keys, hs, row0, key0, visible, 1};
    lgk_tile_forward_fixed(ops, &shape, q, hs, s->centred_t, rb, heads->v + offset + key0 * hs, hs, s->p,
                           den_column, s->products + hs, kw);
  }
  for (int64_t r = 0; r < rows; r++) s->products[r * kw] += den_column[r];
}

static void query_forward_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_poly_query_params *pr = params;
  const lgk_head_layout *layout = &pr->heads.layout;
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t pair = tile / g->chunks, chunk = tile % g->chunks;
  const int64_t h = layout->head_width, hs = layout->head_stride, lp = layout->padded_length, rb = g->row_block;
  const int64_t kw = pr->key_width, offset = lgk_pair_offset(layout, pair);
  const float *mean = pr->plan.key_mean + pair * hs;
  if (!lgk_poly_owns(g, chunk)) return;  // another process's rows: left zero (lgk_poly_geometry.own_begin)
  const query_scratch s = carve_query_scratch(pr, 0, scratch);
  for (int64_t b = chunk * g->blocks_per_chunk; b < LGK_MIN((chunk + 1) * g->blocks_per_chunk, g->blocks); b++) {
    const int64_t row0 = b * rb, rows = LGK_MIN(rb, layout->length - row0);
    block_products(pr, pair, chunk, b, row0, rows, &s);
    for (int64_t r = 0; r < rows; r++) {
      const float *u = s.products + r * kw, *q_i = pr->heads.q + offset + (row0 + r) * hs;
      float *o = pr->o + offset + (row0 + r) * hs;
      const float inverse = 1.0f / u[0];
      float shift = 0.0f;
      for (int64_t c = 0; c < h; c++) {
        o[c] = u[hs + c] * inverse;
        shift += q_i[c] * mean[c];
      }
      for (int64_t c = h; c < hs; c++) o[c] = 0.0f;
      pr->lse[pair * lp + row0 + r] = logf(u[0]) + shift;
    }
  }
}

lgk_phase lgk_poly_query_forward_phase(const lgk_poly_query_params *pr) {
  return lgk_make_phase("poly query forward", query_forward_tile, lgk_pairs(&pr->heads.layout) * pr->geometry.chunks,
                        query_scratch_floats(pr, 0), pr);
}

/// u = 2⁻²⁴ and γ_n = n·u / (1 − n·u) (Higham), for the rounding terms of the error bounds.
static inline float gamma_of(int64_t n) {
  const double nu = (double)n * 0x1p-24;
  return (float)(nu / (1.0 - nu));
}

static void query_backward_tile(const void *params, int64_t tile, float *scratch) {
  const lgk_poly_query_params *pr = params;
  const lgk_ops *ops = pr->ops;
  const lgk_heads *heads = &pr->heads;
  const lgk_head_layout *layout = &heads->layout;
  const lgk_poly_geometry *g = &pr->geometry;
  const int64_t pair = tile / g->chunks, chunk = tile % g->chunks;
  const int64_t h = layout->head_width, hs = layout->head_stride, lp = layout->padded_length, rb = g->row_block;
  const int64_t kw = pr->key_width, qw = pr->query_width, offset = lgk_pair_offset(layout, pair);
  const int64_t first_block = chunk * g->blocks_per_chunk;
  const int64_t end_block = LGK_MIN((chunk + 1) * g->blocks_per_chunk, g->blocks);
  const int bounds = pr->plan.block_error != 0;
  float *sums = lgk_poly_sums(pr->query_sums, g, pair, chunk, qw);
  if (!lgk_poly_owns(g, chunk)) {  // another process's rows: no sums; their gradients are left zero
    lgk_zero(sums, g->rank * qw);
    return;
  }
  const query_scratch s = carve_query_scratch(pr, 1, scratch);
  for (int64_t t = 0; t < g->rank * qw; t++) s.acc[t] = 0.0;
  if (heads->causal) {  // the key rows of this chunk collect their in-chunk share here
    const int64_t key_rows = LGK_MIN(end_block * rb, layout->length) - first_block * rb;
    lgk_zero(pr->d_k + offset + first_block * rb * hs, key_rows * hs);
    lgk_zero(pr->d_v + offset + first_block * rb * hs, key_rows * hs);
    if (bounds) {
      lgk_zero(pr->d_k_bound + offset + first_block * rb * hs, key_rows * hs);
      lgk_zero(pr->d_v_bound + offset + first_block * rb * hs, key_rows * hs);
    }
  }
  const int64_t visible = lgk_key_length(heads, pair);
  const float *value_max = pr->plan.value_max + pair * hs, *key_max = pr->plan.centred_key_max + pair * hs;
  // The Float32 rounding of δ, dP − δ and the final combinations of dq̂ and dk̂ (h-term dot products).
  const float rounding = gamma_of(h + 4);

  for (int64_t b = first_block; b < end_block; b++) {
    const int64_t row0 = b * rb, rows = LGK_MIN(rb, layout->length - row0);
    const int64_t block = pair * g->blocks + b, rank = pr->plan.block_rank[block];
    const float error = bounds ? pr->plan.block_error[block] : 0.0f;
    block_products(pr, pair, chunk, b, row0, rows, &s);
    for (int64_t r = 0; r < rows; r++) {
      const float *u = s.products + r * kw;
      const float *q_i = heads->q + offset + (row0 + r) * hs, *d_o = pr->d_o + offset + (row0 + r) * hs;
      float *d_q = pr->d_q + offset + (row0 + r) * hs, *p = s.payload + r * qw;
      const float inverse = 1.0f / u[0];
      float delta = 0.0f;
      for (int64_t c = 0; c < h; c++) delta += d_o[c] * (u[hs + c] * inverse);
      for (int64_t c = 0; c < h; c++) {
        float sum = -delta * u[2 * hs + c];
        for (int64_t a = 0; a < h; a++) sum += d_o[a] * u[(3 + a) * hs + c];
        d_q[c] = inverse * sum;
      }
      for (int64_t c = h; c < hs; c++) d_q[c] = 0.0f;
      lgk_zero(p, qw);
      for (int64_t c = 0; c < h; c++) {
        p[c] = d_o[c] * inverse;
        p[hs + c] = delta * inverse * q_i[c];
      }
      for (int64_t a = 0; a < h; a++)
        for (int64_t c = 0; c < h; c++) p[(2 + a) * hs + c] = d_o[a] * inverse * q_i[c];
      if (heads->causal) {
        s.lse[r] = logf(u[0]);
        s.delta[r] = delta;
      }
      if (!bounds) continue;
      // Docs/Theory.md, "Bounds on what the user gets": with |P̃_ij − P_ij| ≤ E·P_ij,
      //   m_i = Σ_c |dO_ic|(max_j|V_jc| + |O_ic|) ≥ |dP_ij| + |δ_i|,  |Δδ_i| ≤ E Σ_c |dO_ic| max_j|V_jc|,
      //   w_i = E m_i + (1 + E)|Δδ_i| + γ_{h+4}(1 + E) m_i  ≥ |ΔdS_ij| / P_ij, and
      //   |Δdq̂_ic| ≤ w_i max_j |k̃_jc|,  |Δdk̂_jc| ≤ Σ_i (1+E) P̃_ij w_i |q̂_ic|,  |ΔdV_jc| ≤ Σ_i (1+E) P̃_ij E |dO_ic|.
      float m = 0.0f, spread = 0.0f;
      for (int64_t c = 0; c < h; c++) {
        m += fabsf(d_o[c]) * (value_max[c] + fabsf(u[hs + c] * inverse));
        spread += fabsf(d_o[c]) * value_max[c];
      }
      const float w = error * m + (1.0f + error) * error * spread + rounding * (1.0f + error) * m;
      float *d_q_bound = pr->d_q_bound + offset + (row0 + r) * hs;
      for (int64_t c = 0; c < hs; c++) d_q_bound[c] = c < h ? w * key_max[c] : 0.0f;
      float *abs_block = p + (h + 2) * hs, *weighted_block = p + (h + 3) * hs;
      for (int64_t c = 0; c < h; c++) {
        abs_block[c] = (1.0f + error) * error * fabsf(d_o[c]) * inverse;
        weighted_block[c] = (1.0f + error) * w * fabsf(q_i[c]) * inverse;
      }
      if (heads->causal) {  // the same, without 1/den (the exact tile's P̃ carries it)
        for (int64_t c = 0; c < hs; c++) {
          s.abs_d_o[r * hs + c] = c < h ? (1.0f + error) * error * fabsf(d_o[c]) : 0.0f;
          s.weighted_q[r * hs + c] = c < h ? (1.0f + error) * w * fabsf(q_i[c]) : 0.0f;
        }
      }
    }
    lgk_poly_accumulate(ops, rank, qw, rows, s.features, rb, s.payload, s.block, s.acc);
    if (!heads->causal) continue;
    // The exact in-chunk part: P̃_ij = exp(q̂_i·k̃_j − log den_i) for the visible j ≤ i of the chunk.
    for (int64_t kb = first_block; kb <= b; kb++) {
      const int64_t key0 = kb * rb;
      if (key0 >= visible) break;
      const int64_t keys = LGK_MIN(rb, visible - key0);
      centre_keys(pr, pair, key0, keys, &s);
      const float *v = heads->v + offset + key0 * hs;  // Vᵀ of the key block, for dO·Vᵀ
      for (int64_t c = 0; c < hs; c++)
        for (int64_t j = 0; j < keys; j++) s.values_t[c * rb + j] = v[j * hs + c];
      const lgk_tile_shape shape = {rows, keys, hs, row0, key0, visible, 1};
      lgk_tile_backward(ops, &shape, heads->q + offset + row0 * hs, hs, s.centred_t, rb, s.centred, hs,
                        s.values_t, rb, pr->d_o + offset + row0 * hs, hs, s.lse, s.delta,
                        pr->d_q + offset + row0 * hs, hs, 1.0f, pr->d_k + offset + key0 * hs,
                        pr->d_v + offset + key0 * hs, 1.0f, s.p, s.ds);
      if (!bounds) continue;
      // s.p holds the tile's P̃: the bounds' in-chunk sums P̃ᵀ·(…).
      ops->sgemm(keys, hs, rows, 1.0f, s.p, 1, keys, s.abs_d_o, hs, 1.0f, pr->d_v_bound + offset + key0 * hs, hs);
      ops->sgemm(keys, hs, rows, 1.0f, s.p, 1, keys, s.weighted_q, hs, 1.0f, pr->d_k_bound + offset + key0 * hs, hs);
    }
  }
  for (int64_t t = 0; t < g->rank * qw; t++) sums[t] = (float)s.acc[t];
}

lgk_phase lgk_poly_query_backward_phase(const lgk_poly_query_params *pr) {
  return lgk_make_phase("poly query backward", query_backward_tile, lgk_pairs(&pr->heads.layout) * pr->geometry.chunks,
                        query_scratch_floats(pr, 1), pr);
}

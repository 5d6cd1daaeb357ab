// The chained low-rank gradient of the polynomial method (SPEC §3.2), tile by tile. With
// P̃ = diag(den)⁻¹ Φ Ψᵀ and den = Φ (Ψᵀ1), every term is a product of thin factors:
//   O = diag(den)⁻¹ Φ (Ψᵀ V),  δ = rowsum(dO ∘ O),  dV = Ψ (Φᵀ diag(den)⁻¹ dO),
//   dQ_i = β/den_i (Σ_a dO_ia Φ_i T_a − δ_i Φ_i Ψᵀ K̃),  T_a = Σ_j ψ(k_j) V_ja K̃_j,
//   dK_j = β Σ_m Ψ_jm (Σ_a V_ja R_a − G),  R_a = Σ_i φ_i dO_ia Q_i/den_i,  G = Σ_i φ_i δ_i Q_i/den_i.
// The key-side sums (Ψᵀ1, ΨᵀV, ΨᵀK̃, T) are one GEMM Ψᵀ·[payload] per key block, and so are
// the query-side sums; no L×L matrix and no L×(k·h) Khatri–Rao factor ever exists. Partial sums
// are kept per chunk of row blocks and added in chunk order, so results do not depend on threads.

#include <math.h>
#include "CLoRAGradKernels.h"
#include "internal.h"

static int64_t key_width(const lgk_poly_problem *pr) { return (pr->head_width + 3) * pr->head_stride; }
static int64_t query_width(const lgk_poly_problem *pr) { return (pr->head_width + 2) * pr->head_stride; }

static int64_t blocks_per_chunk(const lgk_poly_problem *pr) {
  return (lgk_poly_row_blocks(pr) + pr->chunks - 1) / pr->chunks;
}

/// ψ of the normalised centred keys of one block: features (rank × rows, row stride row_block).
static void key_features(const lgk_poly_problem *pr, int64_t pair, int64_t row0, int64_t rows,
                         float *x_t, float *features) {
  const int64_t h = pr->head_width, hs = pr->head_stride, lp = pr->padded_length, rb = pr->row_block;
  const float *k_t = pr->k_t + pair * lp * hs;
  const float *mean = pr->key_mean + pair * hs;
  const float norm = pr->key_norm[pair];
  const float scale = norm > 0.0f ? sqrtf(pr->beta) / norm : 0.0f;
  for (int64_t c = 0; c < h; c++)
    for (int64_t r = 0; r < rows; r++) x_t[c * rb + r] = (k_t[c * lp + row0 + r] - mean[c]) * scale;
  lgk_monomial_features(rows, x_t, rb, pr->rank, pr->parent, pr->variable, NULL, features, rb);
}

void lgk_poly_key_sums_tile(const void *problem, int64_t tile) {
  const lgk_poly_problem *pr = problem;
  const int64_t pair = tile / pr->chunks, chunk = tile % pr->chunks;
  const int64_t h = pr->head_width, hs = pr->head_stride, lp = pr->padded_length, rb = pr->row_block;
  const int64_t n = key_width(pr), per_chunk = blocks_per_chunk(pr);
  const float *k = pr->k + pair * lp * hs, *v = pr->v + pair * lp * hs;
  const float *mean = pr->key_mean + pair * hs;
  float *sums = pr->key_sums + (pair * pr->chunks + chunk) * pr->rank * n;
  float *x_t = lgk_scratch(hs * rb);
  float *features = lgk_scratch(pr->rank * rb);
  float *payload = lgk_scratch(rb * n);

  for (int64_t b = chunk * per_chunk; b < (chunk + 1) * per_chunk; b++) {
    const int64_t row0 = b * rb;
    if (row0 >= pr->length) break;
    const int64_t rows = LGK_MIN(rb, pr->length - row0);
    key_features(pr, pair, row0, rows, x_t, features);
    // The key payload [e₀ | V_j | K̃_j | V_j1 K̃_j | … | V_jh K̃_j].
    for (int64_t r = 0; r < rows; r++) {
      float *row = payload + r * n;
      const float *v_j = v + (row0 + r) * hs, *k_j = k + (row0 + r) * hs;
      for (int64_t c = 0; c < n; c++) row[c] = 0.0f;
      row[0] = 1.0f;
      for (int64_t c = 0; c < h; c++) {
        row[hs + c] = v_j[c];
        row[2 * hs + c] = k_j[c] - mean[c];
      }
      for (int64_t a = 0; a < h; a++)
        for (int64_t c = 0; c < h; c++) row[(3 + a) * hs + c] = v_j[a] * row[2 * hs + c];
    }
    lgk_sgemm(pr->rank, n, rows, 1.0f, features, rb, 1, payload, n, 1.0f, sums, n);
  }
  lgk_scratch_free(x_t);
  lgk_scratch_free(features);
  lgk_scratch_free(payload);
}

static void reduce_chunks(const lgk_poly_problem *pr, float *sums, int64_t n, int64_t tile) {
  const int64_t slabs = (pr->rank + 15) / 16;
  const int64_t pair = tile / slabs, slab = tile % slabs;
  const int64_t first = slab * 16, count = LGK_MIN(16, pr->rank - first) * n;
  float *total = sums + pair * pr->chunks * pr->rank * n + first * n;
  for (int64_t c = 1; c < pr->chunks; c++) {
    const float *part = total + c * pr->rank * n;
    for (int64_t t = 0; t < count; t++) total[t] += part[t];
  }
}

void lgk_poly_reduce_key_sums_tile(const void *problem, int64_t tile) {
  const lgk_poly_problem *pr = problem;
  reduce_chunks(pr, pr->key_sums, key_width(pr), tile);
}

void lgk_poly_reduce_query_sums_tile(const void *problem, int64_t tile) {
  const lgk_poly_problem *pr = problem;
  reduce_chunks(pr, pr->query_sums, query_width(pr), tile);
}

void lgk_poly_query_tile(const void *problem, int64_t tile) {
  const lgk_poly_problem *pr = problem;
  const int64_t pair = tile / pr->chunks, chunk = tile % pr->chunks;
  const int64_t h = pr->head_width, hs = pr->head_stride, lp = pr->padded_length, rb = pr->row_block;
  const int64_t n_key = key_width(pr), n_query = query_width(pr), per_chunk = blocks_per_chunk(pr);
  const int64_t blocks = lgk_poly_row_blocks(pr);
  const int64_t pair_offset = pair * lp * hs;
  const float *key_sums = pr->key_sums + pair * pr->chunks * pr->rank * n_key;
  float *sums = pr->query_sums + (pair * pr->chunks + chunk) * pr->rank * n_query;
  const float root_beta = sqrtf(pr->beta);
  float *x_t = lgk_scratch(hs * rb);
  float *features = lgk_scratch(pr->rank * rb);
  float *products = lgk_scratch(rb * n_key);
  float *payload = lgk_scratch(rb * n_query);
  float *d_o = lgk_scratch(hs);
  double loss = 0.0;

  for (int64_t b = chunk * per_chunk; b < (chunk + 1) * per_chunk; b++) {
    const int64_t row0 = b * rb;
    if (row0 >= pr->length) break;
    const int64_t rows = LGK_MIN(rb, pr->length - row0);
    const int64_t block = pair * blocks + b;
    const int64_t rank = pr->block_rank[block];
    const float norm = pr->query_norm[block];
    const float scale = norm > 0.0f ? 1.0f / (root_beta * norm) : 0.0f;
    const float *q = pr->q + pair_offset + row0 * hs;
    // φ_b of the normalised queries √β Q_i / ρ_q (q holds βQ).
    for (int64_t c = 0; c < h; c++)
      for (int64_t r = 0; r < rows; r++) x_t[c * rb + r] = q[r * hs + c] * scale;
    lgk_monomial_features(rows, x_t, rb, rank, pr->parent, pr->variable,
                          pr->block_weights + block * pr->rank, features, rb);
    // Φ·KS: per row [den | Φ ΨᵀV | Φ ΨᵀK̃ | Φ T_1 | … | Φ T_h].
    lgk_sgemm(rows, n_key, rank, 1.0f, features, 1, rb, key_sums, n_key, 0.0f, products, n_key);
    for (int64_t r = 0; r < rows; r++) {
      const float *u = products + r * n_key;
      const float *y = pr->y + pair_offset + (row0 + r) * hs;
      const float *q_i = q + r * hs;
      float *o = pr->out + pair_offset + (row0 + r) * hs;
      float *d_q = pr->d_q + pair_offset + (row0 + r) * hs;
      float *p = payload + r * n_query;
      const float inverse = 1.0f / u[0];
      float delta = 0.0f;
      double square = 0.0;
      for (int64_t c = 0; c < h; c++) {
        o[c] = u[hs + c] * inverse;
        d_o[c] = o[c] - y[c];
        delta += d_o[c] * o[c];
        square += (double)d_o[c] * (double)d_o[c];
      }
      loss += square;
      for (int64_t c = 0; c < h; c++) {
        float sum = -delta * u[2 * hs + c];
        for (int64_t a = 0; a < h; a++) sum += d_o[a] * u[(3 + a) * hs + c];
        d_q[c] = pr->beta * inverse * sum;
      }
      // The query payload [dO_i | δ_i βQ_i | dO_i1 βQ_i | … | dO_ih βQ_i] / den_i.
      for (int64_t c = 0; c < n_query; c++) p[c] = 0.0f;
      for (int64_t c = 0; c < h; c++) {
        p[c] = d_o[c] * inverse;
        p[hs + c] = delta * inverse * q_i[c];
      }
      for (int64_t a = 0; a < h; a++)
        for (int64_t c = 0; c < h; c++) p[(2 + a) * hs + c] = d_o[a] * inverse * q_i[c];
    }
    lgk_sgemm(rank, n_query, rows, 1.0f, features, rb, 1, payload, n_query, 1.0f, sums, n_query);
  }
  pr->loss_partials[pair * pr->chunks + chunk] = 0.5 * loss;
  lgk_scratch_free(x_t);
  lgk_scratch_free(features);
  lgk_scratch_free(products);
  lgk_scratch_free(payload);
  lgk_scratch_free(d_o);
}

void lgk_poly_key_backward_tile(const void *problem, int64_t tile) {
  const lgk_poly_problem *pr = problem;
  const int64_t blocks = lgk_poly_row_blocks(pr);
  const int64_t pair = tile / blocks, b = tile % blocks;
  const int64_t h = pr->head_width, hs = pr->head_stride, lp = pr->padded_length, rb = pr->row_block;
  const int64_t n = query_width(pr);
  const int64_t row0 = b * rb, rows = LGK_MIN(rb, pr->length - row0);
  const int64_t pair_offset = pair * lp * hs;
  const float *query_sums = pr->query_sums + pair * pr->chunks * pr->rank * n;
  float *x_t = lgk_scratch(hs * rb);
  float *features = lgk_scratch(pr->rank * rb);
  float *products = lgk_scratch(rb * n);

  key_features(pr, pair, row0, rows, x_t, features);
  // Ψ·QS: per row [dV_j | Ψ_j G | Ψ_j R_1 | … | Ψ_j R_h].
  lgk_sgemm(rows, n, pr->rank, 1.0f, features, 1, rb, query_sums, n, 0.0f, products, n);
  for (int64_t r = 0; r < rows; r++) {
    const float *w = products + r * n;
    const float *v_j = pr->v + pair_offset + (row0 + r) * hs;
    float *d_v = pr->d_v + pair_offset + (row0 + r) * hs;
    float *d_k = pr->d_k + pair_offset + (row0 + r) * hs;
    for (int64_t c = 0; c < h; c++) {
      float sum = -w[hs + c];
      for (int64_t a = 0; a < h; a++) sum += v_j[a] * w[(2 + a) * hs + c];
      d_v[c] = w[c];
      d_k[c] = sum;
    }
  }
  lgk_scratch_free(x_t);
  lgk_scratch_free(features);
  lgk_scratch_free(products);
}

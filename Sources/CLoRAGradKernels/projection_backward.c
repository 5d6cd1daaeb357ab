// The projection backward: from the gradients with respect to the head view (dq̂, dk̂, dV) to
//   dQ = √β·R⁻¹dq̂,  dK = √β·R⁻¹dk̂  (R the RoPE rotation of each row, R⁻¹ = Rᵀ),
//   dX = dQ W_q + dK W_k + dV W_v  (effective weights: the input gradient of the layer),
//   ∂loss/∂A_μ = s·(dμ B_μ)ᵀ X,  ∂loss/∂B_μ = s·dμᵀ (X A_μᵀ).
// The adapter gradients are sums over the N·L rows: a tile is a chunk of blocks of 256 rows (a
// fixed partition of the rows, never of the threads), adds each block's Float32 products into its
// own Float64 partial, and lgk_sum_partials_phase adds the partials in chunk order. The rank is
// padded to 16 columns so the products run on the vector micro-kernels.

#include <math.h>
#include "internal.h"
#include "ops.h"
#include "rope.h"

#define LGK_ADAPTER_ROWS 256
#define LGK_ADAPTER_MAX_CHUNKS 32

static int64_t adapter_blocks(const lgk_projection_backward_params *pr) {
  const int64_t total = pr->layout.sequences * pr->layout.length;
  return (total + LGK_ADAPTER_ROWS - 1) / LGK_ADAPTER_ROWS;
}

static int64_t blocks_per_chunk(const lgk_projection_backward_params *pr) {
  const int64_t blocks = adapter_blocks(pr);
  return (blocks + LGK_ADAPTER_MAX_CHUNKS - 1) / LGK_ADAPTER_MAX_CHUNKS;
}

int64_t lgk_projection_backward_chunks(const lgk_projection_backward_params *pr) {
  const int64_t per = blocks_per_chunk(pr);
  return (adapter_blocks(pr) + per - 1) / per;
}

static int64_t adapted_count(const lgk_projection_backward_params *pr) {
  int64_t count = 0;
  for (int mu = 0; mu < 3; mu++) count += pr->a_t[mu] != 0;
  return count;
}

int64_t lgk_projection_backward_partial_count(const lgk_projection_backward_params *pr) {
  return lgk_projection_backward_chunks(pr) * adapted_count(pr) * 2 * pr->lora_rank * pr->width;
}

/// dμ for `rows` consecutive rows of the flattened N·L rows starting at `first`, gathered from
/// head space into rows × D, with √β and the inverse rotation for q and k.
static void gather_gradient(const lgk_projection_backward_params *pr, int mu, int64_t first, int64_t rows,
                            const float *cosines, const float *sines, float *out) {
  const lgk_head_layout *layout = &pr->layout;
  const int64_t d = pr->width, h = layout->head_width, hs = layout->head_stride, half = h / 2;
  const int rotated = mu < 2 && pr->rope_theta > 0;
  const float scale = mu < 2 ? pr->head_scale : 1.0f;
  for (int64_t i = 0; i < rows; i++) {
    const int64_t n = (first + i) / layout->length, position = (first + i) % layout->length;
    for (int64_t head = 0; head < layout->heads; head++) {
      const int64_t at = lgk_pair_offset(layout, n * layout->heads + head) + position * hs;
      const float *src = pr->d_heads[mu] + at;
      float *row = out + i * d + head * h;
      if (!pr->absolute) {
        for (int64_t c = 0; c < h; c++) row[c] = scale * src[c];
        if (rotated) lgk_rope_rotate(row, h, cosines + i * half, sines + i * half, 1);
        continue;
      }
      const float *value = pr->d_values[mu] ? pr->d_values[mu] + at : 0;
      for (int64_t c = 0; c < h; c++) row[c] = scale * (src[c] + (value ? pr->rounding * fabsf(value[c]) : 0.0f));
      if (rotated)
        for (int64_t t = 0; t < half; t++) row[t] = row[t + half] = row[t] + row[t + half];
    }
  }
}

/// Whether rows first ..< first + rows of the flattened N·L rows meet the positions
/// row_begin ..< row_end of some sequence.
static int block_in_range(const lgk_projection_backward_params *pr, int64_t first, int64_t rows) {
  const int64_t l = pr->layout.length;
  if (pr->row_begin <= 0 && pr->row_end >= l) return 1;
  for (int64_t n = first / l; n <= (first + rows - 1) / l; n++)
    if (LGK_MAX(first, n * l + pr->row_begin) < LGK_MIN(first + rows, n * l + pr->row_end)) return 1;
  return 0;
}

static void projection_backward_tile(const void *params, int64_t chunk, float *scratch) {
  const lgk_projection_backward_params *pr = params;
  const lgk_ops *ops = pr->ops;
  const lgk_head_layout *layout = &pr->layout;
  const int64_t d = pr->width, r = pr->lora_rank, rs = pr->rank_stride, h = layout->head_width;
  const int64_t total = layout->sequences * layout->length, per = blocks_per_chunk(pr);
  const int64_t adapted = adapted_count(pr), partial_count = 2 * r * d;
  float *d_mu = lgk_carve(&scratch, LGK_ADAPTER_ROWS * d);
  float *projected = lgk_carve(&scratch, LGK_ADAPTER_ROWS * rs);
  float *grad_a = lgk_carve(&scratch, r * d);
  float *grad_b = lgk_carve(&scratch, d * rs);
  float *cosines = lgk_carve(&scratch, LGK_ADAPTER_ROWS * (h / 2));
  float *sines = lgk_carve(&scratch, LGK_ADAPTER_ROWS * (h / 2));
  double *partials = pr->partials ? pr->partials + chunk * adapted * partial_count : 0;
  if (partials)
    for (int64_t t = 0; t < adapted * partial_count; t++) partials[t] = 0.0;

  for (int64_t block = chunk * per; block < LGK_MIN((chunk + 1) * per, adapter_blocks(pr)); block++) {
    const int64_t first = block * LGK_ADAPTER_ROWS, rows = LGK_MIN(LGK_ADAPTER_ROWS, total - first);
    if (!block_in_range(pr, first, rows)) continue;  // zero head gradients: nothing to add, dX left zero
    const float *x = pr->x + first * d;
    if (pr->rope_theta > 0) {
      // Rows of one block may span sequences: angles row by row.
      for (int64_t i = 0; i < rows; i++)
        lgk_rope_angles(pr->rope_theta, h, (first + i) % layout->length, 1, cosines + i * (h / 2), sines + i * (h / 2));
    }
    int64_t slot = 0;
    for (int mu = 0; mu < 3; mu++) {
      const int wants_dx = pr->d_x && pr->w[mu];
      if (!wants_dx && !pr->a_t[mu]) continue;
      gather_gradient(pr, mu, first, rows, cosines, sines, d_mu);
      if (wants_dx) ops->sgemm(rows, d, d, 1.0f, d_mu, d, 1, pr->w[mu], d, mu == 0 ? 0.0f : 1.0f, pr->d_x + first * d, d);
      if (!pr->a_t[mu]) continue;
      double *partial_a = partials + slot * partial_count, *partial_b = partial_a + r * d;
      // ∂A = s·(dμ B)ᵀ X.
      ops->sgemm(rows, rs, d, 1.0f, d_mu, d, 1, pr->b[mu], rs, 0.0f, projected, rs);
      ops->sgemm(r, d, rows, pr->lora_scale, projected, 1, rs, x, d, 0.0f, grad_a, d);
      for (int64_t t = 0; t < r * d; t++) partial_a[t] += grad_a[t];
      // ∂B = s·dμᵀ (X Aᵀ).
      ops->sgemm(rows, rs, d, 1.0f, x, d, 1, pr->a_t[mu], rs, 0.0f, projected, rs);
      ops->sgemm(d, rs, rows, pr->lora_scale, d_mu, 1, d, projected, rs, 0.0f, grad_b, rs);
      for (int64_t row = 0; row < d; row++)
        for (int64_t c = 0; c < r; c++) partial_b[row * r + c] += grad_b[row * rs + c];
      slot++;
    }
  }
}

lgk_phase lgk_projection_backward_phase(const lgk_projection_backward_params *pr) {
  const int64_t d = pr->width, rows = LGK_ADAPTER_ROWS, rs = pr->rank_stride, half = pr->layout.head_width / 2;
  const int64_t scratch = lgk_piece(rows * d) + lgk_piece(rows * rs) + lgk_piece(pr->lora_rank * d) +
                          lgk_piece(d * rs) + 2 * lgk_piece(rows * half);
  return lgk_make_phase("projection backward", projection_backward_tile, lgk_projection_backward_chunks(pr),
                        scratch, pr);
}

#define LGK_SUM_SLAB 1024

static void sum_partials_tile(const void *params, int64_t tile, float *scratch) {
  (void)scratch;
  const lgk_sum_partials_params *pr = params;
  const int64_t first = tile * LGK_SUM_SLAB, end = LGK_MIN(first + LGK_SUM_SLAB, pr->count);
  for (int64_t e = first; e < end; e++) {
    double sum = 0.0;
    for (int64_t c = 0; c < pr->parts; c++) sum += pr->partials[c * pr->count + e];
    pr->out[e] = (float)sum;
  }
}

lgk_phase lgk_sum_partials_phase(const lgk_sum_partials_params *pr) {
  return lgk_make_phase("sum partials", sum_partials_tile, (pr->count + LGK_SUM_SLAB - 1) / LGK_SUM_SLAB, 0, pr);
}

// Adapter-gradient tiles. With dμ the gradient of the loss with respect to μ = X W_μᵀ,
//   ∂loss/∂A_μ = s·(dμ B_μ)ᵀ X   and   ∂loss/∂B_μ = s·dμᵀ (X A_μᵀ),
// both sums over rows; a tile computes them for one block of the N·L rows, and the caller adds
// the partials in tile order. The rank is padded to 16 columns so the products run on the
// vector micro-kernels.

#include "CLoRAGradKernels.h"
#include "internal.h"

void lgk_adapter_gradient_tile(const void *problem, int64_t tile) {
  const lgk_adapter_problem *pr = problem;
  const int64_t total = pr->sequences * pr->length;
  const int64_t row0 = tile * pr->row_block;
  const int64_t rows = LGK_MIN(pr->row_block, total - row0);
  const int64_t d = pr->width, r = pr->rank, rs = pr->rank_stride, h = pr->head_width, hs = pr->head_stride;
  const float *x = pr->x + row0 * d;
  float *d_mu = lgk_scratch(rows * d);
  float *projected = lgk_scratch(rows * rs);
  float *grad_b_padded = lgk_scratch(d * rs);

  for (int64_t mu = 0; mu < pr->adapted; mu++) {
    // Gather dμ for the rows from the head-major layout.
    for (int64_t i = 0; i < rows; i++) {
      const int64_t seq = (row0 + i) / pr->length, pos = (row0 + i) % pr->length;
      for (int64_t head = 0; head < pr->heads; head++) {
        const float *src = pr->d_heads[mu] + ((seq * pr->heads + head) * pr->padded_length + pos) * hs;
        for (int64_t c = 0; c < h; c++) d_mu[i * d + head * h + c] = src[c];
      }
    }
    float *grad_a = pr->partials + (tile * pr->adapted + mu) * 2 * r * d;
    float *grad_b = grad_a + r * d;
    // ∂A = s·(dμ B)ᵀ X.
    lgk_sgemm(rows, rs, d, 1.0f, d_mu, d, 1, pr->b[mu], rs, 0.0f, projected, rs);
    lgk_sgemm(r, d, rows, pr->scale, projected, 1, rs, x, d, 0.0f, grad_a, d);
    // ∂B = s·dμᵀ (X Aᵀ).
    lgk_sgemm(rows, rs, d, 1.0f, x, d, 1, pr->a_t[mu], rs, 0.0f, projected, rs);
    lgk_sgemm(d, rs, rows, pr->scale, d_mu, 1, d, projected, rs, 0.0f, grad_b_padded, rs);
    for (int64_t row = 0; row < d; row++)
      for (int64_t c = 0; c < r; c++) grad_b[row * r + c] = grad_b_padded[row * rs + c];
  }
  lgk_scratch_free(d_mu);
  lgk_scratch_free(projected);
  lgk_scratch_free(grad_b_padded);
}

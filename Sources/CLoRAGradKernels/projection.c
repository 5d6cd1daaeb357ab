// Projection tiles: Q, K, V = X Wᵀ for a block of rows of one sequence, scattered into the
// head-major, zero-padded layout of the attention tiles (with βQ, Kᵀ and Vᵀ alongside), and the
// targets Y scattered the same way.

#include "CLoRAGradKernels.h"
#include "internal.h"

void lgk_projection_tile(const void *problem, int64_t tile) {
  const lgk_projection_problem *pr = problem;
  const int64_t blocks = (pr->length + pr->row_block - 1) / pr->row_block;
  const int64_t seq = tile / blocks, row0 = (tile % blocks) * pr->row_block;
  const int64_t rows = LGK_MIN(pr->row_block, pr->length - row0);
  const int64_t d = pr->width, h = pr->head_width, hs = pr->head_stride, lp = pr->padded_length;
  const float *x = pr->x + (seq * pr->length + row0) * d;
  const float *y = pr->y + (seq * pr->length + row0) * d;
  float *product = lgk_scratch(rows * d);
  float *heads_out[3] = {pr->q, pr->k, pr->v};
  float *transposed_out[3] = {0, pr->k_t, pr->v_t};

  for (int mu = 0; mu < 3; mu++) {
    const float factor = mu == 0 ? pr->query_scale : 1.0f;
    lgk_sgemm(rows, d, d, factor, x, d, 1, pr->w_t[mu], d, 0.0f, product, d);
    for (int64_t head = 0; head < pr->heads; head++) {
      const int64_t pair_offset = (seq * pr->heads + head) * lp * hs;
      float *dst = heads_out[mu] + pair_offset + row0 * hs;
      for (int64_t i = 0; i < rows; i++)
        for (int64_t c = 0; c < h; c++) dst[i * hs + c] = product[i * d + head * h + c];
      if (transposed_out[mu]) {
        float *dst_t = transposed_out[mu] + pair_offset + row0;
        for (int64_t c = 0; c < h; c++)
          for (int64_t i = 0; i < rows; i++) dst_t[c * lp + i] = product[i * d + head * h + c];
      }
    }
  }
  for (int64_t head = 0; head < pr->heads; head++) {
    float *dst = pr->y_heads + (seq * pr->heads + head) * lp * hs + row0 * hs;
    for (int64_t i = 0; i < rows; i++)
      for (int64_t c = 0; c < h; c++) dst[i * hs + c] = y[i * d + head * h + c];
  }
  lgk_scratch_free(product);
}

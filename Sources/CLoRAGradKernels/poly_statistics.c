// Statistics tile of the polynomial method: the key mean μ (subtracting it from every key adds
// the same constant to each row of S, so P is unchanged and the range shrinks), the norm bounds
// ρ_k = max ‖√β (K_j − μ)‖ and, per query block, ρ_q = max ‖√β Q_i‖, whose product bounds every
// |⟨√β Q_i, √β (K_j − μ)⟩|; and the largest entries (the paper's Γ).

#include <math.h>
#include "CLoRAGradKernels.h"
#include "internal.h"

int64_t lgk_poly_row_blocks(const lgk_poly_problem *pr) {
  return (pr->length + pr->row_block - 1) / pr->row_block;
}

void lgk_poly_statistics_tile(const void *problem, int64_t pair) {
  const lgk_poly_problem *pr = problem;
  const int64_t h = pr->head_width, hs = pr->head_stride, lp = pr->padded_length;
  const int64_t blocks = lgk_poly_row_blocks(pr);
  const float *k = pr->k + pair * lp * hs;
  const float *q = pr->q + pair * lp * hs;
  const float root_beta = sqrtf(pr->beta);

  float *mean = pr->key_mean + pair * hs;
  for (int64_t c = 0; c < hs; c++) mean[c] = 0.0f;
  for (int64_t c = 0; c < h; c++) {
    double sum = 0.0;
    for (int64_t j = 0; j < pr->length; j++) sum += k[j * hs + c];
    mean[c] = (float)(sum / (double)pr->length);
  }
  float key_norm = 0.0f, key_entry = 0.0f;
  for (int64_t j = 0; j < pr->length; j++) {
    float square = 0.0f;
    for (int64_t c = 0; c < h; c++) {
      const float centred = root_beta * (k[j * hs + c] - mean[c]);
      square += centred * centred;
      key_entry = LGK_MAX(key_entry, fabsf(centred));
    }
    key_norm = LGK_MAX(key_norm, square);
  }
  pr->key_norm[pair] = sqrtf(key_norm);
  pr->key_max_entry[pair] = key_entry;

  // q holds βQ, so √β Q = q / √β.
  const float unscale = 1.0f / root_beta;
  float query_entry = 0.0f;
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t row0 = b * pr->row_block, rows = LGK_MIN(pr->row_block, pr->length - row0);
    float block_norm = 0.0f;
    for (int64_t i = row0; i < row0 + rows; i++) {
      float square = 0.0f;
      for (int64_t c = 0; c < h; c++) {
        const float value = q[i * hs + c] * unscale;
        square += value * value;
        query_entry = LGK_MAX(query_entry, fabsf(value));
      }
      block_norm = LGK_MAX(block_norm, square);
    }
    pr->query_norm[pair * blocks + b] = sqrtf(block_norm);
  }
  pr->query_max_entry[pair] = query_entry;
}

// Rotary position embedding as Hugging Face Llama applies it per head: with θ_t = p·base^(−2t/h)
// for t < h/2 at position p, x'_t = x_t cos θ_t − x_{t+h/2} sin θ_t and
// x'_{t+h/2} = x_{t+h/2} cos θ_t + x_t sin θ_t (rotate_half). Angles in Float64.

#ifndef LGK_ROPE_H
#define LGK_ROPE_H

#include <math.h>
#include <stdint.h>

/// cos θ_t and sin θ_t for positions p0 ..< p0 + rows (row-major, h/2 per row).
static inline void lgk_rope_angles(double base, int64_t head_width, int64_t p0, int64_t rows,
                                   float *cosines, float *sines) {
  const int64_t half = head_width / 2;
  for (int64_t t = 0; t < half; t++) {
    const double frequency = pow(base, -(double)(2 * t) / (double)head_width);
    for (int64_t i = 0; i < rows; i++) {
      const double angle = (double)(p0 + i) * frequency;
      cosines[i * half + t] = (float)cos(angle);
      sines[i * half + t] = (float)sin(angle);
    }
  }
}

/// Rotates one head's row in place (forward), or applies the inverse rotation (the transpose).
static inline void lgk_rope_rotate(float *x, int64_t head_width, const float *cosines, const float *sines,
                                   int inverse) {
  const int64_t half = head_width / 2;
  for (int64_t t = 0; t < half; t++) {
    const float a = x[t], b = x[t + half], c = cosines[t], s = inverse ? -sines[t] : sines[t];
    x[t] = a * c - b * s;
    x[t + half] = b * c + a * s;
  }
}

#endif

// Declarations shared by the kernel files but not exported to Swift.

#ifndef LGK_INTERNAL_H
#define LGK_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "CLoRAGradKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define LGK_X86 1
#define LGK_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define LGK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define LGK_TARGET_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512bf16,avx2,fma")))
#else
#define LGK_X86 0
#endif

#define LGK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LGK_MAX(a, b) ((a) > (b) ? (a) : (b))

/// n rounded up to a whole number of vectors.
static inline int64_t lgk_round_up(int64_t n, int64_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

/// The floats a scratch piece of n floats takes (whole vectors, so every piece stays aligned).
static inline int64_t lgk_piece(int64_t n) { return lgk_round_up(n > 0 ? n : 1, LGK_VECTOR_FLOATS); }

/// Takes the next piece of n floats from a worker's scratch.
static inline float *lgk_carve(float **cursor, int64_t n) {
  float *piece = *cursor;
  *cursor += lgk_piece(n);
  return piece;
}

/// n floats set to zero.
static inline void lgk_zero(float *p, int64_t n) {
  for (int64_t t = 0; t < n; t++) p[t] = 0.0f;
}

/// A phase descriptor from its parts.
static inline lgk_phase lgk_make_phase(const char *name, lgk_tile_fn tile, int64_t tiles,
                                       int64_t scratch_floats, const void *params) {
  lgk_phase phase = {name, tile, tiles > 0 ? tiles : 0, lgk_piece(scratch_floats), params};
  return phase;
}

/// The visible keys of a pair: ℓ_n for its sequence n, or L.
static inline int64_t lgk_key_length(const lgk_heads *heads, int64_t pair) {
  return heads->key_lengths ? heads->key_lengths[pair / heads->layout.heads] : heads->layout.length;
}

/// The pairs N·H of a layout.
static inline int64_t lgk_pairs(const lgk_head_layout *layout) {
  return layout->sequences * layout->heads;
}

/// The offset of a pair's rows in a head-major buffer.
static inline int64_t lgk_pair_offset(const lgk_head_layout *layout, int64_t pair) {
  return pair * layout->padded_length * layout->head_stride;
}

/// Where column `key` of row c of a pair's transposed buffer lives, from the pair's start: its
/// panel, row c of the panel, and its place in the panel (lgk_heads.h). A block of keys that
/// starts a panel and stays inside it is a row-major head_stride × keys matrix with row stride
/// panel_width.
static inline int64_t lgk_transposed_index(const lgk_head_layout *layout, int64_t c, int64_t key) {
  const int64_t width = layout->panel_width;
  return (key / width) * layout->head_stride * width + c * width + key % width;
}

/// Of the keys key0 ..< key0 + n of a block, how many query row i sees: those below `visible`
/// (the key length) and, when causal, those ≤ i.
static inline int64_t lgk_row_visible(int64_t i, int64_t key0, int64_t visible, int causal) {
  int64_t count = visible - key0;
  if (causal && i - key0 + 1 < count) count = i - key0 + 1;
  return count > 0 ? count : 0;
}

#endif

// The head view: the projected batch in the layout every attention phase reads.
//
// Head-major layout: for each of the N·H (sequence, head) pairs, `padded_length` rows of
// `head_stride` floats (the head width h zero-padded to a multiple of 16, one AVX-512 vector;
// rows ≥ L zero). Transposed buffers hold, per pair, panels of `panel_width` keys (the row
// multiple: the exact path's key block), one after the other, each `head_stride` rows of
// `panel_width` floats: a key block's k̂ᵀ or Vᵀ is one contiguous run, so the rows a product
// reads are never `padded_length` floats apart (at a power of two that stride maps every row
// to the same L1 set, and beyond 4 KiB to its own page). A per-row buffer holds one value per
// pair and row (pairs × padded_length).
//
// The β convention, stated once: the view holds q̂ = √β·Q and k̂ = √β·K (after the biases and
// RoPE), so the logits are q̂·k̂ and no phase multiplies by β again. The gradients the attention
// phases produce are with respect to the view (dq̂, dk̂, dV); the projection backward turns
// them into dQ = √β·dq̂ and dK = √β·dk̂ (and undoes RoPE) when they leave head space.

#ifndef LGK_HEADS_H
#define LGK_HEADS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Floats per AVX-512 vector: the granularity of every padded width (head width, LoRA rank) and
/// of every scratch slice.
#define LGK_VECTOR_FLOATS 16

/// The geometry of the head-major buffers of one batch.
typedef struct lgk_head_layout {
  int64_t sequences;      ///< N.
  int64_t heads;          ///< H.
  int64_t length;         ///< L.
  int64_t head_width;     ///< h = D / H.
  int64_t head_stride;    ///< h rounded up to a multiple of 16.
  int64_t padded_length;  ///< L rounded up to the row multiple (the exact path's key block).
  int64_t panel_width;    ///< Keys per panel of a transposed buffer: the row multiple.
} lgk_head_layout;

/// The layout of N sequences of length L with H heads of width h, rows padded to a multiple of
/// `row_multiple` (≥ 1).
lgk_head_layout lgk_head_layout_make(int64_t sequences, int64_t heads, int64_t length,
                                     int64_t head_width, int64_t row_multiple);
/// The floats of one head-major (or transposed) buffer: N·H·padded_length·head_stride.
int64_t lgk_head_layout_floats(const lgk_head_layout *layout);
/// The floats of one per-row buffer: N·H·padded_length.
int64_t lgk_head_layout_row_floats(const lgk_head_layout *layout);

/// The projected batch, read-only for every attention phase.
typedef struct lgk_heads {
  lgk_head_layout layout;
  const int64_t *key_lengths;  ///< Per sequence, the keys j < ℓ_n that are visible (NULL: all L).
  int32_t causal;              ///< Nonzero: query i sees keys j ≤ i only.
  const float *q;              ///< q̂ = √β·Q, head-major.
  const float *k;              ///< k̂ = √β·K, head-major.
  const float *k_t;            ///< k̂ transposed, in panels of panel_width keys.
  const float *v;              ///< V, head-major.
  const float *v_t;            ///< V transposed, in panels of panel_width keys.
} lgk_heads;

#ifdef __cplusplus
}
#endif

#endif

/// The head-major layout shared by both attention paths: for each of the N·H (sequence, head)
/// pairs, `paddedLength` rows of `headStride` floats, the head width h zero-padded to a multiple of
/// 16 (one AVX-512 vector) and the rows past L zero.
struct HeadLayout {
  /// N, the number of sequences.
  let sequences: Int
  /// H, the number of heads.
  let heads: Int
  /// L, the sequence length.
  let length: Int
  /// D, the model width.
  let width: Int
  /// h = D / H.
  let headWidth: Int
  /// h rounded up to a multiple of 16.
  let headStride: Int
  /// L rounded up to a multiple of the row granularity of the path.
  let paddedLength: Int

  /// The layout of a problem, with rows padded to a multiple of `rowMultiple`.
  init(_ problem: AttentionProblem, rowMultiple: Int) {
    sequences = problem.batchCount
    heads = problem.heads
    length = problem.sequenceLength
    width = problem.modelWidth
    headWidth = problem.headWidth
    headStride = roundUp(headWidth, toMultipleOf: 16)
    paddedLength = roundUp(length, toMultipleOf: rowMultiple)
  }

  /// N·H, the number of (sequence, head) pairs.
  var pairs: Int { sequences * heads }
  /// The floats in one head-major buffer.
  var bufferCount: Int { pairs * paddedLength * headStride }
  /// The floats in one per-row buffer (one value per pair and row).
  var rowValueCount: Int { pairs * paddedLength }
}

/// The gradient of the loss with respect to Q, K and V (unscaled), in the head-major layout,
/// and the loss itself: what an attention path hands to the adapter-gradient step.
struct AttentionBackward {
  /// The loss ½ Σ ‖Z − Y‖².
  let loss: Double
  /// ∂loss/∂Q, head-major.
  let dQ: FloatBuffer
  /// ∂loss/∂K, head-major.
  let dK: FloatBuffer
  /// ∂loss/∂V, head-major.
  let dV: FloatBuffer
}

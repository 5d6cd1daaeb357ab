import CLoRAGradKernels

/// Q, K, V = X W_μᵀ with W_μ = W*_μ + s B_μ A_μ, and the targets Y, in the head-major layout:
/// the first step of the data flow X → Q, K, V → attention → dQ, dK, dV → adapter gradients.
struct ProjectedBatch {
  /// β·Q (the softmax temperature folded in), head-major.
  let scaledQueries: FloatBuffer
  /// K, head-major.
  let keys: FloatBuffer
  /// Kᵀ: per pair, headStride rows of paddedLength floats.
  let keysTransposed: FloatBuffer
  /// V, head-major.
  let values: FloatBuffer
  /// Vᵀ, like keysTransposed.
  let valuesTransposed: FloatBuffer
  /// Y, head-major.
  let targets: FloatBuffer

  /// Rows of X per projection tile.
  static let rowBlock = 64

  /// Projects the problem's inputs through the effective weights, tile by tile.
  init(_ problem: AttentionProblem, layout: HeadLayout, parallelism: Parallelism) {
    scaledQueries = FloatBuffer(count: layout.bufferCount)
    keys = FloatBuffer(count: layout.bufferCount)
    keysTransposed = FloatBuffer(count: layout.bufferCount)
    values = FloatBuffer(count: layout.bufferCount)
    valuesTransposed = FloatBuffer(count: layout.bufferCount)
    targets = FloatBuffer(count: layout.bufferCount)
    let d = layout.width
    let transposedWeights = Projection.allCases.map { projection -> FloatBuffer in
      let w = problem.effectiveWeight(projection)
      var wT = [Float](repeating: 0, count: d * d)
      for o in 0..<d { for i in 0..<d { wT[i * d + o] = Float(w[o * d + i]) } }
      return FloatBuffer(wT)
    }
    let x = FloatBuffer(problem.inputs.scalars)
    let y = FloatBuffer(problem.targets.scalars)
    var kernel = lgk_projection_problem(
      sequences: Int64(layout.sequences), length: Int64(layout.length), width: Int64(d),
      heads: Int64(layout.heads), head_width: Int64(layout.headWidth), head_stride: Int64(layout.headStride),
      padded_length: Int64(layout.paddedLength), row_block: Int64(Self.rowBlock),
      query_scale: Float(problem.beta), x: x.base, y: y.base,
      w_t: (UnsafePointer(transposedWeights[0].base), UnsafePointer(transposedWeights[1].base),
            UnsafePointer(transposedWeights[2].base)),
      q: scaledQueries.base, k: keys.base, k_t: keysTransposed.base, v: values.base,
      v_t: valuesTransposed.base, y_heads: targets.base)
    let tiles = layout.sequences * ((layout.length + Self.rowBlock - 1) / Self.rowBlock)
    parallelism.run(tiles: tiles, tile: lgk_projection_tile, context: &kernel)
    withExtendedLifetime((x, y, transposedWeights)) {}
  }
}

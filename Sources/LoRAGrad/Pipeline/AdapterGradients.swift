import CLoRAGradKernels

/// The last step of the data flow: from dQ, dK, dV to ∂loss/∂A_μ = s·(dμ B_μ)ᵀ X and
/// ∂loss/∂B_μ = s·dμᵀ (X A_μᵀ) for every adapted μ. Row blocks produce partial sums, which are
/// added in block order in Float64, so the result does not depend on the thread count.
enum AdapterGradients {
  /// Rows of the flattened N·L rows per tile.
  static let rowBlock = 256

  /// The adapter gradients of every adapted projection.
  static func compute(
    _ problem: AttentionProblem, layout: HeadLayout, backward: AttentionBackward, parallelism: Parallelism
  ) -> [Projection: LoRAAdapter] {
    let adapted = problem.adaptedProjections
    guard !adapted.isEmpty else { return [:] }
    let d = layout.width, r = problem.rank, rankStride = roundUp(r, toMultipleOf: 16)
    let x = FloatBuffer(problem.inputs.scalars)
    let gradientOf: [Projection: FloatBuffer] = [.query: backward.dQ, .key: backward.dK, .value: backward.dV]
    var keep: [FloatBuffer] = []
    func slot(_ index: Int, _ make: (Projection) -> FloatBuffer) -> UnsafePointer<Float>? {
      guard index < adapted.count else { return nil }
      let buffer = make(adapted[index])
      keep.append(buffer)
      return UnsafePointer(buffer.base)
    }
    let dHeads = (0..<3).map { slot($0) { gradientOf[$0]! } }
    // A_μᵀ and B_μ as [D, r] zero-padded to rankStride columns, for the vector micro-kernels.
    func paddedColumns(_ element: @escaping (_ row: Int, _ column: Int) -> Float) -> FloatBuffer {
      var padded = [Float](repeating: 0, count: d * rankStride)
      for row in 0..<d { for column in 0..<r { padded[row * rankStride + column] = element(row, column) } }
      return FloatBuffer(padded)
    }
    let aT = (0..<3).map { index in
      slot(index) { projection in
        let a = problem.adapters[projection]!.a.scalars
        return paddedColumns { row, column in a[column * d + row] }
      }
    }
    let b = (0..<3).map { index in
      slot(index) { projection in
        let b = problem.adapters[projection]!.b.scalars
        return paddedColumns { row, column in b[row * r + column] }
      }
    }
    let total = layout.sequences * layout.length
    let tiles = (total + rowBlock - 1) / rowBlock
    let partialCount = 2 * r * d
    let partials = FloatBuffer(count: tiles * adapted.count * partialCount)
    var kernel = lgk_adapter_problem(
      sequences: Int64(layout.sequences), length: Int64(layout.length), width: Int64(d),
      heads: Int64(layout.heads), head_width: Int64(layout.headWidth), head_stride: Int64(layout.headStride),
      padded_length: Int64(layout.paddedLength), rank: Int64(r), rank_stride: Int64(rankStride), row_block: Int64(rowBlock),
      adapted: Int64(adapted.count), scale: Float(problem.loraScale), x: x.base,
      d_heads: (dHeads[0], dHeads[1], dHeads[2]), a_t: (aT[0], aT[1], aT[2]), b: (b[0], b[1], b[2]),
      partials: partials.base)
    parallelism.run(tiles: tiles, tile: lgk_adapter_gradient_tile, context: &kernel)
    withExtendedLifetime((x, keep)) {}

    var result: [Projection: LoRAAdapter] = [:]
    for (index, projection) in adapted.enumerated() {
      var sum = [Double](repeating: 0, count: partialCount)
      for tile in 0..<tiles {
        let partial = partials.base + (tile * adapted.count + index) * partialCount
        for t in 0..<partialCount { sum[t] += Double(partial[t]) }
      }
      let gradA = Tensor(checkedShape: [r, d], scalars: sum[0..<(r * d)].map { Float($0) })
      let gradB = Tensor(checkedShape: [d, r], scalars: sum[(r * d)...].map { Float($0) })
      result[projection] = LoRAAdapter(a: gradA, b: gradB)
    }
    return result
  }
}

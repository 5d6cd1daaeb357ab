import CLoRAGradKernels

/// The gradients with respect to the head view, dq̂, dk̂ and dV: what an attention path hands to
/// the projection backward.
struct HeadGradients {
  let dQ, dK, dV: FloatBuffer
}

/// The last step of the data flow (phases "projection backward" and "sum partials"): from
/// dq̂, dk̂, dV to dX = dQ W_q + dK W_k + dV W_v and ∂/∂A_μ = s·(dμ B_μ)ᵀ X, ∂/∂B_μ = s·dμᵀ (X A_μᵀ)
/// for every adapted μ, with dQ = √β·R⁻¹dq̂, dK = √β·R⁻¹dk̂. Row blocks add into chunk partials
/// in Float64, summed in chunk order, so the result does not depend on the thread count.
enum ProjectionBackward {
  /// What a pass computes: the gradients themselves, or entrywise bounds on their errors from
  /// entrywise bounds on the head gradients' errors (every factor by its absolute value, so
  /// nothing cancels), plus γ_n of the computed head gradients for this step's own Float32 rounding.
  enum Mode {
    case values
    case bounds(values: HeadGradients)
  }

  /// The roundings one entry of dX or of an adapter gradient carries in this step: √β and the
  /// rotation 4, the D-long products (dμ W, dμ B, X Aᵀ) D, the 256-row block products 256, the
  /// Float64 chunk sums and their rounding 4, and 8 to spare.
  static func roundings(modelWidth d: Int) -> Int { d + 272 }

  /// The adapter gradients and, when asked for, dX ([N, L, D] scalars); in `.bounds` mode,
  /// entrywise bounds on their errors. `rows`: the positions of every sequence whose head
  /// gradients may be nonzero (a sequence shard's own rows; nil: all): blocks of other rows are
  /// skipped and dX comes back for these rows only, [N, rows.count, D].
  static func compute(
    _ layer: AttentionLayer, batch: LayerBatch, view: HeadView, gradients: HeadGradients, inputGradient: Bool,
    mode: Mode = .values, rows: Range<Int>? = nil, parallelism: Parallelism
  ) throws -> (adapters: [Projection: LoRAAdapter], inputGradient: [Float]?) {
    let d = layer.modelWidth, r = layer.loraRank, rankStride = roundUp(max(r, 1), toMultipleOf: vectorFloats)
    let adapted = layer.adaptedProjections, l = batch.shape.length
    var absolute = false, values: HeadGradients?
    if case .bounds(let computed) = mode { (absolute, values) = (true, computed) }
    let magnitude: (Float) -> Float = absolute ? { abs($0) } : { $0 }
    let own = rows.map { $0.clamped(to: 0..<l) } ?? 0..<l, partial = own != 0..<l
    // |X| for the bounds (of the own rows only: the other rows' pages are never touched); X itself
    // is read where the caller's tensor keeps it.
    var absoluteX: FloatBuffer?
    if absolute {
      let copy = try FloatBuffer(count: batch.inputs.count, what: "|X|", zeroed: partial)
      batch.inputs.scalars.withUnsafeBufferPointer { source in
        for sequence in 0..<batch.shape.sequences {
          for t in ((sequence * l + own.lowerBound) * d)..<((sequence * l + own.upperBound) * d) { copy.base[t] = abs(source[t]) }
        }
      }
      absoluteX = copy
    }
    let weights = try Projection.allCases.map { try FloatBuffer(layer.effectiveWeights[$0]!.map(magnitude), what: "W_\($0.rawValue)") }
    let dX = try FloatBuffer(count: inputGradient ? batch.inputs.count : 1, what: "dX", zeroed: partial)
    // A_μᵀ and B_μ as [D, r] zero-padded to rankStride columns, for the vector micro-kernels.
    func padded(_ element: (_ row: Int, _ column: Int) -> Float) throws -> FloatBuffer {
      var values = [Float](repeating: 0, count: d * rankStride)
      for row in 0..<d { for column in 0..<r { values[row * rankStride + column] = element(row, column) } }
      return try FloatBuffer(values, what: "adapter factors")
    }
    let aT = try Projection.allCases.map { projection in
      try layer.adapters[projection].map { adapter in try padded { row, column in magnitude(adapter.a.scalars[column * d + row]) } }
    }
    let b = try Projection.allCases.map { projection in
      try layer.adapters[projection].map { adapter in try padded { row, column in magnitude(adapter.b.scalars[row * r + column]) } }
    }
    var parameters = lgk_projection_backward_params(
      ops: view.operations, layout: view.layout, width: Int64(d), head_scale: Float(layer.beta.squareRoot()),
      rope_theta: layer.ropeTheta ?? 0, x: absoluteX?.pointer,
      d_heads: (gradients.dQ.pointer, gradients.dK.pointer, gradients.dV.pointer),
      w: inputGradient ? (weights[0].pointer, weights[1].pointer, weights[2].pointer) : (nil, nil, nil),
      d_x: inputGradient ? dX.base : nil,
      lora_rank: Int64(r), rank_stride: Int64(rankStride), lora_scale: magnitude(Float(layer.loraScale)),
      a_t: (aT[0]?.pointer, aT[1]?.pointer, aT[2]?.pointer), b: (b[0]?.pointer, b[1]?.pointer, b[2]?.pointer),
      partials: nil, absolute: absolute ? 1 : 0, rounding: Float(ProbabilityErrorBound.gamma(Double(Self.roundings(modelWidth: d)))),
      d_values: (values?.dQ.pointer, values?.dK.pointer, values?.dV.pointer),
      row_begin: Int64(own.lowerBound), row_end: Int64(own.upperBound))
    let partialCount = Int(lgk_projection_backward_partial_count(&parameters))
    let partials = try AlignedBuffer<Double>(count: partialCount, what: "adapter gradient partials", zeroed: false)
    parameters.partials = adapted.isEmpty ? nil : partials.base
    let chunks = Int(lgk_projection_backward_chunks(&parameters))
    let retained: [AnyObject] = [dX, partials, gradients.dQ, gradients.dK, gradients.dV] + weights
      + (absoluteX.map { [$0] } ?? []) + (values.map { [$0.dQ, $0.dK, $0.dV] } ?? [])
      + aT.compactMap { $0 } + b.compactMap { $0 }
    try batch.inputs.scalars.withUnsafeBufferPointer { source in  // the phase reads X in place
      if parameters.x == nil { parameters.x = source.baseAddress }
      try parallelism.run(Phase(parameters, retaining: retained, describe: lgk_projection_backward_phase))
    }
    // dX of the own rows (all of them without a shard).
    func inputRows() -> [Float]? {
      guard inputGradient else { return nil }
      guard partial else { return dX.array }
      return SequenceShard.rows(
        of: UnsafeBufferPointer(start: dX.base, count: dX.count), sequences: batch.shape.sequences, length: l, width: d, rows: own)
    }
    guard !adapted.isEmpty else { return ([:], inputRows()) }

    let perAdapter = 2 * r * d
    let sums = try FloatBuffer(count: adapted.count * perAdapter, what: "adapter gradients", zeroed: false)
    let reduce = lgk_sum_partials_params(
      parts: Int64(chunks), count: Int64(adapted.count * perAdapter), partials: partials.pointer, out: sums.base)
    try parallelism.run(Phase(reduce, retaining: [partials, sums], describe: lgk_sum_partials_phase))
    let entries = sums.array
    var result: [Projection: LoRAAdapter] = [:]
    for (slot, projection) in adapted.enumerated() {
      let start = slot * perAdapter
      result[projection] = LoRAAdapter(
        a: Tensor(checkedShape: [r, d], scalars: Array(entries[start..<(start + r * d)])),
        b: Tensor(checkedShape: [d, r], scalars: Array(entries[(start + r * d)..<(start + perAdapter)])))
    }
    return (result, inputRows())
  }
}

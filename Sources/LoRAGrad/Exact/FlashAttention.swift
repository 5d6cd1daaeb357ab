import CLoRAGradKernels

/// The block sizes of the exact path. They are fixed numbers, never derived from the thread
/// count, so the tiles (and every bit of the result) are the same on any number of threads.
public struct FlashTiling: Sendable, Equatable {
  /// Rows of a query block, B_r.
  public var queryBlock: Int
  /// Rows of a key block, B_c (also the padding granularity of L).
  public var keyBlock: Int
  /// The most key groups per (sequence, head) pair: each is one backward tile and keeps its own
  /// partial dQ, so memory grows by this factor times |dQ|.
  public var maxKeyGroups: Int

  /// A tiling from its block sizes.
  public init(queryBlock: Int = 64, keyBlock: Int = 64, maxKeyGroups: Int = 16) {
    self.queryBlock = queryBlock
    self.keyBlock = keyBlock
    self.maxKeyGroups = maxKeyGroups
  }

  /// The tiling the library uses by default.
  public static let standard = FlashTiling()
}

/// The exact path, FlashAttention-2 style on CPU cores: tiles of queries against tiles of keys
/// with the online softmax, P recomputed in the backward pass from the saved log-sum-exp; memory
/// O(N·L·D) plus one block per running tile, never an L×L matrix.
public enum FlashAttention {
  /// The rounding-error model of the Float32 exact path, relative to the largest gradient entry:
  /// 64·u·(L + 2D + r) with u = 2⁻²⁴, i.e. a small multiple of γₙ (Higham) for the longest chain
  /// of accumulations (a row of P·V over L keys, the D-long projections and the r-long adapter
  /// products). The tests compare the exact path with the Float64 reference at this tolerance.
  public static func roundingTolerance(_ problem: AttentionProblem) -> Double {
    let unitRoundoff = 0x1p-24
    return 64 * unitRoundoff * Double(problem.sequenceLength + 2 * problem.modelWidth + problem.rank)
  }

  /// The loss and dQ, dK, dV of the projected batch.
  static func backward(
    _ batch: ProjectedBatch, layout: HeadLayout, beta: Double, tiling: FlashTiling, parallelism: Parallelism
  ) -> AttentionBackward {
    let keyBlocks = (layout.length + tiling.keyBlock - 1) / tiling.keyBlock
    let perGroup = (keyBlocks + tiling.maxKeyGroups - 1) / tiling.maxKeyGroups
    let groups = (keyBlocks + perGroup - 1) / perGroup
    let queryBlocks = (layout.length + tiling.queryBlock - 1) / tiling.queryBlock
    let lse = FloatBuffer(count: layout.rowValueCount)
    let delta = FloatBuffer(count: layout.rowValueCount)
    let dO = FloatBuffer(count: layout.bufferCount)
    let lossPartials = UnsafeMutablePointer<Double>.allocate(capacity: layout.pairs * queryBlocks)
    lossPartials.initialize(repeating: 0, count: layout.pairs * queryBlocks)
    defer { lossPartials.deallocate() }
    let dQPartials = FloatBuffer(count: layout.bufferCount * groups)
    let dQ = FloatBuffer(count: layout.bufferCount)
    let dK = FloatBuffer(count: layout.bufferCount)
    let dV = FloatBuffer(count: layout.bufferCount)

    var kernel = lgk_flash_problem(
      pairs: Int64(layout.pairs), length: Int64(layout.length), padded_length: Int64(layout.paddedLength),
      head_stride: Int64(layout.headStride), query_block: Int64(tiling.queryBlock),
      key_block: Int64(tiling.keyBlock), key_groups: Int64(groups), scale: Float(beta),
      q: batch.scaledQueries.base, k: batch.keys.base, k_t: batch.keysTransposed.base,
      v: batch.values.base, v_t: batch.valuesTransposed.base, y: batch.targets.base,
      lse: lse.base, delta: delta.base, d_o: dO.base, loss_partials: lossPartials,
      d_q_partials: dQPartials.base, d_q: dQ.base, d_k: dK.base, d_v: dV.base)
    parallelism.run(tiles: layout.pairs * queryBlocks, tile: lgk_flash_forward_tile, context: &kernel)
    parallelism.run(tiles: layout.pairs * groups, tile: lgk_flash_backward_tile, context: &kernel)
    parallelism.run(tiles: layout.pairs * queryBlocks, tile: lgk_flash_reduce_dq_tile, context: &kernel)
    withExtendedLifetime((lse, delta, dO, dQPartials)) {}

    var loss = 0.0
    for t in 0..<(layout.pairs * queryBlocks) { loss += lossPartials[t] }
    return AttentionBackward(loss: loss, dQ: dQ, dK: dK, dV: dV)
  }

  /// The loss and adapter gradients by the exact tiled path.
  static func gradients(
    _ problem: AttentionProblem, tiling: FlashTiling, parallelism: Parallelism
  ) -> Gradients {
    let layout = HeadLayout(problem, rowMultiple: max(tiling.keyBlock, tiling.queryBlock))
    let batch = ProjectedBatch(problem, layout: layout, parallelism: parallelism)
    let attention = backward(batch, layout: layout, beta: problem.beta, tiling: tiling, parallelism: parallelism)
    let adapters = AdapterGradients.compute(problem, layout: layout, backward: attention, parallelism: parallelism)
    return Gradients(loss: attention.loss, adapters: adapters, path: "exact")
  }
}

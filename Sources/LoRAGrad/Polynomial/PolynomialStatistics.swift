import CLoRAGradKernels

/// The norms of a projected batch (phase "poly statistics", O(N·H·L·h)): the key mean μ over the
/// visible keys, ρ_k = max ‖k̂_j − μ‖, ρ_q,b = max_{i∈b} ‖q̂_i‖ per query block, and the entry
/// bounds. Norms are rounded up, so every logit of a block lies in [−R_b, R_b], R_b = ρ_q,b·ρ_k.
struct PolynomialStatistics {
  /// Rows per block.
  let rowBlock: Int
  /// Blocks per pair.
  let blocks: Int
  let keyMean, keyNorm, queryNorm: FloatBuffer
  /// Per pair and column: max_j |V_jc| and max_j |k̃_jc| over the visible keys (for the gradient bounds).
  let valueMax, centredKeyMax: FloatBuffer
  /// R_b per (pair, block), rounded up.
  let blockBounds: [Double]
  /// R and the entry bounds.
  let norms: NormBounds

  init(_ view: HeadView, rowBlock: Int, parallelism: Parallelism) throws {
    let pairs = view.pairs, hs = Int(view.layout.head_stride)
    self.rowBlock = rowBlock
    blocks = (Int(view.layout.length) + rowBlock - 1) / rowBlock
    keyMean = try FloatBuffer(count: pairs * hs, what: "key means")
    keyNorm = try FloatBuffer(count: pairs, what: "key norms")
    queryNorm = try FloatBuffer(count: pairs * blocks, what: "query norms")
    let entries = try FloatBuffer(count: 3 * pairs, what: "entry bounds")
    valueMax = try FloatBuffer(count: pairs * hs, what: "value maxima")
    centredKeyMax = try FloatBuffer(count: pairs * hs, what: "key maxima")
    let parameters = lgk_poly_statistics_params(
      heads: view.kernelView, row_block: Int64(rowBlock), key_mean: keyMean.base, key_norm: keyNorm.base,
      query_norm: queryNorm.base, entry_bounds: entries.base, value_max: valueMax.base, centred_key_max: centredKeyMax.base)
    try parallelism.run(Phase(
      parameters, retaining: view.buffers + [keyMean, keyNorm, queryNorm, entries, valueMax, centredKeyMax], describe: lgk_poly_statistics_phase))
    let keyNorms = keyNorm.array, queryNorms = queryNorm.array, blocks = blocks
    // The product in Float64, rounded up (zero stays zero: one key, or all keys alike).
    blockBounds = (0..<(pairs * blocks)).map { block in
      let product = Double(queryNorms[block]) * Double(keyNorms[block / blocks])
      return product > 0 ? product.nextUp : product
    }
    let entry = entries.array
    let queryEntry = stride(from: 0, to: entry.count, by: 3).map { entry[$0] }.max() ?? 0
    let centredKeyEntry = stride(from: 1, to: entry.count, by: 3).map { entry[$0] }.max() ?? 0
    let keyEntry = stride(from: 2, to: entry.count, by: 3).map { entry[$0] }.max() ?? 0
    // Pair p = sequence·H + head.
    let heads = Int(view.layout.heads)
    var headBounds = [Double](repeating: 0, count: heads)
    for (block, value) in blockBounds.enumerated() { headBounds[(block / blocks) % heads] = max(headBounds[(block / blocks) % heads], value) }
    norms = NormBounds(
      bound: blockBounds.max() ?? 0, centredEntryBound: Double(max(queryEntry, centredKeyEntry)),
      entryBound: Double(max(queryEntry, keyEntry)), headBounds: headBounds)
  }

  /// Everything the plan's kernel struct points into.
  var buffers: [AnyObject] { [keyMean, keyNorm, queryNorm, valueMax, centredKeyMax] }
}

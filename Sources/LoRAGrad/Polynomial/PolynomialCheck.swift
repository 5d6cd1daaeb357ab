import Foundation

/// The a-posteriori check of the polynomial path: exact rows of P and O for a sample of queries,
/// O(rows·L·h), compared with what the polynomial path used and produced.
public struct PolynomialCheck: Sendable, Equatable {
  /// How many query rows were sampled.
  public var rows: Int
  /// max over sampled rows and visible keys of |P̃_ij − P_ij| / P_ij, with P̃ from the block's
  /// polynomial evaluated in Float64 (causal: exact for the keys of the query's own chunk).
  public var probabilityError: Double
  /// max over sampled rows of ‖Õ_i − O_i‖_∞ / ‖O_i‖_∞ (Õ as the Float32 path computed it).
  public var outputError: Double

  /// Samples `rows` query rows (fixed seed) of the head view and measures both errors against the
  /// path's head-major output.
  static func measure(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, output: FloatBuffer, rows: Int
  ) -> PolynomialCheck {
    let h = Int(view.layout.head_width), hs = Int(view.layout.head_stride), lp = Int(view.layout.padded_length)
    let l = Int(view.layout.length), heads = Int(view.layout.heads)
    let chunkRows = Int(plan.geometry.blocks_per_chunk * plan.geometry.row_block)
    var random = SplitMix64(seed: 0x5EED)
    var probabilityError = 0.0, outputError = 0.0
    let total = view.pairs * l, sampleCount = min(rows, total)
    for _ in 0..<sampleCount {
      let flat = Int(random.next() % UInt64(total))
      let pair = flat / l, i = flat % l
      let visible = min(view.keyLengths.map { Int($0.base[pair / heads]) } ?? l, view.causal ? i + 1 : l)
      let polynomial = plan.blockPolynomials[pair * statistics.blocks + i / statistics.rowBlock]
      let base = pair * lp * hs
      let mean = (0..<h).map { Double(statistics.keyMean.base[pair * hs + $0]) }
      var exact = [Double](repeating: 0, count: visible), approximate = exact, exponent = exact
      for j in 0..<visible {
        var dot = 0.0
        for c in 0..<h { dot += Double(view.q.base[base + i * hs + c]) * (Double(view.k.base[base + j * hs + c]) - mean[c]) }
        exponent[j] = dot
      }
      let largest = exponent.max() ?? 0
      for j in 0..<visible {
        exact[j] = exp(exponent[j] - largest)
        let inChunk = view.causal && j / chunkRows == i / chunkRows
        approximate[j] = inChunk ? exp(exponent[j]) : polynomial(exponent[j])
      }
      let exactSum = exact.reduce(0, +), approximateSum = approximate.reduce(0, +)
      var outputExact = [Double](repeating: 0, count: h)
      for j in 0..<visible {
        let p = exact[j] / exactSum, pTilde = approximate[j] / approximateSum
        probabilityError = max(probabilityError, abs(pTilde - p) / p)
        for c in 0..<h { outputExact[c] += p * Double(view.v.base[base + j * hs + c]) }
      }
      let scale = outputExact.map(abs).max() ?? 0
      var worst = 0.0
      for c in 0..<h { worst = max(worst, abs(Double(output.base[base + i * hs + c]) - outputExact[c])) }
      outputError = max(outputError, scale > 0 ? worst / scale : worst)
    }
    return PolynomialCheck(rows: sampleCount, probabilityError: probabilityError, outputError: outputError)
  }
}

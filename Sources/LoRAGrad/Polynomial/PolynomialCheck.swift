import Foundation

/// The a-posteriori check of the polynomial path: exact rows of P and O for a sample of queries,
/// O(rows·L·h), compared with what the polynomial path used and produced.
public struct PolynomialCheck: Sendable, Equatable {
  /// How many query rows were sampled.
  public var rows: Int
  /// max over sampled rows and all keys of |P̃_ij − P_ij| / P_ij (P̃ from the block's polynomial, in Float64).
  public var probabilityError: Double
  /// max over sampled rows of ‖Õ_i − O_i‖_∞ / ‖O_i‖_∞ (Õ as the Float32 path computed it).
  public var outputError: Double

  /// Samples `rows` query rows (fixed seed) and measures both errors.
  static func measure(
    _ problem: AttentionProblem, batch: ProjectedBatch, layout: HeadLayout, analysis: PolynomialAttention.Analysis,
    plan: PolynomialAttention.Plan, output: FloatBuffer, rows: Int
  ) -> PolynomialCheck {
    let h = layout.headWidth, hs = layout.headStride, lp = layout.paddedLength, l = layout.length
    let rootBeta = problem.beta.squareRoot()
    var random = SplitMix64(seed: 0x5EED)
    var probabilityError = 0.0, outputError = 0.0
    let total = layout.pairs * l
    let sampleCount = min(rows, total)
    for _ in 0..<sampleCount {
      let flat = Int(random.next() % UInt64(total))
      let pair = flat / l, i = flat % l
      let polynomial = plan.blockPolynomials[pair * analysis.blocks + i / analysis.rowBlock]
      let base = pair * lp * hs
      let query = (0..<h).map { Double(batch.scaledQueries.base[base + i * hs + $0]) / rootBeta }
      let mean = (0..<h).map { Double(analysis.keyMean.base[pair * hs + $0]) }
      var exponent = [Double](repeating: 0, count: l)
      for j in 0..<l {
        var dot = 0.0
        for c in 0..<h { dot += query[c] * rootBeta * (Double(batch.keys.base[base + j * hs + c]) - mean[c]) }
        exponent[j] = dot
      }
      let largest = exponent.max() ?? 0
      let exact = exponent.map { exp($0 - largest) }
      let approximate = exponent.map { polynomial($0) }
      let exactSum = exact.reduce(0, +), approximateSum = approximate.reduce(0, +)
      var outputExact = [Double](repeating: 0, count: h)
      for j in 0..<l {
        let p = exact[j] / exactSum
        let pTilde = approximate[j] / approximateSum
        probabilityError = max(probabilityError, abs(pTilde - p) / p)
        for c in 0..<h { outputExact[c] += p * Double(batch.values.base[base + j * hs + c]) }
      }
      let scale = outputExact.map(abs).max() ?? 0
      var worst = 0.0
      for c in 0..<h { worst = max(worst, abs(Double(output.base[base + i * hs + c]) - outputExact[c])) }
      outputError = max(outputError, scale > 0 ? worst / scale : worst)
    }
    return PolynomialCheck(rows: sampleCount, probabilityError: probabilityError, outputError: outputError)
  }
}

import CLoRAGradKernels
import Foundation

/// The a-posteriori check of the polynomial path on a sample of query rows, against the Float32
/// kernel: exact rows of P and O in Float64, O(rows·L·h), and the kernel's own P̃ rows,
/// O(rows·L·k): entries φ̂(q̂_i)·ψ̂(k̃_j) from the kernel's Float32 features (causal: exp of the
/// Float32 logit for the keys of the row's own chunk), normalised by the kernel's den (from the lse
/// it saved). Both errors are what the bound `PolynomialReport.errorBound` bounds.
public struct PolynomialCheck: Sendable, Equatable {
  /// How many query rows were sampled.
  public var rows: Int
  /// max over sampled rows and visible keys of |P̃_ij − P_ij| / P_ij, P̃ as the kernel computes it.
  public var probabilityError: Double
  /// max over sampled rows of ‖Õ_i − O_i‖_∞ / ‖O_i‖_∞ (Õ as the Float32 path computed it).
  public var outputError: Double

  /// Samples `rows` query rows (fixed seed) and measures both errors.
  static func measure(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, output: FloatBuffer, logSumExp: FloatBuffer,
    rows: Int
  ) -> PolynomialCheck {
    let h = Int(view.layout.head_width), hs = Int(view.layout.head_stride), lp = Int(view.layout.padded_length)
    let l = Int(view.layout.length), heads = Int(view.layout.heads), rb = Int(plan.geometry.row_block)
    let featureCount = Int(plan.geometry.rank)
    let chunkRows = Int(plan.geometry.blocks_per_chunk) * rb
    let ops = view.operations
    var random = SplitMix64(seed: 0x5EED)
    var probabilityError = 0.0, outputError = 0.0
    let total = view.pairs * l, sampleCount = min(rows, total)
    var x = [Float](repeating: 0, count: h), phi = [Float](repeating: 0, count: featureCount)
    var yT = [Float](repeating: 0, count: h * rb), psi = [Float](repeating: 0, count: featureCount * rb)
    var entries = [Float](repeating: 0, count: rb), logits = [Float](repeating: 0, count: rb)
    for _ in 0..<sampleCount {
      let flat = Int(random.next() % UInt64(total))
      let pair = flat / l, i = flat % l
      let visible = min(view.keyLengths.map { Int($0.base[pair / heads]) } ?? l, view.causal ? i + 1 : l)
      let block = pair * statistics.blocks + i / statistics.rowBlock
      let base = pair * lp * hs
      let q = view.q.base + base + i * hs, mean = statistics.keyMean.base + pair * hs
      // φ̂ of the row, as the kernel computes it.
      let queryScale = statistics.queryNorm.base[block] > 0 ? 1 / statistics.queryNorm.base[block] : 0
      for c in 0..<h { x[c] = q[c] * queryScale }
      let rank = Int(plan.blockRank.base[block])
      lgk_monomial_features(
        ops, 1, x, 1, Int64(rank), plan.parent.pointer, plan.variable.pointer, plan.blockWeights.pointer + block * featureCount,
        &phi, 1)
      var shift = Float(0)
      for c in 0..<h { shift += q[c] * mean[c] }
      let den = exp(Double(logSumExp.base[pair * lp + i]) - Double(shift))
      // Exact P in Float64 (the centring shift cancels in the softmax).
      var exponent = [Double](repeating: 0, count: visible)
      for j in 0..<visible {
        var dot = 0.0
        for c in 0..<h { dot += Double(q[c]) * (Double(view.k.base[base + j * hs + c]) - Double(mean[c])) }
        exponent[j] = dot
      }
      let largest = exponent.max() ?? 0
      let exact = exponent.map { exp($0 - largest) }
      let exactSum = exact.reduce(0, +)
      let keyScale = statistics.keyNorm.base[pair] > 0 ? 1 / statistics.keyNorm.base[pair] : 0
      for key0 in stride(from: 0, to: visible, by: rb) {
        let keys = min(rb, visible - key0)
        for c in 0..<h {
          for r in 0..<keys { yT[c * rb + r] = (view.kT.base[base + c * lp + key0 + r] - mean[c]) * keyScale }
        }
        lgk_monomial_features(ops, Int64(keys), yT, Int64(rb), Int64(rank), plan.parent.pointer, plan.variable.pointer, nil, &psi, Int64(rb))
        lgk_sgemm(ops, 1, Int64(keys), Int64(rank), 1, phi, 1, 1, psi, Int64(rb), 0, &entries, Int64(rb))
        for r in 0..<keys {
          let j = key0 + r
          if view.causal && j / chunkRows == i / chunkRows {  // exact in-chunk entry
            var dot = Float(0)
            for c in 0..<h { dot += q[c] * (view.k.base[base + j * hs + c] - mean[c]) }
            logits[r] = dot
            lgk_exp(ops, 1, &logits[r], &entries[r])
          }
          let p = exact[j] / exactSum, pTilde = Double(entries[r]) / den
          probabilityError = max(probabilityError, abs(pTilde - p) / p)
        }
      }
      var outputExact = [Double](repeating: 0, count: h)
      for j in 0..<visible {
        let p = exact[j] / exactSum
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

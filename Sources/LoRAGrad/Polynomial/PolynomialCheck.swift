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

  /// Wall-clock seconds the check itself took (benchmarks subtract it from the path's time); not
  /// part of equality, which compares what was measured.
  public var seconds: Double

  /// Equal when the same rows gave the same errors (the check's own time aside).
  public static func == (lhs: PolynomialCheck, rhs: PolynomialCheck) -> Bool {
    lhs.rows == rhs.rows && lhs.probabilityError == rhs.probabilityError && lhs.outputError == rhs.outputError
  }

  /// Samples `rows` query rows (fixed seed) and measures both errors. The key features ψ̂(k̃_j) are
  /// evaluated once per key block and pair for all sampled rows of that pair.
  static func measure(
    _ view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan, output: FloatBuffer, logSumExp: FloatBuffer,
    rows: Int
  ) -> PolynomialCheck {
    let start = DispatchTime.now().uptimeNanoseconds
    let h = Int(view.layout.head_width), hs = Int(view.layout.head_stride), lp = Int(view.layout.padded_length)
    let l = Int(view.layout.length), heads = Int(view.layout.heads), rb = Int(plan.geometry.row_block)
    let featureCount = Int(plan.geometry.rank)
    let chunkRows = Int(plan.geometry.blocks_per_chunk) * rb
    let ops = view.operations
    var random = SplitMix64(seed: 0x5EED)
    let total = view.pairs * l, sampleCount = min(rows, total)
    var samplesByPair: [Int: [Int]] = [:]
    for _ in 0..<sampleCount {
      let flat = Int(random.next() % UInt64(total))
      samplesByPair[flat / l, default: []].append(flat % l)
    }
    var probabilityError = 0.0, outputError = 0.0
    var yT = [Float](repeating: 0, count: h * rb), psi = [Float](repeating: 0, count: featureCount * rb)
    var entries = [Float](repeating: 0, count: rb), logits = [Float](repeating: 0, count: rb)
    for pair in samplesByPair.keys.sorted() {
      let base = pair * lp * hs, mean = statistics.keyMean.base + pair * hs
      let keyLimit = view.keyLengths.map { Int($0.base[pair / heads]) } ?? l
      // Per sampled row: φ̂ as the kernel computes it, the kernel's den, and the exact P row in Float64.
      struct Row { var i: Int; var visible: Int; var rank: Int; var phi: [Float]; var den: Double; var exact: [Double] }
      var sampled: [Row] = []
      for i in samplesByPair[pair]! {
        let visible = min(keyLimit, view.causal ? i + 1 : l)
        let block = pair * statistics.blocks + i / statistics.rowBlock
        let q = view.q.base + base + i * hs
        let queryScale = statistics.queryNorm.base[block] > 0 ? 1 / statistics.queryNorm.base[block] : 0
        let x = (0..<h).map { q[$0] * queryScale }
        let rank = Int(plan.blockRank.base[block])
        var phi = [Float](repeating: 0, count: featureCount)
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
        let weights = exponent.map { exp($0 - largest) }
        let sum = weights.reduce(0, +)
        sampled.append(Row(i: i, visible: visible, rank: rank, phi: phi, den: den, exact: weights.map { $0 / sum }))
      }
      let keyScale = statistics.keyNorm.base[pair] > 0 ? 1 / statistics.keyNorm.base[pair] : 0
      let maxVisible = sampled.map(\.visible).max() ?? 0, maxRank = sampled.map(\.rank).max() ?? 0
      for key0 in stride(from: 0, to: maxVisible, by: rb) {
        let keys = min(rb, maxVisible - key0)
        for c in 0..<h {
          for r in 0..<keys { yT[c * rb + r] = (view.k.base[base + (key0 + r) * hs + c] - mean[c]) * keyScale }
        }
        // Monomial m does not depend on the count, so a row of rank ≤ maxRank reads the first rows of ψ̂.
        lgk_monomial_features(ops, Int64(keys), yT, Int64(rb), Int64(maxRank), plan.parent.pointer, plan.variable.pointer, nil, &psi, Int64(rb))
        for row in sampled where row.visible > key0 {
          let rowKeys = min(keys, row.visible - key0)
          lgk_sgemm(ops, 1, Int64(rowKeys), Int64(row.rank), 1, row.phi, 1, 1, psi, Int64(rb), 0, &entries, Int64(rb))
          let q = view.q.base + base + row.i * hs
          for r in 0..<rowKeys {
            let j = key0 + r
            if view.causal && j / chunkRows == row.i / chunkRows {  // exact in-chunk entry
              var dot = Float(0)
              for c in 0..<h { dot += q[c] * (view.k.base[base + j * hs + c] - mean[c]) }
              logits[r] = dot
              lgk_exp(ops, 1, &logits[r], &entries[r])
            }
            let p = row.exact[j], pTilde = Double(entries[r]) / row.den
            probabilityError = max(probabilityError, abs(pTilde - p) / p)
          }
        }
      }
      for row in sampled {
        var outputExact = [Double](repeating: 0, count: h)
        for j in 0..<row.visible {
          for c in 0..<h { outputExact[c] += row.exact[j] * Double(view.v.base[base + j * hs + c]) }
        }
        let scale = outputExact.map(abs).max() ?? 0
        var worst = 0.0
        for c in 0..<h { worst = max(worst, abs(Double(output.base[base + row.i * hs + c]) - outputExact[c])) }
        outputError = max(outputError, scale > 0 ? worst / scale : worst)
      }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return PolynomialCheck(rows: sampleCount, probabilityError: probabilityError, outputError: outputError, seconds: seconds)
  }
}

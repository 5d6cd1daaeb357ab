import CLoRAGradKernels

/// The plan of the polynomial path for one batch (SPEC §3.3): each query block's degree, fitted
/// for its own bound R_b = ρ_q,b·ρ_k, the weights c_t R_bᵗ (t!/a!) of its features, and the
/// chunking that keeps the low-rank sums within the memory budget.
struct PolynomialPlan {
  let basis: MonomialBasis
  let parent, variable: AlignedBuffer<Int32>
  let blockRank: AlignedBuffer<Int32>
  let blockWeights: FloatBuffer
  /// The polynomial each (pair, query block) uses, for the a-posteriori check.
  let blockPolynomials: [ExpPolynomial]
  let geometry: lgk_poly_geometry
  let report: PolynomialReport

  /// Chooses the degrees, or throws `toleranceUnreachable` saying why the path cannot meet ε.
  init(_ view: HeadView, statistics: PolynomialStatistics, settings: PolynomialSettings, shape: AttentionShape) throws {
    let h = Int(view.layout.head_width), hs = Int(view.layout.head_stride), pairs = view.pairs
    let bounds = statistics.blockBounds, bound = statistics.norms.bound
    let largest = Double(Float.greatestFiniteMagnitude)
    guard bounds.allSatisfy({ $0 <= largest }), statistics.norms.entryBound <= largest else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: the norms of √β·Q and √β·K overflow Float32 (R = \(formatted(bound)) is not finite in Float32); use the exact path")
    }
    let catalogue = ExpPolynomialCatalogue(tolerance: settings.tolerance, maxDegree: settings.maxDegree)
    // The degree the worst block needs decides the feature count; check it fits the budget.
    guard let worst = catalogue.polynomial(covering: bound) else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(formatted(bound)) needs a degree above \(settings.maxDegree) for ε = \(settings.tolerance), "
          + "a feature count above C(\(h)+\(settings.maxDegree), \(settings.maxDegree)) ≈ \(String(format: "%.3g", Self.featureCountEstimate(variables: h, degree: settings.maxDegree))); use the exact path")
    }
    let featureCount = MonomialBasis.featureCount(variables: h, degree: worst.degree)
    let floatsPerChunk = Double(pairs) * Double(featureCount) * Double((2 * h + 5) * hs)
    let bytesPerChunk = 4 * floatsPerChunk
    guard bytesPerChunk <= Double(settings.memoryBudget) else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(formatted(bound)) needs degree \(worst.degree), C(\(h)+\(worst.degree), \(worst.degree)) = \(featureCount) features, "
          + "\(Int(bytesPerChunk / 1e6)) MB of low-rank sums, over the budget of \(settings.memoryBudget / 1_000_000) MB; use the exact path")
    }
    // Non-causal, chunks only split the sums for parallel work. Causal, the pairs within a chunk
    // are exact: see `causalChunkRows` for the length that balances that work against the state
    // every chunk keeps, within the budget.
    let affordable = max(1, Int(Double(settings.memoryBudget) / bytesPerChunk))
    let blocks = (shape.length + settings.rowBlock - 1) / settings.rowBlock
    let balanced = (shape.length + Self.causalChunkRows(featureCount: featureCount, headWidth: h, rowBlock: settings.rowBlock) - 1)
      / Self.causalChunkRows(featureCount: featureCount, headWidth: h, rowBlock: settings.rowBlock)
    let maxChunks = shape.causal ? min(affordable, max(1, min(blocks, balanced))) : min(settings.maxChunks, affordable)
    geometry = lgk_poly_geometry_make(
      Int64(shape.length), Int64(h), Int64(hs), Int64(settings.rowBlock), Int64(featureCount), Int64(maxChunks))
    basis = MonomialBasis(variables: h, degree: worst.degree)
    var blockRank = [Int32](repeating: 0, count: bounds.count)
    var weights = [Float](repeating: 0, count: bounds.count * featureCount)
    var minimumDegree = worst.degree, polynomialError = 0.0, roundingError = 0.0
    var polynomials: [ExpPolynomial] = []
    polynomials.reserveCapacity(bounds.count)
    for (block, blockBound) in bounds.enumerated() {
      let polynomial = catalogue.polynomial(covering: blockBound) ?? worst
      polynomials.append(polynomial)
      minimumDegree = min(minimumDegree, polynomial.degree)
      polynomialError = max(polynomialError, polynomial.certifiedRelativeError)
      let features = basis.prefixCount[polynomial.degree]
      blockRank[block] = Int32(features)
      var scaledCoefficient = [Double](repeating: 0, count: polynomial.degree + 1)
      var power = 1.0
      for t in 0...polynomial.degree {
        scaledCoefficient[t] = polynomial.coefficients[t] * power
        power *= blockBound
      }
      for m in 0..<features {
        weights[block * featureCount + m] = Float(scaledCoefficient[basis.totalDegree[m]] * basis.multinomial[m])
      }
      roundingError = max(roundingError, Self.float32RoundingError(polynomial, scaledCoefficients: scaledCoefficient, features: features))
    }
    // The Float32 evaluation of φ·ψ must be as accurate as the polynomial itself, or the bound
    // would not hold: this is where large R fails even when a degree fits the budget.
    guard roundingError <= settings.tolerance else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(formatted(bound)) needs degree \(worst.degree), but Float32 features "
          + "would carry a relative rounding error up to \(String(format: "%.2g", roundingError)) > ε = \(settings.tolerance); use the exact path")
    }
    parent = try AlignedBuffer(basis.parent, what: "monomial table")
    variable = try AlignedBuffer(basis.variable, what: "monomial table")
    self.blockRank = try AlignedBuffer(blockRank, what: "block feature counts")
    blockWeights = try FloatBuffer(weights, what: "block feature weights")
    blockPolynomials = polynomials
    let chunkRows = Int(geometry.blocks_per_chunk) * settings.rowBlock
    let error = polynomialError + roundingError
    report = PolynomialReport(
      degree: worst.degree, minimumDegree: minimumDegree, featureCount: featureCount,
      polynomialError: polynomialError, roundingError: roundingError, errorBound: 2 * error / (1 - error),
      flops: CostModel.polynomialFlops(shape, featureCount: featureCount, chunkRows: chunkRows),
      sumBytes: Int(bytesPerChunk) * Int(geometry.chunks), blocksPerDegree: (0...worst.degree).map { g in polynomials.lazy.filter { $0.degree == g }.count },
      chunkRows: chunkRows)
  }

  /// The C view of the plan (valid while the plan and the statistics are held).
  func kernelPlan(_ statistics: PolynomialStatistics) -> lgk_poly_plan {
    lgk_poly_plan(
      parent: parent.pointer, variable: variable.pointer, key_mean: statistics.keyMean.pointer,
      key_norm: statistics.keyNorm.pointer, query_norm: statistics.queryNorm.pointer,
      block_rank: blockRank.pointer, block_weights: blockWeights.pointer)
  }

  /// Everything `kernelPlan` points into (with the statistics' buffers).
  func buffers(_ statistics: PolynomialStatistics) -> [AnyObject] {
    [parent, variable, blockRank, blockWeights] + statistics.buffers
  }

  /// The relative rounding error of p(x) = φ(q)·ψ(k) evaluated in Float32 through `features`
  /// monomials, by the probabilistic model of Higham & Mary (2019): an inner product of k terms
  /// is off by at most λ√k·u·Σ_m |φ_m ψ_m| with probability ≥ 1 − 2e^{−λ²/2} (λ = 4), and each
  /// monomial by (g + 2)·u, where Σ_m |φ_m ψ_m| ≤ Σ_t |c_t| Rᵗ for unit-norm q̂, k̂; relative to
  /// p ≥ min p on [−R, R]. The alternating terms cancel near x = −R, so it grows like e^{2R}.
  static func float32RoundingError(_ polynomial: ExpPolynomial, scaledCoefficients: [Double], features: Int) -> Double {
    let u = Double(Float.ulpOfOne) / 2
    let lambda = 4.0
    let magnitude = scaledCoefficients.map(abs).reduce(0, +)
    let smallest = max(polynomial.minimumValue, .leastNormalMagnitude)
    return (lambda * Double(features).squareRoot() * u + Double(polynomial.degree + 2) * u) * magnitude / smallest
  }

  /// The causal chunk length C (rows, a multiple of the block) that balances the two costs of a
  /// chunk: its state, k·(2h + 5)·h_s floats of key and query sums (written, scanned, read back;
  /// measured on 2026-12-02 at about 260 flops of time per float, first-touch page faults
  /// included), against its exact in-chunk attention, C²/2 visible pairs of 14·h_s flops. The
  /// cost per row, 260·k·(2h + 5)·h_s / C + 7·h_s·C, is least at C = √(260·k·(2h + 5)/7).
  static func causalChunkRows(featureCount k: Int, headWidth h: Int, rowBlock: Int) -> Int {
    let balanced = (260 * Double(k) * Double(2 * h + 5) / 7).squareRoot()
    return max(rowBlock, Int((balanced / Double(rowBlock)).rounded()) * rowBlock)
  }

  /// C(h + g, g) as a Double (no overflow), for messages about feature counts beyond any budget.
  static func featureCountEstimate(variables h: Int, degree g: Int) -> Double {
    (0..<g).reduce(1.0) { $0 * Double(h + $1 + 1) / Double($1 + 1) }
  }
}

/// `value` with four significant digits, for messages.
func formatted(_ value: Double) -> String { String(format: "%.4g", value) }

import Foundation

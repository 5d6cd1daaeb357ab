import Foundation
import CLoRAGradKernels

/// The plan of the polynomial path for one batch (SPEC §3.3): each query block's degree, fitted
/// for its own bound R_b = ρ_q,b·ρ_k, the weights c_t R_bᵗ (t!/a!) of its features, and the
/// chunking that keeps the low-rank sums within the memory budget.
struct PolynomialPlan {
  let basis: MonomialBasis
  let parent, variable: AlignedBuffer<Int32>
  let blockRank: AlignedBuffer<Int32>
  let blockWeights: FloatBuffer
  /// E per (pair, query block), rounded up to Float32: what the gradient bounds start from.
  let blockError: FloatBuffer
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
    // A block's logits lie in [−R_b(1 + γ₅), R_b(1 + γ₅)] once its features' inputs are rounded;
    // the fit must cover that, and the whole bound on P̃ (not only the polynomial) must meet ε.
    let inputGrowth = 1 + ProbabilityErrorBound.gamma(5)
    let rowBlock = settings.rowBlock, length = shape.length, blockCount = (length + rowBlock - 1) / rowBlock
    func lowRankBound(_ polynomial: ExpPolynomial, _ halfWidth: Double) -> ProbabilityErrorBound {
      ProbabilityErrorBound.lowRank(
        polynomial, halfWidth: halfWidth, featureCount: MonomialBasis.featureCount(variables: h, degree: polynomial.degree),
        rowBlock: rowBlock, length: length, chunks: blockCount)
    }
    let catalogue = ExpPolynomialCatalogue(tolerance: settings.tolerance, maxDegree: settings.maxDegree) { polynomial, halfWidth in
      lowRankBound(polynomial, halfWidth).total <= settings.tolerance
    }
    // The degree the worst block needs decides the feature count; check it fits the budget.
    guard let worst = catalogue.polynomial(covering: bound * inputGrowth) else {
      let halfWidth = ExpPolynomialCatalogue.coveringHalfWidth(bound * inputGrowth)
      if let bare = ExpPolynomial.smallestDegree(bound: halfWidth, tolerance: settings.tolerance / 2, maxDegree: settings.maxDegree) {
        let achieved = lowRankBound(bare, halfWidth)
        throw LoRAGradError.toleranceUnreachable(
          reason: "polynomial method: R = \(formatted(bound)): degree \(bare.degree) fits exp to \(String(format: "%.2g", bare.certifiedRelativeError)), but the Float32 "
            + "evaluation of its features adds up to \(String(format: "%.2g", achieved.evaluation)) (worst case), so no degree ≤ \(settings.maxDegree) keeps the bound on P̃ within ε = \(settings.tolerance); use the exact path")
      }
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(formatted(bound)) needs a degree above \(settings.maxDegree) for ε = \(settings.tolerance), "
          + "a feature count above C(\(h)+\(settings.maxDegree), \(settings.maxDegree)) ≈ \(String(format: "%.3g", Self.featureCountEstimate(variables: h, degree: settings.maxDegree))); use the exact path")
    }
    let featureCount = MonomialBasis.featureCount(variables: h, degree: worst.degree)
    let floatsPerChunk = Double(pairs) * Double(featureCount) * Double((2 * h + 7) * hs)
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
    let chunkLength = Self.causalChunkRows(featureCount: featureCount, headWidth: h, rowBlock: rowBlock)
    let balanced = (length + chunkLength - 1) / chunkLength
    let maxChunks = shape.causal ? min(affordable, max(1, min(blockCount, balanced))) : min(settings.maxChunks, affordable)
    geometry = lgk_poly_geometry_make(
      Int64(length), Int64(h), Int64(hs), Int64(rowBlock), Int64(featureCount), Int64(maxChunks))
    let chunkRows = Int(geometry.blocks_per_chunk) * rowBlock
    basis = MonomialBasis(variables: h, degree: worst.degree)
    var blockRank = [Int32](repeating: 0, count: bounds.count)
    var weights = [Float](repeating: 0, count: bounds.count * featureCount)
    var errors = [Float](repeating: 0, count: bounds.count)
    var minimumDegree = worst.degree, polynomialError = 0.0, evaluationError = 0.0, errorBound = 0.0
    var polynomials: [ExpPolynomial] = []
    polynomials.reserveCapacity(bounds.count)
    for (block, blockBound) in bounds.enumerated() {
      let polynomial = catalogue.polynomial(covering: blockBound * inputGrowth) ?? worst
      let halfWidth = ExpPolynomialCatalogue.coveringHalfWidth(blockBound * inputGrowth)
      var blockBoundE = lowRankBound(polynomial, halfWidth)
      if shape.causal { blockBoundE = blockBoundE.withExactEntries(halfWidth: halfWidth, headWidth: h, chunkRows: chunkRows, rowBlock: rowBlock) }
      polynomials.append(polynomial)
      minimumDegree = min(minimumDegree, polynomial.degree)
      polynomialError = max(polynomialError, blockBoundE.polynomial)
      evaluationError = max(evaluationError, blockBoundE.evaluation)
      errorBound = max(errorBound, blockBoundE.total)
      errors[block] = Float(blockBoundE.total).nextUp
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
    }
    // Causal rows also hold exact entries, whose rounding is bounded after the chunking.
    guard errorBound <= settings.tolerance else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(formatted(bound)) with causal chunks of \(chunkRows) rows: the bound on P̃ is \(String(format: "%.2g", errorBound)) > ε = \(settings.tolerance); use the exact path")
    }
    parent = try AlignedBuffer(basis.parent, what: "monomial table")
    variable = try AlignedBuffer(basis.variable, what: "monomial table")
    self.blockRank = try AlignedBuffer(blockRank, what: "block feature counts")
    blockWeights = try FloatBuffer(weights, what: "block feature weights")
    blockError = try FloatBuffer(errors, what: "block error bounds")
    blockPolynomials = polynomials
    report = PolynomialReport(
      degree: worst.degree, minimumDegree: minimumDegree, featureCount: featureCount,
      polynomialError: polynomialError, roundingError: evaluationError, errorBound: errorBound,
      flops: CostModel.polynomialFlops(shape, featureCount: featureCount, chunkRows: chunkRows),
      sumBytes: Int(bytesPerChunk) * Int(geometry.chunks), blocksPerDegree: (0...worst.degree).map { g in polynomials.lazy.filter { $0.degree == g }.count },
      chunkRows: chunkRows)
  }

  /// The C view of the plan (valid while the plan and the statistics are held).
  func kernelPlan(_ statistics: PolynomialStatistics, bounds: Bool = false) -> lgk_poly_plan {
    lgk_poly_plan(
      parent: parent.pointer, variable: variable.pointer, key_mean: statistics.keyMean.pointer,
      key_norm: statistics.keyNorm.pointer, query_norm: statistics.queryNorm.pointer,
      block_rank: blockRank.pointer, block_weights: blockWeights.pointer, block_error: bounds ? blockError.pointer : nil,
      value_max: statistics.valueMax.pointer, centred_key_max: statistics.centredKeyMax.pointer)
  }

  /// Everything `kernelPlan` points into (with the statistics' buffers).
  func buffers(_ statistics: PolynomialStatistics) -> [AnyObject] {
    [parent, variable, blockRank, blockWeights, blockError] + statistics.buffers
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

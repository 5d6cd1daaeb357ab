import Foundation
import CLoRAGradKernels

/// The settings of the polynomial path.
public struct PolynomialSettings: Sendable, Equatable {
  /// ε: the certified bound on |p(x)e^{−x} − 1| over each block's interval.
  public var tolerance: Double
  /// Rows per query and key block (each block gets its own degree).
  public var rowBlock: Int
  /// The most row-block chunks per (sequence, head) pair, whose partial sums are added in order.
  public var maxChunks: Int
  /// The memory the low-rank sums may take, in bytes; it caps the degree.
  public var memoryBudget: Int
  /// The highest degree considered.
  public var maxDegree: Int

  /// Settings with the given tolerance and default blocks and budget (1 GiB of low-rank sums).
  public init(tolerance: Double, rowBlock: Int = 128, maxChunks: Int = 16, memoryBudget: Int = 1 << 30, maxDegree: Int = 24) {
    self.tolerance = tolerance
    self.rowBlock = rowBlock
    self.maxChunks = maxChunks
    self.memoryBudget = memoryBudget
    self.maxDegree = maxDegree
  }

  /// Throws unless ε ∈ (0, 1) and the block, chunk and degree limits are positive.
  func validate() throws {
    guard tolerance > 0, tolerance < 1 else {
      throw LoRAGradError.invalidArgument(argument: "tolerance", expected: "a number in (0, 1)", given: "\(tolerance)")
    }
    guard rowBlock >= 16, rowBlock % 16 == 0 else {
      throw LoRAGradError.invalidArgument(argument: "rowBlock", expected: "a positive multiple of 16", given: "\(rowBlock)")
    }
    guard maxChunks >= 1, maxDegree >= 0, memoryBudget > 0 else {
      throw LoRAGradError.invalidArgument(
        argument: "polynomial settings", expected: "maxChunks ≥ 1, maxDegree ≥ 0, memoryBudget > 0",
        given: "\(maxChunks), \(maxDegree), \(memoryBudget)")
    }
  }
}

/// What the polynomial path chose and certified for one call.
public struct PolynomialReport: Sendable, Equatable {
  /// R = max over pairs of max_i ‖√β Q_i‖ · max_j ‖√β (K_j − μ)‖, the interval half-width.
  public var bound: Double
  /// Γ = the largest |entry| of √β·Q and of √β·(K − μ) (the paper's entry bound).
  public var gamma: Double
  /// The largest degree over the query blocks.
  public var degree: Int
  /// The smallest degree over the query blocks.
  public var minimumDegree: Int
  /// The number of features of the largest degree, C(h + g, g).
  public var rank: Int
  /// max over blocks of the certified |p(x)e^{−x} − 1|.
  public var polynomialError: Double
  /// max over blocks of the estimated relative rounding error of φ(q)·ψ(k) in Float32 (a
  /// probabilistic bound, see `PolynomialAttention.float32RoundingError`).
  public var roundingError: Double
  /// The bound on the entrywise relative error of P̃: 2e/(1 − e) with e the sum of the two errors
  /// above (each entry of exp is known to a factor 1 ± e, and so is each row sum); certified for
  /// the polynomial, with the Float32 rounding of one entry added by its probabilistic bound.
  public var errorBound: Double
  /// The floating-point operations of the low-rank path as run.
  public var flops: Double
  /// The bytes of low-rank sums it kept.
  public var sumBytes: Int
  /// The number of query blocks that use each degree (index = degree g, 0…degree).
  public var blocksPerDegree: [Int]
}

/// The almost-linear path (SPEC §3): exp(β QKᵀ) as Φ Ψᵀ through monomial features of centred,
/// normalised queries and keys, and every gradient term as a chain of low-rank factors.
enum PolynomialAttention {
  /// The plan for one problem: per-block degrees and feature weights, chosen from the norms.
  struct Plan {
    let basis: MonomialBasis
    let blockRank: [Int32]
    let blockWeights: [Float]
    /// The polynomial each (pair, query block) uses, for the a-posteriori check.
    let blockPolynomials: [ExpPolynomial]
    let report: PolynomialReport
    let chunks: Int
  }

  /// The norms of one projected batch, and the plan they imply (or why there is none).
  struct Analysis {
    let rowBlock: Int
    let blocks: Int
    let keyMean: FloatBuffer
    let keyNorm: FloatBuffer
    let queryNorm: FloatBuffer
    /// R, the largest norm bound over pairs and blocks.
    let bound: Double
    /// Γ, the largest |entry| of √β·Q and √β·(K − μ).
    let gamma: Double
    /// The plan, or the error saying no degree within the budget meets ε.
    let plan: Result<Plan, LoRAGradError>
  }

  /// The statistics tile over every pair, then the plan: O(N·H·L·h), no low-rank sums yet.
  static func analyse(
    _ batch: ProjectedBatch, layout: HeadLayout, beta: Double, settings: PolynomialSettings, parallelism: Parallelism
  ) -> Analysis {
    let blocks = (layout.length + settings.rowBlock - 1) / settings.rowBlock
    let keyMean = FloatBuffer(count: layout.pairs * layout.headStride)
    let keyNorm = FloatBuffer(count: layout.pairs)
    let keyEntry = FloatBuffer(count: layout.pairs)
    let queryNorm = FloatBuffer(count: layout.pairs * blocks)
    let queryEntry = FloatBuffer(count: layout.pairs)
    var kernel = problemStruct(batch, layout: layout, beta: beta, settings: settings)
    kernel.key_mean = keyMean.base
    kernel.key_norm = keyNorm.base
    kernel.key_max_entry = keyEntry.base
    kernel.query_norm = queryNorm.base
    kernel.query_max_entry = queryEntry.base
    parallelism.run(tiles: layout.pairs, tile: lgk_poly_statistics_tile, context: &kernel)
    let keyNorms = keyNorm.array, queryNorms = queryNorm.array
    let bound = (0..<(layout.pairs * blocks)).map { Double(queryNorms[$0]) * Double(keyNorms[$0 / blocks]) }.max() ?? 0
    let gamma = Double(max(keyEntry.array.max() ?? 0, queryEntry.array.max() ?? 0))
    let plan: Result<Plan, LoRAGradError>
    do {
      plan = .success(try makePlan(layout: layout, settings: settings, blocks: blocks, keyNorm: keyNorms, queryNorm: queryNorms, gamma: gamma))
    } catch let error as LoRAGradError {
      plan = .failure(error)
    } catch {
      plan = .failure(.toleranceUnreachable(reason: "\(error)"))
    }
    return Analysis(rowBlock: settings.rowBlock, blocks: blocks, keyMean: keyMean, keyNorm: keyNorm, queryNorm: queryNorm, bound: bound, gamma: gamma, plan: plan)
  }

  /// The kernel struct with the layout and input buffers filled in.
  private static func problemStruct(
    _ batch: ProjectedBatch, layout: HeadLayout, beta: Double, settings: PolynomialSettings
  ) -> lgk_poly_problem {
    var kernel = lgk_poly_problem()
    kernel.pairs = Int64(layout.pairs)
    kernel.length = Int64(layout.length)
    kernel.padded_length = Int64(layout.paddedLength)
    kernel.head_width = Int64(layout.headWidth)
    kernel.head_stride = Int64(layout.headStride)
    kernel.row_block = Int64(settings.rowBlock)
    kernel.beta = Float(beta)
    kernel.q = UnsafePointer(batch.scaledQueries.base)
    kernel.k = UnsafePointer(batch.keys.base)
    kernel.k_t = UnsafePointer(batch.keysTransposed.base)
    kernel.v = UnsafePointer(batch.values.base)
    kernel.y = UnsafePointer(batch.targets.base)
    return kernel
  }

  /// The loss and dQ, dK, dV by the chained low-rank terms of an analysed batch (plan required).
  static func backward(
    _ batch: ProjectedBatch, layout: HeadLayout, beta: Double, settings: PolynomialSettings,
    analysis: Analysis, plan: Plan, parallelism: Parallelism
  ) -> (backward: AttentionBackward, output: FloatBuffer) {
    let h = layout.headWidth, hs = layout.headStride
    let rank = plan.basis.count
    let keyWidth = (h + 3) * hs, queryWidth = (h + 2) * hs
    let blockWeights = FloatBuffer(plan.blockWeights)
    let keySums = FloatBuffer(count: layout.pairs * plan.chunks * rank * keyWidth)
    let querySums = FloatBuffer(count: layout.pairs * plan.chunks * rank * queryWidth)
    let lossPartials = UnsafeMutablePointer<Double>.allocate(capacity: layout.pairs * plan.chunks)
    lossPartials.initialize(repeating: 0, count: layout.pairs * plan.chunks)
    defer { lossPartials.deallocate() }
    let out = FloatBuffer(count: layout.bufferCount)
    let dQ = FloatBuffer(count: layout.bufferCount)
    let dK = FloatBuffer(count: layout.bufferCount)
    let dV = FloatBuffer(count: layout.bufferCount)
    var kernel = problemStruct(batch, layout: layout, beta: beta, settings: settings)
    kernel.key_mean = analysis.keyMean.base
    kernel.key_norm = analysis.keyNorm.base
    kernel.query_norm = analysis.queryNorm.base
    kernel.chunks = Int64(plan.chunks)
    kernel.rank = Int64(rank)
    kernel.key_sums = keySums.base
    kernel.query_sums = querySums.base
    kernel.loss_partials = lossPartials
    kernel.out = out.base
    kernel.d_q = dQ.base
    kernel.d_k = dK.base
    kernel.d_v = dV.base
    let slabs = (rank + 15) / 16
    let pairs = layout.pairs, chunks = plan.chunks, blocks = analysis.blocks
    plan.basis.parent.withUnsafeBufferPointer { parent in
      plan.basis.variable.withUnsafeBufferPointer { variable in
        plan.blockRank.withUnsafeBufferPointer { blockRank in
          kernel.parent = parent.baseAddress
          kernel.variable = variable.baseAddress
          kernel.block_rank = blockRank.baseAddress
          kernel.block_weights = UnsafePointer(blockWeights.base)
          parallelism.run(tiles: pairs * chunks, tile: lgk_poly_key_sums_tile, context: &kernel)
          parallelism.run(tiles: pairs * slabs, tile: lgk_poly_reduce_key_sums_tile, context: &kernel)
          parallelism.run(tiles: pairs * chunks, tile: lgk_poly_query_tile, context: &kernel)
          parallelism.run(tiles: pairs * slabs, tile: lgk_poly_reduce_query_sums_tile, context: &kernel)
          parallelism.run(tiles: pairs * blocks, tile: lgk_poly_key_backward_tile, context: &kernel)
        }
      }
    }
    withExtendedLifetime((analysis, blockWeights, keySums, querySums)) {}
    var loss = 0.0
    for t in 0..<(pairs * chunks) { loss += lossPartials[t] }
    return (AttentionBackward(loss: loss, dQ: dQ, dK: dK, dV: dV), out)
  }

  /// The relative rounding error of p(x) = φ(q)·ψ(k) evaluated in Float32 through `features`
  /// monomials, by the probabilistic model of Higham & Mary (2019): an inner product of k terms
  /// is off by at most λ√k·u·Σ_m |φ_m ψ_m| with probability ≥ 1 − 2e^{−λ²/2} (λ = 4), and each
  /// monomial by (g + 2)·u (g multiplications and the weight), where Σ_m |φ_m ψ_m| ≤ Σ_t |c_t| Rᵗ
  /// for unit-norm q̂, k̂; relative to p ≥ min p on [−R, R]. The cancellation of the alternating
  /// terms near x = −R makes it grow like e^{2R}: this, not the degree, is what ends the Float32
  /// polynomial method first at small head widths. (The worst-case γ_k = k·u/(1 − k·u) would be
  /// √k ≈ 30–70× larger at the ranks used and is never approached in practice.)
  static func float32RoundingError(_ polynomial: ExpPolynomial, scaledCoefficients: [Double], features: Int) -> Double {
    let u = Double(Float.ulpOfOne) / 2
    let lambda = 4.0
    let magnitude = scaledCoefficients.map(abs).reduce(0, +)
    let smallest = max(polynomial.minimumValue, .leastNormalMagnitude)
    return (lambda * Double(features).squareRoot() * u + Double(polynomial.degree + 2) * u) * magnitude / smallest
  }

  /// C(h + g, g) as a Double (no overflow), for messages about ranks far beyond any budget.
  static func rankEstimate(variables h: Int, degree g: Int) -> Double {
    (0..<g).reduce(1.0) { $0 * Double(h + $1 + 1) / Double($1 + 1) }
  }

  /// Chooses each block's degree from its norm bound R_b = ρ_q,b ρ_k, the weights c_t R_bᵗ (t!/a!)
  /// of its features, and the chunk count that keeps the low-rank sums within the budget.
  static func makePlan(
    layout: HeadLayout, settings: PolynomialSettings, blocks: Int, keyNorm: [Float], queryNorm: [Float], gamma: Double
  ) throws -> Plan {
    let h = layout.headWidth, hs = layout.headStride
    let sumFloatsPerFeature = (2 * h + 5) * hs
    let bounds = (0..<(layout.pairs * blocks)).map { Double(queryNorm[$0]) * Double(keyNorm[$0 / blocks]) }
    let bound = bounds.max() ?? 0
    guard bounds.allSatisfy(\.isFinite), gamma.isFinite else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: the norms of √β·Q and √β·K overflow Float32 (R not finite); use the exact path")
    }
    let catalogue = ExpPolynomialCatalogue(tolerance: settings.tolerance, maxDegree: settings.maxDegree)
    // The degree the worst block needs decides the rank; check it fits the memory budget.
    guard let worst = catalogue.polynomial(covering: bound) else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(String(format: "%.4g", bound)) needs a degree above \(settings.maxDegree) for ε = \(settings.tolerance), "
          + "a rank above C(\(h)+\(settings.maxDegree), \(settings.maxDegree)) ≈ \(String(format: "%.3g", Self.rankEstimate(variables: h, degree: settings.maxDegree))); use the exact path")
    }
    let rank = MonomialBasis.rank(variables: h, degree: worst.degree)
    let bytesPerChunk = Double(layout.pairs) * Double(rank) * Double(sumFloatsPerFeature) * 4
    guard bytesPerChunk <= Double(settings.memoryBudget) else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(String(format: "%.4g", bound)) needs degree \(worst.degree), rank C(\(h)+\(worst.degree), \(worst.degree)) = \(rank), "
          + "\(Int(bytesPerChunk / 1e6)) MB of low-rank sums, over the budget of \(settings.memoryBudget / 1_000_000) MB; use the exact path")
    }
    let chunks = max(1, min(settings.maxChunks, blocks, Int(Double(settings.memoryBudget) / bytesPerChunk)))
    let basis = MonomialBasis(variables: h, degree: worst.degree)
    var blockRank = [Int32](repeating: 0, count: bounds.count)
    var weights = [Float](repeating: 0, count: bounds.count * rank)
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
        weights[block * rank + m] = Float(scaledCoefficient[basis.totalDegree[m]] * basis.multinomial[m])
      }
      roundingError = max(roundingError, float32RoundingError(polynomial, scaledCoefficients: scaledCoefficient, features: features))
    }
    // The Float32 evaluation of φ·ψ must be as accurate as the polynomial itself, or the
    // certificate would not hold: this is where large R fails even when a degree fits the budget.
    guard roundingError <= settings.tolerance else {
      throw LoRAGradError.toleranceUnreachable(
        reason: "polynomial method: R = \(String(format: "%.4g", bound)) needs degree \(worst.degree), but Float32 features "
          + "would carry a relative rounding error up to \(String(format: "%.2g", roundingError)) > ε = \(settings.tolerance); use the exact path")
    }
    let rowsTotal = Double(layout.pairs * layout.length)
    let keyWidth = Double((h + 3) * hs), queryWidth = Double((h + 2) * hs)
    let flops = rowsTotal * 4 * Double(rank) * (keyWidth + queryWidth)
    let report = PolynomialReport(
      bound: bound, gamma: gamma, degree: worst.degree, minimumDegree: minimumDegree, rank: rank,
      polynomialError: polynomialError, roundingError: roundingError,
      errorBound: 2 * (polynomialError + roundingError) / (1 - polynomialError - roundingError),
      flops: flops, sumBytes: Int(bytesPerChunk) * chunks,
      blocksPerDegree: (0...worst.degree).map { g in polynomials.lazy.filter { $0.degree == g }.count })
    return Plan(basis: basis, blockRank: blockRank, blockWeights: weights, blockPolynomials: polynomials, report: report, chunks: chunks)
  }
}

@testable import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The regime detector and the cost model behind `.auto`, checked against numbers computed here
/// from the SPEC's formulas (not against the code under test).
final class RegimeTests: XCTestCase {
  private let model = CostModel(exactFlopRate: 80e9, polynomialFlopRate: 80e9, polynomialOverhead: 0, source: "test")

  /// SPEC §3.1 gives the smallest degrees at which the polynomial alone meets ε = 1e-3 (R = 0.25,
  /// 0.5, 1 → 2, 3, 4); the whole bound on P̃ (about 2ε_p plus the Float32 terms) must meet ε, so
  /// the path takes that degree or the next, never less, reports a bound ≤ ε, and C(h + g, g)
  /// features (written out here).
  func testDegreeMeetsTheWholeBoundAndFollowsTheDegreeTable() throws {
    let table: [(bound: Double, degree: Int)] = [(0.25, 2), (0.5, 3), (1, 4)]
    for (bound, polynomialDegree) in table {
      let problem = try AttentionProblem.synthetic(length: 64, width: 4, heads: 1, loraRank: 2, normBound: bound, seed: 1)
      let regime = try problem.regime(tolerance: 1e-3, options: ExecutionOptions(parallelism: .serial, costModel: model))
      XCTAssertEqual(regime.norms.bound, bound, accuracy: 1e-4 * bound)
      let report = try XCTUnwrap(regime.polynomial, "R = \(bound): \(regime.reason)")
      XCTAssertTrue((polynomialDegree...(polynomialDegree + 1)).contains(report.degree), "R = \(bound): degree \(report.degree)")
      XCTAssertLessThanOrEqual(report.errorBound, 1e-3)
      XCTAssertGreaterThanOrEqual(report.errorBound, 2 * report.polynomialError, "the bound on P̃ contains the polynomial's twice")
      let expected = (1...report.degree).reduce(1) { $0 * (4 + $1) } / (1...report.degree).reduce(1, *)
      XCTAssertEqual(report.featureCount, expected)
      XCTAssertGreaterThan(regime.norms.entryBound, 0)
    }
  }

  /// R per head: the maximum over sequences and blocks of that head alone. Scaling head 0's rows of
  /// W_q by 2 doubles R₀ (Q of head 0 doubles; no biases, no RoPE) and leaves R₁ as it was.
  func testBoundPerHeadIsEachHeadsOwn() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 40, width: 8, heads: 2, loraRank: 2, adapted: [.value], seed: 3)
    let before = try problem.regime(tolerance: 1e-3).norms
    XCTAssertEqual(before.headBounds.count, 2)
    XCTAssertEqual(before.headBounds.max(), before.bound)
    var weights = problem.layer.frozenWeights
    weights[.query]!.scalars = weights[.query]!.scalars.enumerated().map { $0.offset < 4 * 8 ? 2 * $0.element : $0.element }
    let layer = try AttentionLayer(frozenWeights: weights, adapters: problem.layer.adapters, heads: 2, alpha: problem.layer.alpha)
    let after = try AttentionProblem(layer: layer, inputs: problem.inputs, objective: problem.objective).regime(tolerance: 1e-3).norms
    XCTAssertEqual(after.headBounds[0], 2 * before.headBounds[0], accuracy: 4e-7 * after.headBounds[0])
    XCTAssertEqual(after.headBounds[1], before.headBounds[1])
  }

  func testFloat32RoundingOfTheFeaturesLimitsTheBound() throws {
    // At R = 2 a degree-6 polynomial fits ε = 1e-3 in exact arithmetic, but its alternating terms
    // cancel near x = −R: its worst-case Float32 evaluation term (8e-4) leaves the bound on P̃
    // above ε at every degree, so the path refuses.
    let problem = try AttentionProblem.synthetic(length: 64, width: 4, heads: 1, loraRank: 2, normBound: 2, seed: 1)
    let regime = try problem.regime(tolerance: 1e-3, options: ExecutionOptions(parallelism: .serial, costModel: model))
    XCTAssertNil(regime.polynomial)
    XCTAssertTrue(regime.reason.contains("Float32"), regime.reason)
  }

  /// The predicted flops against SPEC §2 and §3.2 written out: 12·N·L²·D exact (half the pairs,
  /// plus the diagonal, when causal) and 4·k·(2h + 7)·h_s per row polynomial.
  func testPredictedFlopsAreTheSpecCounts() throws {
    let problem = try AttentionProblem.synthetic(length: 256, width: 16, heads: 1, loraRank: 2, normBound: 0.5, seed: 2)
    let regime = try problem.regime(tolerance: 1e-3, options: ExecutionOptions(parallelism: .serial, costModel: model))
    XCTAssertEqual(regime.predictedExactFlops, 12 * 256 * 256 * 16)
    let report = try XCTUnwrap(regime.polynomial)
    XCTAssertEqual(report.featureCount, 969)
    XCTAssertEqual(report.flops, 256 * 4 * 969 * (2 * 16 + 7) * 16)
    let causal = try AttentionProblem.synthetic(LayerFeatures(causal: true), length: 256, width: 16, normBound: 0.5, seed: 2)
    XCTAssertEqual(try causal.regime(tolerance: 1e-3).predictedExactFlops, 12 * 16 * Double(256 * 257 / 2))
    let padded = try AttentionProblem.synthetic(
      LayerFeatures(keyLengths: { _ in [100, 256] }), sequences: 2, length: 256, width: 16, normBound: 0.5, seed: 2)
    XCTAssertEqual(try padded.regime(tolerance: 1e-3).predictedExactFlops, 12 * 16 * Double(256 * 100 + 256 * 256))
  }

  /// The crossover against the SPEC's arithmetic: exact 12·L²·h, polynomial 4·k·(2h + 7)·h_s·L at
  /// equal rates, so L* = 4·k·(2h + 7)·h_s / (12 h); the verdict follows it.
  func testVerdictFollowsTheCrossover() throws {
    let short = try AttentionProblem.synthetic(length: 64, width: 16, heads: 1, loraRank: 2, normBound: 0.5, seed: 2)
    let regime = try short.regime(tolerance: 1e-3, options: ExecutionOptions(parallelism: .serial, costModel: model))
    let crossover = try XCTUnwrap(regime.crossoverLength)
    XCTAssertEqual(crossover, 4.0 * 969 * 39 * 16 / (12 * 16), accuracy: 1e-9 * crossover)
    XCTAssertEqual(regime.verdict, .exact, "L = 64 is far below the crossover \(crossover)")
    // A model in which the polynomial kernels are 10⁴× faster moves the crossover below L = 64.
    let fastPoly = CostModel(exactFlopRate: 80e9, polynomialFlopRate: 80e13, polynomialOverhead: 0, source: "test")
    let options = ExecutionOptions(parallelism: .dispatch(threads: 2), costModel: fastPoly)
    XCTAssertEqual(try short.regime(tolerance: 1e-3, options: options).verdict, .polynomial)
    XCTAssertEqual(try short.gradients(method: .auto(tolerance: 1e-3), options: options).path, .polynomial)
    let slow = ExecutionOptions(parallelism: .dispatch(threads: 2), costModel: model)
    XCTAssertEqual(try short.gradients(method: .auto(tolerance: 1e-3), options: slow).path, .exact)
  }

  /// `auto` decides on one-thread predictions: the same path (and bits) for every thread count.
  func testAutoChoiceDoesNotDependOnTheThreadCount() throws {
    let problem = try AttentionProblem.synthetic(length: 300, width: 16, heads: 1, loraRank: 2, normBound: 0.5, seed: 3)
    // A model placing the crossover near L = 300.
    let rate = 80e9 * 4.0 * 969 * 39 * 16 / (12 * 16) / 300
    let edge = CostModel(exactFlopRate: 80e9, polynomialFlopRate: rate, polynomialOverhead: 0, source: "test")
    let paths = try [1, 2, 3, 5].map { threads in
      try problem.gradients(method: .auto(tolerance: 1e-3), options: ExecutionOptions(parallelism: .dispatch(threads: threads), costModel: edge)).path
    }
    XCTAssertEqual(Set(paths).count, 1, "\(paths)")
  }

  func testUnreachableToleranceRefusesPolynomialAndAutoComputesExactly() throws {
    let problem = try AttentionProblem.synthetic(length: 40, width: 16, heads: 1, loraRank: 2, normBound: 30, seed: 4)
    XCTAssertThrowsError(try problem.gradients(method: .polynomial(tolerance: 1e-3), options: .serial)) { error in
      guard case .toleranceUnreachable(let reason) = error as? LoRAGradError else { return XCTFail("\(error)") }
      XCTAssertTrue(reason.contains("R = "), reason)
    }
    let options = ExecutionOptions(parallelism: .serial, costModel: model)
    let regime = try problem.regime(tolerance: 1e-3, options: options)
    XCTAssertEqual(regime.verdict, .exact)
    XCTAssertNil(regime.predictedPolynomialSeconds)
    let auto = try problem.gradients(method: .auto(tolerance: 1e-3), options: options)
    XCTAssertEqual(auto.path, .exact)
    let reference = try problem.gradients(method: .reference, options: .serial)
    assertWithinRoundingModel(auto, reference, problem: problem, "large logits")
  }

  func testToleranceOutsideTheUnitIntervalIsRejected() throws {
    let problem = try AttentionProblem.synthetic(length: 8, width: 4, loraRank: 1, seed: 5)
    for tolerance in [0.0, 1.0, -1, .nan] {
      XCTAssertThrowsError(try problem.regime(tolerance: tolerance)) { error in
        guard case .invalidArgument(let argument, _, _) = error as? LoRAGradError else { return XCTFail("\(error)") }
        XCTAssertEqual(argument, "tolerance")
      }
    }
  }
}

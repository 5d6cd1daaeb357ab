import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The regime detector and the cost model behind `.auto`.
final class RegimeTests: XCTestCase {
  private let model = CostModel(exactFlopRate: 80e9, polynomialFlopRate: 80e9, polynomialOverhead: 0, source: "test")

  func testBoundAndDegreeGrowWithTheInputScale() throws {
    var degrees: [Int] = []
    for bound in [0.125, 0.5, 1.0] {
      let problem = try AttentionProblem.synthetic(length: 64, width: 4, heads: 1, rank: 2, normBound: bound, seed: 1)
      let regime = try problem.regime(tolerance: 1e-3, costModel: model)
      XCTAssertEqual(regime.bound, bound, accuracy: 1e-4 * bound)
      let degree = try XCTUnwrap(regime.polynomial?.degree)
      XCTAssertGreaterThanOrEqual(degree, degrees.last ?? 0)
      XCTAssertEqual(regime.polynomial?.rank, MonomialBasis.rank(variables: 4, degree: degree))
      XCTAssertGreaterThan(regime.gamma, 0)
      degrees.append(degree)
    }
    XCTAssertGreaterThan(degrees.last!, degrees.first!)
  }

  func testFloat32RoundingOfTheFeaturesLimitsTheBound() throws {
    // At R = 4 a degree-9 polynomial fits ε = 1e-3 in exact arithmetic, but its alternating terms
    // cancel near x = −R: evaluated in Float32 the error bound exceeds ε, so the path refuses.
    let problem = try AttentionProblem.synthetic(length: 64, width: 4, heads: 1, rank: 2, normBound: 4, seed: 1)
    let regime = try problem.regime(tolerance: 1e-3, costModel: model)
    XCTAssertNil(regime.polynomial)
    XCTAssertTrue(regime.reason.contains("Float32"), regime.reason)
  }

  func testVerdictFollowsTheCostModelAcrossTheCrossover() throws {
    let short = try AttentionProblem.synthetic(length: 64, width: 16, heads: 1, rank: 2, normBound: 0.5, seed: 2)
    let regime = try short.regime(tolerance: 1e-3, costModel: model)
    let rank = try XCTUnwrap(regime.polynomial?.rank)
    let crossover = try XCTUnwrap(regime.crossoverLength)
    XCTAssertEqual(crossover, model.crossoverLength(headWidth: 16, rank: rank))
    XCTAssertEqual(regime.verdict, "exact", "L = 64 is far below the crossover \(crossover)")
    // A model in which the polynomial kernels are 10⁴× faster moves the crossover below L = 64.
    let fastPoly = CostModel(exactFlopRate: 80e9, polynomialFlopRate: 80e13, polynomialOverhead: 0, source: "test")
    XCTAssertEqual(try short.regime(tolerance: 1e-3, costModel: fastPoly).verdict, "poly")
    let auto = try short.gradients(method: .auto(tolerance: 1e-3), parallelism: .dispatch(threads: 2), costModel: fastPoly)
    XCTAssertEqual(auto.path, "poly")
    let exactChoice = try short.gradients(method: .auto(tolerance: 1e-3), parallelism: .dispatch(threads: 2), costModel: model)
    XCTAssertEqual(exactChoice.path, "exact")
  }

  func testPredictedCostsScaleLikeTheirComplexity() throws {
    let a = try AttentionProblem.synthetic(length: 100, width: 16, rank: 2, seed: 3)
    let b = try AttentionProblem.synthetic(length: 200, width: 16, rank: 2, seed: 3)
    XCTAssertEqual(model.exactSeconds(b, threads: 1) / model.exactSeconds(a, threads: 1), 4, accuracy: 1e-12)
    XCTAssertEqual(model.polynomialSeconds(b, rank: 969, threads: 1) / model.polynomialSeconds(a, rank: 969, threads: 1), 2, accuracy: 1e-12)
    XCTAssertEqual(model.exactSeconds(a, threads: 2) * 2, model.exactSeconds(a, threads: 1), accuracy: 1e-15)
  }

  func testUnreachableToleranceRefusesPolynomialAndAutoComputesExactly() throws {
    let problem = try AttentionProblem.synthetic(length: 40, width: 16, heads: 1, rank: 2, normBound: 30, seed: 4)
    XCTAssertThrowsError(try problem.gradients(method: .polynomial(tolerance: 1e-3), parallelism: .serial)) { error in
      guard case .toleranceUnreachable(let reason) = error as? LoRAGradError else { return XCTFail("\(error)") }
      XCTAssertTrue(reason.contains("R = "), reason)
    }
    let regime = try problem.regime(tolerance: 1e-3, costModel: model)
    XCTAssertEqual(regime.verdict, "exact")
    XCTAssertNil(regime.predictedPolynomialSeconds)
    let auto = try problem.gradients(method: .auto(tolerance: 1e-3), parallelism: .serial, costModel: model)
    XCTAssertEqual(auto.path, "exact")
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    assertClose(auto, reference, tolerance: FlashAttention.roundingTolerance(problem) * 30, "large logits")
  }

  func testToleranceOutsideTheUnitIntervalIsRejected() throws {
    let problem = try AttentionProblem.synthetic(length: 8, width: 4, rank: 1, seed: 5)
    for tolerance in [0.0, 1.0, -1, .nan] {
      XCTAssertThrowsError(try problem.regime(tolerance: tolerance)) { error in
        guard case .invalidArgument(let argument, _, _) = error as? LoRAGradError else { return XCTFail("\(error)") }
        XCTAssertEqual(argument, "tolerance")
      }
    }
  }

  func testPolynomialPathIsBitIdenticalAcrossThreadsAndBackends() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 700, width: 16, heads: 2, rank: 4, normBound: 0.5, seed: 6)
    let method = GradientMethod.polynomial(tolerance: 1e-3)
    let baseline = try problem.gradients(method: method, parallelism: .serial)
    for parallelism in [Parallelism.dispatch(threads: 2), .dispatch(threads: 3), .openmp(threads: 2), .openmp(threads: 4)] {
      let result = try problem.gradients(method: method, parallelism: parallelism)
      XCTAssertEqual(result.loss.bitPattern, baseline.loss.bitPattern, "\(parallelism)")
      XCTAssertEqual(result.adapters, baseline.adapters, "\(parallelism)")
    }
  }
}

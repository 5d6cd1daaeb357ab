@testable import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The polynomial path against the Float64 reference at normalised inputs: every layer feature
/// alone and together (the causal chunked scan included), per-block degrees, higher degrees.
final class PolynomialPathTests: XCTestCase {
  @discardableResult
  private func check(
    _ problem: AttentionProblem, tolerance: Double = 1e-3, settings: PolynomialSettings? = nil, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> PolynomialReport {
    var chosen = settings ?? PolynomialSettings(tolerance: tolerance)
    chosen.checkRows = 8
    let reference = try problem.gradients(method: .reference, options: .serial)
    let fast = try problem.gradients(method: .polynomial(chosen), options: .dispatch(threads: 2))
    XCTAssertEqual(fast.path, .polynomial, file: file, line: line)
    let report = try XCTUnwrap(fast.regime?.polynomial, file: file, line: line)
    let check = try XCTUnwrap(fast.check, file: file, line: line)
    // The bound on P̃'s entrywise relative error holds on the sampled rows.
    XCTAssertLessThanOrEqual(check.probabilityError, report.errorBound, label, file: file, line: line)
    let worst = relativeErrors(fast, reference).map(\.error).max() ?? .infinity
    let looseness = assertWithinErrorBounds(fast, reference, label, file: file, line: line)
    print("poly \(label): degree \(report.degree) features \(report.featureCount) chunk rows \(report.chunkRows) error \(worst) P̃ bound \(report.errorBound) check \(check.probabilityError) bound/observed \(looseness)")
    // Every gradient within a small multiple of ε (issue targets: 5ε).
    XCTAssertLessThanOrEqual(worst, 5 * chosen.tolerance, label, file: file, line: line)
    return report
  }

  func testEveryFeatureAloneAndTogether() throws {
    for features in LayerFeatures.each {
      try check(try .synthetic(features, sequences: 2, length: 150, width: 32, heads: 2, loraRank: 4, normBound: 0.5, seed: 1), "\(features) H=2 N=2")
    }
  }

  func testPartialAdaptationOddLength() throws {
    try check(try .synthetic(length: 301, width: 16, heads: 1, loraRank: 8, adapted: [.query, .value], alpha: 3, normBound: 0.5, seed: 2), "q+v L=301")
  }

  /// Causal: many chunks (tight budget → short chunks) against few, and chunks of several blocks.
  func testCausalChunkingAgreesWithTheReferenceForEveryChunkSize() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 300, width: 8, heads: 2, loraRank: 2, normBound: 0.5, seed: 4)
    var rows: Set<Int> = []
    // One chunk takes 4 pairs × 35 features × (2h + 7)·16 floats × 4 bytes = 134 400 bytes; the
    // balanced chunk is 128 rows (3 chunks), the smaller budgets allow 2 and 1.
    for budget in [1 << 30, 280_000, 140_000] {
      let settings = PolynomialSettings(tolerance: 1e-3, rowBlock: 32, memoryBudget: budget)
      rows.insert(try check(problem, settings: settings, "causal budget \(budget)").chunkRows)
    }
    XCTAssertEqual(rows, [128, 160, 320], "the budgets should give these chunk sizes")
  }

  /// SPEC §3.3: the first 128-row query block has inputs scaled by 0.2, so its bound R_b, and the
  /// degree it needs, are smaller than the other blocks'; it reads a prefix of the shared key sums
  /// and the gradients still match the reference.
  func testQueryBlocksWithSmallerNormsUseTheirOwnLowerDegree() throws {
    for causal in [false, true] {
      let base = try AttentionProblem.synthetic(LayerFeatures(causal: causal), length: 300, width: 8, heads: 2, loraRank: 2, normBound: 2, seed: 6)
      var inputs = base.inputs.scalars
      for index in 0..<(128 * 8) { inputs[index] *= 0.2 }
      let problem = try AttentionProblem(
        layer: base.layer, inputs: try Tensor(shape: base.inputs.shape, scalars: inputs), objective: base.objective)
      // At R = 2 the worst-case Float32 term alone is 8e-4: ε = 5e-3.
      let report = try XCTUnwrap(try problem.regime(tolerance: 5e-3).polynomial)
      XCTAssertLessThan(report.minimumDegree, report.degree)
      XCTAssertEqual(report.blocksPerDegree.reduce(0, +), 2 * 3, "2 heads × 3 query blocks")
      XCTAssertGreaterThan(report.blocksPerDegree[report.minimumDegree], 0)
      XCTAssertGreaterThan(report.blocksPerDegree[report.degree], 0)
      try check(problem, tolerance: 5e-3, "per-block degrees \(report.blocksPerDegree) causal \(causal)")
    }
  }

  func testLargerBoundNeedsHigherDegree() throws {
    try check(try .synthetic(length: 200, width: 8, heads: 2, loraRank: 2, normBound: 2, seed: 3), tolerance: 5e-3, "R=2 h=4")
    try check(try .synthetic(.all, length: 200, width: 8, heads: 2, loraRank: 2, normBound: 2, seed: 3), tolerance: 5e-3, "R=2 h=4 all features")
  }
}

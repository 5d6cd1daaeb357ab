import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The polynomial path against the Float64 reference at normalised inputs.
final class PolynomialPathTests: XCTestCase {
  private func check(_ problem: AttentionProblem, tolerance: Double = 1e-3, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    let fast = try problem.gradients(method: .polynomial(tolerance: tolerance), parallelism: .dispatch(threads: 2), checkRows: 8)
    XCTAssertEqual(fast.path, "poly", file: file, line: line)
    let report = try XCTUnwrap(fast.regime?.polynomial, file: file, line: line)
    // The certified bound on P̃'s entrywise relative error holds on the sampled rows.
    let check = try XCTUnwrap(fast.check, file: file, line: line)
    XCTAssertLessThanOrEqual(check.probabilityError, report.errorBound, label, file: file, line: line)
    XCTAssertLessThanOrEqual(report.polynomialError, tolerance, label, file: file, line: line)
    let error = worstRelativeError(fast, reference)
    print("\(label): degree \(report.degree) rank \(report.rank) R \(report.bound) error \(error) bound \(report.errorBound) check \(check)")
    XCTAssertLessThanOrEqual(error, 5 * tolerance, label, file: file, line: line)
  }

  func testFullAdaptationSeveralHeadsAndSequences() throws {
    try check(try .synthetic(sequences: 2, length: 150, width: 32, heads: 2, rank: 4, normBound: 0.5, seed: 1), "qkv H=2 N=2")
  }

  func testPartialAdaptationOddLength() throws {
    try check(try .synthetic(length: 301, width: 16, heads: 1, rank: 8, adapted: [.query, .value], alpha: 3, normBound: 0.5, seed: 2), "q+v L=301")
  }

  /// SPEC §3.3: the first 128-row query block has inputs scaled by 0.2, so its bound R_b, and the
  /// degree it needs, are smaller than the other blocks'; it reads a prefix of the shared key sums
  /// and the gradients still match the reference.
  func testQueryBlocksWithSmallerNormsUseTheirOwnLowerDegree() throws {
    let base = try AttentionProblem.synthetic(length: 300, width: 8, heads: 2, rank: 2, normBound: 2, seed: 6)
    var inputs = base.inputs.scalars
    for index in 0..<(128 * 8) { inputs[index] *= 0.2 }
    let problem = try AttentionProblem(
      inputs: try Tensor(shape: base.inputs.shape, scalars: inputs), targets: base.targets,
      frozenWeights: base.frozenWeights, adapters: base.adapters, heads: 2)
    let report = try XCTUnwrap(try problem.regime(tolerance: 1e-3).polynomial)
    XCTAssertLessThan(report.minimumDegree, report.degree)
    XCTAssertEqual(report.blocksPerDegree.reduce(0, +), 2 * 3, "2 heads × 3 query blocks")
    XCTAssertGreaterThan(report.blocksPerDegree[report.minimumDegree], 0)
    XCTAssertGreaterThan(report.blocksPerDegree[report.degree], 0)
    try check(problem, "per-block degrees \(report.blocksPerDegree)")
  }

  func testLargerBoundNeedsHigherDegree() throws {
    try check(try .synthetic(length: 200, width: 8, heads: 2, rank: 2, normBound: 2, seed: 3), "R=2 h=4")
  }
}

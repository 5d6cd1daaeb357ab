import CLoRAGradKernels
import Foundation
@testable import LoRAGrad
import XCTest

/// The polynomial path's bounds against the Float32 kernel's actual errors, on many random
/// problems: R from 0.1 to near the refusal point and exactly on grid points of the degree
/// catalogue, L from 1 to 700 (longer ones in loragrad-bench), h ∈ {4, 8, 16, 32}, every layer feature, and adversarial inputs
/// whose signed low-rank sums cancel. Every observed error (the kernel's P̃ rows from the check, Z,
/// every adapter gradient and dX against the Float64 reference, the loss) is within its bound.
final class ErrorBoundTests: XCTestCase {
  private let options = ExecutionOptions.dispatch(threads: 2)

  /// Runs the polynomial path with a check and asserts every bound; returns the P̃ bound's looseness.
  @discardableResult
  private func assertBounds(
    _ problem: AttentionProblem, tolerance: Double = 1e-3, _ label: String, file: StaticString = #filePath, line: UInt = #line
  ) throws -> Double {
    let settings = PolynomialSettings(tolerance: tolerance, checkRows: 12)
    let reference = try problem.gradients(method: .reference, options: .serial)
    let fast = try problem.gradients(method: .polynomial(settings), options: options)
    let report = try XCTUnwrap(fast.regime?.polynomial, label, file: file, line: line)
    XCTAssertLessThanOrEqual(report.errorBound, tolerance, "--tol bounds the whole P̃ bound \(label)", file: file, line: line)
    let check = try XCTUnwrap(fast.check, file: file, line: line)
    XCTAssertLessThanOrEqual(check.probabilityError, report.errorBound, "kernel P̃ \(label)", file: file, line: line)
    // Z entrywise against the reference's.
    let forward = try problem.layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: .polynomial(settings), options: options)
    let exactZ = try problem.layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: .reference, options: .serial).output
    let bound = try XCTUnwrap(forward.entrywiseOutputBound, file: file, line: line)
    for index in exactZ.scalars.indices where abs(Double(forward.output.scalars[index]) - Double(exactZ.scalars[index])) > Double(bound.scalars[index]) {
      XCTFail("Z[\(index)]: |error| \(abs(forward.output.scalars[index] - exactZ.scalars[index])) > \(bound.scalars[index]) \(label)", file: file, line: line)
      break
    }
    assertWithinErrorBounds(fast, reference, label, file: file, line: line)
    return check.probabilityError > 0 ? report.errorBound / check.probabilityError : .infinity
  }

  func testRandomProblemsAcrossBoundsLengthsAndHeadWidths() throws {
    var random = SplitMix64(seed: 2026_12_02)
    var looseness: [Double] = []
    for trial in 0..<12 {
      let headWidth = [4, 8, 16, 32][trial % 4]
      let heads = headWidth >= 16 ? 1 : 2
      let length = [1, 2, 17, 130, 400, 700][trial % 6]
      let bound = [0.1, 0.25, 0.5, 0.8, 1.0][Int(random.next() % 5)]
      var features = LayerFeatures.each[Int(random.next() % UInt64(LayerFeatures.each.count))]
      if length < 4 { features.keyLengths = nil }
      let problem = try AttentionProblem.synthetic(
        features, sequences: 1 + trial % 2, length: length, width: headWidth * heads, heads: heads, loraRank: 2, normBound: bound,
        seed: UInt64(trial))
      let label = "trial \(trial): h = \(headWidth), L = \(length), R = \(bound), \(features)"
      guard (try? problem.regime(tolerance: 1e-3).polynomial) != nil else { continue }  // refused: nothing to bound
      looseness.append(try assertBounds(problem, label))
    }
    XCTAssertGreaterThanOrEqual(looseness.count, 9, "most trials should run the polynomial path")
    print("P̃ bound / observed kernel P̃ error: \(looseness.map { String(format: "%.1f", $0) })")
  }

  /// R exactly on grid points 2^{s/16} of the catalogue (the interval must still cover the
  /// logits after the features' inputs are rounded), and near the refusal point (R = 1.6 at h = 4).
  func testBoundsOnGridPointsAndNearTheRefusalPoint() throws {
    for (bound, tolerance) in [(0.5, 1e-3), (pow(2, -8.0 / 16), 1e-3), (1.0, 1e-3), (1.6, 5e-3)] {
      let problem = try AttentionProblem.synthetic(length: 300, width: 8, heads: 2, loraRank: 2, normBound: bound, seed: 7)
      try assertBounds(problem, tolerance: tolerance, "R = \(bound)")
    }
  }

  /// Adversarial cancellation: keys in ± pairs around a large common offset (the centring must
  /// remove it), values alternating in sign so that Ψᵀ V cancels, and an upstream gradient of
  /// alternating sign.
  func testAdversarialCancellationInTheLowRankSums() throws {
    let base = try AttentionProblem.synthetic(LayerFeatures(upstream: true), length: 600, width: 16, heads: 1, loraRank: 2, normBound: 0.5, seed: 8)
    var x = base.inputs.scalars
    for j in 0..<600 {
      for c in 0..<16 {
        let source = (j / 2) * 16 + c
        let sign: Float = j % 2 == 0 ? 1 : -1
        x[j * 16 + c] = sign * base.inputs.scalars[source] * 0.6 + 0.4
      }
    }
    let dz: [Float] = (0..<(600 * 16)).map { (index: Int) -> Float in
      let sign: Float = index % 2 == 0 ? 1 : -1
      return sign * Float(1 + (index / 16) % 7)
    }
    let problem = try AttentionProblem(
      layer: base.layer, inputs: try Tensor(shape: [1, 600, 16], scalars: x), objective: .upstream(try Tensor(shape: [1, 600, 16], scalars: dz)))
    let regime = try problem.regime(tolerance: 1e-3)
    guard regime.polynomial != nil else { return XCTFail("adversarial case refused: \(regime.reason)") }
    try assertBounds(problem, "adversarial")
  }

  /// The vector exp the causal in-chunk entries use is within the 2u the bound assumes (checked
  /// exhaustively on [−64, 64] by `loragrad-bench exp`; here a fixed sample of 10⁶, every ISA).
  func testVectorExpWithinTheBoundsAssumption() throws {
    var random = SplitMix64(seed: 9)
    let x = (0..<1_000_000).map { _ in Float(Double.random(in: -64...64, using: &random)) }
    for isa in KernelInstructionSet.available {
      var y = [Float](repeating: 0, count: x.count)
      lgk_exp(try isa.operations(), Int64(x.count), x, &y)
      let worst = zip(x, y).map { abs(Double($1) - exp(Double($0))) / exp(Double($0)) }.max()!
      XCTAssertLessThanOrEqual(worst, ProbabilityErrorBound.vectorExpError, "\(isa)")
    }
  }

  /// γ_n has no finite value once n·u ≥ 1: a feature count so large that the dot products carry
  /// 2²⁴ roundings must be refused for the Float32 evaluation, never accepted by a negative γ
  /// (h = 32, R = 0.84 at ε = 1e-3: degree 5 has 435897 features and its dots are too long).
  func testHugeFeatureCountsAreRefusedForTheirRounding() throws {
    XCTAssertEqual(ProbabilityErrorBound.gamma(0x1p24), .infinity)
    XCTAssertEqual(ProbabilityErrorBound.gamma(0x1p25), .infinity)
    XCTAssertEqual(ProbabilityErrorBound.gamma(1), 0x1p-24 / (1 - 0x1p-24))
    let problem = try AttentionProblem.synthetic(length: 64, width: 32, heads: 1, loraRank: 2, normBound: 0.84, seed: 11)
    let regime = try problem.regime(tolerance: 1e-3)
    XCTAssertNil(regime.polynomial)
    XCTAssertTrue(regime.reason.contains("Float32 evaluation"), regime.reason)
    // h = 64: the catalogue tries degrees whose C(64 + g, g) saturates Int; the rounding count must
    // not overflow (it trapped at R = 0.177), and every R gets a plan or a reason.
    let fixedRoundings: Double = 2 * 24 + 2 + 64 + 128 + 5
    XCTAssertEqual(ProbabilityErrorBound.roundings(degree: 24, featureCount: .max, rowBlock: 128), fixedRoundings + 0x1p57)
    for bound in [0.177, 0.5, 2] {
      let wide = try AttentionProblem.synthetic(length: 32, width: 64, heads: 1, loraRank: 2, normBound: bound, seed: 12)
      let regime = try wide.regime(tolerance: 1e-3)
      XCTAssertTrue(regime.polynomial != nil || !regime.reason.isEmpty, "R = \(bound)")
    }
  }
}

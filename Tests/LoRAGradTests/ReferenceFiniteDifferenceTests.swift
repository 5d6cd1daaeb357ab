import LoRAGrad
import XCTest

/// The Float64 reference against central finite differences of its own loss.
final class ReferenceFiniteDifferenceTests: XCTestCase {
  private func checkFiniteDifferences(_ problem: AttentionProblem, file: StaticString = #filePath, line: UInt = #line) {
    let parameters = ReferenceAttention.AdapterParameters(problem)
    let analytic = ReferenceAttention.lossAndGradients(problem, adapters: parameters).gradients
    let step = 1e-5
    var worst = 0.0
    for (projection, pair) in parameters.values {
      for (matrix, values) in [("a", pair.a), ("b", pair.b)] {
        let expected = matrix == "a" ? analytic[projection]!.a : analytic[projection]!.b
        let scale = expected.map(abs).max()!
        for index in values.indices {
          func lossAt(_ delta: Double) -> Double {
            var shifted = parameters
            if matrix == "a" { shifted.values[projection]!.a[index] += delta } else { shifted.values[projection]!.b[index] += delta }
            return ReferenceAttention.loss(problem, adapters: shifted)
          }
          let numeric = (lossAt(step) - lossAt(-step)) / (2 * step)
          worst = max(worst, abs(numeric - expected[index]) / scale)
        }
      }
    }
    // Central differences: truncation O(step²) plus cancellation O(ε_f64·loss/step).
    XCTAssertLessThan(worst, 1e-6, "finite-difference mismatch \(worst)", file: file, line: line)
  }

  func testFullAdaptationSeveralHeadsAndSequences() throws {
    checkFiniteDifferences(try .synthetic(sequences: 2, length: 5, width: 8, heads: 2, rank: 2, seed: 11))
  }

  func testPartialAdaptationWithAlphaNotR() throws {
    checkFiniteDifferences(
      try .synthetic(sequences: 1, length: 7, width: 6, heads: 3, rank: 3, adapted: [.query, .value], alpha: 5, seed: 12))
  }

  func testKeyOnlyAdaptationWithCustomBeta() throws {
    checkFiniteDifferences(try .synthetic(length: 4, width: 4, rank: 1, adapted: [.key], beta: 0.7, seed: 13))
  }
}

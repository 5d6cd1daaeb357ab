@testable import LoRAGrad
import XCTest

/// The Float64 reference against central finite differences of its own objective, for every
/// layer feature alone and all together: ∂/∂A_μ, ∂/∂B_μ and ∂/∂X.
final class ReferenceFiniteDifferenceTests: XCTestCase {
  /// The objective the gradients are of: ½‖Z − Y‖² or ⟨Z, dZ⟩, in Float64.
  private func objective(_ problem: AttentionProblem, inputs: [Double], adapters: ReferenceAttention.Adapters) -> Double {
    let z = ReferenceAttention.evaluate(
      problem.layer, inputs: inputs, sequences: problem.batchCount, keyLengths: problem.keyLengths, adapters: adapters).output
    switch problem.objective {
    case .squaredError(let targets): return 0.5 * zip(z, targets.scalars).reduce(0) { $0 + ($1.0 - Double($1.1)) * ($1.0 - Double($1.1)) }
    case .upstream(let dz): return zip(z, dz.scalars).reduce(0) { $0 + $1.0 * Double($1.1) }
    }
  }

  /// dZ of the objective at the reference Z, in Float64.
  private func upstream(_ problem: AttentionProblem, inputs: [Double], adapters: ReferenceAttention.Adapters) -> [Double] {
    switch problem.objective {
    case .squaredError(let targets):
      let z = ReferenceAttention.evaluate(
        problem.layer, inputs: inputs, sequences: problem.batchCount, keyLengths: problem.keyLengths, adapters: adapters).output
      return zip(z, targets.scalars).map { $0 - Double($1) }
    case .upstream(let dz): return dz.scalars.map(Double.init)
    }
  }

  private func check(_ problem: AttentionProblem, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let x = problem.inputs.scalars.map(Double.init)
    let adapters = ReferenceAttention.adapters(of: problem.layer)
    let analytic = ReferenceAttention.evaluate(
      problem.layer, inputs: x, sequences: problem.batchCount, keyLengths: problem.keyLengths, adapters: adapters,
      upstream: upstream(problem, inputs: x, adapters: adapters))
    let step = 1e-5
    var worst = 0.0
    func compare(_ expected: [Double], _ numeric: (Int) -> Double, _ name: String) {
      let scale = expected.map(abs).max() ?? 0
      XCTAssertGreaterThan(scale, 0, "\(label) \(name) is all zero", file: file, line: line)
      for index in expected.indices { worst = max(worst, abs(numeric(index) - expected[index]) / scale) }
    }
    for projection in adapters.keys.sorted() {
      for matrix in ["a", "b"] {
        let expected = matrix == "a" ? analytic.adapterGradients[projection]!.a : analytic.adapterGradients[projection]!.b
        compare(expected, { index in
          var plus = adapters, minus = adapters
          if matrix == "a" {
            plus[projection]!.a[index] += step
            minus[projection]!.a[index] -= step
          } else {
            plus[projection]!.b[index] += step
            minus[projection]!.b[index] -= step
          }
          return (self.objective(problem, inputs: x, adapters: plus) - self.objective(problem, inputs: x, adapters: minus)) / (2 * step)
        }, "∂\(matrix.uppercased())_\(projection.rawValue)")
      }
    }
    compare(analytic.inputGradient, { index in
      var plus = x, minus = x
      plus[index] += step
      minus[index] -= step
      return (self.objective(problem, inputs: plus, adapters: adapters) - self.objective(problem, inputs: minus, adapters: adapters)) / (2 * step)
    }, "dX")
    // Central differences: truncation step²·f‴/6 and cancellation ε_f64·|f|/step, both ~1e-10
    // relative here; observed 1e-10 … 1.1e-9 (2026-12-02).
    XCTAssertLessThan(worst, 2e-9, "\(label): finite-difference mismatch \(worst)", file: file, line: line)
    print("finite differences \(label): \(worst)")
  }

  func testEveryFeatureAloneAndTogether() throws {
    for features in LayerFeatures.each {
      try check(try .synthetic(features, sequences: 2, length: 5, width: 8, heads: 2, loraRank: 2, seed: 11), "\(features)")
    }
  }

  func testPartialAdaptationWithAlphaNotRAndCustomBeta() throws {
    let base = try AttentionProblem.synthetic(length: 7, width: 6, heads: 3, loraRank: 3, adapted: [.query, .value], alpha: 5, seed: 12)
    try check(base, "q+v α=5")
    let keyOnly = try AttentionProblem.synthetic(length: 4, width: 4, loraRank: 1, adapted: [.key], beta: 0.7, seed: 13)
    try check(keyOnly, "k β=0.7")
  }

  /// The causal mask hides exactly the keys j > i: the first row's output is V's first row.
  func testCausalFirstRowSeesOnlyTheFirstKey() throws {
    let problem = try AttentionProblem.synthetic(LayerFeatures(causal: true), length: 6, width: 4, seed: 14)
    let layer = problem.layer
    let z = try layer.forward(problem.inputs, method: .reference, options: .serial).output
    let v = ReferenceAttention.matmulTransposed(
      Array(problem.inputs.scalars[0..<4]).map(Double.init), layer.effectiveWeight(.value), rows: 1, width: 4)
    for c in 0..<4 { XCTAssertEqual(Double(z.scalars[c]), v[c], accuracy: 1e-6) }
  }
}

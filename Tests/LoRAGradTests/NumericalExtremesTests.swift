import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// Numerical extremes (issue 5 item 2): huge logits, the smallest shapes, α = 0, zero adapters and
/// many short sequences, each against the Float64 reference.
final class NumericalExtremesTests: XCTestCase {
  private let parallelism = Parallelism.dispatch(threads: 2)

  /// max over sequences, heads and (i, j) of |β q_i·k_j|, computed in Float64 from the effective weights.
  private func largestLogit(_ problem: AttentionProblem) -> Double {
    let n = problem.batchCount, l = problem.sequenceLength, d = problem.modelWidth, h = problem.headWidth
    let wq = problem.effectiveWeight(.query), wk = problem.effectiveWeight(.key)
    let x = problem.inputs.scalars.map(Double.init)
    var largest = 0.0
    for sequence in 0..<n {
      func project(_ w: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: l * d)
        for i in 0..<l {
          for o in 0..<d {
            var sum = 0.0
            for c in 0..<d { sum += x[(sequence * l + i) * d + c] * w[o * d + c] }
            out[i * d + o] = sum
          }
        }
        return out
      }
      let q = project(wq), k = project(wk)
      for head in 0..<problem.heads {
        for i in 0..<l {
          for j in 0..<l {
            var dot = 0.0
            for c in (head * h)..<((head + 1) * h) { dot += q[i * d + c] * k[j * d + c] }
            largest = max(largest, abs(problem.beta * dot))
          }
        }
      }
    }
    return largest
  }

  /// A synthetic problem whose inputs are rescaled so that the largest |β q·k| is `logit`
  /// (logits are quadratic in X, so the input scale is √(logit / largest logit at scale 1)).
  private func problem(
    sequences: Int = 1, length: Int, width: Int, heads: Int = 1, rank: Int = 2, largestLogit logit: Double,
    seed: UInt64
  ) throws -> AttentionProblem {
    let unit = try AttentionProblem.synthetic(
      sequences: sequences, length: length, width: width, heads: heads, rank: rank, seed: seed)
    let scale = (logit / largestLogit(unit)).squareRoot()
    return try AttentionProblem.synthetic(
      sequences: sequences, length: length, width: width, heads: heads, rank: rank, inputScale: scale, seed: seed)
  }

  private func assertFinite(_ result: Gradients, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(result.loss.isFinite, "\(label): loss \(result.loss)", file: file, line: line)
    for (projection, pair) in result.adapters {
      for (name, tensor) in [("A", pair.a), ("B", pair.b)] {
        XCTAssertNil(tensor.firstNonFiniteIndex, "\(label): ∂\(name)_\(projection.rawValue) is not finite", file: file, line: line)
      }
    }
  }

  // MARK: - Logits up to 1e4

  /// The exact path subtracts the running row maximum before exp, so logits of ±1e4 (far beyond
  /// Float32's exp overflow at 88.7) never overflow. Its error is larger than at unit logits,
  /// because each logit β·q·k is formed in Float32 with an absolute rounding error of about
  /// u·h·|β q·k| (u = 2⁻²⁴), and P = exp(logit − max) turns that absolute error into a relative
  /// error of P's entries (and of the gradients through them) of the same size: for
  /// |logit| ≤ 1e4 and h ≤ 16 that is up to 16·1e4·2⁻²⁴ ≈ 1e-2. The tolerance is therefore
  /// the usual rounding tolerance plus 2·u·h·max|logit| (2: once in the forward, once in the
  /// backward recomputation of P).
  func testLogitsOfTenThousandStayFiniteAndMatchTheReference() throws {
    for (length, width, heads, seed) in [(48, 8, 1, 1), (70, 16, 2, 2)] as [(Int, Int, Int, UInt64)] {
      let problem = try problem(length: length, width: width, heads: heads, largestLogit: 1e4, seed: seed)
      let logit = largestLogit(problem)
      XCTAssertGreaterThan(logit, 0.9e4)
      let reference = try problem.gradients(method: .reference, parallelism: .serial)
      assertFinite(reference, "reference")
      let exact = try problem.gradients(method: .exact, parallelism: parallelism)
      assertFinite(exact, "exact L=\(length)")
      let tolerance = FlashAttention.roundingTolerance(problem) + 2 * 0x1p-24 * Double(problem.headWidth) * logit
      print("logit \(logit): error \(worstRelativeError(exact, reference)) tolerance \(tolerance)")
      for p in Projection.allCases { for (nm, x, y) in [("A", exact.adapters[p]!.a, reference.adapters[p]!.a), ("B", exact.adapters[p]!.b, reference.adapters[p]!.b)] {
        let sc = y.scalars.map { abs(Double($0)) }.max()!
        let er = zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max()!
        print("  \(nm)_\(p.rawValue): ref max \(sc) err \(er) fast max \(x.scalars.map { abs(Double($0)) }.max()!)")
      } }
      print("  loss \(exact.loss) \(reference.loss)")
      assertClose(exact, reference, tolerance: tolerance, "L=\(length) D=\(width) H=\(heads) logit \(logit)")
    }
  }

  func testPolynomialRefusesLogitsOfTenThousandAndAutoFallsBackToExact() throws {
    let problem = try problem(length: 64, width: 8, largestLogit: 1e4, seed: 3)
    XCTAssertThrowsError(try problem.gradients(method: .polynomial(tolerance: 1e-3), parallelism: parallelism)) { error in
      guard case .toleranceUnreachable(let reason)? = error as? LoRAGradError else {
        return XCTFail("expected toleranceUnreachable, got \(error)")
      }
      XCTAssertFalse(reason.isEmpty)
    }
    let auto = try problem.gradients(method: .auto(tolerance: 1e-3), parallelism: parallelism)
    XCTAssertEqual(auto.path, "exact")
    XCTAssertEqual(auto.regime?.verdict, "exact")
    assertFinite(auto, "auto")
    let exact = try problem.gradients(method: .exact, parallelism: parallelism)
    XCTAssertEqual(auto.loss, exact.loss, accuracy: 1e-6 * abs(exact.loss))
    XCTAssertLessThanOrEqual(worstRelativeError(auto, exact), 1e-5)
  }

  // MARK: - Smallest shapes

  func testOneAndTwoTokenSequencesOnEveryPath() throws {
    for length in [1, 2] {
      let problem = try AttentionProblem.synthetic(
        sequences: 3, length: length, width: 8, heads: 2, rank: 2, normBound: 1, seed: UInt64(10 + length))
      let reference = try problem.gradients(method: .reference, parallelism: .serial)
      for method in [GradientMethod.exact, .polynomial(tolerance: 1e-3), .auto(tolerance: 1e-3)] {
        let result = try problem.gradients(method: method, parallelism: parallelism)
        assertFinite(result, "L=\(length) \(method.name)")
        // L = 1: softmax over one key is exactly 1, so ∂Q = ∂K = 0 and only V's adapters move.
        let tolerance = method.name == "exact" ? FlashAttention.roundingTolerance(problem) : 5e-3
        assertClose(result, reference, tolerance: tolerance, "L=\(length) \(method.name) path \(result.path)")
      }
      if length == 1 {
        let exact = try problem.gradients(method: .exact, parallelism: parallelism)
        for projection in [Projection.query, .key] {
          XCTAssertTrue(exact.adapters[projection]!.a.scalars.allSatisfy { $0 == 0 }, "L=1 ∂A_\(projection.rawValue)")
          XCTAssertTrue(exact.adapters[projection]!.b.scalars.allSatisfy { $0 == 0 }, "L=1 ∂B_\(projection.rawValue)")
        }
      }
    }
  }

  func testRankOne() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 37, width: 12, heads: 3, rank: 1, normBound: 1, seed: 13)
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    let exact = try problem.gradients(method: .exact, parallelism: parallelism)
    XCTAssertEqual(exact.adapters[.query]?.a.shape, [1, 12])
    XCTAssertEqual(exact.adapters[.query]?.b.shape, [12, 1])
    assertClose(exact, reference, tolerance: FlashAttention.roundingTolerance(problem), "r=1 exact")
    let poly = try problem.gradients(method: .polynomial(tolerance: 1e-3), parallelism: parallelism)
    assertClose(poly, reference, tolerance: 5e-3, "r=1 poly")
  }

  /// H = D: every head is one column wide (h = 1, padded to 16 in the kernels' layout).
  func testHeadWidthOneWithAsManyHeadsAsColumns() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 29, width: 6, heads: 6, rank: 2, normBound: 1, seed: 14)
    XCTAssertEqual(problem.headWidth, 1)
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    let exact = try problem.gradients(method: .exact, parallelism: parallelism)
    assertClose(exact, reference, tolerance: FlashAttention.roundingTolerance(problem), "h=1 exact")
    let poly = try problem.gradients(method: .polynomial(tolerance: 1e-3), parallelism: parallelism)
    XCTAssertEqual(poly.path, "poly")
    assertClose(poly, reference, tolerance: 5e-3, "h=1 poly")
  }

  // MARK: - Degenerate adapters

  /// α = 0 makes the LoRA scale s = α/r zero, and every adapter gradient carries a factor s:
  /// ∂A = s (dμ B)ᵀ X and ∂B = s dμᵀ (X Aᵀ). They must be exactly zero, and the loss that of W*.
  func testAlphaZeroGivesExactlyZeroAdapterGradients() throws {
    let problem = try AttentionProblem.synthetic(
      sequences: 2, length: 40, width: 8, heads: 2, rank: 2, alpha: 0, normBound: 1, seed: 15)
    XCTAssertEqual(problem.loraScale, 0)
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    for method in [GradientMethod.exact, .polynomial(tolerance: 1e-3), .reference] {
      let result = try problem.gradients(method: method, parallelism: parallelism)
      XCTAssertEqual(Set(result.adapters.keys), Set(Projection.allCases), method.name)
      for (projection, pair) in result.adapters {
        XCTAssertTrue(pair.a.scalars.allSatisfy { $0 == 0 }, "\(method.name): ∂A_\(projection.rawValue) ≠ 0")
        XCTAssertTrue(pair.b.scalars.allSatisfy { $0 == 0 }, "\(method.name): ∂B_\(projection.rawValue) ≠ 0")
      }
      XCTAssertEqual(result.loss, reference.loss, accuracy: 5e-3 * reference.loss, method.name)
    }
  }

  /// B = 0 (PEFT's initialisation): W = W*, ∂A = s (dμ B)ᵀ X = 0 exactly, ∂B ≠ 0.
  func testZeroAdaptersMatchTheReference() throws {
    let base = try AttentionProblem.synthetic(sequences: 2, length: 50, width: 16, heads: 2, rank: 4, normBound: 1, seed: 16)
    var adapters = base.adapters
    for projection in Projection.allCases {
      adapters[projection]!.b = Tensor(zeros: [16, 4])
    }
    let problem = try AttentionProblem(
      inputs: base.inputs, targets: base.targets, frozenWeights: base.frozenWeights, adapters: adapters, heads: 2)
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    for method in [GradientMethod.exact, .polynomial(tolerance: 1e-3)] {
      let result = try problem.gradients(method: method, parallelism: parallelism)
      for (projection, pair) in result.adapters {
        XCTAssertTrue(pair.a.scalars.allSatisfy { $0 == 0 }, "\(method.name): ∂A_\(projection.rawValue) ≠ 0 with B = 0")
        XCTAssertTrue(pair.b.scalars.contains { $0 != 0 }, "\(method.name): ∂B_\(projection.rawValue) vanished")
      }
      let tolerance = method.name == "exact" ? FlashAttention.roundingTolerance(problem) : 5e-3
      assertClose(result, reference, tolerance: tolerance, "B = 0 \(method.name)")
    }
  }

  // MARK: - Many short sequences

  func testSixtyFourSequencesOfThreeTokens() throws {
    let problem = try AttentionProblem.synthetic(sequences: 64, length: 3, width: 8, heads: 2, rank: 2, normBound: 1, seed: 17)
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    for parallelism in [Parallelism.serial, .dispatch(threads: 2), .openmp(threads: 2)] {
      let exact = try problem.gradients(method: .exact, parallelism: parallelism)
      assertClose(exact, reference, tolerance: FlashAttention.roundingTolerance(problem), "N=64 L=3 \(parallelism)")
    }
    let poly = try problem.gradients(method: .polynomial(tolerance: 1e-3), parallelism: parallelism)
    assertClose(poly, reference, tolerance: 5e-3, "N=64 L=3 poly")
  }
}

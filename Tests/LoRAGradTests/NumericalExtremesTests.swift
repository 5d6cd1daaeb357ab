@testable import LoRAGrad
import LoRAGradIO
import LoRAGradOpenMP
import XCTest

/// Numerical extremes (issue 5 item 2): huge logits, the smallest shapes, α = 0, zero adapters and
/// many short sequences, each against the Float64 reference.
final class NumericalExtremesTests: XCTestCase {
  private let parallelism = Parallelism.dispatch(threads: 2)

  /// max over sequences, heads and (i, j) of |β q_i·k_j|, computed in Float64 from the effective weights.
  private func largestLogit(_ problem: AttentionProblem) -> Double {
    let n = problem.batchCount, l = problem.sequenceLength, d = problem.modelWidth, h = problem.headWidth
    let wq = problem.layer.effectiveWeight(.query), wk = problem.layer.effectiveWeight(.key)
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
    sequences: Int = 1, length: Int, width: Int, heads: Int = 1, loraRank: Int = 2, largestLogit logit: Double,
    seed: UInt64
  ) throws -> AttentionProblem {
    let unit = try AttentionProblem.synthetic(
      sequences: sequences, length: length, width: width, heads: heads, loraRank: loraRank, seed: seed)
    let scale = (logit / largestLogit(unit)).squareRoot()
    return try AttentionProblem.synthetic(
      sequences: sequences, length: length, width: width, heads: heads, loraRank: loraRank, inputScale: scale, seed: seed)
  }

  private func assertFinite(_ result: Gradients, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(result.loss?.isFinite ?? false, "\(label): loss \(String(describing: result.loss))", file: file, line: line)
    XCTAssertNil(result.input?.firstNonFiniteIndex, "\(label): dX is not finite", file: file, line: line)
    for (projection, pair) in result.adapters {
      for (name, tensor) in [("A", pair.a), ("B", pair.b)] {
        XCTAssertNil(tensor.firstNonFiniteIndex, "\(label): ∂\(name)_\(projection.rawValue) is not finite", file: file, line: line)
      }
    }
  }

  /// max|g̃ − g| over every adapter gradient, relative to the largest |g| over all of them (the
  /// normwise error of the whole gradient, which is what `FlashAttention.roundingTolerance` models).
  private func normwiseError(_ candidate: Gradients, _ reference: Gradients) -> Double {
    var scale = 0.0, error = 0.0
    for (projection, expected) in reference.adapters {
      guard let actual = candidate.adapters[projection] else { return .infinity }
      for (x, y) in [(actual.a, expected.a), (actual.b, expected.b)] {
        scale = max(scale, y.scalars.map { abs(Double($0)) }.max() ?? 0)
        error = max(error, zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0)
      }
    }
    return scale == 0 ? error : error / scale
  }

  /// The tolerance of the exact path at logits up to `logit`: the usual rounding tolerance plus
  /// 2·u·h·max|β q·k|. Each logit is formed in Float32 by an h-term dot product, so it carries an
  /// absolute rounding error up to about u·h·|β q·k| (u = 2⁻²⁴); P = exp(S − lse) turns an absolute
  /// error of S into a relative error of P (and of everything computed from P) of the same size,
  /// once in the forward pass and once when the backward pass recomputes P: hence the factor 2.
  /// At |logit| = 1e4 and h = 8 this is ≈ 1e-2 (measured: up to ≈ 1.6e-3 on 30 seeds and shapes).
  private func largeLogitTolerance(_ problem: AttentionProblem, logit: Double) -> Double {
    RoundingModel.relativeTolerance(problem) + 2 * 0x1p-24 * Double(problem.headWidth) * logit
  }

  // MARK: - Logits up to 1e4

  /// The exact path subtracts the running row maximum before exp, so logits of ±1e4 (far beyond
  /// Float32's exp overflow at 88.7) never overflow, and the whole gradient matches the Float64
  /// reference normwise. The value adapters' gradients (which do not pass through dS) match
  /// entrywise at the ordinary rounding tolerance.
  func testLogitsOfTenThousandStayFiniteAndMatchTheReference() throws {
    for (length, width, heads, seed) in [(48, 8, 1, 1), (70, 16, 2, 2)] as [(Int, Int, Int, UInt64)] {
      let problem = try problem(length: length, width: width, heads: heads, largestLogit: 1e4, seed: seed)
      let logit = largestLogit(problem)
      XCTAssertGreaterThan(logit, 0.9e4)
      let label = "L=\(length) D=\(width) H=\(heads) max|logit| \(logit)"
      let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
      assertFinite(reference, "reference")
      let exact = try problem.gradients(method: .exact, options: ExecutionOptions(parallelism: parallelism))
      assertFinite(exact, "exact \(label)")
      let tolerance = largeLogitTolerance(problem, logit: logit)
      XCTAssertLessThanOrEqual(normwiseError(exact, reference), tolerance, label)
      assertWithinRoundingModel(exact, reference, problem: problem, relative: tolerance, label)
      XCTAssertEqual(exact.loss!, reference.loss!, accuracy: RoundingModel.relativeTolerance(problem) * reference.loss!, label)
      let value = RoundingModel.relativeTolerance(problem)
      XCTAssertLessThanOrEqual(exact.adapters[.value]!.a.maxRelativeDifference(from: reference.adapters[.value]!.a), value, "∂A_v \(label)")
      XCTAssertLessThanOrEqual(exact.adapters[.value]!.b.maxRelativeDifference(from: reference.adapters[.value]!.b), value, "∂B_v \(label)")
    }
  }

  /// With a saturated softmax (logits ~1e4, P one-hot up to e^{-large}) the true ∂Q, ∂K are tiny
  /// (here ≈ 3e-7) because dS = P ∘ (dP − δ) cancels almost exactly, while the Float32 exact path
  /// forms dP and δ by two dot products that round differently: its query gradient is off by the
  /// absolute cancellation floor of the rounding model (`RoundingModel.cancellationFloor`), not
  /// by a relative amount. The test holds the error to that floor, and checks the floor is tight
  /// (within 10⁴ of the observed error: a floor that covers everything would prove nothing).
  func testSaturatedSoftmaxQueryOnlyAdapterGradientStaysWithinTheCancellationFloor() throws {
    for seed in [1, 4, 5] as [UInt64] {
      let base = try problem(length: 48, width: 8, largestLogit: 1e4, seed: seed)
      let problem = try AttentionProblem(
        inputs: base.inputs, targets: base.targets, frozenWeights: base.frozenWeights,
        adapters: [.query: base.adapters[.query]!], heads: 1, alpha: 2)
      let logit = largestLogit(problem)
      let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
      let exact = try problem.gradients(method: .exact, options: ExecutionOptions(parallelism: parallelism))
      assertFinite(exact, "exact")
      let ratio = assertWithinRoundingModel(
        exact, reference, problem: problem, relative: largeLogitTolerance(problem, logit: logit),
        "q only, seed \(seed), max|logit| \(logit)")
      print("saturated q only, seed \(seed): error / (tolerance + floor) = \(ratio)")
      XCTAssertGreaterThan(ratio, 1e-4, "seed \(seed): the floor is far looser than the observed error")
      XCTAssertEqual(exact.loss!, reference.loss!, accuracy: RoundingModel.relativeTolerance(problem) * reference.loss!)
    }
  }

  func testPolynomialRefusesLogitsOfTenThousandAndAutoFallsBackToExact() throws {
    let problem = try problem(length: 64, width: 8, largestLogit: 1e4, seed: 3)
    XCTAssertThrowsError(try problem.gradients(method: .polynomial(tolerance: 1e-3), options: ExecutionOptions(parallelism: parallelism))) { error in
      guard case .toleranceUnreachable(let reason)? = error as? LoRAGradError else {
        return XCTFail("expected toleranceUnreachable, got \(error)")
      }
      XCTAssertFalse(reason.isEmpty)
    }
    let auto = try problem.gradients(method: .auto(tolerance: 1e-3), options: ExecutionOptions(parallelism: parallelism))
    XCTAssertEqual(auto.path, .exact)
    XCTAssertEqual(auto.regime?.verdict, .exact)
    assertFinite(auto, "auto")
    let exact = try problem.gradients(method: .exact, options: ExecutionOptions(parallelism: parallelism))
    assertBitIdentical(auto, exact, "auto falls back to exactly the exact path")
  }

  // MARK: - Smallest shapes

  func testOneAndTwoTokenSequencesOnEveryPath() throws {
    for length in [1, 2] {
      let problem = try AttentionProblem.synthetic(
        sequences: 3, length: length, width: 8, heads: 2, loraRank: 2, normBound: 1, seed: UInt64(10 + length))
      let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
      for method in [AttentionMethod.exact, .polynomial(tolerance: 1e-3), .auto(tolerance: 1e-3)] {
        let result = try problem.gradients(method: method, options: ExecutionOptions(parallelism: parallelism))
        assertFinite(result, "L=\(length) \(method.name)")
        if result.path == .exact {
          // L = 1: softmax over one key is exactly 1, so the true ∂Q = ∂K = 0 and only V's adapters
          // move; the exact path leaves rounding residues there (dP and δ rounded differently),
          // within the cancellation floor of the rounding model.
          assertWithinRoundingModel(result, reference, problem: problem, "L=\(length) \(method.name)")
        } else {
          assertClose(result, reference, tolerance: 5e-3, "L=\(length) \(method.name) path \(result.path)")
        }
      }
      if length == 1 {
        for projection in [Projection.query, .key] {
          XCTAssertTrue(reference.adapters[projection]!.a.scalars.allSatisfy { $0 == 0 }, "reference L=1")
        }
      }
    }
  }

  func testRankOne() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 37, width: 12, heads: 3, loraRank: 1, normBound: 1, seed: 13)
    let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
    let exact = try problem.gradients(method: .exact, options: ExecutionOptions(parallelism: parallelism))
    XCTAssertEqual(exact.adapters[.query]?.a.shape, [1, 12])
    XCTAssertEqual(exact.adapters[.query]?.b.shape, [12, 1])
    assertWithinRoundingModel(exact, reference, problem: problem, "r=1 exact")
    let poly = try problem.gradients(method: .polynomial(tolerance: 1e-3), options: ExecutionOptions(parallelism: parallelism))
    assertClose(poly, reference, tolerance: 5e-3, "r=1 poly")
  }

  /// H = D: every head is one column wide (h = 1, padded to 16 in the kernels' layout).
  func testHeadWidthOneWithAsManyHeadsAsColumns() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 29, width: 6, heads: 6, loraRank: 2, normBound: 1, seed: 14)
    XCTAssertEqual(problem.headWidth, 1)
    let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
    let exact = try problem.gradients(method: .exact, options: ExecutionOptions(parallelism: parallelism))
    assertWithinRoundingModel(exact, reference, problem: problem, "h=1 exact")
    let poly = try problem.gradients(method: .polynomial(tolerance: 1e-3), options: ExecutionOptions(parallelism: parallelism))
    XCTAssertEqual(poly.path, .polynomial)
    assertClose(poly, reference, tolerance: 5e-3, "h=1 poly")
  }

  // MARK: - Degenerate adapters

  /// α = 0 makes the LoRA scale s = α/r zero, and every adapter gradient carries a factor s:
  /// ∂A = s (dμ B)ᵀ X and ∂B = s dμᵀ (X Aᵀ). They must be exactly zero, and the loss that of W*.
  func testAlphaZeroGivesExactlyZeroAdapterGradients() throws {
    let problem = try AttentionProblem.synthetic(
      sequences: 2, length: 40, width: 8, heads: 2, loraRank: 2, alpha: 0, normBound: 1, seed: 15)
    XCTAssertEqual(problem.layer.loraScale, 0)
    let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
    for method in [AttentionMethod.exact, .polynomial(tolerance: 1e-3), .reference] {
      let result = try problem.gradients(method: method, options: ExecutionOptions(parallelism: parallelism))
      XCTAssertEqual(Set(result.adapters.keys), Set(Projection.allCases), method.name)
      for (projection, pair) in result.adapters {
        XCTAssertTrue(pair.a.scalars.allSatisfy { $0 == 0 }, "\(method.name): ∂A_\(projection.rawValue) ≠ 0")
        XCTAssertTrue(pair.b.scalars.allSatisfy { $0 == 0 }, "\(method.name): ∂B_\(projection.rawValue) ≠ 0")
      }
      XCTAssertEqual(result.loss!, reference.loss!, accuracy: 5e-3 * reference.loss!, method.name)
    }
  }

  /// B = 0 (PEFT's initialisation): W = W*, ∂A = s (dμ B)ᵀ X = 0 exactly, ∂B ≠ 0.
  func testZeroAdaptersMatchTheReference() throws {
    let base = try AttentionProblem.synthetic(sequences: 2, length: 50, width: 16, heads: 2, loraRank: 4, normBound: 1, seed: 16)
    var adapters = base.adapters
    for projection in Projection.allCases {
      adapters[projection]!.b = Tensor(zeros: [16, 4])
    }
    let problem = try AttentionProblem(
      inputs: base.inputs, targets: base.targets, frozenWeights: base.frozenWeights, adapters: adapters, heads: 2)
    let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
    for method in [AttentionMethod.exact, .polynomial(tolerance: 1e-3)] {
      let result = try problem.gradients(method: method, options: ExecutionOptions(parallelism: parallelism))
      for (projection, pair) in result.adapters {
        XCTAssertTrue(pair.a.scalars.allSatisfy { $0 == 0 }, "\(method.name): ∂A_\(projection.rawValue) ≠ 0 with B = 0")
        XCTAssertTrue(pair.b.scalars.contains { $0 != 0 }, "\(method.name): ∂B_\(projection.rawValue) vanished")
      }
      if result.path == .exact {
        assertWithinRoundingModel(result, reference, problem: problem, "B = 0 exact")
      } else {
        assertClose(result, reference, tolerance: 5e-3, "B = 0 \(method.name)")
      }
    }
  }

  // MARK: - Many short sequences

  func testSixtyFourSequencesOfThreeTokens() throws {
    let problem = try AttentionProblem.synthetic(sequences: 64, length: 3, width: 8, heads: 2, loraRank: 2, normBound: 1, seed: 17)
    let reference = try problem.gradients(method: .reference, options: ExecutionOptions(parallelism: .serial))
    for parallelism in [Parallelism.serial, .dispatch(threads: 2), .openmp(threads: 2)] {
      let exact = try problem.gradients(method: .exact, options: ExecutionOptions(parallelism: parallelism))
      assertWithinRoundingModel(exact, reference, problem: problem, "N=64 L=3 \(parallelism)")
    }
    let poly = try problem.gradients(method: .polynomial(tolerance: 1e-3), options: ExecutionOptions(parallelism: parallelism))
    assertClose(poly, reference, tolerance: 5e-3, "N=64 L=3 poly")
  }

  // MARK: - Beyond Float32

  /// β and s = α/r must be normal Float32 numbers (the kernels scale in Float32): a β or α that
  /// would round to ±Inf or 0 is refused by name when the problem is built.
  func testScalesBeyondFloat32RangeAreRefusedByName() throws {
    for (argument, beta, alpha) in [("beta", 1e39, nil), ("beta", 1e-50, nil), ("alpha", nil, 1e39)] as [(String, Double?, Double?)] {
      XCTAssertThrowsError(try AttentionProblem.synthetic(length: 20, width: 8, loraRank: 2, alpha: alpha, beta: beta, seed: 1)) { error in
        guard case .invalidArgument(let name, _, _)? = error as? LoRAGradError else { return XCTFail("\(argument): \(error)") }
        XCTAssertEqual(name, argument)
      }
    }
  }

  /// Finite inputs whose products leave Float32's range: an effective weight W* + s·B·A beyond
  /// 3.4e38 is refused when the problem is built; logits that overflow make the polynomial path
  /// refuse (R is not finite) and the exact path (and `auto`, which falls back to it) throw
  /// `outOfRange` instead of returning NaN.
  func testOverflowingProductsThrowTypedErrorsOnEveryPath() throws {
    let base = try AttentionProblem.synthetic(length: 20, width: 8, loraRank: 2, seed: 1)
    var adapters = base.adapters
    adapters[.query]!.a = try Tensor(shape: [2, 8], scalars: [Float](repeating: 1, count: 16))
    adapters[.query]!.b = try Tensor(shape: [8, 2], scalars: [Float](repeating: 3e38, count: 16))
    XCTAssertThrowsError(
      try AttentionProblem(inputs: base.inputs, targets: base.targets, frozenWeights: base.frozenWeights, adapters: adapters, heads: 1)
    ) { error in
      guard case .outOfRange(let quantity, _)? = error as? LoRAGradError else { return XCTFail("\(error)") }
      XCTAssertTrue(quantity.contains("B_q"), quantity)
    }
    // α = 1e20: every weight is finite, but the logits are ~1e40.
    let huge = try AttentionProblem.synthetic(length: 20, width: 8, loraRank: 2, alpha: 1e20, seed: 1)
    for method in [AttentionMethod.exact, .auto(tolerance: 1e-3), .reference] {
      XCTAssertThrowsError(try huge.gradients(method: method, options: ExecutionOptions(parallelism: parallelism)), method.name) { error in
        guard case .outOfRange(_, let reason)? = error as? LoRAGradError else { return XCTFail("\(method.name): \(error)") }
        XCTAssertTrue(reason.contains("Float32"), reason)
      }
    }
    XCTAssertThrowsError(try huge.gradients(method: .polynomial(tolerance: 1e-3), options: ExecutionOptions(parallelism: parallelism))) { error in
      guard case .toleranceUnreachable(let reason)? = error as? LoRAGradError else { return XCTFail("\(error)") }
      XCTAssertTrue(reason.contains("not finite"), reason)
    }
    let regime = try huge.regime(tolerance: 1e-3)
    XCTAssertEqual(regime.verdict, .exact)
  }
}

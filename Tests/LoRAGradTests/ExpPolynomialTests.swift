import Foundation
import LoRAGrad
import XCTest

final class ExpPolynomialTests: XCTestCase {
  /// SPEC §3.1: the smallest degrees at ε = 1e-3 for R = 0.25, 0.5, 1, 2, 4, 8.
  static let bounds = [0.25, 0.5, 1, 2, 4, 8]
  static let minimaxDegrees = [2, 3, 4, 6, 9, 14]
  static let chebyshevDegrees = [2, 3, 5, 7, 11, 20]

  func testSmallestRelativeMinimaxDegreesMatchTheSpec() throws {
    for (R, expected) in zip(Self.bounds, Self.minimaxDegrees) {
      let p = try XCTUnwrap(ExpPolynomial.smallestDegree(bound: R, tolerance: 1e-3), "R = \(R)")
      XCTAssertEqual(p.degree, expected, "R = \(R)")
      assertCertified(p, tolerance: 1e-3)
      // One degree less cannot meet ε at all (its best error is above ε).
      XCTAssertGreaterThan(ExpPolynomial.relativeMinimax(degree: expected - 1, bound: R).relativeError, 1e-3)
    }
  }

  func testSmallestChebyshevDegreesMatchTheSpec() throws {
    for (R, expected) in zip(Self.bounds, Self.chebyshevDegrees) {
      let p = try XCTUnwrap(ExpPolynomial.smallestChebyshevDegree(bound: R, tolerance: 1e-3), "R = \(R)")
      XCTAssertEqual(p.degree, expected, "R = \(R)")
      assertCertified(p, tolerance: 1e-3)
    }
  }

  /// The certificate bounds the observed error from above, and only by a hair.
  func assertCertified(_ p: ExpPolynomial, tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertGreaterThanOrEqual(p.certifiedRelativeError, p.relativeError, file: file, line: line)
    XCTAssertLessThanOrEqual(p.certifiedRelativeError, tolerance, file: file, line: line)
    XCTAssertLessThanOrEqual(p.certifiedRelativeError, 1.05 * p.relativeError, file: file, line: line)
    XCTAssertTrue(p.isCertifiedPositive, file: file, line: line)
    XCTAssertGreaterThan(p.minimumValue, 0, file: file, line: line)
    XCTAssertEqual(p.coefficients.count, p.degree + 1, file: file, line: line)
  }

  /// Best approximation: at every degree the minimax error is at most the interpolant's, it
  /// equioscillates (the levelled error is the max), and the certificate holds off the grid.
  func testMinimaxBeatsChebyshevInterpolationAndHoldsOffTheGrid() {
    for R in [0.5, 2.0, 8.0] {
      for g in [1, 3, 6, 10] {
        let best = ExpPolynomial.relativeMinimax(degree: g, bound: R)
        let baseline = ExpPolynomial.chebyshevInterpolant(degree: g, bound: R)
        if baseline.relativeError < 1e-9 { continue }  // rounding noise: nothing to compare
        XCTAssertLessThanOrEqual(best.relativeError, baseline.relativeError * (1 + 1e-9), "R = \(R), g = \(g)")
        XCTAssertGreaterThanOrEqual(best.certifiedRelativeError, best.relativeError)
        XCTAssertLessThanOrEqual(best.certifiedRelativeError, 1.05 * best.relativeError)
        // Off-grid points (irrational spacing) never exceed the certificate.
        var worst = 0.0
        for k in 0..<997 {
          let x = R * (2 * (Double(k) * 0.618_033_988_749_895).truncatingRemainder(dividingBy: 1) - 1)
          worst = max(worst, abs(best(x) * exp(-x) - 1))
        }
        XCTAssertLessThanOrEqual(worst, best.certifiedRelativeError)
        // Equioscillation: the error reaches its maximum at both ends, with opposite signs iff the
        // alternation count g + 2 is even.
        let left = best(-R) * exp(R) - 1, right = best(R) * exp(-R) - 1
        XCTAssertEqual(abs(left), best.relativeError, accuracy: 1e-6 * best.relativeError)
        XCTAssertEqual(abs(right), best.relativeError, accuracy: 1e-6 * best.relativeError)
        XCTAssertEqual(left * right < 0, g % 2 == 0, "R = \(R), g = \(g)")
      }
    }
  }

  func testErrorDecreasesWithDegree() {
    for R in [0.25, 4.0] {
      var previous = Double.infinity
      for g in 0...10 {
        let error = ExpPolynomial.relativeMinimax(degree: g, bound: R).relativeError
        if previous > 1e-13 { XCTAssertLessThan(error, previous, "R = \(R), g = \(g)") }
        previous = error
      }
    }
  }

  /// The monomial coefficients c_t and the Chebyshev coefficients a_j describe the same p.
  func testMonomialAndChebyshevFormsAgree() {
    for (R, g) in [(0.25, 2), (1.0, 4), (2.0, 6), (4.0, 9), (8.0, 14), (8.0, 24), (1e-3, 8)] {
      let p = ExpPolynomial.relativeMinimax(degree: g, bound: R)
      for k in 0...200 {
        let x = R * (Double(k) / 100 - 1)
        let monomial = p(x), chebyshev = clenshaw(p.chebyshevCoefficients, x / R)
        // Relative to |p(x)| ≈ eˣ where that is not dwarfed by the cancellation Σ|c_t||x|ᵗ ≈ e^{|x|}.
        let scale = zip(p.coefficients.indices, p.coefficients).reduce(0) { $0 + abs($1.1) * pow(abs(x), Double($1.0)) }
        XCTAssertLessThanOrEqual(abs(monomial - chebyshev), 1e-12 * scale, "R = \(R), g = \(g), x = \(x)")
        if R <= 2 {
          XCTAssertLessThanOrEqual(abs(monomial - chebyshev), 1e-12 * abs(chebyshev), "R = \(R), g = \(g), x = \(x)")
        }
      }
    }
  }

  func clenshaw(_ a: [Double], _ u: Double) -> Double {
    var next = 0.0, afterNext = 0.0
    for j in stride(from: a.count - 1, through: 1, by: -1) {
      (next, afterNext) = (a[j] + 2 * u * next - afterNext, next)
    }
    return a[0] + u * next - afterNext
  }

  func testTinyAndZeroBounds() throws {
    // R = 0: the constant 1, exact.
    let zero = try XCTUnwrap(ExpPolynomial.smallestDegree(bound: 0, tolerance: 1e-3))
    XCTAssertEqual(zero.degree, 0)
    XCTAssertEqual(zero.coefficients, [1])
    XCTAssertEqual(zero.certifiedRelativeError, 0)
    XCTAssertEqual(ExpPolynomial.relativeMinimax(degree: 3, bound: 0).coefficients, [1, 0, 0, 0])
    // Tiny R: the best constant 1/cosh R has error tanh R ≈ R, so degree 0 suffices for R ≤ ε.
    let tiny = try XCTUnwrap(ExpPolynomial.smallestDegree(bound: 1e-6, tolerance: 1e-3))
    XCTAssertEqual(tiny.degree, 0)
    XCTAssertEqual(tiny.relativeError, tanh(1e-6), accuracy: 1e-12)
    assertCertified(tiny, tolerance: 1e-3)
    let linear = try XCTUnwrap(ExpPolynomial.smallestDegree(bound: 0.01, tolerance: 1e-3))
    XCTAssertEqual(linear.degree, 1)
    // High degrees on a tiny interval stay finite: the error is rounding noise, still certified.
    for g in [2, 4, 24] {
      let p = ExpPolynomial.relativeMinimax(degree: g, bound: 1e-6)
      XCTAssertTrue(p.coefficients.allSatisfy(\.isFinite))
      XCTAssertLessThan(p.certifiedRelativeError, 1e-13, "g = \(g)")
      XCTAssertGreaterThanOrEqual(p.certifiedRelativeError, p.relativeError)
    }
    XCTAssertEqual(ExpPolynomial.chebyshevInterpolant(degree: 2, bound: 1e-6).degree, 2)
  }

  func testLargeBoundsStayFiniteAndHonest() {
    // R = 16: the levelled error on the Chebyshev extrema drowns in rounding at x = −R, and the
    // single-point exchange takes over; the minimax error is ~0.32 (interpolation: ~1e9).
    let sixteen = ExpPolynomial.relativeMinimax(degree: 16, bound: 16)
    XCTAssertLessThan(sixteen.relativeError, 0.4)
    XCTAssertGreaterThan(ExpPolynomial.chebyshevInterpolant(degree: 16, bound: 16).relativeError, 1e6)
    // R = 20 at degree 24: far from ε = 1e-3, and rounding at x = −R is certified honestly.
    let p = ExpPolynomial.relativeMinimax(degree: 24, bound: 20)
    XCTAssertGreaterThanOrEqual(p.certifiedRelativeError, p.relativeError)
    XCTAssertNil(ExpPolynomial.smallestDegree(bound: 20, tolerance: 1e-3, maxDegree: 24))
  }

  func testInvalidInputsDoNotTrap() {
    for tolerance in [0, 1, -1, 2, .nan, .infinity] {
      XCTAssertNil(ExpPolynomial.smallestDegree(bound: 1, tolerance: tolerance))
      XCTAssertNil(ExpPolynomial.smallestChebyshevDegree(bound: 1, tolerance: tolerance))
    }
    for bound in [-1, .nan, .infinity, -.infinity, 1e3] {
      XCTAssertNil(ExpPolynomial.smallestDegree(bound: bound, tolerance: 1e-3))
      XCTAssertNil(ExpPolynomial.smallestChebyshevDegree(bound: bound, tolerance: 1e-3))
    }
    XCTAssertNil(ExpPolynomial.smallestDegree(bound: 1, tolerance: 1e-3, maxDegree: -1))
    XCTAssertNil(ExpPolynomial.smallestDegree(bound: 8, tolerance: 1e-3, maxDegree: 5))
    // The total constructors clamp: negative degree → 0, bad bound → 0 (the constant 1).
    XCTAssertEqual(ExpPolynomial.relativeMinimax(degree: -3, bound: 1).degree, 0)
    XCTAssertEqual(ExpPolynomial.relativeMinimax(degree: 2, bound: .nan).coefficients, [1, 0, 0])
    XCTAssertEqual(ExpPolynomial.chebyshevInterpolant(degree: 2, bound: -5).bound, 0)
    XCTAssertEqual(ExpPolynomial.relativeMinimax(degree: 1_000, bound: 1).degree, ExpPolynomial.maximumDegree)
    XCTAssertEqual(ExpPolynomial.relativeMinimax(degree: 2, bound: .infinity).bound, ExpPolynomial.maximumBound)
  }
}

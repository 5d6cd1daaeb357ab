import Foundation

/// A polynomial p(x) = Σ_{t=0..g} c_t xᵗ with p(x) ≈ eˣ in relative error on [−R, R]: the
/// low-degree approximation of exp at the heart of the polynomial method (Alman & Song, "Fast
/// attention requires bounded entries"; Aggarwal & Alman, the backward pass), which turns
/// exp(⟨q, k⟩) into φ(q)ᵀψ(k) of rank C(h + g, g). The error is relative,
/// max_{|x|≤R} |p(x)e^{−x} − 1| ≤ ε, so that every entry of exp(S) is known to a factor 1 ± ε,
/// which survives the row normalisation of softmax.
public struct ExpPolynomial: Sendable, Equatable {
  /// The monomial coefficients c_0 … c_g, so that p(x) = Σ_t c_t xᵗ.
  public let coefficients: [Double]
  /// The same p in the Chebyshev basis of the interval: p(x) = Σ_j a_j T_j(x/R) (for R = 0, [1]
  /// followed by zeros).
  public let chebyshevCoefficients: [Double]
  /// The degree g (coefficients below rounding level are exact zeros, so the top ones may be 0).
  public let degree: Int
  /// The half-width R of the interval [−R, R] the error is certified on.
  public let bound: Double
  /// The observed max of |p(x)e^{−x} − 1| over 20 481 equispaced points of [−R, R].
  public let relativeError: Double
  /// A rigorous bound on sup_{|x|≤R} |p(x)e^{−x} − 1| (grid values plus a per-cell Lipschitz bound
  /// on (p'(x) − p(x))e^{−x}, floating-point rounding included); +∞ if it could not be bounded.
  public let certifiedRelativeError: Double
  /// min over the same grid of p(x).
  public let minimumValue: Double

  /// The largest degree any constructor builds; larger requests are clamped to it.
  public static let maximumDegree = 48
  /// The largest half-width R any constructor accepts; larger (or infinite) bounds are clamped to
  /// it, and `smallestDegree` returns nil for them. (Evaluating p in Float64 loses ~e^{2R}·u at
  /// x = −R, so no polynomial certifies ε = 1e-3 beyond R ≈ 13 anyway.)
  public static let maximumBound = 64.0

  /// p(x) by Horner's rule in the monomial basis.
  public func callAsFunction(_ x: Double) -> Double {
    RelativeErrorCertificate.horner(coefficients, x)
  }

  /// Whether p > 0 on all of [−R, R], certified: p(x)e^{−x} ≥ 1 − certifiedRelativeError > 0.
  public var isCertifiedPositive: Bool {
    certifiedRelativeError < 1 && minimumValue > 0
  }

  /// The relative-minimax polynomial of degree g on [−R, R], the unique minimiser of
  /// max_{|x|≤R} |p(x)e^{−x} − 1| over deg p ≤ g (weighted Chebyshev alternation theorem), by the
  /// Remez exchange in the Chebyshev basis started from the Chebyshev interpolant. Never traps:
  /// a negative degree is taken as 0 and one above `maximumDegree` as `maximumDegree`; a NaN,
  /// negative or zero bound gives the constant 1 on R = 0, and one above `maximumBound` (or +∞)
  /// is clamped to `maximumBound`.
  public static func relativeMinimax(degree: Int, bound: Double) -> ExpPolynomial {
    let g = clampedDegree(degree), R = clampedBound(bound)
    guard R > 0 else { return constantOne(degree: g) }
    let fit = RelativeRemez.fit(degree: g, bound: R)
    return ExpPolynomial(chebyshev: fit.coefficients, bound: R)
  }

  /// The degree-g interpolant of eˣ at the g + 1 Chebyshev points of the first kind on [−R, R]:
  /// near-best in absolute error, the baseline the relative-minimax fit is compared against.
  /// Inputs are clamped as in `relativeMinimax`.
  public static func chebyshevInterpolant(degree: Int, bound: Double) -> ExpPolynomial {
    let g = clampedDegree(degree), R = clampedBound(bound)
    guard R > 0 else { return constantOne(degree: g) }
    return ExpPolynomial(chebyshev: ChebyshevSeries.interpolate(degree: g) { exp(R * $0) }, bound: R)
  }

  /// The relative-minimax polynomial of the lowest degree g ≤ maxDegree whose certified error is
  /// ≤ ε and which is positive on [−R, R] (p replaces entries of exp(S) that are normalised row-
  /// wise); nil if there is none, or if R is NaN, negative or above `maximumBound`, ε is not in
  /// (0, 1), or maxDegree < 0 (maxDegree above `maximumDegree` is clamped). Degrees whose levelled
  /// Remez error already exceeds ε are skipped without certifying: by de la Vallée Poussin's
  /// theorem no polynomial of that degree can do better.
  public static func smallestDegree(bound: Double, tolerance: Double, maxDegree: Int = maximumDegree) -> ExpPolynomial? {
    smallest(bound: bound, tolerance: tolerance, maxDegree: maxDegree) { g, R in
      let fit = RelativeRemez.fit(degree: g, bound: R)
      return fit.levelledError > tolerance ? nil : fit.coefficients
    }
  }

  /// The relative-minimax polynomial of the lowest degree g ≤ maxDegree that is positive on
  /// [−R, R], certified to ε_p ≤ `tolerance`, and that `accept` takes (the caller's full error
  /// bound, of which the polynomial's is one term); nil if there is none.
  public static func smallestDegree(
    bound: Double, tolerance: Double, maxDegree: Int = maximumDegree, accepting accept: (ExpPolynomial) -> Bool
  ) -> ExpPolynomial? {
    smallest(bound: bound, tolerance: tolerance, maxDegree: maxDegree, accept: accept) { g, R in
      let fit = RelativeRemez.fit(degree: g, bound: R)
      return fit.levelledError > tolerance ? nil : fit.coefficients
    }
  }

  /// The Chebyshev interpolant of the lowest degree g ≤ maxDegree whose certified relative error
  /// is ≤ ε and which is positive on [−R, R]; nil as in `smallestDegree`. The baseline: it needs a
  /// higher degree than the relative-minimax fit as R grows.
  public static func smallestChebyshevDegree(bound: Double, tolerance: Double, maxDegree: Int = maximumDegree) -> ExpPolynomial? {
    smallest(bound: bound, tolerance: tolerance, maxDegree: maxDegree) { g, R in
      ChebyshevSeries.interpolate(degree: g) { exp(R * $0) }
    }
  }

  // MARK: - Construction

  /// The lowest degree whose candidate (Chebyshev coefficients in x/R, or nil to skip) certifies.
  private static func smallest(
    bound R: Double, tolerance: Double, maxDegree: Int, accept: (ExpPolynomial) -> Bool = { _ in true },
    candidate: (Int, Double) -> [Double]?
  ) -> ExpPolynomial? {
    guard R >= 0, R <= maximumBound, tolerance > 0, tolerance < 1, maxDegree >= 0 else { return nil }
    if R == 0 { return accept(constantOne(degree: 0)) ? constantOne(degree: 0) : nil }
    for g in 0...min(maxDegree, maximumDegree) {
      guard let a = candidate(g, R),
        let polynomial = ExpPolynomial(chebyshev: a, bound: R, abandonAbove: tolerance),
        polynomial.certifiedRelativeError <= tolerance, polynomial.isCertifiedPositive, accept(polynomial)
      else { continue }
      return polynomial
    }
    return nil
  }

  /// p from its Chebyshev coefficients in u = x/R (R > 0), certified; nil if the observed error
  /// exceeds `abandonAbove` (then certifying would be wasted).
  private init?(chebyshev a: [Double], bound R: Double, abandonAbove limit: Double) {
    let (series, c) = Self.monomials(chebyshev: a, bound: R)
    guard c.allSatisfy(\.isFinite),
      let certificate = RelativeErrorCertificate.certify(coefficients: c, bound: R, abandonAbove: limit)
    else { return nil }
    self.init(series: series, coefficients: c, bound: R, certificate: certificate)
  }

  /// p from its Chebyshev coefficients in u = x/R (R > 0), certified whatever its error (+∞ if it
  /// cannot be bounded).
  private init(chebyshev a: [Double], bound R: Double) {
    let (series, c) = Self.monomials(chebyshev: a, bound: R)
    let unbounded = RelativeErrorCertificate(observed: .infinity, certified: .infinity, minimumValue: .nan)
    let certificate =
      c.allSatisfy(\.isFinite) ? RelativeErrorCertificate.certify(coefficients: c, bound: R) ?? unbounded : unbounded
    self.init(series: series, coefficients: c, bound: R, certificate: certificate)
  }

  private init(series: [Double], coefficients c: [Double], bound R: Double, certificate: RelativeErrorCertificate) {
    coefficients = c
    chebyshevCoefficients = series
    degree = series.count - 1
    bound = R
    relativeError = certificate.observed
    certifiedRelativeError = certificate.certified
    minimumValue = certificate.minimumValue
  }

  /// The series with its noise dropped and the monomial coefficients of p in x: the b_t of the
  /// series in u, then c_t = b_t / Rᵗ (b_t = 0 stays 0). A b_t/Rᵗ can only overflow for tiny R,
  /// where b_t is noise: the smallest remaining Chebyshev term is dropped until none does (what
  /// is certified is whatever p is returned).
  private static func monomials(chebyshev a: [Double], bound R: Double) -> ([Double], [Double]) {
    var series = ChebyshevSeries.droppingNoise(a)
    var c = monomials(series, bound: R)
    while !c.allSatisfy(\.isFinite),
      let j = series.indices.dropFirst().filter({ series[$0] != 0 })
        .min(by: { abs(series[$0]) < abs(series[$1]) })
    {
      series[j] = 0
      c = monomials(series, bound: R)
    }
    return (series, c)
  }

  /// The monomial coefficients in x of Σ_j a_j T_j(x/R): c_t = b_t / Rᵗ for the b_t in u.
  private static func monomials(_ a: [Double], bound R: Double) -> [Double] {
    ChebyshevSeries.monomialCoefficients(a).enumerated().map { t, b in b == 0 ? 0 : b / pow(R, Double(t)) }
  }

  /// The constant 1 (exact on R = 0), padded with zeros to degree g.
  private init(constantOneOfDegree g: Int) {
    var one = [Double](repeating: 0, count: g + 1)
    one[0] = 1
    coefficients = one
    chebyshevCoefficients = one
    degree = g
    bound = 0
    relativeError = 0
    certifiedRelativeError = 0
    minimumValue = 1
  }

  private static func constantOne(degree g: Int) -> ExpPolynomial {
    ExpPolynomial(constantOneOfDegree: g)
  }

  private static func clampedDegree(_ g: Int) -> Int {
    min(max(g, 0), maximumDegree)
  }

  /// NaN and R ≤ 0 → 0; R > maximumBound (or +∞) → maximumBound.
  private static func clampedBound(_ R: Double) -> Double {
    guard R > 0 else { return 0 }
    return min(R, maximumBound)
  }
}

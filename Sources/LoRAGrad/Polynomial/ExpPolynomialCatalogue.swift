import Foundation

/// Relative-minimax polynomials for exp on a geometric grid of interval half-widths
/// R_s = 2^{s/16} (4.4% apart), so that blocks with nearby norm bounds share one fit: a block with bound R
/// uses the fit for the smallest grid point ≥ R, valid on the smaller interval too.
final class ExpPolynomialCatalogue {
  /// ε for every fit.
  let tolerance: Double
  /// The highest degree considered.
  let maxDegree: Int
  private var fits: [Int: ExpPolynomial?] = [:]

  /// An empty catalogue for one tolerance.
  init(tolerance: Double, maxDegree: Int) {
    self.tolerance = tolerance
    self.maxDegree = maxDegree
  }

  /// The grid index whose half-width 2^{s/16} is the smallest ≥ R (R > 0).
  static func gridIndex(covering bound: Double) -> Int {
    Int((16 * log2(bound) - 1e-12).rounded(.up))
  }

  /// The lowest-degree fit meeting ε on [−R', R'] for the grid point R' ≥ R, or nil if none ≤ maxDegree.
  func polynomial(covering bound: Double) -> ExpPolynomial? {
    guard bound.isFinite else { return nil }
    let index = bound > 0 ? max(Self.gridIndex(covering: bound), -256) : -256
    if let cached = fits[index] { return cached }
    let halfWidth = pow(2, Double(index) / 16)
    let fit = ExpPolynomial.smallestDegree(bound: halfWidth, tolerance: tolerance, maxDegree: maxDegree)
    fits[index] = fit
    return fit
  }
}

import Foundation

/// Relative-minimax polynomials for exp on a geometric grid of interval half-widths
/// R_s = 2^{s/16} (4.4% apart), so that blocks with nearby norm bounds share one fit: a block with
/// bound R uses the fit for the smallest grid point R' ≥ R (compared exactly, so the interval
/// always covers R), valid on the smaller interval too. The fit is the lowest degree that the
/// catalogue's acceptance (the full error bound at R') takes.
final class ExpPolynomialCatalogue {
  /// The polynomial's own tolerance: no fit whose certified error exceeds it is considered.
  let tolerance: Double
  /// The highest degree considered.
  let maxDegree: Int
  /// Whether a fit for half-width R' is good enough (the caller's whole bound).
  private let accept: (ExpPolynomial, Double) -> Bool
  private var fits: [Int: ExpPolynomial?] = [:]

  /// An empty catalogue: fits certified to `tolerance`, of degree ≤ maxDegree, taken by `accept`.
  init(tolerance: Double, maxDegree: Int, accepting accept: @escaping (ExpPolynomial, Double) -> Bool = { _, _ in true }) {
    self.tolerance = tolerance
    self.maxDegree = maxDegree
    self.accept = accept
  }

  /// The grid index s of the smallest 2^{s/16} ≥ R (R > 0), checked against the computed power.
  static func gridIndex(covering bound: Double) -> Int {
    var index = Int((16 * log2(bound)).rounded(.up))
    while halfWidth(index) < bound { index += 1 }
    while index > -1024, halfWidth(index - 1) >= bound { index -= 1 }
    return index
  }

  /// 2^{s/16}.
  static func halfWidth(_ index: Int) -> Double { pow(2, Double(index) / 16) }

  /// The grid half-width R' ≥ R the fit for R is made on.
  static func coveringHalfWidth(_ bound: Double) -> Double {
    bound > 0 ? halfWidth(max(gridIndex(covering: bound), -256)) : halfWidth(-256)
  }

  /// The lowest-degree accepted fit on [−R', R'] for the grid point R' ≥ R, or nil if none ≤ maxDegree.
  func polynomial(covering bound: Double) -> ExpPolynomial? {
    guard bound.isFinite else { return nil }
    let index = bound > 0 ? max(Self.gridIndex(covering: bound), -256) : -256
    if let cached = fits[index] { return cached }
    let halfWidth = Self.halfWidth(index)
    let fit = ExpPolynomial.smallestDegree(bound: halfWidth, tolerance: tolerance, maxDegree: maxDegree) { accept($0, halfWidth) }
    fits[index] = fit
    return fit
  }
}

import Foundation

/// A rigorous upper bound on sup_{|x|≤R} |p(x)e^{−x} − 1| for a polynomial in the monomial basis,
/// from a uniform grid plus a Lipschitz bound on each cell, with the floating-point rounding of
/// every evaluation bounded too (so the bound holds for the exact p, not just its rounded values).
///
/// On a cell [a, b] with |e'| ≤ L, sup |e| ≤ (|e(a)| + |e(b)| + L(b − a))/2. Here
/// e'(x) = (p'(x) − p(x))e^{−x}, and L is bounded per block of cells [A, B] (midpoint m, half-width
/// ρ) by e^{−A}·Σ_k |d_k|ρ^k, where d_k are the Taylor coefficients of p' − p at m. A global bound
/// such as (Σ|c_t|tR^{t−1} + Σ|c_t|Rᵗ)e^R would be ~e^{2R} times too large (the monomial sum
/// cancels from ~e^R down to ~e^{−R} at x = −R): millions of grid points already at R = 2.
struct RelativeErrorCertificate: Sendable, Equatable {
  /// max over the grid of the computed |p(x)e^{−x} − 1|.
  var observed: Double
  /// The certified bound on the whole interval (+∞ if anything overflowed).
  var certified: Double
  /// min over the grid of the computed p(x).
  var minimumValue: Double

  /// Grid cells on [−R, R]: 20 480 cells, 20 481 points.
  static let cells = 20_480
  /// Cells per block sharing one Lipschitz bound.
  static let cellsPerBlock = 8

  /// The unit roundoff u = 2⁻⁵³.
  static let unitRoundoff = Double.ulpOfOne / 2

  /// p(x) = Σ c_t xᵗ by Horner's rule.
  static func horner(_ c: [Double], _ x: Double) -> Double {
    c.withUnsafeBufferPointer { horner($0, x) }
  }

  /// Horner's rule on raw storage (the certificate's inner loop, fast in debug builds too).
  static func horner(_ c: UnsafeBufferPointer<Double>, _ x: Double) -> Double {
    var value = 0.0
    var t = c.count - 1
    while t >= 0 {
      value = value * x + c[t]
      t -= 1
    }
    return value
  }

  /// max |p(x)e^{−x} − 1| over a coarse grid of 1 025 points: a lower bound on the fine grid's
  /// value (its points are among the fine grid's), so a candidate failing it can be skipped.
  static func coarseObservedError(coefficients c: [Double], bound R: Double) -> Double {
    c.withUnsafeBufferPointer { c in
      var observed = 0.0
      for i in stride(from: 0, through: cells, by: cells / 1024) {
        let x = gridPoint(i, R)
        let error = abs(horner(c, x) * exp(-x) - 1)
        observed = error.isNaN ? .infinity : max(observed, error)
      }
      return observed
    }
  }

  /// Certifies p on [−R, R]; returns nil without certifying if the observed grid error already
  /// exceeds `abandonAbove` (the certificate could only be larger).
  static func certify(
    coefficients c: [Double], bound R: Double, abandonAbove limit: Double = .infinity
  ) -> RelativeErrorCertificate? {
    let u = unitRoundoff
    let g = max(c.count - 1, 0)
    if R == 0 {
      let error = abs(horner(c, 0) - 1)
      let slack = 2 * u * (abs(horner(c, 0)) + 1)
      return error > limit ? nil : .init(observed: error, certified: error + slack, minimumValue: horner(c, 0))
    }
    if limit.isFinite && coarseObservedError(coefficients: c, bound: R) > limit { return nil }
    let n = cells
    let absolute = c.map(abs)
    let hornerFactor = Double(2 * g + 4) * u * 1.01
    // Pass 1: the computed error and its rounding bound at every grid point.
    var bounded = [Double](repeating: 0, count: n + 1)
    var observed = 0.0, minimumValue = Double.infinity, finite = true
    c.withUnsafeBufferPointer { c in
      absolute.withUnsafeBufferPointer { absolute in
        bounded.withUnsafeMutableBufferPointer { bounded in
          for i in 0...n {
            let x = gridPoint(i, R)
            let value = horner(c, x), weight = exp(-x)
            let error = value * weight - 1
            let majorant = horner(absolute, abs(x))
            let rounding = hornerFactor * majorant * weight + 4 * u * (abs(value * weight) + 1)
            if !error.isFinite || !rounding.isFinite { finite = false }
            observed = max(observed, abs(error))
            minimumValue = min(minimumValue, value)
            bounded[i] = abs(error) + rounding
          }
        }
      }
    }
    guard finite else {
      return limit.isFinite ? nil : .init(observed: .infinity, certified: .infinity, minimumValue: .nan)
    }
    if observed > limit { return nil }
    // Pass 2: per block a Lipschitz bound, per cell the bound between its two grid points.
    var certified = observed
    var shift = [Double](repeating: 0, count: g + 2), shiftMajorant = shift
    let taylorFactor = Double(2 * g + 6) * u * 1.01
    var block = 0
    while block * cellsPerBlock < n {
      let first = block * cellsPerBlock, last = min(first + cellsPerBlock, n)
      let lower = gridPoint(first, R), upper = gridPoint(last, R)
      let middle = (lower + upper) / 2
      let radius = max(middle - lower, upper - middle) * (1 + 4 * u)
      taylorShift(c, at: middle, into: &shift)
      taylorShift(absolute, at: abs(middle), into: &shiftMajorant)
      // |p' − p| on the block ≤ Σ_k |d_k|ρ^k, d_k = (k+1)a_{k+1} − a_k, with rounding allowance.
      var derivativeBound = 0.0, power = 1.0
      for k in 0...g {
        let d = Double(k + 1) * shift[k + 1] - shift[k]
        let dMajorant = Double(k + 1) * shiftMajorant[k + 1] + shiftMajorant[k]
        derivativeBound += (abs(d) + taylorFactor * dMajorant) * power
        power *= radius
      }
      let lipschitz = derivativeBound * exp(-lower) * (1 + 16 * u)
      for i in first..<last {
        let width = (gridPoint(i + 1, R) - gridPoint(i, R)) * (1 + 4 * u)
        let cell = max(bounded[i], bounded[i + 1], (bounded[i] + bounded[i + 1] + lipschitz * width) / 2)
        certified = max(certified, cell)
      }
      block += 1
    }
    certified *= 1 + 64 * u
    if !certified.isFinite { certified = .infinity }
    return .init(observed: observed, certified: certified, minimumValue: minimumValue)
  }

  /// Grid point i of n cells on [−R, R], hitting ±R exactly.
  static func gridPoint(_ i: Int, _ R: Double) -> Double {
    R * (Double(2 * i - cells) / Double(cells))
  }

  /// The Taylor coefficients a_k = p^{(k)}(m)/k! of p at m (repeated synthetic division), into
  /// `result[0…g]`; `result[g+1]` is set to 0.
  static func taylorShift(_ c: [Double], at m: Double, into result: inout [Double]) {
    let g = c.count - 1
    for t in 0...g { result[t] = c[t] }
    result[g + 1] = 0
    guard g >= 1 else { return }
    result.withUnsafeMutableBufferPointer { a in
      for k in 0..<g {
        var j = g - 1
        while j >= k {
          a[j] += m * a[j + 1]
          j -= 1
        }
      }
    }
  }
}

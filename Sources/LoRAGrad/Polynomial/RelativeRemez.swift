import Foundation

/// The Remez exchange algorithm for the weighted minimax problem of the polynomial method,
/// min over deg p ≤ g of max_{|u|≤1} |p(u)·e^{−Ru} − 1|: the best approximation of e^{Ru} in
/// relative error (weight 1/e^{Ru}), in the Chebyshev basis of u = x/R. By the weighted
/// Chebyshev alternation theorem it is the unique p whose weighted error takes its maximum with
/// alternating signs at g + 2 points; each step solves for the polynomial that levels the error
/// on the current reference and moves the reference to the extrema of that error.
enum RelativeRemez {
  /// The result of the exchange: Chebyshev coefficients of p in u, the levelled error |E| of the
  /// last reference (a lower bound on the best error, by de la Vallée Poussin) and the largest
  /// weighted error observed on the search grid (an upper estimate of it).
  struct Fit {
    var coefficients: [Double]
    var levelledError: Double
    var observedError: Double
  }

  /// The most exchange steps; the exchange converges quadratically, in well under 10 steps here.
  static let maximumIterations = 30
  /// Stop once the observed and levelled errors agree to this relative gap.
  static let convergenceGap = 1e-9

  /// The relative-minimax fit of degree g on u ∈ [−1, 1] to e^{Ru} (R > 0, finite).
  static func fit(degree g: Int, bound R: Double) -> Fit {
    let weightedError = { (a: [Double], u: Double) -> Double in
      ChebyshevSeries.evaluate(a, at: u) * exp(-R * u) - 1
    }
    // Start from the Chebyshev interpolant: near-best already, and the fallback if an exchange
    // step ever fails (a singular system or an error that no longer alternates g + 2 times).
    let start = ChebyshevSeries.interpolate(degree: g) { exp(R * $0) }
    let grid = searchGrid(degree: g)
    let startObserved = grid.map { abs(weightedError(start, $0)) }.max() ?? 0
    var best = Fit(coefficients: start, levelledError: 0, observedError: startObserved)
    // Below ~100 ulp the error is rounding noise and there is nothing left to level.
    if startObserved <= 128 * Double.ulpOfOne { return best }

    var reference = ChebyshevSeries.extremaOfNextDegree(degree: g)
    for _ in 0..<maximumIterations {
      guard let (a, levelled) = levelledSolution(reference: reference, degree: g, bound: R) else { break }
      guard let (next, observed) = exchange(
        reference: reference, grid: grid, count: g + 2, error: { weightedError(a, $0) })
      else { break }
      if observed < best.observedError {
        best = Fit(coefficients: a, levelledError: abs(levelled), observedError: observed)
      }
      if observed - abs(levelled) <= convergenceGap * observed { break }
      reference = next
    }
    return best
  }

  /// The search grid for the extrema: u_k = −cos(πk/M), k = 0…M, dense where the extrema
  /// cluster (near ±1, like the Chebyshev points), with about 48 points per oscillation.
  static func searchGrid(degree g: Int) -> [Double] {
    let m = max(256, 48 * (g + 2))
    return (0...m).map { k in k == 0 ? -1 : k == m ? 1 : -cos(Double.pi * Double(k) / Double(m)) }
  }

  /// Solves Σ_j a_j T_j(u_i) + (−1)^i E·e^{Ru_i} = e^{Ru_i}, i = 0…g+1, i.e.
  /// p(u_i)e^{−Ru_i} − 1 = −(−1)^i E: the polynomial that levels the weighted error on the
  /// reference. Returns nil if the system is singular or the solution is not finite.
  static func levelledSolution(reference: [Double], degree g: Int, bound R: Double) -> ([Double], Double)? {
    let n = g + 2
    var matrix = [Double](repeating: 0, count: n * n)
    var rhs = [Double](repeating: 0, count: n)
    for (i, u) in reference.enumerated() {
      var previous = 1.0, current = u
      for j in 0...g {
        let value: Double
        if j == 0 {
          value = 1
        } else if j == 1 {
          value = u
        } else {
          value = 2 * u * current - previous
          previous = current
          current = value
        }
        matrix[i * n + j] = value
      }
      let f = exp(R * u)
      matrix[i * n + g + 1] = (i % 2 == 0 ? 1 : -1) * f
      rhs[i] = f
    }
    guard let solution = solveWithPartialPivoting(&matrix, &rhs, size: n),
      solution.allSatisfy({ $0.isFinite })
    else { return nil }
    return (Array(solution[0...g]), solution[g + 1])
  }

  /// Gaussian elimination with partial pivoting on a dense row-major n×n system (n = g + 2 is
  /// small); nil if a pivot vanishes.
  static func solveWithPartialPivoting(_ a: inout [Double], _ b: inout [Double], size n: Int) -> [Double]? {
    for column in 0..<n {
      var pivot = column
      for row in (column + 1)..<max(n, column + 1) where abs(a[row * n + column]) > abs(a[pivot * n + column]) {
        pivot = row
      }
      guard a[pivot * n + column] != 0, a[pivot * n + column].isFinite else { return nil }
      if pivot != column {
        for j in 0..<n { a.swapAt(pivot * n + j, column * n + j) }
        b.swapAt(pivot, column)
      }
      let diagonal = a[column * n + column]
      for row in (column + 1)..<max(n, column + 1) {
        let factor = a[row * n + column] / diagonal
        if factor == 0 { continue }
        for j in column..<n { a[row * n + j] -= factor * a[column * n + j] }
        b[row] -= factor * b[column]
      }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
      var sum = b[row]
      for j in (row + 1)..<max(n, row + 1) { sum -= a[row * n + j] * x[j] }
      x[row] = sum / a[row * n + row]
    }
    return x
  }

  /// One exchange: the error on grid ∪ reference is split into runs of one sign, each run gives
  /// its largest |error|; while there are more than `count` such alternating extrema the smaller
  /// end one is dropped (the global maximum always stays); each survivor is refined by a golden-
  /// section search between its grid neighbours. Returns the new reference and the largest
  /// |error| seen, or nil if the error alternates fewer than `count` times.
  static func exchange(
    reference: [Double], grid: [Double], count: Int, error: (Double) -> Double
  ) -> ([Double], Double)? {
    let points = (grid + reference).sorted()
    let values = points.map(error)
    guard values.allSatisfy({ $0.isFinite }) else { return nil }
    var extrema: [Int] = []
    for (k, value) in values.enumerated() {
      if let last = extrema.last, (value >= 0) == (values[last] >= 0) {
        if abs(value) > abs(values[last]) { extrema[extrema.count - 1] = k }
      } else {
        extrema.append(k)
      }
    }
    guard extrema.count >= count else { return nil }
    while extrema.count > count {
      if abs(values[extrema.first!]) < abs(values[extrema.last!]) {
        extrema.removeFirst()
      } else {
        extrema.removeLast()
      }
    }
    var observed = values.map(abs).max() ?? 0
    var refined: [Double] = []
    for k in extrema {
      let sign = values[k] >= 0 ? 1.0 : -1.0
      let lower = points[max(k - 1, 0)], upper = points[min(k + 1, points.count - 1)]
      let (u, value) = goldenSectionMaximum(lower, upper) { sign * error($0) }
      if value > sign * values[k] {
        refined.append(u)
        observed = max(observed, value)
      } else {
        refined.append(points[k])
      }
    }
    // Refinement must keep the reference strictly increasing; otherwise keep the grid points.
    if zip(refined, refined.dropFirst()).contains(where: { $0 >= $1 }) {
      refined = extrema.map { points[$0] }
    }
    return (refined, observed)
  }

  /// The maximum of a unimodal f on [a, b] by golden-section search, to about 1e-15 of the width.
  static func goldenSectionMaximum(_ a: Double, _ b: Double, _ f: (Double) -> Double) -> (Double, Double) {
    let ratio = (sqrt(5.0) - 1) / 2
    var lo = a, hi = b
    var x1 = hi - ratio * (hi - lo), x2 = lo + ratio * (hi - lo)
    var f1 = f(x1), f2 = f(x2)
    for _ in 0..<72 where hi - lo > 1e-15 * max(1, abs(lo), abs(hi)) {
      if f1 < f2 {
        lo = x1
        x1 = x2
        f1 = f2
        x2 = lo + ratio * (hi - lo)
        f2 = f(x2)
      } else {
        hi = x2
        x2 = x1
        f2 = f1
        x1 = hi - ratio * (hi - lo)
        f1 = f(x1)
      }
    }
    return f1 >= f2 ? (x1, f1) : (x2, f2)
  }
}

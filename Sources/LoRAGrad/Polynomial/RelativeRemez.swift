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

  /// The most exchange steps: the exchange converges quadratically, in under 12 steps for R ≤ 16;
  /// at larger R the single-point fallback from a poor start can use them all.
  static let maximumIterations = 30
  /// Stop once the observed and levelled errors agree to this relative gap (or three steps in a
  /// row raise the levelled error by less than it).
  static let convergenceGap = 1e-7

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
    var stalled = 0, lastLevelled = 0.0
    for _ in 0..<maximumIterations {
      guard let (a, levelled) = levelledSolution(reference: reference, degree: g, bound: R),
        let scan = exchange(reference: reference, grid: grid, count: g + 2, error: { weightedError(a, $0) })
      else { break }
      if scan.observed < best.observedError {
        best = Fit(coefficients: a, levelledError: abs(levelled), observedError: scan.observed)
      }
      // In exact arithmetic |E| increases at every exchange; when it stops, the rounding floor
      // (~u·e^{2R} at x = −R for large R) has been reached.
      stalled = abs(levelled) > lastLevelled * (1 + convergenceGap) ? 0 : stalled + 1
      lastLevelled = max(lastLevelled, abs(levelled))
      if scan.observed - abs(levelled) <= convergenceGap * scan.observed || stalled >= 3 { break }
      reference =
        scan.reference
        ?? singleExchange(reference, levelledSign: levelled >= 0 ? 1 : -1, point: scan.argument, value: scan.value)
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

  /// What one scan of the weighted error found: the largest |error| and where, and the new
  /// reference of the multi-point exchange (nil when the error alternates fewer than g + 2 times).
  struct Scan {
    var observed: Double
    var argument: Double
    var value: Double
    var reference: [Double]?
  }

  /// One exchange: the error on grid ∪ reference is split into runs of one sign, each run gives
  /// its largest |error|; while there are more than `count` such alternating extrema the smaller
  /// end one is dropped (the global maximum always stays); each survivor is refined by a golden-
  /// section search between its grid neighbours. Fewer than `count` runs (rounding noise drowning
  /// a small levelled error near x = −R for large R) leave only the global maximum, for
  /// `singleExchange`. Nil if the error is not finite.
  static func exchange(
    reference: [Double], grid: [Double], count: Int, error: (Double) -> Double
  ) -> Scan? {
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
    guard let top = extrema.max(by: { abs(values[$0]) < abs(values[$1]) }) else { return nil }
    if extrema.count < count { extrema = [top] }
    while extrema.count > count {
      if abs(values[extrema.first!]) < abs(values[extrema.last!]) {
        extrema.removeFirst()
      } else {
        extrema.removeLast()
      }
    }
    var scan = Scan(observed: abs(values[top]), argument: points[top], value: values[top], reference: nil)
    var refined: [Double] = []
    for k in extrema {
      let sign = values[k] >= 0 ? 1.0 : -1.0
      let lower = points[max(k - 1, 0)], upper = points[min(k + 1, points.count - 1)]
      let (u, value) = goldenSectionMaximum(lower, upper) { sign * error($0) }
      let better = value > sign * values[k]
      refined.append(better ? u : points[k])
      if better && value > scan.observed {
        scan = Scan(observed: value, argument: u, value: sign * value, reference: nil)
      }
    }
    guard refined.count == count else { return scan }
    // Refinement must keep the reference strictly increasing; otherwise keep the grid points.
    if zip(refined, refined.dropFirst()).contains(where: { $0 >= $1 }) {
      refined = extrema.map { points[$0] }
    }
    scan.reference = refined
    return scan
  }

  /// Remez's single-point exchange: the point y of largest |error| enters the reference in place
  /// of the neighbour whose levelled error −(−1)^i E has the same sign (shifting the reference if y
  /// lies outside it), which keeps the alternation and raises the levelled error; the fallback
  /// when the multi-point exchange cannot find g + 2 alternations.
  static func singleExchange(_ reference: [Double], levelledSign: Double, point y: Double, value: Double) -> [Double] {
    var result = reference
    let n = reference.count
    // The sign of the weighted error at reference point i is −(−1)^i·sign(E).
    let sign = { (i: Int) -> Double in (i % 2 == 0 ? -1 : 1) * levelledSign }
    let same = { (i: Int) -> Bool in (value >= 0) == (sign(i) >= 0) }
    // Already in the reference: with its own sign nothing to do, with the other sign (rounding
    // noise) no valid exchange; the caller's stall test ends the iteration.
    if reference.contains(y) { return result }
    if y < reference[0] {
      if same(0) {
        result[0] = y
      } else {
        result.removeLast()
        result.insert(y, at: 0)
      }
    } else if y > reference[n - 1] {
      if same(n - 1) {
        result[n - 1] = y
      } else {
        result.removeFirst()
        result.append(y)
      }
    } else if let i = reference.lastIndex(where: { $0 <= y }) {
      result[same(i) || i == n - 1 ? i : i + 1] = y
    }
    return result
  }

  /// The maximum of a unimodal f on [a, b] by golden-section search, to 1e-9 of the width (the
  /// error at a maximum is flat: a location off by δ changes it by O(δ²)).
  static func goldenSectionMaximum(_ a: Double, _ b: Double, _ f: (Double) -> Double) -> (Double, Double) {
    let ratio = (sqrt(5.0) - 1) / 2
    var lo = a, hi = b
    var x1 = hi - ratio * (hi - lo), x2 = lo + ratio * (hi - lo)
    var f1 = f(x1), f2 = f(x2)
    for _ in 0..<48 where hi - lo > 1e-9 * (b - a) {
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

import Foundation

/// Chebyshev series Σ_j a_j T_j(u) on u ∈ [−1, 1]: the well-conditioned basis in which the exp
/// fits are computed (the monomial basis is ill-conditioned on an interval; T_j is bounded by 1
/// on it), and their conversion to the monomial basis the feature maps need.
enum ChebyshevSeries {
  /// Σ_j a_j T_j(u) by Clenshaw's recurrence b_j = a_j + 2u·b_{j+1} − b_{j+2}.
  static func evaluate(_ a: [Double], at u: Double) -> Double {
    a.withUnsafeBufferPointer { a in
      guard !a.isEmpty else { return 0 }
      var next = 0.0, afterNext = 0.0
      var j = a.count - 1
      while j >= 1 {
        let current = a[j] + 2 * u * next - afterNext
        afterNext = next
        next = current
        j -= 1
      }
      return a[0] + u * next - afterNext
    }
  }

  /// The n Chebyshev points of the first kind, u_k = cos((2k + 1)π / 2n), the roots of T_n.
  static func firstKindNodes(count n: Int) -> [Double] {
    (0..<n).map { k in cos(Double(2 * k + 1) * Double.pi / Double(2 * n)) }
  }

  /// The g + 2 extrema of T_{g+1} in increasing order, u_i = −cos(iπ / (g + 1)): the reference on
  /// which T_{g+1} equioscillates, the classical starting point of the Remez exchange.
  static func extremaOfNextDegree(degree g: Int) -> [Double] {
    (0...(g + 1)).map { i in -cos(Double(i) * Double.pi / Double(g + 1)) }
  }

  /// The coefficients of the degree-g interpolant of f at the g + 1 first-kind nodes:
  /// a_j = (2 − δ_{j0})/(g + 1) · Σ_k f(u_k) T_j(u_k), with T_j(u_k) = cos(jθ_k) (discrete
  /// orthogonality of the cosines). The angle jθ_k = π·j(2k + 1)/2n is reduced modulo 2π in
  /// integers first, so a constant f gives exact zeros beyond a_0 up to rounding.
  static func interpolate(degree g: Int, _ f: (Double) -> Double) -> [Double] {
    let n = g + 1
    let nodeCosine = { (m: Int) -> Double in cos(Double(m % (4 * n)) * Double.pi / Double(2 * n)) }
    let values = (0..<n).map { k in f(nodeCosine(2 * k + 1)) }
    var a = [Double](repeating: 0, count: n)
    for j in 0..<n {
      var sum = 0.0
      for k in 0..<n { sum += values[k] * nodeCosine(j * (2 * k + 1)) }
      a[j] = (j == 0 ? 1 : 2) * sum / Double(n)
    }
    return a
  }

  /// The monomial coefficients b_t of Σ_j a_j T_j(u) = Σ_t b_t uᵗ, from the integer monomial
  /// coefficients of T_{j+1} = 2u·T_j − T_{j−1} (exact in Float64 up to degree ~50). The sums
  /// b_t = Σ_j a_j [T_j]_t cancel heavily (|[T_j]_t| grows like (1 + √2)^j), so they are
  /// accumulated in double-double (error-free products by FMA, TwoSum) and rounded once.
  static func monomialCoefficients(_ a: [Double]) -> [Double] {
    let n = a.count
    guard n > 0 else { return [] }
    var high = [Double](repeating: 0, count: n), low = high
    var previous = [Double](repeating: 0, count: n)  // T_{j−1}
    var current = [Double](repeating: 0, count: n)  // T_j
    for j in 0..<n {
      if j == 0 {
        current[0] = 1
      } else if j == 1 {
        previous = current
        current = [Double](repeating: 0, count: n)
        current[1] = 1
      } else {
        var following = [Double](repeating: 0, count: n)
        for t in 0..<j { following[t + 1] += 2 * current[t] }
        for t in 0..<(j - 1) { following[t] -= previous[t] }
        previous = current
        current = following
      }
      guard a[j] != 0 else { continue }
      for t in 0...j where current[t] != 0 {
        let product = a[j] * current[t]
        let productError = (-product).addingProduct(a[j], current[t])  // fused: exact a·T − fl(a·T)
        let (sum, sumError) = twoSum(high[t], product)
        high[t] = sum
        low[t] += sumError + productError
      }
    }
    return (0..<n).map { high[$0] + low[$0] }
  }

  /// s + e = x + y exactly (Knuth's TwoSum).
  static func twoSum(_ x: Double, _ y: Double) -> (Double, Double) {
    let s = x + y
    let yVirtual = s - x
    let xVirtual = s - yVirtual
    return (s, (x - xVirtual) + (y - yVirtual))
  }

  /// The series with every coefficient |a_j| ≤ 8u·Σ|a| (j ≥ 1, u = 2⁻⁵³) set to exactly zero:
  /// below rounding level such a term changes p by less than the rounding of its evaluation, but
  /// the conversion to monomials in x = R·u would amplify its noise by R^{−j} for small R. The
  /// length (nominal degree) is kept.
  static func droppingNoise(_ a: [Double]) -> [Double] {
    let scale = a.reduce(0) { $0 + abs($1) }
    let threshold = 8 * Double.ulpOfOne / 2 * scale
    return a.enumerated().map { j, value in j >= 1 && abs(value) <= threshold ? 0 : value }
  }
}

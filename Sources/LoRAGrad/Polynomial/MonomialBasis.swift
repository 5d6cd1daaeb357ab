/// The monomials x^a of total degree |a| ≤ g in h variables, in graded order (all of degree 0,
/// then 1, then 2, …) so that the monomials of a lower degree are a prefix: the symmetric
/// feature space of the polynomial method, of rank C(h + g, g) instead of the Σ hᵗ of the
/// naive tensor power. Monomial m is monomial `parent[m]` times variable `variable[m]`, with
/// variables non-decreasing along the chain, so each multiset of variables appears once.
public struct MonomialBasis: Sendable, Equatable {
  /// The number of variables h.
  public let variables: Int
  /// The largest total degree g.
  public let degree: Int
  /// For each monomial, the monomial it extends by one variable (0 for monomial 0, the constant).
  public let parent: [Int32]
  /// For each monomial, the variable it multiplies its parent by (0 for the constant).
  public let variable: [Int32]
  /// For each monomial, its total degree t = |a|.
  public let totalDegree: [Int]
  /// For each monomial, the multinomial coefficient t! / a! (a! = Π_v a_v!): the number of times
  /// x^a appears in the expansion of ⟨q, k⟩ᵗ.
  public let multinomial: [Double]
  /// For each degree t ≤ g, the number of monomials of degree ≤ t, C(h + t, t).
  public let prefixCount: [Int]

  /// The basis of degree ≤ g in h variables.
  public init(variables h: Int, degree g: Int) {
    variables = h
    degree = g
    var parent: [Int32] = [0], variable: [Int32] = [0], total = [0], multinomial = [1.0]
    var lastVariable = [0]
    var power: [[Int]] = [[Int](repeating: 0, count: h)]
    var prefix = [1]
    var levelStart = 0
    for t in 1...max(g, 1) where g >= 1 {
      let levelEnd = parent.count
      for m in levelStart..<levelEnd {
        for v in lastVariable[m]..<h {
          var a = power[m]
          a[v] += 1
          parent.append(Int32(m))
          variable.append(Int32(v))
          total.append(t)
          multinomial.append(multinomial[m] * Double(t) / Double(a[v]))
          lastVariable.append(v)
          power.append(a)
        }
      }
      levelStart = levelEnd
      prefix.append(parent.count)
    }
    self.parent = parent
    self.variable = variable
    self.totalDegree = total
    self.multinomial = multinomial
    self.prefixCount = prefix
  }

  /// The number of monomials, C(h + g, g).
  public var count: Int { parent.count }

  /// C(h + g, g), the feature count of the symmetric feature map, without building the basis (saturating).
  public static func featureCount(variables h: Int, degree g: Int) -> Int {
    var result = 1
    for t in 0..<g {
      let (product, overflow) = result.multipliedReportingOverflow(by: h + t + 1)
      if overflow { return Int.max }
      result = product / (t + 1)
    }
    return result
  }
}

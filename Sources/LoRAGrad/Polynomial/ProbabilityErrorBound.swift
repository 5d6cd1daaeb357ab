import Foundation

/// The worst-case bound on the entrywise relative error of P̃ as the Float32 kernels compute it
/// (Docs/Theory.md, "The bound on P̃"): every O_ic the path returns is Σ_j P_ij (1 + ξ_ijc) V_jc
/// with |ξ| ≤ E, P the exact softmax of the Float32 logits q̂·k̂. Under IEEE-754 round-to-nearest
/// (no underflow below the terms it names), with u = 2⁻²⁴ and γ_n = n·u/(1 − n·u):
///
/// - the polynomial: |p(s)e^{−s} − 1| ≤ ε_p on [−R', R'], certified (`ExpPolynomial`);
/// - the inputs of the features: x̂ = fl(q̂·fl(1/ρ_q)), ŷ = fl(fl(k̂ − μ)·fl(1/ρ_k)) give
///   s' = R_b x̂·ŷ with |s' − s| ≤ γ₅·R_b, a factor e^{±γ₅R'} on exp (and |s'| ≤ R' because the
///   plan covers R_b(1 + γ₅));
/// - the evaluation: each term φ̂_m ψ̂_m of den_i or of a numerator carries at most n roundings
///   (the monomials 2g + 1, the rounded weight 1, the feature-blocked dot over m 64 + ⌈k/64⌉, the
///   Float32 product of one row block b, the chunk total and the scan result 2, the payload
///   products 2, the division 1), so the computed sum is Σ_m φ_m ψ_m (1 + θ_m) with |θ_m| ≤ γ_n,
///   an error ≤ γ_n Σ_m |φ_m ψ_m| ≤ γ_n·M with M = Σ_t |c_t| R'ᵗ, relative to
///   p(s') ≥ (1 − ε_p)e^{−R'}: a = γ_n·M / ((1 − ε_p)e^{−R'}); the Float64 sums over row blocks
///   and chunks add γ⁽⁶⁴⁾_{L/b + chunks};
/// - causal, the exact in-chunk entries: the h-term logit γ_{h+1}·R' (absolute, so a factor
///   e^{±γ_{h+1}R'}), the vector exp 2u (checked on every Float32 in [−64, 64], every instruction
///   set), and their sums over the chunk's C keys γ_{C + b + 3};
/// - the row normalisation: the computed O_ic is a ratio of two such sums, so
///   E = max(up) (1 + u) / min(down) − 1 over the kinds of entries a row has.
struct ProbabilityErrorBound: Sendable, Equatable {
  /// ε_p, the polynomial's certified relative error.
  var polynomial: Double
  /// a: the Float32 evaluation of the low-rank sums, relative per term.
  var evaluation: Double
  /// γ₅·R': the rounding of the features' inputs, as a relative error of exp.
  var inputs: Double
  /// E, the bound on |P̃_ij/P_ij − 1| (and on each column's effective P̃).
  var total: Double

  /// u = 2⁻²⁴.
  static let unitRoundoff = 0x1p-24
  /// The largest relative error of the kernels' vector exp on [−64, 64], every instruction set
  /// (1.999u, checked exhaustively on 2026-12-02: `loragrad-bench exp`).
  static let vectorExpError = 2 * unitRoundoff

  /// γ_n = n·u / (1 − n·u), and +∞ once n·u ≥ 1 (no bound).
  static func gamma(_ n: Double) -> Double { n * unitRoundoff < 1 ? n * unitRoundoff / (1 - n * unitRoundoff) : .infinity }

  /// The roundings each low-rank term carries (see the type's comment).
  static func roundings(degree g: Int, featureCount k: Int, rowBlock b: Int) -> Double {
    Double(2 * g + 2 + 64 + b + 2 + 2 + 1) + (Double(k) / 64).rounded(.up)
  }

  /// The bound for the low-rank entries of a query block that uses `polynomial` on [−R', R'],
  /// with `featureCount` features, blocks of `rowBlock` rows, `length` keys and `chunks` chunks.
  static func lowRank(
    _ polynomial: ExpPolynomial, halfWidth R: Double, featureCount k: Int, rowBlock b: Int, length: Int, chunks: Int
  ) -> ProbabilityErrorBound {
    let epsilon = polynomial.certifiedRelativeError
    var power = 1.0, magnitude = 0.0
    for c in polynomial.coefficients {
      magnitude += abs(c) * power
      power *= R
    }
    let floor = (1 - epsilon) * exp(-R)
    let float64Sums = Double(length / max(b, 1) + chunks + 2) * 0x1p-53 * 1.01
    let evaluation = gamma(roundings(degree: polynomial.degree, featureCount: k, rowBlock: b)) * magnitude / floor + float64Sums
    let inputs = gamma(5) * R
    let up = (1 + epsilon) * exp(inputs) * (1 + evaluation)
    let down = (1 - epsilon) * exp(-inputs) * (1 - evaluation)
    let total = down > 0 ? up * (1 + unitRoundoff) / down - 1 : .infinity
    return ProbabilityErrorBound(polynomial: epsilon, evaluation: evaluation, inputs: inputs, total: total)
  }

  /// The bound when a row also has exact in-chunk entries (causal), chunks of `chunkRows` rows.
  func withExactEntries(halfWidth R: Double, headWidth h: Int, chunkRows: Int, rowBlock b: Int) -> ProbabilityErrorBound {
    let logit = Self.gamma(Double(h + 1)) * R
    let sums = Self.gamma(Double(chunkRows + b + 3))
    let upExact = exp(logit) * (1 + Self.vectorExpError) * (1 + sums)
    let downExact = exp(-logit) * (1 - Self.vectorExpError) * (1 - sums)
    let up = (1 + polynomial) * exp(inputs) * (1 + evaluation)
    let down = (1 - polynomial) * exp(-inputs) * (1 - evaluation)
    var combined = self
    let floor = min(down, downExact)
    combined.total = floor > 0 ? max(up, upExact) * (1 + Self.unitRoundoff) / floor - 1 : .infinity
    return combined
  }
}

import LoRAGrad

/// The embedded problems of `loragrad demo`, `loragrad profile` and the benchmarks, defined once
/// (SplitMix64 from seed 0, drawn like shared/anchors/case.py).
public enum DemoProblems {
  /// The exact path's default: N = 1, L = 4096, D = 64, r = 8, q, k, v adapted.
  public static func exact(length: Int = 4096, heads: Int = 1, causal: Bool = false, sequences: Int = 1) throws -> AttentionProblem {
    try .synthetic(sequences: sequences, length: length, width: 64, heads: heads, loraRank: 8, causal: causal, seed: 0)
  }

  /// The polynomial path's default: N = 1, L = 65536, D = h = 16, r = 8, inputs scaled to R = 0.5.
  public static func polynomial(length: Int = 65536, causal: Bool = false, bound: Double = 0.5, width: Int = 16, heads: Int = 1) throws -> AttentionProblem {
    try .synthetic(length: length, width: width, heads: heads, loraRank: 8, causal: causal, normBound: bound, seed: 0)
  }
}

/// The polynomial default's inputs drawn once and rescaled to any norm bound R (no biases, so Q
/// and K scale with X and R with the square of X's scale): the phase map's many R at one (L, h)
/// without drawing L·D Gaussians again for each.
public struct RescalableProblem {
  /// The problem at input scale 1.
  public let base: AttentionProblem
  /// Its norm bound R₁.
  public let baseBound: Double

  /// The polynomial default at (L, h), drawn once.
  public init(length: Int, width: Int) throws {
    base = try .synthetic(length: length, width: width, heads: 1, loraRank: 8, inputScale: 1, seed: 0)
    baseBound = try base.regime(tolerance: 0.5).norms.bound
  }

  /// The same problem with X scaled by √(R/R₁), so that its norm bound is R (up to Float32 rounding).
  public func problem(bound: Double) throws -> AttentionProblem {
    guard baseBound > 0, baseBound.isFinite else { return base }
    let scale = Float((bound / baseBound).squareRoot())
    let inputs = try Tensor(shape: base.inputs.shape, scalars: base.inputs.scalars.map { $0 * scale })
    return try AttentionProblem(layer: base.layer, inputs: inputs, keyLengths: base.keyLengths, objective: base.objective)
  }
}

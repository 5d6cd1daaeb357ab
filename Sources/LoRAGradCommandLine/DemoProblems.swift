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

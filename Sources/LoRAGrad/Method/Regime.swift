/// The norm bounds of a projected batch: the numbers the phase transition is stated in.
public struct NormBounds: Sendable, Equatable {
  /// R = max over (sequence, head) pairs and query blocks of max_i ‖q̂_i‖ · max_j ‖k̂_j − μ‖, with
  /// q̂ = √β·Q, k̂ = √β·K (after biases and RoPE) and μ the mean visible key: every logit the
  /// polynomial must cover lies in [−R, R].
  public var bound: Double
  /// The largest |entry| of q̂ and of the centred keys k̂ − μ (what the code's bound works with).
  public var centredEntryBound: Double
  /// The largest |entry| of √β·Q and √β·K without centring: the paper's Γ (its entry bound B
  /// with β folded in).
  public var entryBound: Double
  /// R_j per head j = 0…H−1 (the same maximum over sequences and query blocks, head j only);
  /// R = max_j R_j.
  public var headBounds: [Double]

  /// Bounds from their parts.
  public init(bound: Double, centredEntryBound: Double, entryBound: Double, headBounds: [Double] = []) {
    self.bound = bound
    self.centredEntryBound = centredEntryBound
    self.entryBound = entryBound
    self.headBounds = headBounds
  }
}

/// What the polynomial path chose for one call, and the bound it proves.
public struct PolynomialReport: Sendable, Equatable {
  /// The largest degree over the query blocks.
  public var degree: Int
  /// The smallest degree over the query blocks.
  public var minimumDegree: Int
  /// The number of features of the largest degree, C(h + g, g).
  public var featureCount: Int
  /// max over blocks of the certified |p(x)e^{−x} − 1| on the block's interval.
  public var polynomialError: Double
  /// max over blocks of the estimated relative rounding error of φ(q)·ψ(k) in Float32.
  public var roundingError: Double
  /// The bound on the entrywise relative error of P̃, 2e/(1 − e) with e the sum of the two errors
  /// above (each entry of exp is known to a factor 1 ± e, and so is each row sum).
  public var errorBound: Double
  /// The floating-point operations of the path as run (forward and backward).
  public var flops: Double
  /// The bytes of low-rank sums it kept.
  public var sumBytes: Int
  /// The number of query blocks that use each degree (index = degree g, 0…degree).
  public var blocksPerDegree: [Int]
  /// Rows per chunk: causal, the pairs (i, j) within one chunk are computed exactly.
  public var chunkRows: Int
}

/// The regime of a problem at a tolerance: whether the polynomial method can be accurate and
/// cheap (entries below the bound) or not, with the numbers behind the verdict.
public struct Regime: Sendable, Equatable {
  /// `.polynomial` when that path meets ε and is predicted faster, else `.exact`.
  public var verdict: AttentionPath
  /// Why, in one line.
  public var reason: String
  /// R and the entry bounds.
  public var norms: NormBounds
  /// The polynomial path's plan, when a degree within the budget meets ε.
  public var polynomial: PolynomialReport?
  /// The exact path's flops (`CostModel.exactFlops`).
  public var predictedExactFlops: Double
  /// Predicted seconds of the exact path on one thread.
  public var predictedExactSeconds: Double
  /// Predicted seconds of the polynomial path on one thread (nil when it cannot meet ε).
  public var predictedPolynomialSeconds: Double?
  /// The sequence length above which the polynomial path wins at this head width and rank.
  public var crossoverLength: Double?
  /// The cost model's source ("nominal" or a calibration file).
  public var costModel: String
}

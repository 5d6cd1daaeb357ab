/// What a forward pass returns and a backward pass needs again (FlashAttention's saved state):
/// the output, the per-row log-sum-exp, and how they were computed.
public struct LayerForward: Sendable {
  /// Z = concat_j softmax(β Q_j K_jᵀ + mask) V_j, the shape of X.
  public let output: Tensor
  /// lse per (sequence, head, row), [N, H, L]: log Σ_j exp(β q_i·k_j) over the visible keys
  /// (on the polynomial path, the log of its normaliser plus the centring shift).
  public let logSumExp: Tensor
  /// The path that ran; `backward` runs the same one.
  public let path: AttentionPath
  /// The regime analysis (polynomial and auto methods).
  public let regime: Regime?
  /// The observed error on sampled rows, when the polynomial settings asked for a check.
  public let check: PolynomialCheck?
  /// The key lengths ℓ_n of the call (nil: all keys visible).
  public let keyLengths: [Int]?
  /// Polynomial path: a bound on max|Z̃ − Z| / max|Z| against the exact output (E·max_j|V_jc| per
  /// entry, E the bound on P̃ of the row's block). Nil on the other paths.
  public private(set) var outputErrorBound: Double?
  /// The entrywise bound behind `outputErrorBound`, the shape of Z.
  private(set) var entrywiseOutputBound: Tensor?
  /// The settings of the path, for the backward pass.
  let settings: PathSettings
  /// With a sequence shard: the rows of every sequence it computed (Z and lse are zero elsewhere).
  package internal(set) var ownRows: Range<Int>?
  /// With a sequence shard: the head view, statistics and plan, which its backward pass (run at
  /// once by the split) takes over instead of projecting the whole batch again.
  var shardState: ShardState?

  /// The arithmetic of the exact path's products (Float32 on the other paths).
  public var precision: ExactPrecision {
    if case let .exact(tiling) = settings { return tiling.precision }
    return .float32
  }

  /// Sets the output's error bound (relative, entrywise).
  var outputBound: (relative: Double, entrywise: Tensor)? {
    get { outputErrorBound.map { ($0, entrywiseOutputBound!) } }
    set {
      outputErrorBound = newValue?.relative
      entrywiseOutputBound = newValue?.entrywise
    }
  }
}

/// What a shard's forward pass hands to its backward pass: the same head view, statistics and
/// plan the backward would compute again from the same X (the same bits).
final class ShardState: @unchecked Sendable {
  let view: HeadView
  let statistics: PolynomialStatistics
  let plan: PolynomialPlan

  init(view: HeadView, statistics: PolynomialStatistics, plan: PolynomialPlan) {
    self.view = view
    self.statistics = statistics
    self.plan = plan
  }
}

/// The settings of the path a forward pass took.
enum PathSettings: Sendable, Equatable {
  case exact(FlashTiling)
  case polynomial(PolynomialSettings)
  case reference
}

/// What a backward pass returns: the gradient of the caller's loss with respect to every adapter
/// matrix and to the layer's input.
public struct LayerGradients: Sendable {
  /// For each adapted projection μ, the pair (∂loss/∂A_μ [r, D], ∂loss/∂B_μ [D, r]).
  public var adapters: [Projection: LoRAAdapter]
  /// dX = dQ W_q + dK W_k + dV W_v, the shape of X (nil when not asked for).
  public var input: Tensor?
  /// The path that ran.
  public var path: AttentionPath
  /// The arithmetic of the exact path's products (Float32 on the other paths).
  public var precision: ExactPrecision = .float32
  /// Polynomial path: for each adapter matrix (`.adapterA(μ)`, `.adapterB(μ)`) and dX (`.inputs`),
  /// a bound on max|g̃ − g| / max|g| against the exact gradient (Docs/Theory.md), the measure of
  /// `Tensor.maxRelativeDifference` and compare.py. Nil on the other paths.
  public var errorBounds: [TensorRole: Double]?
  /// The entrywise bounds behind `errorBounds` (|g̃ − g| ≤ bound, entry by entry), for audits and tests.
  package var entrywiseErrorBounds: [TensorRole: Tensor]?
}

extension LayerGradients {
  /// The relative measure of `errorBounds`: largest bound / max|g| (0 when both are zero, ∞ for a
  /// nonzero bound on an all-zero gradient).
  package static func relativeBound(_ largestBound: Double, of values: [Float]) -> Double {
    let scale = values.lazy.map { abs(Double($0)) }.max() ?? 0
    return scale > 0 ? largestBound / scale : (largestBound == 0 ? 0 : .infinity)
  }
}

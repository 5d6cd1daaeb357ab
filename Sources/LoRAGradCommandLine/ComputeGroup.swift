import LoRAGrad
import LoRAGradIO

/// Where a command's gradients are computed: this process alone, or the ranks of a data-parallel
/// job (loragrad-mpi). Rank 0 writes the files and prints; every rank gets the same bits back.
public protocol ComputeGroup {
  /// This process's rank (0: the one that writes and prints).
  var rank: Int { get }
  /// How many processes compute together.
  var ranks: Int { get }
  /// The problem's loss, adapter gradients and (when `inputGradient`) dX, the same on every rank.
  func gradients(_ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions) throws -> Gradients
  /// The layer's output Z and lse for the inputs, the same on every rank.
  func forward(_ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions) throws -> ForwardResult
  /// Whether every rank holds the same `bits` (a fingerprint), e.g. of its adapters after training.
  func agree(_ bits: UInt64) throws -> Bool
  /// What the JSON line adds about the group's last computation (e.g. "split", "bytes_sent").
  func report() -> [(String, JSONValue)]
}

extension ComputeGroup {
  /// Nothing to add.
  public func report() -> [(String, JSONValue)] { [] }
}

/// What a forward pass gives a command: Z, lse [N, H, L], the path, and in one process the
/// regime, the check and the bound on Z.
public struct ForwardResult {
  /// Z, the shape of X.
  public var output: Tensor
  /// The per-row log-sum-exp, [N, H, L].
  public var logSumExp: Tensor
  /// The path that ran.
  public var path: AttentionPath
  /// The regime analysis (one process, polynomial and auto methods).
  public var regime: Regime?
  /// The observed error on sampled rows (one process, when asked for).
  public var check: PolynomialCheck?
  /// A bound on max|Z̃ − Z| / max|Z| (one process, polynomial path).
  public var outputErrorBound: Double?

  /// A result from its parts.
  public init(
    output: Tensor, logSumExp: Tensor, path: AttentionPath, regime: Regime? = nil, check: PolynomialCheck? = nil,
    outputErrorBound: Double? = nil
  ) {
    self.output = output
    self.logSumExp = logSumExp
    self.path = path
    self.regime = regime
    self.check = check
    self.outputErrorBound = outputErrorBound
  }
}

/// This process alone.
public struct LocalGroup: ComputeGroup {
  /// Rank 0 of 1.
  public init() {}
  public var rank: Int { 0 }
  public var ranks: Int { 1 }
  public func gradients(_ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions) throws -> Gradients {
    try problem.gradients(method: method, inputGradient: inputGradient, options: options)
  }
  public func forward(_ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions) throws -> ForwardResult {
    let result = try layer.forward(inputs, keyLengths: keyLengths, method: method, options: options)
    return ForwardResult(
      output: result.output, logSumExp: result.logSumExp, path: result.path, regime: result.regime, check: result.check,
      outputErrorBound: result.outputErrorBound)
  }
  public func agree(_ bits: UInt64) throws -> Bool { true }
}

/// FNV-1a (64 bits) over the bits of every adapter matrix, in projection order.
public func adapterFingerprint(_ adapters: [Projection: LoRAAdapter]) -> UInt64 {
  var hash = FNV1a()
  for projection in adapters.keys.sorted() {
    for value in adapters[projection]!.a.scalars + adapters[projection]!.b.scalars { hash.mix(value.bitPattern) }
  }
  return hash.value
}

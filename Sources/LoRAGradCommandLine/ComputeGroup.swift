import LoRAGrad

/// Where a command's gradients are computed: this process alone, or the ranks of a data-parallel
/// job (loragrad-mpi). Rank 0 writes the files and prints; every rank gets the same bits back.
public protocol ComputeGroup {
  /// This process's rank (0: the one that writes and prints).
  var rank: Int { get }
  /// How many processes compute together.
  var ranks: Int { get }
  /// The problem's loss, adapter gradients and (when `inputGradient`) dX, the same on every rank.
  func gradients(_ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions) throws -> Gradients
  /// Whether every rank holds the same `bits` (a fingerprint), e.g. of its adapters after training.
  func agree(_ bits: UInt64) throws -> Bool
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
  public func agree(_ bits: UInt64) throws -> Bool { true }
}

/// FNV-1a (64 bits) over the bits of every adapter matrix, in projection order.
public func adapterFingerprint(_ adapters: [Projection: LoRAAdapter]) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for projection in adapters.keys.sorted() {
    for value in adapters[projection]!.a.scalars + adapters[projection]!.b.scalars {
      var bits = value.bitPattern
      for _ in 0..<4 {
        hash = (hash ^ UInt64(bits & 0xff)) &* 0x0000_0100_0000_01b3
        bits >>= 8
      }
    }
  }
  return hash
}

import Foundation

/// A small deterministic pseudo-random generator (SplitMix64), so that synthetic problems are
/// the same on every machine and run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator started from `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A standard normal sample (Box–Muller).
  public mutating func nextGaussian() -> Double {
    let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
    let u2 = Double.random(in: 0..<1, using: &self)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }
}

extension AttentionProblem {
  /// A random problem drawn like `shared/anchors/case.py`: X, Y ~ N(0, 1) (X times `inputScale`),
  /// W* ~ N(0, 1)/√D, A and B ~ N(0, 1)/√D, from a fixed seed.
  public static func synthetic(
    sequences: Int = 1, length: Int, width: Int, heads: Int = 1, rank: Int = 8,
    adapted: Set<Projection> = Set(Projection.allCases), alpha: Double? = nil, beta: Double? = nil,
    inputScale: Double = 1, seed: UInt64 = 0
  ) throws -> AttentionProblem {
    guard sequences >= 1, length >= 1, width >= 1, rank >= 1 else {
      throw LoRAGradError.invalidArgument(
        argument: "synthetic problem", expected: "N, L, D, r ≥ 1",
        given: "N = \(sequences), L = \(length), D = \(width), r = \(rank)")
    }
    var random = SplitMix64(seed: seed)
    func gaussian(_ shape: [Int], scale: Double) -> Tensor {
      let count = shape.reduce(1, *)
      return Tensor(checkedShape: shape, scalars: (0..<count).map { _ in Float(random.nextGaussian() * scale) })
    }
    let weightScale = 1 / Double(width).squareRoot()
    let x = gaussian([sequences, length, width], scale: inputScale)
    let y = gaussian([sequences, length, width], scale: 1)
    var frozen: [Projection: Tensor] = [:]
    for projection in Projection.allCases { frozen[projection] = gaussian([width, width], scale: weightScale) }
    var adapters: [Projection: LoRAAdapter] = [:]
    for projection in Projection.allCases where adapted.contains(projection) {
      adapters[projection] = LoRAAdapter(
        a: gaussian([rank, width], scale: weightScale), b: gaussian([width, rank], scale: weightScale))
    }
    return try AttentionProblem(
      inputs: x, targets: y, frozenWeights: frozen, adapters: adapters, heads: heads, alpha: alpha, beta: beta)
  }
}

extension AttentionProblem {
  /// A random problem like `synthetic(…)` whose inputs are rescaled so that the norm bound
  /// R = max‖√β Q_i‖·max‖√β (K_j − μ)‖ equals `bound` (Q and K are linear in X, so R scales
  /// with the square of X's scale), like `case.py --R`.
  public static func synthetic(
    sequences: Int = 1, length: Int, width: Int, heads: Int = 1, rank: Int = 8,
    adapted: Set<Projection> = Set(Projection.allCases), alpha: Double? = nil, beta: Double? = nil,
    normBound bound: Double, seed: UInt64 = 0
  ) throws -> AttentionProblem {
    guard bound > 0, bound.isFinite else {
      throw LoRAGradError.invalidArgument(argument: "normBound", expected: "a finite number > 0", given: "\(bound)")
    }
    let unit = try synthetic(
      sequences: sequences, length: length, width: width, heads: heads, rank: rank, adapted: adapted,
      alpha: alpha, beta: beta, seed: seed)
    let measured = try unit.normBound()
    return try synthetic(
      sequences: sequences, length: length, width: width, heads: heads, rank: rank, adapted: adapted,
      alpha: alpha, beta: beta, inputScale: measured > 0 ? (bound / measured).squareRoot() : 1, seed: seed)
  }

  /// R = max over (sequence, head) pairs of max_i ‖√β Q_i‖ · max_j ‖√β (K_j − μ)‖.
  public func normBound() throws -> Double {
    try regime(tolerance: 0.5, parallelism: .dispatch(threads: activeProcessorCount)).bound
  }
}

extension AttentionProblem {
  /// A random problem drawn like `shared/anchors/case.py`: X, Y (or dZ) ~ N(0, 1), W* ~ N(0, 1)/√D,
  /// A and B ~ N(0, 1)/√D, biases ~ N(0, 1)/2 when asked for, from a fixed seed; X and the biases
  /// times `inputScale` (so Q and K scale with it).
  public static func synthetic(
    sequences: Int = 1, length: Int, width: Int, heads: Int = 1, loraRank: Int = 8,
    adapted: Set<Projection> = Set(Projection.allCases), alpha: Double? = nil, beta: Double? = nil,
    biases: Bool = false, causal: Bool = false, ropeTheta: Double? = nil, keyLengths: [Int]? = nil,
    useRSLoRA: Bool = false, upstream: Bool = false, inputScale: Double = 1, seed: UInt64 = 0
  ) throws -> AttentionProblem {
    guard sequences >= 1, length >= 1, width >= 1, loraRank >= 1, inputScale.isFinite else {
      throw LoRAGradError.invalidArgument(
        argument: "synthetic problem", expected: "N, L, D, r ≥ 1 and a finite input scale",
        given: "N = \(sequences), L = \(length), D = \(width), r = \(loraRank), scale \(inputScale)")
    }
    var random = SplitMix64(seed: seed)
    func gaussian(_ shape: [Int], scale: Double) -> Tensor {
      let count = shape.reduce(1, *)
      return Tensor(checkedShape: shape, scalars: (0..<count).map { _ in Float(random.nextGaussian() * scale) })
    }
    let weightScale = 1 / Double(width).squareRoot()
    let x = gaussian([sequences, length, width], scale: inputScale)
    let target = gaussian([sequences, length, width], scale: 1)
    var frozen: [Projection: Tensor] = [:]
    for projection in Projection.allCases { frozen[projection] = gaussian([width, width], scale: weightScale) }
    var adapters: [Projection: LoRAAdapter] = [:]
    for projection in Projection.allCases where adapted.contains(projection) {
      adapters[projection] = LoRAAdapter(
        a: gaussian([loraRank, width], scale: weightScale), b: gaussian([width, loraRank], scale: weightScale))
    }
    var biasTensors: [Projection: Tensor] = [:]
    if biases { for projection in Projection.allCases { biasTensors[projection] = gaussian([width], scale: 0.5 * inputScale) } }
    let layer = try AttentionLayer(
      frozenWeights: frozen, biases: biasTensors, adapters: adapters, heads: heads, alpha: alpha, beta: beta,
      useRSLoRA: useRSLoRA, causal: causal, ropeTheta: ropeTheta)
    return try AttentionProblem(
      layer: layer, inputs: x, keyLengths: keyLengths, objective: upstream ? .upstream(target) : .squaredError(targets: target))
  }

  /// A random problem like `synthetic(…)` whose inputs are rescaled so that the norm bound
  /// R = max‖√β Q_i‖·max‖√β (K_j − μ)‖ equals `normBound` (Q and K scale with X and the biases, so
  /// R with the square of their scale), like `case.py --R`.
  public static func synthetic(
    sequences: Int = 1, length: Int, width: Int, heads: Int = 1, loraRank: Int = 8,
    adapted: Set<Projection> = Set(Projection.allCases), alpha: Double? = nil, beta: Double? = nil,
    biases: Bool = false, causal: Bool = false, ropeTheta: Double? = nil, keyLengths: [Int]? = nil,
    useRSLoRA: Bool = false, upstream: Bool = false, normBound: Double, seed: UInt64 = 0
  ) throws -> AttentionProblem {
    guard normBound > 0, normBound.isFinite else {
      throw LoRAGradError.invalidArgument(argument: "normBound", expected: "a finite number > 0", given: "\(normBound)")
    }
    func make(_ scale: Double) throws -> AttentionProblem {
      try synthetic(
        sequences: sequences, length: length, width: width, heads: heads, loraRank: loraRank, adapted: adapted, alpha: alpha,
        beta: beta, biases: biases, causal: causal, ropeTheta: ropeTheta, keyLengths: keyLengths, useRSLoRA: useRSLoRA,
        upstream: upstream, inputScale: scale, seed: seed)
    }
    let measured = try make(1).regime(tolerance: 0.5).norms.bound
    // One key has no spread about its mean (R = 0): any scale is as good as another.
    return try make(measured > 0 && measured.isFinite ? (normBound / measured).squareRoot() : 1)
  }
}

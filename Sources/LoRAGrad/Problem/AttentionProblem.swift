/// One LoRA-adapted softmax attention layer and a batch of (X, Y) pairs:
/// loss = ½ Σ_sequences ‖concat_j softmax(β Q_j K_jᵀ) V_j − Y‖²_F with W_μ = W*_μ + (α/r) B_μ A_μ.
public struct AttentionProblem: Sendable {
  /// The input sequences X, shape [N, L, D].
  public let inputs: Tensor
  /// The targets Y, shape [N, L, D].
  public let targets: Tensor
  /// The frozen weights W*_q, W*_k, W*_v, each [D, D] stored [out, in] (PyTorch nn.Linear layout).
  public let frozenWeights: [Projection: Tensor]
  /// The LoRA adapters of the adapted projections (any subset of q, k, v).
  public let adapters: [Projection: LoRAAdapter]
  /// The number of attention heads H; the head width is D / H.
  public let heads: Int
  /// The LoRA scaling numerator α (the update is (α/r) B A).
  public let alpha: Double
  /// The softmax temperature β multiplying Q Kᵀ.
  public let beta: Double

  /// A validated problem; α defaults to r and β to 1/√(D/H).
  public init(
    inputs: Tensor, targets: Tensor, frozenWeights: [Projection: Tensor],
    adapters: [Projection: LoRAAdapter], heads: Int, alpha: Double? = nil, beta: Double? = nil
  ) throws {
    let x = inputs.rank == 2 ? try inputs.reshaped([1] + inputs.shape) : inputs
    guard x.rank == 3 else {
      throw LoRAGradError.shapeMismatch(name: "x", expected: "[N, L, D] or [L, D]", given: inputs.shapeDescription)
    }
    let (n, l, d) = (x.shape[0], x.shape[1], x.shape[2])
    guard n >= 1, l >= 1, d >= 1 else {
      throw LoRAGradError.shapeMismatch(
        name: "x", expected: "N ≥ 1 sequences of length L ≥ 1 and width D ≥ 1", given: x.shapeDescription)
    }
    let y = targets.rank == 2 ? try targets.reshaped([1] + targets.shape) : targets
    guard y.shape == x.shape else {
      throw LoRAGradError.shapeMismatch(name: "y", expected: x.shapeDescription, given: targets.shapeDescription)
    }
    guard heads >= 1, d % heads == 0 else {
      throw LoRAGradError.invalidArgument(
        argument: "heads", expected: "a positive divisor of D = \(d)", given: "\(heads)")
    }
    for projection in Projection.allCases {
      guard let w = frozenWeights[projection] else {
        throw LoRAGradError.invalidArgument(
          argument: "w_\(projection.rawValue)", expected: "a frozen [D, D] weight", given: "none")
      }
      guard w.shape == [d, d] else {
        throw LoRAGradError.shapeMismatch(name: "w_\(projection.rawValue)", expected: "[\(d), \(d)]", given: w.shapeDescription)
      }
    }
    var rank: Int?
    for projection in adapters.keys.sorted() {
      let adapter = adapters[projection]!
      let name = projection.rawValue
      guard adapter.a.rank == 2, adapter.a.shape[1] == d, adapter.a.shape[0] >= 1 else {
        throw LoRAGradError.shapeMismatch(name: "lora_a_\(name)", expected: "[r, \(d)]", given: adapter.a.shapeDescription)
      }
      let r = adapter.a.shape[0]
      guard adapter.b.shape == [d, r] else {
        throw LoRAGradError.shapeMismatch(name: "lora_b_\(name)", expected: "[\(d), \(r)]", given: adapter.b.shapeDescription)
      }
      if let rank, rank != r {
        throw LoRAGradError.shapeMismatch(
          name: "lora_a_\(name)", expected: "rank r = \(rank) like the other adapters", given: adapter.a.shapeDescription)
      }
      rank = r
    }
    let alphaValue = alpha ?? Double(rank ?? 1)
    let betaValue = beta ?? 1 / Double(d / heads).squareRoot()
    guard alphaValue.isFinite else {
      throw LoRAGradError.invalidArgument(argument: "alpha", expected: "a finite number", given: "\(alphaValue)")
    }
    guard betaValue.isFinite, betaValue > 0 else {
      throw LoRAGradError.invalidArgument(argument: "beta", expected: "a finite positive number", given: "\(betaValue)")
    }
    // The kernels scale in Float32: β and s = α/r must be normal Float32 numbers (or s = 0).
    guard Float(betaValue).isNormal else {
      throw LoRAGradError.invalidArgument(
        argument: "beta", expected: "a number within Float32's normal range [1.2e-38, 3.4e38]", given: "\(betaValue)")
    }
    let scaleValue = rank.map { alphaValue / Double($0) } ?? 0
    guard Float(scaleValue).isFinite, scaleValue == 0 || Float(scaleValue).isNormal else {
      throw LoRAGradError.invalidArgument(
        argument: "alpha", expected: "a LoRA scale α/r within Float32's normal range [1.2e-38, 3.4e38] or 0", given: "\(alphaValue)")
    }
    var named: [(String, Tensor)] = [("x", x), ("y", y)]
    for projection in Projection.allCases {
      named.append(("w_\(projection.rawValue)", frozenWeights[projection]!))
      if let adapter = adapters[projection] {
        named.append(("lora_a_\(projection.rawValue)", adapter.a))
        named.append(("lora_b_\(projection.rawValue)", adapter.b))
      }
    }
    for (name, tensor) in named {
      if let index = tensor.firstNonFiniteIndex { throw LoRAGradError.nonFinite(name: name, index: index) }
    }
    for (projection, adapter) in adapters {
      let d = x.shape[2], r = adapter.a.shape[0], frozen = frozenWeights[projection]!
      // |W* + s·B·A| ≤ max|W*| + |s|·r·max|B|·max|A| (O(D²)); only when that bound leaves
      // Float32's range are the entries formed one by one (O(D²·r)) to find the one that does.
      func largest(_ values: [Float]) -> Double { Double(values.lazy.map(abs).max() ?? 0) }
      let entryBound = largest(frozen.scalars) + abs(scaleValue) * Double(r) * largest(adapter.b.scalars) * largest(adapter.a.scalars)
      guard entryBound > Double(Float.greatestFiniteMagnitude) else { continue }
      let effective = Self.effectiveWeight(frozen: frozen, adapter: adapter, scale: scaleValue)
      if let index = effective.firstIndex(where: { !Float($0).isFinite }) {
        throw LoRAGradError.outOfRange(
          quantity: "w_\(projection.rawValue) + (alpha/r)·lora_b_\(projection.rawValue)·lora_a_\(projection.rawValue)",
          reason: "expected the effective weight within Float32's range (|w| ≤ 3.4e38), found \(effective[index]) at [\(index / d), \(index % d)]")
      }
    }
    self.inputs = x
    self.targets = y
    self.frozenWeights = frozenWeights
    self.adapters = adapters
    self.heads = heads
    self.alpha = alphaValue
    self.beta = betaValue
  }

  /// The number of sequences N.
  public var batchCount: Int { inputs.shape[0] }
  /// The sequence length L.
  public var sequenceLength: Int { inputs.shape[1] }
  /// The model width D.
  public var modelWidth: Int { inputs.shape[2] }
  /// The head width h = D / H.
  public var headWidth: Int { modelWidth / heads }
  /// The LoRA rank r shared by every adapter (0 when nothing is adapted).
  public var rank: Int { adapters.values.first?.a.shape[0] ?? 0 }
  /// The LoRA scale s = α / r.
  public var loraScale: Double { rank == 0 ? 0 : alpha / Double(rank) }
  /// The adapted projections, in q, k, v order.
  public var adaptedProjections: [Projection] { adapters.keys.sorted() }

  /// The effective weight W_μ = W*_μ + s B_μ A_μ, [D, D], accumulated in Float64.
  public func effectiveWeight(_ projection: Projection) -> [Double] {
    Self.effectiveWeight(frozen: frozenWeights[projection]!, adapter: adapters[projection], scale: loraScale)
  }

  /// W* + s·B·A ([D, D], [out, in]) in Float64; W* alone without an adapter.
  private static func effectiveWeight(frozen: Tensor, adapter: LoRAAdapter?, scale s: Double) -> [Double] {
    var w = frozen.scalars.map(Double.init)
    guard let adapter else { return w }
    let d = frozen.shape[0], r = adapter.a.shape[0]
    for o in 0..<d {
      for i in 0..<d {
        var sum = 0.0
        for t in 0..<r { sum += Double(adapter.b.scalars[o * r + t]) * Double(adapter.a.scalars[t * d + i]) }
        w[o * d + i] += s * sum
      }
    }
    return w
  }

  /// The floating-point operations of the exact loss and gradients, counted as 12·N·L²·D.
  public var exactFlopCount: Double {
    12 * Double(batchCount) * Double(sequenceLength) * Double(sequenceLength) * Double(modelWidth)
  }
}

/// One LoRA-adapted softmax attention layer (SPEC §1.1), as a training stack embeds it:
///   Q = X W_qᵀ + b_q, K = X W_kᵀ + b_k, V = X W_vᵀ + b_v,  W_μ = W*_μ + s·B_μ A_μ,
///   RoPE on Q and K (optional), per head Z_j = softmax(β Q_j K_jᵀ + mask) V_j,  Z = concat_j Z_j,
/// with s = α/r (or α/√r for rsLoRA) and the mask hiding keys j > i (causal) and keys j ≥ ℓ_n
/// (key padding, given per call). `forward` gives Z and the per-row log-sum-exp;
/// `backward` gives every adapter gradient and dX from the caller's dZ.
public struct AttentionLayer: Sendable {
  /// The frozen weights W*_q, W*_k, W*_v, each [D, D] stored [out, in] (PyTorch nn.Linear layout).
  public let frozenWeights: [Projection: Tensor]
  /// The frozen biases b_μ [D] of the projections that have one.
  public let biases: [Projection: Tensor]
  /// The LoRA adapters of the adapted projections (any subset of q, k, v).
  public let adapters: [Projection: LoRAAdapter]
  /// The number of attention heads H; the head width is D / H.
  public let heads: Int
  /// The LoRA scaling numerator α.
  public let alpha: Double
  /// The softmax temperature β multiplying Q Kᵀ.
  public let beta: Double
  /// Whether the LoRA scale is α/√r (rank-stabilised LoRA, PEFT's `use_rslora`) instead of α/r.
  public let useRSLoRA: Bool
  /// Whether query i sees only keys j ≤ i (decoder models).
  public let causal: Bool
  /// The RoPE base θ (Hugging Face Llama's rotate_half convention), or nil for no rotation.
  public let ropeTheta: Double?
  /// W_μ = W*_μ + s·B_μ A_μ in Float32 ([out, in]), formed once in Float64.
  let effectiveWeights: [Projection: [Float]]
  /// The working buffers of this layer's last calls, kept for its next (shared with the layers
  /// `replacingAdapters` makes from it).
  private(set) var buffers = BufferPool()

  /// A validated layer; α defaults to r and β to 1/√(D/H). Every error names the tensor (W_q, A_v,
  /// b_k, …) or setting at fault and what was expected.
  public init(
    frozenWeights: [Projection: Tensor], biases: [Projection: Tensor] = [:], adapters: [Projection: LoRAAdapter],
    heads: Int, alpha: Double? = nil, beta: Double? = nil, useRSLoRA: Bool = false, causal: Bool = false,
    ropeTheta: Double? = nil
  ) throws {
    try self.init(
      frozenWeights: frozenWeights, biases: biases, adapters: adapters, heads: heads, alpha: alpha, beta: beta,
      useRSLoRA: useRSLoRA, causal: causal, ropeTheta: ropeTheta, names: .mathematical)
  }

  /// The validating initialiser, with the names errors use.
  package init(
    frozenWeights: [Projection: Tensor], biases: [Projection: Tensor], adapters: [Projection: LoRAAdapter],
    heads: Int, alpha: Double?, beta: Double?, useRSLoRA: Bool, causal: Bool, ropeTheta: Double?, names: InputNames
  ) throws {
    guard let query = frozenWeights[.query] else {
      throw LoRAGradError.invalidArgument(argument: names.tensor(.frozenWeight(.query)), expected: "a frozen [D, D] weight", given: "none")
    }
    let d = query.shape.first ?? 0
    for projection in Projection.allCases {
      guard let w = frozenWeights[projection] else {
        throw LoRAGradError.invalidArgument(argument: names.tensor(.frozenWeight(projection)), expected: "a frozen [D, D] weight", given: "none")
      }
      guard w.shape == [d, d], d >= 1 else {
        let expected = d >= 1 ? "[D, D] = [\(d), \(d)] like \(names.tensor(.frozenWeight(.query)))" : "[D, D] with D ≥ 1"
        throw LoRAGradError.shapeMismatch(name: names.tensor(.frozenWeight(projection)), expected: expected, given: w.shapeDescription)
      }
      try names.requireFinite(w, .frozenWeight(projection))
      if let b = biases[projection] {
        guard b.shape == [d] else { throw LoRAGradError.shapeMismatch(name: names.tensor(.bias(projection)), expected: "[\(d)]", given: b.shapeDescription) }
        try names.requireFinite(b, .bias(projection))
      }
    }
    guard heads >= 1, d % heads == 0 else {
      throw names.setting("heads", "a positive divisor of D = \(d)", "\(heads)")
    }
    var rank: Int?
    for projection in adapters.keys.sorted() {
      let adapter = adapters[projection]!
      guard adapter.a.rank == 2, adapter.a.shape[1] == d, adapter.a.shape[0] >= 1 else {
        throw LoRAGradError.shapeMismatch(name: names.tensor(.adapterA(projection)), expected: "[r, \(d)]", given: adapter.a.shapeDescription)
      }
      let r = adapter.a.shape[0]
      guard adapter.b.shape == [d, r] else {
        throw LoRAGradError.shapeMismatch(name: names.tensor(.adapterB(projection)), expected: "[\(d), \(r)]", given: adapter.b.shapeDescription)
      }
      if let rank, rank != r {
        throw LoRAGradError.shapeMismatch(
          name: names.tensor(.adapterA(projection)), expected: "rank r = \(rank) like the other adapters", given: adapter.a.shapeDescription)
      }
      rank = r
      try names.requireFinite(adapter.a, .adapterA(projection))
      try names.requireFinite(adapter.b, .adapterB(projection))
    }
    let alphaValue = alpha ?? Double(rank ?? 1)
    let betaValue = beta ?? 1 / Double(d / heads).squareRoot()
    guard alphaValue.isFinite else { throw names.setting("alpha", "a finite number", "\(alphaValue)") }
    // The kernels scale in Float32: √β and s must be normal Float32 numbers (or s = 0).
    guard betaValue.isFinite, betaValue > 0, Float(betaValue.squareRoot()).isNormal, Float(betaValue).isNormal else {
      throw names.setting("beta", "a positive number within Float32's normal range [1.2e-38, 3.4e38]", "\(betaValue)")
    }
    let scale = rank.map { Self.loraScale(alpha: alphaValue, rank: $0, useRSLoRA: useRSLoRA) } ?? 0
    guard Float(scale).isFinite, scale == 0 || Float(scale).isNormal else {
      throw names.setting("alpha", "a LoRA scale \(useRSLoRA ? "α/√r" : "α/r") within Float32's normal range [1.2e-38, 3.4e38] or 0", "\(alphaValue)")
    }
    if let ropeTheta {
      guard ropeTheta.isFinite, ropeTheta > 0 else { throw names.setting("rope_theta", "a finite number > 0", "\(ropeTheta)") }
      guard (d / heads) % 2 == 0 else {
        throw names.setting("rope_theta", "an even head width h = D/H for RoPE (it rotates pairs of columns)", "h = \(d / heads)")
      }
    }
    var effective: [Projection: [Float]] = [:]
    for projection in Projection.allCases {
      effective[projection] = try Self.float32EffectiveWeight(
        projection, frozen: frozenWeights[projection]!, adapter: adapters[projection], scale: scale)
    }
    self.frozenWeights = frozenWeights
    self.biases = biases
    self.adapters = adapters
    self.heads = heads
    self.alpha = alphaValue
    self.beta = betaValue
    self.useRSLoRA = useRSLoRA
    self.causal = causal
    self.ropeTheta = ropeTheta
    self.effectiveWeights = effective
  }

  /// The model width D.
  public var modelWidth: Int { frozenWeights[.query]!.shape[0] }
  /// The head width h = D / H.
  public var headWidth: Int { modelWidth / heads }
  /// The LoRA rank r shared by every adapter (0 when nothing is adapted).
  public var loraRank: Int { adapters.values.first?.a.shape[0] ?? 0 }
  /// The LoRA scale s = α/r, or α/√r with rsLoRA (0 when nothing is adapted).
  public var loraScale: Double { loraRank == 0 ? 0 : Self.loraScale(alpha: alpha, rank: loraRank, useRSLoRA: useRSLoRA) }
  /// The adapted projections, in q, k, v order.
  public var adaptedProjections: [Projection] { adapters.keys.sorted() }

  /// The effective weight W_μ = W*_μ + s·B_μ A_μ, [D, D] ([out, in]), formed in Float64.
  public func effectiveWeight(_ projection: Projection) -> [Double] {
    Self.effectiveWeight(frozen: frozenWeights[projection]!, adapter: adapters[projection], scale: loraScale)
  }

  /// The same layer with other adapters of the same projections and rank, e.g. after an optimiser
  /// step: the frozen weights, biases and settings (already validated) are shared, W_μ is formed
  /// anew for the adapted projections only, and the buffer pool is shared.
  public func replacingAdapters(_ adapters: [Projection: LoRAAdapter]) throws -> AttentionLayer {
    try replacingAdapters(adapters, names: .mathematical)
  }

  /// `replacingAdapters` with the names errors use.
  package func replacingAdapters(_ adapters: [Projection: LoRAAdapter], names: InputNames) throws -> AttentionLayer {
    guard Set(adapters.keys) == Set(self.adapters.keys) else {
      let list = { (keys: [Projection]) in keys.isEmpty ? "none" : keys.map(\.rawValue).joined(separator: ", ") }
      throw LoRAGradError.invalidArgument(
        argument: "adapters", expected: "adapters of the projections this layer adapts (\(list(adaptedProjections)))",
        given: list(adapters.keys.sorted()))
    }
    let r = loraRank, d = modelWidth
    var effective = effectiveWeights
    for projection in adapters.keys.sorted() {
      let adapter = adapters[projection]!
      guard adapter.a.shape == [r, d] else {
        throw LoRAGradError.shapeMismatch(name: names.tensor(.adapterA(projection)), expected: "[r, D] = [\(r), \(d)] as before", given: adapter.a.shapeDescription)
      }
      guard adapter.b.shape == [d, r] else {
        throw LoRAGradError.shapeMismatch(name: names.tensor(.adapterB(projection)), expected: "[D, r] = [\(d), \(r)] as before", given: adapter.b.shapeDescription)
      }
      try names.requireFinite(adapter.a, .adapterA(projection))
      try names.requireFinite(adapter.b, .adapterB(projection))
      effective[projection] = try Self.float32EffectiveWeight(
        projection, frozen: frozenWeights[projection]!, adapter: adapter, scale: loraScale)
    }
    return AttentionLayer(copying: self, adapters: adapters, effectiveWeights: effective)
  }

  /// `layer` with other adapters and their W_μ, sharing everything else (its pool too).
  private init(copying layer: AttentionLayer, adapters: [Projection: LoRAAdapter], effectiveWeights: [Projection: [Float]]) {
    frozenWeights = layer.frozenWeights
    biases = layer.biases
    self.adapters = adapters
    heads = layer.heads
    alpha = layer.alpha
    beta = layer.beta
    useRSLoRA = layer.useRSLoRA
    causal = layer.causal
    ropeTheta = layer.ropeTheta
    self.effectiveWeights = effectiveWeights
    buffers = layer.buffers
  }

  /// W* + s·B·A in Float32 ([D, D], [out, in]), formed in Float64; throws `outOfRange` when an
  /// entry leaves Float32's range.
  static func float32EffectiveWeight(_ projection: Projection, frozen: Tensor, adapter: LoRAAdapter?, scale: Double) throws -> [Float] {
    let d = frozen.shape[0]
    let weight = effectiveWeight(frozen: frozen, adapter: adapter, scale: scale)
    if let index = weight.firstIndex(where: { !Float($0).isFinite }) {
      throw LoRAGradError.outOfRange(
        quantity: "W_\(projection.rawValue) + s·B_\(projection.rawValue) A_\(projection.rawValue)",
        reason: "expected the effective weight within Float32's range (|w| ≤ 3.4e38), found \(weight[index]) at [\(index / d), \(index % d)]")
    }
    return weight.map(Float.init)
  }

  /// Frees the working buffers this layer (and every layer sharing its pool) keeps from its last
  /// two calls for the next; they are freed anyway once two calls have passed without using them.
  public func releaseCachedBuffers() { buffers.release() }

  static func loraScale(alpha: Double, rank: Int, useRSLoRA: Bool) -> Double {
    useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
  }

  /// W* + s·B·A ([D, D], [out, in]) in Float64; W* alone without an adapter.
  static func effectiveWeight(frozen: Tensor, adapter: LoRAAdapter?, scale s: Double) -> [Double] {
    var w = frozen.scalars.map(Double.init)
    guard let adapter else { return w }
    let d = frozen.shape[0], r = adapter.a.shape[0]
    let a = adapter.a.scalars.map(Double.init), b = adapter.b.scalars.map(Double.init)
    for o in 0..<d {
      for i in 0..<d {
        var sum = 0.0
        for t in 0..<r { sum += b[o * r + t] * a[t * d + i] }
        w[o * d + i] += s * sum
      }
    }
    return w
  }
}

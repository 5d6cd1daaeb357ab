/// A layer and a batch to compute on: X, the key lengths, and what the gradient is of, either the
/// squared loss ½ Σ ‖Z − Y‖²_F against targets Y, or the caller's own loss through its dZ.
public struct AttentionProblem: Sendable {
  /// What the gradients are gradients of.
  public enum Objective: Sendable {
    /// loss = ½ Σ_sequences ‖Z − Y‖²_F, so dZ = Z − Y.
    case squaredError(targets: Tensor)
    /// An outside loss whose gradient with respect to Z is given.
    case upstream(Tensor)
  }

  /// The layer.
  public let layer: AttentionLayer
  /// X, [N, L, D] or [L, D].
  public let inputs: Tensor
  /// ℓ_n per sequence, or nil (all keys visible).
  public let keyLengths: [Int]?
  /// Targets or an upstream gradient.
  public let objective: Objective

  /// A validated problem: X, the key lengths and Y or dZ must fit the layer.
  public init(layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]? = nil, objective: Objective) throws {
    try self.init(layer: layer, inputs: inputs, keyLengths: keyLengths, objective: objective, names: .mathematical)
  }

  /// The validating initialiser, with the names errors use.
  package init(layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, objective: Objective, names: InputNames) throws {
    let batch = try LayerBatch(layer, inputs: inputs, keyLengths: keyLengths, names: names)
    switch objective {
    case .squaredError(let targets): try batch.requireLikeInputs(targets, .targets, names: names)
    case .upstream(let dz): try batch.requireLikeInputs(dz, .upstream, names: names)
    }
    self.layer = layer
    self.inputs = inputs
    self.keyLengths = keyLengths
    self.objective = objective
  }

  /// The number of sequences N.
  public var batchCount: Int { inputs.rank == 3 ? inputs.shape[0] : 1 }
  /// The sequence length L.
  public var sequenceLength: Int { inputs.shape[inputs.rank - 2] }
  /// The sizes and masks the cost model sees.
  public var shape: AttentionShape {
    AttentionShape(
      sequences: batchCount, length: sequenceLength, heads: layer.heads, headWidth: layer.headWidth, causal: layer.causal,
      keyLengths: keyLengths)
  }

  /// The loss (for the squared error) and the gradient of every adapter matrix and (when
  /// `inputGradient`) of X: one forward and one backward pass of the layer by `method`.
  public func gradients(method: AttentionMethod = .exact, inputGradient: Bool = true, options: ExecutionOptions) throws -> Gradients {
    let forward = try layer.forward(inputs, keyLengths: keyLengths, method: method, options: options)
    let upstream: Tensor, loss: Double?
    switch objective {
    case .squaredError(let targets):
      let (difference, sum) = Self.squaredError(forward.output, targets: targets)
      upstream = try Tensor(shape: forward.output.shape, scalars: difference)
      loss = sum
      guard sum.isFinite else {
        throw LoRAGradError.outOfRange(quantity: "loss", reason: "overflowed on the \(forward.path.rawValue) path; rescale x or the weights")
      }
    case .upstream(let dz):
      upstream = dz
      loss = nil
    }
    let backward = try layer.backward(inputs, saved: forward, upstream: upstream, inputGradient: inputGradient, options: options)
    var result = Gradients(
      loss: loss, adapters: backward.adapters, input: backward.input, path: forward.path, regime: forward.regime, check: forward.check)
    result.errorBounds = backward.errorBounds
    result.precision = backward.precision
    result.entrywiseErrorBounds = backward.entrywiseErrorBounds
    result.outputErrorBound = forward.outputErrorBound
    if let loss, let bound = forward.entrywiseOutputBound {
      // |Δ ½‖Z − Y‖²| ≤ Σ |Z − Y|·B + ½ Σ B² for |ΔZ| ≤ B entrywise.
      var change = 0.0
      for (difference, b) in zip(upstream.scalars, bound.scalars) { change += abs(Double(difference)) * Double(b) + 0.5 * Double(b) * Double(b) }
      result.lossErrorBound = loss > 0 ? change / loss : change
    }
    return result
  }

  /// The regime at the polynomial settings (see `AttentionLayer.regime`).
  public func regime(settings: PolynomialSettings, options: ExecutionOptions) throws -> Regime {
    try layer.regime(inputs, keyLengths: keyLengths, settings: settings, options: options)
  }

  /// The regime at tolerance ε with default settings.
  public func regime(tolerance: Double, options: ExecutionOptions = .serial) throws -> Regime {
    try regime(settings: PolynomialSettings(tolerance: tolerance), options: options)
  }
}

/// The loss, the gradient of every adapter matrix and of X, and how they were obtained.
public struct Gradients: Sendable {
  /// The squared loss ½ Σ ‖Z − Y‖²_F accumulated in Float64 (nil for an upstream objective).
  public var loss: Double?
  /// For each adapted projection μ, the pair (∂loss/∂A_μ [r, D], ∂loss/∂B_μ [D, r]).
  public var adapters: [Projection: LoRAAdapter]
  /// ∂loss/∂X, the shape of X (nil when not asked for).
  public var input: Tensor?
  /// The path that ran.
  public var path: AttentionPath
  /// The arithmetic of the exact path's products (Float32 on the other paths).
  public var precision: ExactPrecision = .float32
  /// The regime analysis (polynomial and auto methods).
  public var regime: Regime?
  /// The observed error on sampled rows, when a check was requested.
  public var check: PolynomialCheck?
  /// Polynomial path: bounds on max|g̃ − g| / max|g| per adapter matrix and dX (see `LayerGradients.errorBounds`).
  public var errorBounds: [TensorRole: Double]?
  /// Polynomial path: a bound on max|Z̃ − Z| / max|Z|.
  public var outputErrorBound: Double?
  /// Polynomial path, squared loss: a bound on |loss̃ − loss| / loss.
  public var lossErrorBound: Double?
  /// The entrywise bounds behind `errorBounds`.
  var entrywiseErrorBounds: [TensorRole: Tensor]?

  /// A result from its parts.
  public init(
    loss: Double?, adapters: [Projection: LoRAAdapter], input: Tensor?, path: AttentionPath, regime: Regime? = nil,
    check: PolynomialCheck? = nil
  ) {
    self.loss = loss
    self.adapters = adapters
    self.input = input
    self.path = path
    self.regime = regime
    self.check = check
  }

  /// max over the adapter matrices (and dX, when both have it) of max|g − g_ref| / max|g_ref| (∞
  /// when an adapter is missing): the error measure of the accuracy targets and of `compare.py`.
  public func maxRelativeDifference(from reference: Gradients, includingInput: Bool = true) -> Double {
    var worst = 0.0
    for (projection, expected) in reference.adapters {
      guard let actual = adapters[projection] else { return .infinity }
      worst = max(worst, actual.a.maxRelativeDifference(from: expected.a), actual.b.maxRelativeDifference(from: expected.b))
    }
    if includingInput, let input, let expected = reference.input { worst = max(worst, input.maxRelativeDifference(from: expected)) }
    return worst
  }
}

extension Tensor {
  /// max|x − y| / max|y| (the absolute difference when y is all zero; ∞ for other shapes).
  public func maxRelativeDifference(from reference: Tensor) -> Double {
    guard shape == reference.shape else { return .infinity }
    let scale = reference.scalars.lazy.map { abs(Double($0)) }.max() ?? 0
    let error = zip(scalars, reference.scalars).lazy.map { abs(Double($0) - Double($1)) }.max() ?? 0
    return scale == 0 ? error : error / scale
  }
}

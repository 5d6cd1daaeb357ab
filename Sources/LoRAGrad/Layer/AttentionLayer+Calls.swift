extension AttentionLayer {
  /// Z and the per-row log-sum-exp for inputs X ([N, L, D] or [L, D]), keys j ≥ ℓ_n of sequence
  /// n hidden when `keyLengths` is given (Hugging Face attention_mask semantics), by `method`.
  public func forward(
    _ inputs: Tensor, keyLengths: [Int]? = nil, method: AttentionMethod = .exact, options: ExecutionOptions
  ) throws -> LayerForward {
    try buffers.during {
      try LayerPipeline.forward(self, batch: LayerBatch(self, inputs: inputs, keyLengths: keyLengths), method: method, options: options)
    }
  }

  /// ∂loss/∂A_μ, ∂loss/∂B_μ for every adapted μ and dX, from the caller's dZ = ∂loss/∂Z (the
  /// shape of X), by the path `saved` took; dX only when `inputGradient` (the first layer of a
  /// model needs none). `inputs` must be the X of that forward pass.
  public func backward(
    _ inputs: Tensor, saved: LayerForward, upstream: Tensor, inputGradient: Bool = true, options: ExecutionOptions
  ) throws -> LayerGradients {
    try buffers.during {
      try LayerPipeline.backward(
        self, batch: LayerBatch(self, inputs: inputs, keyLengths: saved.keyLengths), saved: saved, upstream: upstream,
        inputGradient: inputGradient, options: options)
    }
  }

  /// `forward` as one rank of a sequence split (the polynomial method): Z and lse of the shard's
  /// rows (`LayerForward.ownRows`), zero elsewhere; every rank passes the whole batch.
  package func forward(
    _ inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions, shard: SequenceShard
  ) throws -> LayerForward {
    try buffers.during {
      try LayerPipeline.forward(self, batch: LayerBatch(self, inputs: inputs, keyLengths: keyLengths), method: method, options: options, shard: shard)
    }
  }

  /// `backward` as one rank of a sequence split: the adapter gradients of the shard's rows (to be
  /// summed over the ranks) and dX of those rows only, [N, ownRows.count, D] (so are its bounds).
  package func backward(
    _ inputs: Tensor, saved: LayerForward, upstream: Tensor, inputGradient: Bool, options: ExecutionOptions, shard: SequenceShard
  ) throws -> LayerGradients {
    try buffers.during {
      try LayerPipeline.backward(
        self, batch: LayerBatch(self, inputs: inputs, keyLengths: saved.keyLengths), saved: saved, upstream: upstream,
        inputGradient: inputGradient, options: options, shard: shard)
    }
  }

  /// The regime of the inputs at tolerance ε: R, Γ, the degree and features the polynomial path
  /// would need, the predicted cost of both paths and the verdict. Costs the projections and one
  /// O(N·H·L·h) pass over the norms.
  public func regime(
    _ inputs: Tensor, keyLengths: [Int]? = nil, settings: PolynomialSettings, options: ExecutionOptions
  ) throws -> Regime {
    try buffers.during {
      try LayerPipeline.regime(self, batch: LayerBatch(self, inputs: inputs, keyLengths: keyLengths), settings: settings, options: options)
    }
  }
}

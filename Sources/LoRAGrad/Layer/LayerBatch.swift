/// The inputs of one call, validated against the layer: X as [N, L, D], the key lengths, and
/// the shape the cost model and the kernels see.
struct LayerBatch {
  /// X, [N, L, D] (a [L, D] input is viewed as N = 1).
  let inputs: Tensor
  /// ℓ_n per sequence, or nil (all keys visible).
  let keyLengths: [Int]?
  /// N, L, H, h and the masks.
  let shape: AttentionShape
  /// Whether the caller passed X as [L, D] (outputs then keep that shape).
  let unbatched: Bool

  /// Checks X (rank 2 or 3, width D, N, L ≥ 1, finite) and the key lengths (N of them, each in 1…L).
  init(_ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, names: InputNames = .mathematical) throws {
    let name = names.tensor(.inputs)
    let d = layer.modelWidth
    let x = inputs.rank == 2 ? try inputs.reshaped([1] + inputs.shape) : inputs
    guard x.rank == 3, x.shape[2] == d else {
      throw LoRAGradError.shapeMismatch(name: name, expected: "[N, L, D] = [N, L, \(d)] or [L, D] = [L, \(d)]", given: inputs.shapeDescription)
    }
    guard x.shape[0] >= 1, x.shape[1] >= 1 else {
      throw LoRAGradError.shapeMismatch(name: name, expected: "N ≥ 1 sequences of length L ≥ 1", given: inputs.shapeDescription)
    }
    try names.requireFinite(x, .inputs)
    let (n, l) = (x.shape[0], x.shape[1])
    if let keyLengths {
      guard keyLengths.count == n else {
        throw names.setting("lengths", "one key length per sequence (N = \(n))", "\(keyLengths.count) lengths")
      }
      if let bad = keyLengths.firstIndex(where: { $0 < 1 || $0 > l }) {
        throw names.setting("lengths", "every key length in 1…L = 1…\(l)", "\(keyLengths[bad]) for sequence \(bad)")
      }
    }
    self.inputs = x
    self.keyLengths = keyLengths
    self.unbatched = inputs.rank == 2
    shape = AttentionShape(
      sequences: n, length: l, heads: layer.heads, headWidth: layer.headWidth, causal: layer.causal, keyLengths: keyLengths)
  }

  /// A [N, L, D] tensor from the kernels, in the caller's shape.
  func callerShaped(_ scalars: [Float]) -> Tensor {
    Tensor(checkedShape: unbatched ? Array(inputs.shape.dropFirst()) : inputs.shape, scalars: scalars)
  }

  /// Checks that a per-row tensor (dZ, a saved Z) has X's shape and finite entries.
  func requireLikeInputs(_ tensor: Tensor, _ role: TensorRole, names: InputNames = .mathematical) throws {
    let expected = unbatched ? Array(inputs.shape.dropFirst()) : inputs.shape
    guard tensor.shape == expected else {
      throw LoRAGradError.shapeMismatch(
        name: names.tensor(role), expected: Tensor.describe(expected) + " (like X)",
        given: tensor.shapeDescription)
    }
    try names.requireFinite(tensor, role)
  }
}

/// What a tensor is in the layer, named in the mathematics' own words ("W_q", "A_v", "dZ").
public enum TensorRole: Hashable, Sendable, CustomStringConvertible {
  /// X, the layer's input.
  case inputs
  /// Y, the targets of the squared loss.
  case targets
  /// dZ, the gradient of the caller's loss with respect to the layer's output.
  case upstream
  /// Z, a saved forward output.
  case output
  /// The per-row log-sum-exp saved by a forward pass.
  case logSumExp
  /// W*_μ, a frozen weight [D, D] ([out, in]).
  case frozenWeight(Projection)
  /// b_μ, a frozen bias [D].
  case bias(Projection)
  /// A_μ, the LoRA down-projection [r, D].
  case adapterA(Projection)
  /// B_μ, the LoRA up-projection [D, r].
  case adapterB(Projection)

  /// "X", "Y", "dZ", "Z", "lse", "W_q", "b_k", "A_v", "B_q".
  public var description: String {
    switch self {
    case .inputs: return "X"
    case .targets: return "Y"
    case .upstream: return "dZ"
    case .output: return "Z"
    case .logSumExp: return "lse"
    case .frozenWeight(let p): return "W_\(p.rawValue)"
    case .bias(let p): return "b_\(p.rawValue)"
    case .adapterA(let p): return "A_\(p.rawValue)"
    case .adapterB(let p): return "B_\(p.rawValue)"
    }
  }
}

/// How validation errors name what they are about: tensors by role, settings by key. The Swift
/// API names them in the mathematics' words; a loader of files names the files and keys instead
/// (so an error says `problem/lora_a_q.npy` or `problem/config.json`, never a stem to map back).
package struct InputNames: Sendable {
  /// The name of a tensor in messages.
  package var tensor: @Sendable (TensorRole) -> String
  /// The error for a setting (key as in config.json: "heads", "alpha", "beta", "rope_theta",
  /// "lengths") outside its domain.
  package var setting: @Sendable (_ key: String, _ expected: String, _ given: String) -> LoRAGradError

  package init(
    tensor: @escaping @Sendable (TensorRole) -> String,
    setting: @escaping @Sendable (_ key: String, _ expected: String, _ given: String) -> LoRAGradError
  ) {
    self.tensor = tensor
    self.setting = setting
  }

  /// Names of the Swift API: roles as "W_q", settings as invalid arguments.
  package static let mathematical = InputNames(
    tensor: { $0.description },
    setting: { key, expected, given in .invalidArgument(argument: key, expected: expected, given: given) })

  /// Throws `nonFinite` naming `role` if `tensor` holds NaN or ±Inf.
  func requireFinite(_ tensor: Tensor, _ role: TensorRole) throws {
    if let index = tensor.firstNonFiniteIndex { throw LoRAGradError.nonFinite(name: self.tensor(role), index: index) }
  }
}

import LoRAGrad

/// The inputs of a model layer given as `.npy` files (`--input x.npy`, `--targets y.npy` or
/// `--upstream dz.npy`, `--lengths`): the same problems a problem directory holds, with errors
/// naming those files and the model's keys.
extension ModelLayer {
  /// The layer and X (no objective: what `forward` and `regime` read).
  public func inputs(_ inputsPath: String, keyLengths: [Int]?) throws -> ProblemDirectory.LayerInputs {
    let x = try NumPyArray.read(path: inputsPath)
    _ = try AttentionProblem(layer: layer, inputs: x, keyLengths: keyLengths, objective: .upstream(x), names: fileNames(inputs: inputsPath))
    return ProblemDirectory.LayerInputs(layer: layer, inputs: x, keyLengths: keyLengths)
  }

  /// The problem: X and exactly one of Y (squared loss) and dZ (upstream gradient).
  public func problem(inputs inputsPath: String, targets: String?, upstream: String?, keyLengths: [Int]?) throws -> AttentionProblem {
    let x = try NumPyArray.read(path: inputsPath)
    let objective: AttentionProblem.Objective
    switch (targets, upstream) {
    case (let y?, nil): objective = .squaredError(targets: try NumPyArray.read(path: y))
    case (nil, let dz?): objective = .upstream(try NumPyArray.read(path: dz))
    case (_?, _?):
      throw LoRAGradError.invalidArgument(argument: "--upstream", expected: "either --targets y.npy or --upstream dz.npy", given: "both")
    case (nil, nil):
      throw LoRAGradError.invalidArgument(argument: "--targets", expected: "--targets y.npy (squared loss) or --upstream dz.npy", given: "neither")
    }
    return try AttentionProblem(
      layer: layer, inputs: x, keyLengths: keyLengths, objective: objective,
      names: fileNames(inputs: inputsPath, targets: targets, upstream: upstream))
  }

  /// The names of this layer with X, Y and dZ named by their files.
  private func fileNames(inputs: String, targets: String? = nil, upstream: String? = nil) -> InputNames {
    let tensor = names.tensor
    return InputNames(
      tensor: { role in
        switch role {
        case .inputs: return inputs
        case .targets: return targets ?? "--targets"
        case .upstream: return upstream ?? "--upstream"
        default: return tensor(role)
        }
      },
      setting: { key, expected, given in
        key == "lengths" ? .invalidArgument(argument: "--lengths", expected: expected, given: given) : names.setting(key, expected, given)
      })
  }
}

import LoRAGrad

/// Problem directories (SPEC §5): x.npy, y.npy (squared loss) or dz.npy (upstream gradient),
/// w_q/k/v.npy, optional b_q/k/v.npy, optional lora_a_μ.npy / lora_b_μ.npy pairs and an optional
/// config.json. Every error names the file (or config key) at fault.
public enum ProblemDirectory {
  /// The layer, inputs and key lengths of a problem directory (no y.npy or dz.npy needed: what
  /// `forward` and `regime` read).
  public struct LayerInputs: Sendable {
    /// The layer of w_μ, b_μ, lora_a_μ, lora_b_μ and config.json.
    public let layer: AttentionLayer
    /// x.npy.
    public let inputs: Tensor
    /// config.json's "lengths".
    public let keyLengths: [Int]?

    /// The layer with its inputs.
    public init(layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?) {
      self.layer = layer
      self.inputs = inputs
      self.keyLengths = keyLengths
    }
  }

  /// The layer and inputs stored in `directory`.
  public static func loadInputs(_ directory: String) throws -> LayerInputs {
    let files = try Files(directory)
    let x = try NumPyArray.read(path: files.path(.inputs))
    let layer = try files.layer()
    // Validates X and the key lengths against the layer, naming the files.
    _ = try AttentionProblem(layer: layer, inputs: x, keyLengths: files.config.lengths, objective: .upstream(x), names: files.names)
    return LayerInputs(layer: layer, inputs: x, keyLengths: files.config.lengths)
  }

  /// The problem stored in `directory`: its layer and inputs, and y.npy or dz.npy.
  public static func load(_ directory: String) throws -> AttentionProblem {
    let files = try Files(directory)
    let x = try NumPyArray.read(path: files.path(.inputs))
    let objective: AttentionProblem.Objective
    switch (files.present(.targets), files.present(.upstream)) {
    case (true, false): objective = .squaredError(targets: try NumPyArray.read(path: files.path(.targets)))
    case (false, true): objective = .upstream(try NumPyArray.read(path: files.path(.upstream)))
    case (true, true):
      throw LoRAGradError.fileSystem(
        path: files.path(.upstream), reason: "ambiguous: \(ProblemFiles.name(.targets)) is present too; keep y.npy (squared loss) or dz.npy (upstream gradient)")
    case (false, false):
      throw LoRAGradError.fileSystem(path: files.path(.targets), reason: "missing: a problem needs y.npy (targets) or dz.npy (an upstream gradient)")
    }
    return try AttentionProblem(layer: try files.layer(), inputs: x, keyLengths: files.config.lengths, objective: objective, names: files.names)
  }

  /// One problem directory being read: its paths, its config and how errors name its files.
  private struct Files {
    let directory: String
    let configPath: String
    let config: ProblemConfig
    let names: InputNames

    init(_ directory: String) throws {
      let (exists, isDirectory) = FileAccess.kind(of: directory)
      guard exists else { throw LoRAGradError.fileSystem(path: directory, reason: "no such problem directory") }
      guard isDirectory else { throw LoRAGradError.fileSystem(path: directory, reason: "is not a directory, expected a problem directory") }
      self.directory = directory
      try ProblemDirectory.rejectStrayInputs(directory)
      let configPath = FileAccess.join(directory, ProblemFiles.config)
      self.configPath = configPath
      config = try ProblemConfig.read(path: configPath) ?? ProblemConfig()
      names = InputNames(
        tensor: { FileAccess.join(directory, ProblemFiles.name($0)) },
        setting: { key, expected, given in .invalidFile(path: configPath, expected: "\"\(key)\" to be \(expected), found \(given)") })
    }

    func path(_ role: TensorRole) -> String { FileAccess.join(directory, ProblemFiles.name(role)) }
    func present(_ role: TensorRole) -> Bool { FileAccess.kind(of: path(role)).exists }

    /// The layer of the weight, bias and adapter files and the config.
    func layer() throws -> AttentionLayer {
      var weights: [Projection: Tensor] = [:], biases: [Projection: Tensor] = [:], adapters: [Projection: LoRAAdapter] = [:]
      for projection in Projection.allCases {
        weights[projection] = try NumPyArray.read(path: path(.frozenWeight(projection)))
        if present(.bias(projection)) { biases[projection] = try NumPyArray.read(path: path(.bias(projection))) }
        let (a, b) = (TensorRole.adapterA(projection), TensorRole.adapterB(projection))
        switch (present(a), present(b)) {
        case (false, false): continue
        case (true, true):
          adapters[projection] = LoRAAdapter(a: try NumPyArray.read(path: path(a)), b: try NumPyArray.read(path: path(b)))
        case (true, false), (false, true):
          let (have, missing) = present(a) ? (a, b) : (b, a)
          throw LoRAGradError.fileSystem(
            path: path(missing),
            reason: "missing: \(ProblemFiles.name(have)) is present, and an adapter needs both \(ProblemFiles.name(a)) and \(ProblemFiles.name(b))")
        }
      }
      if let rank = config.rank, let (projection, adapter) = adapters.first(where: { $0.value.a.shape.first != rank }) {
        throw LoRAGradError.invalidFile(
          path: configPath, expected: "\"r\" to match the adapters, but \(ProblemFiles.name(.adapterA(projection))) has shape \(adapter.a.shapeDescription) and r = \(rank)")
      }
      return try AttentionLayer(
        frozenWeights: weights, biases: biases, adapters: adapters, heads: config.heads ?? 1, alpha: config.alpha, beta: config.beta,
        useRSLoRA: config.useRSLoRA ?? false, causal: config.causal ?? false, ropeTheta: config.ropeTheta, names: names)
    }
  }

  /// Writes the problem into `directory` (created if missing) atomically: float32 `.npy` files
  /// and a config.json; input files the problem does not have are removed.
  public static func write(_ problem: AttentionProblem, to directory: String) throws {
    let layer = problem.layer
    var files: [(name: String, bytes: [UInt8])] = [(ProblemFiles.name(.inputs), NumPyArray.encode(problem.inputs))]
    switch problem.objective {
    case .squaredError(let targets): files.append((ProblemFiles.name(.targets), NumPyArray.encode(targets)))
    case .upstream(let dz): files.append((ProblemFiles.name(.upstream), NumPyArray.encode(dz)))
    }
    for projection in Projection.allCases {
      files.append((ProblemFiles.name(.frozenWeight(projection)), NumPyArray.encode(layer.frozenWeights[projection]!)))
      if let bias = layer.biases[projection] { files.append((ProblemFiles.name(.bias(projection)), NumPyArray.encode(bias))) }
      if let adapter = layer.adapters[projection] {
        files.append((ProblemFiles.name(.adapterA(projection)), NumPyArray.encode(adapter.a)))
        files.append((ProblemFiles.name(.adapterB(projection)), NumPyArray.encode(adapter.b)))
      }
    }
    let config = ProblemConfig(
      heads: layer.heads, alpha: layer.alpha, beta: layer.beta, causal: layer.causal ? true : nil,
      useRSLoRA: layer.useRSLoRA ? true : nil, ropeTheta: layer.ropeTheta, lengths: problem.keyLengths)
    files.append((ProblemFiles.config, config.encoded()))
    let written = Set(files.map(\.name))
    let stale = ProblemFiles.inputRoles.map(ProblemFiles.name).filter { !written.contains($0) }
    try AtomicWrite.write(files, into: directory, removing: stale)
  }

  /// Throws for a file that looks like a projection input but names none (b_x.npy, lora_a_o.npy).
  fileprivate static func rejectStrayInputs(_ directory: String) throws {
    let known = Set(ProblemFiles.inputRoles.map(ProblemFiles.name))
    for name in try FileAccess.entries(of: directory) where name.hasSuffix(".npy") && !known.contains(name) {
      guard ProblemFiles.projectionPrefixes.contains(where: { name.hasPrefix($0) }) else { continue }
      throw LoRAGradError.fileSystem(
        path: FileAccess.join(directory, name),
        reason: "not a known input: projection files are w_μ, b_μ, lora_a_μ, lora_b_μ with μ ∈ {q, k, v}")
    }
  }
}

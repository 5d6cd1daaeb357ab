/// Loading and saving problem directories (SPEC §5): `x.npy`, `y.npy`, `w_q.npy`, `w_k.npy`,
/// `w_v.npy`, optional pairs `lora_a_μ.npy` / `lora_b_μ.npy` and an optional `config.json`.
extension AttentionProblem {
  /// The problem stored in `directory`; every error names the file at fault.
  public init(directory: String) throws {
    self = try Self.load(directory: directory)
  }

  /// Writes the problem into `directory` (created if missing) atomically: float32 `.npy` files and a
  /// `config.json` with heads, alpha and beta. Adapter files of unadapted projections are removed.
  public func write(directory: String) throws {
    var files: [(name: String, bytes: [UInt8])] = [
      ("x.npy", NumPyArray.encode(inputs)), ("y.npy", NumPyArray.encode(targets)),
    ]
    var stale: [String] = []
    for projection in Projection.allCases {
      let name = projection.rawValue
      if let weight = frozenWeights[projection] { files.append(("w_\(name).npy", NumPyArray.encode(weight))) }
      if let adapter = adapters[projection] {
        files.append(("lora_a_\(name).npy", NumPyArray.encode(adapter.a)))
        files.append(("lora_b_\(name).npy", NumPyArray.encode(adapter.b)))
      } else {
        stale += ["lora_a_\(name).npy", "lora_b_\(name).npy"]
      }
    }
    files.append(("config.json", ProblemConfig(heads: heads, alpha: alpha, beta: beta).encoded()))
    try AtomicWrite.write(files, into: directory, removing: stale)
  }

  private static func load(directory: String) throws -> AttentionProblem {
    let (exists, isDirectory) = FileAccess.kind(of: directory)
    guard exists else { throw LoRAGradError.fileSystem(path: directory, reason: "no such problem directory") }
    guard isDirectory else {
      throw LoRAGradError.fileSystem(path: directory, reason: "is not a directory, expected a problem directory")
    }
    func path(_ stem: String) -> String { FileAccess.join(directory, stem + ".npy") }
    let x = try NumPyArray.read(path: path("x"))
    let y = try NumPyArray.read(path: path("y"))
    var weights: [Projection: Tensor] = [:]
    for projection in Projection.allCases {
      weights[projection] = try NumPyArray.read(path: path("w_\(projection.rawValue)"))
    }
    var adapters: [Projection: LoRAAdapter] = [:]
    for projection in Projection.allCases {
      let (a, b) = ("lora_a_\(projection.rawValue)", "lora_b_\(projection.rawValue)")
      switch (FileAccess.kind(of: path(a)).exists, FileAccess.kind(of: path(b)).exists) {
      case (false, false): continue
      case (true, false), (false, true):
        let (present, missing) = FileAccess.kind(of: path(a)).exists ? (a, b) : (b, a)
        throw LoRAGradError.fileSystem(
          path: path(missing),
          reason: "missing: \(present).npy is present, and an adapter needs both \(a).npy and \(b).npy")
      case (true, true):
        adapters[projection] = LoRAAdapter(a: try NumPyArray.read(path: path(a)), b: try NumPyArray.read(path: path(b)))
      }
    }
    let configPath = FileAccess.join(directory, "config.json")
    let config = try ProblemConfig.read(path: configPath)
    do {
      return try AttentionProblem(
        inputs: x, targets: y, frozenWeights: weights, adapters: adapters,
        heads: config?.heads ?? 1, alpha: config?.alpha, beta: config?.beta)
    } catch let error as LoRAGradError {
      throw namingFiles(error, npyPath: path, configPath: config == nil ? nil : configPath)
    }
  }

  /// The validation error with each tensor name ("x", "lora_a_q") replaced by its file's path,
  /// and a bad heads/alpha/beta reported against `config.json`.
  private static func namingFiles(
    _ error: LoRAGradError, npyPath: (String) -> String, configPath: String?
  ) -> LoRAGradError {
    let stems = ["x", "y"] + Projection.allCases.flatMap { p in ["w_", "lora_a_", "lora_b_"].map { $0 + p.rawValue } }
    switch error {
    case .shapeMismatch(let name, let expected, let given) where stems.contains(name):
      return .shapeMismatch(name: npyPath(name), expected: expected, given: given)
    case .nonFinite(let name, let index) where stems.contains(name):
      return .nonFinite(name: npyPath(name), index: index)
    case .invalidArgument(let argument, let expected, let given)
    where configPath != nil && ["heads", "alpha", "beta"].contains(argument):
      return .invalidFile(
        path: configPath ?? "config.json", expected: "\"\(argument)\" to be \(expected), found \(given)")
    default:
      return error
    }
  }
}

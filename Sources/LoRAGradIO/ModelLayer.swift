import LoRAGrad

/// One attention layer of a Hugging Face model (`model.safetensors` and its `config.json`) with a
/// PEFT LoRA adapter directory (`adapter_model.safetensors`, `adapter_config.json`), SPEC §5: the
/// projections found under the module path in either spelling (BERT `query/key/value`, Llama
/// `q_proj/k_proj/v_proj`), biases when the model has them, heads, causality and RoPE from the
/// config unless overridden, rank and scale from the adapter config.
public struct ModelLayer: Sendable {
  /// Settings given on the command line; each replaces what the model's config.json says.
  public struct Overrides: Sendable {
    /// The heads H.
    public var heads: Int?
    /// Causal or not.
    public var causal: Bool?
    /// The RoPE base: .some(nil) switches RoPE off.
    public var ropeTheta: Double??
    /// The softmax temperature β (default 1/√h).
    public var beta: Double?
    /// Nothing overridden.
    public init(heads: Int? = nil, causal: Bool? = nil, ropeTheta: Double?? = nil, beta: Double? = nil) {
      self.heads = heads
      self.causal = causal
      self.ropeTheta = ropeTheta
      self.beta = beta
    }
  }

  /// The projection names of the two spellings, in q, k, v order.
  public static let spellings: [[Projection: String]] = [
    [.query: "query", .key: "key", .value: "value"], [.query: "q_proj", .key: "k_proj", .value: "v_proj"],
  ]

  /// The layer with the adapter's current values.
  public let layer: AttentionLayer
  /// The module path of the attention block as the model file spells it (prefix included).
  public let modulePath: String
  /// The adapter file's key of A_μ and B_μ for each adapted projection.
  public let adapterKeys: [Projection: (a: String, b: String)]
  /// The adapter file.
  public let adapterFile: SafeTensorsFile
  /// The adapter config.
  public let adapterConfig: PEFTAdapterConfig
  /// How errors name this layer's tensors (model and adapter keys) and config settings.
  package let names: InputNames

  /// Loads the layer at `modulePath` (a dotted path; a prefix such as `bert.` or `model.` is found).
  public static func load(
    model modelPath: String, modelConfig configPath: String?, adapter adapterDirectory: String, layer modulePath: String,
    overrides: Overrides = Overrides()
  ) throws -> ModelLayer {
    let model = try SafeTensorsFile.open(modelPath)
    let configPath = configPath ?? FileAccess.join(parentDirectory(of: modelPath), "config.json")
    let config = try ModelConfig.read(path: configPath)
    let adapterConfigPath = FileAccess.join(adapterDirectory, "adapter_config.json")
    let adapterConfig = try PEFTAdapterConfig.read(path: adapterConfigPath)
    let adapterPath = FileAccess.join(adapterDirectory, "adapter_model.safetensors")
    let adapter = try SafeTensorsFile.open(adapterPath)

    // The spelling and the prefix: the one way the model file holds all three weights.
    var found: (names: [Projection: String], prefix: String)?
    for spelling in spellings {
      let suffix = "\(modulePath).\(spelling[.query]!).weight"
      let prefixes = model.names.compactMap { key -> String? in
        if key == suffix { return "" }
        return key.hasSuffix("." + suffix) ? String(key.dropLast(suffix.count)) : nil
      }
      if prefixes.count > 1 {
        throw LoRAGradError.invalidFile(path: modelPath, expected: "one module \"\(modulePath)\", found it under \(prefixes.map { "\"\($0)\"" }.joined(separator: ", "))")
      }
      if let prefix = prefixes.first { found = (spelling, prefix) }
    }
    guard let (names, prefix) = found else {
      let example = model.names.first { $0.hasSuffix(".query.weight") || $0.hasSuffix(".q_proj.weight") }
      throw LoRAGradError.invalidFile(
        path: modelPath,
        expected: "a weight \"\(modulePath).query.weight\" or \"\(modulePath).q_proj.weight\" (with any prefix)"
          + (example.map { "; the file has e.g. \"\($0)\", so --layer might be \"\($0.split(separator: ".").dropLast(2).joined(separator: "."))\"" } ?? ""))
    }
    let module = prefix + modulePath
    var weights: [Projection: Tensor] = [:], biases: [Projection: Tensor] = [:]
    for projection in Projection.allCases {
      let key = "\(module).\(names[projection]!)"
      var weight = try model.tensor(key + ".weight")
      if adapterConfig.fanInFanOut { weight = try transposed(weight, name: key + ".weight", path: modelPath) }
      weights[projection] = weight
      if model.contains(key + ".bias") { biases[projection] = try model.tensor(key + ".bias") }
    }

    // The adapter: keys ending in "<module path>.<name>.lora_A.weight", ranks and α per module.
    var adapters: [Projection: LoRAAdapter] = [:], keys: [Projection: (a: String, b: String)] = [:]
    var scales: [(Projection, rank: Int, alpha: Double)] = []
    var targetedAbsent: [String] = []
    for projection in Projection.allCases {
      let name = "\(modulePath).\(names[projection]!)"
      func key(_ part: String) throws -> String? {
        let suffix = "\(name).\(part).weight"
        let matches = adapter.names.filter { $0 == suffix || $0.hasSuffix("." + suffix) }
        guard matches.count <= 1 else {
          throw LoRAGradError.invalidFile(path: adapterPath, expected: "one tensor ending in \"\(suffix)\", found \(matches.count)")
        }
        return matches.first
      }
      let (aKey, bKey) = (try key("lora_A"), try key("lora_B"))
      let targeted = adapterConfig.targets(module + "." + names[projection]!)
      switch (aKey, bKey) {
      case (nil, nil):
        if targeted, adapterConfig.targets != nil { targetedAbsent.append(name) }
        continue
      case (let aKey?, let bKey?):
        guard targeted else {
          throw LoRAGradError.invalidFile(
            path: adapterConfigPath, expected: "\"target_modules\" to include \"\(names[projection]!)\": adapter_model.safetensors adapts \(name)")
        }
        let a = try adapter.tensor(aKey), b = try adapter.tensor(bKey)
        adapters[projection] = LoRAAdapter(a: a, b: b)
        keys[projection] = (aKey, bKey)
        let full = module + "." + names[projection]!
        let rank = adapterConfig.rank(of: full)
        guard a.rank == 2, a.shape[0] == rank else {
          throw LoRAGradError.invalidFile(path: adapterConfigPath, expected: "r = \(rank) for \(full) to match \(aKey) of shape \(a.shapeDescription)")
        }
        scales.append((projection, rank, adapterConfig.alpha(of: full)))
      default:
        throw LoRAGradError.invalidFile(path: adapterPath, expected: "both lora_A and lora_B for \(name), found only \(aKey != nil ? "lora_A" : "lora_B")")
      }
    }
    guard !adapters.isEmpty else {
      throw LoRAGradError.invalidFile(path: adapterPath, expected: "lora_A/lora_B tensors for the projections of \"\(modulePath)\", found none")
    }
    if let absent = targetedAbsent.first {
      throw LoRAGradError.invalidFile(
        path: adapterPath, expected: "lora_A and lora_B for \(absent), which adapter_config.json's \"target_modules\" names (the other projections of the layer have them)")
    }
    if let first = scales.first, let other = scales.first(where: { $0.rank != first.rank || $0.alpha != first.alpha }) {
      throw LoRAGradError.invalidFile(
        path: adapterConfigPath,
        expected: "one rank and one α for the adapted projections of a layer (LoRAGrad's layer has one scale s); rank_pattern/alpha_pattern give "
          + "\(first.0.rawValue): r = \(first.rank), α = \(first.alpha) and \(other.0.rawValue): r = \(other.rank), α = \(other.alpha)")
    }

    let heads = overrides.heads ?? config.heads
    guard let heads else {
      throw LoRAGradError.invalidFile(path: configPath, expected: "\"num_attention_heads\" (or give --heads)")
    }
    guard let causal = overrides.causal ?? config.causal else {
      throw LoRAGradError.invalidFile(
        path: configPath, expected: "a model_type LoRAGrad knows (\((ModelConfig.encoderTypes.union(ModelConfig.rotaryDecoderTypes)).sorted().joined(separator: ", "))), "
          + "found \(config.modelType.map { "\"\($0)\"" } ?? "none"); give --causal true|false and --rope-theta θ|none")
    }
    let ropeTheta = overrides.ropeTheta ?? config.ropeTheta
    let (spelling, foundKeys) = (names, keys)
    let inputNames = InputNames(
      tensor: { role in Self.tensorName(role, module: module, spelling: spelling, keys: foundKeys, model: modelPath, adapter: adapterPath) },
      setting: { key, expected, given in .invalidFile(path: configPath, expected: "\"\(key)\" to be \(expected), found \(given)") })
    let layer = try AttentionLayer(
      frozenWeights: weights, biases: biases, adapters: adapters, heads: heads, alpha: scales.first?.alpha, beta: overrides.beta,
      useRSLoRA: adapterConfig.useRSLoRA, causal: causal, ropeTheta: ropeTheta, names: inputNames)
    return ModelLayer(layer: layer, modulePath: module, adapterKeys: keys, adapterFile: adapter, adapterConfig: adapterConfig, names: inputNames)
  }

  /// The files of a PEFT adapter directory holding `adapters` for this layer and, unchanged, every
  /// other tensor of the adapter file (read as F32): adapter_model.safetensors and the original
  /// adapter_config.json.
  public func peftFiles(_ adapters: [Projection: LoRAAdapter]) throws -> [(name: String, bytes: [UInt8])] {
    var replaced: [String: Tensor] = [:]
    for (projection, keys) in adapterKeys {
      guard let adapter = adapters[projection] else { continue }
      replaced[keys.a] = adapter.a
      replaced[keys.b] = adapter.b
    }
    let tensors = try adapterFile.names.map { name in (name: name, tensor: try replaced[name] ?? adapterFile.tensor(name)) }
    var metadata = adapterFile.header.metadata
    if metadata.isEmpty { metadata["format"] = "pt" }
    return [
      (PEFTFiles.model, SafeTensorsFile.encode(tensors, metadata: metadata)), (PEFTFiles.config, adapterConfig.bytes),
    ]
  }

  /// The adapter's key of each adapter tensor (gradients written with `--format peft` use them).
  public func adapterKey(_ role: TensorRole) -> String? {
    switch role {
    case .adapterA(let projection): return adapterKeys[projection]?.a
    case .adapterB(let projection): return adapterKeys[projection]?.b
    default: return nil
    }
  }

  /// How errors name a tensor of this layer: the model or adapter key and its file.
  private static func tensorName(
    _ role: TensorRole, module: String, spelling: [Projection: String], keys: [Projection: (a: String, b: String)], model: String, adapter: String
  ) -> String {
    switch role {
    case .frozenWeight(let projection): return "\(module).\(spelling[projection]!).weight in \(model)"
    case .bias(let projection): return "\(module).\(spelling[projection]!).bias in \(model)"
    case .adapterA(let projection): return "\(keys[projection]?.a ?? "lora_A of \(projection.rawValue)") in \(adapter)"
    case .adapterB(let projection): return "\(keys[projection]?.b ?? "lora_B of \(projection.rawValue)") in \(adapter)"
    default: return InputNames.mathematical.tensor(role)
    }
  }

  /// The transpose of a matrix (fan_in_fan_out base weights are stored [in, out]).
  private static func transposed(_ matrix: Tensor, name: String, path: String) throws -> Tensor {
    guard matrix.rank == 2 else { throw LoRAGradError.invalidFile(path: path, expected: "\(name) to be a matrix, found shape \(matrix.shapeDescription)") }
    let (rows, columns) = (matrix.shape[0], matrix.shape[1])
    var out = [Float](repeating: 0, count: matrix.count)
    for i in 0..<rows { for j in 0..<columns { out[j * rows + i] = matrix.scalars[i * columns + j] } }
    return Tensor(checkedShape: [columns, rows], scalars: out)
  }

  /// The directory part of a path ("." for a bare name).
  private static func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }
}

/// The file names of a PEFT adapter directory.
public enum PEFTFiles {
  /// The key of an adapter tensor of a problem directory's layer in a PEFT file:
  /// `base_model.model.self_attn.μ_proj.lora_A.weight` and `….lora_B.weight`.
  public static func key(_ role: TensorRole) -> String {
    let names = ModelLayer.spellings[1]
    switch role {
    case .adapterA(let projection): return "base_model.model.self_attn.\(names[projection]!).lora_A.weight"
    case .adapterB(let projection): return "base_model.model.self_attn.\(names[projection]!).lora_B.weight"
    default: return ProblemFiles.name(role)
    }
  }

  /// The adapter tensors.
  public static let model = "adapter_model.safetensors"
  /// The adapter config.
  public static let config = "adapter_config.json"

  /// A PEFT directory for adapters trained from a problem directory: keys
  /// `base_model.model.self_attn.{q,k,v}_proj.lora_{A,B}.weight` (Llama's spelling under a
  /// one-module path), and a config with the layer's rank, α and rsLoRA flag.
  public static func files(for layer: AttentionLayer, adapters: [Projection: LoRAAdapter]) -> [(name: String, bytes: [UInt8])] {
    let names = ModelLayer.spellings[1]
    var tensors: [(name: String, tensor: Tensor)] = []
    for projection in adapters.keys.sorted() {
      tensors.append((key(.adapterA(projection)), adapters[projection]!.a))
      tensors.append((key(.adapterB(projection)), adapters[projection]!.b))
    }
    return [
      (model, SafeTensorsFile.encode(tensors, metadata: ["format": "pt"])),
      (config, PEFTAdapterConfig.encoded(
        rank: layer.loraRank, alpha: layer.alpha, useRSLoRA: layer.useRSLoRA, targetModules: adapters.keys.sorted().map { names[$0]! })),
    ]
  }
}

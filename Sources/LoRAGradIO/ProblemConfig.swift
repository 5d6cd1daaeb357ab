import LoRAGrad

/// The optional `config.json` of a problem directory. Keys (every one optional; null means the
/// default; PEFT's spelling where PEFT has one): "heads", "alpha" (or "lora_alpha"), "beta",
/// "causal", "use_rslora", "rope_theta", "lengths", "r" (checked against the adapter files).
/// Unknown keys are an error: a silently ignored "causal" would give wrong gradients.
public struct ProblemConfig: Equatable, Sendable {
  /// The number of attention heads H (default 1).
  public var heads: Int?
  /// The LoRA scaling numerator α (default r).
  public var alpha: Double?
  /// The softmax temperature β (default 1/√(D/H)).
  public var beta: Double?
  /// Whether keys j > i are hidden (default false).
  public var causal: Bool?
  /// Whether the LoRA scale is α/√r (default false: α/r).
  public var useRSLoRA: Bool?
  /// The RoPE base θ (default: no RoPE).
  public var ropeTheta: Double?
  /// The visible keys ℓ_n per sequence (default: all L).
  public var lengths: [Int]?
  /// The LoRA rank r, when stated (must match lora_a_μ.npy).
  public var rank: Int?

  /// The keys this file may hold.
  public static let keys = ["heads", "alpha", "lora_alpha", "beta", "causal", "use_rslora", "rope_theta", "lengths", "r"]

  /// A configuration with the given values (nil: default).
  public init(
    heads: Int? = nil, alpha: Double? = nil, beta: Double? = nil, causal: Bool? = nil, useRSLoRA: Bool? = nil,
    ropeTheta: Double? = nil, lengths: [Int]? = nil, rank: Int? = nil
  ) {
    self.heads = heads
    self.alpha = alpha
    self.beta = beta
    self.causal = causal
    self.useRSLoRA = useRSLoRA
    self.ropeTheta = ropeTheta
    self.lengths = lengths
    self.rank = rank
  }

  /// The configuration in the file at `path`, or nil when there is no such file.
  public static func read(path: String) throws -> ProblemConfig? {
    guard FileAccess.kind(of: path).exists else { return nil }
    return try parse(data: FileAccess.readBytes(path), name: path)
  }

  /// The configuration encoded by the JSON `data`; `name` (the file's path) labels every error,
  /// each `LoRAGradError.invalidFile`. Never traps.
  public static func parse(data: [UInt8], name: String) throws -> ProblemConfig {
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: name, expected: expected) }
    let example = "a JSON object like {\"heads\": 2, \"alpha\": 16, \"causal\": true}"
    let value: JSONValue
    do {
      value = try JSONValue.parse(data)
    } catch {
      throw invalid("\(example); the file is not valid JSON (\(error))")
    }
    guard case .object(let object) = value else { throw invalid("\(example), found \(value.kindDescription)") }
    if let key = object.duplicateKey { throw invalid("each key once, found \"\(key)\" twice") }
    if let unknown = object.members.first(where: { !keys.contains($0.key) }) {
      throw invalid("only the keys \(keys.map { "\"\($0)\"" }.joined(separator: ", ")), found \"\(unknown.key)\"")
    }
    func present(_ key: String) -> JSONValue? {
      guard let value = object[key], value != .null else { return nil }
      return value
    }
    func positiveInteger(_ key: String) throws -> Int? {
      guard let value = present(key) else { return nil }
      guard let n = value.integer, n >= 1 else { throw invalid("\"\(key)\" to be a positive integer, found \(value.kindDescription)") }
      return n
    }
    func finite(_ key: String) throws -> Double? {
      guard let value = present(key) else { return nil }
      guard let x = value.number, x.isFinite else { throw invalid("\"\(key)\" to be a finite number, found \(value.kindDescription)") }
      return x
    }
    func boolean(_ key: String) throws -> Bool? {
      guard let value = present(key) else { return nil }
      guard case .bool(let b) = value else { throw invalid("\"\(key)\" to be true or false, found \(value.kindDescription)") }
      return b
    }
    var config = ProblemConfig()
    config.heads = try positiveInteger("heads")
    config.rank = try positiveInteger("r")
    let alpha = try finite("alpha"), loraAlpha = try finite("lora_alpha")
    if let alpha, let loraAlpha, alpha != loraAlpha {
      throw invalid("one LoRA α: \"alpha\" (\(alpha)) and its synonym \"lora_alpha\" (\(loraAlpha)) disagree")
    }
    config.alpha = alpha ?? loraAlpha
    config.beta = try finite("beta")
    config.causal = try boolean("causal")
    config.useRSLoRA = try boolean("use_rslora")
    config.ropeTheta = try finite("rope_theta")
    if let value = present("lengths") {
      // The range 1…L is checked against x.npy when the problem is built.
      guard case .array(let items) = value, !items.isEmpty, let lengths = Optional(items.compactMap(\.integer)),
        lengths.count == items.count
      else { throw invalid("\"lengths\" to be a non-empty array of integers (one key length per sequence), found \(value.kindDescription)") }
      config.lengths = lengths
    }
    return config
  }

  /// The JSON text of the configuration (keys whose value is nil are left out), ending in a newline.
  public func encoded() -> [UInt8] {
    var object = JSONObject()
    if let heads { object.append("heads", .int(heads)) }
    if let alpha { object.append("alpha", .double(alpha)) }
    if let beta { object.append("beta", .double(beta)) }
    if let causal { object.append("causal", .bool(causal)) }
    if let useRSLoRA { object.append("use_rslora", .bool(useRSLoRA)) }
    if let ropeTheta { object.append("rope_theta", .double(ropeTheta)) }
    if let lengths { object.append("lengths", .array(lengths.map { .int($0) })) }
    if let rank { object.append("r", .int(rank)) }
    return Array((object.description + "\n").utf8)
  }
}

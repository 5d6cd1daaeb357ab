import LoRAGrad

/// What a Hugging Face model's `config.json` says about its attention layers: heads, width,
/// causality and RoPE. Only these keys are read; anything the layer cannot honour (grouped-query
/// attention, scaled or partial RoPE, relative position embeddings) is an error naming the key.
public struct ModelConfig: Sendable, Equatable {
  /// The attention heads H.
  public let heads: Int?
  /// The model width D (hidden_size).
  public let hiddenSize: Int?
  /// Whether query i sees only keys j ≤ i (decoders).
  public let causal: Bool?
  /// The RoPE base θ, or nil when the model does not rotate (encoders).
  public let ropeTheta: Double?
  /// The model_type, as the file states it.
  public let modelType: String?

  /// Model types whose attention is bidirectional with absolute positions (no RoPE).
  static let encoderTypes: Set<String> = ["bert", "roberta", "xlm-roberta", "camembert", "electra"]
  /// Model types whose attention is causal with rotate_half RoPE on Q and K.
  static let rotaryDecoderTypes: Set<String> = ["llama", "mistral", "qwen2", "qwen3", "gemma", "olmo", "olmo2", "granite"]

  /// The settings in the config at `path`.
  public static func read(path: String) throws -> ModelConfig {
    try parse(data: FileAccess.readBytes(path), name: path)
  }

  /// The settings of the JSON `data`; `name` labels every error. Never traps.
  public static func parse(data: [UInt8], name: String) throws -> ModelConfig {
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: name, expected: expected) }
    let value: JSONValue
    do { value = try JSONValue.parse(data) } catch { throw invalid("a model config.json (a JSON object); not valid JSON (\(error))") }
    guard case .object(let object) = value else { throw invalid("a model config.json (a JSON object), found \(value.kindDescription)") }
    if let key = object.duplicateKey { throw invalid("each key once, found \"\(key)\" twice") }
    func present(_ key: String, in object: JSONObject = object) -> JSONValue? {
      guard let value = object[key], value != .null else { return nil }
      return value
    }
    func positive(_ key: String) throws -> Int? {
      guard let value = present(key) else { return nil }
      guard let n = value.integer, n >= 1 else { throw invalid("\"\(key)\" to be a positive integer, found \(value.kindDescription)") }
      return n
    }
    let heads = try positive("num_attention_heads"), hidden = try positive("hidden_size")
    if let kv = try positive("num_key_value_heads"), let heads, kv != heads {
      throw invalid("\"num_key_value_heads\" = \"num_attention_heads\" (\(heads)); grouped-query attention (\(kv) key/value heads) is not supported")
    }
    if let width = try positive("head_dim"), let heads, let hidden, width * heads != hidden {
      throw invalid("\"head_dim\" × \"num_attention_heads\" = \"hidden_size\" (\(hidden)), found \(width) × \(heads)")
    }
    if let position = present("position_embedding_type"), position != .string("absolute") {
      throw invalid("\"position_embedding_type\": \"absolute\"; relative position scores are not supported, found \(position.kindDescription)")
    }
    if let factor = present("partial_rotary_factor"), factor.number != 1 {
      throw invalid("\"partial_rotary_factor\": 1; partial RoPE is not supported, found \(factor.kindDescription)")
    }
    var type: String?
    if case .string(let t)? = present("model_type") { type = t }
    var theta: Double?
    var rotary = type.map(rotaryDecoderTypes.contains) ?? false
    var scaling = present("rope_scaling")
    if case .object(let parameters)? = present("rope_parameters") {
      // transformers ≥ 5 keeps θ and the scaling type together.
      if let t = present("rope_theta", in: parameters) { theta = t.number; rotary = true }
      if let kind = present("rope_type", in: parameters), kind != .string("default") { scaling = .object(parameters) }
    }
    if let t = present("rope_theta") {
      guard let number = t.number, number.isFinite, number > 0 else { throw invalid("\"rope_theta\" to be a positive number, found \(t.kindDescription)") }
      theta = number
      rotary = true
    }
    if let scaling {
      var kind = JSONValue.null
      if case .object(let s) = scaling { kind = s["rope_type"] ?? s["type"] ?? .null }
      if kind != .string("default") {
        throw invalid("no \"rope_scaling\" (or rope_type \"default\"); scaled RoPE (\(kind.kindDescription)) is not supported")
      }
    }
    var causal: Bool?
    if let type, encoderTypes.contains(type) { causal = false }
    if let type, rotaryDecoderTypes.contains(type) { causal = true }
    if case .bool(let decoder)? = present("is_decoder"), decoder { causal = true }
    return ModelConfig(
      heads: heads, hiddenSize: hidden, causal: causal, ropeTheta: rotary ? (theta ?? 10_000) : nil, modelType: type)
  }
}

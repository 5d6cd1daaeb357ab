import Foundation
import LoRAGrad

/// A PEFT LoRA `adapter_config.json`: the keys that decide the layer's arithmetic are read and
/// checked ("r", "lora_alpha", "use_rslora", "target_modules", "rank_pattern", "alpha_pattern",
/// "fan_in_fan_out", "bias", "peft_type", "use_dora", "lora_bias"); PEFT's bookkeeping keys
/// (task_type, lora_dropout, base_model_name_or_path, …) do not change gradients and are ignored.
public struct PEFTAdapterConfig: Sendable {
  /// Which modules the adapter targets.
  public enum Targets: Sendable, Equatable {
    /// Names matched as the last dotted components (`"query"` matches `….attention.self.query`).
    case names([String])
    /// A regular expression the whole module name must match.
    case pattern(String)
  }

  /// The default rank r.
  public let rank: Int
  /// The default LoRA α.
  public let alpha: Double
  /// Whether s = α/√r (rsLoRA) instead of α/r.
  public let useRSLoRA: Bool
  /// The targeted modules (nil: not stated).
  public let targets: Targets?
  /// Per-module ranks, pattern → r, in file order.
  public let rankPattern: [(pattern: String, rank: Int)]
  /// Per-module α, pattern → α, in file order.
  public let alphaPattern: [(pattern: String, alpha: Double)]
  /// Whether the base weights are stored [in, out] (GPT-2 Conv1D) and must be transposed.
  public let fanInFanOut: Bool
  /// The file as it was read (a trained adapter directory gets it back unchanged).
  public let bytes: [UInt8]

  /// The config in `path`.
  public static func read(path: String) throws -> PEFTAdapterConfig {
    try parse(data: FileAccess.readBytes(path), name: path)
  }

  /// The config encoded by `data`; `name` labels every error (`invalidFile`). Never traps.
  public static func parse(data: [UInt8], name: String) throws -> PEFTAdapterConfig {
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: name, expected: expected) }
    let value: JSONValue
    do { value = try JSONValue.parse(data) } catch { throw invalid("a PEFT adapter_config.json (a JSON object); not valid JSON (\(error))") }
    guard case .object(let object) = value else { throw invalid("a PEFT adapter_config.json (a JSON object), found \(value.kindDescription)") }
    if let key = object.duplicateKey { throw invalid("each key once, found \"\(key)\" twice") }
    func present(_ key: String) -> JSONValue? {
      guard let value = object[key], value != .null else { return nil }
      return value
    }
    func flag(_ key: String) throws -> Bool {
      guard let value = present(key) else { return false }
      guard case .bool(let b) = value else { throw invalid("\"\(key)\" to be true or false, found \(value.kindDescription)") }
      return b
    }
    if let type = present("peft_type"), type != .string("LORA") {
      throw invalid("\"peft_type\": \"LORA\" (LoRAGrad computes LoRA adapters only), found \(type.kindDescription)")
    }
    if try flag("use_dora") { throw invalid("\"use_dora\": false; DoRA's magnitude vector is not supported") }
    if try flag("lora_bias") { throw invalid("\"lora_bias\": false; a bias on lora_B is not supported") }
    if let bias = present("bias"), bias != .string("none") {
      throw invalid("\"bias\": \"none\"; training biases (\"all\", \"lora_only\") is not supported, found \(bias.kindDescription)")
    }
    let rank = try present("r").map { value -> Int in
      guard let r = value.integer, r >= 1 else { throw invalid("\"r\" to be a positive integer, found \(value.kindDescription)") }
      return r
    } ?? 8
    let alpha = try present("lora_alpha").map { value -> Double in
      guard let a = value.number, a.isFinite else { throw invalid("\"lora_alpha\" to be a finite number, found \(value.kindDescription)") }
      return a
    } ?? 8
    var targets: Targets?
    if let value = present("target_modules") {
      switch value {
      case .string(let pattern):
        try checkPattern(pattern, key: "target_modules", invalid: invalid)
        targets = .pattern(pattern)
      case .array(let items):
        let names = items.compactMap { item -> String? in if case .string(let s) = item { return s } else { return nil } }
        guard names.count == items.count, !names.isEmpty else { throw invalid("\"target_modules\" as a non-empty list of module names or one regular expression") }
        targets = .names(names)
      default: throw invalid("\"target_modules\" as a list of module names or a regular expression, found \(value.kindDescription)")
      }
    }
    func pattern<T>(_ key: String, _ convert: (JSONValue) -> T?, _ what: String) throws -> [(String, T)] {
      guard let value = present(key) else { return [] }
      guard case .object(let items) = value else { throw invalid("\"\(key)\" to be an object of module pattern → \(what), found \(value.kindDescription)") }
      return try items.members.map { member in
        try checkPattern(member.key, key: key, invalid: invalid)
        guard let converted = convert(member.value) else { throw invalid("\"\(key)\"[\"\(member.key)\"] to be \(what), found \(member.value.kindDescription)") }
        return (member.key, converted)
      }
    }
    let rankPattern = try pattern("rank_pattern", { $0.integer.flatMap { $0 >= 1 ? $0 : nil } }, "a positive integer")
    let alphaPattern = try pattern("alpha_pattern", { $0.number.flatMap { $0.isFinite ? $0 : nil } }, "a finite number")
    return PEFTAdapterConfig(
      rank: rank, alpha: alpha, useRSLoRA: try flag("use_rslora"), targets: targets, rankPattern: rankPattern.map { ($0.0, $0.1) },
      alphaPattern: alphaPattern.map { ($0.0, $0.1) }, fanInFanOut: try flag("fan_in_fan_out"), bytes: data)
  }

  /// Whether the module named `module` (its full dotted path) is targeted; true when unstated.
  public func targets(_ module: String) -> Bool {
    switch targets {
    case nil: return true
    case .names(let names)?: return names.contains { module == $0 || module.hasSuffix("." + $0) }
    case .pattern(let pattern)?: return Self.matches(pattern: "^(?:\(pattern))$", module)
    }
  }

  /// The rank of `module`: the first rank_pattern entry whose pattern ends the module name (as
  /// PEFT matches `(.*\.)?(pattern)$`), else r.
  public func rank(of module: String) -> Int {
    rankPattern.first { Self.matches(pattern: "^(?:.*\\.)?(?:\($0.pattern))$", module) }?.rank ?? rank
  }

  /// The α of `module`, matched like `rank(of:)`.
  public func alpha(of module: String) -> Double {
    alphaPattern.first { Self.matches(pattern: "^(?:.*\\.)?(?:\($0.pattern))$", module) }?.alpha ?? alpha
  }

  /// The config of a fresh adapter LoRAGrad writes for a problem directory.
  public static func encoded(rank: Int, alpha: Double, useRSLoRA: Bool, targetModules: [String]) -> [UInt8] {
    let object: JSONObject = [
      "peft_type": "LORA", "task_type": nil, "base_model_name_or_path": nil, "r": .int(rank), "lora_alpha": .double(alpha),
      "lora_dropout": 0.0, "use_rslora": .bool(useRSLoRA), "target_modules": .array(targetModules.map { .string($0) }),
      "bias": "none", "fan_in_fan_out": false, "init_lora_weights": true, "inference_mode": true,
    ]
    return Array((object.description + "\n").utf8)
  }

  /// Whether `text` matches the regular expression `pattern` (an invalid one matches nothing;
  /// `checkPattern` rejects those when the file is read).
  static func matches(pattern: String, _ text: String) -> Bool {
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
    return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
  }

  /// Throws unless `pattern` compiles as a regular expression.
  private static func checkPattern(_ pattern: String, key: String, invalid: (String) -> LoRAGradError) throws {
    guard (try? NSRegularExpression(pattern: pattern)) != nil else { throw invalid("\"\(key)\": a valid regular expression, found \"\(pattern)\"") }
  }
}

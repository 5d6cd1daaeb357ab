import Foundation

/// The optional `config.json` of a problem directory, `{"heads": H, "alpha": α, "beta": β}`;
/// every key is optional (nil: the default), a null value means the default, unknown keys are ignored.
public struct ProblemConfig: Equatable, Sendable {
  /// The number of attention heads H (a positive integer), or nil for the default 1.
  public var heads: Int?
  /// The LoRA scaling numerator α (finite), or nil for the default r.
  public var alpha: Double?
  /// The softmax temperature β (finite), or nil for the default 1/√(D/H).
  public var beta: Double?

  /// A configuration with the given values (nil: default).
  public init(heads: Int? = nil, alpha: Double? = nil, beta: Double? = nil) {
    self.heads = heads
    self.alpha = alpha
    self.beta = beta
  }

  /// The configuration in the file at `path`, or nil when there is no such file.
  public static func read(path: String) throws -> ProblemConfig? {
    guard FileAccess.kind(of: path).exists else { return nil }
    return try parse(data: FileAccess.readBytes(path), name: path)
  }

  /// The configuration encoded by the JSON `data`; `name` (the file's path) labels every error,
  /// each `LoRAGradError.invalidFile`.
  public static func parse(data: [UInt8], name: String) throws -> ProblemConfig {
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: name, expected: expected) }
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: Data(data))
    } catch {
      throw invalid("a JSON object like {\"heads\": 2, \"alpha\": 16, \"beta\": 0.125}; the file is not valid JSON")
    }
    guard let members = object as? [String: Any] else {
      throw invalid(
        "a JSON object like {\"heads\": 2, \"alpha\": 16, \"beta\": 0.125}, found a JSON \(kind(of: object))")
    }
    var config = ProblemConfig()
    if let value = members["heads"], !(value is NSNull) {
      guard let number = value as? NSNumber, !isBoolean(number), let heads = integer(number), heads >= 1 else {
        throw invalid("\"heads\" to be a positive integer, found \(describe(value))")
      }
      config.heads = heads
    }
    for key in ["alpha", "beta"] {
      guard let value = members[key], !(value is NSNull) else { continue }
      guard let number = value as? NSNumber, !isBoolean(number), let x = double(number), x.isFinite else {
        throw invalid("\"\(key)\" to be a finite number, found \(describe(value))")
      }
      if key == "alpha" { config.alpha = x } else { config.beta = x }
    }
    return config
  }

  /// The JSON text of the configuration (keys whose value is nil are left out), ending in a newline.
  public func encoded() -> [UInt8] {
    var object = JSONObject()
    if let heads { object.append("heads", .int(heads)) }
    if let alpha { object.append("alpha", .double(alpha)) }
    if let beta { object.append("beta", .double(beta)) }
    return Array((object.description + "\n").utf8)
  }

  /// Whether a JSON number is really `true` or `false` (Foundation boxes both as NSNumber).
  private static func isBoolean(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
  }

  /// The exact value of `number` as a Double: decimals are re-read from their digits, because
  /// `NSDecimalNumber.doubleValue` is not correctly rounded.
  private static func double(_ number: NSNumber) -> Double? {
    if let decimal = number as? NSDecimalNumber { return Double(decimal.description) }
    return number.doubleValue
  }

  /// The value of `number` when it is an integer that fits in `Int`.
  private static func integer(_ number: NSNumber) -> Int? {
    guard let x = double(number), x.isFinite, x == x.rounded(), abs(x) < 1e15 else { return nil }
    return Int(exactly: x)
  }

  private static func kind(of value: Any) -> String {
    switch value {
    case is [Any]: return "array"
    case is [String: Any]: return "object"
    case is String: return "string"
    case is NSNull: return "null"
    default: return "scalar"
    }
  }

  private static func describe(_ value: Any) -> String {
    if let number = value as? NSNumber {
      return isBoolean(number) ? (number.boolValue ? "true" : "false") : "\(number)"
    }
    if let string = value as? String { return "the string \"\(string)\"" }
    return "a JSON \(kind(of: value))"
  }
}

import LoRAGrad
/// A JSON value: what LoRAGrad reads (config.json, calibration files; see `JSONValue.parse`) and the
/// one-line summaries it prints.
public enum JSONValue: Equatable, Sendable {
  /// A string, escaped on output.
  case string(String)
  /// An integer.
  case int(Int)
  /// A number, written with enough digits to round-trip; NaN and ±Inf are written as null.
  case double(Double)
  /// true or false.
  case bool(Bool)
  /// null.
  case null
  /// An ordered array.
  case array([JSONValue])
  /// A nested object.
  case object(JSONObject)

  /// The compact, one-line JSON text of the value.
  public var rendered: String {
    var text = ""
    render(into: &text)
    return text
  }

  /// Appends the compact JSON text of the value to `text`.
  func render(into text: inout String) {
    switch self {
    case .string(let s): JSONValue.renderString(s, into: &text)
    case .int(let i): text += String(i)
    case .double(let x): text += x.isFinite ? "\(x)" : "null"
    case .bool(let b): text += b ? "true" : "false"
    case .null: text += "null"
    case .array(let items):
      text += "["
      for (i, item) in items.enumerated() {
        if i > 0 { text += "," }
        item.render(into: &text)
      }
      text += "]"
    case .object(let object): object.render(into: &text)
    }
  }

  /// Appends `s` as a quoted JSON string: quote, backslash and control characters escaped.
  static func renderString(_ s: String, into text: inout String) {
    text += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": text += "\\\""
      case "\\": text += "\\\\"
      case "\n": text += "\\n"
      case "\r": text += "\\r"
      case "\t": text += "\\t"
      case "\u{08}": text += "\\b"
      case "\u{0C}": text += "\\f"
      case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
        let hex = String(scalar.value, radix: 16)
        text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: text.unicodeScalars.append(scalar)
      }
    }
    text += "\""
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
  ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral
{
  /// A string literal.
  public init(stringLiteral value: String) { self = .string(value) }
  /// An integer literal.
  public init(integerLiteral value: Int) { self = .int(value) }
  /// A floating-point literal.
  public init(floatLiteral value: Double) { self = .double(value) }
  /// true or false.
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  /// nil, written as null.
  public init(nilLiteral: ()) { self = .null }
  /// An array literal.
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

/// A JSON object whose keys keep the order they were added in, rendered compactly on one line.
public struct JSONObject: Equatable, Sendable, CustomStringConvertible, ExpressibleByDictionaryLiteral {
  /// The members in output order (a key added twice appears twice; callers keep keys distinct).
  public private(set) var members: [(key: String, value: JSONValue)]

  /// An object with `members` in the given order.
  public init(_ members: [(key: String, value: JSONValue)] = []) { self.members = members }

  /// An object from a literal `["a": 1, "b": "x"]`, keeping the literal's order.
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    members = elements.map { (key: $0.0, value: $0.1) }
  }

  /// Adds `value` under `key` at the end.
  public mutating func append(_ key: String, _ value: JSONValue) { members.append((key, value)) }

  /// The value of the first member named `key`, if any.
  public subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

  /// The first key that appears more than once, if any.
  public var duplicateKey: String? {
    var seen = Set<String>()
    for member in members where !seen.insert(member.key).inserted { return member.key }
    return nil
  }

  /// The compact one-line JSON text, e.g. `{"method":"exact","loss":0.5}`.
  public var description: String {
    var text = ""
    render(into: &text)
    return text
  }

  /// Appends the compact JSON text of the object to `text`.
  func render(into text: inout String) {
    text += "{"
    for (i, member) in members.enumerated() {
      if i > 0 { text += "," }
      JSONValue.renderString(member.key, into: &text)
      text += ":"
      member.value.render(into: &text)
    }
    text += "}"
  }

  /// Objects are equal when they hold the same members in the same order.
  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.members.count == rhs.members.count
      && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
  }
}

import LoRAGrad

/// Why some bytes are not one JSON value (RFC 8259), and where.
public struct JSONSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What was wrong.
  public let reason: String
  /// The byte offset where it was found.
  public let offset: Int

  /// "reason at byte offset".
  public var description: String { "\(reason) at byte \(offset)" }
}

extension JSONValue {
  /// The one JSON value in `bytes` (UTF-8, surrounded by optional whitespace). Integer literals
  /// that fit `Int` become `.int`, other numbers `.double` (correctly rounded); objects keep their
  /// members in order, duplicates included (see `JSONObject.duplicateKey`). Nesting deeper than
  /// 256 levels, numbers beyond Float64, invalid UTF-8, control characters in strings, lone
  /// surrogates and trailing text are errors; a leading byte-order mark is ignored. Never traps,
  /// whatever the bytes.
  public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.position = 3 }  // RFC 8259 §8.1: a BOM may be ignored
    parser.skipWhitespace()
    let value = try parser.value(depth: 0)
    parser.skipWhitespace()
    guard parser.position == bytes.count else { throw parser.failure("unexpected text after the JSON value") }
    return value
  }

  /// The value as a Double when it is a number.
  public var number: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let x): return x
    default: return nil
    }
  }

  /// The value as an Int when it is an integral number that fits.
  public var integer: Int? {
    switch self {
    case .int(let i): return i
    case .double(let x): return x.isFinite && x == x.rounded() && abs(x) < 9e15 ? Int(x) : nil
    default: return nil
    }
  }

  /// A short description of the kind of value, for messages ("the string \"x\"", "a JSON array").
  public var kindDescription: String {
    switch self {
    case .string(let s): return "the string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
    case .int(let i): return "\(i)"
    case .double(let x): return "\(x)"
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .array: return "a JSON array"
    case .object: return "a JSON object"
    }
  }
}

/// A recursive-descent parser over the bytes of one document.
private struct JSONParser {
  let bytes: [UInt8]
  var position = 0
  static let maximumDepth = 256

  init(bytes: [UInt8]) { self.bytes = bytes }

  func failure(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason: reason, offset: position) }

  mutating func skipWhitespace() {
    while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
  }

  mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    guard position < bytes.count else { throw failure("a value expected, found the end of the text") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
    default: throw failure("a JSON value expected")
    }
  }

  mutating func literal(_ word: String) throws(JSONSyntaxError) {
    let expected = Array(word.utf8)
    guard position + expected.count <= bytes.count, Array(bytes[position..<(position + expected.count)]) == expected else {
      throw failure("'\(word)' expected")
    }
    position += expected.count
  }

  mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    position += 1
    var object = JSONObject()
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
      position += 1
      return .object(object)
    }
    while true {
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("a quoted key expected") }
      let key = try string()
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("':' expected after a key") }
      position += 1
      skipWhitespace()
      object.append(key, try value(depth: depth + 1))
      skipWhitespace()
      guard position < bytes.count else { throw failure("',' or '}' expected, found the end of the text") }
      if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
      if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
      throw failure("',' or '}' expected")
    }
  }

  mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
    position += 1
    var items: [JSONValue] = []
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
      position += 1
      return .array(items)
    }
    while true {
      skipWhitespace()
      items.append(try value(depth: depth + 1))
      skipWhitespace()
      guard position < bytes.count else { throw failure("',' or ']' expected, found the end of the text") }
      if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
      if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
      throw failure("',' or ']' expected")
    }
  }

  mutating func number() throws(JSONSyntaxError) -> JSONValue {
    let start = position
    var integral = true
    if bytes[position] == UInt8(ascii: "-") { position += 1 }
    func digits(_ parser: inout JSONParser) -> Int {
      let begin = parser.position
      while parser.position < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position]) {
        parser.position += 1
      }
      return parser.position - begin
    }
    guard position < bytes.count else { throw failure("digits expected") }
    if bytes[position] == UInt8(ascii: "0") {
      position += 1
    } else if digits(&self) == 0 {
      throw failure("digits expected")
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      integral = false
      position += 1
      guard digits(&self) > 0 else { throw failure("digits expected after '.'") }
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
      integral = false
      position += 1
      if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
      guard digits(&self) > 0 else { throw failure("digits expected in the exponent") }
    }
    let text = String(decoding: bytes[start..<position], as: UTF8.self)
    if integral, let value = Int(text) { return .int(value) }
    guard let value = Double(text) else { throw JSONSyntaxError(reason: "a number expected", offset: start) }
    guard value.isFinite else { throw JSONSyntaxError(reason: "a number beyond the range of Float64", offset: start) }
    return .double(value)
  }

  mutating func string() throws(JSONSyntaxError) -> String {
    position += 1
    var scalars = String.UnicodeScalarView()
    while true {
      guard position < bytes.count else { throw failure("an unterminated string") }
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return String(scalars)
      case UInt8(ascii: "\\"):
        position += 1
        scalars.append(try escape())
      case 0x00..<0x20:
        throw failure("a control character inside a string")
      default:
        scalars.append(try utf8Scalar())
      }
    }
  }

  mutating func escape() throws(JSONSyntaxError) -> Unicode.Scalar {
    guard position < bytes.count else { throw failure("an unterminated escape") }
    let byte = bytes[position]
    position += 1
    switch byte {
    case UInt8(ascii: "\""): return "\""
    case UInt8(ascii: "\\"): return "\\"
    case UInt8(ascii: "/"): return "/"
    case UInt8(ascii: "b"): return "\u{08}"
    case UInt8(ascii: "f"): return "\u{0C}"
    case UInt8(ascii: "n"): return "\n"
    case UInt8(ascii: "r"): return "\r"
    case UInt8(ascii: "t"): return "\t"
    case UInt8(ascii: "u"):
      let first = try hex4()
      if (0xD800..<0xDC00).contains(first) {
        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
          throw failure("a lone high surrogate")
        }
        position += 2
        let second = try hex4()
        guard (0xDC00..<0xE000).contains(second), let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)) else {
          throw failure("an invalid surrogate pair")
        }
        return scalar
      }
      guard let scalar = Unicode.Scalar(first) else { throw failure("a lone low surrogate") }
      return scalar
    default:
      throw failure("an invalid escape")
    }
  }

  mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
    guard position + 4 <= bytes.count else { throw failure("four hex digits expected") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw failure("a hex digit expected")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  /// One UTF-8 encoded scalar (shortest form, no surrogates, ≤ U+10FFFF).
  mutating func utf8Scalar() throws(JSONSyntaxError) -> Unicode.Scalar {
    let lead = bytes[position]
    let (length, initial): (Int, UInt32)
    switch lead {
    case 0x00..<0x80: position += 1; return Unicode.Scalar(lead)
    case 0xC2..<0xE0: (length, initial) = (2, UInt32(lead & 0x1F))
    case 0xE0..<0xF0: (length, initial) = (3, UInt32(lead & 0x0F))
    case 0xF0..<0xF5: (length, initial) = (4, UInt32(lead & 0x07))
    default: throw failure("invalid UTF-8")
    }
    guard position + length <= bytes.count else { throw failure("truncated UTF-8") }
    var value = initial
    for t in 1..<length {
      let byte = bytes[position + t]
      guard byte & 0xC0 == 0x80 else { throw failure("invalid UTF-8") }
      value = value << 6 | UInt32(byte & 0x3F)
    }
    let smallest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
    guard value >= smallest, let scalar = Unicode.Scalar(value) else { throw failure("invalid UTF-8") }
    position += length
    return scalar
  }
}

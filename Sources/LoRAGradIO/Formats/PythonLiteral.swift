import LoRAGrad
/// A value of the small subset of Python literal syntax that `.npy` headers use
/// (the `repr` of a dict of strings, booleans, ints and tuples).
enum PythonLiteral: Equatable, Sendable {
  /// A quoted string, 'like this' or "like this".
  case string(String)
  /// `True` or `False`.
  case bool(Bool)
  /// `None`.
  case none
  /// An integer literal; nil when it does not fit in `Int` (the digits are kept for messages).
  case int(Int?, digits: String)
  /// A parenthesised tuple `(a, b,)` (a comma makes a tuple; `(a)` is just `a`).
  case tuple([PythonLiteral])
  /// A bracketed list `[a, b]`.
  case list([PythonLiteral])
  /// A braced dict with string keys, in source order.
  case dict([(key: String, value: PythonLiteral)])

  static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool {
    switch (lhs, rhs) {
    case (.string(let a), .string(let b)): return a == b
    case (.bool(let a), .bool(let b)): return a == b
    case (.none, .none): return true
    case (.int(let a, let x), .int(let b, let y)): return a == b && x == y
    case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)): return a == b
    case (.dict(let a), .dict(let b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  /// Python-like text of the value, for error messages.
  var repr: String {
    switch self {
    case .string(let s): return "'\(s)'"
    case .bool(let b): return b ? "True" : "False"
    case .none: return "None"
    case .int(_, let digits): return digits
    case .tuple(let items):
      return "(" + items.map(\.repr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
    case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
    case .dict(let pairs): return "{" + pairs.map { "'\($0.key)': \($0.value.repr)" }.joined(separator: ", ") + "}"
    }
  }

  /// Parses `bytes` as exactly one literal surrounded by optional whitespace; the error string
  /// says what was wrong and where. Never traps, whatever the bytes.
  static func parse(_ bytes: [UInt8]) -> Result<PythonLiteral, PythonLiteralError> {
    var parser = PythonLiteralParser(bytes: bytes)
    do {
      parser.skipWhitespace()
      let value = try parser.value(depth: 0)
      parser.skipWhitespace()
      guard parser.position == bytes.count else { throw parser.failure("unexpected text after the literal") }
      return .success(value)
    } catch let error as PythonLiteralError {
      return .failure(error)
    } catch {
      return .failure(PythonLiteralError(message: "\(error)"))
    }
  }
}

/// Why a header is not a Python literal, with the byte offset at fault.
struct PythonLiteralError: Error, Equatable, Sendable {
  /// A short description including the offset.
  let message: String
}

/// A recursive-descent parser over the header bytes, with a nesting limit so hostile input
/// cannot exhaust the stack.
private struct PythonLiteralParser {
  let bytes: [UInt8]
  var position = 0
  static let maximumDepth = 16

  init(bytes: [UInt8]) { self.bytes = bytes }

  var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  func failure(_ what: String) -> PythonLiteralError {
    if let byte = current {
      let shown = (0x20..<0x7F).contains(byte) ? "\"\(Character(Unicode.Scalar(byte)))\"" : "byte \(byte)"
      return PythonLiteralError(message: "\(what) at offset \(position) (found \(shown))")
    }
    return PythonLiteralError(message: "\(what) at offset \(position) (end of header)")
  }

  mutating func skipWhitespace() {
    while let byte = current, byte == 0x20 || (0x09...0x0D).contains(byte) { position += 1 }
  }

  mutating func expect(_ byte: UInt8, _ what: String) throws {
    skipWhitespace()
    guard current == byte else { throw failure("expected \(what)") }
    position += 1
  }

  mutating func value(depth: Int) throws -> PythonLiteral {
    guard depth < Self.maximumDepth else { throw failure("literal nested too deeply") }
    skipWhitespace()
    guard let byte = current else { throw failure("expected a value") }
    switch byte {
    case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "("):
      let (items, sawComma) = try sequence(closing: UInt8(ascii: ")"), depth: depth)
      if items.count == 1 && !sawComma { return items[0] }
      return .tuple(items)
    case UInt8(ascii: "["): return .list(try sequence(closing: UInt8(ascii: "]"), depth: depth).items)
    case UInt8(ascii: "{"): return try dict(depth: depth)
    case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try integer()
    default:
      let start = position
      while let c = current, isIdentifierByte(c) { position += 1 }
      switch String(decoding: bytes[start..<position], as: UTF8.self) {
      case "True": return .bool(true)
      case "False": return .bool(false)
      case "None": return .none
      default:
        position = start
        throw failure("expected a string, number, True, False, None, tuple, list or dict")
      }
    }
  }

  func isIdentifierByte(_ c: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: "_")
  }

  mutating func string() throws -> String {
    guard let quote = current else { throw failure("expected a string") }
    position += 1
    var content: [UInt8] = []
    while true {
      guard let c = current else { throw failure("unterminated string") }
      position += 1
      if c == quote { break }
      if c == 0x0A || c == 0x0D { throw failure("line break inside a string") }
      if c == UInt8(ascii: "\\") {
        guard let escaped = current else { throw failure("unterminated string") }
        position += 1
        content.append(escaped)
      } else {
        content.append(c)
      }
    }
    return String(decoding: content, as: UTF8.self)
  }

  mutating func integer() throws -> PythonLiteral {
    let start = position
    var negative = false
    if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
      negative = current == UInt8(ascii: "-")
      position += 1
    }
    var value: Int? = 0
    var digitCount = 0
    while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
      let digit = Int(c - UInt8(ascii: "0"))
      if let v = value {
        let (times, o1) = v.multipliedReportingOverflow(by: 10)
        let (next, o2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
        value = o1 || o2 ? nil : next
      }
      digitCount += 1
      position += 1
    }
    guard digitCount > 0 else { throw failure("expected digits") }
    let digits = String(decoding: bytes[start..<position], as: UTF8.self)
    // Python 2 headers wrote long integers with an L suffix, e.g. (3L, 4L).
    if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { position += 1 }
    if let c = current, isIdentifierByte(c) || c == UInt8(ascii: ".") { throw failure("expected an integer") }
    return .int(value, digits: digits)
  }

  /// Items up to `closing`, separated by commas, a trailing comma allowed; reports whether any
  /// comma was seen (so `(3)` is not a tuple but `(3,)` is).
  mutating func sequence(closing: UInt8, depth: Int) throws -> (items: [PythonLiteral], sawComma: Bool) {
    position += 1
    var items: [PythonLiteral] = []
    var sawComma = false
    while true {
      skipWhitespace()
      if current == closing {
        position += 1
        return (items, sawComma)
      }
      items.append(try value(depth: depth + 1))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        sawComma = true
        position += 1
      } else if current != closing {
        throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))'")
      }
    }
  }

  mutating func dict(depth: Int) throws -> PythonLiteral {
    position += 1
    var pairs: [(key: String, value: PythonLiteral)] = []
    while true {
      skipWhitespace()
      if current == UInt8(ascii: "}") {
        position += 1
        return .dict(pairs)
      }
      guard current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") else {
        throw failure("expected a quoted key")
      }
      let key = try string()
      try expect(UInt8(ascii: ":"), "':' after the key '\(key)'")
      let item = try value(depth: depth + 1)
      pairs.append((key, item))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
      } else if current != UInt8(ascii: "}") {
        throw failure("expected ',' or '}'")
      }
    }
  }
}

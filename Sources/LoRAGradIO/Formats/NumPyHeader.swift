import LoRAGrad
/// The element types LoRAGrad reads from `.npy` files: little-endian IEEE floats.
enum NumPyDType: Equatable, Sendable {
  /// '<f4'
  case float32
  /// '<f8'
  case float64

  /// Bytes per element.
  var size: Int { self == .float32 ? 4 : 8 }

  /// The descr string NumPy writes on a little-endian machine.
  var descr: String { self == .float32 ? "<f4" : "<f8" }
}

/// The decoded preamble and header dictionary of a `.npy` file: where the data starts, its element
/// type and its shape. Parsing checks everything except the data length.
struct NumPyHeader: Equatable, Sendable {
  /// The element type.
  var dtype: NumPyDType
  /// The extents, outermost first ([] for a 0-d array).
  var shape: [Int]
  /// The number of elements (the product of the extents; 1 for a 0-d array).
  var count: Int
  /// The number of data bytes the shape and dtype call for.
  var byteCount: Int
  /// The offset of the first data byte.
  var dataOffset: Int

  /// The magic string every `.npy` file starts with.
  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

  /// Decodes the preamble and header of `bytes`; every failure is `invalidFile(path: name, ...)`.
  static func parse(_ bytes: [UInt8], name: String) throws -> NumPyHeader {
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: name, expected: expected) }
    guard bytes.count >= 6, Array(bytes[0..<6]) == magic else {
      throw invalid("a .npy file starting with the magic string \\x93NUMPY")
    }
    guard bytes.count >= 8 else {
      throw invalid("a complete .npy preamble, but the file is truncated inside the version field")
    }
    let (major, minor) = (bytes[6], bytes[7])
    let lengthBytes: Int
    switch (major, minor) {
    case (1, 0): lengthBytes = 2
    case (2, 0), (3, 0): lengthBytes = 4
    default: throw invalid(".npy format version 1.0, 2.0 or 3.0, found unsupported version \(major).\(minor)")
    }
    let headerStart = 8 + lengthBytes
    guard bytes.count >= headerStart else {
      throw invalid("a complete .npy preamble, but the file is truncated inside the header length field")
    }
    var headerLength = 0
    for i in (8..<headerStart).reversed() { headerLength = headerLength << 8 | Int(bytes[i]) }
    guard headerLength <= bytes.count - headerStart else {
      throw invalid(
        "a complete .npy header of \(headerLength) bytes, but the file is truncated (only "
          + "\(bytes.count - headerStart) bytes follow the preamble)")
    }
    let headerBytes = Array(bytes[headerStart..<headerStart + headerLength])
    if major == 3 {
      guard String(validating: headerBytes, as: UTF8.self) != nil else {
        throw invalid("a UTF-8 header dictionary (format version 3.0), found invalid UTF-8")
      }
    } else if let byte = headerBytes.first(where: { $0 >= 0x80 }) {
      throw invalid("an ASCII header dictionary (format version \(major).0), found byte \(byte)")
    }
    let dictionary: [(key: String, value: PythonLiteral)]
    switch PythonLiteral.parse(headerBytes) {
    case .failure(let error):
      throw invalid(
        "a header dictionary like {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}; "
          + "malformed header: \(error.message)")
    case .success(.dict(let pairs)): dictionary = pairs
    case .success(let other):
      throw invalid(
        "a header dictionary like {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}; "
          + "malformed header: found \(other.repr)")
    }
    let (dtype, shape) = try decode(dictionary, invalid: invalid)
    var count = 1
    for extent in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: extent)
      guard !overflow else { throw invalid("a shape whose element count fits in memory, found \(describe(shape))") }
      count = product
    }
    let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
    guard !overflow else { throw invalid("a shape whose byte count fits in memory, found \(describe(shape))") }
    return NumPyHeader(
      dtype: dtype, shape: shape, count: count, byteCount: byteCount, dataOffset: headerStart + headerLength)
  }

  /// Checks the keys and values of the header dictionary.
  private static func decode(
    _ dictionary: [(key: String, value: PythonLiteral)], invalid: (String) -> LoRAGradError
  ) throws -> (NumPyDType, [Int]) {
    var values: [String: PythonLiteral] = [:]
    for (key, value) in dictionary {
      guard ["descr", "fortran_order", "shape"].contains(key) else {
        throw invalid("header keys 'descr', 'fortran_order' and 'shape' only, found unknown key '\(key)'")
      }
      guard values.updateValue(value, forKey: key) == nil else {
        throw invalid("header keys 'descr', 'fortran_order' and 'shape' once each, found '\(key)' twice")
      }
    }
    for key in ["descr", "fortran_order", "shape"] where values[key] == nil {
      throw invalid("header keys 'descr', 'fortran_order' and 'shape', missing key '\(key)'")
    }
    let dtype: NumPyDType
    switch values["descr"] {
    case .string("<f4"), .string("=f4"): dtype = .float32
    case .string("<f8"), .string("=f8"): dtype = .float64
    case .string(let descr) where descr.hasPrefix(">") && (descr.dropFirst() == "f4" || descr.dropFirst() == "f8"):
      throw invalid(
        "little-endian data ('<f4' or '<f8'), found unsupported byte order '>' (big-endian) in dtype '\(descr)'")
    case .string(let descr):
      throw invalid("dtype float32 ('<f4') or float64 ('<f8'), found unsupported dtype '\(descr)'")
    case let other:
      throw invalid("dtype float32 ('<f4') or float64 ('<f8'), found unsupported dtype \(other?.repr ?? "none")")
    }
    switch values["fortran_order"] {
    case .bool(false): break
    case .bool(true):
      throw invalid("C-order data ('fortran_order': False), found Fortran order, which is not supported")
    case let other: throw invalid("'fortran_order' to be True or False, found \(other?.repr ?? "none")")
    }
    let shapeValue = values["shape"] ?? PythonLiteral.none
    guard case .tuple(let items) = shapeValue else {
      throw invalid("'shape' to be a tuple of non-negative integers, found \(shapeValue.repr)")
    }
    var shape: [Int] = []
    for item in items {
      guard case .int(let extent, let digits) = item else {
        throw invalid("'shape' to be a tuple of non-negative integers, found \(shapeValue.repr)")
      }
      guard let extent else { throw invalid("shape extents that fit in memory, found \(digits)") }
      guard extent >= 0 else { throw invalid("non-negative shape extents, found \(shapeValue.repr)") }
      shape.append(extent)
    }
    return (dtype, shape)
  }

  /// A shape written like Python, "(2, 3)", "(4,)" or "()".
  static func describe(_ shape: [Int]) -> String {
    "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
  }
}

import LoRAGrad

/// The header of a safetensors file: 8 bytes little-endian n, then n bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}`,
/// offsets relative to the data that follows. Parsed with the care of the `.npy` header: every
/// failure is `LoRAGradError.invalidFile` naming the file (and the tensor), and nothing traps.
public struct SafeTensorsHeader: Equatable, Sendable {
  /// An element type of the format, with its size in bytes.
  public enum ElementType: String, CaseIterable, Sendable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteCount: Int {
      switch self {
      case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
      case .i16, .u16, .f16, .bf16: return 2
      case .i32, .u32, .f32: return 4
      case .f64, .i64, .u64: return 8
      }
    }

    /// Whether LoRAGrad reads it as Float32 (F32, F64, F16, BF16).
    public var isReadable: Bool { [.f32, .f64, .f16, .bf16].contains(self) }
  }

  /// One tensor: its name, element type, shape and byte range within the data section.
  public struct Entry: Equatable, Sendable {
    /// The tensor's key.
    public let name: String
    /// Its element type.
    public let elementType: ElementType
    /// Its shape (empty for a scalar).
    public let shape: [Int]
    /// Its bytes, relative to the start of the data section.
    public let byteRange: Range<Int>
  }

  /// The largest header accepted (the reference implementation's limit).
  public static let maximumHeaderBytes = 100_000_000

  /// The tensors, in the order of their data.
  public let entries: [Entry]
  /// The string-to-string `__metadata__` (empty when absent).
  public let metadata: [String: String]
  /// Bytes before the data section: 8 + n.
  public let dataOffset: Int

  /// The entry named `name`, if any.
  public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

  /// The header at the start of a file of `fileSize` bytes whose first bytes are `prefix` (at
  /// least min(fileSize, 8 + n) of them; fewer is a truncated file). `name` labels every error.
  public static func parse(prefix: [UInt8], fileSize: Int, name: String) throws -> SafeTensorsHeader {
    func invalid(_ expected: String) -> LoRAGradError { .invalidFile(path: name, expected: expected) }
    guard fileSize >= 8, prefix.count >= 8 else {
      throw invalid("a safetensors file (8-byte header length, JSON header, data), found only \(fileSize) bytes")
    }
    var length: UInt64 = 0
    for i in (0..<8).reversed() { length = length << 8 | UInt64(prefix[i]) }
    guard length <= UInt64(maximumHeaderBytes) else {
      throw invalid("a header of at most \(maximumHeaderBytes) bytes, found a declared length of \(length)")
    }
    let headerLength = Int(length)
    guard headerLength >= 2 else { throw invalid("a JSON object header of at least 2 bytes, found a declared length of \(headerLength)") }
    guard 8 + headerLength <= fileSize, prefix.count >= 8 + headerLength else {
      throw invalid("a header of \(headerLength) bytes, but the file is truncated (\(fileSize) bytes in all)")
    }
    let text = Array(prefix[8..<(8 + headerLength)])
    guard text.first == UInt8(ascii: "{") else { throw invalid("the header to be a JSON object starting with '{'") }
    let value: JSONValue
    do {
      value = try JSONValue.parse(text)
    } catch {
      throw invalid("the header to be valid UTF-8 JSON (\(error))")
    }
    guard case .object(let object) = value else { throw invalid("the header to be a JSON object, found \(value.kindDescription)") }
    if let key = object.duplicateKey { throw invalid("each tensor once in the header, found \"\(key)\" twice") }
    let dataSize = fileSize - 8 - headerLength
    var metadata: [String: String] = [:]
    var entries: [Entry] = []
    for (key, member) in object.members {
      if key == "__metadata__" {
        guard case .object(let items) = member else { throw invalid("\"__metadata__\" to be an object of strings, found \(member.kindDescription)") }
        if let duplicate = items.duplicateKey { throw invalid("each \"__metadata__\" key once, found \"\(duplicate)\" twice") }
        for (metaKey, metaValue) in items.members {
          guard case .string(let s) = metaValue else {
            throw invalid("\"__metadata__\" values to be strings, found \(metaValue.kindDescription) for \"\(metaKey)\"")
          }
          metadata[metaKey] = s
        }
        continue
      }
      entries.append(try entry(key, member, dataSize: dataSize, invalid: invalid))
    }
    entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
    var end = 0
    for entry in entries {
      guard entry.byteRange.lowerBound == end else {
        let what = entry.byteRange.lowerBound < end ? "overlaps the tensor before it" : "leaves a gap after byte \(end)"
        throw invalid("contiguous tensor data, but \"\(entry.name)\" at [\(entry.byteRange.lowerBound), \(entry.byteRange.upperBound)) \(what)")
      }
      end = entry.byteRange.upperBound
    }
    guard end == dataSize else {
      throw invalid("the tensors to cover the \(dataSize) data bytes exactly, found \(end) covered")
    }
    return SafeTensorsHeader(entries: entries, metadata: metadata, dataOffset: 8 + headerLength)
  }

  /// One header member checked: dtype known, shape non-negative, offsets in range and matching
  /// shape × element size.
  private static func entry(_ key: String, _ member: JSONValue, dataSize: Int, invalid: (String) -> LoRAGradError) throws -> Entry {
    let tensor = "tensor \"\(key)\""
    guard case .object(let fields) = member else { throw invalid("\(tensor) to be an object with dtype, shape and data_offsets, found \(member.kindDescription)") }
    if let duplicate = fields.duplicateKey { throw invalid("\(tensor): each field once, found \"\(duplicate)\" twice") }
    if let unknown = fields.members.first(where: { !["dtype", "shape", "data_offsets"].contains($0.key) }) {
      throw invalid("\(tensor): only dtype, shape and data_offsets, found \"\(unknown.key)\"")
    }
    guard case .string(let dtypeName)? = fields["dtype"] else { throw invalid("\(tensor): a string \"dtype\"") }
    guard let elementType = ElementType(rawValue: dtypeName) else {
      throw invalid("\(tensor): a dtype among \(ElementType.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(dtypeName)\"")
    }
    guard case .array(let extents)? = fields["shape"], let shape = Optional(extents.compactMap(\.integer)), shape.count == extents.count,
      shape.allSatisfy({ $0 >= 0 })
    else { throw invalid("\(tensor): \"shape\" as an array of non-negative integers") }
    guard case .array(let offsets)? = fields["data_offsets"], offsets.count == 2, let begin = offsets[0].integer, let end = offsets[1].integer,
      begin >= 0, begin <= end
    else { throw invalid("\(tensor): \"data_offsets\" as [begin, end] with 0 ≤ begin ≤ end") }
    guard end <= dataSize else { throw invalid("\(tensor): data_offsets within the \(dataSize) data bytes, found [\(begin), \(end)]") }
    var bytes = elementType.byteCount
    for extent in shape {
      let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
      guard !overflow, product <= dataSize else {
        throw invalid("\(tensor): shape \(Tensor.describe(shape)) × \(elementType.byteCount) bytes to fit the \(dataSize) data bytes")
      }
      bytes = product
    }
    guard bytes == end - begin else {
      throw invalid("\(tensor): shape \(Tensor.describe(shape)) of \(dtypeName) is \(bytes) bytes, but data_offsets span \(end - begin)")
    }
    return Entry(name: key, elementType: elementType, shape: shape, byteRange: begin..<end)
  }
}

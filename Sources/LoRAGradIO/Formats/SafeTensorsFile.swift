import LoRAGrad
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A safetensors file (Hugging Face `model.safetensors`, PEFT `adapter_model.safetensors`): its
/// checked header, and its tensors read one at a time as Float32 (F32, F64, F16 and BF16 are
/// converted; other element types are named in the error). Only the header and the tensors asked
/// for are read, never beyond the file's size.
public struct SafeTensorsFile: Sendable {
  /// The file's path, as errors name it.
  public let path: String
  /// The checked header.
  public let header: SafeTensorsHeader
  /// The whole file when it was parsed from memory; nil when tensors are read from `path`.
  private let bytes: [UInt8]?

  /// The names of the tensors, in data order.
  public var names: [String] { header.entries.map(\.name) }

  /// The file at `path`, its header read and checked.
  public static func open(_ path: String) throws -> SafeTensorsFile {
    let (exists, isDirectory) = FileAccess.kind(of: path)
    guard exists else { throw LoRAGradError.fileSystem(path: path, reason: "no such file") }
    guard !isDirectory else { throw LoRAGradError.fileSystem(path: path, reason: "is a directory, expected a safetensors file") }
    let descriptor = openForReading(path)
    guard descriptor >= 0 else { throw LoRAGradError.fileSystem(path: path, reason: "cannot open the file: \(FileAccess.lastError())") }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw LoRAGradError.fileSystem(path: path, reason: "cannot stat the file: \(FileAccess.lastError())") }
    let fileSize = Int(status.st_size)
    let lengthBytes = try read(descriptor, offset: 0, count: min(8, fileSize), path: path)
    var prefix = lengthBytes
    if lengthBytes.count == 8 {
      var length: UInt64 = 0
      for i in (0..<8).reversed() { length = length << 8 | UInt64(lengthBytes[i]) }
      // Read the header only when the file holds it; parse names the fault otherwise.
      if length <= UInt64(SafeTensorsHeader.maximumHeaderBytes), 8 + Int(length) <= fileSize {
        prefix += try read(descriptor, offset: 8, count: Int(length), path: path)
      }
    }
    let header = try SafeTensorsHeader.parse(prefix: prefix, fileSize: fileSize, name: path)
    return SafeTensorsFile(path: path, header: header, bytes: nil)
  }

  /// The file whose whole contents are `data`; `name` labels every error.
  public static func parse(data: [UInt8], name: String) throws -> SafeTensorsFile {
    SafeTensorsFile(path: name, header: try SafeTensorsHeader.parse(prefix: data, fileSize: data.count, name: name), bytes: data)
  }

  /// Whether the file holds a tensor named `name`.
  public func contains(_ name: String) -> Bool { header.entry(name) != nil }

  /// The tensor `name` as Float32; `invalidFile` naming the file and tensor when it is missing,
  /// of an element type LoRAGrad does not read, or beyond Float32's range.
  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = header.entry(name) else {
      throw LoRAGradError.invalidFile(path: path, expected: "a tensor named \"\(name)\" (the file has \(header.entries.count) others)")
    }
    guard entry.elementType.isReadable else {
      throw LoRAGradError.invalidFile(path: path, expected: "tensor \"\(name)\" as F32, F64, F16 or BF16, found \(entry.elementType.rawValue)")
    }
    let begin = header.dataOffset + entry.byteRange.lowerBound
    let raw: [UInt8]
    if let bytes {
      raw = Array(bytes[begin..<(begin + entry.byteRange.count)])
    } else {
      let descriptor = openForReading(path)
      guard descriptor >= 0 else { throw LoRAGradError.fileSystem(path: path, reason: "cannot open the file: \(FileAccess.lastError())") }
      defer { close(descriptor) }
      raw = try Self.read(descriptor, offset: begin, count: entry.byteRange.count, path: path)
    }
    return try Self.decode(raw, entry, path: path)
  }

  /// The safetensors bytes of `tensors` (F32, in the order given) with `metadata`; the header is
  /// padded with spaces to a multiple of 8 bytes, as the reference writer does.
  public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> [UInt8] {
    var header = JSONObject()
    if !metadata.isEmpty {
      header.append("__metadata__", .object(JSONObject(metadata.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })))
    }
    var offset = 0
    for (name, tensor) in tensors {
      let end = offset + 4 * tensor.count
      header.append(name, .object(["dtype": "F32", "shape": .array(tensor.shape.map { .int($0) }), "data_offsets": [.int(offset), .int(end)]]))
      offset = end
    }
    var text = Array(header.description.utf8)
    while (8 + text.count) % 8 != 0 { text.append(UInt8(ascii: " ")) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + text.count + offset)
    var length = UInt64(text.count)
    for _ in 0..<8 {
      bytes.append(UInt8(truncatingIfNeeded: length))
      length >>= 8
    }
    bytes += text
    for (_, tensor) in tensors {
      for scalar in tensor.scalars {
        var bits = scalar.bitPattern
        for _ in 0..<4 {
          bytes.append(UInt8(truncatingIfNeeded: bits))
          bits >>= 8
        }
      }
    }
    return bytes
  }

  /// The Float32 values of one entry's little-endian bytes.
  private static func decode(_ raw: [UInt8], _ entry: SafeTensorsHeader.Entry, path: String) throws -> Tensor {
    let count = entry.shape.reduce(1, *)
    var overflow: (index: Int, value: Double)?
    let scalars = raw.withUnsafeBytes { buffer -> [Float] in
      switch entry.elementType {
      case .f64:
        return (0..<count).map { i in
          let value = Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
          if overflow == nil, value.isFinite, Float(value).isInfinite { overflow = (i, value) }
          return Float(value)
        }
      case .f16:
        return (0..<count).map { i in HalfPrecision.float(fromHalf: UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
      case .bf16:
        return (0..<count).map { i in
          Float(bitPattern: UInt32(UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
        }
      default:
        return (0..<count).map { i in Float(bitPattern: UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
      }
    }
    if let (index, value) = overflow {
      throw LoRAGradError.invalidFile(
        path: path, expected: "tensor \"\(entry.name)\" within the Float32 range (|x| ≤ \(Float.greatestFiniteMagnitude)), found \(value) at flat index \(index)")
    }
    return Tensor(checkedShape: entry.shape, scalars: scalars)
  }

  /// `count` bytes at `offset` of an open file, all of them or a `fileSystem` error.
  private static func read(_ descriptor: Int32, offset: Int, count: Int, path: String) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
      let got = bytes.withUnsafeMutableBytes { buffer in pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done)) }
      if got < 0 && errno == EINTR { continue }
      guard got > 0 else {
        throw LoRAGradError.fileSystem(path: path, reason: got == 0 ? "the file ended early (truncated)" : "cannot read the file: \(FileAccess.lastError())")
      }
      done += got
    }
    return bytes
  }
}

/// A read-only descriptor of `path` (−1 on failure); outside the type, whose `open` would shadow it.
private func openForReading(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }

/// IEEE 754 binary16 to Float32, exactly (every half is a float).
enum HalfPrecision {
  /// The Float32 of the binary16 bit pattern `bits`.
  static func float(fromHalf bits: UInt16) -> Float {
    let sign = UInt32(bits >> 15) << 31
    let exponent = Int((bits >> 10) & 0x1F)
    let fraction = UInt32(bits & 0x3FF)
    switch exponent {
    case 0:
      // Zero or subnormal: fraction · 2⁻²⁴.
      let magnitude = Float(fraction) * 0x1p-24
      return sign == 0 ? magnitude : -magnitude
    case 0x1F:
      return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
    default:
      return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | fraction << 13)
    }
  }
}

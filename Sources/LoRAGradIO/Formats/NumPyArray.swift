import LoRAGrad
/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0; little-endian
/// float32 or float64, C order), the interchange format of problem and gradient directories.
public enum NumPyArray {
  /// The tensor stored in the `.npy` file at `path` (float64 data rounded to Float32).
  public static func read(path: String) throws -> Tensor {
    try parse(data: FileAccess.readBytes(path), name: path)
  }

  /// The tensor encoded by the bytes of a `.npy` file; `name` (the file's path) labels every error.
  /// Never traps: any malformed input throws `LoRAGradError.invalidFile`.
  public static func parse(data: [UInt8], name: String) throws -> Tensor {
    let header = try checkedHeader(data, name: name)
    let offset = header.dataOffset
    var overflow: (index: Int, value: Double)?
    let scalars = data.withUnsafeBytes { raw -> [Float] in
      switch header.dtype {
      case .float32:
        return (0..<header.count).map { i in
          Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self)))
        }
      case .float64:
        return (0..<header.count).map { i in
          let value = Double(
            bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 8 * i, as: UInt64.self)))
          // A finite value beyond Float32's range would become ±Inf and be reported as
          // "NaN or Inf", which the file does not hold: remember it and say what it is.
          if overflow == nil, value.isFinite, Float(value).isInfinite { overflow = (i, value) }
          return Float(value)
        }
      }
    }
    if let (index, value) = overflow {
      throw LoRAGradError.invalidFile(
        path: name,
        expected: "values within the Float32 range (|x| ≤ \(Float.greatestFiniteMagnitude)), found \(value) at flat index \(index)")
    }
    return Tensor(checkedShape: header.shape, scalars: scalars)
  }

  /// The single value of the 0-d (or one-element) array in the `.npy` file at `path`, in Float64.
  public static func readScalar(path: String) throws -> Double {
    let data = try FileAccess.readBytes(path)
    let header = try checkedHeader(data, name: path)
    guard header.count == 1 else {
      throw LoRAGradError.invalidFile(
        path: path, expected: "a single value (shape ()), found shape \(NumPyHeader.describe(header.shape))")
    }
    return data.withUnsafeBytes { raw in
      switch header.dtype {
      case .float32:
        return Double(
          Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: header.dataOffset, as: UInt32.self)))
        )
      case .float64:
        return Double(
          bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: header.dataOffset, as: UInt64.self)))
      }
    }
  }

  /// The header of `data`, after checking that the data length matches the shape exactly.
  private static func checkedHeader(_ data: [UInt8], name: String) throws -> NumPyHeader {
    let header = try NumPyHeader.parse(data, name: name)
    let present = data.count - header.dataOffset
    guard present == header.byteCount else {
      let what = present < header.byteCount ? "the data is truncated" : "the file has trailing bytes"
      throw LoRAGradError.invalidFile(
        path: name,
        expected: "\(header.byteCount) data bytes for shape \(NumPyHeader.describe(header.shape)) of "
          + "'\(header.dtype.descr)', found \(present) (\(what))")
    }
    return header
  }

  /// The `.npy` bytes (version 1.0, '<f4', C order) of `tensor`, header padded to 64 bytes like NumPy.
  public static func encode(_ tensor: Tensor) -> [UInt8] {
    var bytes = preamble(descr: "<f4", shape: tensor.shape, dataBytes: 4 * tensor.count)
    #if _endian(little)
      tensor.scalars.withUnsafeBytes { bytes.append(contentsOf: $0) }
    #else
      for value in tensor.scalars { appendLittleEndian(value.bitPattern, to: &bytes) }
    #endif
    return bytes
  }

  /// The `.npy` bytes of a 0-d float64 array holding `value` (the format of `loss.npy`).
  public static func encodeScalar(_ value: Double) -> [UInt8] {
    var bytes = preamble(descr: "<f8", shape: [], dataBytes: 8)
    appendLittleEndian(value.bitPattern, to: &bytes)
    return bytes
  }

  /// Magic, version and the space-padded header dictionary ending in "\n", a multiple of 64 bytes long.
  private static func preamble(descr: String, shape: [Int], dataBytes: Int) -> [UInt8] {
    let dictionary = Array(
      "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(NumPyHeader.describe(shape)), }".utf8)
    // Version 1.0 stores the header length in 2 bytes; longer headers need version 2.0's 4 bytes.
    let lengthBytes = dictionary.count + 64 <= 0xFFFF ? 2 : 4
    let unpadded = 8 + lengthBytes + dictionary.count + 1
    let padding = (64 - unpadded % 64) % 64
    let headerLength = dictionary.count + padding + 1
    var bytes = NumPyHeader.magic + [lengthBytes == 2 ? 1 : 2, 0]
    bytes.reserveCapacity(8 + lengthBytes + headerLength + dataBytes)
    for i in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * i))) }
    bytes += dictionary
    bytes += [UInt8](repeating: 0x20, count: padding)
    bytes.append(0x0A)
    return bytes
  }

  private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    for i in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
  }
}

import CLoRAGradABI
import Foundation
import LoRAGrad

/// Caller-owned C arrays in and out of the library, with every size checked before it is used.
enum ABIArrays {
  /// The largest number of floats one array may have: what this machine's memory could hold.
  static let maximumCount = Int(min(ProcessInfo.processInfo.physicalMemory / 4, UInt64(Int.max / 8)))

  /// ∏ dims, or a failure naming `name` when a dimension is < 1 or the product overflows or
  /// exceeds what memory can hold.
  static func count(_ name: String, _ dims: [Int64]) throws -> Int {
    var total = 1
    for dim in dims {
      guard dim >= 1, dim <= Int64(Int.max) else {
        throw ABIFailure.invalid(name, "dimensions ≥ 1", "[" + dims.map(String.init).joined(separator: ", ") + "]")
      }
      let (product, overflow) = total.multipliedReportingOverflow(by: Int(dim))
      guard !overflow, product <= maximumCount else {
        throw ABIFailure(
          status: LGR_RESOURCE_EXHAUSTED,
          message: "\(name) [" + dims.map(String.init).joined(separator: ", ") + "] has more floats than this machine's memory holds")
      }
      total = product
    }
    return total
  }

  /// A tensor of `shape` copied from `pointer` (the library's tensors own their storage).
  static func tensor(_ pointer: UnsafePointer<Float>?, _ name: String, _ shape: [Int64]) throws -> Tensor {
    guard let pointer else { throw ABIFailure.null(name, "a float32 array of shape " + describe(shape)) }
    let count = try count(name, shape)
    return try Tensor(shape: shape.map { Int($0) }, scalars: Array(UnsafeBufferPointer(start: pointer, count: count)))
  }

  /// Copies `tensor` into the caller's array, which must be there.
  static func copy(_ tensor: Tensor, to pointer: UnsafeMutablePointer<Float>?, _ name: String) throws {
    guard let pointer else { throw ABIFailure.null(name, "a float32 array of shape " + Tensor.describe(tensor.shape)) }
    tensor.scalars.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: $0.count) }
  }

  /// "[2, 3]".
  static func describe(_ shape: [Int64]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

  /// A C string the caller frees with lgr_string_free.
  static func string(_ text: String) throws -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(text) else { throw ABIFailure(status: LGR_RESOURCE_EXHAUSTED, message: "no memory for a \(text.utf8.count)-byte string") }
    return copy
  }
}

import CLoRAGradKernels
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A 64-byte-aligned array of plain values (Float, Double, Int32, Int64) that the C kernels read
/// and write through a raw pointer; freed when the last reference goes away. A phase that points
/// into a buffer holds it, so it lives as long as the phase can run.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
  /// The first element.
  let base: UnsafeMutablePointer<Element>
  /// The number of elements.
  let count: Int

  /// A buffer of `count` elements, all bits zero when `zeroed` (leave it off only for buffers a
  /// phase writes whole); throws `resourceExhausted` naming `what` when the memory cannot be had.
  init(count: Int, what: String, zeroed: Bool = true) throws {
    let bytes = max(count, 1) * MemoryLayout<Element>.stride
    var raw: UnsafeMutableRawPointer?
    guard count >= 0, posix_memalign(&raw, 64, bytes) == 0, let raw else {
      throw LoRAGradError.resourceExhausted(what: what, bytes: bytes)
    }
    if zeroed { memset(raw, 0, bytes) }
    self.count = count
    base = raw.bindMemory(to: Element.self, capacity: max(count, 1))
  }

  /// A buffer holding a copy of `values`.
  convenience init(_ values: [Element], what: String) throws {
    try self.init(count: values.count, what: what, zeroed: false)
    values.withUnsafeBufferPointer { source in
      if let address = source.baseAddress { base.update(from: address, count: values.count) }
    }
  }

  /// The elements as a Swift array.
  var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }

  /// A read-only pointer to the first element.
  var pointer: UnsafePointer<Element> { UnsafePointer(base) }

  deinit { free(base) }
}

/// Float32 buffers, the kind most phases use.
typealias FloatBuffer = AlignedBuffer<Float>

/// Floats per AVX-512 vector: the padding of head widths and ranks in the kernels' layouts
/// (LGK_VECTOR_FLOATS in the C target).
let vectorFloats = Int(LGK_VECTOR_FLOATS)

/// The smallest multiple of `multiple` that is at least `value`.
@inline(__always)
func roundUp(_ value: Int, toMultipleOf multiple: Int) -> Int {
  (value + multiple - 1) / multiple * multiple
}

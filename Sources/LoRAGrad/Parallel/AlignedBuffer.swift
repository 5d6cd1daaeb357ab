import CLoRAGradKernels
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A 64-byte-aligned array of plain values (Float, Double, Int32, Int64) that the C kernels read
/// and write through a raw pointer; freed when the last reference goes away, or given back to the
/// layer's `BufferPool` when it was made during a layer call. A phase that points into a buffer
/// holds it, so it lives as long as the phase can run.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
  /// The first element.
  let base: UnsafeMutablePointer<Element>
  /// The number of elements.
  let count: Int
  /// What the allocator returned (base is 64-byte aligned inside it).
  private let allocation: UnsafeMutableRawPointer
  /// The pool it goes back to, and the byte count it was asked for (the pool's key).
  private let pool: BufferPool?
  private let bytes: Int

  /// A buffer of `count` elements, all bits zero when `zeroed` (leave it off only for buffers a
  /// phase writes whole); throws `resourceExhausted` naming `what` when the memory cannot be had.
  /// Inside a layer call it is a block of the same size from the layer's pool when one is free,
  /// cleared when `zeroed` by one memset on the calling thread. Otherwise zeroed buffers come from
  /// calloc, which hands blocks it maps fresh (the large ones, above glibc's mmap threshold) over
  /// as zero pages without writing them: such a page is first touched by the worker that first
  /// writes it, not by one thread clearing the whole buffer. In debug builds a buffer that is not
  /// zeroed is filled with NaN (all-ones words), fresh or reused.
  init(count: Int, what: String, zeroed: Bool = true) throws {
    let (product, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
    let bytes = overflow ? Int.max : product
    guard count >= 0, !overflow else { throw LoRAGradError.resourceExhausted(what: what, bytes: bytes) }
    self.count = count
    self.bytes = bytes
    pool = BufferPool.current
    if let block = pool?.take(bytes: bytes) {
      allocation = block.allocation
      base = block.base.bindMemory(to: Element.self, capacity: max(count, 1))
      if zeroed { memset(block.base, 0, bytes) }
    } else if zeroed {
      guard bytes <= Int.max - 64, let raw = calloc(bytes + 64, 1) else {
        throw LoRAGradError.resourceExhausted(what: what, bytes: bytes)
      }
      allocation = raw
      let aligned = (UInt(bitPattern: raw) + 63) & ~UInt(63)
      base = UnsafeMutableRawPointer(bitPattern: aligned)!.bindMemory(to: Element.self, capacity: max(count, 1))
    } else {
      var raw: UnsafeMutableRawPointer?
      guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
        throw LoRAGradError.resourceExhausted(what: what, bytes: bytes)
      }
      allocation = raw
      base = raw.bindMemory(to: Element.self, capacity: max(count, 1))
    }
    #if DEBUG
      if !zeroed { memset(base, 0xFF, bytes) }  // all-ones words: Float NaN, so a read before a write shows
    #endif
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

  deinit {
    if let pool {
      pool.give(allocation: allocation, base: UnsafeMutableRawPointer(base), bytes: bytes)
    } else {
      free(allocation)
    }
  }
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

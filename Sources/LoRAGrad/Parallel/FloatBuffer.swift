/// A zero-initialised, 64-byte-aligned array of Float32 that the C kernels read and write
/// through a raw pointer; freed when the last reference goes away.
final class FloatBuffer: @unchecked Sendable {
  /// The first element.
  let base: UnsafeMutablePointer<Float>
  /// The number of elements.
  let count: Int

  /// A buffer of `count` zeros.
  init(count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
    base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    base.initialize(repeating: 0, count: max(count, 1))
  }

  /// A buffer holding a copy of `values`.
  convenience init(_ values: [Float]) {
    self.init(count: values.count)
    values.withUnsafeBufferPointer { source in
      if let address = source.baseAddress { base.update(from: address, count: values.count) }
    }
  }

  /// The elements as a Swift array.
  var array: [Float] { Array(UnsafeBufferPointer(start: base, count: count)) }

  deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// The smallest multiple of `multiple` that is at least `value`.
@inline(__always)
func roundUp(_ value: Int, toMultipleOf multiple: Int) -> Int {
  (value + multiple - 1) / multiple * multiple
}

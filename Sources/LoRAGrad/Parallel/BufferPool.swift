import Foundation

/// The freed working buffers of one layer's calls, kept for its next calls: a call of the same
/// shape then takes the `AlignedBuffer`s it makes on its calling thread from here instead of from
/// the allocator, so it pays no page faults and no fresh-page zeroing for them (a block freshly
/// mapped by the kernel costs a fault and a cleared page each time it is first touched). A block
/// of b bytes is handed only to a request of exactly b bytes. When a call ends, the blocks given
/// back before the last two calls, and before the calls still running on other threads, are freed:
/// one caller's pool holds at most the buffers of its last two calls (a forward and a backward
/// pass), k overlapping callers' at most about k + 2 calls' worth, until the layer is freed or
/// `release` is called. A layer and the layers made from it by `replacingAdapters` share one pool.
/// The phases must never read what they have not written, so that which block a buffer gets
/// cannot change a result: zeroed buffers are cleared, and in debug builds every other buffer is
/// filled with NaN, fresh or reused, so that the tests see a read before a write.
final class BufferPool: @unchecked Sendable {
  /// A block the pool holds: what the allocator returned, and the 64-byte-aligned address in it.
  struct Block {
    let allocation: UnsafeMutableRawPointer
    let base: UnsafeMutableRawPointer
    /// The number of the call during which it was given back.
    let call: Int
  }

  /// What the pool has done so far, and what it holds now (for the tests).
  struct Counts: Equatable {
    /// Requests served from the pool.
    var reused = 0
    /// Requests sent to the allocator (no block of that size was free).
    var allocated = 0
    /// The blocks the pool holds now, and their bytes.
    var heldBlocks = 0
    var heldBytes = 0
  }

  /// The pool the buffers made on this thread come from (nil: straight from the allocator); bound
  /// for the length of a layer call by `during`.
  @TaskLocal static var current: BufferPool?

  private let lock = NSLock()
  private var free: [Int: [Block]] = [:]
  private var begunCalls = 0
  private var openCalls = 0
  private var reused = 0, allocated = 0

  /// An empty pool.
  init() {}

  deinit { for blocks in free.values { for block in blocks { Foundation.free(block.allocation) } } }

  /// Runs `body` as one call on this pool: the buffers made inside come from it and go back to it.
  /// A call made inside another on the same thread is part of it; when a call that is not ends,
  /// the blocks given back before the last two calls and before every call still open are freed.
  func during<T>(_ body: () throws -> T) rethrows -> T {
    guard BufferPool.current !== self else { return try body() }  // nested: the outer call's
    lock.withLock {
      begunCalls += 1
      openCalls += 1
    }
    defer {
      lock.withLock {
        openCalls -= 1
        trim(keepingFrom: begunCalls - 1 - openCalls)
      }
    }
    return try BufferPool.$current.withValue(self) { try body() }
  }

  /// A free block of exactly `bytes` (the most recently given back), or nil.
  func take(bytes: Int) -> (allocation: UnsafeMutableRawPointer, base: UnsafeMutableRawPointer)? {
    lock.withLock {
      guard let block = free[bytes]?.popLast() else {
        allocated += 1
        return nil
      }
      if free[bytes]?.isEmpty == true { free[bytes] = nil }
      reused += 1
      return (block.allocation, block.base)
    }
  }

  /// Takes back a block of `bytes` that no buffer uses any more.
  func give(allocation: UnsafeMutableRawPointer, base: UnsafeMutableRawPointer, bytes: Int) {
    lock.withLock {
      free[bytes, default: []].append(Block(allocation: allocation, base: base, call: begunCalls))
    }
  }

  /// Frees every block the pool holds now.
  func release() { lock.withLock { trim(keepingFrom: Int.max) } }

  /// The counts so far.
  var snapshot: Counts {
    lock.withLock {
      Counts(
        reused: reused, allocated: allocated, heldBlocks: free.values.reduce(0) { $0 + $1.count },
        heldBytes: free.reduce(0) { $0 + $1.key * $1.value.count })
    }
  }

  /// Frees the blocks given back before call `first` (the lock held).
  private func trim(keepingFrom first: Int) {
    for (bytes, blocks) in free where blocks.contains(where: { $0.call < first }) {
      for block in blocks where block.call < first { Foundation.free(block.allocation) }
      let kept = blocks.filter { $0.call >= first }
      free[bytes] = kept.isEmpty ? nil : kept
    }
  }
}

import Foundation

/// The freed working buffers of one layer's calls, kept for its next calls: a call of the same
/// shape then takes every buffer it needs from here instead of from the allocator, so it pays no
/// page faults and no fresh-page zeroing (a block freshly mapped by the kernel costs a fault and
/// a cleared page each time it is first touched). A block of b bytes is handed only to a request
/// of exactly b bytes; a block left untaken through two whole calls is freed, so the pool never
/// holds more than the buffers of the last two calls (a forward and a backward pass). A layer and
/// the layers made from it by `replacingAdapters` share one pool; calls from several threads may
/// share it too. Which block a buffer gets never changes a result: zeroed buffers are cleared, and
/// in debug builds every other reused block is filled with NaN so that a read before a write shows.
final class BufferPool: @unchecked Sendable {
  /// A block the pool holds: what the allocator returned, and the 64-byte-aligned address in it.
  struct Block {
    let allocation: UnsafeMutableRawPointer
    let base: UnsafeMutableRawPointer
    /// The number of the call during which it was given back.
    let call: Int
  }

  /// What the pool has done so far (for tests and the profile report).
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
  private var counts = Counts()

  /// An empty pool.
  init() {}

  deinit { for blocks in free.values { for block in blocks { Foundation.free(block.allocation) } } }

  /// Runs `body` as one call on this pool: the buffers made inside come from it and go back to it;
  /// when the outermost call ends, the blocks untaken through two whole calls are freed.
  func during<T>(_ body: () throws -> T) rethrows -> T {
    lock.withLock {
      if openCalls == 0 { begunCalls += 1 }
      openCalls += 1
    }
    defer {
      lock.withLock {
        openCalls -= 1
        if openCalls == 0 { trim(keepingFrom: begunCalls - 1) }
      }
    }
    return try BufferPool.$current.withValue(self) { try body() }
  }

  /// A free block of exactly `bytes` (the most recently given back), or nil.
  func take(bytes: Int) -> (allocation: UnsafeMutableRawPointer, base: UnsafeMutableRawPointer)? {
    lock.withLock {
      guard let block = free[bytes]?.popLast() else {
        counts.allocated += 1
        return nil
      }
      if free[bytes]?.isEmpty == true { free[bytes] = nil }
      counts.reused += 1
      counts.heldBlocks -= 1
      counts.heldBytes -= bytes
      return (block.allocation, block.base)
    }
  }

  /// Takes back a block of `bytes` that no buffer uses any more.
  func give(allocation: UnsafeMutableRawPointer, base: UnsafeMutableRawPointer, bytes: Int) {
    lock.withLock {
      free[bytes, default: []].append(Block(allocation: allocation, base: base, call: begunCalls))
      counts.heldBlocks += 1
      counts.heldBytes += bytes
    }
  }

  /// Frees every block the pool holds now.
  func release() { lock.withLock { trim(keepingFrom: Int.max) } }

  /// The counts so far.
  var snapshot: Counts { lock.withLock { counts } }

  /// Frees the blocks given back before call `first` (the lock held).
  private func trim(keepingFrom first: Int) {
    for (bytes, blocks) in free {
      let kept = blocks.filter { $0.call >= first }
      guard kept.count < blocks.count else { continue }
      for block in blocks where block.call < first { Foundation.free(block.allocation) }
      counts.heldBlocks -= blocks.count - kept.count
      counts.heldBytes -= (blocks.count - kept.count) * bytes
      free[bytes] = kept.isEmpty ? nil : kept
    }
  }
}

import Foundation
@testable import LoRAGrad
import XCTest

/// A layer keeps its working buffers for its next calls: a repeated call takes every one from the
/// pool, gets the bits of a fresh layer, and the pool holds no more than its last two calls gave back.
final class BufferPoolTests: XCTestCase {
  private let methods: [(String, AttentionMethod)] = [
    ("exact", .exact), ("exact bf16", .exact(.bfloat16)), ("poly", .polynomial(tolerance: 1e-3)),
  ]

  /// A problem of the same layer at another length: its calls ask for other sizes.
  private func problem(length: Int) throws -> AttentionProblem {
    try .synthetic(.all, sequences: 2, length: length, width: 16, heads: 2, loraRank: 4, normBound: 0.5, seed: 31)
  }

  /// The same layer with a pool of its own.
  private func freshCopy(_ layer: AttentionLayer) throws -> AttentionLayer {
    let copy = try AttentionLayer(
      frozenWeights: layer.frozenWeights, biases: layer.biases, adapters: layer.adapters, heads: layer.heads, alpha: layer.alpha,
      beta: layer.beta, useRSLoRA: layer.useRSLoRA, causal: layer.causal, ropeTheta: layer.ropeTheta)
    XCTAssertFalse(copy.buffers === layer.buffers)
    return copy
  }

  /// Z and every gradient of `problem` with no pool at all: the pipeline called outside any layer
  /// call, so every buffer comes fresh from the allocator.
  private func unpooled(_ problem: AttentionProblem, _ method: AttentionMethod, _ dz: Tensor) throws -> (Tensor, LayerGradients) {
    XCTAssertNil(BufferPool.current)
    let batch = try LayerBatch(problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths)
    let forward = try LayerPipeline.forward(problem.layer, batch: batch, method: method, options: .dispatch(threads: 2))
    let gradients = try LayerPipeline.backward(
      problem.layer, batch: batch, saved: forward, upstream: dz, inputGradient: true, options: .dispatch(threads: 2))
    return (forward.output, gradients)
  }

  /// Z and every gradient of `problem` through the layer's calls (its pool).
  private func pooled(_ problem: AttentionProblem, _ method: AttentionMethod, _ dz: Tensor, _ options: ExecutionOptions) throws
    -> (Tensor, LayerGradients)
  {
    let forward = try problem.layer.forward(problem.inputs, keyLengths: problem.keyLengths, method: method, options: options)
    return (forward.output, try problem.layer.backward(problem.inputs, saved: forward, upstream: dz, options: options))
  }

  private func assertSameBits(_ a: (Tensor, LayerGradients), _ b: (Tensor, LayerGradients), _ label: String, line: UInt = #line) {
    XCTAssertEqual(a.0.scalars, b.0.scalars, "\(label): Z", line: line)
    XCTAssertEqual(a.1.input?.scalars, b.1.input?.scalars, "\(label): dX", line: line)
    for (projection, adapter) in b.1.adapters {
      XCTAssertEqual(a.1.adapters[projection]?.a.scalars, adapter.a.scalars, "\(label): ∂A_\(projection.rawValue)", line: line)
      XCTAssertEqual(a.1.adapters[projection]?.b.scalars, adapter.b.scalars, "\(label): ∂B_\(projection.rawValue)", line: line)
    }
  }

  /// An upstream gradient in X's shape.
  private func upstream(_ problem: AttentionProblem) throws -> Tensor {
    try Tensor(shape: problem.inputs.shape, scalars: problem.inputs.scalars.indices.map { Float(($0 % 11) - 5) * 0.07 })
  }

  func testARepeatedCallReusesEveryBufferAndGetsTheBitsOfAFreshLayer() throws {
    for (name, method) in methods {
      let options = ExecutionOptions.dispatch(threads: 2)
      let long = try problem(length: 203), short = try problem(length: 77)
      let dz = try upstream(long)
      let fresh = try unpooled(long, method, dz)
      let pool = long.layer.buffers
      _ = try pooled(long, method, dz, options)
      let afterFirst = pool.snapshot
      XCTAssertGreaterThan(afterFirst.allocated, 0, name)
      XCTAssertGreaterThan(afterFirst.heldBlocks, 0, "\(name): the first call's buffers are kept")
      let again = try pooled(long, method, dz, options)
      let afterSecond = pool.snapshot
      XCTAssertEqual(afterSecond.allocated, afterFirst.allocated, "\(name): the second call allocated")
      XCTAssertGreaterThan(afterSecond.reused, afterFirst.reused, name)
      assertSameBits(again, fresh, "\(name), reused buffers")
      // A call of another size on the same pool, on blocks the long calls wrote, then the long
      // call again, taking blocks the short call wrote and gave back.
      let shortProblem = try AttentionProblem(layer: long.layer, inputs: short.inputs, keyLengths: short.keyLengths, objective: short.objective)
      let shortDZ = try upstream(shortProblem)
      let shortFresh = try unpooled(shortProblem, method, shortDZ)
      _ = try shortProblem.layer.forward(shortProblem.inputs, keyLengths: shortProblem.keyLengths, method: method, options: options)
      assertSameBits(try pooled(shortProblem, method, shortDZ, options), shortFresh, "\(name), short on the long's pool")
      let beforeLast = pool.snapshot
      assertSameBits(try pooled(long, method, dz, .serial), fresh, "\(name), after other sizes")
      XCTAssertGreaterThan(pool.snapshot.reused, beforeLast.reused, "\(name): the last long call reused blocks")
    }
  }

  func testThePoolHoldsOnlyWhatItsLastTwoCallsGaveBack() throws {
    let long = try problem(length: 203), short = try problem(length: 77)
    let layer = long.layer
    let shortOnLong = try AttentionProblem(layer: layer, inputs: short.inputs, keyLengths: short.keyLengths, objective: short.objective)
    _ = try long.gradients(method: .exact, options: .serial)
    XCTAssertGreaterThan(layer.buffers.snapshot.heldBytes, 0)
    // Two gradient calls (four layer calls) of the short size: the long blocks idle through them go.
    _ = try shortOnLong.gradients(method: .exact, options: .serial)
    _ = try shortOnLong.gradients(method: .exact, options: .serial)
    let alone = try AttentionProblem(layer: try freshCopy(layer), inputs: short.inputs, keyLengths: short.keyLengths, objective: short.objective)
    _ = try alone.gradients(method: .exact, options: .serial)
    _ = try alone.gradients(method: .exact, options: .serial)
    XCTAssertGreaterThan(alone.layer.buffers.snapshot.heldBytes, 0)
    XCTAssertEqual(layer.buffers.snapshot.heldBytes, alone.layer.buffers.snapshot.heldBytes, "only the short calls' blocks are left")
    XCTAssertEqual(layer.buffers.snapshot.heldBlocks, alone.layer.buffers.snapshot.heldBlocks)
    layer.releaseCachedBuffers()
    XCTAssertEqual(layer.buffers.snapshot.heldBlocks, 0)
    XCTAssertEqual(layer.buffers.snapshot.heldBytes, 0)
  }

  /// While one call stays open on another thread, the calls of this one still free what is
  /// older than their last two calls and the open one: a server whose calls always overlap does
  /// not hold every size it has ever seen.
  func testOverlappingCallsStillFreeOldBlocks() throws {
    let pool = BufferPool()
    let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
    let open = Thread {
      pool.during {
        entered.signal()
        release.wait()
      }
    }
    open.start()
    entered.wait()
    for size in 1...20 {  // one block of a new size per call
      try pool.during { _ = try FloatBuffer(count: 1000 + size, what: "block \(size)", zeroed: false) }
      XCTAssertLessThanOrEqual(pool.snapshot.heldBlocks, 3, "after call \(size)")
    }
    release.signal()
    while !open.isFinished { usleep(1000) }
    try pool.during { _ = try FloatBuffer(count: 5, what: "last", zeroed: false) }
    pool.during {}
    XCTAssertEqual(pool.snapshot.heldBlocks, 1, "the last call's block only")
  }

  /// A call inside a call on the same thread (and pool) is part of the outer one.
  func testNestedCallsAreOneCall() throws {
    let pool = BufferPool()
    try pool.during {
      try pool.during { _ = try FloatBuffer(count: 64, what: "inner", zeroed: false) }
      pool.during {}
      pool.during {}
      XCTAssertEqual(pool.snapshot.heldBlocks, 1, "inner calls do not trim")
    }
    pool.during {}
    XCTAssertEqual(pool.snapshot.heldBlocks, 1, "kept through one more call")
    pool.during {}
    XCTAssertEqual(pool.snapshot.heldBlocks, 0, "freed after two")
  }

  func testAdapterReplacementsShareThePool() throws {
    let problem = try problem(length: 90)
    let replaced = try problem.layer.replacingAdapters(problem.layer.adapters)
    XCTAssertTrue(replaced.buffers === problem.layer.buffers)
  }

  /// A reused block is cleared when asked for zeros; otherwise, in debug builds, it reads NaN until
  /// written, so the suite would catch a phase that reads what it has not written.
  func testReusedBlocksAreClearedOrPoisoned() throws {
    let pool = BufferPool()
    try pool.during {
      let first = try FloatBuffer(count: 1000, what: "first", zeroed: false)
      for i in 0..<first.count { first.base[i] = 7 }
    }
    try pool.during {
      let zeroed = try FloatBuffer(count: 1000, what: "zeroed")
      XCTAssertEqual(pool.snapshot.reused, 1)
      XCTAssertTrue(zeroed.array.allSatisfy { $0 == 0 })
      for i in 0..<zeroed.count { zeroed.base[i] = 7 }
    }
    try pool.during {
      let unzeroed = try FloatBuffer(count: 1000, what: "unzeroed", zeroed: false)
      XCTAssertEqual(pool.snapshot.reused, 2)
      #if DEBUG
        XCTAssertTrue(unzeroed.array.allSatisfy { $0.isNaN })
      #endif
      let other = try FloatBuffer(count: 999, what: "another size", zeroed: false)
      XCTAssertEqual(pool.snapshot.allocated, 2, "a block serves only its own size")
      _ = other
    }
    XCTAssertNil(BufferPool.current, "bound only during a call")
  }
}

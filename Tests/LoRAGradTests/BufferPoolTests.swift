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

  func testARepeatedCallReusesEveryBufferAndGetsTheBitsOfAFreshLayer() throws {
    for (name, method) in methods {
      let options = ExecutionOptions.dispatch(threads: 2)
      let long = try problem(length: 203), short = try problem(length: 77)
      let fresh = try problem(length: 203).gradients(method: method, options: options)
      let pool = long.layer.buffers
      _ = try long.gradients(method: method, options: options)
      let afterFirst = pool.snapshot
      XCTAssertGreaterThan(afterFirst.allocated, 0, name)
      XCTAssertGreaterThan(afterFirst.heldBlocks, 0, "\(name): the first call's buffers are kept")
      let again = try long.gradients(method: method, options: options)
      let afterSecond = pool.snapshot
      XCTAssertEqual(afterSecond.allocated, afterFirst.allocated, "\(name): the second call allocated")
      XCTAssertGreaterThan(afterSecond.reused, afterFirst.reused, name)
      assertBitIdentical(again, fresh, "\(name), reused buffers")
      // Other sizes in between (the same layer: the short problem shares the pool), then the long
      // call again, on blocks that other calls have written.
      let shortProblem = try AttentionProblem(layer: long.layer, inputs: short.inputs, keyLengths: short.keyLengths, objective: short.objective)
      let shortFresh = try AttentionProblem(
        layer: try freshCopy(long.layer), inputs: short.inputs, keyLengths: short.keyLengths, objective: short.objective
      ).gradients(method: method, options: options)
      assertBitIdentical(try shortProblem.gradients(method: method, options: options), shortFresh, "\(name), short on the long's pool")
      assertBitIdentical(try long.gradients(method: method, options: .serial), fresh, "\(name), after other sizes")
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
    XCTAssertEqual(layer.buffers.snapshot.heldBytes, alone.layer.buffers.snapshot.heldBytes, "only the short calls' blocks are left")
    XCTAssertEqual(layer.buffers.snapshot.heldBlocks, alone.layer.buffers.snapshot.heldBlocks)
    layer.releaseCachedBuffers()
    XCTAssertEqual(layer.buffers.snapshot.heldBlocks, 0)
    XCTAssertEqual(layer.buffers.snapshot.heldBytes, 0)
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

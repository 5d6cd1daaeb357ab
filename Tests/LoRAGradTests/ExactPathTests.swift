import Foundation
import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The fast exact path against the Float64 reference on several shapes.
final class ExactPathTests: XCTestCase {
  private func check(_ problem: AttentionProblem, tiling: FlashTiling = .standard, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    let fast = try problem.gradients(method: .exact(tiling), parallelism: .dispatch(threads: 2))
    assertClose(fast, reference, tolerance: FlashAttention.roundingTolerance(problem), label, file: file, line: line)
  }

  func testOddLengthSeveralHeadsBatchFullAdaptation() throws {
    try check(try .synthetic(sequences: 2, length: 67, width: 32, heads: 2, rank: 4, alpha: 3, seed: 1), "L=67 H=2 N=2 qkv")
  }

  func testPartialAdaptationAcrossKeyBlocks() throws {
    try check(try .synthetic(length: 130, width: 32, rank: 8, adapted: [.query, .value], seed: 2), "L=130 q+v")
  }

  func testHeadWidthNotAMultipleOfSixteen() throws {
    try check(try .synthetic(sequences: 2, length: 45, width: 24, heads: 2, rank: 2, seed: 3), "h=12")
    try check(try .synthetic(length: 33, width: 15, heads: 5, rank: 3, adapted: [.key], seed: 4), "h=3 k only")
  }

  func testSmallTilesManyGroups() throws {
    let tiling = FlashTiling(queryBlock: 16, keyBlock: 32, maxKeyGroups: 3)
    try check(try .synthetic(sequences: 3, length: 150, width: 16, heads: 1, rank: 2, seed: 5), tiling: tiling, "small tiles")
  }

  func testShortestSequences() throws {
    try check(try .synthetic(length: 1, width: 16, heads: 2, rank: 1, seed: 6), "L=1")
    try check(try .synthetic(sequences: 4, length: 2, width: 16, heads: 4, rank: 1, seed: 7), "L=2")
  }

  func testEveryInstructionSetAgrees() throws {
    let problem = try AttentionProblem.synthetic(length: 70, width: 32, heads: 2, rank: 4, seed: 8)
    let reference = try problem.gradients(method: .reference, parallelism: .serial)
    defer { KernelInstructionSet.override(nil) }
    for isa in KernelInstructionSet.available {
      KernelInstructionSet.override(isa)
      let fast = try problem.gradients(method: .exact, parallelism: .dispatch(threads: 2))
      assertClose(fast, reference, tolerance: FlashAttention.roundingTolerance(problem), "\(isa)")
    }
  }

  func testThreadCountMustBePositive() throws {
    let problem = try AttentionProblem.synthetic(length: 4, width: 4, rank: 1, seed: 9)
    XCTAssertThrowsError(try problem.gradients(method: .exact, parallelism: .dispatch(threads: 0))) { error in
      XCTAssertEqual(error as? LoRAGradError, .invalidArgument(argument: "threads", expected: "an integer ≥ 1", given: "0"))
    }
  }
}

/// Results are bit-for-bit the same for every thread count and backend.
final class DeterminismTests: XCTestCase {
  func testBitIdenticalAcrossThreadCountsAndBackends() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 300, width: 32, heads: 2, rank: 4, seed: 21)
    let baseline = try problem.gradients(method: .exact, parallelism: .serial)
    let runs: [Parallelism] = [.dispatch(threads: 1), .dispatch(threads: 2), .dispatch(threads: 3), .dispatch(threads: 7),
                               .openmp(threads: 1), .openmp(threads: 2), .openmp(threads: 5)]
    for parallelism in runs {
      let result = try problem.gradients(method: .exact, parallelism: parallelism)
      XCTAssertEqual(result.loss.bitPattern, baseline.loss.bitPattern, "\(parallelism)")
      XCTAssertEqual(result.adapters, baseline.adapters, "\(parallelism)")
    }
  }

  /// Embedded use: four callers on their own threads, each running both paths with its own
  /// Dispatch workers at the same time, get the bits of a lone serial call (no shared mutable
  /// state between calls).
  func testConcurrentCallersGetTheBitsOfALoneCall() throws {
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 150, width: 16, heads: 1, rank: 4, normBound: 0.5, seed: 22)
    let methods: [GradientMethod] = [.exact, .polynomial(tolerance: 1e-3)]
    let baselines = try methods.map { try problem.gradients(method: $0, parallelism: .serial) }
    let results = LockedSlots<Gradients>()
    DispatchQueue.concurrentPerform(iterations: 4) { caller in
      for (m, method) in methods.enumerated() {
        results[caller * methods.count + m] = try? problem.gradients(method: method, parallelism: .dispatch(threads: 2))
      }
    }
    for caller in 0..<4 {
      for (m, baseline) in baselines.enumerated() {
        let result = try XCTUnwrap(results[caller * methods.count + m], "caller \(caller), \(methods[m].name)")
        XCTAssertEqual(result.loss.bitPattern, baseline.loss.bitPattern, "caller \(caller), \(methods[m].name)")
        XCTAssertEqual(result.adapters, baseline.adapters, "caller \(caller), \(methods[m].name)")
      }
    }
  }
}

/// Results written by concurrent callers, one slot each, behind a lock.
private final class LockedSlots<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var values: [Int: Value] = [:]

  subscript(slot: Int) -> Value? {
    get { lock.withLock { values[slot] } }
    set { lock.withLock { values[slot] = newValue } }
  }
}

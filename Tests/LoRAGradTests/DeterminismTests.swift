import Foundation
import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// Results are bit-for-bit the same for every thread count and backend, on both paths, with
/// every layer feature; concurrent callers get the bits of a lone call.
final class DeterminismTests: XCTestCase {
  private let runs: [Parallelism] = [
    .dispatch(threads: 1), .dispatch(threads: 2), .dispatch(threads: 3), .dispatch(threads: 7), .openmp(threads: 1),
    .openmp(threads: 2), .openmp(threads: 5),
  ]

  private func assertSameBitsEverywhere(_ problem: AttentionProblem, method: AttentionMethod, _ label: String) throws {
    let baseline = try problem.gradients(method: method, options: .serial)
    for parallelism in runs {
      let result = try problem.gradients(method: method, options: ExecutionOptions(parallelism: parallelism))
      assertBitIdentical(result, baseline, "\(label) \(parallelism)")
    }
  }

  func testExactPathBitIdenticalAcrossThreadCountsAndBackends() throws {
    try assertSameBitsEverywhere(try .synthetic(sequences: 2, length: 300, width: 32, heads: 2, loraRank: 4, seed: 21), method: .exact, "exact")
    try assertSameBitsEverywhere(try .synthetic(.all, sequences: 2, length: 300, width: 32, heads: 2, loraRank: 4, seed: 21), method: .exact, "exact, all features")
  }

  func testPolynomialPathBitIdenticalAcrossThreadCountsAndBackends() throws {
    let method = AttentionMethod.polynomial(tolerance: 1e-3)
    try assertSameBitsEverywhere(try .synthetic(sequences: 2, length: 700, width: 16, heads: 2, loraRank: 4, normBound: 0.5, seed: 6), method: method, "poly")
    let causal = AttentionMethod.polynomial(PolynomialSettings(tolerance: 1e-3, memoryBudget: 2_000_000))
    try assertSameBitsEverywhere(try .synthetic(.all, sequences: 2, length: 700, width: 16, heads: 2, loraRank: 4, normBound: 0.5, seed: 6), method: causal, "poly, all features")
  }

  /// Embedded use: four callers on their own threads, each running both paths with its own
  /// Dispatch workers at the same time, get the bits of a lone serial call (no shared mutable
  /// state between calls).
  func testConcurrentCallersGetTheBitsOfALoneCall() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 150, width: 16, heads: 1, loraRank: 4, normBound: 0.5, seed: 22)
    let methods: [AttentionMethod] = [.exact, .polynomial(tolerance: 1e-3)]
    let baselines = try methods.map { try problem.gradients(method: $0, options: .serial) }
    let results = LockedSlots<Gradients>()
    DispatchQueue.concurrentPerform(iterations: 4) { caller in
      for (m, method) in methods.enumerated() {
        results[caller * methods.count + m] = try? problem.gradients(method: method, options: .dispatch(threads: 2))
      }
    }
    for caller in 0..<4 {
      for (m, baseline) in baselines.enumerated() {
        let result = try XCTUnwrap(results[caller * methods.count + m], "caller \(caller), \(methods[m].name)")
        assertBitIdentical(result, baseline, "caller \(caller), \(methods[m].name)")
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

@testable import LoRAGrad
import LoRAGradOpenMP
import XCTest

/// The exact tiled path against the Float64 reference: every layer feature alone and together,
/// odd shapes, small tilings, every instruction set of this CPU.
final class ExactPathTests: XCTestCase {
  private func check(
    _ problem: AttentionProblem, tiling: FlashTiling = .standard, isa: KernelInstructionSet = .detected, _ label: String,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let reference = try problem.gradients(method: .reference, options: .serial)
    let options = ExecutionOptions(parallelism: .dispatch(threads: 2), instructionSet: isa)
    let fast = try problem.gradients(method: .exact(tiling), options: options)
    let ratio = assertWithinRoundingModel(fast, reference, problem: problem, label, file: file, line: line)
    print("exact \(label): observed / rounding model = \(String(format: "%.2f", ratio))")
  }

  func testEveryFeatureAloneAndTogetherOnOddShapes() throws {
    for features in LayerFeatures.each {
      try check(try .synthetic(features, sequences: 2, length: 67, width: 32, heads: 2, loraRank: 4, alpha: 3, seed: 1), "\(features) L=67 H=2 N=2")
      try check(try .synthetic(features, length: 130, width: 24, heads: 2, loraRank: 3, adapted: [.query, .value], seed: 2), "\(features) L=130 h=12 q+v")
    }
  }

  func testHeadWidthNotAMultipleOfSixteen() throws {
    try check(try .synthetic(sequences: 2, length: 45, width: 24, heads: 2, loraRank: 2, seed: 3), "h=12")
    try check(try .synthetic(length: 33, width: 15, heads: 5, loraRank: 3, adapted: [.key], seed: 4), "h=3 k only")
  }

  func testSmallTilesManyGroupsCausalAndPadded() throws {
    let tiling = FlashTiling(queryBlock: 16, keyBlock: 32, maxKeyGroups: 3)
    try check(try .synthetic(sequences: 3, length: 150, width: 16, heads: 1, loraRank: 2, seed: 5), tiling: tiling, "small tiles")
    try check(try .synthetic(.all, sequences: 3, length: 150, width: 16, heads: 2, loraRank: 2, seed: 5), tiling: tiling, "small tiles, all features")
    let wide = FlashTiling(queryBlock: 48, keyBlock: 16, maxKeyGroups: 5)
    try check(try .synthetic(.all, sequences: 2, length: 101, width: 16, heads: 1, loraRank: 2, seed: 6), tiling: wide, "wide query blocks, all features")
  }

  /// The backward pass runs the query rows in panels; every sum keeps the order of one sweep, so
  /// panels of one query block, of several, and one panel of all rows give the same bits (full and
  /// causal mask, padding, the query and key blocks of different sizes).
  func testBackwardPanelsNeverChangeABit() throws {
    for features in [LayerFeatures.none, .all] {
      let problem = try AttentionProblem.synthetic(features, sequences: 2, length: 301, width: 32, heads: 2, loraRank: 4, seed: 9)
      let options = ExecutionOptions(parallelism: .dispatch(threads: 3))
      var results: [Gradients] = []
      for (queryBlock, keyBlock) in [(64, 64), (16, 48)] {
        for bytes in [1, 12 * 16 * 5 * 16, 1 << 30] {
          let tiling = FlashTiling(queryBlock: queryBlock, keyBlock: keyBlock, maxKeyGroups: 4, backwardPanelBytes: bytes)
          let rows = tiling.backwardPanelRows(headStride: 16)
          XCTAssertEqual(rows % queryBlock, 0)
          results.append(try problem.gradients(method: .exact(tiling), options: options))
        }
        let count = results.count
        assertBitIdentical(results[count - 3], results[count - 1], "\(features) B_r = \(queryBlock): one block per panel against one panel")
        assertBitIdentical(results[count - 2], results[count - 1], "\(features) B_r = \(queryBlock): several blocks per panel against one panel")
      }
      try check(problem, tiling: FlashTiling(queryBlock: 16, keyBlock: 48, maxKeyGroups: 4, backwardPanelBytes: 1), "\(features) panels of one block")
    }
    XCTAssertThrowsError(try AttentionProblem.synthetic(length: 8, width: 8, loraRank: 1, seed: 1)
      .gradients(method: .exact(FlashTiling(backwardPanelBytes: 0)), options: .serial))
  }

  func testShortestSequences() throws {
    try check(try .synthetic(length: 1, width: 16, heads: 2, loraRank: 1, seed: 6), "L=1")
    try check(try .synthetic(.all, sequences: 4, length: 2, width: 16, heads: 4, loraRank: 1, seed: 7), "L=2 all features")
  }

  func testEveryInstructionSetAgrees() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 70, width: 32, heads: 2, loraRank: 4, seed: 8)
    for isa in KernelInstructionSet.available { try check(problem, isa: isa, "\(isa)") }
  }

  func testThreadCountMustBePositive() throws {
    let problem = try AttentionProblem.synthetic(length: 4, width: 4, loraRank: 1, seed: 9)
    XCTAssertThrowsError(try problem.gradients(method: .exact, options: .dispatch(threads: 0))) { error in
      XCTAssertEqual(error as? LoRAGradError, .invalidArgument(argument: "threads", expected: "an integer ≥ 1", given: "0"))
    }
  }
}

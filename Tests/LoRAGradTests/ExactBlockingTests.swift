@testable import LoRAGrad
import XCTest

/// The exact path's blocking table (blocking.c): its entries, and that a tiling left open runs
/// exactly the blocks the table names.
final class ExactBlockingTests: XCTestCase {
  func testEveryEntryGivesValidBlocks() {
    for isa in KernelInstructionSet.allCases {
      let blocking = isa.exactBlocking
      XCTAssertEqual(blocking.queryBlock % 16, 0, "\(isa)")
      XCTAssertGreaterThanOrEqual(blocking.queryBlock, 16, "\(isa)")
      for h in [1, 3, 8, 12, 16, 24, 32, 64, 128, 256] {
        let keyBlock = blocking.keyBlock(headWidth: h)
        XCTAssertEqual(keyBlock % 16, 0, "\(isa) h=\(h)")
        XCTAssertTrue(blocking.keyBlockRange.contains(keyBlock), "\(isa) h=\(h): \(keyBlock)")
      }
      // h = 64 keeps the 64 × 64 tiles every class ran before the table.
      XCTAssertEqual(FlashTiling.standard.resolved(for: isa, headWidth: 64, length: 4096).keyBlock, 64, "\(isa)")
      XCTAssertEqual(FlashTiling.standard.resolved(for: isa, headWidth: 64, length: 4096).queryBlock, 64, "\(isa)")
    }
    // Every class measured gives a 16-wide Float32 head 256-key blocks (16 KiB per k̂ᵀ panel), a
    // 32-wide one 128, cut to L rounded up to 64 for a short sequence; a block the caller names is kept.
    for isa in KernelInstructionSet.allCases {
      XCTAssertEqual(isa.exactBlocking.keyBlock(headWidth: 16), 256, "\(isa)")
      XCTAssertEqual(isa.exactBlocking.keyBlock(headWidth: 32), 128, "\(isa)")
      XCTAssertEqual(isa.exactBlocking.keyBlock(headWidth: 4), 256, "\(isa)")
      XCTAssertEqual(FlashTiling.standard.resolved(for: isa, headWidth: 16, length: 50).keyBlock, 64, "\(isa)")
      XCTAssertEqual(FlashTiling.standard.resolved(for: isa, headWidth: 16, length: 130).keyBlock, 192, "\(isa)")
      XCTAssertEqual(FlashTiling(keyBlock: 32).resolved(for: isa, headWidth: 16, length: 4096).keyBlock, 32, "\(isa)")
      // bf16 pairs are 2 bytes an element, so the same panel holds twice the keys; the fallback
      // keeps one bf16 per float and the Float32 blocks.
      let bf16 = FlashTiling.bfloat16.resolved(for: isa, headWidth: 64, length: 4096).keyBlock
      XCTAssertEqual(bf16, isa.multipliesBFloat16 ? 128 : 64, "\(isa)")
      XCTAssertEqual(FlashTiling.bfloat16.resolved(for: isa, headWidth: 16, length: 4096).keyBlock, 256, "\(isa)")
    }
  }

  /// A tiling left open is the table's blocks for the head width: the same bits as naming them,
  /// with every layer feature, on every instruction set here.
  func testOpenTilingRunsTheTablesBlocks() throws {
    let narrow = try AttentionProblem.synthetic(.all, sequences: 2, length: 203, width: 32, heads: 2, loraRank: 3, seed: 21)
    let wide = try AttentionProblem.synthetic(.all, length: 150, width: 64, heads: 1, loraRank: 3, seed: 22)
    for isa in KernelInstructionSet.available {
      let options = ExecutionOptions(parallelism: .dispatch(threads: 2), instructionSet: isa)
      for (problem, h) in [(narrow, 16), (wide, 64)] {
        for precision in [ExactPrecision.float32, .bfloat16] {
          // L = 203 and 150 round up to 256 and 192, which cut the table's block.
          let keyBlock = min(isa.exactBlocking.keyBlock(headWidth: h, precision: precision), h == 16 ? 256 : 192)
          let open = try problem.gradients(method: .exact(FlashTiling(precision: precision)), options: options)
          let named = try problem.gradients(
            method: .exact(FlashTiling(queryBlock: isa.exactBlocking.queryBlock, keyBlock: keyBlock, precision: precision)), options: options)
          assertBitIdentical(open, named, "\(isa) h=\(h) \(precision)")
        }
      }
    }
  }
}

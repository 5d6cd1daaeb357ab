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
    // Every class measured gives a 16-wide head 256-key blocks (4096 floats per k̂ᵀ panel), a
    // 32-wide one 128, cut to L rounded up to 64 for a short sequence; a block the caller names is kept.
    for isa in KernelInstructionSet.allCases {
      XCTAssertEqual(isa.exactBlocking.keyBlock(headWidth: 16), 256, "\(isa)")
      XCTAssertEqual(isa.exactBlocking.keyBlock(headWidth: 32), 128, "\(isa)")
      XCTAssertEqual(isa.exactBlocking.keyBlock(headWidth: 4), 256, "\(isa)")
      XCTAssertEqual(FlashTiling.standard.resolved(for: isa, headWidth: 16, length: 50).keyBlock, 64, "\(isa)")
      XCTAssertEqual(FlashTiling.standard.resolved(for: isa, headWidth: 16, length: 130).keyBlock, 192, "\(isa)")
      XCTAssertEqual(FlashTiling(keyBlock: 32).resolved(for: isa, headWidth: 16, length: 4096).keyBlock, 32, "\(isa)")
    }
  }

  /// A tiling left open is the table's blocks for the head width: the same bits as naming them,
  /// with every layer feature, on every instruction set here.
  func testOpenTilingRunsTheTablesBlocks() throws {
    let problem = try AttentionProblem.synthetic(.all, sequences: 2, length: 203, width: 32, heads: 2, loraRank: 3, seed: 21)
    for isa in KernelInstructionSet.available {
      let options = ExecutionOptions(parallelism: .dispatch(threads: 2), instructionSet: isa)
      let keyBlock = min(isa.exactBlocking.keyBlock(headWidth: 16), 256)  // L = 203 rounds up to 256
      let open = try problem.gradients(method: .exact(.standard), options: options)
      let named = try problem.gradients(
        method: .exact(FlashTiling(queryBlock: isa.exactBlocking.queryBlock, keyBlock: keyBlock)), options: options)
      assertBitIdentical(open, named, "\(isa)")
    }
  }
}

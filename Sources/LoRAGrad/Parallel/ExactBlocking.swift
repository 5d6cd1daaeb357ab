import CLoRAGradKernels

/// The exact path's block sizes for one instruction set, as data (the table in blocking.c): B_r,
/// and B_c from a budget of B_c·h floats per k̂ᵀ panel, clamped to a range of key blocks.
public struct ExactBlocking: Sendable, Equatable {
  /// B_r, rows of a query block.
  public var queryBlock: Int
  /// B_c·h, the floats of one k̂ᵀ key panel the key block aims at.
  public var keyPanelFloats: Int
  /// The shortest and longest key block B_c.
  public var keyBlockRange: ClosedRange<Int>

  init(_ blocking: lgk_blocking) {
    queryBlock = Int(blocking.query_block)
    keyPanelFloats = Int(blocking.key_panel_floats)
    keyBlockRange = Int(blocking.key_block_min)...Int(blocking.key_block_max)
  }

  /// B_c at head width h: ⌊keyPanelFloats / h⌋ rounded down to a multiple of 16, clamped to the range.
  public func keyBlock(headWidth: Int) -> Int {
    Int(lgk_blocking_key_block(
      lgk_blocking(
        query_block: Int64(queryBlock), key_panel_floats: Int64(keyPanelFloats),
        key_block_min: Int64(keyBlockRange.lowerBound), key_block_max: Int64(keyBlockRange.upperBound)),
      Int64(headWidth)))
  }
}

extension KernelInstructionSet {
  /// This instruction set's entry in the exact path's blocking table.
  public var exactBlocking: ExactBlocking { ExactBlocking(lgk_blocking_for(kernelValue)) }
}

import CLoRAGradKernels

/// The exact path, FlashAttention-2 style on CPU cores (phases "flash forward", "flash
/// backward", "flash reduce dq"): tiles of queries against tiles of keys with the online
/// softmax, P recomputed in the backward pass from the saved log-sum-exp; memory O(N·L·D) plus
/// a block per worker, never an L×L matrix. Causal: blocks above the diagonal are skipped.
enum FlashAttention {
  /// O = softmax(q̂ k̂ᵀ) V (head-major) and lse per pair and row (`tiling` resolved).
  static func forward(
    _ view: HeadView, tiling: FlashTiling, parallelism: Parallelism
  ) throws -> (output: FloatBuffer, logSumExp: FloatBuffer) {
    precondition(view.layout.panel_width == tiling.keysPerBlock, "the view's panels are the key blocks")
    let output = try FloatBuffer(count: view.bufferFloats, what: "O", zeroed: false)
    let lse = try view.rowBuffer("lse")
    let bf16 = tiling.precision == .bfloat16 ? try BFloat16Operands(view, keyBlock: tiling.keysPerBlock, upstream: nil, parallelism: parallelism) : nil
    let parameters = lgk_flash_forward_params(
      ops: view.operations, heads: view.kernelView, query_block: Int64(tiling.rowsPerQueryBlock),
      key_block: Int64(tiling.keysPerBlock), o: output.base, lse: lse.base, bf16: bf16?.heads.pointer)
    try parallelism.run(
      Phase(parameters, retaining: view.buffers + [output, lse] + (bf16?.buffers ?? []), describe: lgk_flash_forward_phase))
    return (output, lse)
  }

  /// dq̂, dk̂, dV from dO, the saved lse and δ_i = ⟨dO_i, O_i⟩.
  static func backward(
    _ view: HeadView, tiling: FlashTiling, upstream dO: FloatBuffer, logSumExp lse: FloatBuffer, delta: FloatBuffer,
    parallelism: Parallelism
  ) throws -> HeadGradients {
    precondition(view.layout.panel_width == tiling.keysPerBlock, "the view's panels are the key blocks")
    let groups = lgk_flash_key_groups(view.layout.length, Int64(tiling.keysPerBlock), Int64(tiling.maxKeyGroups))
    // A panel never longer than the sequence (rounded up to whole query blocks): the partials are
    // sized by it, and a large panel budget on a short sequence would reserve rows that never exist.
    let panelRows = Int64(min(
      tiling.backwardPanelRows(headStride: Int(view.layout.head_stride)),
      roundUp(Int(view.layout.length), toMultipleOf: tiling.rowsPerQueryBlock)))
    let pairs = Int(view.layout.sequences * view.layout.heads), hs = Int(view.layout.head_stride)
    let partials = try FloatBuffer(count: pairs * Int(groups) * Int(panelRows) * hs, what: "dq̂ partials", zeroed: false)
    let dQ = try view.headBuffer("dq̂"), dK = try view.headBuffer("dk̂"), dV = try view.headBuffer("dV")
    let bf16 = tiling.precision == .bfloat16 ? try BFloat16Operands(view, keyBlock: tiling.keysPerBlock, upstream: dO, parallelism: parallelism) : nil
    for panelRow in stride(from: Int64(0), to: view.layout.length, by: Int(panelRows)) {
      let backward = lgk_flash_backward_params(
        ops: view.operations, heads: view.kernelView, query_block: Int64(tiling.rowsPerQueryBlock),
        key_block: Int64(tiling.keysPerBlock), key_groups: groups, panel_row: panelRow, panel_rows: panelRows, d_o: dO.pointer,
        lse: lse.pointer, delta: delta.pointer, d_q_partials: partials.base, d_k: dK.base, d_v: dV.base,
        bf16: bf16?.heads.pointer)
      try parallelism.run(
        Phase(backward, retaining: view.buffers + [dO, lse, delta, partials, dK, dV] + (bf16?.buffers ?? []), describe: lgk_flash_backward_phase))
      let reduce = lgk_flash_reduce_dq_params(
        layout: view.layout, causal: view.causal ? 1 : 0, query_block: Int64(tiling.rowsPerQueryBlock), key_block: Int64(tiling.keysPerBlock),
        key_groups: groups, panel_row: panelRow, panel_rows: panelRows, d_q_partials: partials.pointer, d_q: dQ.base)
      try parallelism.run(Phase(reduce, retaining: [partials, dQ], describe: lgk_flash_reduce_dq_phase))
    }
    return HeadGradients(dQ: dQ, dK: dK, dV: dV)
  }
}

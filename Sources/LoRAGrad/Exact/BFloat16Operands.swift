import CLoRAGradKernels

/// The bfloat16 operands of the exact path (lgk_exact.h, SPEC §2.1): q̂, k̂, V and dO rounded to
/// bf16 once per call, in the packed forms the tiles' products read (phase "bf16 pack"). Two bf16
/// per 4-byte word where the kernels multiply pairs natively, one swapped bf16 value per float
/// elsewhere.
struct BFloat16Operands {
  /// The C view of the packed forms, for a phase's parameter struct.
  let heads: AlignedBuffer<lgk_bf16_heads>
  /// Everything `heads` points into.
  let buffers: [AnyObject]

  /// Packs the forms the forward pass reads (upstream nil: q̂ rows, k̂ rows transposed, V row
  /// pairs) or the backward pass reads (every form but V's row pairs).
  init(_ view: HeadView, keyBlock: Int, upstream dO: FloatBuffer?, parallelism: Parallelism) throws {
    let elementsPerWord = lgk_ops_bf16_native(view.operations) != 0 ? 2 : 1
    let words = view.bufferFloats / elementsPerWord
    var made: [FloatBuffer] = []
    func form(_ what: String, _ needed: Bool) throws -> FloatBuffer? {
      guard needed else { return nil }
      let buffer = try FloatBuffer(count: words, what: "bf16 \(what)", zeroed: false)
      made.append(buffer)
      return buffer
    }
    let backward = dO != nil
    let qRows = try form("q̂ rows", true), qPairs = try form("q̂ row pairs", backward)
    let kRowsT = try form("k̂ rows transposed", true), kPairs = try form("k̂ row pairs", backward)
    let vRowsT = try form("V rows transposed", backward), vPairs = try form("V row pairs", !backward)
    let dORows = try form("dO rows", backward), dOPairs = try form("dO row pairs", backward)
    func raw(_ buffer: FloatBuffer?) -> UnsafeMutableRawPointer? { buffer.map { UnsafeMutableRawPointer($0.base) } }
    let parameters = lgk_bf16_pack_params(
      ops: view.operations, layout: view.layout, panel: Int64(keyBlock), q: view.q.pointer, k: view.k.pointer, v: view.v.pointer, d_o: dO?.pointer,
      q_rows: raw(qRows), q_row_pairs: raw(qPairs), k_rows_t: raw(kRowsT), k_row_pairs: raw(kPairs),
      v_rows_t: raw(vRowsT), v_row_pairs: raw(vPairs), d_o_rows: raw(dORows), d_o_row_pairs: raw(dOPairs))
    try parallelism.run(Phase(parameters, retaining: view.buffers + made + (dO.map { [$0] } ?? []), describe: lgk_bf16_pack_phase))
    heads = try AlignedBuffer<lgk_bf16_heads>(
      [lgk_bf16_heads(
        q_rows: raw(qRows), q_row_pairs: raw(qPairs), k_rows_t: raw(kRowsT), k_row_pairs: raw(kPairs),
        v_rows_t: raw(vRowsT), v_row_pairs: raw(vPairs), d_o_rows: raw(dORows), d_o_row_pairs: raw(dOPairs))],
      what: "bf16 operand view")
    buffers = made + [heads]
  }
}

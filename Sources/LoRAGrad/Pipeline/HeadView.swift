import CLoRAGradKernels

/// The projected batch in head space (lgk_heads.h), built once by the projection phase and read
/// by every attention phase: q̂ = √β·Q and k̂ = √β·K after biases and RoPE (the one β
/// convention: logits are q̂·k̂), V, and k̂ᵀ, Vᵀ; head-major, zero-padded.
struct HeadView {
  /// The geometry of every head-major buffer.
  let layout: lgk_head_layout
  let q, k, v: FloatBuffer
  /// k̂ᵀ and Vᵀ in key-block panels, for the exact path's Float32 products (nil for a view only
  /// bf16 products or the polynomial kernels read).
  let kT, vT: FloatBuffer?
  /// ℓ_n per sequence, for the kernels (nil: all keys visible).
  let keyLengths: AlignedBuffer<Int64>?
  /// Whether key j > i is hidden.
  let causal: Bool
  /// The kernels' operations table.
  let operations: OpaquePointer

  /// Projects the batch through the layer's effective weights and biases (phase "projection"),
  /// with the transposes k̂ᵀ, Vᵀ (in panels of `rowMultiple` keys, lgk_heads.h) unless `transposes`
  /// is false (the bf16 products pack their own; the polynomial kernels read k̂ and V).
  init(
    _ layer: AttentionLayer, batch: LayerBatch, rowMultiple: Int, operations: OpaquePointer, transposes: Bool = true,
    parallelism: Parallelism
  ) throws {
    let shape = batch.shape
    layout = lgk_head_layout_make(Int64(shape.sequences), Int64(shape.heads), Int64(shape.length), Int64(shape.headWidth), Int64(rowMultiple))
    let count = Int(lgk_head_layout_floats_of(layout))
    q = try FloatBuffer(count: count, what: "q̂", zeroed: false)
    k = try FloatBuffer(count: count, what: "k̂", zeroed: false)
    kT = transposes ? try FloatBuffer(count: count, what: "k̂ᵀ", zeroed: false) : nil
    v = try FloatBuffer(count: count, what: "V", zeroed: false)
    vT = transposes ? try FloatBuffer(count: count, what: "Vᵀ", zeroed: false) : nil
    keyLengths = try batch.keyLengths.map { try AlignedBuffer<Int64>($0.map(Int64.init), what: "key lengths") }
    causal = shape.causal
    self.operations = operations
    let d = layer.modelWidth
    let transposed = try Projection.allCases.map { projection -> FloatBuffer in
      let w = layer.effectiveWeights[projection]!
      var wT = [Float](repeating: 0, count: d * d)
      for o in 0..<d { for i in 0..<d { wT[i * d + o] = w[o * d + i] } }
      return try FloatBuffer(wT, what: "W_\(projection.rawValue)ᵀ")
    }
    let biases = try Projection.allCases.map { projection in
      try layer.biases[projection].map { try FloatBuffer($0.scalars, what: "b_\(projection.rawValue)") }
    }
    let retained: [AnyObject] = [q, k, v] + [kT, vT].compactMap { $0 } + transposed + biases.compactMap { $0 }
    try batch.inputs.scalars.withUnsafeBufferPointer { x in  // the phase reads X in place
      let parameters = lgk_projection_params(
        ops: operations, layout: layout, width: Int64(d), head_scale: Float(layer.beta.squareRoot()),
        rope_theta: layer.ropeTheta ?? 0, x: x.baseAddress,
        w_t: (transposed[0].pointer, transposed[1].pointer, transposed[2].pointer),
        bias: (biases[0]?.pointer, biases[1]?.pointer, biases[2]?.pointer),
        q: q.base, k: k.base, k_t: kT?.base, v: v.base, v_t: vT?.base)
      try parallelism.run(Phase(parameters, retaining: retained, describe: lgk_projection_phase))
    }
  }

  /// The C view for a phase's parameter struct (valid while `buffers` are held).
  var kernelView: lgk_heads {
    lgk_heads(
      layout: layout, key_lengths: keyLengths?.pointer, causal: causal ? 1 : 0,
      q: q.pointer, k: k.pointer, k_t: kT?.pointer, v: v.pointer, v_t: vT?.pointer)
  }

  /// Everything `kernelView` points into, for a phase to hold.
  var buffers: [AnyObject] { [q, k, v] + [kT, vT].compactMap { $0 } + (keyLengths.map { [$0] } ?? []) }

  /// N·H.
  var pairs: Int { Int(layout.sequences * layout.heads) }
  /// Floats of one head-major buffer.
  var bufferFloats: Int { Int(lgk_head_layout_floats_of(layout)) }
  /// Floats of one per-row buffer.
  var rowFloats: Int {
    var copy = layout
    return Int(lgk_head_layout_row_floats(&copy))
  }

  /// A zeroed head-major buffer.
  func headBuffer(_ what: String) throws -> FloatBuffer { try FloatBuffer(count: bufferFloats, what: what) }
  /// A zeroed per-row buffer.
  func rowBuffer(_ what: String) throws -> FloatBuffer { try FloatBuffer(count: rowFloats, what: what) }
}

/// lgk_head_layout_floats for a layout value.
func lgk_head_layout_floats_of(_ layout: lgk_head_layout) -> Int64 {
  var copy = layout
  return lgk_head_layout_floats(&copy)
}

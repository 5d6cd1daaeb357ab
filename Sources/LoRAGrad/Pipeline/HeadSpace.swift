import CLoRAGradKernels

/// Moving [N, L, D] rows into head space and back (phases "upstream" and "gather").
enum HeadSpace {
  /// dZ scattered per head into dO, and (given Z) δ_i = ⟨dZ_i, Z_i⟩ per pair and row.
  static func upstream(
    _ view: HeadView, width: Int, upstream dz: Tensor, output z: Tensor?, parallelism: Parallelism
  ) throws -> (dO: FloatBuffer, delta: FloatBuffer?) {
    let dO = try FloatBuffer(count: view.bufferFloats, what: "dO", zeroed: false)
    let delta = try z.map { _ in try view.rowBuffer("δ") }
    let retained: [AnyObject] = [dO] + (delta.map { [$0] } ?? [])
    try dz.scalars.withUnsafeBufferPointer { dzRows in  // the phase reads dZ and Z in place
      try (z?.scalars ?? []).withUnsafeBufferPointer { zRows in
        let parameters = lgk_upstream_params(
          layout: view.layout, width: Int64(width), dz: dzRows.baseAddress, z: z == nil ? nil : zRows.baseAddress, d_o: dO.base,
          delta: delta?.base)
        try parallelism.run(Phase(parameters, retaining: retained, describe: lgk_upstream_phase))
      }
    }
    return (dO, delta)
  }

  /// A head-major buffer gathered into [N, L, D] rows.
  static func gather(_ view: HeadView, width: Int, heads: FloatBuffer, parallelism: Parallelism) throws -> [Float] {
    let rows = try FloatBuffer(count: Int(view.layout.sequences * view.layout.length) * width, what: "Z", zeroed: false)
    let parameters = lgk_gather_params(layout: view.layout, width: Int64(width), heads: heads.pointer, rows: rows.base)
    try parallelism.run(Phase(parameters, retaining: [heads, rows], describe: lgk_gather_phase))
    return rows.array
  }

  /// A per-row buffer (pairs × padded length) as [N, H, L] values, padding dropped.
  static func rowValues(_ view: HeadView, _ buffer: FloatBuffer) -> [Float] {
    let l = Int(view.layout.length), lp = Int(view.layout.padded_length)
    var values = [Float](repeating: 0, count: view.pairs * l)
    for pair in 0..<view.pairs {
      for i in 0..<l { values[pair * l + i] = buffer.base[pair * lp + i] }
    }
    return values
  }
}

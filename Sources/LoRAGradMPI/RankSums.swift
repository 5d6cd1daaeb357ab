import LoRAGrad

/// The reduction both splits use: values summed over the ranks of a job in rank order, in
/// Float64 (so a fixed rank count gives the same bits on every run), and the adapter matrices of
/// a layer as one flat vector for it.
enum RankSums {
  /// Σ_r values_r entry by entry, over the ranks in order (every rank passes the same count).
  static func sum(_ values: [Double], job: MPIJob) throws -> [Double] {
    var sums = [Double](repeating: 0, count: values.count)
    for part in try job.allGather(values) { for i in sums.indices { sums[i] += part[i] } }
    return sums
  }

  /// The adapter matrices' roles of `layer`, in projection order, A before B.
  static func roles(_ layer: AttentionLayer) -> [TensorRole] {
    layer.adapters.keys.sorted().flatMap { [TensorRole.adapterA($0), .adapterB($0)] }
  }

  /// The matrix of an adapter role.
  static func matrix(_ role: TensorRole, in adapters: [Projection: LoRAAdapter]) -> Tensor? {
    switch role {
    case .adapterA(let projection): return adapters[projection]?.a
    case .adapterB(let projection): return adapters[projection]?.b
    default: return nil
    }
  }

  /// Every matrix of `tensors` for the roles of `layer`, in their order (zeros for a missing one).
  static func flatten(_ tensors: (TensorRole) -> Tensor?, like layer: AttentionLayer) -> [Double] {
    roles(layer).flatMap { role in
      tensors(role)?.scalars.map(Double.init) ?? [Double](repeating: 0, count: matrix(role, in: layer.adapters)!.count)
    }
  }

  /// The adapters of `layer`'s shapes from `values` (in `flatten`'s order), rounded to Float32.
  static func adapters(_ values: ArraySlice<Double>, like layer: AttentionLayer) -> [Projection: LoRAAdapter] {
    var offset = values.startIndex
    var matrices: [TensorRole: Tensor] = [:]
    for role in roles(layer) {
      let shape = matrix(role, in: layer.adapters)!.shape, count = shape.reduce(1, *)
      matrices[role] = Tensor(checkedShape: shape, scalars: values[offset..<(offset + count)].map(Float.init))
      offset += count
    }
    return Dictionary(uniqueKeysWithValues: layer.adapters.keys.map { p in
      (p, LoRAAdapter(a: matrices[.adapterA(p)]!, b: matrices[.adapterB(p)]!))
    })
  }
}

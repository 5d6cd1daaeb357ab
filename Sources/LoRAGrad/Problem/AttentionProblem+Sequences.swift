/// A problem restricted to some of its sequences, with the same layer or another one: what a
/// training step's batch and a rank's share of a data-parallel job are.
extension AttentionProblem {
  /// The sequences `indices` (in that order) of X, Y or dZ and the key lengths, under `layer`
  /// (default: this problem's). All N in order with the same layer is this problem itself.
  public func selecting(sequences indices: [Int], layer: AttentionLayer? = nil) throws -> AttentionProblem {
    if indices == Array(0..<batchCount) {
      guard let layer else { return self }
      return try AttentionProblem(layer: layer, inputs: inputs, keyLengths: keyLengths, objective: objective)
    }
    let stride = inputs.count / batchCount
    func gather(_ tensor: Tensor) -> Tensor {
      var scalars: [Float] = []
      scalars.reserveCapacity(indices.count * stride)
      for i in indices { scalars += tensor.scalars[(i * stride)..<((i + 1) * stride)] }
      return Tensor(checkedShape: [indices.count] + tensor.shape.suffix(2), scalars: scalars)
    }
    let selected: Objective
    switch objective {
    case .squaredError(let targets): selected = .squaredError(targets: gather(targets))
    case .upstream(let dz): selected = .upstream(gather(dz))
    }
    return try AttentionProblem(
      layer: layer ?? self.layer, inputs: gather(inputs), keyLengths: keyLengths.map { lengths in indices.map { lengths[$0] } },
      objective: selected)
  }

  /// Z − Y in Float32 and ½ Σ (Z − Y)² accumulated in Float64: the squared loss of an output.
  package static func squaredError(_ output: Tensor, targets: Tensor) -> (difference: [Float], loss: Double) {
    // One pass, written straight into the new array (no copy of Z first); the sum in index order.
    var sum = 0.0
    let count = output.scalars.count
    precondition(targets.scalars.count == count, "Y has Z's shape (checked when the problem was made)")
    let difference = output.scalars.withUnsafeBufferPointer { z in
      targets.scalars.withUnsafeBufferPointer { y in
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
          for index in 0..<count {
            let value = z[index] - y[index]
            out[index] = value
            sum += Double(value) * Double(value)
          }
          initialized = count
        }
      }
    }
    return (difference, 0.5 * sum)
  }
}

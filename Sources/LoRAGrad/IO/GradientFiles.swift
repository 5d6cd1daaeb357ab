/// Gradient output directories (SPEC §5): `grad_lora_a_μ.npy` [r, D] and `grad_lora_b_μ.npy` [D, r]
/// (float32) per adapted projection, and `loss.npy` (0-d float64).
extension Gradients {
  /// Writes the gradients and the loss into `directory` (created if missing), all files or none;
  /// gradient files of projections not in this result are removed.
  public func write(directory: String) throws {
    var files: [(name: String, bytes: [UInt8])] = []
    var stale: [String] = []
    for projection in Projection.allCases {
      let name = projection.rawValue
      if let adapter = adapters[projection] {
        files.append(("grad_lora_a_\(name).npy", NumPyArray.encode(adapter.a)))
        files.append(("grad_lora_b_\(name).npy", NumPyArray.encode(adapter.b)))
      } else {
        stale += ["grad_lora_a_\(name).npy", "grad_lora_b_\(name).npy"]
      }
    }
    files.append(("loss.npy", NumPyArray.encodeScalar(loss)))
    try AtomicWrite.write(files, into: directory, removing: stale)
  }

  /// The gradients stored in `directory` by `write(directory:)` (or by another implementation):
  /// every complete `grad_lora_a_μ` / `grad_lora_b_μ` pair and `loss.npy`.
  public init(directory: String) throws {
    let (exists, isDirectory) = FileAccess.kind(of: directory)
    guard exists, isDirectory else {
      throw LoRAGradError.fileSystem(path: directory, reason: exists ? "is not a directory" : "no such directory")
    }
    var adapters: [Projection: LoRAAdapter] = [:]
    for projection in Projection.allCases {
      let a = FileAccess.join(directory, "grad_lora_a_\(projection.rawValue).npy")
      let b = FileAccess.join(directory, "grad_lora_b_\(projection.rawValue).npy")
      switch (FileAccess.kind(of: a).exists, FileAccess.kind(of: b).exists) {
      case (false, false): continue
      case (true, false): throw LoRAGradError.fileSystem(path: b, reason: "missing: its pair \(a) is present")
      case (false, true): throw LoRAGradError.fileSystem(path: a, reason: "missing: its pair \(b) is present")
      case (true, true):
        adapters[projection] = LoRAAdapter(a: try NumPyArray.read(path: a), b: try NumPyArray.read(path: b))
      }
    }
    self.init(loss: try NumPyArray.readScalar(path: FileAccess.join(directory, "loss.npy")), adapters: adapters)
  }
}

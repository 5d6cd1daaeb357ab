import LoRAGrad

/// Gradient output directories (SPEC §5): grad_lora_a_μ.npy [r, D], grad_lora_b_μ.npy [D, r] per
/// adapted projection, grad_x.npy (like X), float32, and loss.npy (0-d float64) for the squared loss.
public enum GradientFiles {
  /// The safetensors file of the adapter gradients in the PEFT format (`--format peft`).
  public static let peftName = "grad_adapter_model.safetensors"

  /// Writes the gradients into `directory` (created if missing), all files or none; gradient
  /// files this result does not have are removed. With `peftKeys` the adapter gradients go into
  /// one safetensors file, grad_adapter_model.safetensors, each under its adapter tensor's key
  /// (PEFT's `….lora_A.weight`, `….lora_B.weight`), instead of grad_lora_*.npy.
  public static func write(_ gradients: Gradients, to directory: String, peftKeys: ((TensorRole) -> String)? = nil) throws {
    var files: [(name: String, bytes: [UInt8])] = []
    var stale: [String] = []
    var peftTensors: [(name: String, tensor: Tensor)] = []
    for projection in Projection.allCases {
      let names = [ProblemFiles.gradientName(.adapterA(projection)), ProblemFiles.gradientName(.adapterB(projection))]
      if let adapter = gradients.adapters[projection], let peftKeys {
        peftTensors += [(peftKeys(.adapterA(projection)), adapter.a), (peftKeys(.adapterB(projection)), adapter.b)]
        stale += names
      } else if let adapter = gradients.adapters[projection] {
        files.append((names[0], NumPyArray.encode(adapter.a)))
        files.append((names[1], NumPyArray.encode(adapter.b)))
      } else {
        stale += names
      }
    }
    if peftKeys != nil {
      files.append((peftName, SafeTensorsFile.encode(peftTensors, metadata: ["format": "pt"])))
    } else {
      stale.append(peftName)
    }
    if let input = gradients.input {
      files.append((ProblemFiles.gradientName(.inputs), NumPyArray.encode(input)))
    } else {
      stale.append(ProblemFiles.gradientName(.inputs))
    }
    if let loss = gradients.loss {
      files.append((ProblemFiles.loss, NumPyArray.encodeScalar(loss)))
    } else {
      stale.append(ProblemFiles.loss)
    }
    try AtomicWrite.write(files, into: directory, removing: stale)
  }

  /// The gradients stored in `directory` by `write` (or by another implementation, such as
  /// layer_ref.py): every complete grad_lora_a_μ / grad_lora_b_μ pair, grad_x.npy and loss.npy if present.
  public static func read(_ directory: String) throws -> Gradients {
    let (exists, isDirectory) = FileAccess.kind(of: directory)
    guard exists, isDirectory else {
      throw LoRAGradError.fileSystem(path: directory, reason: exists ? "is not a directory" : "no such directory")
    }
    var adapters: [Projection: LoRAAdapter] = [:]
    for projection in Projection.allCases {
      let a = FileAccess.join(directory, ProblemFiles.gradientName(.adapterA(projection)))
      let b = FileAccess.join(directory, ProblemFiles.gradientName(.adapterB(projection)))
      switch (FileAccess.kind(of: a).exists, FileAccess.kind(of: b).exists) {
      case (false, false): continue
      case (true, false): throw LoRAGradError.fileSystem(path: b, reason: "missing: its pair \(a) is present")
      case (false, true): throw LoRAGradError.fileSystem(path: a, reason: "missing: its pair \(b) is present")
      case (true, true): adapters[projection] = LoRAAdapter(a: try NumPyArray.read(path: a), b: try NumPyArray.read(path: b))
      }
    }
    let lossPath = FileAccess.join(directory, ProblemFiles.loss)
    let loss = FileAccess.kind(of: lossPath).exists ? try NumPyArray.readScalar(path: lossPath) : nil
    let inputPath = FileAccess.join(directory, ProblemFiles.gradientName(.inputs))
    let input = FileAccess.kind(of: inputPath).exists ? try NumPyArray.read(path: inputPath) : nil
    return Gradients(loss: loss, adapters: adapters, input: input, path: .exact)
  }
}

import LoRAGrad

/// The file names of problem and gradient directories (SPEC §5), in one place.
public enum ProblemFiles {
  /// The optional configuration of a problem directory.
  public static let config = "config.json"
  /// The loss of the squared error (0-d float64).
  public static let loss = "loss.npy"

  /// The `.npy` file a tensor of a problem directory is stored in: x, y, dz, z, w_μ, b_μ,
  /// lora_a_μ, lora_b_μ.
  public static func name(_ role: TensorRole) -> String {
    switch role {
    case .inputs: return "x.npy"
    case .targets: return "y.npy"
    case .upstream: return "dz.npy"
    case .output: return "z.npy"
    case .logSumExp: return "lse.npy"
    case .frozenWeight(let p): return "w_\(p.rawValue).npy"
    case .bias(let p): return "b_\(p.rawValue).npy"
    case .adapterA(let p): return "lora_a_\(p.rawValue).npy"
    case .adapterB(let p): return "lora_b_\(p.rawValue).npy"
    }
  }

  /// lora_a_μ.npy and lora_b_μ.npy (float32) of every adapter, in projection order: adapters in
  /// the problem directory's names and layout.
  public static func adapterFiles(_ adapters: [Projection: LoRAAdapter]) -> [(name: String, bytes: [UInt8])] {
    adapters.keys.sorted().flatMap { projection -> [(name: String, bytes: [UInt8])] in
      [(name(.adapterA(projection)), NumPyArray.encode(adapters[projection]!.a)), (name(.adapterB(projection)), NumPyArray.encode(adapters[projection]!.b))]
    }
  }

  /// The gradient file of a tensor: grad_x.npy, grad_lora_a_μ.npy, grad_lora_b_μ.npy.
  public static func gradientName(_ role: TensorRole) -> String { "grad_" + name(role) }

  /// Every input a problem directory may hold.
  static var inputRoles: [TensorRole] {
    [.inputs, .targets, .upstream] + Projection.allCases.flatMap { [.frozenWeight($0), .bias($0), .adapterA($0), .adapterB($0)] }
  }

  /// The prefixes of the per-projection input files; any other file with one of them is a stray
  /// input (b_x.npy, lora_a_o.npy), reported rather than ignored.
  static let projectionPrefixes = ["w_", "b_", "lora_a_", "lora_b_"]
}

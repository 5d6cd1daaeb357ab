import CLoRAGradKernels

/// The instruction set of the C kernels, chosen at run time from what the CPU supports.
public enum KernelInstructionSet: String, CaseIterable, Sendable {
  /// Plain C (the compiler's baseline vectorisation only).
  case portable
  /// AVX2 with fused multiply-add, 8 floats per vector.
  case avx2 = "avx2+fma"
  /// AVX-512 Foundation, 16 floats per vector.
  case avx512 = "avx512f"

  init(_ isa: lgk_isa) {
    switch isa {
    case lgk_isa_avx512f: self = .avx512
    case lgk_isa_avx2_fma: self = .avx2
    default: self = .portable
    }
  }

  var kernelValue: lgk_isa {
    switch self {
    case .portable: return lgk_isa_portable
    case .avx2: return lgk_isa_avx2_fma
    case .avx512: return lgk_isa_avx512f
    }
  }

  /// The widest instruction set this CPU supports.
  public static var detected: KernelInstructionSet { KernelInstructionSet(lgk_isa_detected()) }
  /// The instruction set the kernels use now.
  public static var active: KernelInstructionSet { KernelInstructionSet(lgk_isa_active()) }
  /// Every instruction set this CPU can run, narrowest first.
  public static var available: [KernelInstructionSet] { allCases.filter { $0.kernelValue.rawValue <= lgk_isa_detected().rawValue } }

  /// Makes the kernels use `isa` (nil: the detected one); for tests and benchmarks comparing
  /// kernels, never while a computation is running. Returns the set now in use.
  @discardableResult
  public static func override(_ isa: KernelInstructionSet?) -> KernelInstructionSet {
    KernelInstructionSet(lgk_isa_override((isa ?? detected).kernelValue))
  }
}

import CLoRAGradKernels

/// The instruction set of the C kernels. A computation uses the one its `ExecutionOptions` name
/// (by default the widest this CPU supports); nothing process-wide is ever switched.
public enum KernelInstructionSet: String, CaseIterable, Sendable, Comparable {
  /// Plain C (the compiler's baseline vectorisation only).
  case portable
  /// AVX2 with fused multiply-add, 8 floats per vector.
  case avx2 = "avx2+fma"
  /// AVX-512 Foundation, 16 floats per vector.
  case avx512 = "avx512f"
  /// AVX-512 with the BF16 dot product (vdpbf16ps): the Float32 kernels of avx512f (the same
  /// bits), and native bf16 products for `ExactPrecision.bfloat16`.
  case avx512bf16 = "avx512f+bf16"

  init(_ isa: lgk_isa) {
    switch isa {
    case lgk_isa_avx512bf16: self = .avx512bf16
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
    case .avx512bf16: return lgk_isa_avx512bf16
    }
  }

  /// The widest instruction set this CPU supports.
  public static var detected: KernelInstructionSet { KernelInstructionSet(lgk_isa_detected()) }
  /// Every instruction set this CPU can run, narrowest first.
  public static var available: [KernelInstructionSet] { allCases.filter { $0 <= detected } }

  /// Whether bf16 products run natively (else on the Float32 kernels, with the same bits).
  public var multipliesBFloat16: Bool { self == .avx512bf16 }

  /// Orders portable < avx2 < avx512 < avx512bf16 (by vector width, then the bf16 dot product).
  public static func < (lhs: KernelInstructionSet, rhs: KernelInstructionSet) -> Bool {
    lhs.kernelValue.rawValue < rhs.kernelValue.rawValue
  }

  /// The C operations table of this set (throws if the CPU cannot run it).
  func operations() throws -> OpaquePointer {
    guard self <= Self.detected else {
      throw LoRAGradError.invalidArgument(
        argument: "instructionSet", expected: "one this CPU supports (\(Self.available.map(\.rawValue).joined(separator: ", ")))",
        given: rawValue)
    }
    return lgk_ops_for(kernelValue)!
  }
}

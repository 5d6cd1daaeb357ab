import Foundation
import LoRAGrad

/// What the benchmarks say the machine is: the CPU as /proc/cpuinfo names it (vendor, family,
/// model, model name) and its vector class (the widest kernels it runs, and whether it has
/// AVX-512 BF16), so that a rate is never quoted without the class it was measured on.
public struct MachineDescription: Sendable {
  /// "AMD EPYC 9R14 (AuthenticAMD family 25 model 17)", or "unknown CPU".
  public let processor: String
  /// "avx512f+bf16", "avx512f", "avx2+fma" or "portable": the widest kernels this CPU runs.
  public let vectorClass: String

  /// This machine.
  public static var current: MachineDescription {
    let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else {
        if !fields.isEmpty { break }  // the first processor's block is enough
        continue
      }
      let key = line[..<colon].trimmingCharacters(in: .whitespaces)
      if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
    }
    let name = fields["model name"] ?? "unknown CPU"
    let identity = [fields["vendor_id"], fields["cpu family"].map { "family \($0)" }, fields["model"].map { "model \($0)" }]
      .compactMap { $0 }.joined(separator: " ")
    // The kernels' class names bf16 itself (avx512f+bf16) when the CPU has the instructions.
    return MachineDescription(processor: identity.isEmpty ? name : "\(name) (\(identity))", vectorClass: KernelInstructionSet.detected.rawValue)
  }
}

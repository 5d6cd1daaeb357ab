// libFuzzer target for the config.json parser, `ProblemConfig.parse(data:name:)`.
// Built by Fuzz/run.sh together with the IO sources of LoRAGrad (one module, no package).
//
// Invariants checked on every input (a violation traps, and libFuzzer saves the reproducer):
//   - parse never traps and throws nothing but LoRAGradError.invalidFile naming the file;
//   - an accepted config has heads ≥ 1 and finite alpha and beta;
//   - encoding an accepted config and parsing it again gives the same config.

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
  let name = "config.json"
  let config: ProblemConfig
  do {
    config = try ProblemConfig.parse(data: bytes, name: name)
  } catch let error as LoRAGradError {
    guard case .invalidFile(let path, let expected) = error, path == name, !expected.isEmpty else {
      fatalError("parse threw an unexpected LoRAGradError: \(error)")
    }
    return 0
  } catch {
    fatalError("parse threw a non-LoRAGrad error: \(error)")
  }
  if let heads = config.heads { precondition(heads >= 1, "accepted heads = \(heads)") }
  if let alpha = config.alpha { precondition(alpha.isFinite, "accepted alpha = \(alpha)") }
  if let beta = config.beta { precondition(beta.isFinite, "accepted beta = \(beta)") }
  let encoded = config.encoded()
  let again: ProblemConfig
  do {
    again = try ProblemConfig.parse(data: encoded, name: name)
  } catch {
    fatalError("the re-encoded config \(String(decoding: encoded, as: UTF8.self)) does not parse: \(error)")
  }
  precondition(
    again == config,
    "round trip changed \(config) into \(again) via \(String(decoding: encoded, as: UTF8.self))")
  return 0
}

// libFuzzer target for the config.json parser, `ProblemConfig.parse(data:name:)`.
// Built by Fuzz/run.sh together with the IO sources of LoRAGrad (one module, no package).
//
// Invariants checked on every input (a violation traps, and libFuzzer saves the reproducer):
//   - parse never traps and throws nothing but LoRAGradError.invalidFile naming the file;
//   - an accepted config has heads ≥ 1 and finite alpha and beta;
//   - encoding an accepted config and parsing it again gives the same config.

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = fuzzInput(data, size)
  let name = "config.json"
  guard let config = parsedOrRejected(name, { try ProblemConfig.parse(data: bytes, name: name) }) else { return 0 }
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

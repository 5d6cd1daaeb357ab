// libFuzzer target for the .npy parser, `NumPyArray.parse(data:name:)`.
// Built by Fuzz/run.sh together with the IO sources of LoRAGrad (one module, no package).
//
// Invariants checked on every input (a violation traps, and libFuzzer saves the reproducer):
//   - parse never traps and throws nothing but LoRAGradError.invalidFile naming the file;
//   - a parsed tensor's element count is the product of its shape;
//   - re-encoding a parsed tensor gives a file that parses back to the same bits and shape.

@_cdecl("LLVMFuzzerTestOneInput")
public func numPyFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = fuzzInput(data, size)
  let name = "fuzz.npy"
  guard let tensor = parsedOrRejected(name, { try NumPyArray.parse(data: bytes, name: name) }) else { return 0 }
  precondition(tensor.shape.allSatisfy { $0 >= 0 }, "negative extent in \(tensor.shape)")
  precondition(tensor.shape.reduce(1, *) == tensor.count, "count \(tensor.count) is not the product of \(tensor.shape)")
  let encoded = NumPyArray.encode(tensor)
  guard let again = try? NumPyArray.parse(data: encoded, name: name) else {
    fatalError("the re-encoded tensor of shape \(tensor.shape) does not parse")
  }
  precondition(again.shape == tensor.shape, "round trip changed the shape \(tensor.shape) to \(again.shape)")
  precondition(again.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern), "round trip changed the values")
  return 0
}

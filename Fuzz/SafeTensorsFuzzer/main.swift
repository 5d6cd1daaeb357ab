// libFuzzer target for the safetensors reader, `SafeTensorsFile.parse(data:name:)` and `tensor(_:)`.
// Built by Fuzz/run.sh together with the IO sources of LoRAGrad (one module, no package).
//
// Invariants checked on every input (a violation traps, and libFuzzer saves the reproducer):
//   - parse and tensor never trap and throw nothing but LoRAGradError.invalidFile naming the file;
//   - an accepted header's tensors are contiguous, in range and cover the data exactly;
//   - every readable tensor decodes to shape × 1 Float32 values;
//   - encoding the decoded tensors and parsing again gives the same names, shapes and bits.

@_cdecl("LLVMFuzzerTestOneInput")
public func safeTensorsFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = fuzzInput(data, size)
  let name = "model.safetensors"
  guard let file = parsedOrRejected(name, { try SafeTensorsFile.parse(data: bytes, name: name) }) else { return 0 }
  var end = 0
  for entry in file.header.entries {
    precondition(entry.byteRange.lowerBound == end, "accepted a gap or overlap at \(entry.name)")
    end = entry.byteRange.upperBound
  }
  precondition(file.header.dataOffset + end == bytes.count, "accepted data not covered exactly")
  var decoded: [(name: String, tensor: Tensor)] = []
  for entry in file.header.entries where entry.elementType.isReadable {
    guard let tensor = parsedOrRejected(name, { try file.tensor(entry.name) }) else { continue }
    precondition(tensor.shape == entry.shape && tensor.count == entry.shape.reduce(1, *), "decoded \(entry.name) with the wrong size")
    decoded.append((entry.name, tensor))
  }
  let encoded = SafeTensorsFile.encode(decoded, metadata: file.header.metadata)
  let again: SafeTensorsFile
  do {
    again = try SafeTensorsFile.parse(data: encoded, name: name)
  } catch {
    fatalError("the re-encoded file does not parse: \(error)")
  }
  precondition(again.names == decoded.map(\.name) && again.header.metadata == file.header.metadata, "round trip changed names or metadata")
  for (tensorName, tensor) in decoded {
    let read = try! again.tensor(tensorName)
    precondition(read.shape == tensor.shape && read.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern), "round trip changed \(tensorName)")
  }
  return 0
}

// libFuzzer target for the JSON parser, `JSONValue.parse(_:)`, which reads config.json and
// calibration files (and, later, safetensors headers). Built by Fuzz/run.sh (one module).
//
// Invariants checked on every input (a violation traps, and libFuzzer saves the reproducer):
//   - parse never traps, whatever the bytes; it returns a value or a JSONSyntaxError inside the input;
//   - rendering a parsed value and parsing it again gives the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func jsonFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let bytes = fuzzInput(data, size)
  let value: JSONValue
  do {
    value = try JSONValue.parse(bytes)
  } catch {
    precondition(error.offset >= 0 && error.offset <= bytes.count, "error offset \(error.offset) outside the input")
    return 0
  }
  let rendered = Array(value.rendered.utf8)
  guard let again = try? JSONValue.parse(rendered) else {
    fatalError("the rendering \(value.rendered) does not parse")
  }
  precondition(again.rendered == value.rendered, "round trip changed \(value.rendered) into \(again.rendered)")
  return 0
}

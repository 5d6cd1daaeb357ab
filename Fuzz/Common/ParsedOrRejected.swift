// Shared by the libFuzzer targets: the bytes libFuzzer hands over, and the one outcome a parser may
// have besides success.

/// The input of one fuzzing run as an array (empty when libFuzzer passes no data).
func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
  size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
}

/// The parsed value, or nil when the parser rejected the input with `LoRAGradError.invalidFile`
/// naming `name` and what it expected; any other error traps, so libFuzzer saves the input.
func parsedOrRejected<Value>(_ name: String, _ parse: () throws -> Value) -> Value? {
  do {
    return try parse()
  } catch let error as LoRAGradError {
    guard case .invalidFile(let path, let expected) = error, path == name, !expected.isEmpty else {
      fatalError("parse threw an unexpected LoRAGradError: \(error)")
    }
    return nil
  } catch {
    fatalError("parse threw a non-LoRAGrad error: \(error)")
  }
}

/// Every failure LoRAGrad reports: each case names the file, tensor or argument at fault and what was expected.
public enum LoRAGradError: Error, Equatable, Sendable, CustomStringConvertible {
  /// An argument (API parameter, command-line option or configuration key) is outside its domain.
  case invalidArgument(argument: String, expected: String, given: String)
  /// A file exists but its contents are not what was expected (malformed header, wrong dtype, ...).
  case invalidFile(path: String, expected: String)
  /// A file or directory is missing, unreadable or unwritable.
  case fileSystem(path: String, reason: String)
  /// Two inputs disagree on a dimension (D, r, L, N, heads).
  case shapeMismatch(name: String, expected: String, given: String)
  /// An input holds NaN or ±Inf.
  case nonFinite(name: String, index: Int)
  /// The polynomial method cannot meet the tolerance within its memory budget.
  case toleranceUnreachable(reason: String)
  /// A finite input whose logits, outputs or gradients leave Float32's range (|x| > 3.4e38).
  case outOfRange(quantity: String, reason: String)
  /// Memory for a computation could not be allocated.
  case resourceExhausted(what: String, bytes: Int)

  /// A one-line, human-readable message naming the culprit and what was expected.
  public var description: String {
    switch self {
    case let .invalidArgument(argument, expected, given):
      return "\(argument): expected \(expected), got \(given)"
    case let .invalidFile(path, expected):
      return "\(path): expected \(expected)"
    case let .fileSystem(path, reason):
      return "\(path): \(reason)"
    case let .shapeMismatch(name, expected, given):
      return "\(name): expected shape \(expected), got \(given)"
    case let .nonFinite(name, index):
      return "\(name): expected finite values, found NaN or Inf at flat index \(index)"
    case let .toleranceUnreachable(reason):
      return reason
    case let .outOfRange(quantity, reason):
      return "\(quantity): \(reason)"
    case let .resourceExhausted(what, bytes):
      return "\(what): could not allocate \(bytes) bytes"
    }
  }
}

import Foundation

/// `value` with `digits` significant digits (printf's %g).
public func formatted(_ value: Double, digits: Int) -> String {
  String(format: "%.\(digits)g", value)
}

/// Writes one line to standard error.
public func standardError(_ line: String) {
  FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// The peak resident set size of this process so far, in bytes (getrusage's ru_maxrss).
public func peakResidentBytes() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_maxrss * 1024
}

/// The minor page faults of this process so far (getrusage's ru_minflt): mostly anonymous pages
/// the kernel mapped and cleared on first touch.
public func minorPageFaults() -> Int {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return usage.ru_minflt
}

/// `text` right-aligned in a column of `width` characters, for `String(format:)`'s `%@` (whose
/// field width Foundation on Linux ignores).
public func cell(_ text: String, _ width: Int) -> NSString {
  (String(repeating: " ", count: max(0, width - text.count)) + text) as NSString
}

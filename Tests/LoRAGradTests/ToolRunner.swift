import Foundation

/// What one run of the `loragrad` executable gave back.
struct ToolOutcome {
  /// The exit status, or the signal number when `signalled`.
  let status: Int32
  /// Whether the process was killed by a signal (a crash or trap).
  let signalled: Bool
  /// Everything written to stdout.
  let standardOutput: String
  /// Everything written to stderr.
  let standardError: String
}

/// The built executable `name` (`loragrad`, `loragrad-bench`) next to the test bundle (on Linux
/// the test process is .build/<configuration>/LoRAGradPackageTests.xctest itself).
func builtExecutable(_ name: String) throws -> URL {
  let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
  let url = directory.appendingPathComponent(name)
  struct MissingExecutable: Error, CustomStringConvertible { let description: String }
  guard FileManager.default.isExecutableFile(atPath: url.path) else {
    throw MissingExecutable(description: "\(name) is not built at \(url.path); run `swift build --build-tests` first")
  }
  return url
}

/// Runs `loragrad` with `arguments` and waits for it.
func runLoRAGrad(_ arguments: [String]) throws -> ToolOutcome {
  try runBuiltExecutable("loragrad", arguments)
}

/// Runs the built executable `name` with `arguments` and waits for it. A crash must show up as a
/// signal, quickly: the Swift runtime's backtracer would otherwise run as a grandchild holding the
/// pipes open (under ASan it can hang for minutes), so it is switched off.
func runBuiltExecutable(_ name: String, _ arguments: [String]) throws -> ToolOutcome {
  let process = Process()
  process.executableURL = try builtExecutable(name)
  process.arguments = arguments
  var environment = ProcessInfo.processInfo.environment
  environment["SWIFT_BACKTRACE"] = "enable=no"
  process.environment = environment
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  let errData = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return ToolOutcome(
    status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
    standardOutput: String(decoding: outData, as: UTF8.self), standardError: String(decoding: errData, as: UTF8.self))
}

import LoRAGrad

/// A command line being consumed: options are taken by name, the rest are positionals.
public struct Arguments {
  private var remaining: [String]

  /// The arguments after the command name.
  public init(_ arguments: [String]) { remaining = arguments }

  /// True when `--help` or `-h` is present.
  public var wantsHelp: Bool { remaining.contains("--help") || remaining.contains("-h") }

  /// True when option `name` is present (as `name value` or `name=value`).
  public func contains(_ name: String) -> Bool { remaining.contains { $0 == name || $0.hasPrefix(name + "=") } }

  /// Removes a boolean flag; true when it was present.
  public mutating func flag(_ name: String) -> Bool {
    guard let index = remaining.firstIndex(of: name) else { return false }
    remaining.remove(at: index)
    return true
  }

  /// Removes `name value` (or `name=value`) and returns the value, or nil when absent.
  public mutating func option(_ name: String) throws -> String? {
    if let index = remaining.firstIndex(where: { $0.hasPrefix(name + "=") }) {
      let value = String(remaining[index].dropFirst(name.count + 1))
      remaining.remove(at: index)
      return value
    }
    guard let index = remaining.firstIndex(of: name) else { return nil }
    guard index + 1 < remaining.count else {
      throw LoRAGradError.invalidArgument(argument: name, expected: "a value after \(name)", given: "nothing")
    }
    let value = remaining[index + 1]
    remaining.removeSubrange(index...(index + 1))
    return value
  }

  /// An integer option within `range`, or `default` when absent.
  public mutating func integer(_ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
    guard let text = try option(name) else { return value }
    guard let parsed = Int(text), range.contains(parsed) else {
      throw LoRAGradError.invalidArgument(argument: name, expected: "an integer in \(range.lowerBound)...\(range.upperBound)", given: "'\(text)'")
    }
    return parsed
  }

  /// A number option, or `default` when absent; `valid` decides the domain named by `expected`.
  public mutating func number(_ name: String, default value: Double, expected: String, valid: (Double) -> Bool) throws -> Double {
    guard let text = try option(name) else { return value }
    guard let parsed = Double(text), valid(parsed) else {
      throw LoRAGradError.invalidArgument(argument: name, expected: expected, given: "'\(text)'")
    }
    return parsed
  }

  /// One of `choices`, or `default` when absent.
  public mutating func choice(_ name: String, default value: String, from choices: [String]) throws -> String {
    guard let text = try option(name) else { return value }
    guard choices.contains(text) else {
      throw LoRAGradError.invalidArgument(argument: name, expected: "one of " + choices.joined(separator: ", "), given: "'\(text)'")
    }
    return text
  }

  /// Removes and returns the next positional argument, or throws naming what was expected.
  public mutating func positional(_ what: String) throws -> String {
    guard let index = remaining.firstIndex(where: { !$0.hasPrefix("--") }) else {
      throw LoRAGradError.invalidArgument(argument: what, expected: "a \(what)", given: "nothing")
    }
    return remaining.remove(at: index)
  }

  /// Throws if anything is left unconsumed (an unknown option or a stray argument).
  public func finish() throws {
    if let first = remaining.first {
      throw LoRAGradError.invalidArgument(
        argument: first, expected: first.hasPrefix("-") ? "a known option (see --help)" : "no further arguments", given: "'\(first)'")
    }
  }
}

import LoRAGrad

/// A tool made of named commands, each with its help text: dispatches the first argument,
/// prints help, and maps errors to exit codes (0 success; 2 bad input or usage, with one message
/// on stderr naming the file or argument; 1 internal error).
public struct CommandTable {
  /// One command: its help text and what it runs on the remaining arguments.
  public typealias Command = (help: String, run: (inout Arguments) throws -> Void)

  /// The tool's name, as messages start.
  public let tool: String
  /// The help of the whole tool.
  public let help: String
  /// The commands by name.
  public let commands: [String: Command]

  /// A table of commands.
  public init(tool: String, help: String, commands: [String: Command]) {
    self.tool = tool
    self.help = help
    self.commands = commands
  }

  /// Runs the command named by argv[0] on the rest and returns the exit code.
  public func run(_ argv: [String]) -> Int32 {
    guard let name = argv.first else {
      standardError(help)
      return 2
    }
    if ["help", "--help", "-h"].contains(name) {
      print(help)
      return 0
    }
    guard let command = commands[name] else {
      standardError("\(tool): command: expected one of \(commands.keys.sorted().joined(separator: ", ")), got '\(name)' (see \(tool) --help)")
      return 2
    }
    var arguments = Arguments(Array(argv.dropFirst()))
    if arguments.wantsHelp {
      print(command.help)
      return 0
    }
    do {
      try command.run(&arguments)
      return 0
    } catch let error as LoRAGradError {
      standardError("\(tool) \(name): \(error)")
      return 2
    } catch {
      standardError("\(tool) \(name): internal error: \(error)")
      return 1
    }
  }
}

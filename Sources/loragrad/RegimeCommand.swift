import LoRAGradCommandLine

/// `loragrad regime`: `RegimeJob` in this process alone.
enum RegimeCommand {
  static let help = RegimeJob.help(tool: "loragrad")
  static func run(_ arguments: inout Arguments) throws { try RegimeJob.run(&arguments, group: LocalGroup()) }
}

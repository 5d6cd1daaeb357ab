import LoRAGradCommandLine

/// `loragrad forward`: `ForwardJob` in this process alone.
enum ForwardCommand {
  static let help = ForwardJob.help(tool: "loragrad")
  static func run(_ arguments: inout Arguments) throws { try ForwardJob.run(&arguments, group: LocalGroup()) }
}

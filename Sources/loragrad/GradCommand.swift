import LoRAGradCommandLine

/// `loragrad grad`: `GradJob` in this process alone.
enum GradCommand {
  static let help = GradJob.help(tool: "loragrad")
  static func run(_ arguments: inout Arguments) throws { try GradJob.run(&arguments, group: LocalGroup()) }
}

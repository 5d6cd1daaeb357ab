import LoRAGradCommandLine

/// `loragrad train`: `TrainJob` in this process alone.
enum TrainCommand {
  static let help = TrainJob.help(tool: "loragrad")
  static func run(_ arguments: inout Arguments) throws { try TrainJob.run(&arguments, group: LocalGroup()) }
}

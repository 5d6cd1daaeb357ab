import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// The command-line tool: `loragrad <command> [options]`. Exit codes: 0 success; 2 bad input or
/// usage, with one message on stderr naming the file or argument; 1 internal error.

let toolHelp = """
  usage: loragrad <command> [options]

  LoRAGrad computes the loss and LoRA adapter gradients of softmax attention on CPU cores.

  commands:
    demo       the exact path on an embedded default problem (no files needed)
    grad       gradients of a problem directory of .npy files, written to --out
    regime     the phase-transition verdict (polynomial or exact) for a problem directory
    profile    one path in a steady-state loop, for perf record
    help       this text; `loragrad <command> --help` for a command's options

  exit codes: 0 success, 2 bad input or usage, 1 internal error
  """

func runTool(_ argv: [String]) -> Int32 {
  guard let command = argv.first else {
    standardError(toolHelp)
    return 2
  }
  var arguments = Arguments(Array(argv.dropFirst()))
  let commands: [String: (help: String, run: (inout Arguments) throws -> Void)] = [
    "demo": (DemoCommand.help, DemoCommand.run),
    "grad": (GradCommand.help, GradCommand.run),
    "regime": (RegimeCommand.help, RegimeCommand.run),
    "profile": (ProfileCommand.help, ProfileCommand.run),
  ]
  if ["help", "--help", "-h"].contains(command) {
    print(toolHelp)
    return 0
  }
  guard let entry = commands[command] else {
    standardError("loragrad: command: expected one of \(commands.keys.sorted().joined(separator: ", ")), got '\(command)' (see loragrad --help)")
    return 2
  }
  if arguments.wantsHelp {
    print(entry.help)
    return 0
  }
  do {
    try entry.run(&arguments)
    return 0
  } catch let error as LoRAGradError {
    standardError("loragrad \(command): \(error)")
    return 2
  } catch {
    standardError("loragrad \(command): internal error: \(error)")
    return 1
  }
}

exit(runTool(Array(CommandLine.arguments.dropFirst())))

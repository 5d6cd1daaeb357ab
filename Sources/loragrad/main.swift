import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// The command-line tool: `loragrad <command> [options]`. Exit codes: 0 success; 2 bad input or
/// usage, with one message on stderr naming the file or argument; 1 internal error.

let toolHelp = """
  usage: loragrad <command> [options]

  LoRAGrad computes the LoRA adapter gradients of softmax attention layers on CPU cores.

  commands:
    demo       both paths, causal and not, on embedded problems (no files needed)
    grad       the loss (with targets), every adapter gradient and dX of a problem directory or model layer
    forward    the layer's output Z (and lse) of a problem directory
    regime     the phase-transition verdict (polynomial or exact) for a problem directory
    train      fine-tune the adapters (Adam, AdamW or SGD as PyTorch defines them), with checkpoints
    profile    one path in a steady-state loop, for perf record
    help       this text; `loragrad <command> --help` for a command's options

  exit codes: 0 success, 2 bad input or usage, 1 internal error
  """

let tool = CommandTable(tool: "loragrad", help: toolHelp, commands: [
  "demo": (DemoCommand.help, DemoCommand.run),
  "grad": (GradCommand.help, GradCommand.run),
  "forward": (ForwardCommand.help, ForwardCommand.run),
  "regime": (RegimeCommand.help, RegimeCommand.run),
  "train": (TrainCommand.help, TrainCommand.run),
  "profile": (ProfileCommand.help, ProfileCommand.run),
])

exit(tool.run(Array(CommandLine.arguments.dropFirst())))

import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradMPI

/// `mpirun -np P loragrad-mpi <command> [options]`: `loragrad`'s grad, forward, regime and train with the N
/// sequences split over the P ranks (data parallel, SPEC §8); rank 0 writes the files and prints
/// the JSON line (with "ranks"). A rank that fails prints its message and aborts the whole job
/// (MPI_Abort with the exit code), so no rank waits for it forever.

let toolHelp = """
  usage: mpirun -np P loragrad-mpi <command> [options] [--split batch|sequence]

  loragrad's commands over an MPI job. --split batch (the default, data parallel): the N
  sequences of the problem are split into P contiguous ranges, each rank computes its range with
  the single-machine code (its own --threads), and the adapter gradients and losses are summed in
  rank order (a fixed P gives the same bits on every run; any P agrees with one process within the
  Float32 rounding of the sums). --split sequence (--method poly, grad and forward): every rank
  computes a contiguous range of rows of every sequence; the low-rank sums of the polynomial path
  are combined in rank order (causal: scanned over the ranks), O(k·h²) numbers per head whatever
  L is ("bytes_sent" in the JSON; "bytes_gathered" counts the output rows sent to be written).
  Every rank reads the same input files; rank 0 writes the outputs.

  commands:
    grad       the loss, adapter gradients and dX (as `loragrad grad`)
    forward    Z and lse (as `loragrad forward`), each rank its sequences, gathered
    regime     the verdict (as `loragrad regime`): every rank computes the O(N·L·h) statistics of
               the whole problem, rank 0 prints
    train      fine-tune the adapters (as `loragrad train`); every rank takes the same steps, and
               the JSON line says whether all ranks ended with the same adapters
    help       this text; `loragrad-mpi <command> --help` for a command's options

  exit codes: 0 success, 2 bad input or usage, 1 internal error
  """

let job: MPIJob
do {
  job = try MPIJob()
} catch {
  standardError("loragrad-mpi: \(error)")
  exit(1)
}
// --split batch|sequence, anywhere after the command.
var arguments = Array(CommandLine.arguments.dropFirst())
var split = Split.batch
if let index = arguments.firstIndex(of: "--split") {
  let value = index + 1 < arguments.count ? arguments[index + 1] : ""
  guard let chosen = Split(rawValue: value) else {
    standardError("loragrad-mpi: invalid argument --split: expected batch or sequence, got '\(value)'")
    if job.size > 1 { job.abort(code: 2) }
    job.finish()
    exit(2)
  }
  split = chosen
  arguments.removeSubrange(index...(index + 1))
}
let group = MPIGroup(job: job, split: split)
let tool = CommandTable(tool: job.size > 1 ? "loragrad-mpi (rank \(job.rank) of \(job.size))" : "loragrad-mpi", help: toolHelp, commands: [
  "grad": (GradJob.help(tool: "loragrad-mpi"), { try GradJob.run(&$0, group: group) }),
  "train": (TrainJob.help(tool: "loragrad-mpi"), { try TrainJob.run(&$0, group: group) }),
  "forward": (ForwardJob.help(tool: "loragrad-mpi"), { try ForwardJob.run(&$0, group: group) }),
  "regime": (RegimeJob.help(tool: "loragrad-mpi"), { try RegimeJob.run(&$0, group: group) }),
])
let status = tool.run(arguments)
if status != 0 && job.size > 1 { job.abort(code: status) }
job.finish()
exit(status)

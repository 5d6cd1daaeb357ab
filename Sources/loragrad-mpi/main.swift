import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradMPI

/// `mpirun -np P loragrad-mpi <command> [options]`: `loragrad`'s grad, forward, regime and train with the N
/// sequences split over the P ranks (data parallel, SPEC §8); rank 0 writes the files and prints
/// the JSON line (with "ranks"). A rank that fails prints its message and aborts the whole job
/// (MPI_Abort with the exit code), so no rank waits for it forever.

let toolHelp = """
  usage: mpirun -np P loragrad-mpi <command> [options]

  loragrad's commands over an MPI job, data parallel: the N sequences of the problem are split
  into P contiguous ranges, each rank computes its range with the single-machine code (its own
  --threads), and the adapter gradients and losses are summed in rank order (a fixed P gives the
  same bits on every run; any P agrees with one process within the Float32 rounding of the
  sums). Every rank reads the same input files; rank 0 writes the outputs.

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
let group = MPIGroup(job: job)
let tool = CommandTable(tool: job.size > 1 ? "loragrad-mpi (rank \(job.rank) of \(job.size))" : "loragrad-mpi", help: toolHelp, commands: [
  "grad": (GradJob.help(tool: "loragrad-mpi"), { try GradJob.run(&$0, group: group) }),
  "train": (TrainJob.help(tool: "loragrad-mpi"), { try TrainJob.run(&$0, group: group) }),
  "forward": (ForwardJob.help(tool: "loragrad-mpi"), { try ForwardJob.run(&$0, group: group) }),
  "regime": (RegimeJob.help(tool: "loragrad-mpi"), { try RegimeJob.run(&$0, group: group) }),
])
let status = tool.run(Array(CommandLine.arguments.dropFirst()))
if status != 0 && job.size > 1 { job.abort(code: status) }
job.finish()
exit(status)

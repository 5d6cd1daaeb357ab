import LoRAGrad
import LoRAGradCommandLine
import LoRAGradMPI

/// The ranks of an MPI job as a `ComputeGroup`: the batch split by sequences (`DataParallel`).
struct MPIGroup: ComputeGroup {
  let job: MPIJob
  var rank: Int { job.rank }
  var ranks: Int { job.size }

  func gradients(_ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions) throws -> Gradients {
    try DataParallel.gradients(problem, method: method, inputGradient: inputGradient, options: options, job: job)
  }

  func forward(_ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions) throws -> ForwardResult {
    let (output, lse, path) = try DataParallel.forward(layer, inputs: inputs, keyLengths: keyLengths, method: method, options: options, job: job)
    return ForwardResult(output: output, logSumExp: lse, path: path)
  }

  func agree(_ bits: UInt64) throws -> Bool {
    let all = try job.allGather([Double(bits >> 32), Double(bits & 0xffff_ffff)])
    return all.allSatisfy { $0 == all[0] }
  }
}

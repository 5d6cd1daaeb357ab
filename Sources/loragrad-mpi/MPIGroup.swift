import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO
import LoRAGradMPI

/// How the ranks share a problem: its sequences (`DataParallel`), or the rows of every sequence
/// (`SequenceParallel`, the polynomial path).
enum Split: String {
  case batch, sequence
}

/// The ranks of an MPI job as a `ComputeGroup`.
struct MPIGroup: ComputeGroup {
  let job: MPIJob
  let split: Split
  /// The traffic of the last sequence-parallel computation (a box: the group is a value).
  private let traffic = TrafficBox()
  var rank: Int { job.rank }
  var ranks: Int { job.size }

  func gradients(_ problem: AttentionProblem, method: AttentionMethod, inputGradient: Bool, options: ExecutionOptions) throws -> Gradients {
    guard split == .sequence else {
      return try DataParallel.gradients(problem, method: method, inputGradient: inputGradient, options: options, job: job)
    }
    let (result, traffic) = try SequenceParallel.gradients(problem, method: method, inputGradient: inputGradient, options: options, job: job)
    self.traffic.last = traffic
    return result
  }

  func forward(_ layer: AttentionLayer, inputs: Tensor, keyLengths: [Int]?, method: AttentionMethod, options: ExecutionOptions) throws -> ForwardResult {
    guard split == .sequence else {
      let (output, lse, path) = try DataParallel.forward(layer, inputs: inputs, keyLengths: keyLengths, method: method, options: options, job: job)
      return ForwardResult(output: output, logSumExp: lse, path: path)
    }
    let (output, lse, regime, traffic) = try SequenceParallel.forward(layer, inputs: inputs, keyLengths: keyLengths, method: method, options: options, job: job)
    self.traffic.last = traffic
    return ForwardResult(output: output, logSumExp: lse, path: .polynomial, regime: regime)
  }

  func agree(_ bits: UInt64) throws -> Bool {
    let all = try job.allGather([Double(bits >> 32), Double(bits & 0xffff_ffff)])
    return all.allSatisfy { $0 == all[0] }
  }

  func report() -> [(String, JSONValue)] {
    var entries: [(String, JSONValue)] = [("split", .string(split.rawValue))]
    if let last = traffic.last {
      entries.append(("bytes_sent", .int(last.bytesSent)))
      entries.append(("bytes_gathered", .int(last.bytesGathered)))
    }
    return entries
  }
}

/// The traffic of the group's last computation.
final class TrafficBox {
  var last: SequenceParallel.Traffic?
}

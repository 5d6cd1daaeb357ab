/// Where and how a computation runs: the cores (backend and threads), the kernels' instruction
/// set, and the cost model `auto` decides with. Nothing here changes what is computed, only how
/// fast (and, between instruction sets, the last bits).
public struct ExecutionOptions: Sendable {
  /// The backend and the explicit thread count.
  public var parallelism: Parallelism
  /// The kernels' instruction set (default: the widest this CPU supports).
  public var instructionSet: KernelInstructionSet
  /// The cost model of `auto` (default: the fixed, documented `CostModel.nominal`).
  public var costModel: CostModel

  /// Options from their parts.
  public init(
    parallelism: Parallelism, instructionSet: KernelInstructionSet = .detected, costModel: CostModel = .nominal
  ) {
    self.parallelism = parallelism
    self.instructionSet = instructionSet
    self.costModel = costModel
  }

  /// Serial, widest instruction set, nominal cost model.
  public static let serial = ExecutionOptions(parallelism: .serial)

  /// The Dispatch backend with `threads` workers.
  public static func dispatch(threads: Int) -> ExecutionOptions { ExecutionOptions(parallelism: .dispatch(threads: threads)) }
}

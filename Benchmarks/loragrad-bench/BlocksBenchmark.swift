import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// `loragrad-bench blocks`: block sizes of the exact path against each other, interleaved call by
/// call so that a noisy host shifts them alike — the sweep behind the blocking table (blocking.c).
enum BlocksBenchmark {
  static let help = """
    usage: loragrad-bench blocks [--length L] [--heads H] [--blocks BrxBc,…] [--rounds K] [--causal]
                                 [--key-groups G] [--panel-bytes B] [--precision P] [--out DIR] [--threads N] [--backend B] [--isa I]

    Times the exact loss + adapter gradients + dX (N = 1, D = 64, r = 8) with each query × key
    block size given, one call of each in turn for K rounds after one untimed call each, and
    prints each size's least and median seconds and its speedup over the first size (the first's
    least over its least, the first's median over its median). "table" stands for the instruction set's own blocks at the head
    width (ExactBlocking).

    options:
      --length L           L (default 4096)
      --heads H            H, a divisor of 64 (default 4: h = 16)
      --blocks B,…         block sizes as BrxBc, multiples of 16, or "table" (default table,64x64,64x128,64x256,128x128)
      --rounds K           timed calls of each size (default 9)
      --causal             the causal mask (default full)
      --key-groups G       FlashTiling.maxKeyGroups for every size (default 16)
      --panel-bytes B      FlashTiling.backwardPanelBytes for every size (default 393216)
      --precision P        float32 or bf16 (default float32)
      --out DIR            also write DIR/blocks.csv
    \(ExecutionArguments.help)
    """

  static func run(_ arguments: inout Arguments) throws {
    let length = try arguments.integer("--length", default: 4096, in: 1...1 << 20)
    let heads = try arguments.integer("--heads", default: 4, in: 1...64)
    guard 64 % heads == 0 else {
      throw LoRAGradError.invalidArgument(argument: "--heads", expected: "a divisor of 64", given: "'\(heads)'")
    }
    let rounds = try arguments.integer("--rounds", default: 9, in: 1...1000)
    let causal = arguments.flag("--causal")
    let keyGroups = try arguments.integer("--key-groups", default: FlashTiling.standard.maxKeyGroups, in: 1...1 << 16)
    let panelBytes = try arguments.integer("--panel-bytes", default: FlashTiling.standard.backwardPanelBytes, in: 1...1 << 40)
    let precisionName = try arguments.option("--precision") ?? "float32"
    guard let precision = ExactPrecision(name: precisionName) else {
      throw LoRAGradError.invalidArgument(argument: "--precision", expected: "float32 or bf16", given: "'\(precisionName)'")
    }
    let tilings = try (arguments.option("--blocks") ?? "table,64x64,64x128,64x256,128x128").split(separator: ",").map { text -> (String, FlashTiling) in
      if text == "table" { return ("table", FlashTiling(maxKeyGroups: keyGroups, backwardPanelBytes: panelBytes, precision: precision)) }
      let parts = text.split(separator: "x").map { Int($0) }
      guard parts.count == 2, let rows = parts[0], let keys = parts[1], rows >= 16, rows % 16 == 0, keys >= 16, keys % 16 == 0 else {
        throw LoRAGradError.invalidArgument(argument: "--blocks", expected: "sizes BrxBc (multiples of 16) or table, comma-separated", given: "'\(text)'")
      }
      return (String(text), FlashTiling(queryBlock: rows, keyBlock: keys, maxKeyGroups: keyGroups, backwardPanelBytes: panelBytes, precision: precision))
    }
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()
    let problem = try DemoProblems.exact(length: length, heads: heads, causal: causal)
    let seconds = try Measurement.interleaved(rounds: rounds, tilings.map { tiling in
      { _ = try problem.gradients(method: .exact(tiling.1), options: options) }
    }).rounds
    let machine = MachineDescription.current
    print("exact path blocks, L = \(length), H = \(heads) (h = \(64 / heads)), \(causal ? "causal" : "full"), \(precision.name), \(options.parallelism), kernels \(options.instructionSet.rawValue), \(rounds) rounds interleaved")
    print("machine: \(machine.processor), vector class \(machine.vectorClass)")
    print("  blocks       B_r × B_c     least (s)   median (s)   speedup over the first (least / median)")
    var table = CSVTable(columns: ["length", "heads", "mask", "precision", "threads", "kernels", "blocks", "query_block", "key_block",
                                   "least_seconds", "median_seconds", "least_ratio", "median_ratio", "processor", "vector_class"])
    let firstLeast = seconds[0].min()!, firstMedian = Measurement.median(seconds[0])
    for (index, (name, tiling)) in tilings.enumerated() {
      let blocks = tiling.resolved(for: options.instructionSet, headWidth: 64 / heads, length: length)
      let least = seconds[index].min()!, middle = Measurement.median(seconds[index])
      print(String(format: "  %@ %5d × %-5d %11.4f %12.4f   %.3f× / %.3f×", cell(name, 10), blocks.queryBlock ?? 0, blocks.keyBlock ?? 0,
                   least, middle, firstLeast / least, firstMedian / middle))
      table.append([String(length), String(heads), causal ? "causal" : "full", precision.name, String(options.parallelism.threads),
                    options.instructionSet.rawValue, name, String(blocks.queryBlock ?? 0), String(blocks.keyBlock ?? 0), String(least),
                    String(middle), String(firstLeast / least), String(firstMedian / middle), machine.processor, machine.vectorClass])
    }
    if let output { try table.write(to: output, name: "blocks.csv") }
  }
}

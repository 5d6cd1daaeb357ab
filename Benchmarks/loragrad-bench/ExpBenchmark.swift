import CLoRAGradKernels
import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench exp`: the kernels' vector exp against Float64 exp on every Float32 in [−64, 64].
enum ExpBenchmark {
  static let help = """
    usage: loragrad-bench exp [--quick]

    Evaluates lgk_exp of every instruction set this CPU has on every Float32 in [−64, 64]
    (2.2·10⁹ values; --quick: every 97th) and prints the largest relative error against
    Float64 exp, in units of u = 2⁻²⁴. The polynomial path's error bound assumes at most 2u
    (ProbabilityErrorBound.vectorExpError) for the exact in-chunk entries of the causal path.
    Then the same for lgk_exp_bf16, the exp of the exact path's bf16 tiles, whose P is rounded
    to bf16 (u_b = 2⁻⁸): their rounding model takes at most 2⁻¹⁷
    (RoundingModel.bfloat16TileExpError). Last, the two exps' speed per instruction set: ns
    per value on 16384 values in [−20, 0] in cache, the least of 30 calls of each, interleaved.
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    try arguments.finish()
    let step: UInt32 = quick ? 97 : 1
    let top = Float(64).bitPattern
    let count = 1 << 16
    var x = [Float](repeating: 0, count: count), y = x
    for (name, evaluate) in [("exp", lgk_exp), ("bf16 tiles' exp", lgk_exp_bf16)] {
    for isa in KernelInstructionSet.available {
      let ops = operations(isa)
      var worst = 0.0, at: Float = 0, evaluated = 0
      for sign: UInt32 in [0, 0x8000_0000] {
        var bits: UInt32 = 0
        while bits <= top {
          var n = 0
          while n < count && bits <= top {
            x[n] = Float(bitPattern: bits | sign)
            n += 1
            bits += step
          }
          evaluate(ops, Int64(n), x, &y)
          for i in 0..<n {
            let exact = exp(Double(x[i]))
            let error = abs(Double(y[i]) - exact) / exact
            if error > worst { (worst, at) = (error, x[i]) }
          }
          evaluated += n
        }
      }
      print(String(format: "%@, %@: %ld values in [−64, 64], largest relative error %.4g = %.3f u = 2^%.2f (at x = %.9g)",
                   name as NSString, isa.rawValue as NSString, evaluated, worst, worst / 0x1p-24, log2(worst), at))
    }
    }
    timeBoth()
  }

  /// The kernels' table of an instruction set.
  private static func operations(_ isa: KernelInstructionSet) -> OpaquePointer? {
    lgk_ops_for(isa == .avx512bf16 ? lgk_isa_avx512bf16 : isa == .avx512 ? lgk_isa_avx512f : isa == .avx2 ? lgk_isa_avx2_fma : lgk_isa_portable)
  }

  /// Both exps' ns per value per instruction set, interleaved call by call (the least of 30).
  private static func timeBoth() {
    var random = SplitMix64(seed: 3)
    let x = (0..<16384).map { _ in Float(Double.random(in: -20...0, using: &random)) }
    var y = [Float](repeating: 0, count: x.count)
    for isa in KernelInstructionSet.available {
      let ops = operations(isa)
      var best = [Double.infinity, .infinity]
      for _ in 0..<30 {
        for (slot, evaluate) in [lgk_exp, lgk_exp_bf16].enumerated() {
          let seconds = Stopwatch.measure { for _ in 0..<20 { evaluate(ops, Int64(x.count), x, &y) } }.seconds
          best[slot] = min(best[slot], seconds / Double(20 * x.count))
        }
      }
      print(String(format: "%@: exp %.3f ns per value, bf16 tiles' exp %.3f (%.2f× faster)", isa.rawValue as NSString,
                   1e9 * best[0], 1e9 * best[1], best[0] / best[1]))
    }
  }
}

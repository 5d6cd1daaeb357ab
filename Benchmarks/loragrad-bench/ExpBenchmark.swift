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
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    try arguments.finish()
    let step: UInt32 = quick ? 97 : 1
    let top = Float(64).bitPattern
    let count = 1 << 16
    var x = [Float](repeating: 0, count: count), y = x
    for isa in KernelInstructionSet.available {
      let kernel: lgk_isa = isa == .avx512bf16 ? lgk_isa_avx512bf16 : isa == .avx512 ? lgk_isa_avx512f : isa == .avx2 ? lgk_isa_avx2_fma : lgk_isa_portable
      let ops = lgk_ops_for(kernel)
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
          lgk_exp(ops, Int64(n), x, &y)
          for i in 0..<n {
            let exact = exp(Double(x[i]))
            let error = abs(Double(y[i]) - exact) / exact
            if error > worst { (worst, at) = (error, x[i]) }
          }
          evaluated += n
        }
      }
      print(String(format: "%@: %d values in [−64, 64], largest relative error %.4g = %.3f u (at x = %.9g)",
                   isa.rawValue as NSString, evaluated, worst, worst / 0x1p-24, at))
    }
  }
}

import CLoRAGradKernels
import Dispatch

/// The machine's SGEMM roof with LoRAGrad's own micro-kernels: the rate of T threads at once,
/// each computing C = A·B on its own n×n matrices with one instruction set's kernels, the best
/// over a few n (2·n³ flops per product). What an exact-path rate is a share of. With bf16
/// precision, the rate of the native bf16 pair product (vdpbf16ps) on packed bf16 operands: the
/// roof of the bf16 exact path.
public struct SGEMMRoof: Sendable, Equatable {
  /// The kernels measured.
  public let instructionSet: KernelInstructionSet
  /// The products measured: Float32, or bf16 pairs with Float32 accumulation.
  public let precision: ExactPrecision
  /// Threads running at once.
  public let threads: Int
  /// The best rate, GFLOP/s (all threads together).
  public let gflops: Double
  /// The n at which it was reached.
  public let size: Int

  /// Measures for about `seconds` in all (at least one product per size and thread).
  public static func measure(
    instructionSet: KernelInstructionSet, threads: Int, precision: ExactPrecision = .float32, seconds: Double = 0.3,
    sizes: [Int] = [128, 256, 384]
  ) throws -> SGEMMRoof {
    guard threads >= 1, !sizes.isEmpty, sizes.allSatisfy({ $0 >= 2 && $0 <= 4096 && $0 % 2 == 0 }) else {
      throw LoRAGradError.invalidArgument(argument: "roof", expected: "threads ≥ 1 and even sizes in 2…4096", given: "\(threads) threads, sizes \(sizes)")
    }
    guard precision == .float32 || instructionSet.multipliesBFloat16 else {
      throw LoRAGradError.invalidArgument(
        argument: "roof", expected: "bf16 with kernels that multiply bf16 natively (avx512f+bf16; elsewhere bf16 runs the Float32 kernels)",
        given: instructionSet.rawValue)
    }
    _ = try instructionSet.operations()  // throws for a set this CPU cannot run
    let isa = instructionSet.kernelValue
    var best = (gflops: 0.0, size: sizes[0])
    for n in sizes {
      let count = n * n
      // Per thread A, B (values in [−1, 1]) and C; the first, untimed product warms pages and caches.
      let workers = (0..<threads).map { _ in Workspace(count: count, bf16Pairs: precision == .bfloat16) }
      func run(_ repeats: Int) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { t in
          let w = workers[t], ops = lgk_ops_for(isa)
          for _ in 0..<repeats {
            if precision == .bfloat16 {  // A: n × n/2 words of pairs, B: n/2 × n words
              lgk_bf16_gemm(ops, Int64(n), Int64(n), Int64(n), w.a, Int64(n / 2), 1, w.b, Int64(n), 0, w.c, Int64(n))
            } else {
              lgk_sgemm(ops, Int64(n), Int64(n), Int64(n), 1, w.a, Int64(n), 1, w.b, Int64(n), 0, w.c, Int64(n))
            }
          }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      }
      let once = max(run(1), 1e-6)
      let repeats = max(1, Int(seconds / Double(sizes.count) / once))
      let elapsed = run(repeats)
      let gflops = Double(threads * repeats) * 2 * Double(n) * Double(n) * Double(n) / elapsed / 1e9
      if gflops > best.gflops { best = (gflops, n) }
    }
    return SGEMMRoof(instructionSet: instructionSet, precision: precision, threads: threads, gflops: best.gflops, size: best.size)
  }

  /// One thread's matrices, 64-byte aligned.
  private final class Workspace: @unchecked Sendable {
    let a, b, c: UnsafeMutablePointer<Float>
    /// Values in [−1, 1]; with `bf16Pairs`, A and B hold them as words of two bf16 (truncated).
    init(count: Int, bf16Pairs: Bool) {
      func allocate() -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: count)
      }
      (a, b, c) = (allocate(), allocate(), allocate())
      var state: UInt32 = 12345
      for i in 0..<count {
        state = state &* 1_664_525 &+ 1_013_904_223
        a[i] = Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
        b[i] = -a[i] * 0.5
        c[i] = 0
      }
      guard bf16Pairs else { return }
      for matrix in [a, b] {  // word i overwrites floats already read (i ≤ 2i)
        for i in 0..<(count / 2) {
          let word = (matrix[2 * i].bitPattern >> 16) | (matrix[2 * i + 1].bitPattern & 0xffff_0000)
          UnsafeMutableRawPointer(matrix).storeBytes(of: word, toByteOffset: 4 * i, as: UInt32.self)
        }
      }
    }
    deinit {
      a.deallocate()
      b.deallocate()
      c.deallocate()
    }
  }
}

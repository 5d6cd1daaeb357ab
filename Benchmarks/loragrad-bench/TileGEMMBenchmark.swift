import CLoRAGradKernels
import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench tile-gemm`: our micro-kernels against a system BLAS (OpenBLAS, BLIS) on the
/// products of one exact-path tile pair, on one thread, operands hot in cache as inside a tile.
enum TileGEMMBenchmark {
  static let help = """
    usage: loragrad-bench tile-gemm [--head-width h,…] [--block B] [--b-stride F] [--seconds S] [--out DIR]

    The seven products of one tile pair of the exact path (B query rows × B keys, head width h),
    three shapes: q̂·k̂ᵀ (S and dP: B×B×h), P·V (O and dq̂: B×h×B) and Pᵀ·dO (dV and dk̂, A
    transposed: B×h×B), each timed on one thread with its operands hot in cache (as the tiles
    run them), with our kernels of every Float32 instruction set the CPU runs and with the
    cblas_sgemm of OpenBLAS and BLIS where they are installed (opened at run time; Debian's
    libopenblas0-serial and libblis4-serial, which Scripts/setup.sh installs), and where the CPU
    multiplies bf16 natively (and h and B are even) with our bf16 pair product on the packed forms
    the bf16 tiles use (its × column is against the best Float32 kernel: 2× is the instruction's
    own limit). The
    "tile" row is the rate of the forward and backward mix (3 q̂·k̂ᵀ, 2 P·V, 2 Pᵀ·dO). Each
    library's results are checked against ours, the bf16 product's against ours on the same
    bf16-rounded values. With --out: DIR/tile_gemm.csv.

      --head-width h,…     head widths (default 16,64)
      --block B            query and key block (default 64: the exact path's blocks at h = 64;
                           at h = 16 its key blocks are 128, ExactBlocking)
      --b-stride F         the row stride of B in floats (default: its width, compact); e.g. 4096
                           or 65536 to see what a padded-length stride costs each kernel
      --seconds S          time per cell, best of three batches (default 0.3)
      --out DIR            write the CSV there
    """

  /// One product of the tile: C (m×n) += op(A)·B.
  struct Product {
    let name: String
    let m, n, k: Int
    let transposedA: Bool
    /// How many times a forward and backward tile pair runs it.
    let perTile: Int
  }

  /// Who multiplies: one of our Float32 instruction sets, our native bf16 pair product, or a library.
  enum Engine {
    case ours(lgk_isa)
    case oursBF16(lgk_isa)
    case library(BLASLibrary)

    var name: String {
      switch self {
      case .ours(let isa): return "LoRAGrad " + String(cString: lgk_isa_name(isa))
      case .oursBF16: return "LoRAGrad bf16 pairs"
      case .library(let blas): return blas.name
      }
    }
  }

  static func run(_ arguments: inout Arguments) throws {
    let widthText = try arguments.option("--head-width") ?? "16,64"
    let widths = widthText.split(separator: ",").compactMap { Int($0) }
    guard !widths.isEmpty, widths.count == widthText.split(separator: ",").count, widths.allSatisfy((1...512).contains) else {
      throw LoRAGradError.invalidArgument(argument: "--head-width", expected: "integers in 1...512, comma-separated", given: "'\(widthText)'")
    }
    let block = try arguments.integer("--block", default: 64, in: 8...512)
    let bStride = try arguments.option("--b-stride").map { text -> Int in
      guard let value = Int(text), (512...(1 << 20)).contains(value) else {
        throw LoRAGradError.invalidArgument(argument: "--b-stride", expected: "an integer in 512...1048576 (floats; at least any B's width)", given: "'\(text)'")
      }
      return value
    }
    let seconds = try arguments.number("--seconds", default: 0.3, expected: "seconds in [0.001, 60]") { (0.001...60).contains($0) }
    let output = try arguments.option("--out")
    try arguments.finish()
    let machine = MachineDescription.current
    var engines: [Engine] = (0...lgk_isa_detected().rawValue).compactMap { raw in
      let isa = lgk_isa(rawValue: raw)
      return isa == lgk_isa_avx512bf16 ? nil : .ours(isa)  // its Float32 kernels are avx512f's
    }
    let detected = lgk_isa_detected()
    let nativeBF16 = lgk_ops_bf16_native(lgk_ops_for(detected)) != 0
    var libraries: [String] = []
    for (label, open) in [("OpenBLAS", BLASLibrary.openBLAS), ("BLIS", BLASLibrary.blis)] {
      if let blas = open() {
        engines.append(.library(blas))
        libraries.append("\(blas.name): \(blas.configuration)")
      } else {
        libraries.append("\(label): not found (apt-get install \(label == "BLIS" ? "libblis4-serial" : "libopenblas0-serial"))")
      }
    }
    print("machine: \(machine.processor), vector class \(machine.vectorClass); one thread, block \(block)"
      + (bStride.map { ", B rows \($0) floats apart" } ?? ""))
    for line in libraries { print(line) }
    var table = CSVTable(columns: ["processor", "vector_class", "head_width", "block", "product", "engine", "gflops", "versus_best_ours"])
    for h in widths {
      // The bf16 pair product where the CPU has it, for even inner dimensions (the packed forms pair them).
      let engines = engines + (nativeBF16 && h.isMultiple(of: 2) && block.isMultiple(of: 2) ? [.oursBF16(detected)] : [])
      let products = [
        Product(name: "q̂·k̂ᵀ", m: block, n: block, k: h, transposedA: false, perTile: 3),
        Product(name: "P·V", m: block, n: h, k: block, transposedA: false, perTile: 2),
        Product(name: "Pᵀ·dO", m: block, n: h, k: block, transposedA: true, perTile: 2),
      ]
      print("\nh = \(h)        " + engines.map { leftAligned($0.name, 20) }.joined())
      var tileSeconds = [Double](repeating: 0, count: engines.count)
      var rows: [(String, [Double])] = []
      for product in products {
        let operands = Operands(product, bStride: bStride ?? product.n)
        let reference = operands.result(of: engines[0])
        let roundedReference = nativeBF16 ? operands.result(of: engines[0], rounded: true) : []
        var rates: [Double] = []
        for (index, engine) in engines.enumerated() {
          var expected = reference
          if case .oursBF16 = engine { expected = roundedReference }
          let difference = zip(operands.result(of: engine), expected).map { abs($0 - $1) }.max() ?? 0
          guard difference <= 1e-4 * Float(product.k) else {
            throw LoRAGradError.outOfRange(
              quantity: "\(engine.name) on \(product.name)", reason: "differs from \(engines[0].name) by \(difference)")
          }
          let perProduct = operands.seconds(of: engine, budget: seconds)
          tileSeconds[index] += Double(product.perTile) * perProduct
          rates.append(2 * Double(product.m * product.n * product.k) / perProduct / 1e9)
        }
        rows.append((product.name, rates))
      }
      let tileFlops = products.map { 2 * Double($0.m * $0.n * $0.k * $0.perTile) }.reduce(0, +)
      rows.append(("tile", tileSeconds.map { tileFlops / $0 / 1e9 }))
      for (name, rates) in rows {
        let ours = zip(engines, rates).compactMap { engine, rate -> Double? in
          if case .ours = engine { return rate }
          return nil
        }.max() ?? 1  // the best Float32 kernel of ours
        print(leftAligned(name, 14) + rates.map { String(format: "%7.1f (%4.2f×)     ", $0, $0 / ours) }.joined())
        for (engine, rate) in zip(engines, rates) {
          table.append([
            machine.processor, machine.vectorClass, String(h), String(block), name, engine.name, String(rate), String(rate / ours),
          ])
        }
      }
    }
    print("\nGFLOP/s (× the best of our Float32 instruction sets)")
    if let output { try table.write(to: output, name: "tile_gemm.csv") }
  }

  /// A product's A, B (rows `ldb` floats apart) and C, 64-byte aligned, values in [−1, 1]; and
  /// A and B rounded to bf16 (nearest even), as Floats and in the native packed forms (two bf16
  /// per word, the even element of a pair in the low half): A's rows of k/2 words (transposed A:
  /// its stored rows paired, m words apart), B's rows paired, ldb words apart.
  final class Operands {
    let product: Product
    let ldb: Int
    let a, b, c: UnsafeMutablePointer<Float>
    let aRounded, bRounded: [Float]
    /// 64-byte aligned like the tiles' packs.
    let aPairs, bPairs: UnsafeMutablePointer<UInt32>

    init(_ product: Product, bStride: Int) {
      self.product = product
      ldb = bStride
      func filled(_ count: Int, seed: UInt32) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        let values = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        var state = seed
        for i in 0..<count {
          state = state &* 1_664_525 &+ 1_013_904_223
          values[i] = Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
        }
        return values
      }
      let a = filled(product.m * product.k, seed: 1), b = filled(product.k * bStride, seed: 2)
      (self.a, self.b) = (a, b)
      c = filled(product.m * product.n, seed: 3)
      func bf16(_ x: Float) -> UInt32 { (x.bitPattern &+ 0x7FFF &+ ((x.bitPattern >> 16) & 1)) >> 16 }
      let (m, k) = (product.m, product.k)
      aRounded = (0..<m * k).map { Float(bitPattern: bf16(a[$0]) << 16) }
      bRounded = (0..<k * bStride).map { Float(bitPattern: bf16(b[$0]) << 16) }
      let pairs = k / 2
      func aligned(_ words: [UInt32]) -> UnsafeMutablePointer<UInt32> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(words.count, 1) * 4, alignment: 64)
        let pointer = raw.bindMemory(to: UInt32.self, capacity: max(words.count, 1))
        pointer.initialize(from: words, count: words.count)
        return pointer
      }
      aPairs = aligned(product.transposedA
        ? (0..<pairs * m).map { w in bf16(a[2 * (w / m) * m + w % m]) | bf16(a[(2 * (w / m) + 1) * m + w % m]) << 16 }
        : (0..<m * pairs).map { w in bf16(a[(w / pairs) * k + 2 * (w % pairs)]) | bf16(a[(w / pairs) * k + 2 * (w % pairs) + 1]) << 16 })
      bPairs = aligned((0..<pairs * bStride).map { w in
        bf16(b[2 * (w / bStride) * bStride + w % bStride]) | bf16(b[(2 * (w / bStride) + 1) * bStride + w % bStride]) << 16
      })
    }

    deinit {
      for pointer in [a, b, c] { pointer.deallocate() }
      aPairs.deallocate()
      bPairs.deallocate()
    }

    /// C = op(A)·B + beta·C by `engine` (of the bf16-rounded A and B when `rounded`).
    func multiply(_ engine: Engine, beta: Float, rounded: Bool = false) {
      let (m, n, k) = (product.m, product.n, product.k)
      switch engine {
      case .ours(let isa):
        // A is m×k row-major, or (transposed) stored k×m: element (i, p) at a[p·m + i].
        let (rsa, csa) = product.transposedA ? (1, m) : (k, 1)
        if rounded {
          lgk_sgemm(lgk_ops_for(isa), Int64(m), Int64(n), Int64(k), 1, aRounded, Int64(rsa), Int64(csa), bRounded, Int64(ldb), beta, c, Int64(n))
        } else {
          lgk_sgemm(lgk_ops_for(isa), Int64(m), Int64(n), Int64(k), 1, a, Int64(rsa), Int64(csa), b, Int64(ldb), beta, c, Int64(n))
        }
      case .oursBF16(let isa):
        let (rsa, csa) = product.transposedA ? (1, m) : (k / 2, 1)
        lgk_bf16_gemm(lgk_ops_for(isa), Int64(m), Int64(n), Int64(k), aPairs, Int64(rsa), Int64(csa), bPairs, Int64(ldb), beta, c, Int64(n))
      case .library(let blas):
        blas.sgemm(
          101, product.transposedA ? 112 : 111, 111, Int32(m), Int32(n), Int32(k), 1, a, Int32(product.transposedA ? m : k), b,
          Int32(ldb), beta, c, Int32(n))
      }
    }

    /// C = op(A)·B by `engine` (of the bf16-rounded A and B when `rounded`).
    func result(of engine: Engine, rounded: Bool = false) -> [Float] {
      multiply(engine, beta: 0, rounded: rounded)
      return Array(UnsafeBufferPointer(start: c, count: product.m * product.n))
    }

    /// Seconds per product (accumulating, beta = 1, as the tiles do), best of three batches
    /// filling `budget` together.
    func seconds(of engine: Engine, budget: Double) -> Double {
      multiply(engine, beta: 0)
      var repeats = 1, elapsed = 0.0
      while elapsed < budget / 30 && repeats < 1 << 24 {  // the rate, from a batch of at least budget / 30
        repeats *= 2
        elapsed = Stopwatch.measure { for _ in 0..<repeats { multiply(engine, beta: 1) } }.seconds
      }
      let batch = max(1, Int(budget / 3 / max(elapsed / Double(repeats), 1e-12)))
      var best = Double.infinity
      for _ in 0..<3 {
        multiply(engine, beta: 0)  // C back to a product's size, never growing
        best = min(best, Stopwatch.measure { for _ in 0..<batch { multiply(engine, beta: 1) } }.seconds / Double(batch))
      }
      return best
    }
  }

  /// `text` left-aligned in a column of `width` characters (at least one space after it).
  private static func leftAligned(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }
}

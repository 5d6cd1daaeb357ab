import Foundation
import LoRAGrad
import LoRAGradCommandLine
import LoRAGradIO

/// The machine's SGEMM roof as the benchmarks use it, measured in the same run as the rates it is
/// compared with: LoRAGrad's micro-kernels (`SGEMMRoof`) and, when a Python with NumPy is found,
/// NumPy's BLAS (OpenBLAS in the PyPI wheels) with the same thread count; the roof is the larger.
struct Roof {
  /// Our kernels' rate.
  let ours: SGEMMRoof
  /// NumPy's float32 matmul rate, GFLOP/s, and the BLAS it reports (nil: no NumPy).
  let blas: (gflops: Double, library: String)?
  /// max(ours, BLAS), GFLOP/s.
  var gflops: Double { max(ours.gflops, blas?.gflops ?? 0) }

  /// The help lines of `--python`.
  static let help = """
      --python PY          a Python with NumPy to time its float32 matmul (OpenBLAS) as part of the
                           roof (default: $LORAGRAD_PYTHON, .build/python-venv/bin/python, python3)
    """

  /// The Python `--python` names, or the default.
  static func python(_ arguments: inout Arguments) throws -> String {
    if let given = try arguments.option("--python") { return given }
    if let environment = ProcessInfo.processInfo.environment["LORAGRAD_PYTHON"] { return environment }
    return FileManager.default.isExecutableFile(atPath: ".build/python-venv/bin/python") ? ".build/python-venv/bin/python" : "python3"
  }

  /// Both rates at `threads` threads with the kernels `instructionSet`.
  static func measure(instructionSet: KernelInstructionSet, threads: Int, python: String) throws -> Roof {
    Roof(ours: try SGEMMRoof.measure(instructionSet: instructionSet, threads: threads), blas: numpyRate(python: python, threads: threads))
  }

  /// One line: "roof 123.4 GFLOP/s (ours 100.1 at n = 256, OpenBLAS 123.4)".
  var summary: String {
    "SGEMM roof \(formatted(gflops, digits: 4)) GFLOP/s (our \(ours.instructionSet.rawValue) kernels \(formatted(ours.gflops, digits: 4)) at n = \(ours.size)"
      + (blas.map { ", NumPy/\($0.library) \(formatted($0.gflops, digits: 4))" } ?? ", no NumPy found for a BLAS comparison") + ")"
  }

  /// NumPy's best float32 n×n matmul rate over n ∈ {512, 1024, 2048} with `threads` BLAS threads.
  static func numpyRate(python: String, threads: Int) -> (gflops: Double, library: String)? {
    let script = """
      import json, time, numpy as np
      best = 0.0
      for n in (512, 1024, 2048):
          a = np.random.default_rng(0).random((n, n), dtype=np.float32); b = a.T.copy(); a @ b
          reps, start = 0, time.perf_counter()
          while reps == 0 or time.perf_counter() - start < 0.25:
              a @ b; reps += 1
          best = max(best, reps * 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
      library = "BLAS"
      try:
          info = np.show_config(mode="dicts")
          library = info["Build Dependencies"]["blas"]["name"]
      except Exception:
          pass
      print(json.dumps({"gflops": best, "library": library}))
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [python, "-c", script]
    var environment = ProcessInfo.processInfo.environment
    for key in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[key] = String(threads) }
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, case .object(let object)? = try? JSONValue.parse(Array(data)),
      let gflops = object["gflops"]?.number, case .string(let library)? = object["library"]
    else { return nil }
    return (gflops, library)
  }
}

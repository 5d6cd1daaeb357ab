import Foundation
@testable import LoRAGrad
@testable import LoRAGradIO
import LoRAGradOpenMP
import XCTest

/// The optimisers against their formulas in Float64, the seeded batch order, training that
/// gives the same bits on every backend and thread count, and checkpoints a run resumes from
/// with the same bits — in process and after SIGKILL of the command-line tool.
final class TrainingTests: XCTestCase {
  /// Gradients with |g| ∈ [0.1, 1] and a sign, deterministic per (step, index).
  private func gradient(step: Int, count: Int) -> [Float] {
    var random = SplitMix64(seed: UInt64(step) &* 977)
    return (0..<count).map { _ in
      let u = Double(random.next() >> 11) / Double(1 << 53)
      return Float((0.1 + 0.9 * u) * (random.next() & 1 == 0 ? 1 : -1))
    }
  }

  /// Ten steps of each rule in Float32 against the same formula in Float64. The bound: each step
  /// rounds p (|p|·u; AdamW's decay p·(1 − ηλ) twice more: the factor and the product), and the update η·r (r = m̂/(√v̂ + ε) for Adam, b for SGD) is formed in
  /// about 6 + 3t roundings of relative size u as the moments carry their errors forward.
  func testTenStepsMatchTheFormulasInFloat64() throws {
    let u = Double(Float.ulpOfOne) / 2
    let cases: [OptimizerSettings] = [
      try OptimizerSettings(kind: .adam, learningRate: 1e-2), try OptimizerSettings(kind: .adam, learningRate: 3e-2, beta1: 0.8, weightDecay: 0.1),
      try OptimizerSettings(kind: .adamw, learningRate: 1e-2), try OptimizerSettings(kind: .adamw, learningRate: 5e-2, weightDecay: 0.3),
      try OptimizerSettings(kind: .sgd, learningRate: 1e-2), try OptimizerSettings(kind: .sgd, learningRate: 1e-2, weightDecay: 0.01, momentum: 0.9),
    ]
    let count = 64
    for settings in cases {
      var optimizer = Optimizer(settings)
      let role = TensorRole.adapterA(.query)
      let start = gradient(step: 0, count: count)
      var parameters: [TensorRole: [Float]] = [role: start]
      var p = start.map(Double.init), m = [Double](repeating: 0, count: count), v = m
      var bound = [Double](repeating: 0, count: count)
      var worstRatio = 0.0, worstError = 0.0
      for t in 1...10 {
        let g32 = gradient(step: t, count: count)
        optimizer.step(&parameters, gradients: [role: g32])
        let (lr, b1, b2, eps, decay) = (settings.learningRate, settings.beta1, settings.beta2, settings.epsilon, settings.weightDecay)
        for i in 0..<count {
          var g = Double(g32[i])
          var update: Double
          switch settings.kind {
          case .adam, .adamw:
            if settings.kind == .adamw { p[i] *= 1 - lr * decay } else { g += decay * p[i] }
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            let r = (m[i] / (1 - pow(b1, Double(t)))) / ((v[i] / (1 - pow(b2, Double(t)))).squareRoot() + eps)
            update = -lr * r
          case .sgd:
            g += decay * p[i]
            m[i] = t == 1 || settings.momentum == 0 ? g : settings.momentum * m[i] + g
            update = -lr * m[i]
          }
          p[i] += update
          bound[i] += u * abs(p[i]) * (settings.kind == .adamw ? 3 : 1) + abs(update) * Double(6 + 3 * t) * u
          let error = abs(Double(parameters[role]![i]) - p[i])
          worstError = max(worstError, error)
          worstRatio = max(worstRatio, error / bound[i])
        }
      }
      XCTAssertLessThanOrEqual(worstRatio, 1, "\(settings.kind) \(settings): error \(worstError) exceeds its rounding bound")
      XCTAssertGreaterThan(worstError, 0, "\(settings.kind): Float32 steps should round somewhere (the test would not see a wrong formula otherwise)")
    }
  }

  func testOptimizerRejectsBadSettingsNamingTheFlag() {
    assertIOError(try OptimizerSettings(kind: .adam, learningRate: 0), mentions: ["--lr"], matches: { _ in true })
    assertIOError(try OptimizerSettings(kind: .adam, learningRate: 1, beta1: 1), mentions: ["--beta1"], matches: { _ in true })
    assertIOError(try OptimizerSettings(kind: .adam, learningRate: 1, beta2: -0.1), mentions: ["--beta2"], matches: { _ in true })
    assertIOError(try OptimizerSettings(kind: .adam, learningRate: 1, epsilon: 0), mentions: ["--eps"], matches: { _ in true })
    assertIOError(try OptimizerSettings(kind: .adamw, learningRate: 1, weightDecay: -1), mentions: ["--weight-decay"], matches: { _ in true })
    assertIOError(try OptimizerSettings(kind: .sgd, learningRate: 1, momentum: .nan), mentions: ["--momentum"], matches: { _ in true })
  }

  func testBatchesRunThroughSeededPermutations() {
    let (n, b) = (7, 3)
    let stream = (1...14).flatMap { TrainingRun.batch(step: $0, sequences: n, batchSize: b, seed: 11) }
    for epoch in 0..<6 { XCTAssertEqual(Set(stream[(epoch * n)..<((epoch + 1) * n)]), Set(0..<n), "epoch \(epoch) is a permutation") }
    XCTAssertEqual(TrainingRun.batch(step: 5, sequences: n, batchSize: b, seed: 11), Array(stream[12..<15]))
    XCTAssertNotEqual(stream, (1...14).flatMap { TrainingRun.batch(step: $0, sequences: n, batchSize: b, seed: 12) })
    XCTAssertEqual(TrainingRun.batch(step: 9, sequences: n, batchSize: nil, seed: 11), Array(0..<n))
    XCTAssertEqual(TrainingRun.batch(step: 9, sequences: n, batchSize: n, seed: 11), Array(0..<n))
  }

  private func trainingProblem() throws -> AttentionProblem {
    try AttentionProblem.synthetic(
      LayerFeatures(biases: true, causal: true, ropeTheta: 10_000, keyLengths: { $0.enumerated().map { max(1, $1 - 2 * $0) } }),
      sequences: 4, length: 21, width: 16, heads: 2, seed: 21)
  }

  private func trained(_ problem: AttentionProblem, _ settings: TrainingRun.Settings, steps: Int, options: ExecutionOptions) throws -> TrainingRun {
    var run = try TrainingRun(problem: problem, settings: settings)
    for _ in 0..<steps { try run.advance(options: options) }
    return run
  }

  func testTrainingGivesTheSameBitsOnEveryBackendAndThreadCount() throws {
    let problem = try trainingProblem()
    let settings = TrainingRun.Settings(optimizer: try OptimizerSettings(kind: .adamw, learningRate: 2e-2), batchSize: 3, seed: 5)
    let reference = try trained(problem, settings, steps: 4, options: ExecutionOptions(parallelism: .serial))
    XCTAssertEqual(reference.history.count, 4)
    XCTAssertLessThan(reference.history.map(\.loss).min()!, reference.history[0].loss, "the loss goes down")
    for parallelism in [Parallelism.dispatch(threads: 1), .dispatch(threads: 3), .openmp(threads: 2)] {
      let run = try trained(problem, settings, steps: 4, options: ExecutionOptions(parallelism: parallelism))
      XCTAssertEqual(run.history.map(\.loss), reference.history.map(\.loss), "\(parallelism)")
      for (projection, adapter) in reference.layer.adapters {
        XCTAssertEqual(run.layer.adapters[projection]!.a.scalars.map(\.bitPattern), adapter.a.scalars.map(\.bitPattern), "\(parallelism)")
        XCTAssertEqual(run.layer.adapters[projection]!.b.scalars.map(\.bitPattern), adapter.b.scalars.map(\.bitPattern), "\(parallelism)")
      }
    }
  }

  func testCheckpointResumesWithTheSameBitsAndRefusesOtherSettings() throws {
    let problem = try trainingProblem()
    let options = ExecutionOptions(parallelism: .dispatch(threads: 2))
    for kind in OptimizerSettings.Kind.allCases {
      let settings = TrainingRun.Settings(optimizer: try OptimizerSettings(kind: kind, learningRate: 1e-2, momentum: kind == .sgd ? 0.9 : 0), batchSize: 2, seed: 3)
      let whole = try trained(problem, settings, steps: 5, options: options)
      let directory = ioScratchPath(self, "checkpoint")
      XCTAssertNil(try TrainingCheckpoint.read(directory, problem: problem, settings: settings), "no checkpoint yet: start afresh")
      try TrainingCheckpoint.write(try trained(problem, settings, steps: 3, options: options), to: directory)
      let saved = try XCTUnwrap(TrainingCheckpoint.read(directory, problem: problem, settings: settings))
      var resumed = try TrainingRun(problem: problem, settings: settings, adapters: saved.adapters, state: saved.state, history: saved.history)
      XCTAssertEqual(resumed.step, 3)
      for _ in 0..<2 { try resumed.advance(options: options) }
      XCTAssertEqual(resumed.history.map(\.loss), whole.history.map(\.loss), "\(kind)")
      XCTAssertEqual(resumed.optimizer.state, whole.optimizer.state, "\(kind)")
      for (projection, adapter) in whole.layer.adapters {
        XCTAssertEqual(resumed.layer.adapters[projection]!.b.scalars.map(\.bitPattern), adapter.b.scalars.map(\.bitPattern), "\(kind)")
      }
      // Other settings or another problem: refused, naming what differs.
      let other = TrainingRun.Settings(optimizer: try OptimizerSettings(kind: kind, learningRate: 2e-2, momentum: kind == .sgd ? 0.9 : 0), batchSize: 2, seed: 3)
      assertIOError(try TrainingCheckpoint.read(directory, problem: problem, settings: other), mentions: ["--lr", "0.01"], matches: { _ in true })
      let reseeded = TrainingRun.Settings(optimizer: settings.optimizer, batchSize: 2, seed: 4)
      assertIOError(try TrainingCheckpoint.read(directory, problem: problem, settings: reseeded), mentions: ["--seed"], matches: { _ in true })
      let bf16 = TrainingRun.Settings(optimizer: settings.optimizer, batchSize: 2, seed: 3, method: .exact(.bfloat16))
      assertIOError(try TrainingCheckpoint.read(directory, problem: problem, settings: bf16), mentions: ["--precision", "float32"], matches: { _ in true })
      let otherProblem = try AttentionProblem.synthetic(
        LayerFeatures(biases: true, causal: true, ropeTheta: 10_000), sequences: 4, length: 21, width: 16, heads: 2, seed: 22)
      assertIOError(try TrainingCheckpoint.read(directory, problem: otherProblem, settings: settings), mentions: ["checkpoint.safetensors", "fingerprint"], matches: isInvalidFile)
    }
    // A file that is not a checkpoint.
    let directory = ioScratchPath(self, "checkpoint")
    try AtomicWrite.write([(TrainingCheckpoint.fileName, SafeTensorsFile.encode([("x", ioTestTensor([2], seed: 1))]))], into: directory)
    let settings = TrainingRun.Settings(optimizer: try OptimizerSettings(kind: .adam, learningRate: 1e-2))
    assertIOError(try TrainingCheckpoint.read(directory, problem: problem, settings: settings), mentions: ["checkpoint.safetensors", "loragrad-checkpoint-1"], matches: isInvalidFile)
  }

  /// `loragrad train` killed with SIGKILL at seeded random moments and resumed, again and again,
  /// ends with the same bytes (adapters, PEFT file, losses) as a run never stopped.
  func testCommandLineRunKilledAtRandomMomentsResumesToTheSameBits() throws {
    let directory = ioScratchPath(self, "kill")
    let problem = try AttentionProblem.synthetic(LayerFeatures(biases: true), sequences: 6, length: 96, width: 32, heads: 2, seed: 8)
    try ProblemDirectory.write(problem, to: directory + "/problem")
    let steps = 24
    func arguments(_ out: String, _ extra: [String] = []) -> [String] {
      ["train", directory + "/problem", "--out", directory + "/" + out, "--steps", "\(steps)", "--lr", "1e-2", "--batch", "4", "--seed", "9",
       "--threads", "2"] + extra
    }
    let whole = try runLoRAGrad(arguments("whole"))
    XCTAssertEqual(whole.status, 0, whole.standardError)
    let executable = try builtExecutable("loragrad")
    var random = SplitMix64(seed: 2026)
    let checkpointArguments = ["--checkpoint", directory + "/checkpoint", "--every", "1", "--resume"]
    var kills = 0
    for _ in 0..<12 {
      let process = Process()
      process.executableURL = executable
      process.arguments = arguments("resumed", checkpointArguments)
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      usleep(UInt32(20_000 + random.next() % 150_000))
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        kills += 1
      }
      process.waitUntilExit()
      if process.terminationReason == .exit {
        XCTAssertEqual(process.terminationStatus, 0)
        break
      }
    }
    let last = try runLoRAGrad(arguments("resumed", checkpointArguments))
    XCTAssertEqual(last.status, 0, last.standardError)
    XCTAssertGreaterThan(kills, 0, "the run was never interrupted: the test saw nothing")
    for name in ["lora_a_q.npy", "lora_b_q.npy", "lora_a_v.npy", "lora_b_v.npy", "adapter_model.safetensors"] {
      XCTAssertEqual(
        try Data(contentsOf: URL(fileURLWithPath: directory + "/resumed/" + name)), try Data(contentsOf: URL(fileURLWithPath: directory + "/whole/" + name)),
        "\(name) after \(kills) kills")
    }
    func losses(_ out: String) throws -> [String] {
      try String(contentsOfFile: directory + "/" + out + "/train.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").prefix(3).joined(separator: ",") }
    }
    XCTAssertEqual(try losses("resumed"), try losses("whole"))
    XCTAssertEqual(try losses("whole").count, steps + 1)
  }

  func testTrainCommandErrorsNameTheArgument() throws {
    let directory = ioScratchPath(self, "train")
    let problem = try AttentionProblem.synthetic(sequences: 2, length: 8, width: 8, heads: 1, loraRank: 2, seed: 1)
    try ProblemDirectory.write(problem, to: directory + "/problem")
    for (extra, mention) in [
      (["--batch", "3"], "--batch"), (["--optimizer", "lion"], "--optimizer"), (["--resume"], "--checkpoint"), (["--lr", "-1"], "--lr"),
      (["--adapter", "x"], "--model"),
    ] {
      let outcome = try runLoRAGrad(["train", directory + "/problem", "--out", directory + "/out", "--steps", "2"] + extra)
      XCTAssertEqual(outcome.status, 2, "\(extra)")
      XCTAssertTrue(outcome.standardError.contains(mention), "\(extra): \(outcome.standardError)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/out"), "nothing written on bad input")
    let upstream = try AttentionProblem.synthetic(sequences: 1, length: 8, width: 8, heads: 1, loraRank: 2, upstream: true, seed: 1)
    try ProblemDirectory.write(upstream, to: directory + "/dz")
    let outcome = try runLoRAGrad(["train", directory + "/dz", "--out", directory + "/out", "--steps", "2"])
    XCTAssertEqual(outcome.status, 2)
    XCTAssertTrue(outcome.standardError.contains("targets"), outcome.standardError)
  }
}

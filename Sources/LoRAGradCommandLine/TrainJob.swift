import Foundation
import LoRAGrad
import LoRAGradIO

/// `loragrad train <problem-dir> --out <dir>` (and `loragrad-mpi train`): fine-tunes the adapters
/// of a layer on ½‖Z − Y‖² (SPEC §9), with atomic checkpoints a killed run resumes from with the
/// same bits. In a group every rank takes the same steps; rank 0 writes and prints.
public enum TrainJob {
  /// The help text of `<tool> train`.
  public static func help(tool: String) -> String {
    """
    usage: \(tool) train <problem-dir> --out <dir> [--steps N] [--lr η] [--optimizer adam|adamw|sgd]
                          [--batch b] [--seed s] [--method exact|poly|auto] [--precision float32|bf16]
                          [--checkpoint DIR [--every K] [--resume]]
           \(tool) train --model model.safetensors --adapter DIR --layer PATH --input x.npy --targets y.npy --out <dir> [options]

    Trains the adapters A_μ, B_μ of a problem directory (it needs y.npy) or of a model layer with
    its PEFT adapter, by PyTorch's torch.optim.Adam, AdamW or SGD rule in Float32 (the same
    operations in the same order), one forward and backward pass per step. Step t uses b of the
    N sequences, taken in a seeded order that depends only on (seed, t). Progress goes to stderr
    (step, loss, path, seconds); the loss of step t is the loss before its update.

    Writes into <dir>, all at once when training ends: lora_a_μ.npy / lora_b_μ.npy (the trained
    adapters under the problem directory's names), adapter_model.safetensors and
    adapter_config.json (a PEFT adapter directory; for a model layer the original adapter's keys
    and config, every other tensor of it unchanged), train.csv (step, loss, path, seconds) and
    train.svg (the loss curve). Prints one JSON line: steps, losses, seconds by part, and
    overhead_fraction, the share of the loop's wall time spent outside the forward and backward
    passes (batching, optimiser, checkpoints, progress).

    With --checkpoint DIR the run's state (adapters, optimiser moments, step, settings, history)
    is written atomically to DIR/checkpoint.safetensors every K steps and after the last;
    --resume continues from it (or starts afresh when there is none) with the same settings,
    and a run killed at any moment and resumed ends with the same bits as one never stopped.

    options:
      --out DIR            output directory (created if missing)
      --steps N            optimiser steps in all, counting those before a resume (default 100)
      --optimizer O        adam (default) | adamw | sgd
      --lr η               learning rate (default 1e-3)
      --beta1 β₁ --beta2 β₂  Adam's moment decays (default 0.9, 0.999)
      --eps ε              Adam's ε (default 1e-8)
      --weight-decay λ     L2 (Adam, SGD) or decoupled (AdamW) decay (default 0; AdamW 1e-2)
      --momentum μ         SGD momentum (default 0)
      --batch b            sequences per step, 1…N (default all N, in order)
      --seed s             seed of the batch order (default 0)
      --checkpoint DIR     write checkpoints into DIR
      --every K            steps between checkpoints (default 10)
      --resume             continue from DIR's checkpoint
      --record-gradients DIR  also write each step's adapter gradients to DIR/step_t/ and the
                           initial adapters to DIR/initial/ (to replay the optimiser elsewhere)
    \(MethodArguments.help)
    \(ExecutionArguments.help)

    \(ProblemSource.help)
    """
  }

  /// Runs the command in `group`.
  public static func run(_ arguments: inout Arguments, group: ComputeGroup) throws {
    guard let output = try arguments.option("--out") else {
      throw LoRAGradError.invalidArgument(argument: "--out", expected: "an output directory", given: "nothing")
    }
    let steps = try arguments.integer("--steps", default: 100, in: 1...100_000_000)
    let kind = OptimizerSettings.Kind(rawValue: try arguments.choice("--optimizer", default: "adam", from: OptimizerSettings.Kind.allCases.map(\.rawValue)))!
    func number(_ name: String, _ value: Double) throws -> Double {
      try arguments.number(name, default: value, expected: "a number") { $0.isFinite }
    }
    let learningRate = try number("--lr", 1e-3)
    let beta1 = try number("--beta1", 0.9), beta2 = try number("--beta2", 0.999), epsilon = try number("--eps", 1e-8)
    let weightDecay = arguments.contains("--weight-decay") ? try number("--weight-decay", 0) : nil
    let momentum = try number("--momentum", 0)
    let optimizer = try OptimizerSettings(
      kind: kind, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, momentum: momentum)
    let batch = arguments.contains("--batch") ? try arguments.integer("--batch", default: 1, in: 1...Int.max) : nil
    let seedText = try arguments.option("--seed") ?? "0"
    guard let seed = UInt64(seedText) else {
      throw LoRAGradError.invalidArgument(argument: "--seed", expected: "an integer in 0…2⁶⁴−1", given: "'\(seedText)'")
    }
    let checkpoint = try arguments.option("--checkpoint")
    let every = try arguments.integer("--every", default: 10, in: 1...100_000_000)
    let resume = arguments.flag("--resume")
    let record = try arguments.option("--record-gradients")
    let method = try MethodArguments(&arguments)
    let execution = try ExecutionArguments(&arguments)
    let source = try ProblemSource(&arguments, needsObjective: true)
    try arguments.finish()
    if resume && checkpoint == nil {
      throw LoRAGradError.invalidArgument(argument: "--resume", expected: "--checkpoint DIR to resume from", given: "no --checkpoint")
    }

    let (problem, model) = try source.load()
    let settings = TrainingRun.Settings(optimizer: optimizer, batchSize: batch, seed: seed, method: method.method)
    var run: TrainingRun
    if resume, let checkpoint, let saved = try TrainingCheckpoint.read(checkpoint, problem: problem, settings: settings) {
      guard saved.history.count <= steps else {
        throw LoRAGradError.invalidArgument(argument: "--steps", expected: "at least the checkpoint's \(saved.history.count) steps", given: "\(steps)")
      }
      run = try TrainingRun(problem: problem, settings: settings, adapters: saved.adapters, state: saved.state, history: saved.history)
      if group.rank == 0 { standardError("resumed from \(FileAccess.join(checkpoint, TrainingCheckpoint.fileName)) at step \(run.step)") }
    } else {
      run = try TrainingRun(problem: problem, settings: settings)
    }
    if let record, group.rank == 0 {
      try AtomicWrite.write(ProblemFiles.adapterFiles(run.layer.adapters), into: FileAccess.join(record, "initial"))
    }

    let start = run.step
    var checkpointSeconds = 0.0
    let (_, wall) = try Stopwatch.measure {
      while run.step < steps {
        let record0 = try run.advance { batch in
          try group.gradients(batch, method: settings.method, inputGradient: false, options: execution.options)
        }
        guard group.rank == 0 else { continue }
        standardError(
          "step \(record0.step)/\(steps)  loss \(formatted(record0.loss, digits: 6))  path \(record0.path.rawValue)  "
            + "\(formatted(record0.gradientSeconds + record0.optimizerSeconds, digits: 3)) s")
        if let record {
          try GradientFiles.write(
            Gradients(loss: record0.loss, adapters: run.lastResult?.adapters ?? [:], input: nil, path: record0.path),
            to: FileAccess.join(record, String(format: "step_%06d", record0.step)))
        }
        if let checkpoint, run.step % every == 0 || run.step == steps {
          checkpointSeconds += try Stopwatch.measure { try TrainingCheckpoint.write(run, to: checkpoint) }.seconds
        }
      }
    }
    // ½‖Z − Y‖² over all N at the trained adapters: one forward pass alone, or in a group
    // the group's gradients (whose loss is summed in rank order like every step's).
    let finalLoss = group.ranks == 1
      ? try run.loss(options: execution.options)
      : try group.gradients(
        try AttentionProblem(layer: run.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, objective: problem.objective),
        method: settings.method, inputGradient: false, options: execution.options).loss ?? .nan
    let identical = try group.agree(adapterFingerprint(run.layer.adapters))
    guard group.rank == 0 else { return }
    guard identical else {
      throw LoRAGradError.outOfRange(quantity: "adapters", reason: "the ranks ended with different adapters (an internal error)")
    }
    try writeOutputs(run, model: model, to: output)

    let taken = run.history.dropFirst(start)
    let gradientSeconds = taken.reduce(0) { $0 + $1.gradientSeconds }
    let optimizerSeconds = taken.reduce(0) { $0 + $1.optimizerSeconds }
    var summary = JSONObject([
      ("steps", .int(run.step)), ("steps_this_run", .int(run.step - start)), ("resumed_at", resume ? .int(start) : .null),
      ("optimizer", .string(kind.rawValue)), ("lr", .double(learningRate)), ("batch", batch.map { .int($0) } ?? .null),
      ("method", .string(method.method.name)), ("precision", .string(method.method.precision.name)),
      ("first_loss", run.history.first.map { .double($0.loss) } ?? .null), ("last_step_loss", run.history.last.map { .double($0.loss) } ?? .null),
      ("final_loss", .double(finalLoss)),
      ("paths", .object(JSONObject(AttentionPath.allCases.compactMap { path in
        let count = run.history.filter { $0.path == path }.count
        return count == 0 ? nil : (path.rawValue, .int(count))
      }))),
      ("seconds", .double(wall)), ("gradient_seconds", .double(gradientSeconds)), ("optimizer_seconds", .double(optimizerSeconds)),
      ("checkpoint_seconds", .double(checkpointSeconds)),
      ("overhead_fraction", .double(wall > 0 ? max(0, wall - gradientSeconds) / wall : 0)),
    ])
    RegimeJSON.appendExecution(execution.options, to: &summary)
    if group.ranks > 1 { summary.append("ranks", .int(group.ranks)); summary.append("adapters_identical", .bool(identical)) }
    for (key, value) in group.report() { summary.append(key, value) }  // the split, and the last step's traffic
    RegimeJSON.appendProblem(layer: problem.layer, inputs: problem.inputs, keyLengths: problem.keyLengths, to: &summary)
    if model != nil { summary.append("model_layer", .string(source.description)) }
    summary.append("output", .string(output))
    print(summary.description)
  }

  /// The trained adapters (npy and PEFT), train.csv and train.svg, in one atomic write.
  private static func writeOutputs(_ run: TrainingRun, model: ModelLayer?, to output: String) throws {
    var files = ProblemFiles.adapterFiles(run.layer.adapters)
    files += try model?.peftFiles(run.layer.adapters) ?? PEFTFiles.files(for: run.layer, adapters: run.layer.adapters)
    var table = CSVTable(columns: ["step", "loss", "path", "gradient_seconds", "optimizer_seconds"])
    for step in run.history {
      table.append(["\(step.step)", "\(step.loss)", step.path.rawValue, "\(step.gradientSeconds)", "\(step.optimizerSeconds)"])
    }
    files.append(("train.csv", Array(table.text.utf8)))
    var chart = SVGChart(title: "Training loss (\(run.settings.optimizer.kind.rawValue), method \(run.settings.method.name))", xLabel: "step", yLabel: "loss ½‖Z − Y‖² of the step's batch", yScale: .logarithmic)
    chart.series.append(SVGChart.Series(name: "loss", points: run.history.map { (Double($0.step), $0.loss) }, showsMarkers: run.history.count <= 60))
    files.append(("train.svg", Array(chart.svg.utf8)))
    let stale = Projection.allCases.filter { run.layer.adapters[$0] == nil }.flatMap { [ProblemFiles.name(.adapterA($0)), ProblemFiles.name(.adapterB($0))] }
    try AtomicWrite.write(files, into: output, removing: stale)
  }
}


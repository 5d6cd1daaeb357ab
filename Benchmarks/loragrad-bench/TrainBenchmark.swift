import Foundation
import LoRAGrad
import LoRAGradCommandLine

/// `loragrad-bench train`: the paper's promise measured on a fine-tuning run. A hidden teacher
/// adapter makes the targets; a student starting from PEFT's initialisation (A random, B = 0) is
/// trained by Adam twice, once on the exact path and once on the polynomial path, side by side.
enum TrainBenchmark {
  static let help = """
    usage: loragrad-bench train [--quick] [--length L] [--steps S] [--lr η] [--bound R] [--tol ε]
                                [--out DIR] [--threads N] [--backend B] [--isa I]

    Teacher–student at h = 16 (D = 16, H = 1, r = 8, q, k, v adapted): the polynomial default's
    inputs at norm bound R (default 0.5), targets Y = Z of the teacher adapters (exact path), and
    a student with A_μ drawn like the teacher's and B_μ = 0. Both runs take the same Adam steps
    (default lr 1e-2) on all L rows; each step records the loss, the seconds, the polynomial run's
    R, degree, loss bound and largest gradient bound. Prints per step and the median seconds
    per step of each path; with --out: DIR/train.csv, DIR/train.svg (both loss curves) and
    DIR/train-difference.svg (the relative loss difference against the per-step bounds).
    Defaults: L = 32768, 20 steps; --quick: L = 4096, 8 steps.
    """

  static func run(_ arguments: inout Arguments) throws {
    let quick = arguments.flag("--quick")
    let length = try arguments.integer("--length", default: quick ? 4096 : 32768, in: 16...(1 << 22))
    let steps = try arguments.integer("--steps", default: quick ? 8 : 20, in: 1...100_000)
    let learningRate = try arguments.number("--lr", default: 1e-2, expected: "a learning rate > 0") { $0 > 0 && $0.isFinite }
    let bound = try arguments.number("--bound", default: 0.5, expected: "a norm bound R > 0") { $0 > 0 && $0.isFinite }
    let tolerance = try ToleranceOption.parse(&arguments)
    let output = try arguments.option("--out")
    let options = try ExecutionArguments(&arguments).options
    try arguments.finish()

    let (teacherProblem, problem) = try teacherStudent(length: length, bound: bound, options: options)
    let optimizer = try OptimizerSettings(kind: .adam, learningRate: learningRate)
    var exactRun = try TrainingRun(problem: problem, settings: .init(optimizer: optimizer, method: .exact))
    var polyRun = try TrainingRun(problem: problem, settings: .init(optimizer: optimizer, method: .polynomial(PolynomialSettings(tolerance: tolerance))))
    let teacherR = try teacherProblem.regime(tolerance: tolerance).norms.bound
    print("teacher–student, L = \(length), h = 16, R(teacher) = \(formatted(teacherR, digits: 3)), Adam lr \(learningRate), ε = \(tolerance), \(options.parallelism)")
    print(" step   loss exact    loss poly  |Δ|/loss  loss bound  grad bound   R     deg  s exact  s poly")
    var table = CSVTable(columns: [
      "step", "loss_exact", "loss_poly", "relative_difference", "loss_error_bound", "gradient_error_bound", "bound_R", "degree",
      "seconds_exact", "seconds_poly",
    ])
    var rows: [(step: Int, exact: Double, poly: Double, difference: Double, lossBound: Double, gradientBound: Double)] = []
    for _ in 0..<steps {
      let e = try exactRun.advance(options: options)
      let p = try polyRun.advance(options: options)
      let result = polyRun.lastResult!
      let lossBound = result.lossErrorBound ?? .nan
      let gradientBound = result.errorBounds?.filter { if case .inputs = $0.key { return false } else { return true } }.values.max() ?? .nan
      let r = result.regime?.norms.bound ?? .nan, degree = result.regime?.polynomial?.degree ?? -1
      let difference = abs(p.loss - e.loss) / e.loss
      rows.append((e.step, e.loss, p.loss, difference, lossBound, gradientBound))
      print(String(format: "%5d %12.6g %12.6g %9.2e %11.2e %11.2e %5.3f %4d %8.3f %7.3f", e.step, e.loss, p.loss, difference, lossBound, gradientBound, r,
                   degree, e.gradientSeconds, p.gradientSeconds))
      table.append([
        "\(e.step)", "\(e.loss)", "\(p.loss)", "\(difference)", "\(lossBound)", "\(gradientBound)", "\(r)", "\(degree)", "\(e.gradientSeconds)",
        "\(p.gradientSeconds)",
      ])
    }
    let medianExact = median(exactRun.history.map(\.gradientSeconds)), medianPoly = median(polyRun.history.map(\.gradientSeconds))
    print(String(format: "median seconds per step: exact %.3f, poly %.3f (%.2f× faster); loss %.4g → %.4g (exact), %.4g → %.4g (poly)", medianExact, medianPoly,
                 medianExact / medianPoly, rows.first!.exact, rows.last!.exact, rows.first!.poly, rows.last!.poly))

    var curves = SVGChart(
      title: "Teacher–student training, L = \(length), h = 16, R ≈ \(formatted(bound, digits: 2)) (Adam lr \(learningRate))", xLabel: "step",
      yLabel: "loss ½‖Z − Y‖²", yScale: .logarithmic)
    curves.series.append(.init(name: "exact path", points: rows.map { (Double($0.step), $0.exact) }))
    curves.series.append(.init(name: "polynomial path (ε = \(tolerance))", points: rows.map { (Double($0.step), $0.poly) }, dashed: true))
    var differences = SVGChart(
      title: "Polynomial against exact run, L = \(length): loss difference and per-step bounds", xLabel: "step", yLabel: "relative size",
      yScale: .logarithmic)
    differences.series.append(.init(name: "|loss_poly − loss_exact| / loss_exact (two runs)", points: rows.map { (Double($0.step), $0.difference) }))
    differences.series.append(.init(name: "bound on the poly loss at its adapters", points: rows.map { (Double($0.step), $0.lossBound) }, dashed: true))
    differences.series.append(.init(name: "largest adapter-gradient bound", points: rows.map { (Double($0.step), $0.gradientBound) }, dashed: true))
    try Measurement.write(table: table, name: "train.csv", charts: [("train.svg", curves), ("train-difference.svg", differences)], to: output)
  }

  /// The teacher's problem (its adapters, targets from its own exact output) and the student's
  /// (same inputs and frozen weights, A_μ fresh, B_μ = 0, targets the teacher's Z).
  static func teacherStudent(length: Int, bound: Double, options: ExecutionOptions) throws -> (teacher: AttentionProblem, student: AttentionProblem) {
    let teacher = try DemoProblems.polynomial(length: length, bound: bound)
    let targets = try teacher.layer.forward(teacher.inputs, method: .exact, options: options).output
    var random = SplitMix64(seed: 77)
    var adapters: [Projection: LoRAAdapter] = [:]
    for (projection, adapter) in teacher.layer.adapters {
      let scale = 1 / Double(teacher.layer.modelWidth).squareRoot()
      let a = Tensor(checkedShape: adapter.a.shape, scalars: adapter.a.scalars.map { _ in Float(random.nextGaussian() * scale) })
      adapters[projection] = LoRAAdapter(a: a, b: Tensor(checkedShape: adapter.b.shape, scalars: [Float](repeating: 0, count: adapter.b.count)))
    }
    let student = try AttentionProblem(
      layer: teacher.layer.replacingAdapters(adapters), inputs: teacher.inputs, objective: .squaredError(targets: targets))
    return (teacher, student)
  }

  private static func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
  }
}

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import LoRAGrad

/// The `loragrad-bench` executable end to end on tiny sweeps (the real sweeps belong to the
/// benchmark runs, not to the tests): help, bad options, and the CSV and SVG files it writes.
final class BenchCommandLineTests: XCTestCase {
  private func bench(_ arguments: [String]) throws -> ToolOutcome { try runBuiltExecutable("loragrad-bench", arguments) }

  private func scratch() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("loragrad-bench-\(UUID().uuidString)").path
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  /// The rows of a CSV file as arrays of fields (the bench writes no quoted commas in numbers).
  private func csvRows(_ path: String) throws -> [[String]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
  }

  private func assertChart(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let svg = try String(contentsOfFile: path, encoding: .utf8)
    XCTAssertTrue(svg.hasPrefix("<svg"), path, file: file, line: line)
    XCTAssertTrue(svg.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("</svg>"), path, file: file, line: line)
    XCTAssertFalse(svg.contains("nan") || svg.contains("inf\""), "non-finite coordinate in \(path)", file: file, line: line)
    XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse(), "\(path) is not well-formed XML", file: file, line: line)
  }

  func testHelpForTheToolAndEverySweep() throws {
    let tool = try bench(["--help"])
    XCTAssertEqual(tool.status, 0)
    for sweep in ["exact", "poly", "scaling", "length", "phase", "calibrate", "bounds", "exp", "train", "roof", "tile-gemm", "blocks"] {
      XCTAssertTrue(tool.standardOutput.contains(sweep), sweep)
      let help = try bench([sweep, "--help"])
      XCTAssertEqual(help.status, 0, sweep)
      XCTAssertTrue(help.standardOutput.contains("usage: loragrad-bench \(sweep)"), help.standardOutput)
    }
  }

  func testBadOptionsExitTwoWithOneLineNamingTheOption() throws {
    for (arguments, option) in [
      (["poly", "--lengths", "0"], "--lengths"), (["scaling", "--max-threads", "0"], "--max-threads"),
      (["scaling", "--thread-counts", "1,0"], "--thread-counts"), (["scaling", "--rounds", "0"], "--rounds"),
      (["scaling", "--max-threads", "2", "--thread-counts", "1,2"], "--thread-counts"),
      (["phase", "--head-widths", "x"], "--head-widths"), (["exact", "--backend", "gpu"], "--backend"),
      (["length", "--threads", "-1"], "--threads"), (["sweep-that-does-not-exist"], "sweep-that-does-not-exist"),
      (["tile-gemm", "--head-width", "16,x"], "--head-width"), (["tile-gemm", "--b-stride", "10"], "--b-stride"),
      (["exact", "--key-block", "24"], "--key-block"), (["exact", "--mask", "diagonal"], "--mask"),
      (["exact", "--length", "64,0"], "--length"), (["blocks", "--blocks", "64x40"], "--blocks"),
      (["blocks", "--key-groups", "0"], "--key-groups"), (["blocks", "--panel-bytes", "x"], "--panel-bytes"), (["exact", "--query-block", "0"], "--query-block"),
    ] {
      let outcome = try bench(arguments)
      XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.standardError)")
      XCTAssertEqual(outcome.standardError.split(separator: "\n").count, 1, "\(arguments): \(outcome.standardError)")
      XCTAssertTrue(outcome.standardError.contains(option), "\(arguments): \(outcome.standardError)")
    }
  }

  /// poly at L = 256: one CSV row per length, the degree and rank of h = 16 at R = 0.5 (3, 969),
  /// and the observed error within the certified bound.
  func testPolynomialSweepWritesItsTable() throws {
    let output = scratch()
    let outcome = try bench(["poly", "--lengths", "256", "--exact-up-to", "256", "--out", output])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let rows = try csvRows(output + "/poly.csv")
    XCTAssertEqual(rows.count, 2)
    let row = Dictionary(uniqueKeysWithValues: zip(rows[0], rows[1]))
    XCTAssertEqual(row["length"], "256")
    XCTAssertEqual(row["degree"], "3")
    XCTAssertEqual(row["rank"], "969")
    let bound = try XCTUnwrap(row["error_bound"].flatMap(Double.init))
    let observed = try XCTUnwrap(row["observed_error_p"].flatMap(Double.init))
    XCTAssertLessThanOrEqual(observed, bound)
    XCTAssertGreaterThan(try XCTUnwrap(row["exact_seconds"].flatMap(Double.init)), 0)
  }

  /// phase --quick at L = 256, h = 4: one row per input scale R = 2^{k/2}, k = −4…4, a degree that does
  /// not fall as R grows, every time measured (all cheap), the P̃ bound within ε and above the
  /// kernel's observed error wherever the polynomial path ran, and both charts well-formed.
  func testPhaseSweepWritesItsTableAndCharts() throws {
    let output = scratch()
    let outcome = try bench(["phase", "--quick", "--lengths", "256", "--head-widths", "4", "--out", output])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let rows = try csvRows(output + "/phase.csv")
    XCTAssertEqual(rows.count, 1 + 9)
    let header = rows[0]
    let column = { (name: String) in try XCTUnwrap(header.firstIndex(of: name), name) }
    let degrees = try rows.dropFirst().compactMap { Int($0[try column("degree")]) }
    XCTAssertFalse(degrees.isEmpty)
    XCTAssertEqual(degrees, degrees.sorted(), "the degree grows with R")
    for row in rows.dropFirst() {
      XCTAssertEqual(row[try column("exact_source")], "measured")
      guard let bound = Double(row[try column("error_bound")]) else { continue }
      XCTAssertEqual(row[try column("poly_source")], "measured")
      XCTAssertLessThanOrEqual(bound, 1e-3)
      XCTAssertLessThanOrEqual(try XCTUnwrap(Double(row[try column("observed_error_p")])), bound)
      let gradientBound = try XCTUnwrap(Double(row[try column("gradient_error_bound")]))
      XCTAssertLessThanOrEqual(try XCTUnwrap(Double(row[try column("observed_gradient_error")])), gradientBound)
    }
    try assertChart(output + "/phase-gamma.svg")
    try assertChart(output + "/phase-speedup.svg")
  }

  /// The roof sweep: one row per instruction set the CPU runs, a positive rate, the machine named.
  func testRoofWritesOneRowPerInstructionSet() throws {
    let directory = scratch()
    let outcome = try bench(["roof", "--threads", "1", "--python", "/nonexistent/python", "--out", directory])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    XCTAssertTrue(outcome.standardOutput.contains("machine: "), outcome.standardOutput)
    XCTAssertTrue(outcome.standardOutput.contains("not measured"), outcome.standardOutput)
    let rows = try csvRows(directory + "/roof.csv")
    XCTAssertEqual(rows.first, ["processor", "vector_class", "kernels", "precision", "threads", "gflops", "size"])
    XCTAssertEqual(rows.dropFirst().map { $0[2] }, KernelInstructionSet.available.map(\.rawValue))
    XCTAssertEqual(rows.dropFirst().map { $0[3] }, KernelInstructionSet.available.map { $0.multipliesBFloat16 ? "bf16" : "float32" })
    for row in rows.dropFirst() { XCTAssertGreaterThan(Double(row[5]) ?? 0, 0, "\(row)") }
  }

  /// The exact sweep at one small length: a row per mask, the warm median and the first call both
  /// positive, the roof share the ratio of the rates.
  func testExactReportsTheFirstCallAndTheWarmMedian() throws {
    let directory = scratch()
    let outcome = try bench(["exact", "--length", "128", "--heads", "2", "--repeats", "2", "--threads", "1", "--python", "/nonexistent/python", "--out", directory])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    XCTAssertTrue(outcome.standardOutput.contains("first call"), outcome.standardOutput)
    let rows = try csvRows(directory + "/exact.csv")
    let header = try XCTUnwrap(rows.first)
    XCTAssertEqual(rows.count, 3)
    let column = { (name: String) in header.firstIndex(of: name)! }
    XCTAssertEqual(rows.dropFirst().map { $0[column("mask")] }, ["full", "causal"])
    for row in rows.dropFirst() {
      let warm = Double(row[column("seconds")])!, first = Double(row[column("first_call_seconds")])!
      XCTAssertGreaterThan(warm, 0, "\(row)")
      XCTAssertGreaterThan(first, 0, "\(row)")
      let share = Double(row[column("gflops")])! / Double(row[column("roof_gflops")])!
      XCTAssertEqual(Double(row[column("roof_share")])!, share, accuracy: 1e-9 * share)
      // h = 32: the table's blocks, cut to L = 128.
      let blocking = KernelInstructionSet.detected.exactBlocking
      XCTAssertEqual(row[column("query_block")], String(blocking.queryBlock))
      XCTAssertEqual(row[column("key_block")], String(min(blocking.keyBlock(headWidth: 32), 128)))
    }
    // Blocks named on the command line are the ones run.
    let named = scratch()
    let run = try bench(["exact", "--length", "96", "--heads", "4", "--repeats", "1", "--threads", "1", "--python", "/nonexistent/python",
                         "--query-block", "32", "--key-block", "48", "--out", named])
    XCTAssertEqual(run.status, 0, run.standardError)
    let namedRows = try csvRows(named + "/exact.csv")
    for row in namedRows.dropFirst() {
      XCTAssertEqual(row[namedRows[0].firstIndex(of: "query_block")!], "32")
      XCTAssertEqual(row[namedRows[0].firstIndex(of: "key_block")!], "48")
    }
  }

  /// Several lengths in one run: a row per length (one mask asked for), the first length's rate
  /// against itself exactly 1 and the next one's the quotient of the rates; without the dX runs
  /// their columns are empty.
  func testExactGivesEachLengthsRateAgainstTheFirst() throws {
    let directory = scratch()
    let outcome = try bench(["exact", "--length", "64,160", "--heads", "4", "--mask", "full", "--no-dx-cost", "--repeats", "1",
                             "--threads", "1", "--python", "/nonexistent/python", "--out", directory])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let rows = try csvRows(directory + "/exact.csv")
    let header = try XCTUnwrap(rows.first)
    let column = { (name: String) in header.firstIndex(of: name)! }
    XCTAssertEqual(rows.dropFirst().map { $0[column("length")] }, ["64", "160"])
    XCTAssertEqual(rows.dropFirst().map { $0[column("mask")] }, ["full", "full"])
    XCTAssertEqual(rows.dropFirst().map { $0[column("seconds_without_dx")] }, ["", ""])
    XCTAssertEqual(Double(rows[1][column("rate_vs_first_length")]), 1)
    let ratio = Double(rows[2][column("gflops")])! / Double(rows[1][column("gflops")])!
    XCTAssertEqual(Double(rows[2][column("rate_vs_first_length")])!, ratio, accuracy: 1e-9 * ratio)
  }

  /// The block sweep: a row per size, "table" resolved to the table's blocks, the first size's
  /// ratios exactly 1 and every other the quotient of the seconds.
  func testBlocksComparesSizesInterleaved() throws {
    let directory = scratch()
    let outcome = try bench(["blocks", "--length", "200", "--heads", "4", "--rounds", "2", "--threads", "1", "--blocks", "64x64,table,32x128", "--out", directory])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let rows = try csvRows(directory + "/blocks.csv")
    let column = { (name: String) in rows[0].firstIndex(of: name)! }
    XCTAssertEqual(rows.dropFirst().map { $0[column("blocks")] }, ["64x64", "table", "32x128"])
    let blocking = KernelInstructionSet.detected.exactBlocking
    XCTAssertEqual(rows[2][column("query_block")], String(blocking.queryBlock))
    XCTAssertEqual(rows[2][column("key_block")], String(min(blocking.keyBlock(headWidth: 16), 256)))
    XCTAssertEqual(rows[3][column("key_block")], "128")
    XCTAssertEqual(Double(rows[1][column("least_ratio")]), 1)
    for row in rows.dropFirst() {
      let ratio = Double(rows[1][column("least_seconds")])! / Double(row[column("least_seconds")])!
      XCTAssertEqual(Double(row[column("least_ratio")])!, ratio, accuracy: 1e-9 * ratio)
    }
  }

  /// The tile products: a row per product (and the tile mix) for each of our Float32 instruction
  /// sets, each system BLAS found and, where the CPU multiplies bf16 natively, our bf16 pair
  /// product, every one checked against ours inside the sweep.
  func testTileGEMMComparesEveryEngineOnEveryProduct() throws {
    let directory = scratch()
    let outcome = try bench(["tile-gemm", "--head-width", "16,24", "--block", "32", "--seconds", "0.003", "--out", directory])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let rows = try csvRows(directory + "/tile_gemm.csv")
    XCTAssertEqual(rows.first, ["processor", "vector_class", "head_width", "block", "product", "engine", "gflops", "versus_best_ours"])
    let ours = KernelInstructionSet.available.filter { !$0.multipliesBFloat16 }.map { "LoRAGrad \($0.rawValue)" }
    let libraries = ["OpenBLAS", "BLIS"].filter { !outcome.standardOutput.contains("\($0): not found") }
    let bf16 = KernelInstructionSet.available.contains { $0.multipliesBFloat16 } ? ["LoRAGrad bf16 pairs"] : []
    let engines = ours + libraries + bf16
    XCTAssertEqual(rows.count - 1, 2 * 4 * engines.count)
    XCTAssertEqual(Array(rows.dropFirst().prefix(engines.count).map { $0[5] }), engines)
    XCTAssertEqual(Set(rows.dropFirst().map { $0[4] }), ["q̂·k̂ᵀ", "P·V", "Pᵀ·dO", "tile"])
    for row in rows.dropFirst() { XCTAssertGreaterThan(Double(row[6]) ?? 0, 0, "\(row)") }
  }

  /// The training sweep on a tiny problem: one CSV row per step, both charts, the two runs close.
  func testTrainWritesBothLossCurves() throws {
    let directory = scratch()
    let outcome = try bench(["train", "--length", "64", "--steps", "3", "--threads", "1", "--out", directory])
    XCTAssertEqual(outcome.status, 0, outcome.standardError)
    let rows = try csvRows(directory + "/train.csv")
    XCTAssertEqual(rows.count, 4)
    for row in rows.dropFirst() { XCTAssertGreaterThan(Double(row[1])!, 0) }
    // Step 1: both runs at the same adapters, so the poly loss is within its reported bound (later
    // steps compare two trajectories, which no per-step bound covers).
    let first = rows[1]
    XCTAssertLessThanOrEqual(abs(Double(first[2])! - Double(first[1])!) / Double(first[1])!, Double(first[4])!, "\(first)")
    XCTAssertLessThan(Double(rows[3][1])!, Double(rows[1][1])!, "the exact run's loss goes down")
    try assertChart(directory + "/train.svg")
    try assertChart(directory + "/train-difference.svg")
  }
}

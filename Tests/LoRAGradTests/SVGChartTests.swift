import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LoRAGradCommandLine
import XCTest

/// The hand-written SVG charts of the benchmark tool.
final class SVGChartTests: XCTestCase {
  private func assertWellFormed(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
    let parser = XMLParser(data: Data(svg.utf8))
    XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")", file: file, line: line)
  }

  func testLogLogChartHasTicksLegendAnnotationAndEscapedText() {
    var chart = SVGChart(title: "time <against> L & more", xLabel: "L", yLabel: "seconds", xScale: .logarithmic, yScale: .logarithmic)
    chart.series.append(.init(name: "exact \"slope 2\"", points: (10...20).map { (pow(2, Double($0)), pow(2, Double(2 * $0 - 30))) }))
    chart.series.append(.init(name: "poly", points: (10...20).map { (pow(2, Double($0)), pow(2, Double($0 - 14))) }, dashed: true))
    chart.annotations.append((12345, "crossover L ≈ 1.2e4"))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertTrue(svg.contains("time &lt;against&gt; L &amp; more"))
    XCTAssertTrue(svg.contains("exact &quot;slope 2&quot;"))
    XCTAssertTrue(svg.contains(">1M<"), "power-of-two ticks up to 2^20")
    XCTAssertTrue(svg.contains(">1024<"))
    XCTAssertTrue(svg.contains("crossover L ≈ 1.2e4"))
    XCTAssertTrue(svg.contains("stroke-dasharray=\"6 4\""))
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
  }

  func testInvalidPointsAreSkippedNotFatal() {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .logarithmic, yScale: .logarithmic)
    chart.series.append(.init(name: "mixed", points: [(1, 1), (2, .nan), (-3, 4), (4, 0), (.infinity, 2), (8, 16)]))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 2, "only (1, 1) and (8, 16) are drawable")
  }

  func testEmptyAndDegenerateChartsAreValid() {
    let empty = SVGChart(title: "nothing", xLabel: "x", yLabel: "y")
    assertWellFormed(empty.svg)
    XCTAssertTrue(empty.svg.contains("no data"))
    var flat = SVGChart(title: "flat", xLabel: "threads", yLabel: "speedup")
    flat.series.append(.init(name: "one point", points: [(3, 3)]))
    flat.series.append(.init(name: "constant", points: [(1, 2), (2, 2)]))
    assertWellFormed(flat.svg)
    XCTAssertTrue(flat.svg.contains("one point"))
  }
}

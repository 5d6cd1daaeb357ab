import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LoRAGradCommandLine
import XCTest

/// The hand-written SVG charts of the benchmark tool.
final class SVGChartTests: XCTestCase {
  /// Checks that `svg` is one bounded `<svg>` element: parseable XML, no "nan"/"inf" in any attribute
  /// value, no raw control characters, balanced `<text>` elements, and not absurdly large.
  private func assertWellFormed(_ svg: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(svg.hasPrefix("<svg"), "does not start with <svg", file: file, line: line)
    XCTAssertTrue(svg.hasSuffix("</svg>\n"), "does not end with </svg>", file: file, line: line)
    XCTAssertLessThan(svg.utf8.count, 2_000_000, "unbounded output", file: file, line: line)
    let controls = svg.utf8.filter { $0 < 0x20 && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\t") }
    XCTAssertTrue(controls.isEmpty, "raw control characters \(controls)", file: file, line: line)
    // Text is escaped, so every other piece between double quotes is an attribute value.
    let pieces = svg.split(separator: "\"", omittingEmptySubsequences: false)
    let attributes = stride(from: 1, to: pieces.count, by: 2).map { pieces[$0].lowercased() }
    for value in attributes where value.contains("nan") || value.contains("inf") {
      XCTFail("non-finite attribute value \"\(value)\"", file: file, line: line)
    }
    XCTAssertEqual(count("<text", in: svg), count("</text>", in: svg), "unbalanced <text>", file: file, line: line)
    let parser = XMLParser(data: Data(svg.utf8))
    XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")", file: file, line: line)
  }

  /// How often `needle` occurs in `svg`.
  private func count(_ needle: String, in svg: String) -> Int {
    svg.components(separatedBy: needle).count - 1
  }

  /// The number of labelled y ticks (the only right-aligned texts).
  private func yTickCount(_ svg: String) -> Int {
    count("text-anchor=\"end\">", in: svg)
  }

  private func chart(_ points: [(x: Double, y: Double)], _ xScale: SVGChart.Scale, _ yScale: SVGChart.Scale) -> String {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: xScale, yScale: yScale)
    chart.series.append(.init(name: "s", points: points))
    return chart.svg
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
    XCTAssertEqual(count("<polyline", in: svg), 2)
  }

  func testInvalidPointsAreSkippedNotFatal() {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .logarithmic, yScale: .logarithmic)
    chart.series.append(.init(name: "mixed", points: [(1, 1), (2, .nan), (-3, 4), (4, 0), (.infinity, 2), (8, 16)]))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertEqual(count("<circle", in: svg), 2, "only (1, 1) and (8, 16) are drawable")
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

  func testOrdinaryAxesKeepTheirTicks() {
    func yLabels(_ svg: String) -> [String] {
      svg.split(separator: "\n").filter { $0.contains("text-anchor=\"end\">") }
        .map { String($0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" }) }
    }
    XCTAssertEqual(yLabels(chart([(0, 0), (10, 10)], .linear, .linear)), ["0", "2", "4", "6", "8", "10"])
    XCTAssertEqual(yLabels(chart([(1e-3, 1e-3), (1e3, 1e3)], .logarithmic, .logarithmic)), ["0.001", "0.01", "0.1", "1", "10", "100", "1000"])
    XCTAssertEqual(yLabels(chart([(1e6, 1e6), (1.3e6, 1.3e6)], .linear, .linear)).count, 7)
    XCTAssertTrue(yLabels(chart([(1e-300, 1e-300), (1e300, 1e300)], .logarithmic, .logarithmic)).contains("1"), "thinned decades include 10⁰")
  }

  func testNonFinitePointsAreSkippedOnLinearAxes() {
    let svg = chart([(.nan, 1), (1, .infinity), (-.infinity, 2), (2, 3), (3, -.nan)], .linear, .linear)
    assertWellFormed(svg)
    XCTAssertEqual(count("<circle", in: svg), 1)
    let none = chart([(.nan, .nan), (.infinity, -.infinity)], .logarithmic, .linear)
    assertWellFormed(none)
    XCTAssertTrue(none.contains("no data"))
  }

  /// Each case charted on `scale` (both axes): well-formed, every point drawn, at most 12 y ticks.
  private func assertEveryPointDrawnWithFewTicks(
    _ cases: [[(x: Double, y: Double)]], scale: SVGChart.Scale, file: StaticString = #filePath, line: UInt = #line
  ) {
    for points in cases {
      let svg = chart(points, scale, scale)
      assertWellFormed(svg, file: file, line: line)
      XCTAssertEqual(count("<circle", in: svg), points.count, "\(points)", file: file, line: line)
      XCTAssertLessThanOrEqual(yTickCount(svg), 12, "y ticks for \(points)", file: file, line: line)
    }
  }

  func testLinearAxesAtTheEndsOfTheDoubleRange() {
    let big = Double.greatestFiniteMagnitude, tiny = Double.leastNonzeroMagnitude
    let cases: [[(x: Double, y: Double)]] = [
      [(big, big)], [(-big, -big)], [(-big, 0), (big, big)], [(0, 0), (big, -big)],
      [(tiny, tiny)], [(0, 0), (tiny, tiny)], [(-tiny, tiny), (tiny, 2 * tiny)],
      [(1e-300, 1e300), (2e-300, -1e300)], [(1e300, 1e300), (1e300.nextUp, 1e300.nextUp)],
      [(1e16, 1e16), (1e16 + 2, 1e16 + 2)],
    ]
    assertEveryPointDrawnWithFewTicks(cases, scale: .linear)
  }

  func testLogAxesAtTheEndsOfTheDoubleRange() {
    let big = Double.greatestFiniteMagnitude, tiny = Double.leastNonzeroMagnitude
    let cases: [[(x: Double, y: Double)]] = [
      [(tiny, tiny)], [(big, big)], [(tiny, big), (big, tiny)], [(1e-300, 1e-300), (1e300, 1e300)],
      [(2 * tiny, 2 * tiny), (4 * tiny, 4 * tiny)], [(1e308, 1e308), (1.5e308, 1.5e308)],
      [(pow(2, 1023), pow(2, 1023))], [(1, 1), (pow(2, 1023), pow(2, 1023))], [(1e300, 1e300)],
    ]
    assertEveryPointDrawnWithFewTicks(cases, scale: .logarithmic)
  }

  func testSixHundredDecadesGiveFewTicks() {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .logarithmic, yScale: .logarithmic)
    chart.series.append(.init(name: "wide", points: stride(from: -300, through: 300, by: 10).map { (k: Int) in (x: pow(10, Double(k)), y: pow(10, Double(-k))) }))
    chart.annotations.append((1e-300, "low end"))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertGreaterThanOrEqual(yTickCount(svg), 2)
    XCTAssertLessThanOrEqual(yTickCount(svg), 12)
    XCTAssertLessThanOrEqual(count("<line", in: svg), 2 * 12 + 2)
    XCTAssertTrue(svg.contains(">1e-300<"))
  }

  func testNonPositiveAndNegativeZeroValues() {
    let log = chart([(0, 1), (-0.0, 2), (-1, 3), (1, 0), (2, -0.0), (3, -5)], .logarithmic, .logarithmic)
    assertWellFormed(log)
    XCTAssertTrue(log.contains("no data"))
    XCTAssertFalse(log.contains("<circle"))
    let linear = chart([(-0.0, -0.0), (-0.0, -0.0)], .linear, .linear)
    assertWellFormed(linear)
    XCTAssertEqual(count("<circle", in: linear), 2)
    XCTAssertFalse(linear.contains(">-0<"), "negative zero is labelled 0")
    let symmetric = chart([(-0.3, -0.3), (0.3, 0.3)], .linear, .linear)
    assertWellFormed(symmetric)
    XCTAssertTrue(symmetric.contains(">0<"), "the zero tick is exactly 0, not a rounding residue")
    XCTAssertFalse(symmetric.contains("e-17"))
  }

  func testAllEqualValuesAndSinglePoints() {
    for scale in [SVGChart.Scale.linear, .logarithmic] {
      for value in [1.0, 7, 1e-300, 1e300, 1024] {
        let svg = chart(Array(repeating: (value, value), count: 5), scale, scale)
        assertWellFormed(svg)
        XCTAssertEqual(count("<circle", in: svg), 5)
        XCTAssertGreaterThanOrEqual(yTickCount(svg), 1, "\(scale) \(value)")
      }
      var single = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: scale, yScale: scale)
      single.series.append(.init(name: "one", points: [(5, 5)], showsMarkers: false))
      let svg = single.svg
      assertWellFormed(svg)
      XCTAssertEqual(count("<circle", in: svg), 1, "a lone point is always marked")
      XCTAssertFalse(svg.contains("<polyline"))
    }
  }

  func testEmptySeriesStillHaveLegendEntries() {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .logarithmic)
    chart.series.append(.init(name: "empty", points: []))
    chart.series.append(.init(name: "also empty", points: [], dashed: true))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertTrue(svg.contains(">empty<") && svg.contains(">also empty<"))
    XCTAssertTrue(svg.contains("no data"))
  }

  /// Thousands of points render whole (no wall-clock assertion: a loaded CI machine is slow).
  func testThousandsOfPointsRenderEveryMarker() {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .logarithmic, yScale: .linear)
    for k in 0..<2 {
      chart.series.append(.init(name: "s\(k)", points: (1...3000).map { (Double($0), sin(Double($0 + k)) * 1e6) }))
    }
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertEqual(count("<circle", in: svg), 6000)
  }

  func testSpecialAndControlCharactersInTextAreEscapedOrDropped() {
    let nasty = "a&b<c>d\"e'f\u{0}g\u{1}h\u{8}i\u{B}j\u{C}k\r\u{1B}l\u{1F}m\tn\no\u{FFFE}p\u{FFFF}q"
    var chart = SVGChart(title: nasty, xLabel: nasty, yLabel: nasty)
    chart.series.append(.init(name: nasty, points: [(1, 1), (2, 2)]))
    chart.annotations.append((1.5, nasty))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertTrue(svg.contains("a&amp;b&lt;c&gt;d&quot;e&apos;fghijk"))
    XCTAssertFalse(svg.contains("\u{FFFE}") || svg.contains("\u{FFFF}"))
    XCTAssertEqual(count("a&amp;b", in: svg), 5)
  }

  func testVeryLongLabelsAreShortened() {
    let long = String(repeating: "&<x", count: 100_000)
    var chart = SVGChart(title: long, xLabel: long, yLabel: long)
    chart.series.append(.init(name: long, points: [(1, 1)]))
    chart.annotations.append((1, long))
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertLessThan(svg.utf8.count, 50_000)
    XCTAssertTrue(svg.contains("…"))
  }

  func testAnnotationsAtExtremesAndOddSizes() {
    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .logarithmic)
    chart.series.append(.init(name: "s", points: [(1, 1), (10, 2)]))
    chart.annotations += [(.nan, "nan"), (-1, "negative"), (0, "zero"), (.greatestFiniteMagnitude, "top"), (.leastNonzeroMagnitude, "bottom")]
    chart.width = -5
    chart.height = Int.max
    let svg = chart.svg
    assertWellFormed(svg)
    XCTAssertTrue(svg.contains(">top<") && svg.contains(">bottom<"))
    XCTAssertFalse(svg.contains(">negative<") || svg.contains(">zero<"))
  }
}

import Foundation

/// A self-contained SVG line chart for benchmark results: axes with ticks and labels (linear or
/// logarithmic), a title, a legend, dashed or solid series with markers, and labelled vertical
/// annotations. Written by hand, no dependencies; renders in any browser.
public struct SVGChart {
  /// How an axis maps values to positions.
  public enum Scale: Sendable {
    /// Evenly spaced values, ticks at 1, 2 or 5 × 10ᵏ steps.
    case linear
    /// Evenly spaced powers of ten (or of two when the data are powers of two); non-positive values are skipped.
    case logarithmic
  }

  /// One named line of (x, y) points.
  public struct Series {
    /// The legend text.
    public var name: String
    /// The points, in drawing order.
    public var points: [(x: Double, y: Double)]
    /// Drawn dashed (e.g. an ideal or fitted line).
    public var dashed: Bool
    /// Drawn with a circle at every point.
    public var showsMarkers: Bool

    /// A series from its name and points.
    public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false, showsMarkers: Bool = true) {
      self.name = name
      self.points = points
      self.dashed = dashed
      self.showsMarkers = showsMarkers
    }
  }

  /// The title above the plot.
  public var title: String
  /// The label under the x axis.
  public var xLabel: String
  /// The label beside the y axis.
  public var yLabel: String
  /// The x axis scale.
  public var xScale: Scale
  /// The y axis scale.
  public var yScale: Scale
  /// The lines, drawn in order with colours from a colour-blind-friendly palette.
  public var series: [Series] = []
  /// Vertical marker lines at x with a label (e.g. a crossover).
  public var annotations: [(x: Double, label: String)] = []
  /// The width of the drawing in pixels.
  public var width = 760
  /// The height of the drawing in pixels.
  public var height = 480

  /// An empty chart with its title, axis labels and scales.
  public init(title: String, xLabel: String, yLabel: String, xScale: Scale = .linear, yScale: Scale = .linear) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.xScale = xScale
    self.yScale = yScale
  }

  private static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

  /// The whole SVG document. Points that a scale cannot show (not finite, or not positive on a
  /// logarithmic axis) are skipped, every coordinate is finite, and text is escaped and shortened.
  public var svg: String {
    let width = min(max(self.width, 200), 20_000), height = min(max(self.height, 200), 20_000)
    let left = 80.0, right = 24.0, top = 48.0, legendHeight = Double(18 * series.count + 16)
    let bottom = 64.0
    let plotWidth = max(Double(width) - left - right, 60)
    let plotHeight = max(Double(height) - top - bottom, 60)
    let usable = series.map { $0.points.filter { valid($0.x, xScale) && valid($0.y, yScale) } }
    let xs = usable.flatMap { $0.map(\.x) }
    let ys = usable.flatMap { $0.map(\.y) }
    let xAxis = SVGAxis(values: xs, extra: annotations.map(\.x).filter { valid($0, xScale) }, scale: xScale)
    let yAxis = SVGAxis(values: ys, scale: yScale)
    func px(_ x: Double) -> Double { left + min(max(xAxis.fraction(x), 0), 1) * plotWidth }
    func py(_ y: Double) -> Double { top + (1 - min(max(yAxis.fraction(y), 0), 1)) * plotHeight }

    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(Int(Double(height) + legendHeight))" \
      viewBox="0 0 \(width) \(Int(Double(height) + legendHeight))" font-family="sans-serif" font-size="12">
      <rect x="0" y="0" width="100%" height="100%" fill="white"/>
      <text x="\(f(Double(width) / 2))" y="24" text-anchor="middle" font-size="15" font-weight="bold">\(escape(title))</text>

      """
    out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#444\"/>\n"
    for tick in xAxis.ticks {
      let x = px(tick.value)
      out += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#e4e4e4\"/>\n"
      out += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(escape(tick.label))</text>\n"
    }
    for tick in yAxis.ticks {
      let y = py(tick.value)
      out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>\n"
      out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(tick.label))</text>\n"
    }
    out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 40))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
    out += "<text x=\"18\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(f(top + plotHeight / 2)))\">\(escape(yLabel))</text>\n"
    if ys.isEmpty {
      out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n"
    }
    for annotation in annotations where valid(annotation.x, xScale) {
      let x = px(annotation.x)
      out += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#888\" stroke-dasharray=\"2 3\"/>\n"
      out += "<text x=\"\(f(x + 4))\" y=\"\(f(top + 14))\" fill=\"#555\">\(escape(annotation.label))</text>\n"
    }
    for (index, line) in series.enumerated() {
      let colour = Self.palette[index % Self.palette.count]
      let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
      let points = usable[index]
      if points.count >= 2 {
        let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
        out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
      }
      if line.showsMarkers || points.count == 1 {
        for point in points {
          out += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3.5\" fill=\"\(colour)\"/>\n"
        }
      }
      let y = Double(height) + Double(18 * index) + 4
      out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + 28))\" y2=\"\(f(y))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
      out += "<text x=\"\(f(left + 36))\" y=\"\(f(y + 4))\">\(escape(line.name))</text>\n"
    }
    return out + "</svg>\n"
  }

  private func valid(_ value: Double, _ scale: Scale) -> Bool {
    value.isFinite && (scale == .linear || value > 0)
  }

  /// `value` with one decimal, clamped to ±10⁶ (NaN to 0), without `String(format:)`, which is slow on Linux.
  private func f(_ value: Double) -> String {
    let tenths = Int((min(max(value.isNaN ? 0 : value, -1e6), 1e6) * 10).rounded())
    return "\(tenths < 0 ? "-" : "")\(tenths.magnitude / 10).\(tenths.magnitude % 10)"
  }

  /// `text` as XML character data: markup characters escaped, the characters XML 1.0 forbids (controls
  /// other than tab and newline, U+FFFE, U+FFFF) dropped, and cut to 200 characters with an ellipsis.
  private func escape(_ text: String) -> String {
    var out = "", kept = 0
    for scalar in text.unicodeScalars where scalar.value >= 0x20 || scalar == "\t" || scalar == "\n" {
      if scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
      if kept == 200 { return out + "…" }
      kept += 1
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}

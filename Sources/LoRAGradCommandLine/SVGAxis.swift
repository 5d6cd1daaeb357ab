import Foundation

/// One axis of an `SVGChart`: the value range (padded when degenerate) and at most a dozen "nice"
/// ticks — 1, 2 or 5 × 10ᵏ steps on a linear axis; decades on a logarithmic axis (thinned when
/// there are many), or powers of two when every value is one (sequence lengths), or 1-2-5 ticks
/// when the data span less than a decade. Works for any finite values, from the smallest
/// subnormal to `Double.greatestFiniteMagnitude`: a logarithmic axis keeps its ends as base-10
/// exponents, so 10⁻³²⁴ … 10³⁰⁹ never underflow or overflow, and ticks that are not finite are left out.
struct SVGAxis {
  /// A tick position and its label.
  struct Tick {
    let value: Double
    let label: String
  }

  let scale: SVGChart.Scale
  /// The ends of the axis: values on a linear axis, base-10 exponents on a logarithmic one.
  let low: Double
  let high: Double
  let ticks: [Tick]

  /// The axis for the data `values` and the `extra` positions it must also show (annotations),
  /// all already filtered to finite, and positive for log scales.
  init(values: [Double], extra: [Double] = [], scale: SVGChart.Scale) {
    self.scale = scale
    let all = values + extra
    switch scale {
    case .linear:
      (low, high, ticks) = Self.linear(low: all.min() ?? 0, high: all.max() ?? 1)
    case .logarithmic:
      let powersOfTwo = !values.isEmpty && values.allSatisfy { $0 >= 1 && $0.significand == 1 }
      (low, high, ticks) = Self.logarithmic(low: all.min() ?? 1, high: all.max() ?? 10, powersOfTwo: powersOfTwo)
    }
  }

  /// Where a value sits between the ends of the axis, 0 … 1 (0.5 for a value the axis cannot place).
  func fraction(_ value: Double) -> Double {
    let position = scale == .linear ? value : log10(value)
    guard high > low else { return 0.5 }
    // Halving keeps the span finite when the ends are near ±greatestFiniteMagnitude.
    let result = (high - low).isFinite ? (position - low) / (high - low) : (position / 2 - low / 2) / (high / 2 - low / 2)
    return result.isFinite ? result : 0.5
  }

  /// Ends and ticks of a linear axis through the finite `low` … `high`.
  private static func linear(low: Double, high: Double) -> (Double, Double, [Tick]) {
    var low = low, high = high
    if low == high {
      let pad = max(abs(low) * 0.1, 1)
      low = max(low - pad, -.greatestFiniteMagnitude)
      high = min(high + pad, .greatestFiniteMagnitude)
    }
    if low > 0, low < high / 2 - low / 2 { low = 0 }
    let step = niceStep(high / 6 - low / 6)
    let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
    // Round the ends out to whole steps unless that overflows.
    if (first * step).isFinite { low = first * step }
    if (last * step).isFinite { high = last * step }
    // `first + k` times `step` (not `low + k * step`) makes the zero tick exactly 0; a step below
    // the spacing of doubles there (1e16 … 1e16 + 2) gives repeated values, drawn once.
    var ticks: [Double] = []
    for k in 0...Int(min(max(last - first, 0), 11)) {
      let value = (first + Double(k)) * step
      if value.isFinite, value >= low, value <= high, value != ticks.last { ticks.append(value) }
    }
    return (low, high, ticks.map { Tick(value: $0, label: label($0)) })
  }

  /// Ends (as base-10 exponents) and ticks of a logarithmic axis through the positive, finite `low` … `high`.
  private static func logarithmic(low: Double, high: Double, powersOfTwo: Bool) -> (Double, Double, [Tick]) {
    if powersOfTwo {
      var first = log2(low).rounded(.down), last = log2(high).rounded(.up)
      if first == last { first -= 1; last += 1 }
      let every = max(1, ((last - first) / 8).rounded(.up))
      let ticks = stride(from: first, through: last, by: every).map { pow(2, $0) }.filter(\.isFinite)
      return (first * log10(2), last * log10(2), ticks.map { Tick(value: $0, label: label($0)) })
    }
    var (low, high) = low == high ? (log10(low) - log10(2), log10(high) + log10(2)) : (log10(low), log10(high))
    let ticks: [Double]
    if high - low >= 1 {
      low = low.rounded(.down)
      high = high.rounded(.up)
      // Every `every`-th decade, on multiples of `every` so that 10⁰ is one when in range.
      let every = max(1, ((high - low) / 8).rounded(.up))
      ticks = stride(from: (low / every).rounded(.up) * every, through: high, by: every).map { pow(10, $0) }
    } else {
      low -= log10(1.1)
      high += log10(1.1)
      let decades = stride(from: low.rounded(.down), through: high.rounded(.down), by: 1)
      ticks = decades.flatMap { decade in [1.0, 2, 5].map { $0 * pow(10, decade) } }
        .filter { log10($0) >= low && log10($0) <= high }
    }
    let finite = ticks.filter { $0.isFinite && $0 > 0 }
    return (low, high, finite.map { Tick(value: $0, label: label($0)) })
  }

  /// 1, 2 or 5 × 10ᵏ, the smallest not below `rough`.
  static func niceStep(_ rough: Double) -> Double {
    guard rough > 0, rough.isFinite else { return 1 }
    let power = pow(10, log10(rough).rounded(.down))
    for mantissa in [1.0, 2.0, 5.0, 10.0] where mantissa * power >= rough { return mantissa * power }
    return 10 * power
  }

  /// A compact label: 1024 → "1024", 1048576 → "1M", 65536 → "64K", 0.0012 → "0.0012", 1e-5 → "1e-05".
  static func label(_ value: Double) -> String {
    if value == 0 { return "0" }
    let magnitude = abs(value)
    let mega = 1_048_576.0, kilo = 1024.0
    if magnitude >= mega, magnitude < 1e15, value.truncatingRemainder(dividingBy: mega) == 0 { return "\(Int(value / mega))M" }
    if magnitude >= 16 * kilo, magnitude < 1e15, value.truncatingRemainder(dividingBy: kilo) == 0 { return "\(Int(value / kilo))K" }
    // Subnormal powers of ten are only approximate: 9.99989e-321 reads better as 1e-320.
    return String(format: magnitude < .leastNormalMagnitude ? "%.2g" : "%g", value)
  }
}

import Foundation

/// One axis of an `SVGChart`: the value range (padded when degenerate) and "nice" ticks —
/// 1, 2 or 5 × 10ᵏ steps on a linear axis; decades on a logarithmic axis, or powers of two when
/// every value is one (sequence lengths), or 1-2-5 ticks when the data span less than a decade.
struct SVGAxis {
  /// A tick position and its label.
  struct Tick {
    let value: Double
    let label: String
  }

  let scale: SVGChart.Scale
  let low: Double
  let high: Double
  let ticks: [Tick]

  /// The axis for the data `values` and the `extra` positions it must also show (annotations),
  /// all already filtered to finite, and positive for log scales.
  init(values: [Double], extra: [Double] = [], scale: SVGChart.Scale) {
    self.scale = scale
    let all = values + extra
    var low = all.min() ?? (scale == .linear ? 0 : 1)
    var high = all.max() ?? (scale == .linear ? 1 : 10)
    switch scale {
    case .linear:
      if low == high { low -= max(abs(low) * 0.1, 1); high += max(abs(high) * 0.1, 1) }
      if low > 0, low < (high - low) * 0.5 { low = 0 }
      let step = Self.niceStep((high - low) / 6)
      low = (low / step).rounded(.down) * step
      high = (high / step).rounded(.up) * step
      self.ticks = stride(from: low, through: high + step / 2, by: step).map { Tick(value: $0, label: Self.label($0)) }
    case .logarithmic:
      if low == high { low /= 2; high *= 2 }
      let powersOfTwo = !values.isEmpty && values.allSatisfy { $0 >= 1 && log2($0).rounded() == log2($0) }
      if powersOfTwo {
        let first = log2(low).rounded(.down), last = log2(high).rounded(.up)
        let every = max(1, Int(((last - first) / 8).rounded(.up)))
        low = pow(2, first)
        high = pow(2, last)
        self.ticks = stride(from: Int(first), through: Int(last), by: every).map { Tick(value: pow(2, Double($0)), label: Self.label(pow(2, Double($0)))) }
      } else if log10(high / low) >= 1 {
        low = pow(10, log10(low).rounded(.down))
        high = pow(10, log10(high).rounded(.up))
        let decades = Int(log10(high / low).rounded())
        let every = max(1, (decades + 7) / 8)
        self.ticks = stride(from: 0, through: decades, by: every).map { k in
          let value = low * pow(10, Double(k))
          return Tick(value: value, label: Self.label(value))
        }
      } else {
        low = low / 1.1
        high = high * 1.1
        var ticks: [Tick] = []
        var decade = pow(10, log10(low).rounded(.down))
        while decade <= high {
          for mantissa in [1.0, 2.0, 5.0] where decade * mantissa >= low && decade * mantissa <= high {
            ticks.append(Tick(value: decade * mantissa, label: Self.label(decade * mantissa)))
          }
          decade *= 10
        }
        self.ticks = ticks
      }
    }
    self.low = low
    self.high = high
  }

  /// Where a value sits between the ends of the axis, 0 … 1.
  func fraction(_ value: Double) -> Double {
    switch scale {
    case .linear: return high > low ? (value - low) / (high - low) : 0.5
    case .logarithmic: return high > low ? (log(value) - log(low)) / (log(high) - log(low)) : 0.5
    }
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
    if magnitude >= 1e-3, magnitude < 1e6 { return String(format: "%g", value) }
    return String(format: "%.2g", value)
  }
}

import Dispatch

/// Wall-clock seconds of a piece of work, from the monotonic clock.
public enum Stopwatch {
  /// Runs `body` and returns its result with the seconds it took.
  public static func measure<T>(_ body: () throws -> T) rethrows -> (result: T, seconds: Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try body()
    let end = DispatchTime.now().uptimeNanoseconds
    return (result, Double(end - start) / 1e9)
  }
}

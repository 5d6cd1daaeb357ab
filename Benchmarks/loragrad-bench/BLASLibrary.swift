import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A system BLAS opened at run time (dlopen), so nothing in the build links one: its
/// cblas_sgemm, run on one thread, and the name and configuration it reports. Debian ships
/// OpenBLAS (libopenblas0-serial) and BLIS (libblis4-serial); `Scripts/setup.sh` installs both.
final class BLASLibrary {
  /// C = alpha·op(A)·op(B) + beta·C, row-major (CBLAS order 101, no transpose 111, transpose 112).
  typealias SGEMM = @convention(c) (
    Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>, Int32, UnsafePointer<Float>, Int32, Float,
    UnsafeMutablePointer<Float>, Int32
  ) -> Void

  /// "OpenBLAS" or "BLIS".
  let name: String
  /// What the library says of itself (version, the kernel class it chose for this CPU).
  let configuration: String
  /// The library's cblas_sgemm.
  let sgemm: SGEMM
  private let handle: UnsafeMutableRawPointer

  private init?(name: String, paths: [String], describe: (UnsafeMutableRawPointer) -> String, singleThread: (UnsafeMutableRawPointer) -> Void) {
    guard let handle = paths.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else { return nil }
    guard let symbol = dlsym(handle, "cblas_sgemm") else {
      dlclose(handle)
      return nil
    }
    self.name = name
    self.handle = handle
    sgemm = unsafeBitCast(symbol, to: SGEMM.self)
    singleThread(handle)
    configuration = describe(handle)
  }

  deinit { dlclose(handle) }

  /// The string a `const char *f(void)` of the library returns, or "".
  private static func string(_ handle: UnsafeMutableRawPointer, _ function: String) -> String {
    guard let symbol = dlsym(handle, function) else { return "" }
    typealias Text = @convention(c) () -> UnsafePointer<CChar>?
    return unsafeBitCast(symbol, to: Text.self)().map { String(cString: $0) } ?? ""
  }

  /// Calls `void f(int)` (or, `wide`, `void f(int64_t)`: BLIS's dim_t) of the library with 1,
  /// if it has one (its thread count).
  private static func setOne(_ handle: UnsafeMutableRawPointer, _ function: String, wide: Bool = false) {
    guard let symbol = dlsym(handle, function) else { return }
    if wide {
      typealias SetCount = @convention(c) (Int64) -> Void
      unsafeBitCast(symbol, to: SetCount.self)(1)
    } else {
      typealias SetCount = @convention(c) (Int32) -> Void
      unsafeBitCast(symbol, to: SetCount.self)(1)
    }
  }

  /// OpenBLAS (the serial build first), on one thread.
  static func openBLAS() -> BLASLibrary? {
    BLASLibrary(
      name: "OpenBLAS",
      paths: ["/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0", "libopenblas.so.0", "libopenblas.so"],
      describe: { handle in
        let core = string(handle, "openblas_get_corename"), config = string(handle, "openblas_get_config")
        return [config, core.isEmpty ? "" : "core \(core)"].filter { !$0.isEmpty }.joined(separator: ", ")
      },
      singleThread: { setOne($0, "openblas_set_num_threads") })
  }

  /// BLIS (the serial build first), on one thread.
  static func blis() -> BLASLibrary? {
    BLASLibrary(
      name: "BLIS",
      paths: ["/usr/lib/x86_64-linux-gnu/blis-serial/libblis.so.4", "libblis.so.4", "libblis.so"],
      describe: { handle in
        var parts = ["BLIS " + string(handle, "bli_info_get_version_str")]
        if let query = dlsym(handle, "bli_arch_query_id"), let name = dlsym(handle, "bli_arch_string") {
          typealias Query = @convention(c) () -> Int32
          typealias Name = @convention(c) (Int32) -> UnsafePointer<CChar>?
          let id = unsafeBitCast(query, to: Query.self)()
          if let text = unsafeBitCast(name, to: Name.self)(id) { parts.append("arch \(String(cString: text))") }
        }
        return parts.joined(separator: ", ")
      },
      singleThread: { setOne($0, "bli_thread_set_num_threads", wide: true) })
  }
}

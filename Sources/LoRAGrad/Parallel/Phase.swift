import CLoRAGradKernels

/// One phase of the pipeline, ready to run: the C descriptor (tile function, tile count, scratch
/// per worker) and the storage its parameter struct and every buffer it points into live in.
/// Whoever holds the phase keeps all of it alive: no lifetimes are kept by hand.
package struct Phase: @unchecked Sendable {
  /// The descriptor the C constructor returned (its params pointer points into `storage`).
  package let descriptor: lgk_phase
  private let storage: AnyObject

  /// A phase from its parameter struct, the buffers the struct points into, and the C
  /// constructor (`lgk_*_phase`) that describes it.
  init<Parameters>(
    _ parameters: Parameters, retaining buffers: [AnyObject],
    describe: (UnsafePointer<Parameters>) -> lgk_phase
  ) {
    let owner = PhaseStorage(parameters, retaining: buffers)
    descriptor = describe(owner.parameters)
    storage = owner
  }

  /// The phase's name ("flash forward").
  package var name: String { String(cString: descriptor.name) }
}

/// The heap home of a phase's parameter struct, and the buffers it points into.
private final class PhaseStorage<Parameters> {
  let parameters: UnsafeMutablePointer<Parameters>
  let buffers: [AnyObject]

  init(_ value: Parameters, retaining buffers: [AnyObject]) {
    parameters = UnsafeMutablePointer<Parameters>.allocate(capacity: 1)
    parameters.initialize(to: value)
    self.buffers = buffers
  }

  deinit {
    parameters.deinitialize(count: 1)
    parameters.deallocate()
  }
}

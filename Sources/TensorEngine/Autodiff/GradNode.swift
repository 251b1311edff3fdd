import Glibc

/// One recorded operation on the autodiff tape.
///
/// A node keeps the op's inputs (with their own nodes, so the tape is the graph reachable from an
/// output), the op's output value (detached, to avoid a reference cycle) and the vector–Jacobian
/// product. The VJP is written with differentiable ops, so when it runs while recording
/// (`createGraph: true`) its own ops are recorded and the result can be differentiated again.
///
/// Releasing a tape is iterative: a node's inputs and VJP (whose captures hold more nodes) are
/// handed to a per-thread worklist instead of being released inside `deinit`, so a tape as deep
/// as the longest path in a graph is freed in constant stack depth (recursively, 3 000 chained
/// nodes overflowed a 512 KiB thread stack).
final class GradNode: @unchecked Sendable {
    /// The op's name, for debugging and error messages.
    let name: String
    /// The tensors the op read; empty for a leaf. Emptied only by `deinit`.
    private(set) var inputs: [Tensor]
    /// The op's output shape.
    let shape: [Int]
    /// The op's output values, detached.
    let output: [Float]
    /// Given the gradient with respect to the output, the output itself (re-attached to this
    /// node, so VJPs that use it stay differentiable) and which inputs need a gradient, returns one
    /// gradient per input, or `nil` for an input that gets none. Expensive VJPs skip the inputs
    /// whose `needed` flag is false (weights during an attack, inputs during training). Cleared
    /// only by `deinit`.
    private(set) var vjp: VJP?

    typealias VJP = @Sendable (_ upstream: Tensor, _ output: Tensor, _ needed: [Bool]) -> [Tensor?]

    init(name: String, inputs: [Tensor], shape: [Int], output: [Float], vjp: @escaping VJP) {
        self.name = name
        self.inputs = inputs
        self.shape = shape
        self.output = output
        self.vjp = vjp
    }

    /// A leaf: a value the user differentiates with respect to.
    init(leafShape: [Int]) {
        self.name = "leaf"
        self.inputs = []
        self.shape = leafShape
        self.output = []
        self.vjp = nil
    }

    var isLeaf: Bool { vjp == nil }

    deinit {
        if inputs.isEmpty && vjp == nil { return }
        if let active = TapeRelease.active {
            // Inside another node's release on this thread: leave the work to its loop.
            active.take(&inputs, &vjp)
            return
        }
        let worklist = TapeRelease()
        TapeRelease.active = worklist
        worklist.take(&inputs, &vjp)
        worklist.drain()
        TapeRelease.active = nil
    }
}

/// The references a releasing tape still has to drop, per thread. Dropping one may release more
/// nodes, whose `deinit` adds their own references here rather than recursing.
final class TapeRelease {
    private var tensors: [[Tensor]] = []
    private var closures: [GradNode.VJP] = []

    /// Moves a dying node's references here without releasing them.
    func take(_ inputs: inout [Tensor], _ vjp: inout GradNode.VJP?) {
        if !inputs.isEmpty {
            tensors.append(inputs)
            inputs = []
        }
        if let f = vjp {
            closures.append(f)
            vjp = nil
        }
    }

    /// Drops references one at a time until none is left.
    func drain() {
        while true {
            if let f = closures.popLast() {
                withExtendedLifetime(f) {}
            } else if var batch = tensors.popLast() {
                batch.removeAll()
            } else {
                return
            }
        }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    /// The worklist of the release running on this thread, if any.
    static var active: TapeRelease? {
        get { pthread_getspecific(key).map { Unmanaged<TapeRelease>.fromOpaque($0).takeUnretainedValue() } }
        set { pthread_setspecific(key, newValue.map { Unmanaged.passUnretained($0).toOpaque() }) }
    }
}

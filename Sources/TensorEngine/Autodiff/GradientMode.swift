/// Whether ops record onto the autodiff tape.
///
/// Recording is on by default; an op records only when recording is on and one of its inputs is
/// tracked. Inference and attack bookkeeping run inside `withoutGradients`, which costs no tape.
public enum GradientMode {
    @TaskLocal static var isRecording: Bool = true

    /// Whether ops currently record onto the tape.
    public static var isEnabled: Bool { isRecording }

    /// Runs `body` with recording switched on or off.
    public static func with<R>(recording: Bool, _ body: () throws -> R) rethrows -> R {
        try $isRecording.withValue(recording, operation: body)
    }
}

/// Runs `body` without recording onto the tape: outputs are constants, whatever the inputs.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.with(recording: false, body)
}

extension Tensor {
    /// Attaches a tape node to a freshly computed `output` when recording and any input is tracked.
    ///
    /// Every differentiable op ends with this call. `vjp` receives the upstream gradient and the
    /// output (tracked) and returns one gradient per input, each with that input's shape.
    static func record(
        _ name: String,
        _ output: Tensor,
        inputs: [Tensor],
        vjp: @escaping @Sendable (_ upstream: Tensor, _ output: Tensor, _ needed: [Bool]) -> [Tensor?]
    ) -> Tensor {
        guard GradientMode.isRecording, inputs.contains(where: { $0.node != nil }) else { return output }
        let node = GradNode(name: name, inputs: inputs, shape: output.shape, output: output.scalars, vjp: vjp)
        return Tensor(shape: output.shape, scalars: output.scalars, node: node)
    }

    /// `record` for cheap VJPs that compute every input's gradient regardless of need.
    static func record(
        _ name: String,
        _ output: Tensor,
        inputs: [Tensor],
        vjp: @escaping @Sendable (_ upstream: Tensor, _ output: Tensor) -> [Tensor?]
    ) -> Tensor {
        record(name, output, inputs: inputs) { g, y, _ in vjp(g, y) }
    }
}

import TensorEngine

/// The identity, recording its input as the feature tap `name` when the pass requests it.
///
/// Put one into a ``Sequential`` to expose an intermediate feature map. No parameters.
public final class Tap: Layer {
    /// The tap name under which the input is recorded.
    public let name: String

    /// A tap recording under `name`.
    public init(_ name: String) {
        self.name = name
    }

    public var parameters: [Parameter] { [] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        context.record(name, x)
        return x
    }
}

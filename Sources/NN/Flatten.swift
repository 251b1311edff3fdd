import TensorEngine

/// Keeps the batch axis and flattens the rest: (N,d1,d2,…) ↦ (N, d1·d2·…). No parameters.
public final class Flatten: Layer {
    /// Creates the layer.
    public init() {}

    public var parameters: [Parameter] { [] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        x.flattened(axis: 1)
    }
}

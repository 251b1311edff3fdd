import TensorEngine

/// max(x, 0) elementwise. No parameters.
public final class ReLU: Layer {
    /// Creates the layer.
    public init() {}

    public var parameters: [Parameter] { [] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        relu(x)
    }
}

import TensorEngine

/// The mean over H and W: x (N,C,H,W) ↦ (N,C,1,1). No parameters.
public final class GlobalAvgPool2D: Layer {
    /// Creates the layer.
    public init() {}

    public var parameters: [Parameter] { [] }
    public var buffers: [Buffer] { [] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        globalAvgPool2d(x)
    }
}

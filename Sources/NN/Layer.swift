import TensorEngine

/// One stage of a network: a function of a tensor with parameters and buffers.
///
/// Layers are reference types because they own mutable state (parameters the optimizer updates,
/// running statistics). The forward pass is built from differentiable ops of `TensorEngine`, so a
/// layer needs no backward code and supports second order.
public protocol Layer: ParameterContainer {
    /// Applies the layer to `x` in the mode given by `context`.
    func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor
}

extension Layer {
    /// Applies the layer in inference mode (no taps). Recording follows the caller's
    /// ``GradientMode``; wrap in `withoutGradients` for pure inference.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        self(x, context: ForwardContext(isTraining: false))
    }
}

import TensorEngine

/// An image classifier: what attacks, audits and distillation need to know about a model.
///
/// Inputs are (N,C,H,W) with `inputShape == [C, H, W]` and values in `inputBounds`; the output is
/// logits (N, classCount). The model may expose intermediate feature maps under the names in
/// `featureTapNames`; a pass records those listed in its ``ForwardContext/requestedTaps``.
public protocol Classifier: ParameterContainer {
    /// The logits (N, classCount) of a batch x (N,C,H,W), in the mode of `context`.
    func logits(_ x: Tensor, context: ForwardContext) -> Tensor
    /// The shape of one input, (C,H,W).
    var inputShape: [Int] { get }
    /// The number of classes.
    var classCount: Int { get }
    /// The range input values live in; attacks clip to it.
    var inputBounds: ClosedRange<Float> { get }
    /// The feature-tap names a caller may request, shallow to deep.
    var featureTapNames: [String] { get }
}

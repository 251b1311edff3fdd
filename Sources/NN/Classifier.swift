import TensorEngine

/// An image classifier: what attacks, audits and distillation need to know about a model.
///
/// Inputs are (N,C,H,W) with `inputShape == [C, H, W]` and values in `inputBounds`; the output is
/// logits (N, classCount). The model may expose intermediate feature maps under the names in
/// `featureTapNames`; a pass records those listed in its ``ForwardContext/requestedTaps``.
public protocol Classifier: ParameterContainer {
    /// The logits (N, classCount) of a batch x (N,C,H,W), in the mode of `context`.
    func logits(_ x: Tensor, context: ForwardContext) -> Tensor
    /// Runs x forward in the mode of `context` only as far as its requested taps need, recording
    /// them as `logits` would: the layers after the deepest requested tap do not run (in training
    /// mode their batch-norm running statistics stay as they are). For losses on feature maps alone.
    /// The default runs the whole pass.
    func recordTaps(_ x: Tensor, context: ForwardContext)
    /// The shape of one input, (C,H,W).
    var inputShape: [Int] { get }
    /// The number of classes.
    var classCount: Int { get }
    /// The range input values live in; attacks clip to it.
    var inputBounds: ClosedRange<Float> { get }
    /// The feature-tap names a caller may request, shallow to deep.
    var featureTapNames: [String] { get }
}

extension Classifier {
    public func recordTaps(_ x: Tensor, context: ForwardContext) {
        _ = logits(x, context: context)
    }
}

/// A classifier written once as a pass that can stop after its deepest requested tap; `logits` and
/// `recordTaps` come from it.
public protocol TruncatableClassifier: Classifier {
    /// The logits of x in the mode of `context`, recording the requested taps; with `tapsOnly`, nil
    /// once every requested tap is recorded (the rest of the pass does not run).
    func forward(_ x: Tensor, context: ForwardContext, tapsOnly: Bool) -> Tensor?
}

extension TruncatableClassifier {
    public func logits(_ x: Tensor, context: ForwardContext) -> Tensor {
        guard let logits = forward(x, context: context, tapsOnly: false) else {
            preconditionFailure("\(type(of: self)): a whole pass ends in logits")
        }
        return logits
    }

    public func recordTaps(_ x: Tensor, context: ForwardContext) {
        _ = forward(x, context: context, tapsOnly: true)
    }
}

import TensorEngine

/// One supervised training step: a training-mode forward pass, mean cross-entropy against
/// `labels`, the gradient with respect to every parameter, and one optimizer step.
///
/// Batch-norm running statistics are updated by the forward pass. Returns the loss before the
/// update.
/// - Precondition: `inputs` is (N, C, H, W) for the model and there is one label per row.
@discardableResult
public func trainStep(
    model: any Classifier,
    optimizer: inout some Optimizer,
    inputs: Tensor,
    labels: [Int],
    labelSmoothing: Float = 0
) -> Float {
    let parameters = model.parameters
    let logits = model.logits(inputs, context: ForwardContext(isTraining: true))
    let loss = crossEntropy(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
    let gradients = gradient(of: loss, wrt: parameters.map(\.value))
    optimizer.step(parameters, gradients: gradients)
    return loss.scalar
}

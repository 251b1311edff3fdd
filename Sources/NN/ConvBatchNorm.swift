import TensorEngine

/// A convolution followed by batch norm, as residual networks use them.
///
/// In training mode this is `bn(conv(x))` with batch statistics. In evaluation mode the batch norm is
/// an affine map per channel, so it is folded into the convolution: with a = γ/√(σ² + ε),
/// w' = w·a (per output channel) and b' = β − μ·a (+ a·bias), and `conv2d(x, w', b')` computes the
/// same function of x in one pass instead of two. The fold is written in ops on the parameters'
/// current values, so gradients with respect to x and to the weights are those of the unfolded pair.
///
/// With `residual` and `relu`, the result is relu(bn(conv(x)) + residual); folded, both run in the
/// convolution's epilogue (`fusedConv2d`), in training mode in the batch norm's (`batchNormTraining`),
/// instead of two more passes over the output.
func convBatchNorm(
    _ conv: Conv2D,
    _ bn: BatchNorm2D,
    _ x: Tensor,
    adding residual: Tensor? = nil,
    relu applyReLU: Bool = false,
    context: ForwardContext
) -> Tensor {
    guard !context.isTraining else {
        return bn(conv(x, context: context), adding: residual, relu: applyReLU, context: context)
    }
    let k = conv.weight.shape[0]
    precondition(bn.channels == k, "convBatchNorm: batch norm over \(bn.channels) channels after a conv to \(k)")
    let a = bn.weight.value / sqrt(bn.runningVariance.value + bn.epsilon)
    let w = conv.weight.value * a.reshaped([k, 1, 1, 1])
    var b = bn.bias.value - bn.runningMean.value * a
    if let convBias = conv.bias { b = b + convBias.value * a }
    guard residual != nil || applyReLU else { return conv2d(x, w, bias: b, options: conv.options) }
    return fusedConv2d(x, w, bias: b, residual: residual, relu: applyReLU, options: conv.options)
}

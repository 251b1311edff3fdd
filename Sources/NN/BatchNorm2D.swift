import TensorEngine

/// Batch normalisation over the channels of x (N,C,H,W) (Ioffe and Szegedy 2015, arXiv:1502.03167).
///
/// Training mode normalises with the batch's mean and biased variance and then updates the
/// running averages as PyTorch does: `running = (1 − momentum)·running + momentum·batch`, where the
/// variance that enters the running estimate is the unbiased one (× m/(m − 1), m = N·H·W).
/// Inference mode normalises with the running averages. Parameters: `weight` (γ, ones) and `bias`
/// (β, zeros); buffers: `running_mean` (zeros) and `running_var` (ones), all of shape (C).
public final class BatchNorm2D: Layer {
    /// The scale γ (C).
    public let weight: Parameter
    /// The shift β (C).
    public let bias: Parameter
    /// The running mean (C).
    public let runningMean: Buffer
    /// The running unbiased variance (C).
    public let runningVariance: Buffer
    /// The weight of the newest batch in the running averages.
    public let momentum: Float
    /// Added to the variance before the square root.
    public let epsilon: Float

    /// A layer over `channels` channels with PyTorch's defaults.
    public init(channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition(channels > 0, "BatchNorm2D: \(channels) channels")
        precondition(
            momentum >= 0 && momentum <= 1 && epsilon > 0,
            "BatchNorm2D: momentum \(momentum), epsilon \(epsilon)"
        )
        self.weight = Parameter(name: "weight", value: Tensor(repeating: 1, shape: [channels]))
        self.bias = Parameter(name: "bias", value: Tensor(zeros: [channels]))
        self.runningMean = Buffer(name: "running_mean", value: Tensor(zeros: [channels]))
        self.runningVariance = Buffer(name: "running_var", value: Tensor(repeating: 1, shape: [channels]))
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// The number of channels.
    public var channels: Int { weight.shape[0] }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Buffer] { [runningMean, runningVariance] }

    public func callAsFunction(_ x: Tensor, context: ForwardContext) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == channels, "BatchNorm2D(\(channels)): input \(x.shape)")
        guard context.isTraining else {
            return batchNorm(
                x,
                mean: runningMean.value,
                variance: runningVariance.value,
                scale: weight.value,
                offset: bias.value,
                epsilon: epsilon
            )
        }
        let (y, mean, variance) = batchNormTraining(x, scale: weight.value, offset: bias.value, epsilon: epsilon)
        updateRunningStatistics(mean: mean, variance: variance, elementsPerChannel: x.count / channels)
        return y
    }

    /// relu(self(x) + residual) (or without the relu). In training mode the residual and relu are
    /// applied as each plane is normalised (`batchNormTraining`'s epilogue), with the same values
    /// and derivatives as the separate ops.
    public func callAsFunction(
        _ x: Tensor,
        adding residual: Tensor?,
        relu applyReLU: Bool,
        context: ForwardContext
    )
        -> Tensor
    {
        guard context.isTraining else {
            var y = self(x, context: context)
            if let residual { y = y + residual }
            return applyReLU ? relu(y) : y
        }
        precondition(x.rank >= 2 && x.shape[1] == channels, "BatchNorm2D(\(channels)): input \(x.shape)")
        let (y, mean, variance) = batchNormTraining(
            x,
            scale: weight.value,
            offset: bias.value,
            epsilon: epsilon,
            residual: residual,
            relu: applyReLU
        )
        updateRunningStatistics(mean: mean, variance: variance, elementsPerChannel: x.count / channels)
        return y
    }

    /// Folds one batch's mean and biased variance into the running averages.
    func updateRunningStatistics(mean: [Float], variance: [Float], elementsPerChannel m: Int) {
        let correction = m > 1 ? Float(Double(m) / Double(m - 1)) : 1
        let oldMean = runningMean.value.scalars
        let oldVariance = runningVariance.value.scalars
        var newMean = oldMean
        var newVariance = oldVariance
        for c in 0..<channels {
            newMean[c] = momentum * mean[c] + (1 - momentum) * oldMean[c]
            newVariance[c] = momentum * (variance[c] * correction) + (1 - momentum) * oldVariance[c]
        }
        runningMean.value = Tensor(shape: [channels], scalars: newMean)
        runningVariance.value = Tensor(shape: [channels], scalars: newVariance)
    }
}

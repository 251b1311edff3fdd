import TensorEngine

/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay, with
/// PyTorch's `torch.optim.SGD` semantics (dampening 0):
///
///     g ← ∇ + λ·p
///     b ← g on the first step, else μ·b + g        (when μ ≠ 0)
///     g ← g + μ·b (Nesterov) or g ← b
///     p ← p − η·g
///
/// Nesterov momentum is Sutskever et al. 2013, "On the importance of initialization and momentum
/// in deep learning", in PyTorch's formulation. State slot: `momentum`.
public struct SGD: Optimizer {
    public var learningRate: Float
    /// The momentum μ (0 for plain SGD).
    public var momentum: Float
    /// Whether to use Nesterov momentum.
    public var nesterov: Bool
    /// The L2 coefficient λ added to the gradient.
    public var weightDecay: Float
    public private(set) var stepCount = 0
    private var buffers: [String: [Float]] = [:]

    /// Creates the optimizer.
    /// - Precondition: `learningRate, momentum, weightDecay ≥ 0`; Nesterov needs momentum.
    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(
            learningRate >= 0 && momentum >= 0 && weightDecay >= 0,
            "SGD: learning rate \(learningRate), momentum \(momentum), weight decay \(weightDecay)"
        )
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public var state: OptimizerState {
        OptimizerState(kind: "sgd", step: stepCount, slots: buffers.isEmpty ? [:] : ["momentum": buffers])
    }

    public mutating func restore(_ state: OptimizerState, parameters: [Parameter]) throws {
        try state.validate(kind: "sgd", slotNames: ["momentum"], parameters: parameters)
        stepCount = state.step
        buffers = state.slots["momentum"] ?? [:]
    }

    public mutating func step(_ parameters: [Parameter], gradients: [Tensor]) {
        checkStepArguments(parameters, gradients)
        let (lr, mu, wd) = (learningRate, momentum, weightDecay)
        for (p, gradient) in zip(parameters, gradients) {
            var w = p.value.scalars
            var d = gradient.scalars
            if wd != 0 {
                for i in d.indices { d[i] += wd * w[i] }
            }
            if mu != 0 {
                var b: [Float]
                if let previous = buffers[p.name] {
                    b = previous
                    for i in b.indices { b[i] = mu * b[i] + d[i] }
                } else {
                    b = d
                }
                if nesterov {
                    for i in d.indices { d[i] += mu * b[i] }
                } else {
                    d = b
                }
                buffers[p.name] = b
            }
            for i in w.indices { w[i] -= lr * d[i] }
            p.value = Tensor(shape: p.shape, scalars: w)
        }
        stepCount += 1
    }
}

import Foundation
import TensorEngine

/// Adam (Kingma and Ba 2015, "Adam: A Method for Stochastic Optimization", arXiv:1412.6980) with
/// PyTorch's `torch.optim.Adam` semantics, or AdamW (Loshchilov and Hutter 2019, arXiv:1711.05101)
/// when the weight decay is decoupled. At step t (from 1):
///
///     p ← p·(1 − η·λ)                              (decoupled only)
///     g ← ∇ + λ·p                                  (coupled only: L2 in the gradient)
///     m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///     p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// State slots: `exp_avg` (m) and `exp_avg_sq` (v).
public struct Adam: Optimizer {
    public var learningRate: Float
    /// β₁, the decay of the first moment.
    public var beta1: Float
    /// β₂, the decay of the second moment.
    public var beta2: Float
    /// ε, added to the denominator.
    public var epsilon: Float
    /// The weight decay λ.
    public var weightDecay: Float
    /// Whether the weight decay is decoupled from the gradient (AdamW) rather than added to it.
    public var decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private var firstMoments: [String: [Float]] = [:]
    private var secondMoments: [String: [Float]] = [:]

    /// Creates the optimizer with PyTorch's defaults.
    /// - Precondition: `learningRate, epsilon, weightDecay ≥ 0` and `0 ≤ β < 1`.
    public init(
        learningRate: Float = 1e-3,
        beta1: Float = 0.9,
        beta2: Float = 0.999,
        epsilon: Float = 1e-8,
        weightDecay: Float = 0,
        decoupledWeightDecay: Bool = false
    ) {
        precondition(
            learningRate >= 0 && epsilon >= 0 && weightDecay >= 0,
            "Adam: learning rate \(learningRate), epsilon \(epsilon), weight decay \(weightDecay)"
        )
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam: betas (\(beta1), \(beta2))")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public var state: OptimizerState {
        let slots = firstMoments.isEmpty ? [:] : ["exp_avg": firstMoments, "exp_avg_sq": secondMoments]
        return OptimizerState(kind: "adam", step: stepCount, slots: slots)
    }

    public mutating func restore(_ state: OptimizerState, parameters: [Parameter]) throws {
        try state.validate(kind: "adam", slotNames: ["exp_avg", "exp_avg_sq"], parameters: parameters)
        let m = state.slots["exp_avg"] ?? [:]
        let v = state.slots["exp_avg_sq"] ?? [:]
        guard Set(m.keys) == Set(v.keys) else {
            throw CheckpointError(
                .optimizerMismatch,
                "Adam's exp_avg and exp_avg_sq cover different parameters; the checkpoint is damaged"
            )
        }
        stepCount = state.step
        firstMoments = m
        secondMoments = v
    }

    public mutating func step(_ parameters: [Parameter], gradients: [Tensor]) {
        checkStepArguments(parameters, gradients)
        let t = Double(stepCount + 1)
        // Bias corrections in Double, as PyTorch computes them in Python floats.
        let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
        let correction2 = Float((1 - pow(Double(beta2), t)).squareRoot())
        let (b1, b2, eps, wd, lr) = (beta1, beta2, epsilon, weightDecay, learningRate)
        for (p, gradient) in zip(parameters, gradients) {
            var w = p.value.scalars
            var g = gradient.scalars
            if wd != 0 {
                if decoupledWeightDecay {
                    let keep = 1 - lr * wd
                    for i in w.indices { w[i] *= keep }
                } else {
                    for i in g.indices { g[i] += wd * w[i] }
                }
            }
            var m = firstMoments[p.name] ?? [Float](repeating: 0, count: g.count)
            var v = secondMoments[p.name] ?? [Float](repeating: 0, count: g.count)
            for i in g.indices {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let denominator = v[i].squareRoot() / correction2 + eps
                w[i] -= stepSize * (m[i] / denominator)
            }
            firstMoments[p.name] = m
            secondMoments[p.name] = v
            p.value = Tensor(shape: p.shape, scalars: w)
        }
        stepCount += 1
    }
}

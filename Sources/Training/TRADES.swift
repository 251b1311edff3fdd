import Attacks
import NN
import TensorEngine

/// TRADES, Zhang, Yu, Jiao, Xing, El Ghaoui and Jordan, "Theoretically Principled Trade-off between
/// Robustness and Accuracy", arXiv 1901.08573: min_θ E [CE(f(x), y) + β·max_{‖x′−x‖≤ε} KL(f(x) ‖ f(x′))],
/// the inner maximum by the audit's PGD on the KL divergence from the clean probabilities. One
/// difference from the reference code: the inner iteration starts from a uniform point of the ball
/// (PGD's random start) rather than x + 0.001·N(0, 1).
public struct TRADES: Sendable {
    /// The inner attack (its loss is replaced by the KL divergence).
    public let attack: PGD
    /// The weight β of the robustness term.
    public let beta: Float

    /// TRADES at budget ε with `steps` inner iterations and weight β (the paper's 6 by default).
    public init(_ norm: PerturbationNorm, epsilon: Float, steps: Int = 10, stepSize: Float? = nil, beta: Float = 6) {
        attack = PGD(norm, epsilon: epsilon, steps: steps, stepSize: stepSize, restarts: 0, randomStart: true)
        self.beta = beta
    }

    /// The TRADES loss of a batch: CE(f(x), y) + β·KL(softmax f(x) ‖ softmax f(x′)), both averaged over
    /// the batch, in the model's training mode (differentiable in the weights).
    public static func loss(
        logits clean: Tensor,
        adversarialLogits adversarial: Tensor,
        labels: [Int],
        beta: Float
    )
        -> Tensor
    {
        let logP = logSoftmax(clean, axis: 1)
        let logQ = logSoftmax(adversarial, axis: 1)
        return crossEntropy(logits: clean, labels: labels) + beta * klDivergence(logP: logP, logQ: logQ, axis: 1)
    }

    /// One TRADES step: crafts x′ (evaluation mode), then one optimizer step on the TRADES loss
    /// (training mode). Returns the loss before the update. `checkStop` runs before every pass of the
    /// crafting; when it throws, nothing has changed and the error propagates.
    @discardableResult
    public func step<Model: Classifier>(
        model: Model,
        optimizer: inout some Optimizer,
        inputs: Tensor,
        labels: [Int],
        indices: [Int],
        seed: UInt64,
        checkStop: @escaping () throws -> Void = {}
    ) throws -> Float {
        let probabilities = withoutGradients { softmax(model.logits(inputs), axis: 1) }.scalars
        let batch = AttackBatch(inputs: inputs.scalars, labels: labels, indices: indices, seed: seed)
        let crafted = try attack.maximizeDivergence(
            on: StoppableModel(model: ClassifierAttackModel(model), checkStop: checkStop),
            batch,
            from: probabilities
        )
        let adversarial = Tensor(shape: inputs.shape, scalars: crafted.adversarial)
        let parameters = model.parameters
        let context = ForwardContext(isTraining: true)
        let total = Self.loss(
            logits: model.logits(inputs, context: context),
            adversarialLogits: model.logits(adversarial, context: ForwardContext(isTraining: true)),
            labels: labels,
            beta: beta
        )
        optimizer.step(parameters, gradients: gradient(of: total, wrt: parameters.map(\.value)))
        return total.scalar
    }
}

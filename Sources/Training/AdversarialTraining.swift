import Attacks
import NN
import TensorEngine

/// Adversarial training (PGD-AT), Madry, Makelov, Schmidt, Tsipras and Vladu, "Towards Deep Learning
/// Models Resistant to Adversarial Attacks", arXiv 1706.06083: min_θ E max_{‖δ‖≤ε} CE(f_θ(x + δ), y),
/// the inner maximisation by the audit's own PGD (``PGD/maximizeLoss(on:_:)``: every example, the
/// highest-loss point), the outer step an ordinary training step on the adversarial batch (batch norm
/// in training mode, as the reference does). The adversarial points are crafted with the model in
/// evaluation mode, so that crafting does not move the batch-norm running statistics.
public struct AdversarialTraining: Sendable {
    /// The inner attack.
    public let attack: PGD

    /// PGD-AT at budget ε with `steps` iterations (step size 2.5·ε/steps unless given) from a
    /// random start.
    public init(_ norm: PerturbationNorm, epsilon: Float, steps: Int = 7, stepSize: Float? = nil) {
        attack = PGD(norm, epsilon: epsilon, steps: steps, stepSize: stepSize, restarts: 0, randomStart: true)
    }

    /// One PGD-AT step on a batch: crafts the adversarial inputs, then takes one optimizer step on
    /// them. Returns the loss on the adversarial batch before the update. `indices` are the
    /// examples' indices in the training set and `seed` the step's seed: the random starts come from
    /// them (so a resumed run crafts the same points). `checkStop` runs before every pass of the
    /// crafting: when it throws, the step ends before anything changed (weights, optimizer, batch-norm
    /// statistics) and the error propagates.
    /// - Throws: what the attack or `checkStop` throws.
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
        let batch = AttackBatch(inputs: inputs.scalars, labels: labels, indices: indices, seed: seed)
        let crafted = try attack.maximizeLoss(
            on: StoppableModel(model: ClassifierAttackModel(model), checkStop: checkStop),
            batch
        )
        return trainStep(
            model: model,
            optimizer: &optimizer,
            inputs: Tensor(shape: inputs.shape, scalars: crafted.adversarial),
            labels: labels
        )
    }
}

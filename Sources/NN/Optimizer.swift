import TensorEngine

/// A first-order optimizer over a model's parameters.
///
/// `step` reads one gradient per parameter, in the same order, and assigns each parameter its
/// new value. The arithmetic runs on plain arrays, outside the tape. State is keyed by parameter
/// name (``Parameter/name``), so names must be unique, and a checkpoint restores it exactly.
public protocol Optimizer {
    /// The learning rate of the next step; a ``LearningRateSchedule`` may set it before each step.
    var learningRate: Float { get set }
    /// The number of steps taken so far.
    var stepCount: Int { get }
    /// The state to checkpoint.
    var state: OptimizerState { get }

    /// Updates each parameter from its gradient.
    /// - Precondition: one gradient per parameter with its shape; parameter names are unique.
    mutating func step(_ parameters: [Parameter], gradients: [Tensor])

    /// Replaces the state with a checkpointed one, after checking it fits `parameters`.
    /// - Throws: ``CheckpointError`` (`optimizerMismatch`) when it does not fit; the state is then unchanged.
    mutating func restore(_ state: OptimizerState, parameters: [Parameter]) throws
}

extension Optimizer {
    /// Checks the preconditions of `step`.
    func checkStepArguments(_ parameters: [Parameter], _ gradients: [Tensor]) {
        precondition(
            parameters.count == gradients.count,
            "\(Self.self).step: \(parameters.count) parameters but \(gradients.count) gradients"
        )
        for (p, g) in zip(parameters, gradients) {
            precondition(p.shape == g.shape, "\(Self.self).step: gradient \(g.shape) for \(p.name) \(p.shape)")
        }
        precondition(
            Set(parameters.map(\.name)).count == parameters.count,
            "\(Self.self).step: parameter names are not unique; name them through their containers"
        )
    }
}

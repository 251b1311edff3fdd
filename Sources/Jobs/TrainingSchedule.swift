/// The optimiser and schedule of a training run: SGD with momentum and cosine learning-rate decay.
public struct TrainingSchedule: Codable, Hashable, Sendable {
    /// Passes over the training examples, ≥ 1.
    public var epochs: Int
    /// Examples per step, ≥ 1.
    public var batchSize: Int
    /// The initial learning rate, > 0.
    public var learningRate: Float
    /// SGD momentum in [0, 1).
    public var momentum: Float
    /// L2 weight decay, ≥ 0.
    public var weightDecay: Float
    /// The seed of every random choice.
    public var seed: UInt64
    /// Steps between checkpoints, ≥ 1.
    public var checkpointEvery: Int

    /// Creates a schedule.
    public init(
        epochs: Int,
        batchSize: Int,
        learningRate: Float,
        momentum: Float,
        weightDecay: Float,
        seed: UInt64,
        checkpointEvery: Int
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.seed = seed
        self.checkpointEvery = checkpointEvery
    }

    func validate(path: String) throws(JobSpecError) {
        guard epochs >= 1 else { throw JobSpecError(field: "\(path).epochs", "must be at least 1, not \(epochs)") }
        guard batchSize >= 1 else {
            throw JobSpecError(field: "\(path).batch_size", "must be at least 1, not \(batchSize)")
        }
        try JobSpecError.requirePositive(learningRate, field: "\(path).learning_rate")
        guard momentum.isFinite, momentum >= 0, momentum < 1 else {
            throw JobSpecError(field: "\(path).momentum", "must be in [0, 1), not \(momentum)")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw JobSpecError(field: "\(path).weight_decay", "must be a finite number ≥ 0, not \(weightDecay)")
        }
        guard checkpointEvery >= 1 else {
            throw JobSpecError(field: "\(path).checkpoint_every", "must be at least 1, not \(checkpointEvery)")
        }
    }
}

extension AdversarialTraining {
    func validate(path: String) throws(JobSpecError) {
        try JobSpecError.requirePositive(epsilon, field: "\(path).epsilon")
        guard steps >= 1 else { throw JobSpecError(field: "\(path).steps", "must be at least 1, not \(steps)") }
        if let stepSize { try JobSpecError.requirePositive(stepSize, field: "\(path).step_size") }
        if let tradesBeta { try JobSpecError.requirePositive(tradesBeta, field: "\(path).trades_beta") }
    }
}

/// How the learning rate of a training run falls.
public enum LearningRateDecay: Codable, Hashable, Sendable {
    /// Cosine annealing from the initial rate to 0 at the last step.
    case cosine
    /// The initial rate, multiplied by `gamma` from each listed epoch on (0-based epoch indices,
    /// ascending, each in 1..<epochs), as PyTorch's `MultiStepLR` stepped per epoch.
    case step(milestoneEpochs: [Int], gamma: Float)
}

/// The optimiser and schedule of a training run: SGD with momentum and a learning-rate decay.
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
    /// The learning-rate decay (cosine unless set; specs stored before it existed decode as cosine).
    public var decay: LearningRateDecay

    /// Creates a schedule.
    public init(
        epochs: Int,
        batchSize: Int,
        learningRate: Float,
        momentum: Float,
        weightDecay: Float,
        seed: UInt64,
        checkpointEvery: Int,
        decay: LearningRateDecay = .cosine
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.seed = seed
        self.checkpointEvery = checkpointEvery
        self.decay = decay
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try container.decode(Int.self, forKey: .epochs)
        batchSize = try container.decode(Int.self, forKey: .batchSize)
        learningRate = try container.decode(Float.self, forKey: .learningRate)
        momentum = try container.decode(Float.self, forKey: .momentum)
        weightDecay = try container.decode(Float.self, forKey: .weightDecay)
        seed = try container.decode(UInt64.self, forKey: .seed)
        checkpointEvery = try container.decode(Int.self, forKey: .checkpointEvery)
        decay = try container.decodeIfPresent(LearningRateDecay.self, forKey: .decay) ?? .cosine
    }

    /// How the decay reads in a recipe: "cosine" or "step ×0.1 at epochs 15, 25".
    public var decayDescription: String {
        switch decay {
        case .cosine: "cosine"
        case .step(let milestones, let gamma):
            "step ×\(gamma) at epoch\(milestones.count == 1 ? "" : "s") \(milestones.map(String.init).joined(separator: ", "))"
        }
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
        if case .step(let milestones, let gamma) = decay {
            guard !milestones.isEmpty, milestones.allSatisfy({ (1..<epochs).contains($0) }),
                zip(milestones, milestones.dropFirst()).allSatisfy({ $0 < $1 })
            else {
                throw JobSpecError(
                    field: "\(path).step_milestones",
                    "must be ascending epochs in 1..<\(epochs) (the rate falls from each listed epoch on), not \(milestones)"
                )
            }
            guard gamma.isFinite, gamma > 0, gamma < 1 else {
                throw JobSpecError(field: "\(path).step_gamma", "must be in (0, 1), not \(gamma)")
            }
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

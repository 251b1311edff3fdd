import NN
import TensorEngine

/// A training run over an in-memory training set: epochs of seeded shuffled batches (optionally
/// augmented), SGD with momentum and weight decay under a cosine schedule, standard, PGD-AT or TRADES
/// steps, and checkpoints that resume the run to the same weights bit for bit (the step, the optimizer
/// state, the schedule position and the epoch's running loss are all in the checkpoint; the batch
/// order, the augmentation and the attack's random starts follow from the seed, the epoch and the
/// example indices).
public struct Trainer {
    /// What ``run(model:from:save:shouldStop:onStep:onEpoch:)`` reports after every step.
    public struct StepReport: Sendable {
        /// Steps done, 1 after the first.
        public var step: Int
        /// Steps in the whole run.
        public var totalSteps: Int
        /// The epoch the step belongs to, from 0.
        public var epoch: Int
        /// The step's training loss (on the adversarial batch for PGD-AT, the TRADES loss for TRADES).
        public var loss: Float
        /// The mean loss of the epoch's steps so far.
        public var epochMeanLoss: Float
        /// Examples in the step's batch.
        public var examples: Int
        /// The learning rate of the step.
        public var learningRate: Float
    }

    /// What a custom step gets: the batch and where the run is.
    public struct Batch {
        /// (N, C, H, W), augmented when the trainer augments.
        public var inputs: Tensor
        public var labels: [Int]
        /// The examples' indices in the training set.
        public var indices: [Int]
        /// Steps done before this one, and the epoch.
        public var step: Int
        public var epoch: Int
        /// The step's seed (the run's seed, the step): draws made from it repeat on resumption.
        public var seed: UInt64
    }

    /// A learning-rate decay over a run.
    public enum Decay: Sendable, Hashable {
        /// Cosine annealing from the initial rate to 0 at the last step (no warm-up).
        case cosine
        /// The initial rate, multiplied by `gamma` at the first step of each listed epoch (0-based
        /// epoch indices: milestone 15 lowers the rate from the 16th epoch on), as PyTorch's
        /// `MultiStepLR` stepped once per epoch.
        case step(milestoneEpochs: [Int], gamma: Float)
    }

    /// The checkpoint metadata key of the epoch's running loss sum (the bit pattern of a Float, in hex).
    static let lossSumKey = "trainer.epoch_loss_sum"

    /// The training examples: (N·C·H·W) values in [0, 1] and one label each.
    public let inputs: [Float]
    public let labels: [Int]
    /// One example's shape, (C, H, W).
    public let exampleShape: [Int]
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var seed: UInt64
    /// PGD-AT when set, standard training otherwise.
    public var adversarial: AdversarialTraining?
    /// TRADES when set (takes precedence over `adversarial`).
    public var trades: TRADES?
    /// Steps between checkpoints (0: none but the last).
    public var checkpointEvery: Int = 0
    /// Random crops and flips of the training batches; `nil`: none.
    public var augmentation: Augmentation?
    /// How the learning rate falls over the run (cosine annealing to 0 unless set).
    public var decay: Decay = .cosine
    /// A step of another objective (distillation, say): takes one optimizer step on the batch and
    /// returns its loss. Takes precedence over `trades` and `adversarial`. Everything it trains must be
    /// among the model's parameters (so that checkpoints hold it).
    public var customStep: ((inout SGD, Batch) throws -> Float)?

    /// Creates a run. - Precondition: the counts agree, epochs ≥ 1, batch size ≥ 1.
    public init(
        inputs: [Float],
        labels: [Int],
        exampleShape: [Int],
        epochs: Int,
        batchSize: Int,
        learningRate: Float,
        seed: UInt64,
        adversarial: AdversarialTraining? = nil
    ) {
        precondition(inputs.count == labels.count * exampleShape.reduce(1, *), "Trainer: inputs and labels disagree")
        precondition(epochs >= 1 && batchSize >= 1, "Trainer: epochs \(epochs), batch size \(batchSize)")
        self.inputs = inputs
        self.labels = labels
        self.exampleShape = exampleShape
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.adversarial = adversarial
    }

    /// Steps per epoch (the last batch may be smaller).
    public var stepsPerEpoch: Int { (labels.count + batchSize - 1) / batchSize }
    /// Steps in the whole run.
    public var totalSteps: Int { epochs * stepsPerEpoch }

    /// Trains `model` from `checkpoint` (nil: from its current weights, step 0) to the end.
    ///
    /// - `save` receives a checkpoint every `checkpointEvery` steps, at the end, and when `shouldStop`
    ///   throws after at least one step of this call (so a stop loses no finished step); add your own
    ///   metadata before storing it.
    /// - `shouldStop` is called before every step and, in PGD-AT and TRADES steps, before every pass of
    ///   the inner maximisation (so a stop takes effect within one forward pass, not one step); throw
    ///   to stop (the error propagates after the save; a step cut short changed nothing).
    /// - `onStep` follows every step, `onEpoch` every finished epoch (with its mean loss), before a
    ///   checkpoint at the same step is saved.
    ///
    /// Returns the mean loss of the last epoch.
    @discardableResult
    public func run(
        model: some Classifier,
        from checkpoint: Checkpoint? = nil,
        save: (Checkpoint) async throws -> Void = { _ in },
        shouldStop: @escaping () throws -> Void = {},
        onStep: (StepReport) async throws -> Void = { _ in },
        onEpoch: (_ epoch: Int, _ meanLoss: Float) async throws -> Void = { _, _ in }
    ) async throws -> Float {
        var optimizer = SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        var step = 0
        var lossSum: Float = 0
        if let checkpoint {
            try checkpoint.restore(into: model)
            if let state = checkpoint.optimizer { try optimizer.restore(state, parameters: model.parameters) }
            step = checkpoint.step
            if let bits = checkpoint.metadata[Self.lossSumKey].flatMap({ UInt32($0, radix: 16) }) {
                lossSum = Float(bitPattern: bits)
            }
        }
        let firstStep = step
        let total = totalSteps
        let schedule: any LearningRateSchedule =
            switch decay {
            case .cosine: CosineSchedule(base: learningRate, totalSteps: total)
            case .step(let milestoneEpochs, let gamma):
                StepSchedule(base: learningRate, milestones: milestoneEpochs.map { $0 * stepsPerEpoch }, gamma: gamma)
            }
        let size = exampleShape.reduce(1, *)
        var lastEpochLoss: Float = 0
        func snapshot() -> Checkpoint {
            Checkpoint(
                model: model,
                optimizer: optimizer.state,
                step: step,
                epoch: step / stepsPerEpoch,
                metadata: [Self.lossSumKey: String(lossSum.bitPattern, radix: 16)]
            )
        }
        while step < total {
            do {
                try shouldStop()
            } catch {
                if step > firstStep { try await save(snapshot()) }
                throw error
            }
            let epoch = step / stepsPerEpoch
            let within = step % stepsPerEpoch
            var random = RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
            let order = random.permutation(labels.count)
            let rows = Array(order[within * batchSize..<min((within + 1) * batchSize, labels.count)])
            var x: [Float] = []
            x.reserveCapacity(rows.count * size)
            for r in rows {
                let example = inputs[r * size..<(r + 1) * size]
                if let augmentation {
                    augmentation.apply(example, shape: exampleShape, seed: seed, epoch: epoch, index: r, into: &x)
                } else {
                    x.append(contentsOf: example)
                }
            }
            let batch = Tensor(shape: [rows.count] + exampleShape, scalars: x)
            let y = rows.map { labels[$0] }
            let rate = schedule.learningRate(at: step)
            optimizer.learningRate = rate
            let loss: Float
            do {
                if let customStep {
                    loss = try customStep(
                        &optimizer,
                        Batch(
                            inputs: batch,
                            labels: y,
                            indices: rows,
                            step: step,
                            epoch: epoch,
                            seed: seed ^ (UInt64(step) &* 0xD1B5_4A32_D192_ED03)
                        )
                    )
                } else if let trades {
                    loss = try trades.step(
                        model: model,
                        optimizer: &optimizer,
                        inputs: batch,
                        labels: y,
                        indices: rows,
                        seed: seed &+ UInt64(epoch),
                        checkStop: shouldStop
                    )
                } else if let adversarial {
                    loss = try adversarial.step(
                        model: model,
                        optimizer: &optimizer,
                        inputs: batch,
                        labels: y,
                        indices: rows,
                        seed: seed &+ UInt64(epoch),
                        checkStop: shouldStop
                    )
                } else {
                    loss = trainStep(model: model, optimizer: &optimizer, inputs: batch, labels: y)
                }
            } catch {
                // A step that throws (a stop inside its inner maximisation) has changed nothing: save
                // what the finished steps did, as for a stop between steps.
                if step > firstStep { try await save(snapshot()) }
                throw error
            }
            lossSum = within == 0 ? loss : lossSum + loss
            step += 1
            try await onStep(
                StepReport(
                    step: step,
                    totalSteps: total,
                    epoch: epoch,
                    loss: loss,
                    epochMeanLoss: lossSum / Float(within + 1),
                    examples: rows.count,
                    learningRate: rate
                )
            )
            if step % stepsPerEpoch == 0 {
                lastEpochLoss = lossSum / Float(stepsPerEpoch)
                try await onEpoch(epoch, lastEpochLoss)
            }
            if (checkpointEvery > 0 && step % checkpointEvery == 0) || step == total {
                try await save(snapshot())
            }
        }
        return lastEpochLoss
    }
}

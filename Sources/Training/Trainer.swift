import NN
import TensorEngine

/// A training run over an in-memory training set: epochs of seeded shuffled batches, SGD with
/// momentum and weight decay under a cosine schedule, standard, PGD-AT or TRADES steps, and
/// checkpoints that resume the run to the same weights bit for bit (the step, the optimizer state and
/// the schedule position are all in the checkpoint; the batch order and the attack's random starts
/// follow from the seed, the epoch and the example indices).
public struct Trainer {
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

    var stepsPerEpoch: Int { (labels.count + batchSize - 1) / batchSize }

    /// Trains `model` from `checkpoint` (nil: from its current weights, step 0) to the end, calling
    /// `save` every `checkpointEvery` steps and at the end, and `shouldStop` between steps (throw to
    /// stop; the last saved checkpoint resumes the run). Returns the mean loss of the last epoch.
    @discardableResult
    public func run(
        model: some Classifier,
        from checkpoint: Checkpoint? = nil,
        save: (Checkpoint) throws -> Void = { _ in },
        shouldStop: () throws -> Void = {}
    ) throws -> Float {
        var optimizer = SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        var step = 0
        if let checkpoint {
            try checkpoint.restore(into: model)
            if let state = checkpoint.optimizer { try optimizer.restore(state, parameters: model.parameters) }
            step = checkpoint.step
        }
        let total = epochs * stepsPerEpoch
        let schedule = CosineSchedule(base: learningRate, totalSteps: total)
        let size = exampleShape.reduce(1, *)
        var lastEpochLoss: Float = 0
        while step < total {
            try shouldStop()
            let epoch = step / stepsPerEpoch
            let within = step % stepsPerEpoch
            var random = RandomGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
            let order = random.permutation(labels.count)
            let rows = Array(order[within * batchSize..<min((within + 1) * batchSize, labels.count)])
            var x: [Float] = []
            x.reserveCapacity(rows.count * size)
            for r in rows { x.append(contentsOf: inputs[r * size..<(r + 1) * size]) }
            let batch = Tensor(shape: [rows.count] + exampleShape, scalars: x)
            let y = rows.map { labels[$0] }
            optimizer.learningRate = schedule.learningRate(at: step)
            let loss: Float
            if let trades {
                loss = try trades.step(
                    model: model,
                    optimizer: &optimizer,
                    inputs: batch,
                    labels: y,
                    indices: rows,
                    seed: seed &+ UInt64(epoch)
                )
            } else if let adversarial {
                loss = try adversarial.step(
                    model: model,
                    optimizer: &optimizer,
                    inputs: batch,
                    labels: y,
                    indices: rows,
                    seed: seed &+ UInt64(epoch)
                )
            } else {
                loss = trainStep(model: model, optimizer: &optimizer, inputs: batch, labels: y)
            }
            lastEpochLoss = within == 0 ? loss : lastEpochLoss + loss
            step += 1
            if (checkpointEvery > 0 && step % checkpointEvery == 0) || step == total {
                try save(Checkpoint(model: model, optimizer: optimizer.state, step: step, epoch: step / stepsPerEpoch))
            }
        }
        return lastEpochLoss / Float(max(stepsPerEpoch, 1))
    }
}

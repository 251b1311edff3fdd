/// Examples to attack: clean inputs, their labels, their indices in the evaluation set and the seed.
///
/// Every random choice an attack makes for an example comes from `seed` and that example's `index`
/// (see ``ExampleRandom``), never from its position in the batch, so that an example's result does
/// not depend on the batch size, on the other examples of its batch, or on where a resumed audit
/// restarted.
public struct AttackBatch: Sendable {
    /// The inputs (N·C·H·W), row-major, N = `labels.count`.
    public var inputs: [Float]
    /// The true class of each example.
    public var labels: [Int]
    /// Each example's index in the evaluation set.
    public var indices: [Int]
    /// The seed of the run.
    public var seed: UInt64

    /// Creates a batch. - Precondition: `indices.count == labels.count`.
    public init(inputs: [Float], labels: [Int], indices: [Int], seed: UInt64) {
        precondition(indices.count == labels.count, "AttackBatch: \(indices.count) indices for \(labels.count) labels")
        self.inputs = inputs
        self.labels = labels
        self.indices = indices
        self.seed = seed
    }

    /// The number of examples.
    public var count: Int { labels.count }

    /// The examples at `positions`, in that order.
    public func subset(_ positions: [Int], dimension: Int) -> AttackBatch {
        var inputs: [Float] = []
        inputs.reserveCapacity(positions.count * dimension)
        for p in positions { inputs.append(contentsOf: self.inputs[p * dimension..<(p + 1) * dimension]) }
        return AttackBatch(
            inputs: inputs,
            labels: positions.map { labels[$0] },
            indices: positions.map { indices[$0] },
            seed: seed
        )
    }
}

/// What an attack did to each example of a batch.
public struct AttackResult: Sendable {
    /// The adversarial inputs (N·C·H·W): the best point found per example, the clean input when the
    /// attack found nothing better. Always inside the threat model's ball and the input bounds.
    public var adversarial: [Float]
    /// Whether the model misclassifies the adversarial input (a clean error counts as fooled).
    public var fooled: [Bool]
    /// The model's prediction at the adversarial input.
    public var predictions: [Int]
    /// Model evaluations spent per example (forward passes, each with or without a gradient).
    public var queries: [Int]
    /// The size of each example's perturbation in both norms.
    public var perturbations: [PerturbationSize]
    /// What fooled each example: "clean" for a clean error, the attack's (or the ensemble member's)
    /// name, or "" when the example is robust.
    public var fooledBy: [String]

    /// Copies the examples of `part` (computed on `positions` of this batch) into this result.
    mutating func merge(_ part: AttackResult, at positions: [Int], dimension: Int) {
        for (k, p) in positions.enumerated() {
            adversarial.replaceSubrange(
                p * dimension..<(p + 1) * dimension,
                with: part.adversarial[k * dimension..<(k + 1) * dimension]
            )
            fooled[p] = part.fooled[k]
            predictions[p] = part.predictions[k]
            queries[p] += part.queries[k]
            perturbations[p] = part.perturbations[k]
            fooledBy[p] = part.fooledBy[k]
        }
    }
}

/// An adversarial attack: a stateless configuration plus `run`.
public protocol Attack: Sendable {
    /// The attack's name in reports and on the command line (lower-kebab-case, e.g. `apgd-ce`).
    var name: String { get }
    /// The threat model the attack works in; results are always inside it.
    var threat: ThreatModel { get }
    /// The configuration as key–value pairs, for reports (every setting that changes the result).
    var settings: [String: String] { get }
    /// The fewest classes a model needs for the attack's loss (2 unless the loss needs more).
    var minimumClasses: Int { get }
    /// Attacks every example of `batch`.
    /// - Throws: ``AttackError`` for a configuration or model the attack cannot work with, or what
    ///   the model's run throws.
    func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult
}

extension Attack {
    public var minimumClasses: Int { 2 }
}

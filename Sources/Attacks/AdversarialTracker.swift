/// The bookkeeping every attack shares: per example, the best point found so far, whether it fools
/// the model, the prediction there, the best loss and the queries spent.
///
/// Keep-best: once an example is fooled its adversarial input is kept (later iterates may wander
/// back); until then the point of highest loss is kept. Minimum-norm attacks (C&W, FAB) use
/// ``offerSmallest(_:logits:)`` instead, which keeps the smallest fooling perturbation inside ε.
struct AdversarialTracker {
    let clean: [Float]
    let labels: [Int]
    let dimension: Int
    let classes: Int
    let threat: ThreatModel
    let attack: String
    let cleanErrors: [Bool]
    private(set) var best: [Float]
    private(set) var fooled: [Bool]
    private(set) var predictions: [Int]
    private(set) var bestLoss: [Float]
    private(set) var bestSize: [Float]
    var queries: [Int]

    /// Starts from the clean inputs and their logits (one query each): clean errors are fooled.
    init(batch: AttackBatch, dimension: Int, classes: Int, threat: ThreatModel, attack: String, cleanLogits: [Float]) {
        self.attack = attack
        clean = batch.inputs
        labels = batch.labels
        self.dimension = dimension
        self.classes = classes
        self.threat = threat
        best = batch.inputs
        predictions = predictedClasses(cleanLogits, classes: classes)
        fooled = zip(predictions, batch.labels).map { $0 != $1 }
        cleanErrors = fooled
        bestLoss = Array(repeating: -.infinity, count: batch.count)
        bestSize = Array(repeating: .infinity, count: batch.count)
        queries = Array(repeating: 1, count: batch.count)
        for i in 0..<batch.count where fooled[i] { bestSize[i] = 0 }
    }

    /// The examples not fooled yet.
    var robustPositions: [Int] { fooled.indices.filter { !fooled[$0] } }

    /// Offers one candidate per example of `positions` (candidates and logits are in the order of
    /// `positions`, flat). Losses, if given, rank candidates of examples not fooled yet.
    mutating func offer(_ candidates: [Float], logits: [Float], losses: [Float]? = nil, positions: [Int]) {
        let predicted = predictedClasses(logits, classes: classes)
        for (k, i) in positions.enumerated() where !fooled[i] {
            let slice = k * dimension..<(k + 1) * dimension
            if predicted[k] != labels[i] {
                fooled[i] = true
                predictions[i] = predicted[k]
                best.replaceSubrange(i * dimension..<(i + 1) * dimension, with: candidates[slice])
            } else if let losses, losses[k] > bestLoss[i] {
                bestLoss[i] = losses[k]
                best.replaceSubrange(i * dimension..<(i + 1) * dimension, with: candidates[slice])
            }
        }
    }

    /// For minimum-norm attacks: keeps a candidate that fools the model if its perturbation is the
    /// smallest so far and within ε (+1e-6 for rounding). Examples fooled when clean stay as they are.
    mutating func offerSmallest(_ candidates: [Float], logits: [Float], positions: [Int]) {
        let predicted = predictedClasses(logits, classes: classes)
        for (k, i) in positions.enumerated() where predicted[k] != labels[i] {
            let size = threat.size(
                of: candidates[k * dimension..<(k + 1) * dimension],
                around: clean[i * dimension..<(i + 1) * dimension]
            )
            guard size <= threat.epsilon + 1e-6, size < bestSize[i] else { continue }
            bestSize[i] = size
            fooled[i] = true
            predictions[i] = predicted[k]
            best.replaceSubrange(
                i * dimension..<(i + 1) * dimension,
                with: candidates[k * dimension..<(k + 1) * dimension]
            )
        }
    }

    /// Marks an example fooled by a member of an ensemble (which keeps the point itself).
    mutating func markFooled(_ i: Int) { fooled[i] = true }

    /// The result: best points, fooled flags, predictions, queries and perturbation sizes.
    func result() -> AttackResult {
        AttackResult(
            adversarial: best,
            fooled: fooled,
            predictions: predictions,
            queries: queries,
            perturbations: (0..<labels.count).map {
                let slice = $0 * dimension..<($0 + 1) * dimension
                return PerturbationSize(best[slice], around: clean[slice])
            },
            fooledBy: labels.indices.map { cleanErrors[$0] ? "clean" : (fooled[$0] ? attack : "") }
        )
    }
}

extension AttackModel {
    /// Checks the batch against the model and the model against a loss's class count; returns the
    /// tracker started from the clean logits.
    func startTracking(
        _ batch: AttackBatch,
        threat: ThreatModel,
        attack: String,
        minimumClasses: Int = 2
    ) throws
        -> AdversarialTracker
    {
        try threat.validate(attack: attack)
        guard classCount >= minimumClasses else {
            throw AttackError(
                .tooFewClasses,
                "\(attack) needs a model with at least \(minimumClasses) classes; this one has \(classCount). "
                    + "Drop \(attack) from the audit or use an attack on the cross-entropy (pgd, apgd-ce)"
            )
        }
        guard batch.inputs.count == batch.count * inputDimension else {
            throw AttackError(
                .modelOutput,
                "\(batch.inputs.count) input values for \(batch.count) examples of shape \(inputShape)"
            )
        }
        if let bad = batch.labels.first(where: { $0 < 0 || $0 >= classCount }) {
            throw AttackError(.modelOutput, "label \(bad) is outside the model's classes 0..<\(classCount)")
        }
        let clean = try evaluate(batch.inputs, count: batch.count)
        return AdversarialTracker(
            batch: batch,
            dimension: inputDimension,
            classes: classCount,
            threat: threat,
            attack: attack,
            cleanLogits: clean.logits
        )
    }
}

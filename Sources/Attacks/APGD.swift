/// Auto-PGD, L∞ or L2, on the cross-entropy (APGD-CE) or the DLR loss (APGD-DLR).
///
/// Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
/// parameter-free attacks", arXiv 2003.01690, Algorithm 1, with the settings of the reference code
/// (fra31/auto-attack): step size 2ε, momentum 0.75 (none on the first step), checkpoints every
/// k iterations with k = ⌊0.22·N⌋ decreasing by ⌊0.03·N⌋ to at least ⌊0.06·N⌋, and at a checkpoint
/// the step size halves and the iterate restarts from the best point when the loss rose in at most
/// ρ = 0.75 of the steps since the last checkpoint, or when the step size was not halved at the last
/// checkpoint and the best loss has not improved since.
public struct APGD: Attack {
    /// The loss APGD maximises.
    public enum Loss: String, Sendable {
        /// Cross-entropy: APGD-CE.
        case crossEntropy = "ce"
        /// The difference of logits ratio: APGD-DLR (needs ≥ 3 classes).
        case dlr
    }

    public let threat: ThreatModel
    /// Iterations per run (N), ≥ 1.
    public let steps: Int
    /// Extra runs from new random starts, each on the examples still robust (0: one run).
    public let restarts: Int
    /// The loss.
    public let loss: Loss
    /// The checkpoint threshold ρ.
    public let rho: Float

    /// APGD with the reference settings (100 iterations, one run, ρ = 0.75).
    public init(
        _ norm: PerturbationNorm,
        epsilon: Float,
        loss: Loss = .crossEntropy,
        steps: Int = 100,
        restarts: Int = 0
    ) {
        threat = ThreatModel(norm, epsilon: epsilon)
        self.steps = steps
        self.restarts = restarts
        self.loss = loss
        rho = 0.75
    }

    public var name: String { loss == .crossEntropy ? "apgd-ce" : "apgd-dlr" }
    public var minimumClasses: Int { loss == .crossEntropy ? 2 : 3 }
    public var settings: [String: String] {
        [
            "norm": threat.norm.rawValue, "epsilon": "\(threat.epsilon)", "steps": "\(steps)",
            "restarts": "\(restarts)", "loss": loss.rawValue, "rho": "\(rho)", "initial_step_size": "2·epsilon",
            "momentum": "0.75",
        ]
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        try APGDRun.validate(name: name, steps: steps, restarts: restarts)
        let attackLoss: AttackLoss = loss == .crossEntropy ? .crossEntropy : .dlr
        var tracker = try model.startTracking(batch, threat: threat, attack: name, minimumClasses: minimumClasses)
        for restart in 0...restarts {
            let positions = tracker.robustPositions
            if positions.isEmpty { break }
            let labels = rows(batch.labels, positions)
            try APGDRun(threat: threat, steps: steps, rho: rho).run(
                model,
                x0: rows(batch.inputs, positions, width: model.inputDimension),
                labels: labels,
                loss: attackLoss,
                random: positions.map {
                    RandomGeneratorBox(
                        seed: batch.seed,
                        example: batch.indices[$0],
                        stream: ExampleRandom.stream(name, restart)
                    )
                }
            ) { x, e in
                for p in positions { tracker.queries[p] += 1 }
                tracker.offer(x, logits: e.logits, losses: e.losses, positions: positions)
            }
        }
        return tracker.result()
    }
}

/// Auto-PGD on the targeted DLR loss (APGD-T), L∞ or L2.
///
/// Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
/// parameter-free attacks", arXiv 2003.01690. The APGD iteration of ``APGD`` on
/// −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2), once for each target t among the classes ranked 2nd,
/// 3rd, … by the clean logits (9 targets in the AutoAttack standard), each run on the examples
/// still robust. Needs at least 4 classes; the number of targets is capped at classes − 1.
public struct APGDTargeted: Attack {
    public let threat: ThreatModel
    /// Iterations per run, ≥ 1.
    public let steps: Int
    /// The number of target classes (the classes ranked 2nd to targets+1).
    public let targets: Int
    /// Extra runs per target (0: one run).
    public let restarts: Int
    /// The checkpoint threshold ρ.
    public let rho: Float

    /// APGD-T with the AutoAttack standard settings (100 iterations, 9 targets, one run each).
    public init(_ norm: PerturbationNorm, epsilon: Float, steps: Int = 100, targets: Int = 9, restarts: Int = 0) {
        threat = ThreatModel(norm, epsilon: epsilon)
        self.steps = steps
        self.targets = targets
        self.restarts = restarts
        rho = 0.75
    }

    public var name: String { "apgd-t" }
    public var minimumClasses: Int { 4 }
    public var settings: [String: String] {
        [
            "norm": threat.norm.rawValue, "epsilon": "\(threat.epsilon)", "steps": "\(steps)",
            "targets": "\(targets)", "restarts": "\(restarts)", "loss": "dlr-targeted", "rho": "\(rho)",
            "initial_step_size": "2·epsilon", "momentum": "0.75",
        ]
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        try APGDRun.validate(name: name, steps: steps, restarts: restarts)
        guard targets >= 1 else {
            throw AttackError(.invalidConfiguration, "apgd-t: targets must be at least 1, not \(targets)")
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name, minimumClasses: minimumClasses)
        let d = model.inputDimension
        let k = model.classCount
        // Targets come from the clean logits' ranking.
        let ranking = sortedClasses(try model.evaluate(batch.inputs, count: batch.count).logits, n: batch.count, k: k)
        for target in 1...min(targets, k - 1) {
            for restart in 0...restarts {
                let positions = tracker.robustPositions
                if positions.isEmpty { break }
                let labels = rows(batch.labels, positions)
                try APGDRun(threat: threat, steps: steps, rho: rho).run(
                    model,
                    x0: rows(batch.inputs, positions, width: d),
                    labels: labels,
                    loss: .targetedDLR(targets: positions.map { ranking[$0][target] }),
                    random: positions.map {
                        RandomGeneratorBox(
                            seed: batch.seed,
                            example: batch.indices[$0],
                            stream: ExampleRandom.stream(name, restart, target)
                        )
                    }
                ) { x, e in
                    for p in positions { tracker.queries[p] += 1 }
                    tracker.offer(x, logits: e.logits, losses: e.losses, positions: positions)
                }
            }
        }
        return tracker.result()
    }
}

/// One APGD run over a set of examples (the reference's `attack_single_run`).
struct APGDRun {
    let threat: ThreatModel
    let steps: Int
    let rho: Float

    static func validate(name: String, steps: Int, restarts: Int) throws {
        guard steps >= 1, restarts >= 0 else {
            throw AttackError(
                .invalidConfiguration,
                "\(name): steps must be ≥ 1 and restarts ≥ 0 (got \(steps) and \(restarts))"
            )
        }
    }

    /// Runs N = `steps` iterations from a random start on every example, calling `visit` with each
    /// evaluated point (N + 1 evaluations in all).
    func run(
        _ model: some AttackModel,
        x0: [Float],
        labels: [Int],
        loss: AttackLoss,
        random: [RandomGeneratorBox],
        visit: (_ x: [Float], _ evaluation: ModelEvaluation) -> Void
    ) throws {
        let n = labels.count
        let d = model.inputDimension
        let bounds = model.inputBounds
        let eps = threat.epsilon
        var random = random
        // Checkpoint schedule.
        let firstInterval = max(Int(0.22 * Double(steps)), 1)
        let minimumInterval = max(Int(0.06 * Double(steps)), 1)
        let decrease = max(Int(0.03 * Double(steps)), 1)

        // Start: x₀ + ε·t/‖t‖ (t uniform in [−1, 1] for L∞, Gaussian for L2), clipped to the bounds.
        var x = x0
        for e in 0..<n {
            let range = e * d..<(e + 1) * d
            let t: [Float] =
                threat.norm == .linf
                ? range.map { _ in 2 * random[e].uniform() - 1 } : range.map { _ in random[e].normal() }
            let length =
                threat.norm == .linf ? t.reduce(0) { max($0, abs($1)) } : t.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for (j, i) in range.enumerated() {
                x[i] = min(max(x0[i] + eps * t[j] / (length + 1e-12), bounds.lowerBound), bounds.upperBound)
            }
        }
        let evaluate = { (x: [Float]) in try model.evaluate(x, count: n) { loss.values($0, labels: labels) } }
        var current = try evaluate(x)
        visit(x, current)
        var gradient = current.gradient
        var xBest = x
        var gradientBest = gradient
        var lossBest = current.losses
        var stepSize = [Float](repeating: 2 * eps, count: n)
        var xOld = x
        var interval = firstInterval
        var sinceCheck = 0
        var lossBestLastCheck = lossBest
        var reducedLastCheck = [Bool](repeating: true, count: n)
        // lossSteps[i] holds the losses of iteration i; unwritten rows are 0, and the oscillation
        // count wraps index −1 to the last row as the reference does.
        var lossSteps = [[Float]](repeating: [Float](repeating: 0, count: n), count: steps)

        for i in 0..<steps {
            // Gradient step with momentum.
            let momentum: Float = i > 0 ? 0.75 : 1
            let direction = ascentDirection(gradient, norm: threat.norm, width: d)
            var next = x
            for e in 0..<n {
                let range = e * d..<(e + 1) * d
                for j in range { next[j] = x[j] + stepSize[e] * direction[j] }
                threat.project(&next, around: x0, range: range, bounds: bounds)
                for j in range { next[j] = x[j] + (next[j] - x[j]) * momentum + (x[j] - xOld[j]) * (1 - momentum) }
                threat.project(&next, around: x0, range: range, bounds: bounds)
            }
            xOld = x
            x = next

            current = try evaluate(x)
            visit(x, current)
            gradient = current.gradient
            lossSteps[i] = current.losses
            for e in 0..<n where current.losses[e] > lossBest[e] {
                lossBest[e] = current.losses[e]
                xBest.replaceSubrange(e * d..<(e + 1) * d, with: x[e * d..<(e + 1) * d])
                gradientBest.replaceSubrange(e * d..<(e + 1) * d, with: gradient[e * d..<(e + 1) * d])
            }

            // Checkpoint.
            sinceCheck += 1
            guard sinceCheck == interval else { continue }
            for e in 0..<n {
                var increases = 0
                for back in 0..<interval {
                    let later = lossSteps[(i - back + steps) % steps][e]
                    let earlier = lossSteps[(i - back - 1 + steps) % steps][e]
                    if later > earlier { increases += 1 }
                }
                let oscillating = Float(increases) <= Float(interval) * rho
                let noImprovement = !reducedLastCheck[e] && lossBestLastCheck[e] >= lossBest[e]
                let reduce = oscillating || noImprovement
                reducedLastCheck[e] = reduce
                lossBestLastCheck[e] = lossBest[e]
                if reduce {
                    stepSize[e] /= 2
                    x.replaceSubrange(e * d..<(e + 1) * d, with: xBest[e * d..<(e + 1) * d])
                    gradient.replaceSubrange(e * d..<(e + 1) * d, with: gradientBest[e * d..<(e + 1) * d])
                }
            }
            interval = max(interval - decrease, minimumInterval)
            sinceCheck = 0
        }
    }
}

/// Projected Gradient Descent on the cross-entropy, L∞ or L2.
///
/// Madry, Makelov, Schmidt, Tsipras and Vladu, "Towards Deep Learning Models Resistant to Adversarial
/// Attacks", arXiv 1706.06083. From a random point of the ε-ball (or the clean input), repeat
/// `steps` times: x ← Π_{B(x₀,ε) ∩ bounds}(x + a·step(∇ₓ CE)), step = sign(g) for L∞ and g/‖g‖₂ for L2.
/// Default step size a = 2.5·ε/steps. Each restart runs on the examples still robust; the best point
/// per example over all steps and restarts is kept.
public struct PGD: Attack {
    public let threat: ThreatModel
    /// Iterations per run, ≥ 1.
    public let steps: Int
    /// The step size a, in input units.
    public let stepSize: Float
    /// Extra runs from new random starts (0: one run).
    public let restarts: Int
    /// Whether each run starts from a random point of the ball (otherwise from the clean input).
    public let randomStart: Bool
    /// Whether an example stops being attacked once it is fooled (its kept point cannot change, so
    /// results are the same either way); `false` runs every step on every example, as torchattacks
    /// does, for like-for-like benchmarks.
    public let stopsEarly: Bool

    /// PGD with `steps` iterations; `stepSize` defaults to 2.5·ε/steps.
    public init(
        _ norm: PerturbationNorm,
        epsilon: Float,
        steps: Int = 10,
        stepSize: Float? = nil,
        restarts: Int = 0,
        randomStart: Bool = true,
        stopsEarly: Bool = true
    ) {
        self.stopsEarly = stopsEarly
        threat = ThreatModel(norm, epsilon: epsilon)
        self.steps = steps
        self.stepSize = stepSize ?? 2.5 * epsilon / Float(max(steps, 1))
        self.restarts = restarts
        self.randomStart = randomStart
    }

    public var name: String { "pgd" }
    public var settings: [String: String] {
        [
            "norm": threat.norm.rawValue, "epsilon": "\(threat.epsilon)", "steps": "\(steps)",
            "step_size": "\(stepSize)", "restarts": "\(restarts)", "random_start": "\(randomStart)", "loss": "ce",
        ]
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        guard steps >= 1, restarts >= 0, stepSize >= 0, stepSize.isFinite else {
            throw AttackError(
                .invalidConfiguration,
                "pgd: steps must be ≥ 1, restarts ≥ 0 and the step size finite and ≥ 0 "
                    + "(got \(steps), \(restarts), \(stepSize))"
            )
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        let d = model.inputDimension
        let bounds = model.inputBounds
        for restart in 0...restarts {
            var positions = tracker.robustPositions
            if positions.isEmpty { break }
            var x0 = rows(batch.inputs, positions, width: d)
            var labels = rows(batch.labels, positions)
            var x = x0
            if randomStart {
                for (k, p) in positions.enumerated() {
                    var random = RandomGeneratorBox(
                        seed: batch.seed,
                        example: batch.indices[p],
                        stream: ExampleRandom.stream(name, restart)
                    )
                    threat.randomStart(&x, around: x0, range: k * d..<(k + 1) * d, bounds: bounds, generator: &random)
                }
            }
            for _ in 0..<steps {
                let e = try model.evaluate(x, count: positions.count) {
                    AttackLoss.crossEntropy.values($0, labels: labels)
                }
                for p in positions { tracker.queries[p] += 1 }
                tracker.offer(x, logits: e.logits, losses: e.losses, positions: positions)
                // Examples fooled already are done: their kept point cannot change.
                let keep =
                    stopsEarly ? positions.indices.filter { !tracker.fooled[positions[$0]] } : Array(positions.indices)
                let direction = ascentDirection(rows(e.gradient, keep, width: d), norm: threat.norm, width: d)
                if keep.count < positions.count {
                    positions = rows(positions, keep)
                    labels = rows(labels, keep)
                    x0 = rows(x0, keep, width: d)
                    x = rows(x, keep, width: d)
                }
                if positions.isEmpty { break }
                for i in x.indices { x[i] += stepSize * direction[i] }
                for k in positions.indices {
                    threat.project(&x, around: x0, range: k * d..<(k + 1) * d, bounds: bounds)
                }
            }
            if !positions.isEmpty {
                let e = try model.evaluateLosses(x, count: positions.count) {
                    AttackLoss.crossEntropy.values($0, labels: labels)
                }
                for p in positions { tracker.queries[p] += 1 }
                tracker.offer(x, logits: e.logits, losses: e.losses, positions: positions)
            }
        }
        return tracker.result()
    }
}

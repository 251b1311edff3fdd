import TensorEngine

/// Momentum Iterative FGSM, L∞.
///
/// Dong, Liao, Pang, Su, Zhu, Hu and Li, "Boosting Adversarial Attacks with Momentum",
/// arXiv 1710.06081. From the clean input, `steps` times: g ← μ·g + ∇ₓCE/‖∇ₓCE‖₁,
/// x ← Π_{B(x₀,ε) ∩ bounds}(x + a·sign(g)), with μ = 1 and a = ε/steps.
public struct MIFGSM: Attack {
    public let threat: ThreatModel
    /// Iterations, ≥ 1.
    public let steps: Int
    /// The step size a (default ε/steps).
    public let stepSize: Float
    /// The decay factor μ of the accumulated gradient.
    public let decay: Float

    /// MI-FGSM with budget ε (L∞).
    public init(epsilon: Float, steps: Int = 10, stepSize: Float? = nil, decay: Float = 1) {
        threat = ThreatModel(.linf, epsilon: epsilon)
        self.steps = steps
        self.stepSize = stepSize ?? epsilon / Float(max(steps, 1))
        self.decay = decay
    }

    public var name: String { "mi-fgsm" }
    public var settings: [String: String] {
        [
            "norm": "linf", "epsilon": "\(threat.epsilon)", "steps": "\(steps)", "step_size": "\(stepSize)",
            "decay": "\(decay)", "loss": "ce",
        ]
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        guard steps >= 1, stepSize >= 0, stepSize.isFinite else {
            throw AttackError(.invalidConfiguration, "mi-fgsm: steps must be ≥ 1 and the step size finite and ≥ 0")
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        let d = model.inputDimension
        let positions = tracker.robustPositions
        guard !positions.isEmpty else { return tracker.result() }
        let x0 = rows(batch.inputs, positions, width: d)
        let labels = rows(batch.labels, positions)
        var x = x0
        var momentum = [Float](repeating: 0, count: x.count)
        for step in 0...steps {
            let loss = { (z: Tensor) in AttackLoss.crossEntropy.values(z, labels: labels) }
            // The last iterate's gradient is not used: a forward pass only.
            let e =
                step == steps
                ? try model.evaluateLosses(x, count: positions.count, loss: loss)
                : try model.evaluate(x, count: positions.count, loss: loss)
            for p in positions { tracker.queries[p] += 1 }
            tracker.offer(x, logits: e.logits, losses: e.losses, positions: positions)
            if step == steps { break }
            for k in positions.indices {
                let range = k * d..<(k + 1) * d
                let l1 = e.gradient[range].reduce(0) { $0 + Swift.abs($1) }
                let scale: Float = l1 > 0 ? 1 / l1 : 0
                for i in range {
                    momentum[i] = decay * momentum[i] + e.gradient[i] * scale
                    x[i] += stepSize * (momentum[i] > 0 ? 1 : (momentum[i] < 0 ? -1 : 0))
                }
                threat.project(&x, around: x0, range: range, bounds: model.inputBounds)
            }
        }
        return tracker.result()
    }
}

/// Fast Gradient Sign Method, L∞.
///
/// Goodfellow, Shlens and Szegedy, "Explaining and Harnessing Adversarial Examples", arXiv 1412.6572.
/// One step of size ε along the sign of the input gradient of the cross-entropy:
/// x' = clip(x + ε·sign(∇ₓ CE(f(x), y))).
public struct FGSM: Attack {
    public let threat: ThreatModel

    /// FGSM with budget ε (L∞).
    public init(epsilon: Float) {
        threat = ThreatModel(.linf, epsilon: epsilon)
    }

    public var name: String { "fgsm" }
    public var settings: [String: String] { ["norm": "linf", "epsilon": "\(threat.epsilon)", "loss": "ce"] }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        let positions = tracker.robustPositions
        guard !positions.isEmpty else { return tracker.result() }
        let d = model.inputDimension
        let x0 = rows(batch.inputs, positions, width: d)
        let labels = rows(batch.labels, positions)
        let g = try model.evaluate(x0, count: positions.count) { AttackLoss.crossEntropy.values($0, labels: labels) }
        let direction = ascentDirection(g.gradient, norm: .linf, width: d)
        var x = x0
        for i in x.indices { x[i] += threat.epsilon * direction[i] }
        for k in positions.indices {
            threat.project(&x, around: x0, range: k * d..<(k + 1) * d, bounds: model.inputBounds)
        }
        let adversarial = try model.evaluate(x, count: positions.count)
        tracker.offer(x, logits: adversarial.logits, positions: positions)
        for p in positions { tracker.queries[p] += 2 }
        return tracker.result()
    }
}

/// The AutoAttack standard ensemble, L∞ or L2.
///
/// Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
/// parameter-free attacks", arXiv 2003.01690, version "standard" exactly as its reference code runs
/// it: APGD-CE (100 iterations, one run) → APGD-T (9 targets × 100 iterations) → FAB-T (9 targets ×
/// 100 iterations) → Square (5000 queries, p_init 0.8), each on the examples every earlier attack
/// failed on; an example is robust only if all four fail (per-example worst case). Needs a model
/// with at least 4 classes (the targeted DLR loss).
public struct AutoAttack: Attack {
    public let threat: ThreatModel
    /// The members in the order they run.
    public let members: [any Attack]

    /// The standard ensemble at budget ε.
    public init(_ norm: PerturbationNorm, epsilon: Float) {
        threat = ThreatModel(norm, epsilon: epsilon)
        members = [
            APGD(norm, epsilon: epsilon, loss: .crossEntropy, steps: 100),
            APGDTargeted(norm, epsilon: epsilon, steps: 100, targets: 9),
            FABTargeted(norm, epsilon: epsilon, steps: 100, targets: 9),
            Square(norm, epsilon: epsilon, queries: 5000, pInit: 0.8),
        ]
    }

    /// A custom ensemble (for tests and the `--attack autoattack:…` overrides): the same order and
    /// worst-case logic over other members. - Precondition: every member has this threat model.
    public init(_ norm: PerturbationNorm, epsilon: Float, members: [any Attack]) {
        let threat = ThreatModel(norm, epsilon: epsilon)
        precondition(members.allSatisfy { $0.threat == threat }, "AutoAttack: members with another threat model")
        self.threat = threat
        self.members = members
    }

    public var name: String { "autoattack" }
    /// The most any member needs (the targeted DLR loss of apgd-t: 4).
    public var minimumClasses: Int { members.map(\.minimumClasses).max() ?? 2 }
    public var settings: [String: String] {
        var out = ["norm": threat.norm.rawValue, "epsilon": "\(threat.epsilon)", "version": "standard"]
        out["members"] = members.map(\.name).joined(separator: ",")
        for member in members {
            for (key, value) in member.settings where key != "norm" && key != "epsilon" {
                out["\(member.name).\(key)"] = value
            }
        }
        return out
    }

    public func run(on model: some AttackModel, _ batch: AttackBatch) throws -> AttackResult {
        let minimum = minimumClasses
        guard model.classCount >= minimum else {
            throw AttackError(
                .tooFewClasses,
                "autoattack needs a model with at least \(minimum) classes (its apgd-t member uses the targeted "
                    + "DLR loss); this one has \(model.classCount). Use pgd and apgd-ce instead"
            )
        }
        var tracker = try model.startTracking(batch, threat: threat, attack: name)
        var result = tracker.result()
        let d = model.inputDimension
        for member in members {
            let positions = tracker.robustPositions
            if positions.isEmpty { break }
            let part = try member.run(on: model, batch.subset(positions, dimension: d))
            var fooledPositions: [Int] = []
            var fooledParts: [Int] = []
            for (k, p) in positions.enumerated() {
                result.queries[p] += part.queries[k]
                if part.fooled[k] {
                    fooledPositions.append(p)
                    fooledParts.append(k)
                    tracker.markFooled(p)
                }
            }
            var kept = part
            kept.queries = Array(repeating: 0, count: part.queries.count)
            result.merge(kept.selecting(fooledParts, dimension: d), at: fooledPositions, dimension: d)
            for p in fooledPositions { result.fooledBy[p] = member.name }
        }
        return result
    }
}

extension AttackResult {
    /// The examples at `positions` of this result.
    func selecting(_ positions: [Int], dimension: Int) -> AttackResult {
        AttackResult(
            adversarial: rows(adversarial, positions, width: dimension),
            fooled: rows(fooled, positions),
            predictions: rows(predictions, positions),
            queries: rows(queries, positions),
            perturbations: rows(perturbations, positions),
            fooledBy: rows(fooledBy, positions)
        )
    }
}
